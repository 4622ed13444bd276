//! Windows event exports → `crashes` rows.
//!
//! Three inputs, one extraction:
//! - `.evtx` files, read with the `evtx` crate; every record is rendered to XML and goes through
//!   the same XML extraction as an export (`binary`);
//! - XML exports (`xml`): `wevtutil qe System /f:xml` (a bare sequence of `<Event>` elements,
//!   no single root), `Get-WinEvent | % { $_.ToXml() }` (one event per line), `<Events>` wrapped;
//! - evtx_dump-style JSON lines (`json`).
//!
//! Each reader turns an event into a `RawEvent`; `map` decides whether it is crash evidence
//! (WAS 5002/5009/5010/5011/5013, IIS 6 W3SVC 1002/1009/1010/1011/1013, Application Error 1000,
//! Application Hang 1002, WER 1001, .NET Runtime 1026/1023, ASP.NET 1309, the worker-process
//! "unhealthy" reports) and builds the `CrashRow`.
//!
//! # Accounting (`Parsed::counts`)
//! An event is this format's "line": `lines` = units read, where a unit is an event (well-formed
//! or not), a run of non-event bytes between events in an XML file, or a text line of a JSON-lines
//! file. Then:
//! - `records`: events that produced a crash row;
//! - `directives`: well-formed events that are not crash evidence (5186 idle shutdowns, service
//!   control manager chatter …): read, valid, deliberately not rows;
//! - `rejected`: units we could not read (bad XML, truncated event, an event without provider or
//!   ID, a corrupt evtx record or chunk, non-event bytes, bad JSON), each with an `issues` row;
//! - `blank`: empty lines of a JSON-lines file.
//!
//! so `records + directives + rejected + blank == lines` always holds.
//!
//! # Offsets
//! `CrashRow::offset` is the byte offset of the event's `<Event` tag (XML) or line start (JSON
//! lines) in the file, and the event record number for `.evtx`. A UTF-16 export is transcoded to
//! UTF-8 first; its offsets then refer to the UTF-8 text (a warning says so).
//!
//! Event text is attacker-controlled (a request URL lands in ASP.NET 1309, an exception message
//! anywhere): every size is capped and nothing here panics on input.

mod binary;
mod json;
mod map;
mod xml;

use crate::tables::{ArtifactKind, EvidenceSource, FileCtx, IssueRow, Millis, Parsed, Severity};

/// The largest single event we accept (XML text or JSON line). An evtx record cannot exceed a
/// 64 KiB chunk; exported XML with a rendered message and a 1309 stack is a few KiB. Larger is
/// hostile or not an event, and capping it bounds roxmltree's memory.
pub(crate) const MAX_EVENT_BYTES: usize = 512 * 1024;

/// At most this many `Data` items per event are kept (ASP.NET 1309 has ~30).
pub(crate) const MAX_DATA_ITEMS: usize = 256;

/// Longest text kept in a `detail` or other free-text field, in bytes.
pub(crate) const MAX_TEXT: usize = 4096;

/// The event schema namespace every Windows event export uses.
pub(crate) const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// One `EventData/Data` (or `UserData` leaf) item.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DataItem {
    /// `Name` attribute; `None` for classic events' unnamed items.
    pub name: Option<String>,
    pub value: String,
}

/// What every reader extracts from one event, whatever its encoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawEvent {
    /// `Provider@Name` (`Microsoft-Windows-WAS`, `Application Error` …).
    pub provider: String,
    /// `Provider@EventSourceName` (`WAS` for `Microsoft-Windows-WAS`), when present.
    pub source_name: Option<String>,
    /// Low 16 bits of `EventID` (`Qualifiers` dropped).
    pub event_id: u32,
    /// `TimeCreated@SystemTime`, UTC ms; `None` when absent or unreadable (see `time_problem`).
    pub time: Option<Millis>,
    /// Why `time` is `None`: (`code`, message).
    pub time_problem: Option<(&'static str, String)>,
    pub computer: Option<String>,
    pub data: Vec<DataItem>,
    /// `EventData/Binary` hex text (WAS 5011 puts the error number there).
    pub binary: Option<String>,
    /// `RenderingInfo/Message`, when the export carries it.
    pub message: Option<String>,
    /// The namespace of the `<Event>` element, when it is not [`EVENT_NS`].
    pub foreign_ns: Option<String>,
}

