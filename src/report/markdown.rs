//! The Markdown report. Log-derived text is escaped so it renders as text: Markdown syntax is
//! backslash-escaped, `<`, `>` and `&` become entities (raw HTML in Markdown would otherwise
//! reach the viewer), newlines and control characters become spaces or `?`.

use super::{bytes, is_sneaky, num, when};
use crate::analyze::time::{fmt_duration, fmt_utc};
use crate::analyze::{Analysis, EvidenceRef, Incident, RequestRef, join_tags};
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

fn opt<T: ToString>(s: &Option<T>) -> String {
    s.as_ref()
        .map_or_else(|| "–".into(), |v| esc(&v.to_string()))
}

fn evidence_line(e: &EvidenceRef) -> String {
    format!("{} @ {} — {}", esc(&e.path), e.offset, esc(&e.what))
}

fn request_table(out: &mut String, rows: &[RequestRef], marks: bool) {
    if marks {
        out.push_str("| suspect | time (UTC) | source | method | URI | status / reason | time-taken | client | user agent | file @ offset |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    } else {
        out.push_str("| time (UTC) | source | method | URI | status / reason | time-taken | client | user agent | file @ offset |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    }
    for r in rows {
        let status = match (&r.reason, r.status) {
            (Some(reason), Some(s)) => format!("{s} {}", esc(reason)),
            (Some(reason), None) => esc(reason),
            (None, Some(s)) => format!("{s}.{}", r.substatus.unwrap_or(0)),
            (None, None) => "–".into(),
        };
        let _ = writeln!(
            out,
            "{}| {} | {} | {} | {} | {} | {} | {} | {} | {} @ {} |",
            if !marks {
                String::new()
            } else if r.suspects.is_empty() {
                "|  ".into()
            } else {
                format!("| **‼ {}** ", r.suspects.join(", "))
            },
            fmt_utc(r.time.0),
            r.source,
            opt(&r.method),
            esc(&r.uri),
            status,
            r.time_taken_ms
                .map_or_else(|| "–".into(), |t| format!("{} ms", num(t))),
            opt(&r.client),
            opt(&r.user_agent),
            esc(&r.path),
            r.offset
        );
    }
    out.push('\n');
}

/// The Markdown report.
pub fn render(a: &Analysis) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# w3triage incident report\n");
    let _ = writeln!(o, "**Summary.** {}\n", esc(&a.summary.headline));
    if !a.summary.thin_evidence.is_empty() {
        o.push_str("> **The evidence is thin:**\n");
        for t in &a.summary.thin_evidence {
            let _ = writeln!(o, "> - {}", esc(t));
        }
        o.push('\n');
    }
    for n in &a.summary.notes {
        let _ = writeln!(o, "- {}", esc(n));
    }
    if !a.summary.notes.is_empty() {
        o.push('\n');
    }
    let i = &a.inputs;
    let kinds: Vec<String> = i.by_kind.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        o,
        "Inputs: {} files ({}), {} requests, {} HTTPERR rows, {} crash evidence rows ({} dumps, {} events), {} issues{}.{}\n",
        num(i.files as u64),
        esc(&kinds.join(", ")),
        num(i.requests as u64),
        num(i.httperr_rows as u64),
        num(i.crash_rows as u64),
        i.dumps,
        i.events,
        num(i.issues as u64),
        match (i.first, i.last) {
            (Some(f), Some(l)) => format!(", {} to {}", fmt_utc(f.0), fmt_utc(l.0)),
            _ => String::new(),
        },
        a.options
            .tz
            .as_deref()
            .map(|z| format!(" Local times at {z}."))
            .unwrap_or_default()
    );

    section_incidents(&mut o, a);
    section_rapid_fail(&mut o, a);
    section_suspects(&mut o, a);
    section_recommendations(&mut o, a);
    section_other_evidence(&mut o, a);
    section_modules(&mut o, a);
    section_coverage(&mut o, a);
    section_footer(&mut o, a);
    o
}

fn section_incidents(o: &mut String, a: &Analysis) {
    // Incidents
    o.push_str("## Incidents\n\n");
    if a.incidents.is_empty() {
        o.push_str("No crash found.\n\n");
    } else {
        o.push_str("| id | kind | time (UTC) | server | app pool | pid | sources | exception | module | in flight | suspects |\n");
        o.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for inc in &a.incidents {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                inc.id,
                inc.kind,
                super::when(inc.time),
                opt(&inc.server),
                opt(&inc.app_pool),
                inc.pid.map_or_else(|| "–".into(), |p| p.to_string()),
                esc(&join_tags(&inc.sources)),
                opt(&inc.exception_code),
                opt(&inc
                    .suspect_module
                    .clone()
                    .or_else(|| inc.faulting_module.clone())),
                inc.in_flight_total,
                inc.suspects.join(", ")
            );
        }
        o.push('\n');
        for inc in &a.incidents {
            incident_detail(o, inc);
        }
    }
}

