//! The brief document (the terminal summary): what happened, when, which module, which
//! requests, what to do next — a screen or two, pointing at the full reports for the rest.

use super::doc::{Block, Doc, Span, Step, Style, Text};
use super::{num, when};
use crate::analyze::suspects::{fmt_lift, fmt_p, fmt_pct};
use crate::analyze::time::{fmt_duration, fmt_utc};
use crate::analyze::{Analysis, BurstFacts, Incident, IncidentKind, Suspect, join_tags};

/// In-flight requests listed per incident; the rest are counted.
const IN_FLIGHT_SHOWN: usize = 5;
/// Evidence listed per suspect.
const EVIDENCE_SHOWN: usize = 3;

/// The brief report of `a`.
pub fn build(a: &Analysis) -> Doc<'_> {
    let mut b = vec![
        line(format!("w3triage {}: incident report", a.tool.version)),
        line(inputs_line(a)),
    ];
    for i in &a.inputs.identities {
        let t = Text::plain("server ")
            .push(Span::Cut(i.name.clone(), 60))
            .and(": ")
            .push(Span::Cut(i.evidence.join(", "), 300));
        b.push(line(t));
    }
    b.extend([
        heading("WHAT HAPPENED"),
        Block::Para(Style::Normal, a.summary.headline.clone().into()),
    ]);
    if !a.summary.thin_evidence.is_empty() {
        let items = a.summary.thin_evidence.iter().map(|t| t.clone().into());
        b.push(Block::Callout(
            "The evidence is thin:".into(),
            items.collect(),
        ));
    }
    if !a.incidents.is_empty() {
        b.push(heading("INCIDENTS"));
        b.extend(a.incidents.iter().map(incident));
    }
    if !a.rapid_fail.is_empty() {
        b.push(heading("RAPID-FAIL PROTECTION"));
        b.extend(a.rapid_fail.iter().map(rapid_fail));
    }
    if !a.suspects.is_empty() {
        b.push(heading("SUSPECTS"));
        b.extend(a.suspects.iter().map(suspect));
    }
    if !a.recommendations.is_empty() {
        b.push(heading("WHAT TO DO NEXT"));
        let steps = a.recommendations.iter().map(|r| Step {
            suspect: r.suspect.clone(),
            action: r.action.clone(),
            commands: r.commands.clone(),
        });
        b.push(Block::Steps(steps.collect()));
    }
    b.push(heading(&coverage_line(a)));
    let notes = a.summary.notes.iter().map(|n| ("note", n.clone().into()));
    b.push(Block::Facts(notes.collect()));
    Doc { blocks: b }
}

fn heading(text: &str) -> Block<'static> {
    Block::Heading {
        level: 2,
        anchor: None,
        text: text.into(),
    }
}

fn line(text: impl Into<Text>) -> Block<'static> {
    Block::Para(Style::Line, text.into())
}

fn inputs_line(a: &Analysis) -> String {
    let i = &a.inputs;
    format!(
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
    )
}

/// An incident in two lines, then its first requests in flight.
fn incident(inc: &Incident) -> Block<'static> {
    let local = inc.time_local.as_deref().map(|l| format!("  (local {l})"));
    let title = Text::plain(format!("{:<4} {}  ", inc.id, when(inc.time)))
        .push(Span::Cut(inc.server.clone().unwrap_or("?".into()), 40))
        .and("  ")
        .push(Span::Cut(
            inc.app_pool
                .clone()
                .or_else(|| inc.burst.as_ref().and_then(|b| b.site.clone()))
                .unwrap_or("(pool unknown)".into()),
            60,
        ))
        .and(format!(
            "  pid {}  {}{}",
            inc.pid.map_or_else(|| "?".into(), |p| p.to_string()),
            inc.kind,
            local.unwrap_or_default()
        ));
    let mut body = vec![line(match (&inc.burst, inc.kind) {
        (Some(b), _) => burst_line(b),
        (None, IncidentKind::Crash | IncidentKind::Dump) => crash_line(inc),
        (None, IncidentKind::Cpu) => {
            Text(vec![Span::Cut(inc.detail.clone().unwrap_or_default(), 200)])
        }
        (None, _) => Text::plain("from: ").push(Span::Cut(join_tags(&inc.sources), 200)),
    })];
    body.push(line(category_line(inc)));
    if let Some(m) = &inc.managed_exception {
        body.push(line(Text(vec![Span::Cut(m.sentence(), 200)])));
    }
    if inc.in_flight_total > 0 {
        let mut lines: Vec<Block> = inc
            .in_flight
            .iter()
            .take(IN_FLIGHT_SHOWN)
            .map(|r| {
                let marks = if r.suspects.is_empty() {
                    String::new()
                } else {
                    format!("‼ {} ", r.suspects.join(","))
                };
                let mut t = Text::plain(format!("{marks}{} ", r.source))
                    .push(Span::Cut(r.method.clone().unwrap_or("-".into()), 16))
                    .and(" ")
                    .push(Span::Cut(r.uri.clone(), 120));
                if let Some(c) = &r.client {
                    t = t.and("  from ").push(Span::Cut(c.clone(), 45));
                }
                line(t)
            })
            .collect();
        if inc.in_flight_total > IN_FLIGHT_SHOWN {
            let more = inc.in_flight_total - IN_FLIGHT_SHOWN;
            lines.push(line(format!("… {more} more in the reports")));
        }
        let label = format!("in flight ({}):", inc.in_flight_total);
        body.push(Block::Labeled(label.into(), lines));
    }
    if let Some(r) = &inc.rapid_fail {
        body.push(line(format!("then rapid-fail protection: {r}")));
    }
    Block::Entry(title, body)
}

