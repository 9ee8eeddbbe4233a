//! The report as one self-contained HTML file: inline CSS and SVG, no script, nothing
//! fetched, so it opens offline and can be mailed as it is.

use std::fmt::Write;

use crate::doc::{Cell, Report, Table};
use crate::svg::{Kind, escape};

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;max-width:1100px;margin:2em auto;padding:0 1em}\
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.sub{color:#555;margin:.1em 0}.lead{font-weight:600}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.35em .5em;vertical-align:top;text-align:left}\
th{background:#f3f3f3}td.s{font-weight:600;background:#fafafa}\
.k{display:inline-block;font-size:.7em;font-weight:700;color:#fff;border-radius:3px;padding:0 .3em;margin-left:.3em;vertical-align:middle}\
.kE{background:#4e79a7}.kM{background:#e15759}.kP{background:#59a14f}\
sup a{text-decoration:none}.chart{display:block;max-width:100%;height:auto;margin:.8em 0}\
.chart .ct{font:600 14px sans-serif}.chart .lg,.chart .tk,.chart .vl,.chart .pl{font:11px sans-serif;fill:#333}\
.chart .rl{font:12px sans-serif;fill:#222}.chart .gd{stroke:#e4e4e4;stroke-width:1}\
.notes li,.sources li{font-size:.9em;color:#444}.sources li{word-break:break-all}\
nav a{margin-right:.8em}\
@media print{nav{display:none}}";

/// The letter and the name of a kind's mark.
fn mark(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Estimated => ("E", "estimated"),
        Kind::Measured => ("M", "measured"),
        Kind::Published => ("P", "published"),
    }
}

fn cell(out: &mut String, c: &Cell, tag: &str) {
    let class = if c.strong { r#" class="s""# } else { "" };
    let _ = write!(out, "<{tag}{class}>{}", escape(&c.text));
    if let Some(k) = c.kind {
        let (letter, name) = mark(k);
        let _ = write!(
            out,
            r#"<span class="k k{letter}" title="{name}">{letter}</span>"#
        );
    }
    for n in &c.sources {
        let _ = write!(out, r##"<sup><a href="#fn{n}">{n}</a></sup>"##);
    }
    let _ = write!(out, "</{tag}>");
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table><thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            cell(out, c, "td");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Writes `report` as a complete HTML document.
pub fn html(report: &Report) -> String {
    let charts: usize = report
        .sections
        .iter()
        .map(|s| s.charts.iter().map(String::len).sum::<usize>())
        .sum();
    let mut out = String::with_capacity(16_384 + charts);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>"#,
        escape(&report.lang),
        escape(&report.title),
        escape(&report.title)
    );
    for line in &report.subtitle {
        let _ = write!(out, r#"<p class="sub">{}</p>"#, escape(line));
    }
    out.push_str("<nav>");
    for s in &report.sections {
        let _ = write!(
            out,
            r##"<a href="#{}">{}</a>"##,
            escape(&s.id),
            escape(&s.heading)
        );
    }
    out.push_str("</nav>");
    if let Some((heading, t)) = &report.summary {
        let _ = write!(out, r#"<h2 id="summary">{}</h2>"#, escape(heading));
        table(&mut out, t);
    }
    let _ = write!(out, r#"<p class="sub">{}</p>"#, escape(&report.legend));
    if !report.notes.is_empty() {
        out.push_str(r#"<ul class="notes">"#);
        for n in &report.notes {
            let _ = write!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ul>");
    }
    for s in &report.sections {
        let _ = write!(
            out,
            r#"<section id="{}"><h2>{}</h2>"#,
            escape(&s.id),
            escape(&s.heading)
        );
        if let Some(lead) = &s.lead {
            let _ = write!(out, r#"<p class="lead">{}</p>"#, escape(lead));
        }
        for p in &s.paragraphs {
            let _ = write!(out, "<p>{}</p>", escape(p));
        }
        if !s.charts.is_empty() {
            for n in &s.chart_notes {
                let _ = write!(out, r#"<p class="sub">{}</p>"#, escape(n));
            }
        }
        for c in &s.charts {
            // Charts come from crate::svg, which escapes every text it draws.
            out.push_str(c);
        }
        for t in &s.tables {
            table(&mut out, t);
        }
        out.push_str("</section>");
    }
    if !report.footnotes.is_empty() {
        let _ = write!(
            out,
            r#"<h2 id="sources">{}</h2><ol class="sources">"#,
            escape(&report.sources_heading)
        );
        for (i, f) in report.footnotes.iter().enumerate() {
            let text = escape(f);
            let body = if f.starts_with("https://") || f.starts_with("http://") {
                format!(r#"<a href="{text}" rel="noreferrer">{text}</a>"#)
            } else {
                text
            };
            let _ = write!(out, r#"<li id="fn{}">{body}</li>"#, i + 1);
        }
        out.push_str("</ol>");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::doc::Section;

    #[test]
    fn a_report_is_one_document_that_fetches_nothing() {
        let r = Report {
            lang: "pt-BR".into(),
            title: "Quadro <x>".into(),
            summary: Some((
                "Quadro comparativo".into(),
                Table {
                    header: vec!["a".into()],
                    rows: vec![vec![Cell::of("7B", Kind::Published).cite(Some(1))]],
                },
            )),
            sections: vec![Section {
                id: "size".into(),
                heading: "Tamanho".into(),
                charts: vec!["<svg></svg>".into()],
                ..Section::default()
            }],
            footnotes: vec!["https://example.org/a?b=1&c=2".into(), "paper".into()],
            ..Report::default()
        };
        let h = html(&r);
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
        assert!(h.contains(r#"lang="pt-BR""#) && h.contains("Quadro &lt;x&gt;"));
        assert!(h.contains(r##"<sup><a href="#fn1">1</a></sup>"##));
        assert!(h.contains("b=1&amp;c=2") && h.contains(r#"<li id="fn2">paper</li>"#));
        assert!(!h.contains(" src=") && !h.contains("<link") && !h.contains("<script"));
    }
}