/// One incident: its facts, evidence, requests in flight and the last requests before it.
fn incident_detail(o: &mut String, inc: &Incident) {
    let _ = writeln!(
        o,
        "### {} — {} of {} at {}\n",
        inc.id,
        inc.kind,
        opt(&inc.app_pool),
        when(inc.time)
    );
    if let Some(l) = &inc.time_local {
        let _ = writeln!(o, "- local time: {}", esc(l));
    }
    let _ = writeln!(o, "- time from: {}", inc.time_source);
    if !inc.sites.is_empty() {
        let _ = writeln!(o, "- sites: {}", esc(&inc.sites.join(", ")));
    }
    if let Some(x) = &inc.exception_code {
        let _ = writeln!(o, "- exception: {} {}", x, opt(&inc.exception_name));
    }
    if inc.faulting_module.is_some() {
        let _ = writeln!(
            o,
            "- faulting module: {} {}",
            opt(&inc.faulting_module),
            opt(&inc.faulting_module_version)
        );
    }
    if inc.suspect_module.is_some() {
        let _ = writeln!(
            o,
            "- dump verdict module: {} ({})",
            opt(&inc.suspect_module),
            opt(&inc.suspect_class)
        );
    }
    if let Some(b) = &inc.bucket {
        let _ = writeln!(o, "- bucket: {}", esc(b));
    }
    if let Some(v) = &inc.verdict {
        let _ = writeln!(
            o,
            "- verdict ({} confidence): {}",
            opt(&inc.confidence),
            esc(v)
        );
    }
    if let Some(x) = &inc.exit_code {
        let _ = writeln!(o, "- exit code: {}", x);
    }
    if let Some(d) = &inc.detail {
        let _ = writeln!(o, "- detail: {}", esc(d));
    }
    if let Some(r) = &inc.rapid_fail {
        let _ = writeln!(o, "- started rapid-fail episode {r}");
    }
    for n in &inc.notes {
        let _ = writeln!(o, "- note: {}", esc(n));
    }
    o.push_str("\nEvidence:\n\n");
    for e in &inc.evidence {
        let _ = writeln!(o, "- {}", evidence_line(e));
    }
    o.push('\n');
    if inc.in_flight_total > 0 {
        let _ = writeln!(
            o,
            "Requests in flight ({}{}){}:\n",
            inc.in_flight_total,
            if inc.in_flight.len() < inc.in_flight_total {
                format!(", first {} listed", inc.in_flight.len())
            } else {
                String::new()
            },
            if inc.in_flight.iter().any(|r| !r.suspects.is_empty()) {
                ", those matching a suspect request pattern first (‼)"
            } else {
                ""
            }
        );
        request_table(o, &inc.in_flight, true);
    }
    if !inc.recent.is_empty() {
        let _ = writeln!(
            o,
            "Last {} requests before the crash (newest first):\n",
            inc.recent.len()
        );
        request_table(o, &inc.recent, false);
    }
}

fn section_rapid_fail(o: &mut String, a: &Analysis) {
    if !a.rapid_fail.is_empty() {
        o.push_str("## Rapid-fail protection\n\n");
        o.push_str("| id | app pool | server | from | start (UTC) | end (UTC) | duration | refused (HTTPERR 503 / W3C 503) | after |\n");
        o.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for r in &a.rapid_fail {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
                r.id,
                opt(&r.app_pool),
                opt(&r.server),
                r.source,
                fmt_utc(r.start.0),
                r.end.map_or_else(
                    || "still down at end of logs".into(),
                    |e| format!("{} ({})", fmt_utc(e.0), r.end_reason)
                ),
                r.duration_s
                    .map_or_else(|| "–".into(), |d| fmt_duration(d * 1000)),
                r.refused_httperr,
                r.refused_w3c,
                r.incident.as_deref().unwrap_or("–")
            );
        }
        o.push('\n');
    }
}

