//! The report as Markdown: the same text and tables as the HTML, the charts' numbers as
//! tables.

use std::fmt::Write;

use crate::doc::{Cell, Report, Table};
use crate::svg::Kind;

/// Text safe inside a Markdown table cell.
fn cell_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn cell(c: &Cell) -> String {
    let mut s = cell_text(&c.text);
    if c.strong {
        s = format!("**{s}**");
    }
    if let Some(k) = c.kind {
        s.push_str(match k {
            Kind::Estimated => " [E]",
            Kind::Measured => " [M]",
            Kind::Published => " [P]",
        });
    }
    for n in &c.sources {
        let _ = write!(s, "[^{n}]");
    }
    s
}

fn table(out: &mut String, t: &Table) {
    let header: Vec<String> = t.header.iter().map(|h| cell_text(h)).collect();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.header.len().max(1)));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Writes `report` as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::with_capacity(8192);
    let _ = writeln!(out, "# {}\n", report.title);
    for line in &report.subtitle {
        let _ = writeln!(out, "{line}  ");
    }
    out.push('\n');
    if let Some((heading, t)) = &report.summary {
        let _ = writeln!(out, "## {heading}\n");
        table(&mut out, t);
    }
    let _ = writeln!(out, "{}\n", report.legend);
    for n in &report.notes {
        let _ = writeln!(out, "- {n}");
    }
    if !report.notes.is_empty() {
        out.push('\n');
    }
    for s in &report.sections {
        let _ = writeln!(out, "## {}\n", s.heading);
        if let Some(lead) = &s.lead {
            let _ = writeln!(out, "**{lead}**\n");
        }
        for p in &s.paragraphs {
            let _ = writeln!(out, "{p}\n");
        }
        for t in &s.tables {
            table(&mut out, t);
        }
    }
    if !report.footnotes.is_empty() {
        let _ = writeln!(out, "## {}\n", report.sources_heading);
        for (i, f) in report.footnotes.iter().enumerate() {
            let _ = writeln!(out, "[^{}]: {f}", i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn cells_keep_their_marks_and_sources() {
        let r = Report {
            title: "T".into(),
            summary: Some((
                "S".into(),
                Table {
                    header: vec!["a|b".into(), "c".into()],
                    rows: vec![vec![
                        Cell::strong("x"),
                        Cell::of("1 | 2", Kind::Measured).cite(Some(2)),
                    ]],
                },
            )),
            footnotes: vec!["one".into(), "two".into()],
            sources_heading: "Sources".into(),
            ..Report::default()
        };
        let md = markdown(&r);
        assert!(md.contains("| a\\|b | c |"));
        assert!(md.contains("| **x** | 1 \\| 2 [M][^2] |"));
        assert!(md.contains("[^2]: two"));
    }
}
