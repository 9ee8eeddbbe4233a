//! Reports of sizewise: a document model ([`Report`]), written as one self-contained HTML
//! file ([`html()`]) with inline SVG charts ([`svg`]) or as Markdown ([`markdown()`]).
//!
//! Nothing here knows about models or hardware: the binary turns its estimates, catalog facts
//! and measurements into [`Report`]s, already in the reader's language.

pub mod doc;
pub mod html;
pub mod markdown;
pub mod svg;

pub use doc::{Cell, Footnotes, Report, Section, Table};
pub use html::html;
pub use markdown::markdown;
pub use svg::Kind;
