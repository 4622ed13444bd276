//! The full report document (Markdown and HTML): every section, every incident in detail.

use super::doc::{Align, Block, Chart, Doc, Row, RowMark, Span, Step, Style, Table, Text};
use super::{bytes, num, when};
use crate::analyze::model::{BurstFacts, Counted};
use crate::analyze::suspects::requests::fmt_p;
use crate::analyze::time::{fmt_duration, fmt_utc};
use crate::analyze::{Analysis, EvidenceRef, Incident, RequestRef, join_tags};

/// The full report of `a`.
pub fn build(a: &Analysis) -> Doc<'_> {
    let mut b = vec![Block::Heading {
        level: 1,
        anchor: None,
        text: "w3triage incident report".into(),
    }];
    head(&mut b, a);
    b.push(section("Timeline", "timeline"));
    b.push(Block::Chart(Chart {
        timeline: &a.timeline,
        incidents: &a.incidents,
        rapid_fail: &a.rapid_fail,
    }));
    incidents(&mut b, a);
    rapid_fail(&mut b, a);
    suspects(&mut b, a);
    recommendations(&mut b, a);
    if !a.other_evidence.is_empty() {
        b.push(section("Other crash-related evidence", "other-evidence"));
        b.push(evidence_list(&a.other_evidence));
    }
    if !a.other_crashes.is_empty() {
        b.push(section("Other crashes on these servers", "other-crashes"));
        let note = "Processes IIS does not serve from (desktop applications, services): context, not incidents.";
        b.push(Block::Para(Style::Muted, note.into()));
        b.push(evidence_list(&a.other_crashes));
    }
    modules(&mut b, a);
    coverage(&mut b, a);
    b.push(Block::Footer(Text::plain(format!(
        "{} {} · report schema {}",
        a.tool.name, a.tool.version, a.schema_version
    ))));
    Doc { blocks: b }
}

fn section(title: &str, anchor: &'static str) -> Block<'static> {
    Block::Heading {
        level: 2,
        anchor: Some(anchor),
        text: title.into(),
    }
}

/// A value or an en dash.
fn or_dash<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "–".into(), T::to_string)
}

/// The headline, thin evidence, notes and what was read.
fn head(b: &mut Vec<Block>, a: &Analysis) {
    b.push(Block::Para(
        Style::Lead {
            ok: !a.summary.crashed,
        },
        a.summary.headline.clone().into(),
    ));
    if !a.summary.thin_evidence.is_empty() {
        let items = a.summary.thin_evidence.iter().map(|t| t.clone().into());
        b.push(Block::Callout(
            "The evidence is thin:".into(),
            items.collect(),
        ));
    }
    if !a.summary.notes.is_empty() {
        let notes = a.summary.notes.iter().map(|n| n.clone().into()).collect();
        b.push(Block::List(Style::Muted, notes));
    }
    b.push(Block::Para(Style::Muted, inputs_line(a).into()));
    if !a.inputs.identities.is_empty() {
        let items = a.inputs.identities.iter().map(|i| {
            Text(vec![Span::Strong(i.name.clone())]).and(format!(": {}", i.evidence.join(", ")))
        });
        b.push(Block::Labeled(
            "Servers, and what named them".into(),
            vec![Block::List(Style::Muted, items.collect())],
        ));
    }
}

fn inputs_line(a: &Analysis) -> String {
    let i = &a.inputs;
    let kinds: Vec<String> = i.by_kind.iter().map(|(k, v)| format!("{v} {k}")).collect();
    format!(
        "Inputs: {} files ({}), {} requests, {} HTTPERR rows, {} crash evidence rows ({} dumps, {} events{}), {} issues{}.{}",
        num(i.files as u64),
        kinds.join(", "),
        num(i.requests as u64),
        num(i.httperr_rows as u64),
        num(i.crash_rows as u64),
        i.dumps,
        i.events,
        match i.log_restarts {
            0 => String::new(),
            n => format!(", {n} W3C log restarts"),
        },
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
    )
}

fn incidents(b: &mut Vec<Block>, a: &Analysis) {
    b.push(section("Incidents", "incidents"));
    if a.incidents.is_empty() {
        b.push(Block::Para(Style::Normal, "No crash found.".into()));
        return;
    }
    use Align::*;
    let columns = vec![
        ("id", Left),
        ("kind", Left),
        ("time (UTC)", Time),
        ("server", Left),
        ("app pool", Left),
        ("pid", Number),
        ("sources", Left),
        ("category", Left),
        ("exception", Left),
        ("module", Left),
        ("in flight", Number),
        ("suspects", Left),
    ];
    let rows = a.incidents.iter().map(|inc| {
        let module = inc.suspect_module.clone().or(inc.faulting_module.clone());
        cells(
            RowMark::None,
            [
                inc.id.clone(),
                inc.kind.to_string(),
                when(inc.time),
                or_dash(&inc.server),
                or_dash(&inc.app_pool),
                or_dash(&inc.pid),
                join_tags(&inc.sources),
                inc.category.name.to_string(),
                or_dash(&inc.exception_code),
                or_dash(&module),
                inc.in_flight_total.to_string(),
                inc.suspects.join(", "),
            ],
        )
    });
    b.push(Block::Table(Table {
        columns,
        rows: rows.collect(),
    }));
    for inc in &a.incidents {
        b.push(incident_detail(inc));
    }
}

