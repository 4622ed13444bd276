//! Failed Request Tracing (FREB) files, `fr<6 digits>.xml`: one failed or slow request each
//! (`notes/outages.md` §6). One row of `traces` per file.
//!
//! - The root `<failedRequest>` carries the request: url, siteId, appPoolId, processId, verb,
//!   activityId, failureReason, statusCode (`500.19` style), triggerStatusCode, timeTaken.
//! - Each `<Event>` is named by its `RenderingInfo/Opcode` text; `TimeCreated/@SystemTime` is UTC.
//! - The module that failed the request: the last `MODULE_SET_RESPONSE_ERROR_STATUS` (its
//!   ModuleName, Notification and ErrorCode); the module still running: the last
//!   `NOTIFY_MODULE_START` without its `NOTIFY_MODULE_END` (same module and notification).
//! - A trace cut at `maxLogFileSizeKB` (or a copy cut short) is not well-formed: it is read up
//!   to its last whole `</Event>` and flagged `truncated`, with a warning.

use super::events::parse_system_time;
use crate::tables::{FileCtx, IssueRow, Parsed, Severity, TraceRow};

/// Text kept of any one value.
const MAX_VALUE: usize = 2048;

/// The value cut at [`MAX_VALUE`] characters, its runs of white space (line breaks inside
/// rendered descriptions) made one space.
fn clip(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_VALUE) {
        Some((i, _)) => one_line[..i].to_string(),
        None => one_line,
    }
}

/// IIS request notifications by their bit (`RQ_*`), for traces without `RenderingInfo`.
fn notification_name(n: &str) -> Option<&'static str> {
    Some(match n.trim().parse::<u64>().ok()? {
        0x1 => "BEGIN_REQUEST",
        0x2 => "AUTHENTICATE_REQUEST",
        0x4 => "AUTHORIZE_REQUEST",
        0x8 => "RESOLVE_REQUEST_CACHE",
        0x10 => "MAP_REQUEST_HANDLER",
        0x20 => "ACQUIRE_REQUEST_STATE",
        0x40 => "PRE_EXECUTE_REQUEST_HANDLER",
        0x80 => "EXECUTE_REQUEST_HANDLER",
        0x100 => "RELEASE_REQUEST_STATE",
        0x200 => "UPDATE_REQUEST_CACHE",
        0x400 => "LOG_REQUEST",
        0x800 => "END_REQUEST",
        0x2000_0000 => "SEND_RESPONSE",
        _ => return None,
    })
}

/// One event's name and fields.
#[derive(Default)]
struct Ev {
    opcode: String,
    time: Option<i64>,
    computer: Option<String>,
    module: Option<String>,
    notification: Option<String>,
    error_code: Option<String>,
    error_text: Option<String>,
    status: Option<String>,
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.tag_name().name() == name)
}

fn event(e: roxmltree::Node<'_, '_>) -> Ev {
    let mut ev = Ev::default();
    if let Some(sys) = child(e, "System") {
        ev.time = child(sys, "TimeCreated")
            .and_then(|t| t.attribute("SystemTime"))
            .and_then(parse_system_time);
        ev.computer = child(sys, "Computer")
            .and_then(|c| c.text())
            .map(|s| clip(s.trim()));
    }
    let mut notification_raw = None;
    if let Some(data) = child(e, "EventData") {
        for d in data.children().filter(|c| c.tag_name().name() == "Data") {
            let v = d.text().unwrap_or("").trim();
            match d.attribute("Name").unwrap_or("") {
                "ModuleName" => ev.module = Some(clip(v)),
                "Notification" => notification_raw = Some(v.to_string()),
                "ErrorCode" => {
                    ev.error_code = v.parse::<u32>().ok().map(|c| format!("0x{c:08x}"));
                }
                "HttpStatus" => ev.status = Some(clip(v)),
                _ => {}
            }
        }
    }
    if let Some(ri) = child(e, "RenderingInfo") {
        ev.opcode = child(ri, "Opcode")
            .and_then(|o| o.text())
            .unwrap_or("")
            .trim()
            .to_string();
        for d in ri
            .children()
            .filter(|c| c.tag_name().name() == "Description")
        {
            let v = d.text().unwrap_or("").trim();
            match d.attribute("Data") {
                Some("Notification") => ev.notification = Some(clip(v)),
                Some("ErrorCode") => ev.error_text = Some(clip(v)),
                _ => {}
            }
        }
    }
    if ev.notification.is_none() {
        ev.notification = notification_raw
            .as_deref()
            .map(|n| notification_name(n).map_or_else(|| clip(n), str::to_string));
    }
    ev
}