/// "0xc0000005 in X.dll  from: dump, event:…".
fn crash_line(inc: &Incident) -> Text {
    let code = inc.exception_code.map(|c| format!("{c} "));
    let module = inc.suspect_module.as_ref().or(inc.faulting_module.as_ref());
    let what = Text::plain(code.unwrap_or_default());
    let what = match module {
        Some(m) => what.and("in ").push(Span::Cut(m.clone(), 80)),
        None => what.and("module unknown"),
    };
    what.and("  from: ")
        .push(Span::Cut(join_tags(&inc.sources), 200))
}

/// "97 5xx of 1,204 requests in 12 min (48× usual) on SITE, mostly 500.19.13 on /x".
fn burst_line(b: &BurstFacts) -> Text {
    let of = b
        .requests
        .map_or(String::new(), |n| format!(" of {n} requests"));
    let mut t = Text::plain(format!(
        "{} {}{of} in {} ({:.0}× usual)",
        b.errors,
        b.series,
        fmt_duration(b.duration_s * 1000),
        b.lift
    ));
    if let Some(s) = &b.site {
        t = t.and(" on ").push(Span::Cut(s.clone(), 60));
    }
    if let Some(d) = &b.dominant {
        t = t.and(", mostly ").push(Span::Cut(d.clone(), 60));
    }
    if let Some(u) = b.urls.first() {
        t = t.and(" on ").push(Span::Cut(u.value.clone(), 120));
    }
    t
}

/// "category: configuration — 90 of 97 errors were 500.19…" or what would decide it.
fn category_line(inc: &Incident) -> Text {
    let c = &inc.category;
    let why = match (c.decided_by.first(), c.missing.first()) {
        (Some(d), _) => format!(" — {d}"),
        (None, Some(m)) => format!(" — not decided: {m}"),
        (None, None) => String::new(),
    };
    Text(vec![Span::Cut(format!("category: {}{why}", c.name), 300)])
}

fn rapid_fail(r: &crate::analyze::RapidFail) -> Block<'static> {
    let back = match (r.end, r.duration_s) {
        (Some(e), Some(d)) => format!(
            "back at {} after {} ({})",
            fmt_utc(e.0),
            fmt_duration(d * 1000),
            r.end_reason
        ),
        _ => "still down when the logs end".into(),
    };
    let text = Text::plain(format!("{:<4} pool ", r.id))
        .push(Span::Cut(r.app_pool.clone().unwrap_or("?".into()), 60))
        .and(format!(
            " disabled at {}, {back}; refused {} (HTTPERR 503 AppOffline) + {} (W3C 503)",
            fmt_utc(r.start.0),
            r.refused_httperr,
            r.refused_w3c
        ));
    line(text)
}

fn suspect(s: &Suspect) -> Block<'static> {
    let title = Text::plain(format!(
        "{:<4} [{}] {}: ",
        s.id,
        s.confidence,
        s.kind.label()
    ))
    .push(Span::Cut(s.name.clone(), 160))
    .and(format!("  (incidents {})", s.incidents.join(" ")));
    let mut body = Vec::new();
    if let Some(p) = &s.pattern
        && p.lift > 0.0
    {
        body.push(line(format!(
            "{} of {} in flight vs {} of baseline requests ({} of {}) / {} of baseline busy time,",
            p.in_flight,
            p.in_flight_total,
            fmt_pct(p.baseline_share),
            p.baseline,
            p.baseline_total,
            fmt_pct(p.baseline_busy_share),
        )));
        body.push(line(format!(
            "lift {}, p = {} (adjusted {})",
            fmt_lift(p.lift),
            fmt_p(p.p_value),
            fmt_p(p.p_adjusted)
        )));
    }
    if !s.corroborated_by.is_empty() {
        let by = s.corroborated_by.join(", ");
        body.push(line(format!("corroborated by {by}")));
    }
    for e in s.evidence.iter().take(EVIDENCE_SHOWN) {
        let t = Text::plain("evidence: ")
            .push(Span::Cut(e.path.clone(), 120))
            .and(format!(" @ {}", e.offset));
        body.push(line(t));
    }
    Block::Entry(title, body)
}

fn coverage_line(a: &Analysis) -> String {
    let c = &a.coverage;
    let by_code = if c.issues_by_code.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = c
            .issues_by_code
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(" ({})", parts.join(", "))
    };
    format!(
        "COVERAGE: {} of {} files read; {} issues{by_code}",
        c.parsed_files(),
        c.total_files(),
        c.issues_total,
    )
}
