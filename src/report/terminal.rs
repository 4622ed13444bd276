//! The terminal summary: what happened, when, which module, which requests, what to do next.
//! Plain text (no colour codes, so it pipes cleanly); log-derived text has its control
//! characters replaced, so no escape sequence from a log reaches the terminal.

use super::{num, plain, when};
use crate::analyze::suspects::{fmt_lift, fmt_p, fmt_pct};
use crate::analyze::time::{fmt_duration, fmt_utc};
use crate::analyze::{Analysis, join_tags};
use std::fmt::Write;

const WIDTH: usize = 100;

/// Wraps `text` at `WIDTH` with `indent` on every line.
fn wrap(out: &mut String, indent: &str, text: &str) {
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > WIDTH
        {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

fn cut(s: &str, n: usize) -> String {
    crate::analyze::cut(&plain(s), n)
}

/// The terminal summary.
pub fn render(a: &Analysis) -> String {
    let mut o = String::new();
    let i = &a.inputs;
    let _ = writeln!(o, "w3triage {}: incident report", a.tool.version);
    let _ = writeln!(
        o,
        "inputs: {} files, {} requests, {} HTTPERR rows, {} dumps, {} events, {} issues{}",
        num(i.files as u64),
        num(i.requests as u64),
        num(i.httperr_rows as u64),
        i.dumps,
        i.events,
        num(i.issues as u64),
        match (i.first, i.last) {
            (Some(f), Some(l)) => format!(" ({} .. {})", fmt_utc(f.0), fmt_utc(l.0)),
            _ => String::new(),
        }
    );
    o.push('\n');
    o.push_str("WHAT HAPPENED\n");
    wrap(&mut o, "  ", &plain(&a.summary.headline));
    if !a.summary.thin_evidence.is_empty() {
        o.push_str("\n  The evidence is thin:\n");
        for t in &a.summary.thin_evidence {
            wrap(&mut o, "    - ", &plain(t));
        }
    }

    section_incidents(&mut o, a);
    section_rapid_fail(&mut o, a);
    section_suspects(&mut o, a);
    section_recommendations(&mut o, a);
    section_coverage(&mut o, a);
    o
}

fn section_incidents(o: &mut String, a: &Analysis) {
    if !a.incidents.is_empty() {
        o.push_str("\nINCIDENTS\n");
        for inc in &a.incidents {
            let _ = writeln!(
                o,
                "  {:<4} {}  {}  {}  pid {}  {}{}",
                inc.id,
                when(inc.time),
                cut(inc.server.as_deref().unwrap_or("?"), 40),
                cut(inc.app_pool.as_deref().unwrap_or("(pool unknown)"), 60),
                inc.pid.map_or_else(|| "?".into(), |p| p.to_string()),
                inc.kind,
                inc.time_local
                    .as_deref()
                    .map(|l| format!("  (local {l})"))
                    .unwrap_or_default()
            );
            let module = inc
                .suspect_module
                .as_deref()
                .or(inc.faulting_module.as_deref());
            let _ = writeln!(
                o,
                "       {}{}  from: {}",
                inc.exception_code
                    .map(|c| format!("{c} "))
                    .unwrap_or_default(),
                module
                    .map(|m| format!("in {}", cut(m, 80)))
                    .unwrap_or_else(|| "module unknown".into()),
                cut(&join_tags(&inc.sources), 200)
            );
            if inc.in_flight_total > 0 {
                let _ = writeln!(o, "       in flight ({}):", inc.in_flight_total);
                for r in inc.in_flight.iter().take(5) {
                    let _ = writeln!(
                        o,
                        "         {}{} {} {}{}",
                        if r.suspects.is_empty() {
                            String::new()
                        } else {
                            format!("‼ {} ", r.suspects.join(","))
                        },
                        r.source,
                        cut(r.method.as_deref().unwrap_or("-"), 16),
                        cut(&r.uri, 120),
                        r.client
                            .as_deref()
                            .map(|c| format!("  from {}", cut(c, 45)))
                            .unwrap_or_default()
                    );
                }
                if inc.in_flight_total > 5 {
                    let _ = writeln!(
                        o,
                        "         … {} more in the reports",
                        inc.in_flight_total - 5
                    );
                }
            }
            if let Some(r) = &inc.rapid_fail {
                let _ = writeln!(o, "       then rapid-fail protection: {r}");
            }
        }
    }
}

fn section_rapid_fail(o: &mut String, a: &Analysis) {
    if !a.rapid_fail.is_empty() {
        o.push_str("\nRAPID-FAIL PROTECTION\n");
        for r in &a.rapid_fail {
            let _ = writeln!(
                o,
                "  {:<4} pool {} disabled at {}, {}; refused {} (HTTPERR 503 AppOffline) + {} (W3C 503)",
                r.id,
                cut(r.app_pool.as_deref().unwrap_or("?"), 60),
                fmt_utc(r.start.0),
                match (r.end, r.duration_s) {
                    (Some(e), Some(d)) => format!(
                        "back at {} after {} ({})",
                        fmt_utc(e.0),
                        fmt_duration(d * 1000),
                        r.end_reason
                    ),
                    _ => "still down when the logs end".into(),
                },
                r.refused_httperr,
                r.refused_w3c
            );
        }
    }
}

fn section_suspects(o: &mut String, a: &Analysis) {
    if !a.suspects.is_empty() {
        o.push_str("\nSUSPECTS\n");
        for s in &a.suspects {
            let _ = writeln!(
                o,
                "  {:<4} [{}] {}: {}  (incidents {})",
                s.id,
                s.confidence,
                s.kind.label(),
                cut(&s.name, 160),
                s.incidents.join(" ")
            );
            if let Some(p) = &s.pattern
                && p.lift > 0.0
            {
                let _ = writeln!(
                    o,
                    "       {} of {} in flight vs {} of baseline requests ({} of {}) / {} of baseline busy time,",
                    p.in_flight,
                    p.in_flight_total,
                    fmt_pct(p.baseline_share),
                    p.baseline,
                    p.baseline_total,
                    fmt_pct(p.baseline_busy_share),
                );
                let _ = writeln!(
                    o,
                    "       lift {}, p = {} (adjusted {})",
                    fmt_lift(p.lift),
                    fmt_p(p.p_value),
                    fmt_p(p.p_adjusted)
                );
            }
            if !s.corroborated_by.is_empty() {
                let _ = writeln!(o, "       corroborated by {}", s.corroborated_by.join(", "));
            }
            for e in s.evidence.iter().take(3) {
                let _ = writeln!(o, "       evidence: {} @ {}", cut(&e.path, 120), e.offset);
            }
        }
    }
}

fn section_recommendations(o: &mut String, a: &Analysis) {
    if !a.recommendations.is_empty() {
        o.push_str("\nWHAT TO DO NEXT\n");
        for (k, r) in a.recommendations.iter().enumerate() {
            let head = format!("{}. ", k + 1);
            let body = format!(
                "{}{}",
                r.suspect
                    .as_deref()
                    .map(|s| format!("({s}) "))
                    .unwrap_or_default(),
                plain(&r.action)
            );
            let mut tmp = String::new();
            wrap(&mut tmp, "     ", &body);
            let _ = write!(o, "  {head}{}", tmp.trim_start());
            for c in &r.commands {
                for line in c.lines() {
                    let _ = writeln!(o, "       {}", plain(line));
                }
            }
        }
    }
}

fn section_coverage(o: &mut String, a: &Analysis) {
    let _ = writeln!(
        o,
        "\nCOVERAGE: {} of {} files read; {} issues{}",
        a.coverage.parsed_files(),
        a.coverage.total_files(),
        a.coverage.issues_total,
        if a.coverage.issues_by_code.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                a.coverage
                    .issues_by_code
                    .iter()
                    .map(|(k, v)| format!("{} {v}", plain(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for n in &a.summary.notes {
        wrap(o, "  note: ", &plain(n));
    }
}
