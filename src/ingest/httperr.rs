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
    let mut p = ChunkParser::new(ctx, is_last);
    if start > 0
        && let Some((off, names)) = dirs.fields_before(bytes, start)
    {
        p.layout = Some(layout_of(names).0);
        p.seg = off as u64;
    }
    let mut line_no = 0u64;
    for line in Lines::new(bytes, start, end) {
        line_no += 1;
        p.counts.lines += 1;
        match classify(ctx.id, &line, line_no, &mut p.issues) {
            LineKind::Blank => p.counts.blank += 1,
            LineKind::Nul => p.counts.rejected += 1,
            LineKind::Directive(d) => {
                p.counts.directives += 1;
                if let Some(names) = d.strip_prefix(b"#Fields:") {
                    p.fields_directive(names, line_no, line.offset);
                }
            }
            LineKind::Data(d, off) => {
                if p.record(d, off, line_no, line.unterminated) {
                    p.counts.records += 1;
                } else {
                    p.counts.rejected += 1;
                }
            }
        }
    }
    (
        p.t,
        ChunkIssues {
            issues: p.issues,
            counts: p.counts,
        },
    )
}

/// The state of one chunk's parse: the layout in force and what was read.
struct ChunkParser<'c> {
    ctx: &'c FileCtx,
    /// The chunk ends the file (a last line without a newline may be cut short).
    is_last: bool,
    /// The `#Fields` in force, and the offset of its line (keys once-per-segment issues).
    layout: Option<Vec<H>>,
    seg: u64,
    /// The HTTP API default layouts, for header-less files.
    d13: Vec<H>,
    d14: Vec<H>,
    t: HttpErr,
    issues: Vec<Issue>,
    counts: LineCounts,
    toks: Vec<Tok>,
    scratch: Vec<u8>,
    dates: DateCache,
}

impl<'c> ChunkParser<'c> {
    fn new(ctx: &'c FileCtx, is_last: bool) -> Self {
        ChunkParser {
            ctx,
            is_last,
            layout: None,
            seg: u64::MAX,
            d13: layout_of(DEFAULT_13.as_bytes()).0,
            d14: layout_of(DEFAULT_14.as_bytes()).0,
            t: HttpErr::default(),
            issues: Vec::new(),
            counts: LineCounts::default(),
            toks: Vec::with_capacity(20),
            scratch: Vec::new(),
            dates: DateCache::default(),
        }
    }

    fn issue(
        &mut self,
        sev: Severity,
        code: &'static str,
        at: (u64, u64),
        msg: String,
        once: Option<u64>,
    ) {
        let row = IssueRow::new(self.ctx.id, sev, code, msg).at(Some(at.0), Some(at.1));
        self.issues.push(Issue {
            row,
            once_per: once,
            nul_end: None,
        });
    }

    /// A `#Fields` line: the layout from here on; unknown names are reported.
    fn fields_directive(&mut self, names: &[u8], line_no: u64, off: u64) {
        let (l, unknown) = layout_of(names);
        for u in unknown {
            let msg = format!("missing definition for field: {u} (its values are ignored)");
            self.issue(
                Severity::Warning,
                "unknown_field",
                (line_no, off),
                msg,
                None,
            );
        }
        self.layout = Some(l);
        self.seg = off;
    }

    /// One data line into the table; false (with an issue) when it is rejected.
    fn record(&mut self, d: &[u8], off: u64, line_no: u64, unterminated: bool) -> bool {
        let at = (line_no, off);
        let mut toks = std::mem::take(&mut self.toks);
        let ok = if tokenize(d, &mut toks) {
            self.record_tokens(d, &toks, at, unterminated)
        } else {
            let msg = format!("more than {} values on one line", wf::MAX_TOKENS);
            self.issue(Severity::Error, "field_count", at, msg, None);
            false
        };
        self.toks = toks;
        ok
    }

    fn record_tokens(&mut self, d: &[u8], toks: &[Tok], at: (u64, u64), cut: bool) -> bool {
        let Some(slots) = self.slots(toks, at, cut) else {
            return false;
        };
        let Some(ts) = self.timestamp(d, &slots, at) else {
            return false;
        };
        if self.layout.is_none() {
            let msg = format!(
                "no #Fields header: lines read as the HTTP API 2.0 default layout ({} values)",
                toks.len()
            );
            self.issue(Severity::Warning, "no_header", at, msg, Some(self.seg));
        }
        let reason = slots[13].and_then(|k| wf::value(d, k, &mut self.scratch));
        if let Some(r) = reason
            && !is_known_reason(r)
        {
            // An unknown phrase usually means the values are shifted against the layout.
            let msg = format!(
                "unknown s-reason {:?}: check the layout",
                String::from_utf8_lossy(r)
            );
            self.issue(Severity::Warning, "unknown_reason", at, msg, Some(self.seg));
        }
        self.push_row(d, &slots, ts, at.1);
        true
    }

