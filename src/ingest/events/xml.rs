//! XML event exports, and the XML extraction shared with `.evtx` records.
//!
//! Exports come in three shapes: `wevtutil qe … /f:xml` writes `<Event>` elements back to back
//! with no root, `Get-WinEvent | % { $_.ToXml() }` one per line, `wevtutil … /e:Events` wraps them
//! in `<Events>`. Rather than wrapping the whole file in a root and parsing it at once (one broken
//! event would lose them all), we cut the text into `<Event>…</Event>` pieces and parse each on its
//! own with roxmltree: a truncated or corrupt event becomes one issue and the rest are read.

use super::{
    Acc, DataItem, EVENT_NS, MAX_DATA_ITEMS, MAX_EVENT_BYTES, MAX_TEXT, RawEvent, Reject, clip,
    parse_system_time,
};
use crate::tables::{IssueRow, Severity};
use memchr::memmem;
use std::borrow::Cow;

/// Reads an XML export.
pub(crate) fn read_document(bytes: &[u8], acc: &mut Acc<'_>) {
    let (text, base) = decode(bytes, acc);
    let text: &str = &text;
    let mut lines = LineCounter::default();
    let mut pos = 0usize;
    // The next `</Event>` end, remembered across events: searching afresh for each `<Event`
    // would be quadratic on hostile input with many starts and no close.
    let mut close_cache: Option<(usize, Option<usize>)> = None;
    while pos < text.len() {
        let Some(start) = find_tag(text, pos, "<Event") else {
            check_gap(text, pos, text.len(), base, &mut lines, acc);
            break;
        };
        check_gap(text, pos, start, base, &mut lines, acc);
        let line = lines.line_at(text, start);
        let at = (base + start) as u64;
        let next_start = find_tag(text, start + 6, "<Event");
        // A self-closing `<Event/>` has nothing in it.
        let limit = next_start.unwrap_or(text.len());
        let tag_end = text[start..limit].find('>').map(|i| start + i);
        if let Some(te) = tag_end
            && text[..te].ends_with('/')
            && next_start.is_none_or(|n| te < n)
        {
            acc.reject(
                Reject::new("incomplete_event", "empty <Event/> element"),
                Some(line),
                Some(at),
            );
            pos = te + 1;
            continue;
        }
        let close = match close_cache {
            // Still ahead of this event (or none left in the file): reuse.
            Some((from, c)) if from <= start + 6 && c.is_none_or(|c| c > start + 6) => c,
            _ => {
                let c = find_tag(text, start + 6, "</Event")
                    .and_then(|c| text[c..].find('>').map(|i| c + i + 1));
                close_cache = Some((start + 6, c));
                c
            }
        };
        let end = match (close, next_start) {
            (Some(c), Some(n)) if c <= n => c,
            (Some(_), Some(n)) | (None, Some(n)) => {
                acc.reject(
                    Reject::new(
                        "truncated_event",
                        "event has no </Event> before the next <Event>; its end is missing",
                    ),
                    Some(line),
                    Some(at),
                );
                pos = n;
                continue;
            }
            (Some(c), None) => c,
            (None, None) => {
                acc.reject(
                    Reject::new(
                        "truncated_event",
                        "file ends inside an event (no </Event>): the export was cut off",
                    ),
                    Some(line),
                    Some(at),
                );
                break;
            }
        };
        let piece = &text[start..end];
        match parse_event(piece) {
            Ok(ev) => acc.event(ev, Some(line), at),
            Err(r) => acc.reject(r, Some(line), Some(at)),
        }
        pos = end;
    }
}

/// Parses one `<Event>…</Event>` element (an export piece or a rendered evtx record).
pub(crate) fn parse_event(piece: &str) -> Result<RawEvent, Reject> {
    if piece.len() > MAX_EVENT_BYTES {
        return Err(Reject::new(
            "event_too_large",
            format!(
                "event is {} bytes, over the {} byte limit",
                piece.len(),
                MAX_EVENT_BYTES
            ),
        ));
    }
    // DTDs stay disallowed (roxmltree's default): no entity expansion from hostile input.
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 100_000,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(piece, opts)
        .map_err(|e| Reject::new("xml_syntax", format!("malformed event XML: {e}")))?;
    extract(doc.root_element())
}