/// A row of plain cells.
fn cells<const N: usize>(mark: RowMark, values: [String; N]) -> Row {
    Row {
        mark,
        cells: values.into_iter().map(Text::plain).collect(),
    }
}

/// One incident: its facts, evidence, requests in flight and the last requests before it.
fn incident_detail(inc: &Incident) -> Block<'static> {
    let whom = match (&inc.app_pool, &inc.burst) {
        (None, Some(b)) => or_dash(&b.site),
        _ => or_dash(&inc.app_pool),
    };
    let title = format!(
        "{} — {} of {} at {}",
        inc.id,
        inc.kind,
        whom,
        when(inc.time)
    );
    let mut body = vec![Block::Facts(incident_facts(inc))];
    body.push(Block::Labeled(
        "Evidence".into(),
        vec![evidence_list(&inc.evidence)],
    ));
    if inc.in_flight_total > 0 {
        let listed = if inc.in_flight.len() < inc.in_flight_total {
            format!(", first {} listed", inc.in_flight.len())
        } else {
            String::new()
        };
        let marked = if inc.in_flight.iter().any(|r| !r.suspects.is_empty()) {
            "; those matching a suspect request pattern first (‼)"
        } else {
            ""
        };
        let label = format!(
            "Requests in flight ({}{listed}){marked}",
            inc.in_flight_total
        );
        let table = request_table(&inc.in_flight, true);
        body.push(Block::Labeled(label.into(), vec![table]));
    }
    if !inc.recent.is_empty() {
        let what = if inc.kind == crate::analyze::IncidentKind::Crash {
            "the crash".to_string()
        } else {
            format!("the {}", inc.kind.name().replace('_', " "))
        };
        let label = format!(
            "Last {} requests before {what} (newest first)",
            inc.recent.len()
        );
        let table = request_table(&inc.recent, false);
        body.push(Block::Labeled(label.into(), vec![table]));
    }
    Block::Entry(title.into(), body)
}