/// Why an event could not be read: an `issues` code and the specifics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reject {
    pub code: &'static str,
    pub message: String,
}

impl Reject {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            code,
            message: message.into(),
        }
    }
}

/// Reads one file of events.
///
/// `kind` says which reader to use (decided by `discover` from the content). The result holds one
/// crash row per relevant event, an issue per problem, and balanced counts (see the module docs).
pub fn parse(ctx: &FileCtx, kind: ArtifactKind, bytes: &[u8]) -> Parsed {
    let mut acc = Acc::new(ctx);
    match kind {
        ArtifactKind::Evtx => binary::read(bytes, &mut acc),
        ArtifactKind::EventXml => xml::read_document(bytes, &mut acc),
        ArtifactKind::EventJson => json::read_lines(bytes, &mut acc),
        other => acc.issue(IssueRow::new(
            ctx.id,
            Severity::Error,
            "unsupported_format",
            format!("the event reader was given a {} file", other.name()),
        )),
    }
    acc.finish()
}

/// Collects rows, issues and counts for one file.
pub(crate) struct Acc<'a> {
    ctx: &'a FileCtx,
    parsed: Parsed,
    /// Distinct `Computer` values seen (at most 2 kept: we only need to know if there is one).
    computers: Vec<String>,
    /// Events whose `<Event>` namespace was not the event schema: (count, first offset, namespace).
    foreign_ns: Option<(u64, u64, String)>,
}

impl<'a> Acc<'a> {
    fn new(ctx: &'a FileCtx) -> Self {
        Acc {
            ctx,
            parsed: Parsed::default(),
            computers: Vec::new(),
            foreign_ns: None,
        }
    }

    pub(crate) fn file(&self) -> crate::tables::FileId {
        self.ctx.id
    }

    /// An issue that is not a unit of its own (e.g. a file-level warning).
    pub(crate) fn issue(&mut self, issue: IssueRow) {
        self.parsed.issues.push(issue);
    }

    /// A unit we could not read: counted as rejected, with an issue.
    pub(crate) fn reject(&mut self, r: Reject, line: Option<u64>, offset: Option<u64>) {
        self.parsed.counts.lines += 1;
        self.parsed.counts.rejected += 1;
        self.parsed
            .issues
            .push(IssueRow::new(self.ctx.id, Severity::Error, r.code, r.message).at(line, offset));
    }

    /// An empty line of a JSON-lines file.
    pub(crate) fn blank(&mut self) {
        self.parsed.counts.lines += 1;
        self.parsed.counts.blank += 1;
    }

