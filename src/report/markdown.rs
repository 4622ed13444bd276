//! The Markdown report. Log-derived text is escaped so it renders as text: Markdown syntax is
//! backslash-escaped, `<`, `>` and `&` become entities (raw HTML in Markdown would otherwise
//! reach the viewer), newlines and control characters become spaces or `?`.

use super::doc::{Block, Doc, Span, Step, Style, Table, Text};
use super::is_sneaky;
use crate::analyze::Analysis;
use std::fmt::Write;

/// Escapes text for a Markdown paragraph or table cell (never at the start of a line: list
/// markers need no escaping). `://` is broken up so log text never becomes an autolink.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                o.push('\\');
                o.push(c);
            }
            ':' if it.peek() == Some(&'/') => o.push_str("\\:"),
            '\n' | '\r' | '\t' => o.push(' '),
            c if c.is_control() || is_sneaky(c) => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// A fenced block whose fence is longer than any backtick run inside.
fn fence(out: &mut String, lang: &str, body: &str) {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let f = "`".repeat(longest.max(2) + 1);
    let body: String = body
        .chars()
        .map(|c| {
            if (c.is_control() && c != '\n') || is_sneaky(c) {
                '?'
            } else {
                c
            }
        })
        .collect();
    let _ = writeln!(out, "{f}{lang}\n{body}\n{f}\n");
}

/// The Markdown report.
pub fn render(a: &Analysis) -> String {
    write(&super::full::build(a))
}

/// Writes a report document as Markdown. The timeline chart has no Markdown form and is left
/// out (the HTML report draws it).
pub fn write(doc: &Doc) -> String {
    let mut o = String::new();
    let mut blocks = doc.blocks.iter().peekable();
    while let Some(b) = blocks.next() {
        // A section that holds only the chart has nothing to say here.
        let next_is_chart = matches!(blocks.peek(), Some(Block::Chart(_)));
        if matches!(b, Block::Heading { .. }) && next_is_chart {
            continue;
        }
        block(&mut o, b);
    }
    o
}

fn text(t: &Text) -> String {
    let mut o = String::new();
    for s in &t.0 {
        match s {
            Span::Plain(v) | Span::Code(v) | Span::Uri(v) | Span::Cut(v, _) | Span::File(v) => {
                o.push_str(&esc(v))
            }
            Span::Strong(v) => {
                let _ = write!(o, "**{}**", esc(v));
            }
            Span::Badge(c) => {
                let _ = write!(o, "({c} confidence)");
            }
        }
    }
    o
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text: t, .. } => {
            let _ = writeln!(o, "{} {}\n", "#".repeat(*level as usize), text(t));
        }
        Block::Para(Style::Lead { .. }, t) => {
            let _ = writeln!(o, "**Summary.** {}\n", text(t));
        }
        Block::Para(_, t) => {
            let _ = writeln!(o, "{}\n", text(t));
        }
        Block::List(_, items) => {
            for i in items {
                let _ = writeln!(o, "- {}", text(i));
            }
            o.push('\n');
        }
        Block::Callout(title, items) => {
            let _ = writeln!(o, "> **{}**", text(title));
            for i in items {
                let _ = writeln!(o, "> - {}", text(i));
            }
            o.push('\n');
        }
        Block::Facts(facts) => {
            for (k, v) in facts {
                let _ = writeln!(o, "- {k}: {}", text(v));
            }
            o.push('\n');
        }
        Block::Table(t) | Block::Sortable(t) => table(o, t),
        Block::Steps(steps) => steps_list(o, steps),
        Block::Entry(title, body) => {
            let _ = writeln!(o, "### {}\n", text(title));
            body.iter().for_each(|b| block(o, b));
        }
        Block::Labeled(label, body) => {
            let _ = writeln!(o, "{}:\n", text(label));
            body.iter().for_each(|b| block(o, b));
        }
        Block::Chart(_) => {}
        Block::Heat(h) => {
            let _ = writeln!(
                o,
                "| {} | {} |",
                h.corner,
                h.columns
                    .iter()
                    .map(|c| esc(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let _ = writeln!(o, "|{}", "---|".repeat(h.columns.len() + 1));
            for (name, cells) in &h.rows {
                let cells: Vec<String> = cells.iter().map(|c| esc(&c.text)).collect();
                let _ = writeln!(o, "| {} | {} |", text(name), cells.join(" | "));
            }
            let _ = writeln!(o, "\n{}\n", esc(h.legend));
        }
        Block::Footer(t) => {
            let _ = writeln!(o, "---\n{}", text(t));
        }
    }
}

fn table(o: &mut String, t: &Table) {
    let names: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let _ = writeln!(o, "| {} |", names.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(names.len()));
    for r in &t.rows {
        let mut cells: Vec<String> = r.cells.iter().map(text).collect();
        // Marked rows (third-party and suspect modules) get their first cell in bold.
        if r.mark != super::doc::RowMark::None
            && let Some(first) = cells.first_mut()
            && !first.is_empty()
        {
            *first = format!("**{first}**");
        }
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

fn steps_list(o: &mut String, steps: &[Step]) {
    for (k, r) in steps.iter().enumerate() {
        let who = r.suspect.as_deref().map(|s| format!("({})", esc(s)));
        let who = who.map(|w| w + " ").unwrap_or_default();
        let _ = writeln!(o, "{}. {who}{}\n", k + 1, esc(&r.action));
        for c in &r.commands {
            let lang = if c.starts_with('<') { "xml" } else { "bat" };
            let mut block = String::new();
            fence(&mut block, lang, c);
            for line in block.lines() {
                let _ = writeln!(o, "   {line}");
            }
            o.push('\n');
        }
    }
}