fn incident_facts(inc: &Incident) -> Vec<(&'static str, Text)> {
    let mut f: Vec<(&'static str, Text)> = Vec::new();
    let mut put = |k, v: String| f.push((k, Text::plain(v)));
    if let Some(l) = &inc.time_local {
        put("local time", l.clone());
    }
    put("time from", inc.time_source.to_string());
    if !inc.sites.is_empty() {
        put("sites", inc.sites.join(", "));
    }
    let c = &inc.category;
    put("category", c.name.to_string());
    for d in &c.decided_by {
        put("decided by", d.clone());
    }
    for m in &c.missing {
        put("would decide", m.clone());
    }
    if let Some(b) = &inc.burst {
        burst_facts(&mut put, b);
    }
    if let Some(x) = &inc.exception_code {
        put("exception", format!("{x} {}", or_dash(&inc.exception_name)));
    }
    if let Some(m) = &inc.managed_exception {
        put("managed exception", m.sentence());
        if let Some(msg) = &m.message {
            put("message", msg.clone());
        }
    }
    if inc.faulting_module.is_some() {
        let m = or_dash(&inc.faulting_module);
        put(
            "faulting module",
            format!("{m} {}", or_dash(&inc.faulting_module_version)),
        );
    }
    if inc.suspect_module.is_some() {
        let m = or_dash(&inc.suspect_module);
        put(
            "dump verdict module",
            format!("{m} ({})", or_dash(&inc.suspect_class)),
        );
    }
    if let Some(v) = &inc.bucket {
        put("bucket", v.clone());
    }
    if let Some(v) = &inc.verdict {
        let conf = inc.confidence.map(|c| format!(" ({c} confidence)"));
        put("verdict", format!("{v}{}", conf.unwrap_or_default()));
    }
    if let Some(x) = &inc.exit_code {
        put("exit code", x.to_string());
    }
    if let Some(d) = &inc.detail {
        put("detail", d.clone());
    }
    if let Some(r) = &inc.rapid_fail {
        put("started rapid-fail episode", r.clone());
    }
    for n in &inc.notes {
        put("note", n.clone());
    }
    f
}

/// The window, its test and what it hit.
fn burst_facts(put: &mut impl FnMut(&'static str, String), b: &BurstFacts) {
    put(
        "window",
        format!(
            "until {} ({})",
            when(Some(b.end)),
            fmt_duration(b.duration_s * 1000)
        ),
    );
    let of = b
        .requests
        .map_or(String::new(), |n| format!(" of {n} requests"));
    put(
        "errors",
        format!(
            "{} {}{of}: {:.0}× the usual rate, p = {} (adjusted for {} windows tested)",
            b.errors,
            b.series,
            b.lift,
            fmt_p(b.p_adjusted),
            b.tests
        ),
    );
    let list = |v: &[Counted]| {
        v.iter()
            .map(|c| format!("{} ({})", c.value, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    put("codes", list(&b.codes));
    put("most hit", list(&b.urls));
    if !b.asp_errors.is_empty() {
        put("classic ASP errors logged", list(&b.asp_errors));
    }
    put("clients", b.clients.to_string());
}

fn evidence_list(ev: &[EvidenceRef]) -> Block<'static> {
    let items = ev.iter().map(|e| {
        Text(vec![Span::Code(e.path.clone())]).and(format!(" @ {} — {}", e.offset, e.what))
    });
    Block::List(Style::Small, items.collect())
}

fn request_table(rows: &[RequestRef], marks: bool) -> Block<'static> {
    use Align::*;
    let mut columns = if marks {
        vec![("suspect", Mark)]
    } else {
        vec![]
    };
    columns.extend([
        ("time (UTC)", Time),
        ("source", Left),
        ("method", Left),
        ("URI", Wide),
        ("status / reason", Left),
        ("time-taken", Number),
        ("client", Left),
        ("user agent", Left),
        ("file @ offset", Small),
    ]);
    let rows = rows.iter().map(|r| {
        let status = match (&r.reason, r.status) {
            (Some(reason), Some(s)) => format!("{s} {reason}"),
            (Some(reason), None) => reason.clone(),
            (None, Some(s)) => format!("{s}.{}", r.substatus.unwrap_or(0)),
            (None, None) => "–".into(),
        };
        let mut c: Vec<Text> = Vec::with_capacity(10);
        if marks && r.suspects.is_empty() {
            c.push(Text::default());
        } else if marks {
            c.push(format!("‼ {}", r.suspects.join(", ")).into());
        }
        c.push(fmt_utc(r.time.0).into());
        c.push(r.source.to_string().into());
        c.push(or_dash(&r.method).into());
        c.push(Text(vec![Span::Uri(r.uri.clone())]));
        c.push(status.into());
        let taken = r.time_taken_ms.map(|t| format!("{} ms", num(t)));
        c.push(or_dash(&taken).into());
        c.push(or_dash(&r.client).into());
        c.push(or_dash(&r.user_agent).into());
        let at = format!(" @ {}", r.offset);
        c.push(Text(vec![Span::File(r.path.clone()), Span::Plain(at)]));
        Row {
            mark: RowMark::None,
            cells: c,
        }
    });
    Block::Table(Table {
        columns,
        rows: rows.collect(),
    })
}

fn rapid_fail(b: &mut Vec<Block>, a: &Analysis) {
    if a.rapid_fail.is_empty() {
        return;
    }
    b.push(section("Rapid-fail protection", "rapid-fail"));
    use Align::*;
    let columns = vec![
        ("id", Left),
        ("app pool", Left),
        ("server", Left),
        ("from", Left),
        ("start (UTC)", Time),
        ("end (UTC)", Time),
        ("duration", Left),
        ("refused HTTPERR 503", Number),
        ("refused W3C 503", Number),
        ("after", Left),
    ];
    let rows = a.rapid_fail.iter().map(|r| {
        let end = r.end.map_or_else(
            || "still down at end of logs".into(),
            |e| format!("{} ({})", fmt_utc(e.0), r.end_reason),
        );
        let duration = r.duration_s.map(|d| fmt_duration(d * 1000));
        cells(
            RowMark::None,
            [
                r.id.clone(),
                or_dash(&r.app_pool),
                or_dash(&r.server),
                r.source.to_string(),
                fmt_utc(r.start.0),
                end,
                or_dash(&duration),
                r.refused_httperr.to_string(),
                r.refused_w3c.to_string(),
                or_dash(&r.incident),
            ],
        )
    });
    b.push(Block::Table(Table {
        columns,
        rows: rows.collect(),
    }));
}

fn suspects(b: &mut Vec<Block>, a: &Analysis) {
    b.push(section("Suspects", "suspects"));
    if a.suspects.is_empty() {
        b.push(Block::Para(Style::Normal, "None.".into()));
    }
    for s in &a.suspects {
        let title = Text::plain(format!("{} — {} ", s.id, s.kind.label()))
            .push(Span::Code(s.name.clone()))
            .and(" ")
            .push(Span::Badge(s.confidence));
        let facts = super::suspect_facts(s).into_iter().map(Text::plain);
        let first = if s.evidence.len() < s.evidence_total {
            format!(", first {}", s.evidence.len())
        } else {
            String::new()
        };
        let label = format!("Evidence ({}{first})", s.evidence_total);
        let body = vec![
            Block::Para(Style::Normal, s.reason.clone().into()),
            Block::List(Style::Normal, facts.collect()),
            Block::Labeled(label.into(), vec![evidence_list(&s.evidence)]),
        ];
        b.push(Block::Entry(title, body));
    }
}

fn recommendations(b: &mut Vec<Block>, a: &Analysis) {
    if a.recommendations.is_empty() {
        return;
    }
    b.push(section("What to do next", "next"));
    let steps = a.recommendations.iter().map(|r| Step {
        suspect: r.suspect.clone(),
        action: r.action.clone(),
        commands: r.commands.clone(),
    });
    b.push(Block::Steps(steps.collect()));
}

fn modules(b: &mut Vec<Block>, a: &Analysis) {
    b.push(section("Modules in the dumps", "modules"));
    if a.modules.is_empty() {
        b.push(Block::Para(Style::Muted, "No dump module list.".into()));
        return;
    }
    let legend = "Third-party modules are highlighted; suspects in bold.";
    b.push(Block::Para(Style::Muted, legend.into()));
    use Align::*;
    let columns = vec![
        ("module", Left),
        ("version", Left),
        ("class", Left),
        ("third party", Left),
        ("dumps", Number),
        ("suspect", Left),
        ("path", Left),
    ];
    let rows = a.modules.iter().map(|m| {
        let mark = match (&m.suspect, m.third_party) {
            (Some(_), _) => RowMark::Suspect,
            (None, true) => RowMark::ThirdParty,
            (None, false) => RowMark::None,
        };
        let unloaded = if m.unloaded { " (unloaded)" } else { "" };
        let mut row = cells(
            mark,
            [
                format!("{}{unloaded}", m.name),
                or_dash(&m.version),
                m.class.to_string(),
                (if m.third_party { "yes" } else { "no" }).into(),
                m.dumps.to_string(),
                m.suspect.clone().unwrap_or_default(),
                String::new(),
            ],
        );
        row.cells[6] = Text(vec![Span::Code(m.path.clone())]);
        row
    });
    b.push(Block::Table(Table {
        columns,
        rows: rows.collect(),
    }));
}

fn coverage(b: &mut Vec<Block>, a: &Analysis) {
    b.push(section("Coverage", "coverage"));
    let c = &a.coverage;
    if let Some(sum) = &c.files_summary {
        let text = super::files_summary_text(sum, c.files.len());
        b.push(Block::Para(Style::Normal, text.into()));
    }
    b.push(files_table(a));
    if c.issues_total == 0 {
        return;
    }
    let by_code: Vec<String> = c
        .issues_by_code
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let line = format!(
        "Issues: {} in all ({}).",
        c.issues_total,
        by_code.join(", ")
    );
    b.push(Block::Para(Style::Normal, line.into()));
    use Align::*;
    let columns = vec![
        ("severity", Left),
        ("file", Left),
        ("line", Number),
        ("offset", Number),
        ("code", Left),
        ("message", Left),
    ];
    let rows = c.issues.iter().map(|i| {
        let mut row = cells(
            RowMark::None,
            [
                i.severity.to_string(),
                String::new(),
                i.line.map_or_else(String::new, |l| l.to_string()),
                i.offset.map_or_else(String::new, |l| l.to_string()),
                i.code.clone(),
                i.message.clone(),
            ],
        );
        row.cells[1] = Text(vec![Span::Code(i.path.clone())]);
        row
    });
    b.push(Block::Table(Table {
        columns,
        rows: rows.collect(),
    }));
}

fn files_table(a: &Analysis) -> Block<'static> {
    use Align::*;
    let columns = vec![
        ("file", Left),
        ("kind", Left),
        ("status", Left),
        ("size", Number),
        ("lines", Number),
        ("records", Number),
        ("directives", Number),
        ("blank", Number),
        ("rejected", Number),
        ("rows", Number),
        ("issues", Number),
    ];
    let rows = a.coverage.files.iter().map(|f| {
        let reason = f.reason.as_deref().map(|r| format!(": {r}"));
        let mut row = cells(
            RowMark::None,
            [
                String::new(),
                f.kind.to_string(),
                format!("{}{}", f.status, reason.unwrap_or_default()),
                bytes(f.bytes),
                num(f.counts.lines),
                num(f.counts.records),
                num(f.counts.directives),
                num(f.counts.blank),
                num(f.counts.rejected),
                num(f.rows),
                f.issues.to_string(),
            ],
        );
        row.cells[0] = Text(vec![Span::Code(f.path.clone())]);
        row
    });
    Block::Table(Table {
        columns,
        rows: rows.collect(),
    })
}