fn extract(root: roxmltree::Node<'_, '_>) -> Result<RawEvent, Reject> {
    if root.tag_name().name() != "Event" {
        return Err(Reject::new(
            "not_an_event",
            format!(
                "root element is <{}>, not <Event>",
                clip(root.tag_name().name(), 100)
            ),
        ));
    }
    let mut ev = RawEvent::default();
    let ns = root.tag_name().namespace().unwrap_or("");
    if ns != EVENT_NS {
        ev.foreign_ns = Some(ns.to_string());
    }
    let system = child(root, "System")
        .ok_or_else(|| Reject::new("incomplete_event", "event has no <System> element"))?;
    let provider = child(system, "Provider");
    ev.provider = provider
        .and_then(|p| {
            p.attribute("Name")
                .or_else(|| p.attribute("EventSourceName"))
        })
        .map(|s| clip(s.trim(), 256))
        .unwrap_or_default();
    if ev.provider.is_empty() {
        return Err(Reject::new(
            "incomplete_event",
            "event has no <Provider Name=…>",
        ));
    }
    ev.source_name = provider
        .and_then(|p| p.attribute("EventSourceName"))
        .map(|s| clip(s, 256));
    let id_text = child(system, "EventID")
        .map(text_of)
        .ok_or_else(|| Reject::new("incomplete_event", "event has no <EventID>"))?;
    ev.event_id = parse_event_id(&id_text).ok_or_else(|| {
        Reject::new(
            "incomplete_event",
            format!("EventID '{}' is not a number", clip(&id_text, 40)),
        )
    })?;
    match time_created(system) {
        Ok(ms) => ev.time = Some(ms),
        Err(problem) => ev.time_problem = Some(problem),
    }
    ev.computer = child(system, "Computer")
        .map(text_of)
        .map(|s| clip(s.trim(), 256))
        .filter(|s| !s.is_empty());
    event_data(root, &mut ev);
    ev.message = child(root, "RenderingInfo")
        .and_then(|r| child(r, "Message"))
        .map(text_of)
        .map(|s| clip(&s, MAX_TEXT * 4))
        .filter(|s| !s.trim().is_empty());
    Ok(ev)
}

/// `<TimeCreated SystemTime=…>` as UTC ms, or why the row has no time (code, message).
fn time_created(system: roxmltree::Node<'_, '_>) -> Result<i64, (&'static str, String)> {
    let t = child(system, "TimeCreated").ok_or((
        "no_timestamp",
        "no <TimeCreated>; row kept without a time".to_string(),
    ))?;
    let s = t.attribute("SystemTime").ok_or((
        "no_timestamp",
        "<TimeCreated> has no SystemTime; row kept without a time".to_string(),
    ))?;
    parse_system_time(s).ok_or_else(|| {
        (
            "bad_timestamp",
            format!(
                "SystemTime '{}' is not a date; row kept without a time",
                clip(s, 60)
            ),
        )
    })
}

/// The event's data items: `<EventData>` (`<Data Name=…>` and `<Binary>`), or the named
/// leaves of a manifest event's `<UserData>` template.
fn event_data(root: roxmltree::Node<'_, '_>, ev: &mut RawEvent) {
    if let Some(data) = child(root, "EventData") {
        for d in data.children().filter(|n| n.is_element()) {
            match d.tag_name().name() {
                "Data" if ev.data.len() < MAX_DATA_ITEMS => ev.data.push(DataItem {
                    name: d.attribute("Name").map(|s| clip(s, 256)),
                    value: clip(&text_of(d), MAX_TEXT),
                }),
                "Binary" => ev.binary = Some(clip(text_of(d).trim(), MAX_TEXT)),
                _ => {}
            }
        }
    } else if let Some(user) = child(root, "UserData") {
        // Manifest events with a UserData template: one wrapper element, then named leaves.
        if let Some(inner) = user.children().find(|n| n.is_element()) {
            for d in inner
                .children()
                .filter(|n| n.is_element())
                .take(MAX_DATA_ITEMS)
            {
                ev.data.push(DataItem {
                    name: Some(clip(d.tag_name().name(), 256)),
                    value: clip(&text_of(d), MAX_TEXT),
                });
            }
        }
    }
}