/// The text as XML: whole, or cut after its last `</Event>` and closed (a truncated trace).
fn document(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if text.trim_end().ends_with("</failedRequest>") {
        return (text.into(), false);
    }
    match text.rfind("</Event>") {
        Some(i) => (format!("{}\n</failedRequest>", &text[..i + 8]).into(), true),
        None => (text.into(), true),
    }
}

fn root_fields(root: roxmltree::Node<'_, '_>, row: &mut TraceRow) {
    let a = |n: &str| {
        root.attribute(n)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(clip)
    };
    row.url = a("url");
    row.site = a("siteId").map(|s| format!("W3SVC{s}"));
    row.app_pool = a("appPoolId");
    row.pid = a("processId").and_then(|p| p.parse().ok());
    row.verb = a("verb");
    row.activity_id = a("activityId");
    row.failure_reason = a("failureReason");
    if let Some(sc) = a("statusCode") {
        let (st, sub) = sc.split_once('.').unwrap_or((&sc, ""));
        row.status = st.parse().ok();
        row.substatus = sub.parse().ok();
    }
    row.trigger_status = a("triggerStatusCode");
    row.time_taken_ms = a("timeTaken").and_then(|t| t.parse().ok());
}

/// The events' facts: times, the module that set the error, the module still running.
fn events_facts(root: roxmltree::Node<'_, '_>, row: &mut TraceRow) -> bool {
    let mut running: Vec<(String, String)> = Vec::new();
    let mut ended = false;
    for e in root.children().filter(|c| c.tag_name().name() == "Event") {
        let ev = event(e);
        row.events += 1;
        if let Some(t) = ev.time {
            row.start = Some(row.start.map_or(t, |s: i64| s.min(t)));
            row.end = Some(row.end.map_or(t, |s: i64| s.max(t)));
        }
        if row.server.is_none() {
            row.server = ev.computer.clone();
        }
        let key = || {
            (
                ev.module.clone().unwrap_or_default(),
                ev.notification.clone().unwrap_or_default(),
            )
        };
        match ev.opcode.as_str() {
            "MODULE_SET_RESPONSE_ERROR_STATUS" => {
                row.error_module = ev.module.clone();
                row.error_notification = ev.notification.clone();
                row.error_code = ev.error_code.clone();
                row.error_text = ev.error_text.clone();
                if row.status.is_none() {
                    row.status = ev.status.as_deref().and_then(|s| s.parse().ok());
                }
            }
            "NOTIFY_MODULE_START" => running.push(key()),
            "NOTIFY_MODULE_END" => {
                let k = key();
                if let Some(i) = running.iter().rposition(|r| *r == k) {
                    running.remove(i);
                }
            }
            "GENERAL_REQUEST_END" => ended = true,
            _ => {}
        }
    }
    if let Some((m, n)) = running.pop() {
        row.running_module = Some(m).filter(|m| !m.is_empty());
        row.running_notification = Some(n).filter(|n| !n.is_empty());
    }
    ended
}

/// Parses one FREB file.
pub fn parse(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let text = String::from_utf8_lossy(bytes);
    if matches!(text, std::borrow::Cow::Owned(_)) {
        p.issues.push(IssueRow::new(
            ctx.id,
            Severity::Warning,
            "bad_encoding",
            "bytes that are not UTF-8 were replaced",
        ));
    }
    let (doc_text, cut) = document(&text);
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 2_000_000,
        ..Default::default()
    };
    let doc = match roxmltree::Document::parse_with_options(&doc_text, opts) {
        Ok(d) => d,
        Err(e) => {
            p.counts.lines = 1;
            p.counts.rejected = 1;
            p.issues.push(IssueRow::new(
                ctx.id,
                Severity::Error,
                "xml_syntax",
                format!("not a readable trace: {e}"),
            ));
            return p;
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "failedRequest" {
        p.counts.lines = 1;
        p.counts.rejected = 1;
        p.issues.push(IssueRow::new(
            ctx.id,
            Severity::Error,
            "not_a_trace",
            format!(
                "root element <{}>, not <failedRequest>",
                clip(root.tag_name().name())
            ),
        ));
        return p;
    }
    let mut row = TraceRow {
        file: ctx.id,
        offset: root.range().start as u64,
        ..Default::default()
    };
    root_fields(root, &mut row);
    let ended = events_facts(root, &mut row);
    row.truncated = cut || !ended;
    if cut {
        p.issues.push(IssueRow::new(ctx.id, Severity::Warning, "truncated_trace", format!("the trace is cut off (maxLogFileSizeKB, or a copy cut short): read up to its last whole event ({} events)", row.events)));
    }
    p.server = row.server.clone();
    if row.server.is_none() {
        row.server = ctx.server.clone();
    }
    p.site = row.site.clone();
    p.counts.lines = 1;
    p.counts.records = 1;
    p.traces.push(row);
    p
}
