//! `sizewise report` end to end: the real binary writes the report, the file meets its
//! contract, and headless Chromium opens it: no console error, no request for anything, every
//! chart laid out with marks in it; a screenshot is kept in `target/report-screenshot.png`.
//!
//! Chromium is `$SIZEWISE_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on
//! the PATH. Without one the browser half skips, unless `SIZEWISE_REQUIRE_BROWSER=1` (as CI
//! sets), where a missing browser fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::sizewise;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIZEWISE_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `extra` flags; its stdout and stderr.
fn browse(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // Containers often have a small /dev/shm, which crashes Chromium's renderer.
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("running chromium");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Put first in the report's `<head>`: records console errors and warnings, failed loads
/// and uncaught errors from the start; once loaded, measures every chart and lists every
/// resource the page requested, as JSON in `<pre id="probe">`.
const PROBE: &str = r#"<script>
window.__errors = [];
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...args) => { window.__errors.push(level + ": " + args.join(" ")); original.apply(console, args); };
}
window.addEventListener("error", e => window.__errors.push("error event: " + (e.message || (e.target && (e.target.src || e.target.href)) || "?")), true);
window.addEventListener("unhandledrejection", e => window.__errors.push("rejection: " + e.reason));
window.addEventListener("load", () => {
  const charts = [...document.querySelectorAll("svg")].map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll("rect, line, circle, polyline")].filter(m => {
      const b = m.getBBox();
      return b.width > 0 || b.height > 0;
    }).length;
    return { width: box.width, height: box.height, marks, title: (svg.querySelector("title") || {}).textContent || "" };
  });
  const resources = performance.getEntriesByType("resource").map(r => r.name);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({ errors: window.__errors, charts, resources });
  document.body.appendChild(pre);
});
</script>"#;

#[test]
fn the_report_opens_in_a_browser_with_its_charts_and_nothing_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("r.db");
    let html = dir.path().join("relatorio.html");
    let md = dir.path().join("relatorio.md");
    let started = Instant::now();
    let out = sizewise(&store)
        .args(["report", "--lang", "pt-BR", "--runs", "none", "--html"])
        .arg(&html)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "report written in {:?} (timing is in docs/BENCHMARKS.md)",
        started.elapsed()
    );
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.len() < 1_000_000, "{} bytes", text.len());
    assert!(text.matches("<svg").count() >= 6);
    assert!(text.contains("Quadro comparativo") && text.contains("Janela de contexto"));
    for external in [" src=", "<link", "@import", "url("] {
        assert!(
            !text.contains(external),
            "the report must not load {external}"
        );
    }
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("## Quadro comparativo") && markdown.contains("[^1]:"));

    let Some(browser) = chromium() else {
        assert!(
            std::env::var("SIZEWISE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "SIZEWISE_REQUIRE_BROWSER=1 and no chromium found (apt-get install chromium)"
        );
        eprintln!("skipped the browser half: no chromium (apt-get install chromium)");
        return;
    };
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        text.replacen("<head>", &format!("<head>{PROBE}"), 1),
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let (dom, log) = browse(
        &browser,
        &profile,
        &format!("file://{}", probe.display()),
        &["--dump-dom"],
    );
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no probe output; chromium said:\n{log}"));
    let json = json
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(v["errors"], serde_json::json!([]), "console errors: {v}");
    assert_eq!(v["resources"], serde_json::json!([]), "requests: {v}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:?}");
    let charts = v["charts"].as_array().unwrap();
    assert!(charts.len() >= 6, "{v}");
    for c in charts {
        assert!(c["width"].as_f64().unwrap() > 100.0, "{c}");
        assert!(c["height"].as_f64().unwrap() > 50.0, "{c}");
        // Background, a legend and at least one mark of data.
        assert!(c["marks"].as_u64().unwrap() >= 3, "an empty chart: {c}");
    }

    // A screenshot of the report itself, kept as a CI artifact.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&target).unwrap();
    let shot = target.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let (_, log) = browse(
        &browser,
        &profile,
        &format!("file://{}", html.display()),
        &[
            "--window-size=1200,6000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {log}"));
    assert!(png.starts_with(b"\x89PNG"));
    // A blank page compresses to a few KB; charts and tables do not.
    assert!(png.len() > 50_000, "{} bytes", png.len());
}
