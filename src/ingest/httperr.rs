//! HTTP.sys error logs (`httperr<N>.log`). Owner: parsers.
//!
//! `#Fields`-driven, with the HTTP API 2.0 13-field default (and its `streamid` variant) when a
//! file or segment has no header. HTTP.sys writes single spaces and fixed-width dates, but the
//! shared tokenizer splits on runs anyway so a hand-edited file still reads.

use super::w3c_fields::{
    self as wf, ChunkIssues, DEFAULT_CHUNK, DateCache, Issue, LineKind, Lines, Tok, classify, raw,
    tokenize,
};
use crate::knowledge::httperr_reasons::is_known_reason;
use crate::tables::{FileCtx, HttpErr, IssueRow, LineCounts, Parsed, Severity};
use rayon::prelude::*;

/// Parses an HTTPERR log.
pub fn parse(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    parse_chunked(ctx, bytes, DEFAULT_CHUNK)
}

/// [`parse`] with an explicit chunk size (tests force tiny chunks).
pub fn parse_chunked(ctx: &FileCtx, bytes: &[u8], chunk: usize) -> Parsed {
    let chunks = wf::split_chunks(bytes, chunk);
    let last = chunks.len().saturating_sub(1);
    let dirs = if chunks.len() > 1 {
        wf::Directives::scan(bytes)
    } else {
        wf::Directives::default()
    };
    let outs: Vec<(HttpErr, ChunkIssues)> = chunks
        .par_iter()
        .enumerate()
        .map(|(i, &(s, e))| parse_chunk(ctx, &dirs, bytes, s, e, i == last))
        .collect();
    let mut parsed = Parsed::default();
    let mut issue_chunks = Vec::with_capacity(outs.len());
    for (t, c) in outs {
        parsed.httperr.append(&t);
        issue_chunks.push(c);
    }
    let (issues, counts) = wf::merge_issues(issue_chunks);
    parsed.issues = issues;
    parsed.counts = counts;
    parsed
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H {
    Date,
    Time,
    CIp,
    CPort,
    SIp,
    SPort,
    Version,
    Method,
    Uri,
    StreamId,
    StreamIdEx,
    Status,
    SiteId,
    Reason,
    Queue,
    Transport,
    Fault,
    ExtFault,
    /// A field we have no column for: reported once, its value dropped.
    Unknown,
}

const SLOTS: usize = 18;

impl H {
    fn ix(self) -> Option<usize> {
        Some(match self {
            H::Date => 0,
            H::Time => 1,
            H::CIp => 2,
            H::CPort => 3,
            H::SIp => 4,
            H::SPort => 5,
            H::Version => 6,
            H::Method => 7,
            H::Uri => 8,
            H::StreamId => 9,
            H::StreamIdEx => 10,
            H::Status => 11,
            H::SiteId => 12,
            H::Reason => 13,
            H::Queue => 14,
            H::Transport => 15,
            H::Fault => 16,
            H::ExtFault => 17,
            H::Unknown => return None,
        })
    }
}

fn field_of(name: &[u8]) -> H {
    const MAP: &[(&str, H)] = &[
        ("date", H::Date),
        ("time", H::Time),
        ("c-ip", H::CIp),
        ("c-port", H::CPort),
        ("s-ip", H::SIp),
        ("s-port", H::SPort),
        ("cs-version", H::Version),
        ("cs-method", H::Method),
        ("cs-uri", H::Uri),
        ("streamid", H::StreamId),
        ("streamid_ex", H::StreamIdEx),
        ("sc-status", H::Status),
        ("s-siteid", H::SiteId),
        ("s-reason", H::Reason),
        ("s-queuename", H::Queue),
        ("transport", H::Transport),
        ("fault-code", H::Fault),
        ("extended-fault-code", H::ExtFault),
    ];
    MAP.iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map_or(H::Unknown, |&(_, f)| f)
}

const DEFAULT_13: &str = "date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename";
const DEFAULT_14: &str = "date time c-ip c-port s-ip s-port cs-version cs-method cs-uri streamid sc-status s-siteid s-reason s-queuename";

fn layout_of(names: &[u8]) -> (Vec<H>, Vec<String>) {
    let mut fields = Vec::new();
    let mut unknown = Vec::new();
    for n in names
        .split(|c| matches!(c, b' ' | b'\t' | b'\r' | 0))
        .filter(|n| !n.is_empty())
    {
        if fields.len() >= wf::MAX_TOKENS {
            break;
        }
        let f = field_of(n);
        if f == H::Unknown {
            unknown.push(String::from_utf8_lossy(n).into_owned());
        }
        fields.push(f);
    }
    (fields, unknown)
}

fn parse_chunk(
    ctx: &FileCtx,
    dirs: &wf::Directives,
    bytes: &[u8],
    start: usize,
    end: usize,
    is_last: bool,
) -> (HttpErr, ChunkIssues) {
    let mut layout: Option<Vec<H>> = None;
    let mut seg = u64::MAX;
    if start > 0
        && let Some((off, names)) = dirs.fields_before(bytes, start)
    {
        layout = Some(layout_of(names).0);
        seg = off as u64;
    }
    let d13 = layout_of(DEFAULT_13.as_bytes()).0;
    let d14 = layout_of(DEFAULT_14.as_bytes()).0;
    let mut t = HttpErr::default();
    let mut issues: Vec<Issue> = Vec::new();
    let mut counts = LineCounts::default();
    let mut toks: Vec<Tok> = Vec::with_capacity(20);
    let mut scratch = Vec::new();
    let mut dates = DateCache::default();
    let mut line_no = 0u64;
    let issue =
        |issues: &mut Vec<Issue>, sev, code, line_no, off, msg: String, once: Option<u64>| {
            issues.push(Issue {
                row: IssueRow::new(ctx.id, sev, code, msg).at(Some(line_no), Some(off)),
                once_per: once,
                nul_end: None,
            });
        };
    for line in Lines::new(bytes, start, end) {
        line_no += 1;
        counts.lines += 1;
        let (d, off) = match classify(ctx.id, &line, line_no, &mut issues) {
            LineKind::Blank => {
                counts.blank += 1;
                continue;
            }
            LineKind::Nul => {
                counts.rejected += 1;
                continue;
            }
            LineKind::Directive(d) => {
                counts.directives += 1;
                if let Some(names) = d.strip_prefix(b"#Fields:") {
                    let (l, unknown) = layout_of(names);
                    for u in unknown {
                        let msg =
                            format!("missing definition for field: {u} (its values are ignored)");
                        issue(
                            &mut issues,
                            Severity::Warning,
                            "unknown_field",
                            line_no,
                            line.offset,
                            msg,
                            None,
                        );
                    }
                    layout = Some(l);
                    seg = line.offset;
                }
                continue;
            }
            LineKind::Data(d, off) => (d, off),
        };
        if !tokenize(d, &mut toks) {
            let msg = format!("more than {} values on one line", wf::MAX_TOKENS);
            issue(
                &mut issues,
                Severity::Error,
                "field_count",
                line_no,
                off,
                msg,
                None,
            );
            counts.rejected += 1;
            continue;
        }
        let n = toks.len();
        let chosen: Option<&[H]> = match &layout {
            Some(l) if l.len() == n => Some(l),
            Some(_) => None,
            None if n == d13.len() => Some(&d13),
            None if n == d14.len() => Some(&d14),
            None => None,
        };
        let Some(fields) = chosen else {
            let expected = layout.as_ref().map_or(d13.len(), |l| l.len());
            let (code, msg) = if line.unterminated && is_last && n < expected {
                (
                    "truncated_line",
                    format!("last line cut short: {n} values of {expected}, no final newline"),
                )
            } else if layout.is_some() {
                (
                    "field_count",
                    format!("{n} values, but #Fields names {expected}"),
                )
            } else {
                (
                    "field_count",
                    format!(
                        "{n} values, no #Fields header and the HTTP API default has 13 (or 14 with streamid)"
                    ),
                )
            };
            issue(&mut issues, Severity::Error, code, line_no, off, msg, None);
            counts.rejected += 1;
            continue;
        };
        let mut slots: [Option<Tok>; SLOTS] = [None; SLOTS];
        for (f, &tk) in fields.iter().zip(&toks) {
            if let Some(i) = f.ix() {
                slots[i] = Some(tk);
            }
        }
        let date = slots[0].map(|k| raw(d, k));
        let time = slots[1].map(|k| raw(d, k));
        let ts = match (
            date.and_then(|x| dates.get(x)),
            time.and_then(wf::parse_time),
        ) {
            (Some(day), Some(ms)) => wf::to_millis(day, ms),
            _ => {
                let msg = format!(
                    "unreadable date/time {} {}",
                    wf::shown(date.map(String::from_utf8_lossy).as_deref()),
                    wf::shown(time.map(String::from_utf8_lossy).as_deref())
                );
                issue(
                    &mut issues,
                    Severity::Error,
                    "bad_timestamp",
                    line_no,
                    off,
                    msg,
                    None,
                );
                counts.rejected += 1;
                continue;
            }
        };
        if layout.is_none() {
            let msg = format!(
                "no #Fields header: lines read as the HTTP API 2.0 default layout ({n} values)"
            );
            issue(
                &mut issues,
                Severity::Warning,
                "no_header",
                line_no,
                off,
                msg,
                Some(seg),
            );
        }
        macro_rules! val {
            ($i:expr) => {
                match slots[$i] {
                    Some(k) => wf::value(d, k, &mut scratch),
                    None => None,
                }
            };
        }
        let reason = val!(13);
        if let Some(r) = reason
            && !is_known_reason(r)
        {
            // An unknown phrase usually means the values are shifted against the layout.
            let msg = format!(
                "unknown s-reason {:?}: check the layout",
                String::from_utf8_lossy(r)
            );
            issue(
                &mut issues,
                Severity::Warning,
                "unknown_reason",
                line_no,
                off,
                msg,
                Some(seg),
            );
        }
        t.ts.push(ts);
        t.server.push(ctx.server.as_deref());
        push_str(&mut t.c_ip, val!(2));
        t.c_port.push(
            val!(3)
                .and_then(wf::parse_u64)
                .and_then(|v| u16::try_from(v).ok()),
        );
        push_str(&mut t.s_ip, val!(4));
        t.s_port.push(
            val!(5)
                .and_then(wf::parse_u64)
                .and_then(|v| u16::try_from(v).ok()),
        );
        push_cat(&mut t.version, val!(6));
        push_cat(&mut t.method, val!(7));
        push_str(&mut t.uri, val!(8));
        push_str(&mut t.stream_id, val!(9));
        push_str(&mut t.stream_id_ex, val!(10));
        t.status.push(
            val!(11)
                .and_then(wf::parse_u64)
                .and_then(|v| u16::try_from(v).ok()),
        );
        t.site_id.push(
            val!(12)
                .and_then(wf::parse_u64)
                .and_then(|v| u32::try_from(v).ok()),
        );
        push_cat(&mut t.reason, val!(13));
        push_cat(&mut t.queue, val!(14));
        push_cat(&mut t.transport, val!(15));
        push_str(&mut t.fault_code, val!(16));
        push_str(&mut t.extended_fault_code, val!(17));
        t.file.push(ctx.id);
        t.offset.push(off);
        counts.records += 1;
    }
    (t, ChunkIssues { issues, counts })
}

#[inline]
fn push_str(c: &mut crate::tables::StrCol, v: Option<&[u8]>) {
    match v {
        Some(v) => c.push_bytes(v),
        None => c.push_null(),
    }
}

#[inline]
fn push_cat(c: &mut crate::tables::CatCol, v: Option<&[u8]>) {
    match v {
        Some(v) => c.push_bytes(v),
        None => c.push(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Parsed {
        parse(&FileCtx::default(), s)
    }

    const HEADER: &[u8] =
        b"#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Date: 2025-03-14 08:00:01\r\n";

    #[test]
    fn default_layout_without_fields() {
        let mut b = HEADER.to_vec();
        b.extend_from_slice(
            b"2025-03-14 08:00:01 192.0.2.10 50123 192.0.2.1 80 HTTP/1.1 GET /default.aspx 503 1 AppOffline DefaultAppPool\r\n",
        );
        let r = p(&b);
        assert_eq!(r.httperr.len(), 1);
        assert_eq!(r.httperr.status.get(0), Some(503));
        assert_eq!(r.httperr.site_id.get(0), Some(1));
        assert_eq!(r.httperr.reason.get(0), Some("AppOffline"));
        assert_eq!(r.httperr.queue.get(0), Some("DefaultAppPool"));
        assert_eq!(r.httperr.uri.get(0), Some("/default.aspx"));
        assert_eq!(r.httperr.stream_id.get(0), None);
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].code, "no_header");
        assert!(r.counts.balanced());
    }

    #[test]
    fn unknown_field_warns_and_line_parses() {
        let mut b = HEADER.to_vec();
        b.extend_from_slice(b"#Fields: date time c-ip s-reason x-custom\r\n2025-03-14 08:00:01 192.0.2.10 Hostname custom-value\r\n");
        let r = p(&b);
        assert_eq!(r.httperr.len(), 1);
        assert_eq!(r.httperr.c_ip.get(0), Some("192.0.2.10"));
        assert_eq!(r.httperr.reason.get(0), Some("Hostname"));
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].code, "unknown_field");
        assert!(
            r.issues[0]
                .message
                .contains("missing definition for field: x-custom")
        );
    }

    #[test]
    fn invalid_date_rejects_that_line_only() {
        let mut b = HEADER.to_vec();
        b.extend_from_slice(
            b"#Fields: date time c-ip s-reason\r\n2025-13-14 08:00:01 192.0.2.10 Hostname\r\n2025-03-14 08:00:02 192.0.2.11 Hostname\r\n",
        );
        let r = p(&b);
        assert_eq!(r.httperr.len(), 1);
        assert_eq!(r.httperr.c_ip.get(0), Some("192.0.2.11"));
        assert_eq!(r.issues.len(), 1);
        assert_eq!(
            (r.issues[0].code, r.issues[0].line),
            ("bad_timestamp", Some(5))
        );
        assert_eq!(
            r.counts,
            LineCounts {
                lines: 6,
                records: 1,
                directives: 4,
                blank: 0,
                rejected: 1
            }
        );
    }

    #[test]
    fn truncated_last_line_and_field_count() {
        let r = p(b"#Fields: date time c-ip s-reason\n2025-03-14 08:00:01 1.2.3.4 Hostname extra junk\n2025-03-14 08:00");
        assert_eq!(r.httperr.len(), 0);
        let codes: Vec<_> = r.issues.iter().map(|i| i.code).collect();
        assert_eq!(codes, vec!["field_count", "truncated_line"]);
        assert!(r.counts.balanced());
    }

    #[test]
    fn abandoned_requests_are_known_reasons() {
        let mut b = HEADER.to_vec();
        b.extend_from_slice(
            b"2025-03-14 08:00:01 192.0.2.10 50123 192.0.2.1 80 HTTP/1.1 GET /crash.aspx - 1 Connection_Abandoned_By_AppPool Pool\r\n\
2025-03-14 08:00:01 192.0.2.10 50124 192.0.2.1 80 HTTP/1.1 GET /x - 1 Made_Up_Reason Pool\r\n",
        );
        let r = p(&b);
        assert_eq!(
            r.httperr.reason.get(0),
            Some("Connection_Abandoned_By_AppPool")
        );
        assert_eq!(r.httperr.status.get(0), None);
        let codes: Vec<_> = r.issues.iter().map(|i| (i.code, i.line)).collect();
        assert_eq!(
            codes,
            vec![("no_header", Some(4)), ("unknown_reason", Some(5))]
        );
    }

    #[test]
    fn chunked_equals_whole() {
        let mut b = HEADER.to_vec();
        b.extend_from_slice(
            b"2025-03-14 08:00:01 192.0.2.10 50123 192.0.2.1 80 HTTP/1.1 GET /a 503 1 AppOffline Pool\r\n\
#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri streamid sc-status s-siteid s-reason s-queuename\r\n\
2025-03-14 08:00:02 ::1%0 1 ::1%0 80 HTTP/2.0 GET /b 7 400 - Hostname -\r\n\
2025-03-14 08:00:03 ::1%0 1 ::1%0 80 HTTP/2.0 GET /c 9 400 - Hostname -\r\n",
        );
        let whole = p(&b);
        for c in [1, 7, 50] {
            let part = parse_chunked(&FileCtx::default(), &b, c);
            assert_eq!(part.httperr, whole.httperr, "chunk {c}");
            assert_eq!(part.issues, whole.issues, "chunk {c}");
            assert_eq!(part.counts, whole.counts);
        }
        assert_eq!(whole.httperr.len(), 3);
        assert_eq!(whole.httperr.stream_id.get(2), Some("9"));
    }
}