/// `EventID` text → the event number. Classic events may be exported with the full 32-bit ID
/// (qualifiers in the high word); the event number is the low 16 bits.
pub(crate) fn parse_event_id(s: &str) -> Option<u32> {
    let v: u64 = s.trim().parse().ok()?;
    Some((v & 0xFFFF) as u32)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// All text under `n` (a `Data` may hold text split by comments or CDATA).
fn text_of(n: roxmltree::Node<'_, '_>) -> String {
    let mut s = String::new();
    for t in n.descendants().filter(|d| d.is_text()) {
        if let Some(v) = t.text() {
            if s.len() + v.len() > MAX_EVENT_BYTES {
                break;
            }
            s.push_str(v);
        }
    }
    s
}

/// The next `<tag` at or after `from` that is the whole tag name (not `<EventData` for `<Event`).
fn find_tag(text: &str, from: usize, tag: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let finder = memmem::Finder::new(tag.as_bytes());
    let mut at = from;
    while at < bytes.len() {
        let i = at + finder.find(&bytes[at..])?;
        match bytes.get(i + tag.len()) {
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') | None => return Some(i),
            _ => at = i + 1,
        }
    }
    None
}

/// Text between events must be only the wrapper: whitespace, `<?xml?>`, comments, `<Events>`,
/// `</Events>`. Anything else (a cut-off tag, garbage, another format) is one rejected unit.
fn check_gap(
    text: &str,
    from: usize,
    to: usize,
    base: usize,
    lines: &mut LineCounter,
    acc: &mut Acc<'_>,
) {
    let gap = &text[from..to];
    let mut rest = gap;
    let mut skipped = 0usize;
    loop {
        let trimmed = rest.trim_start();
        skipped += rest.len() - trimmed.len();
        rest = trimmed;
        if rest.is_empty() {
            return;
        }
        let end = if rest.starts_with("<?") {
            rest.find("?>").map(|i| i + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else if is_wrapper_tag(rest) {
            rest.find('>').map(|i| i + 1)
        } else {
            None
        };
        match end {
            Some(e) => {
                skipped += e;
                rest = &rest[e..];
            }
            None => break,
        }
    }
    let at = from + skipped;
    let line = lines.line_at(text, at);
    let preview: String = rest.chars().take(40).collect();
    acc.reject(
        Reject::new(
            "not_an_event",
            format!(
                "{} bytes of non-event text: {:?}",
                rest.trim_end().len(),
                preview
            ),
        ),
        Some(line),
        Some((base + at) as u64),
    );
}

fn is_wrapper_tag(s: &str) -> bool {
    for t in ["<Events", "</Events"] {
        if let Some(after) = s.strip_prefix(t)
            && matches!(
                after.as_bytes().first(),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
            )
        {
            return true;
        }
    }
    false
}

/// Decodes the file to UTF-8. Returns the text and the number of bytes dropped at the start (a
/// UTF-8 BOM), so offsets stay file offsets for UTF-8 input.
fn decode<'b>(bytes: &'b [u8], acc: &mut Acc<'_>) -> (Cow<'b, str>, usize) {
    // Windows PowerShell 5.1's `>` writes UTF-16LE with a BOM.
    let utf16 = if bytes.starts_with(&[0xFF, 0xFE]) {
        Some(encoding_rs::UTF_16LE)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    };
    if let Some(enc) = utf16 {
        let (s, _, bad) = enc.decode(bytes);
        acc.issue(IssueRow::new(
            acc.file(),
            Severity::Warning,
            "transcoded",
            format!(
                "{} export transcoded to UTF-8{}; offsets refer to the UTF-8 text",
                enc.name(),
                if bad {
                    " (some bytes were invalid and replaced)"
                } else {
                    ""
                }
            ),
        ));
        return (Cow::Owned(s.into_owned()), 0);
    }
    let (body, base) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(b) => (b, 3),
        None => (bytes, 0),
    };
    match std::str::from_utf8(body) {
        Ok(s) => (Cow::Borrowed(s), base),
        Err(e) => {
            acc.issue(
                IssueRow::new(
                    acc.file(),
                    Severity::Warning,
                    "bad_encoding",
                    "export is not valid UTF-8; invalid bytes replaced with U+FFFD (offsets after the first one may shift)",
                )
                .at(None, Some((base + e.valid_up_to()) as u64)),
            );
            (Cow::Owned(String::from_utf8_lossy(body).into_owned()), base)
        }
    }
}

/// 1-based line numbers for increasing offsets without rescanning from the start.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, at: usize) -> u64 {
        if at < self.pos {
            // Offsets only grow in practice; recount from the start if not.
            self.pos = 0;
            self.line = 0;
        }
        self.line += memchr::memchr_iter(b'\n', &text.as_bytes()[self.pos..at]).count() as u64;
        self.pos = at;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAS: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-WAS" EventSourceName="WAS"/><EventID Qualifiers="32768">5009</EventID><TimeCreated SystemTime="2024-03-05T10:15:30.1234567Z"/><Computer>WEB01</Computer></System><EventData><Data Name="AppPoolID">Shop</Data><Data Name="ProcessID">4242</Data><Data Name="param3">c0000005</Data></EventData></Event>"#;

    #[test]
    fn extracts_system_and_data() {
        let ev = parse_event(WAS).unwrap();
        assert_eq!(ev.provider, "Microsoft-Windows-WAS");
        assert_eq!(ev.source_name.as_deref(), Some("WAS"));
        assert_eq!(ev.event_id, 5009);
        assert_eq!(ev.time, Some(1_709_633_730_123));
        assert_eq!(ev.computer.as_deref(), Some("WEB01"));
        assert_eq!(ev.data.len(), 3);
        assert_eq!(ev.data[0].name.as_deref(), Some("AppPoolID"));
        assert_eq!(ev.data[2].value, "c0000005");
        assert_eq!(ev.foreign_ns, None);
    }

    #[test]
    fn full_32_bit_event_id_is_masked() {
        assert_eq!(parse_event_id("3221230473"), Some(0x1389));
        assert_eq!(parse_event_id(" 1000 "), Some(1000));
        assert_eq!(parse_event_id("x"), None);
    }

    #[test]
    fn find_tag_skips_longer_names() {
        let t = "<Events><EventData/><Event >";
        assert_eq!(find_tag(t, 0, "<Event"), Some(20));
        assert_eq!(find_tag("</Events>", 0, "</Event"), None);
    }

    #[test]
    fn dtd_is_rejected() {
        let e =
            parse_event("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><Event><System/></Event>").unwrap_err();
        assert_eq!(e.code, "xml_syntax");
    }
}
