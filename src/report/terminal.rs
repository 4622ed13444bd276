//! The terminal writer: plain text (no colour codes, so it pipes cleanly), wrapped at 100
//! columns. Log-derived text has its control characters replaced, so no escape sequence from a
//! log reaches the terminal; long names are cut.

use super::doc::{Block, Doc, Span, Step, Style, Text};
use super::plain;
use crate::analyze::Analysis;
use std::fmt::Write;

const WIDTH: usize = 100;
/// Blocks under a heading are indented this much.
const SECTION: usize = 2;
/// An entry's body sits under the text after its id.
const ENTRY_BODY: usize = 5;
/// A label's blocks sit under it, indented.
const LABELED_BODY: usize = 2;

/// The terminal summary (the brief document).
pub fn render(a: &Analysis) -> String {
    write(&super::brief::build(a))
}

/// Writes a report document as plain text.
pub fn write(doc: &Doc) -> String {
    let mut o = String::new();
    let mut indent = 0;
    for b in &doc.blocks {
        if matches!(b, Block::Heading { .. }) {
            indent = SECTION;
        }
        block(&mut o, b, indent);
    }
    o
}

fn text(t: &Text) -> String {
    let mut o = String::new();
    for s in &t.0 {
        match s {
            Span::Plain(v) | Span::Code(v) | Span::Strong(v) | Span::File(v) => {
                o.push_str(&plain(v))
            }
            Span::Uri(v) => o.push_str(&cut(v, 120)),
            Span::Cut(v, n) => o.push_str(&cut(v, *n)),
            Span::Badge(c) => {
                let _ = write!(o, "[{c}]");
            }
        }
    }
    o
}

fn cut(s: &str, n: usize) -> String {
    crate::analyze::cut(&plain(s), n)
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn block(o: &mut String, b: &Block, indent: usize) {
    let at = pad(indent);
    match b {
        Block::Heading { text: t, .. } => {
            let _ = writeln!(o, "\n{}", text(t));
        }
        Block::Para(Style::Line, t) => {
            let _ = writeln!(o, "{at}{}", text(t));
        }
        Block::Para(_, t) | Block::Footer(t) => wrap(o, &at, &at, &text(t)),
        Block::List(_, items) => bullets(o, indent, items),
        Block::Callout(title, items) => {
            let _ = writeln!(o, "\n{at}{}", text(title));
            bullets(o, indent + 2, items);
        }
        Block::Facts(facts) => {
            for (k, v) in facts {
                let first = format!("{at}{k}: ");
                let rest = pad(first.chars().count());
                wrap(o, &first, &rest, &text(v));
            }
        }
        Block::Table(t) | Block::Sortable(t) => {
            let names: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
            let _ = writeln!(o, "{at}{}", names.join(" | "));
            for r in &t.rows {
                let cells: Vec<String> = r.cells.iter().map(text).collect();
                let _ = writeln!(o, "{at}{}", cells.join(" | "));
            }
        }
        Block::Steps(steps) => steps_list(o, indent, steps),
        Block::Entry(title, body) => {
            let _ = writeln!(o, "{at}{}", text(title));
            body.iter().for_each(|b| block(o, b, indent + ENTRY_BODY));
        }
        Block::Labeled(label, body) => {
            let _ = writeln!(o, "{at}{}", text(label));
            body.iter().for_each(|b| block(o, b, indent + LABELED_BODY));
        }
        Block::Chart(_) => {}
        Block::Heat(h) => heat(o, &at, h),
    }
}

/// Days a terminal heat map shows: the last ones (a quarter's 90 columns do not fit a screen).
const HEAT_DAYS: usize = 14;

fn heat(o: &mut String, at: &str, h: &super::doc::Heat) {
    let skip = h.columns.len().saturating_sub(HEAT_DAYS);
    let width = h
        .rows
        .iter()
        .map(|r| text(&r.0).chars().count())
        .max()
        .unwrap_or(0);
    let width = width.max(h.corner.len());
    let head: Vec<String> = h.columns[skip..]
        .iter()
        .map(|c| format!("{:>5}", plain(c.get(5..).unwrap_or(c))))
        .collect();
    let _ = writeln!(o, "{at}{:width$} {}", h.corner, head.join(" "));
    for (name, cells) in &h.rows {
        let cells: Vec<String> = cells
            .iter()
            .skip(skip)
            .map(|c| format!("{:>5}", plain(&c.text)))
            .collect();
        let _ = writeln!(o, "{at}{:width$} {}", text(name), cells.join(" "));
    }
    if skip > 0 {
        let _ = writeln!(
            o,
            "{at}(the last {HEAT_DAYS} of {} days; the HTML and Markdown reports have them all)",
            h.columns.len()
        );
    }
    let _ = writeln!(o, "{at}{}", h.legend);
}

fn bullets(o: &mut String, indent: usize, items: &[Text]) {
    let first = format!("{}- ", pad(indent));
    let rest = pad(indent + 2);
    for i in items {
        wrap(o, &first, &rest, &text(i));
    }
}

fn steps_list(o: &mut String, indent: usize, steps: &[Step]) {
    for (k, r) in steps.iter().enumerate() {
        let first = format!("{}{}. ", pad(indent), k + 1);
        let who = r.suspect.as_deref().map(|s| format!("({}) ", plain(s)));
        let body = format!("{}{}", who.unwrap_or_default(), plain(&r.action));
        wrap(o, &first, &pad(indent + 3), &body);
        for c in &r.commands {
            for line in c.lines() {
                let _ = writeln!(o, "{}{}", pad(indent + 5), plain(line));
            }
        }
    }
}

/// Wraps `text` at `WIDTH`: the first line after `first`, the others after `rest`.
fn wrap(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = String::new();
    let mut lead = first;
    for word in text.split(' ') {
        if !line.is_empty()
            && lead.chars().count() + line.chars().count() + 1 + word.chars().count() > WIDTH
        {
            let _ = writeln!(out, "{lead}{line}");
            line.clear();
            lead = rest;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{lead}{line}");
    }
}
