//! The report document: what a report says, built once from an [`Analysis`](crate::analyze::Analysis)
//! ([`super::full`], [`super::brief`]) and written by each writer ([`super::markdown`],
//! [`super::html`], [`super::terminal`]).
//!
//! The model holds plain, unescaped text. Escaping lives in each writer only: a span says what
//! its text *is* (a URI, a file path, a confidence), the writer decides how that looks and how
//! it is made safe for its medium.

use crate::analyze::{Incident, RapidFail, Timeline};
use crate::knowledge::verdict::Confidence;

/// A whole report: blocks in reading order.
#[derive(Debug, Default)]
pub struct Doc<'a> {
    /// The blocks, top to bottom.
    pub blocks: Vec<Block<'a>>,
}

/// One block of a report.
#[derive(Debug)]
pub enum Block<'a> {
    /// A heading; level 1 is the title. `anchor` is a stable id for links into the page.
    Heading {
        /// 1 (title), 2 (section) or 3.
        level: u8,
        /// Stable id for `#anchor` links, where the writer supports them.
        anchor: Option<&'static str>,
        /// The heading's text.
        text: Text,
    },
    /// A paragraph.
    Para(Style, Text),
    /// A bulleted list.
    List(Style, Vec<Text>),
    /// A warning box: a title and its points.
    Callout(Text, Vec<Text>),
    /// `key: value` facts about the entry they sit in.
    Facts(Vec<(&'static str, Text)>),
    /// A table.
    Table(Table),
    /// A table whose rows sort by a column on a click, where the medium can (HTML).
    Sortable(Table),
    /// Numbered steps, each with commands or configuration to copy.
    Steps(Vec<Step>),
    /// A titled entry (an incident, a suspect) with its own blocks.
    Entry(Text, Vec<Block<'a>>),
    /// A label and the blocks it introduces (evidence, requests in flight).
    Labeled(Text, Vec<Block<'a>>),
    /// The request timeline chart (drawn where the medium can draw).
    Chart(Chart<'a>),
    /// A heat map: rows by columns of shaded cells (the farm's servers × days).
    Heat(Heat),
    /// The closing line: tool, version, schema.
    Footer(Text),
}

/// A heat map: rows of cells under named columns, each cell shaded by its level.
#[derive(Debug)]
pub struct Heat {
    /// The heading of the row names.
    pub corner: &'static str,
    /// Column names (log-derived text is not allowed here: days).
    pub columns: Vec<String>,
    /// Row name and its cells, one per column.
    pub rows: Vec<(Text, Vec<HeatCell>)>,
    /// What the levels mean, for the legend.
    pub legend: &'static str,
}

/// One cell of a heat map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeatCell {
    /// 0 (nothing) to 3 (worst).
    pub level: u8,
    /// Short text in the cell.
    pub text: String,
    /// Longer text where the medium shows it (a tooltip).
    pub title: String,
    /// What the cell sorts by.
    pub key: u64,
}

/// How a paragraph or list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Ordinary text.
    Normal,
    /// The headline: `ok` when nothing crashed.
    Lead {
        /// Nothing crashed.
        ok: bool,
    },
    /// Secondary text (inputs, notes, legends).
    Muted,
    /// One line that is not wrapped (terminal columns).
    Line,
    /// Small print (lists of evidence).
    Small,
}

/// Text made of spans.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text(pub Vec<Span>);

/// A piece of text and what it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// Plain text.
    Plain(String),
    /// A name or value shown as code (module names, paths).
    Code(String),
    /// Emphasised text (suspect ids in steps).
    Strong(String),
    /// A request URI: long ones are shortened where the medium allows.
    Uri(String),
    /// Text a narrow medium (the terminal) cuts to `.1` characters.
    Cut(String, usize),
    /// A file path: the name shown, the whole path at hand.
    File(String),
    /// A confidence level.
    Badge(Confidence),
}

impl Text {
    /// One plain span.
    pub fn plain(s: impl Into<String>) -> Text {
        Text(vec![Span::Plain(s.into())])
    }
    /// Appends a span.
    pub fn push(mut self, s: Span) -> Text {
        self.0.push(s);
        self
    }
    /// Appends plain text.
    pub fn and(self, s: impl Into<String>) -> Text {
        self.push(Span::Plain(s.into()))
    }
    /// The text without markup (for tests and plain media).
    pub fn flat(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Span::Plain(t)
                | Span::Code(t)
                | Span::Strong(t)
                | Span::Uri(t)
                | Span::Cut(t, _)
                | Span::File(t) => t.clone(),
                Span::Badge(c) => c.name().to_string(),
            })
            .collect()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::plain(s)
    }
}

/// A table: columns and rows of cells.
#[derive(Debug)]
pub struct Table {
    /// Column headings and alignment.
    pub columns: Vec<(&'static str, Align)>,
    /// The rows, each as many cells as columns.
    pub rows: Vec<Row>,
}

/// How a column's cells sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text, left.
    Left,
    /// Numbers, right, not wrapped.
    Number,
    /// Times, not wrapped.
    Time,
    /// Long URIs: a wide column.
    Wide,
    /// Small print (file @ offset).
    Small,
    /// The suspect marks of a request table.
    Mark,
}

/// One table row.
#[derive(Debug)]
pub struct Row {
    /// What the row is (drawn as a highlight where the medium can).
    pub mark: RowMark,
    /// The cells.
    pub cells: Vec<Text>,
}

/// A row's emphasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMark {
    /// Nothing special.
    None,
    /// A third-party module.
    ThirdParty,
    /// A suspect module.
    Suspect,
}

