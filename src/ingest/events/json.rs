//! evtx_dump-style JSON lines (`evtx_dump -o jsonl`): one `{"Event":{…}}` object per line.
//!
//! The evtx crate's JSON: attributes under `#attributes` (or, with `--separate-json-attributes`,
//! in a sibling `<Name>_attributes` object), element text under `#text`; `EventID` is a number, or
//! `{"#attributes":{"Qualifiers":…},"#text":…}`; named `Data` items become keys of `EventData`,
//! unnamed ones an array (`"Data":{"#text":["a","b"]}` or `"Data":["a","b"]`).

use super::{
    Acc, DataItem, EVENT_NS, MAX_DATA_ITEMS, MAX_EVENT_BYTES, MAX_TEXT, RawEvent, Reject, clip,
    parse_system_time,
};
use serde_json::Value;

/// Reads a JSON-lines file: each text line is one unit (see the module docs of `events`).
pub(crate) fn read_lines(bytes: &[u8], acc: &mut Acc<'_>) {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let base = (bytes.len() - body.len()) as u64;
    let mut offset = 0usize;
    let mut line_no = 0u64;
    while offset < body.len() {
        let end = memchr::memchr(b'\n', &body[offset..]).map_or(body.len(), |i| offset + i);
        line_no += 1;
        let raw = &body[offset..end];
        let at = base + offset as u64;
        offset = end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            acc.blank();
            continue;
        }
        if line.len() > MAX_EVENT_BYTES {
            acc.reject(
                Reject::new(
                    "event_too_large",
                    format!(
                        "line is {} bytes, over the {} byte limit",
                        line.len(),
                        MAX_EVENT_BYTES
                    ),
                ),
                Some(line_no),
                Some(at),
            );
            continue;
        }
        match parse_line(line) {
            Ok(ev) => acc.event(ev, Some(line_no), at),
            Err(r) => acc.reject(r, Some(line_no), Some(at)),
        }
    }
}

/// One JSON line → a [`RawEvent`].
pub(crate) fn parse_line(line: &[u8]) -> Result<RawEvent, Reject> {
    // serde_json limits nesting depth (128), so hostile nesting cannot overflow the stack.
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| Reject::new("json_syntax", format!("not a JSON object: {e}")))?;
    let ev = match v.get("Event") {
        Some(e) => e,
        // A bare event object (`{"System":…,"EventData":…}`) is accepted too.
        None if v.get("System").is_some() => &v,
        None => {
            return Err(Reject::new(
                "not_an_event",
                "JSON object has no \"Event\" key",
            ));
        }
    };
    extract(ev)
}

fn extract(e: &Value) -> Result<RawEvent, Reject> {
    let mut ev = RawEvent::default();
    let ns = attr(e, "Event", "xmlns").or_else(|| {
        e.get("#attributes")
            .and_then(|a| a.get("xmlns"))
            .and_then(Value::as_str)
    });
    if let Some(ns) = ns
        && ns != EVENT_NS
    {
        ev.foreign_ns = Some(ns.to_string());
    }
    let system = e
        .get("System")
        .filter(|s| s.is_object())
        .ok_or_else(|| Reject::new("incomplete_event", "event has no System object"))?;
    ev.provider = attr(system, "Provider", "Name")
        .or_else(|| attr(system, "Provider", "EventSourceName"))
        .map(|s| clip(s.trim(), 256))
        .unwrap_or_default();
    if ev.provider.is_empty() {
        return Err(Reject::new(
            "incomplete_event",
            "event has no Provider Name",
        ));
    }
    ev.source_name = attr(system, "Provider", "EventSourceName").map(|s| clip(s, 256));
    let id = system
        .get("EventID")
        .ok_or_else(|| Reject::new("incomplete_event", "event has no EventID"))?;
    let id_text = scalar(id.get("#text").unwrap_or(id));
    ev.event_id = super::xml::parse_event_id(&id_text).ok_or_else(|| {
        Reject::new(
            "incomplete_event",
            format!("EventID '{}' is not a number", clip(&id_text, 40)),
        )
    })?;
    match attr(system, "TimeCreated", "SystemTime") {
        None => {
            ev.time_problem = Some((
                "no_timestamp",
                "no TimeCreated SystemTime; row kept without a time".into(),
            ))
        }
        Some(s) => match parse_system_time(s) {
            Some(ms) => ev.time = Some(ms),
            None => {
                ev.time_problem = Some((
                    "bad_timestamp",
                    format!(
                        "SystemTime '{}' is not a date; row kept without a time",
                        clip(s, 60)
                    ),
                ))
            }
        },
    }
    ev.computer = system
        .get("Computer")
        .map(scalar)
        .map(|s| clip(s.trim(), 256))
        .filter(|s| !s.is_empty());
    match e.get("EventData") {
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match k.as_str() {
                    "#attributes" => {}
                    "Binary" => ev.binary = Some(clip(scalar(v).trim(), MAX_TEXT)),
                    "Data" => push_unnamed(&mut ev.data, v.get("#text").unwrap_or(v)),
                    _ => push(&mut ev.data, Some(k), scalar(v)),
                }
            }
        }
        // `EventData: "text"` / an array: unnamed items.
        Some(v @ (Value::String(_) | Value::Array(_))) => push_unnamed(&mut ev.data, v),
        _ => {
            if let Some(Value::Object(user)) = e.get("UserData")
                && let Some((_, Value::Object(inner))) =
                    user.iter().find(|(k, _)| !k.ends_with("attributes"))
            {
                for (k, v) in inner {
                    if !k.starts_with('#') && !k.ends_with("_attributes") {
                        push(&mut ev.data, Some(k), scalar(v));
                    }
                }
            }
        }
    }
    ev.message = e
        .get("RenderingInfo")
        .and_then(|r| r.get("Message"))
        .map(scalar)
        .map(|s| clip(&s, MAX_TEXT * 4))
        .filter(|s| !s.trim().is_empty());
    Ok(ev)
}