fn section_suspects(o: &mut String, a: &Analysis) {
    o.push_str("## Suspects\n\n");
    if a.suspects.is_empty() {
        o.push_str("None.\n\n");
    }
    for s in &a.suspects {
        let _ = writeln!(
            o,
            "### {} — {} {} ({} confidence)\n",
            s.id,
            s.kind.label(),
            esc(&s.name),
            s.confidence
        );
        let _ = writeln!(o, "{}\n", esc(&s.reason));
        for f in super::suspect_facts(s) {
            let _ = writeln!(o, "- {}", esc(&f));
        }
        let _ = writeln!(
            o,
            "- evidence ({}{}):",
            s.evidence_total,
            if s.evidence.len() < s.evidence_total {
                format!(", first {}", s.evidence.len())
            } else {
                String::new()
            }
        );
        for e in &s.evidence {
            let _ = writeln!(o, "  - {}", evidence_line(e));
        }
        o.push('\n');
    }
}

fn section_recommendations(o: &mut String, a: &Analysis) {
    if !a.recommendations.is_empty() {
        o.push_str("## What to do next\n\n");
        for (k, r) in a.recommendations.iter().enumerate() {
            let _ = writeln!(
                o,
                "{}. {}{}\n",
                k + 1,
                r.suspect
                    .as_deref()
                    .map(|s| format!("({s}) "))
                    .unwrap_or_default(),
                esc(&r.action)
            );
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
}

fn section_other_evidence(o: &mut String, a: &Analysis) {
    if !a.other_evidence.is_empty() {
        o.push_str("## Other crash-related evidence\n\n");
        for e in &a.other_evidence {
            let _ = writeln!(o, "- {}", evidence_line(e));
        }
        o.push('\n');
    }
}

fn section_modules(o: &mut String, a: &Analysis) {
    if !a.modules.is_empty() {
        o.push_str("## Modules in the dumps\n\n| module | version | class | third party | dumps | suspect | path |\n|---|---|---|---|---|---|---|\n");
        for m in &a.modules {
            let name = if m.third_party {
                format!("**{}**", esc(&m.name))
            } else {
                esc(&m.name)
            };
            let _ = writeln!(
                o,
                "| {}{} | {} | {} | {} | {} | {} | {} |",
                name,
                if m.unloaded { " (unloaded)" } else { "" },
                opt(&m.version),
                esc(m.class.name()),
                if m.third_party { "yes" } else { "no" },
                m.dumps,
                m.suspect.as_deref().unwrap_or(""),
                esc(&m.path)
            );
        }
        o.push('\n');
    }
}

fn section_coverage(o: &mut String, a: &Analysis) {
    o.push_str("## Coverage\n\n");
    if let Some(sum) = &a.coverage.files_summary {
        let text = super::files_summary_text(sum, a.coverage.files.len());
        let _ = writeln!(o, "{}\n", esc(&text));
    }
    o.push_str("| file | kind | status | size | lines | records | rejected | rows | issues |\n|---|---|---|---|---|---|---|---|---|\n");
    for f in &a.coverage.files {
        let _ = writeln!(
            o,
            "| {} | {} | {:?}{} | {} | {} | {} | {} | {} | {} |",
            esc(&f.path),
            esc(f.kind.name()),
            f.status,
            f.reason
                .as_deref()
                .map(|r| format!(": {}", esc(r)))
                .unwrap_or_default(),
            bytes(f.bytes),
            num(f.counts.lines),
            num(f.counts.records),
            num(f.counts.rejected),
            num(f.rows),
            f.issues
        );
    }
    o.push('\n');
    if a.coverage.issues_total > 0 {
        let _ = writeln!(o, "Issues: {} in all.\n", a.coverage.issues_total);
        for (code, n) in &a.coverage.issues_by_code {
            let _ = writeln!(o, "- {}: {}", esc(code), n);
        }
        o.push('\n');
        for i in &a.coverage.issues {
            let _ = writeln!(
                o,
                "- {} {}{}{}: {} — {}",
                i.severity,
                esc(&i.path),
                i.line.map(|l| format!(" line {l}")).unwrap_or_default(),
                i.offset.map(|l| format!(" @ {l}")).unwrap_or_default(),
                esc(&i.code),
                esc(&i.message)
            );
        }
        o.push('\n');
    }
}

fn section_footer(o: &mut String, a: &Analysis) {
    let _ = writeln!(
        o,
        "---\n{} {}, report schema {}",
        a.tool.name, a.tool.version, a.schema_version
    );
}