    /// The line's tokens by field slot, under the layout in force or a default one; `None`
    /// (with an issue) when the count fits neither.
    fn slots(&mut self, toks: &[Tok], at: (u64, u64), cut: bool) -> Option<[Option<Tok>; SLOTS]> {
        let n = toks.len();
        let chosen: Option<&[H]> = match &self.layout {
            Some(l) if l.len() == n => Some(l),
            Some(_) => None,
            None if n == self.d13.len() => Some(&self.d13),
            None if n == self.d14.len() => Some(&self.d14),
            None => None,
        };
        if let Some(fields) = chosen {
            let mut slots: [Option<Tok>; SLOTS] = [None; SLOTS];
            for (f, &tk) in fields.iter().zip(toks) {
                if let Some(i) = f.ix() {
                    slots[i] = Some(tk);
                }
            }
            return Some(slots);
        }
        let expected = self.layout.as_ref().map_or(self.d13.len(), |l| l.len());
        let (code, msg) = if cut && self.is_last && n < expected {
            (
                "truncated_line",
                format!("last line cut short: {n} values of {expected}, no final newline"),
            )
        } else if self.layout.is_some() {
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
        self.issue(Severity::Error, code, at, msg, None);
        None
    }

    /// The line's time (UTC ms), or `None` with an issue.
    fn timestamp(&mut self, d: &[u8], slots: &[Option<Tok>; SLOTS], at: (u64, u64)) -> Option<i64> {
        let date = slots[0].map(|k| raw(d, k));
        let time = slots[1].map(|k| raw(d, k));
        let day = date.and_then(|x| self.dates.get(x));
        if let (Some(day), Some(ms)) = (day, time.and_then(wf::parse_time)) {
            return Some(wf::to_millis(day, ms));
        }
        let msg = format!(
            "unreadable date/time {} {}",
            wf::shown(date.map(String::from_utf8_lossy).as_deref()),
            wf::shown(time.map(String::from_utf8_lossy).as_deref())
        );
        self.issue(Severity::Error, "bad_timestamp", at, msg, None);
        None
    }

    /// The row's values into the columns.
    fn push_row(&mut self, d: &[u8], slots: &[Option<Tok>; SLOTS], ts: i64, off: u64) {
        let (t, sc) = (&mut self.t, &mut self.scratch);
        // A slot's value (unescaped into the scratch buffer when quoted).
        fn val<'a>(d: &'a [u8], slot: Option<Tok>, sc: &'a mut Vec<u8>) -> Option<&'a [u8]> {
            slot.and_then(|k| wf::value(d, k, sc))
        }
        let num = |v: Option<&[u8]>| v.and_then(wf::parse_u64);
        t.ts.push(ts);
        t.server.push(self.ctx.server.as_deref());
        push_str(&mut t.c_ip, val(d, slots[2], sc));
        t.c_port
            .push(num(val(d, slots[3], sc)).and_then(|v| u16::try_from(v).ok()));
        push_str(&mut t.s_ip, val(d, slots[4], sc));
        t.s_port
            .push(num(val(d, slots[5], sc)).and_then(|v| u16::try_from(v).ok()));
        push_cat(&mut t.version, val(d, slots[6], sc));
        push_cat(&mut t.method, val(d, slots[7], sc));
        push_str(&mut t.uri, val(d, slots[8], sc));
        push_str(&mut t.stream_id, val(d, slots[9], sc));
        push_str(&mut t.stream_id_ex, val(d, slots[10], sc));
        t.status
            .push(num(val(d, slots[11], sc)).and_then(|v| u16::try_from(v).ok()));
        t.site_id
            .push(num(val(d, slots[12], sc)).and_then(|v| u32::try_from(v).ok()));
        push_cat(&mut t.reason, val(d, slots[13], sc));
        push_cat(&mut t.queue, val(d, slots[14], sc));
        push_cat(&mut t.transport, val(d, slots[15], sc));
        push_str(&mut t.fault_code, val(d, slots[16], sc));
        push_str(&mut t.extended_fault_code, val(d, slots[17], sc));
        t.file.push(self.ctx.id);
        t.offset.push(off);
    }
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