/// One numbered step of "what to do next".
#[derive(Debug)]
pub struct Step {
    /// The suspect it is for, if any.
    pub suspect: Option<String>,
    /// What to do.
    pub action: String,
    /// Commands or configuration, verbatim.
    pub commands: Vec<String>,
}

/// What the timeline chart draws.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Per-bucket counts.
    pub timeline: &'a Timeline,
    /// Incident markers.
    pub incidents: &'a [Incident],
    /// Rapid-fail episodes, shaded.
    pub rapid_fail: &'a [RapidFail],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{html, markdown, terminal};

    /// One document with hostile text in every kind of span, written by every writer.
    fn hostile() -> Doc<'static> {
        let evil = "<script>x</script>|*[a](http://e)\u{1b}[31m\u{202e}";
        let long_uri = format!("/a?{}", "B".repeat(300));
        Doc {
            blocks: vec![
                Block::Heading {
                    level: 2,
                    anchor: Some("s"),
                    text: "INCIDENTS".into(),
                },
                Block::Entry(
                    Text::plain("I1 ").push(Span::Code(evil.into())),
                    vec![Block::Facts(vec![("module", Text::plain(evil))])],
                ),
                Block::Table(Table {
                    columns: vec![("URI", Align::Wide), ("n", Align::Number)],
                    rows: vec![Row {
                        mark: RowMark::Suspect,
                        cells: vec![Text(vec![Span::Uri(long_uri)]), "1".into()],
                    }],
                }),
                Block::Para(Style::Line, Text(vec![Span::Cut("C".repeat(50), 10)])),
                Block::Heat(Heat {
                    corner: "server",
                    columns: vec!["2025-03-10".into()],
                    rows: vec![(
                        Text(vec![Span::Code(format!("WEB{evil}"))]),
                        vec![HeatCell {
                            level: 9,
                            text: "2!".into(),
                            key: 2_000_000,
                            title: format!("WEB{evil}: \"2 incidents\""),
                        }],
                    )],
                    legend: "legend",
                }),
            ],
        }
    }

    #[test]
    fn every_writer_escapes_for_its_medium() {
        let doc = hostile();
        let h = html::write(&doc);
        assert!(!h.contains("<script>x"), "{h}");
        assert!(h.contains("<code>&lt;script&gt;x&lt;/script&gt;"), "{h}");
        assert!(h.contains("<tr class=sus><td class=u>"), "{h}");
        assert!(h.contains("(303 characters)"), "long URI shortened: {h}");
        let m = markdown::write(&doc);
        assert!(!m.contains("<script>") && !m.contains("http://"), "{m}");
        assert!(m.contains("\\|\\*\\[a\\]"), "{m}");
        assert!(m.contains(&"B".repeat(300)), "Markdown keeps the whole URI");
        let t = terminal::write(&doc);
        assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t:?}");
        assert!(
            t.contains("\n  I1 <script>"),
            "entry under its heading: {t}"
        );
        assert!(
            t.contains("       module: <script>"),
            "facts in the entry body: {t}"
        );
        assert!(
            t.contains("  CCCCCCCCCC…\n"),
            "cut after 10 characters: {t}"
        );
        assert!(!m.contains('\u{1b}') && !h.contains('\u{1b}'));
        // The heat map: names and tooltips escaped, the level clamped to a known class.
        assert!(
            h.contains("<td class=h3 data-v=2000000 title=\"WEB&lt;script&gt;"),
            "{h}"
        );
        assert!(h.contains("&quot;2 incidents&quot;\">2!</td>"), "{h}");
        assert!(t.contains("03-10") && t.contains("   2!"), "{t}");
        assert!(m.contains("| server | 2025-03-10 |"), "{m}");
        // The heat map sorts: the page carries its one script, allowed by its hash only.
        assert!(h.contains("<table class=\"heat sortable\">"), "{h}");
        assert!(h.contains("data-v=2000000"), "{h}");
        assert!(h.contains(&format!("script-src '{}'", html::SORT_SCRIPT_HASH)));
        assert!(h.contains(&format!("<script>{}</script>", html::SORT_SCRIPT)));
        assert_eq!(h.matches("<script").count(), 1, "no other script: {h}");
    }

    #[test]
    fn a_terminal_heat_map_shows_the_last_two_weeks() {
        let days: Vec<String> = (1..=20).map(|d| format!("2025-03-{d:02}")).collect();
        let cells = (1..=20)
            .map(|d| HeatCell {
                level: 0,
                text: format!("d{d}"),
                title: String::new(),
                key: 0,
            })
            .collect();
        let doc = Doc {
            blocks: vec![Block::Heat(Heat {
                corner: "server",
                columns: days,
                rows: vec![("WEB01".into(), cells)],
                legend: "legend",
            })],
        };
        let t = terminal::write(&doc);
        assert!(
            t.contains("03-20") && t.contains("03-07") && !t.contains("03-06"),
            "{t}"
        );
        assert!(t.contains("  d20") && !t.contains(" d6 "), "{t}");
        assert!(t.contains("the last 14 of 20 days"), "{t}");
        let m = markdown::write(&doc);
        assert!(m.contains("2025-03-01") && m.contains("| d1 |"), "{m}");
    }

    #[test]
    fn the_pages_script_hash_is_the_scripts() {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(html::SORT_SCRIPT.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest.as_slice());
        assert_eq!(html::SORT_SCRIPT_HASH, format!("sha256-{b64}"));
        // A page without sortable tables has no script and no script-src.
        let plain = html::write(&Doc {
            blocks: vec![Block::Para(Style::Normal, "x".into())],
        });
        assert!(!plain.contains("<script") && !plain.contains("script-src"));
    }
}
