//! The report as data: one document that [`crate::html`] and [`crate::markdown`] write.

use crate::svg::Kind;

/// A whole report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The document's language tag (`en`, `pt-BR`).
    pub lang: String,
    /// Title.
    pub title: String,
    /// Lines under the title (the workload, the date).
    pub subtitle: Vec<String>,
    /// The comparison table at the top, with its heading.
    pub summary: Option<(String, Table)>,
    /// How to read the marks of the cells.
    pub legend: String,
    /// One section per dimension, and any more.
    pub sections: Vec<Section>,
    /// Notes under the summary: choices made for the reader, exclusions.
    pub notes: Vec<String>,
    /// Heading of the footnotes.
    pub sources_heading: String,
    /// Sources, numbered from 1 in order; cells point at them by number.
    pub footnotes: Vec<String>,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells, as many as the header.
    pub rows: Vec<Vec<Cell>>,
}

/// One cell: text, where its number comes from, and its sources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// What a person reads.
    pub text: String,
    /// The origin of its number, when it holds one.
    pub kind: Option<Kind>,
    /// Footnote numbers (1-based) of its sources.
    pub sources: Vec<usize>,
    /// Drawn in bold (a row heading).
    pub strong: bool,
}

impl Cell {
    /// A cell of plain text.
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    /// A cell in bold.
    pub fn strong(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            strong: true,
            ..Cell::default()
        }
    }

    /// A cell holding a number of `kind`.
    pub fn of(text: impl Into<String>, kind: Kind) -> Cell {
        Cell {
            text: text.into(),
            kind: Some(kind),
            ..Cell::default()
        }
    }

    /// This cell with a source footnote.
    pub fn cite(mut self, footnote: Option<usize>) -> Cell {
        self.sources.extend(footnote);
        self
    }
}

/// A section: a heading, prose, a chart, a table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    /// Anchor id (ASCII, no spaces).
    pub id: String,
    /// Heading.
    pub heading: String,
    /// The verdict or one-line answer, shown first.
    pub lead: Option<String>,
    /// Paragraphs of text.
    pub paragraphs: Vec<String>,
    /// Charts, as `<svg>` elements (the HTML shows them; Markdown shows the tables).
    pub charts: Vec<String>,
    /// How to read the charts: shown with them, so left out of Markdown.
    pub chart_notes: Vec<String>,
    /// The numbers behind the charts, and any more.
    pub tables: Vec<Table>,
}

/// The footnotes of a report, numbered as they are first cited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Footnotes {
    list: Vec<String>,
}

impl Footnotes {
    /// The number of `source` (a URL or a citation), adding it when new; `None` for an
    /// empty source.
    pub fn cite(&mut self, source: &str) -> Option<usize> {
        let source = source.trim();
        if source.is_empty() {
            return None;
        }
        if let Some(i) = self.list.iter().position(|s| s == source) {
            return Some(i + 1);
        }
        self.list.push(source.to_string());
        Some(self.list.len())
    }

    /// The sources, in number order.
    pub fn into_list(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn footnotes_number_each_source_once() {
        let mut f = Footnotes::default();
        assert_eq!(f.cite("https://a"), Some(1));
        assert_eq!(f.cite(" https://b "), Some(2));
        assert_eq!(f.cite("https://a"), Some(1));
        assert_eq!(f.cite("  "), None);
        assert_eq!(f.into_list(), vec!["https://a", "https://b"]);
    }
}
