//! Step 7 of the data flow: render an [`Analysis`] as a terminal summary, Markdown, a
//! self-contained HTML page, or JSON (`docs/report-schema.md`).
//!
//! The three text reports go through one document model ([`doc`]): [`full::build`] makes the
//! full report (Markdown and HTML), [`brief::build`] the terminal summary, and each writer
//! prints any document.
//!
//! Every string that came from a log or a dump is attacker-controlled: the HTML escapes it, the
//! Markdown escapes its syntax and HTML, the terminal strips control characters (no escape
//! sequences reach the admin's terminal). Output is deterministic: no clock, no randomness.

pub mod brief;
mod chart;
pub mod doc;
pub mod farm;
pub mod full;
pub mod html;
pub mod json;
pub mod markdown;
pub mod terminal;
pub mod triage;

use crate::analyze::Analysis;
use std::path::{Path, PathBuf};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text for a terminal, control characters escaped.
    Terminal,
    /// Markdown, log text escaped.
    Markdown,
    /// One self-contained HTML page under a strict Content-Security-Policy.
    Html,
    /// The versioned JSON schema (`docs/report-schema.md`).
    Json,
}

impl Format {
    /// Parses `terminal|md|markdown|html|json`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "terminal" | "text" | "txt" => Some(Format::Terminal),
            "md" | "markdown" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
    /// File name inside `--out`.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Terminal => "report.txt",
            Format::Markdown => "report.md",
            Format::Html => "report.html",
            Format::Json => "report.json",
        }
    }
}

/// Renders `a` in `format`.
pub fn render(a: &Analysis, format: Format) -> String {
    match format {
        Format::Terminal => terminal::render(a),
        Format::Markdown => markdown::render(a),
        Format::Html => html::render(a),
        Format::Json => json::render(a),
    }
}

/// Writes `report.md`, `report.html` and `report.json` into `dir` (created if missing).
///
/// Each file is written under a temporary name and renamed into place only when all three are
/// complete: a full disk or an interrupt leaves no cut-off report (see [`crate::output`]).
pub fn write_files(a: &Analysis, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let files =
        [Format::Markdown, Format::Html, Format::Json].map(|f| (f.file_name(), render(a, f)));
    write_all_or_none(dir, &files)
}

/// Writes each `(name, text)` into `dir` (created if missing), each under a temporary name,
/// renamed into place only when all are complete.
pub fn write_all_or_none(dir: &Path, files: &[(&str, String)]) -> std::io::Result<Vec<PathBuf>> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut pending = Vec::new();
    for (name, text) in files {
        let mut file = crate::output::PendingFile::create(&dir.join(name))?;
        file.write_all(text.as_bytes())?;
        file.flush()?;
        pending.push(file);
    }
    let mut out = Vec::new();
    for file in pending {
        out.push(file.dest().to_path_buf());
        file.commit()?;
    }
    Ok(out)
}

/// The sentence that counts every input file when the coverage table lists only some (plain
/// text: each writer escapes it).
pub(crate) fn files_summary_text(s: &crate::analyze::FilesSummary, listed: usize) -> String {
    let by_kind = s
        .by_kind
        .iter()
        .map(|(kind, st)| {
            let parts: Vec<String> = st
                .iter()
                .map(|(k, n)| format!("{} {k}", num(*n as u64)))
                .collect();
            format!("{kind}: {}", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{} files in all ({by_kind}), {}: {} lines, {} records, {} rejected, {} rows. Listed below: the {listed} with issues or not read.",
        num(s.total as u64),
        bytes(s.bytes),
        num(s.counts.lines),
        num(s.counts.records),
        num(s.counts.rejected),
        num(s.rows),
    )
}

/// A suspect's facts as plain text lines (incidents, module, statistics, …), the same in the
/// Markdown and HTML reports; each renderer escapes them (they carry dump- and log-derived text).
pub(crate) fn suspect_facts(s: &crate::analyze::Suspect) -> Vec<String> {
    use crate::analyze::suspects::{fmt_lift, fmt_p, fmt_pct};
    let mut f = vec![
        format!(
            "incidents: {} of {}",
            s.incidents.join(", "),
            s.incidents_considered
        ),
        format!("confidence {}: {}", s.confidence, s.confidence_why),
    ];
    // (A suspect known only by name, a managed exception for one, has no inventory to show.)
    let known = |m: &crate::analyze::ModuleFacts| {
        m.version.is_some() || m.path.is_some() || m.third_party.is_some()
    };
    if let Some(m) = s.module.as_ref().filter(|m| known(m)) {
        let or = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
        f.push(format!(
            "module: version {}, class {}, third party {}, path {}",
            or(&m.version),
            m.class.map_or("–", |c| c.name()),
            m.third_party
                .map_or("unknown", |t| if t { "yes" } else { "no" }),
            or(&m.path)
        ));
    }
    if let Some(m) = s.module.as_ref().filter(|m| !m.buckets.is_empty()) {
        f.push(format!("buckets: {}", m.buckets.join(", ")));
    }
    if let Some(p) = &s.pattern {
        f.push(format!(
            "statistics: {} of {} in flight vs {} of baseline requests ({} of {}) / {} of baseline busy time (null rate {}); lift {}, p = {} (adjusted {} for {} patterns)",
            p.in_flight,
            p.in_flight_total,
            fmt_pct(p.baseline_share),
            p.baseline,
            p.baseline_total,
            fmt_pct(p.baseline_busy_share),
            fmt_pct(p.null_rate),
            fmt_lift(p.lift),
            fmt_p(p.p_value),
            fmt_p(p.p_adjusted),
            p.tests
        ));
        if !p.same_requests.is_empty() {
            f.push(format!(
                "the same requests also share: {}",
                p.same_requests.join("; ")
            ));
        }
    }
    if !s.corroborated_by.is_empty() {
        f.push(format!("corroborated by: {}", s.corroborated_by.join(", ")));
    }
    f
}

/// `1234567` → `1,234,567`.
pub(crate) fn num(n: impl Into<u128>) -> String {
    let s = n.into().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Human size.
pub(crate) fn bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < U.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[u])
    }
}

/// Characters that could reorder or hide text (bidirectional overrides, zero-width marks).
pub(crate) fn is_sneaky(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// For a terminal: control characters (ESC, CR, C1 …) and bidi overrides become `?`.
pub(crate) fn plain(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_sneaky(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Time of an incident for display.
pub(crate) fn when(t: Option<crate::analyze::Ts>) -> String {
    t.map_or_else(
        || "(time unknown)".into(),
        |t| crate::analyze::time::fmt_utc(t.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(num(1234567u64), "1,234,567");
        assert_eq!(num(12u64), "12");
        assert_eq!(bytes(2048), "2.0 KB");
        assert_eq!(plain("a\u{1b}[31mb\u{202e}c\r"), "a?[31mb?c?");
        assert_eq!(Format::parse("MD"), Some(Format::Markdown));
        assert_eq!(Format::parse("pdf"), None);
    }
}