    /// A well-formed event at `offset` (byte offset or evtx record number).
    pub(crate) fn event(&mut self, ev: RawEvent, line: Option<u64>, offset: u64) {
        self.parsed.counts.lines += 1;
        let issue_offset = if line.is_some() { Some(offset) } else { None };
        if let Some(c) = &ev.computer
            && self.computers.len() < 2
            && !self.computers.iter().any(|k| k.eq_ignore_ascii_case(c))
        {
            self.computers.push(c.clone());
        }
        if let Some(ns) = &ev.foreign_ns {
            match &mut self.foreign_ns {
                Some((n, _, _)) => *n += 1,
                None => self.foreign_ns = Some((1, offset, ns.clone())),
            }
        }
        let mapped = map::map(&ev);
        // A time problem matters only for a row that is kept; an event that is not used because
        // its provider's name could not be decoded is said to be dropped, and why.
        let where_ = if line.is_some() {
            String::new()
        } else {
            format!(" (record {offset})")
        };
        let problem = match (&ev.time_problem, &mapped.row) {
            (Some((code, msg)), Some(_)) => Some((*code, msg.clone())),
            (_, None) if ev.provider.contains('\u{fffd}') => Some((
                "undecodable_text",
                "the provider name has undecodable characters (a broken UTF-16 surrogate): the event is not recognised and not used".to_string(),
            )),
            _ => None,
        };
        if let Some((code, msg)) = problem {
            self.parsed.issues.push(
                IssueRow::new(
                    self.ctx.id,
                    Severity::Warning,
                    code,
                    format!("{} event {}{}: {}", ev.provider, ev.event_id, where_, msg),
                )
                .at(line, issue_offset),
            );
        }
        for (code, msg) in mapped.warnings {
            self.parsed.issues.push(
                IssueRow::new(
                    self.ctx.id,
                    Severity::Warning,
                    code,
                    format!("{} event {}: {}", ev.provider, ev.event_id, msg),
                )
                .at(line, issue_offset),
            );
        }
        match mapped.row {
            Some(mut row) => {
                row.ts = ev.time;
                row.server = ev.computer.clone().or_else(|| self.ctx.server.clone());
                row.source = Some(EvidenceSource::Event);
                row.provider = Some(ev.provider.clone());
                row.event_id = Some(ev.event_id);
                row.file = self.ctx.id;
                row.offset = offset;
                self.parsed.counts.records += 1;
                self.parsed.crashes.push(row);
            }
            None => self.parsed.counts.directives += 1,
        }
    }

    fn finish(mut self) -> Parsed {
        if let Some((n, first, ns)) = self.foreign_ns.take() {
            self.parsed.issues.push(
                IssueRow::new(
                    self.ctx.id,
                    Severity::Warning,
                    "event_namespace",
                    format!(
                        "{n} event(s) not in the event schema namespace (found {}); read by element names anyway",
                        if ns.is_empty() { "no namespace".to_string() } else { format!("'{}'", clip(&ns, 200)) }
                    ),
                )
                .at(None, Some(first)),
            );
        }
        if self.computers.len() == 1 {
            self.parsed.server = self.computers.pop();
        }
        if self.parsed.counts.lines == 0 {
            self.parsed.issues.push(IssueRow::new(
                self.ctx.id,
                Severity::Error,
                "no_events",
                "no event found in the file",
            ));
        }
        self.parsed
    }
}

/// `s` cut to at most `max` bytes on a char boundary, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `TimeCreated@SystemTime` → UTC ms. Windows writes `2024-03-05T10:15:30.1234567Z` (7 fraction
/// digits; evtx_dump writes 6); a value without a zone is taken as UTC, which is what the
/// attribute always holds.
pub(crate) fn parse_system_time(s: &str) -> Option<Millis> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// Fills the row fields common to every event (used by tests of [`map`] too).
#[cfg(test)]
pub(crate) fn row_for(ev: &RawEvent) -> Option<crate::tables::CrashRow> {
    map::map(ev).row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_time_forms() {
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30.1234567Z"),
            Some(1_709_633_730_123)
        );
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30.123456Z"),
            Some(1_709_633_730_123)
        );
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30Z"),
            Some(1_709_633_730_000)
        );
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30.5"),
            Some(1_709_633_730_500)
        );
        assert_eq!(
            parse_system_time("2024-03-05T11:15:30+01:00"),
            Some(1_709_633_730_000)
        );
        assert_eq!(parse_system_time("yesterday"), None);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("ééé", 3), "é…");
    }

    #[test]
    fn wrong_kind_is_an_issue_not_a_panic() {
        let p = parse(&FileCtx::default(), ArtifactKind::W3c, b"#Fields: date");
        assert!(p.issues.iter().any(|i| i.code == "unsupported_format"));
        assert!(p.counts.balanced());
    }

    #[test]
    fn row_for_irrelevant_event_is_none() {
        let ev = RawEvent {
            provider: "Service Control Manager".into(),
            event_id: 7036,
            ..Default::default()
        };
        assert!(row_for(&ev).is_none());
    }
}