/// `obj[elem]["#attributes"][name]`, or `obj[elem + "_attributes"][name]` (separated attributes).
fn attr<'v>(obj: &'v Value, elem: &str, name: &str) -> Option<&'v str> {
    obj.get(elem)
        .and_then(|e| e.get("#attributes"))
        .and_then(|a| a.get(name))
        .or_else(|| {
            obj.get(format!("{elem}_attributes"))
                .and_then(|a| a.get(name))
        })
        .and_then(Value::as_str)
}

fn push(data: &mut Vec<DataItem>, name: Option<&str>, value: String) {
    if data.len() < MAX_DATA_ITEMS {
        data.push(DataItem {
            name: name.map(|n| clip(n, 256)),
            value: clip(&value, MAX_TEXT),
        });
    }
}

fn push_unnamed(data: &mut Vec<DataItem>, v: &Value) {
    match v {
        Value::Array(items) => {
            for i in items {
                push(data, None, scalar(i));
            }
        }
        other => push(data, None, scalar(other)),
    }
}

/// A JSON value as the text the XML would have held.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => o.get("#text").map(scalar).unwrap_or_default(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_and_named_data() {
        let l = br##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-WAS","EventSourceName":"WAS"}},"EventID":{"#attributes":{"Qualifiers":32768},"#text":5009},"TimeCreated":{"#attributes":{"SystemTime":"2024-03-05T10:15:30.123456Z"}},"Computer":"WEB01"},"EventData":{"AppPoolID":"Shop","ProcessID":"4242","param3":"c0000005"}}}"##;
        let ev = parse_line(l).unwrap();
        assert_eq!(ev.event_id, 5009);
        assert_eq!(ev.provider, "Microsoft-Windows-WAS");
        assert_eq!(ev.time, Some(1_709_633_730_123));
        assert_eq!(
            ev.data[1],
            DataItem {
                name: Some("ProcessID".into()),
                value: "4242".into()
            }
        );
        assert_eq!(ev.foreign_ns, None);
    }

    #[test]
    fn separated_attributes_and_unnamed_data() {
        let l = br##"{"Event":{"System":{"Provider_attributes":{"Name":"Application Error"},"EventID":1000,"EventID_attributes":{"Qualifiers":0},"TimeCreated_attributes":{"SystemTime":"2024-03-05T10:15:30Z"}},"EventData":{"Data":{"#text":["w3wp.exe","10.0.14393.0"]},"Binary":null}}}"##;
        let ev = parse_line(l).unwrap();
        assert_eq!(ev.provider, "Application Error");
        assert_eq!(ev.event_id, 1000);
        assert_eq!(ev.data.len(), 2);
        assert_eq!(
            ev.data[0],
            DataItem {
                name: None,
                value: "w3wp.exe".into()
            }
        );
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse_line(b"{oops").unwrap_err().code, "json_syntax");
        assert_eq!(parse_line(br#"{"a":1}"#).unwrap_err().code, "not_an_event");
        assert_eq!(
            parse_line(br#"{"Event":{"System":{"EventID":1}}}"#)
                .unwrap_err()
                .code,
            "incomplete_event"
        );
    }
}
