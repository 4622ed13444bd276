//! W3C extended access logs (IIS, plus the W3C variants of the IIS Advanced Logging module,
//! Oracle Web Cache and Incapsula). Owner: parsers.
//!
//! The parser follows every `#Fields` line; lines that do not match the layout in force, and
//! files without a header, fall back to the known IIS layouts by value count (validated before
//! use, reported once per layout segment). Large files are cut at newline boundaries and the
//! chunks parsed in parallel; each chunk starts in the `#Fields`/`#Date` state the chunk before
//! it ended in (see `parse_chunks`), so the result is the same for any chunk size and thread
//! count. Plain data lines are batched and stored a column at a time (`Batch`); every other
//! line takes the row path (`ChunkParser::record_tokens`), which gives the same rows.

use super::w3c_fields::{
    self as wf, ChunkIssues, DEFAULT_CHUNK, DateCache, Issue, LineKind, Lines, Tok, Tokens,
    classify, raw, tokenize_ascii_in,
};
use crate::tables::{
    CatCol, FileCtx, IssueRow, LineCounts, MAX_VALUE_LEN, Parsed, Requests, Severity, Source,
    StrCol, packed,
};
use rayon::prelude::*;

/// Parses a W3C access log held in `src` (usually the mapped file): the table's text points
/// into it. See the module docs.
pub fn parse_source(ctx: &FileCtx, src: &Source) -> Parsed {
    parse_source_chunked(ctx, src, DEFAULT_CHUNK)
}

/// [`parse_source`] of a copy of `bytes`.
pub fn parse(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    parse_source(ctx, &Source::copy_of(bytes))
}

/// [`parse`] with an explicit chunk size (tests force tiny chunks to exercise the merge).
pub fn parse_chunked(ctx: &FileCtx, bytes: &[u8], chunk: usize) -> Parsed {
    parse_source_chunked(ctx, &Source::copy_of(bytes), chunk)
}

/// [`parse_source`] with an explicit chunk size.
pub fn parse_source_chunked(ctx: &FileCtx, src: &Source, chunk: usize) -> Parsed {
    parse_with(ctx, src, chunk, true)
}

/// The parser with the one-pass path for plain data lines on or off (tests compare the two).
#[doc(hidden)]
pub fn parse_with(ctx: &FileCtx, src: &Source, chunk: usize, fast: bool) -> Parsed {
    let bytes = src.bytes();
    let chunks = wf::split_chunks(bytes, chunk);
    let mut parsed = if chunks.len() > 1 {
        parse_chunks(ctx, bytes, &chunks, fast)
    } else {
        None
    }
    // Date-less layouts (FTP, IIS 4) take the day from `#Date` and roll it over when the time
    // goes backwards: that needs every earlier line, so a file where one is in force is read
    // (again) in one piece.
    .or_else(|| parse_chunks(ctx, bytes, &[(0, bytes.len())], fast))
    .unwrap_or_default();
    parsed.requests.bind(src);
    parsed
}

/// The state a chunk starts in: what the directives before it set.
#[derive(Debug, Clone, PartialEq)]
struct Start {
    layout: Option<Layout>,
    /// Offset of the `#Fields` line in force (`u64::MAX` before any).
    seg: u64,
    directive_day: Option<i64>,
}

impl Default for Start {
    fn default() -> Self {
        Start {
            layout: None,
            seg: u64::MAX,
            directive_day: None,
        }
    }
}

/// Parses `chunks` (consecutive ranges of `bytes`, from its start) in parallel waves; `None`
/// when there are several and a date-less layout is in force somewhere (see [`parse_with`]).
///
/// Every chunk of a wave starts in the state the previous wave ended in, which is right unless
/// a directive in an earlier chunk of the same wave changed it. Directives are rare (a header
/// block at the top and at each restart of the writer), so that is checked afterwards instead
/// of searching the file for directives first: a chunk that started with the wrong layout is
/// parsed again, and one that only had the wrong `#Fields` offset (the same header re-emitted)
/// gets its once-per-segment issues re-keyed. With one thread (waves of one chunk) every start
/// is right.
fn parse_chunks(
    ctx: &FileCtx,
    bytes: &[u8],
    chunks: &[(usize, usize)],
    fast: bool,
) -> Option<Parsed> {
    let last = chunks.len().saturating_sub(1);
    // Chunks are parsed in waves of a few per thread; after each wave the chunk tables are
    // appended to the result in input order, cleared and reused for the next wave. So only a
    // wave's worth of chunk tables exists next to the result, and their memory is faulted in
    // once, not once per chunk.
    // The first chunk of each wave is parsed straight into the result (it is the only task
    // that holds it), so with one thread (waves of one chunk) nothing is ever copied.
    let threads = rayon::current_num_threads().max(1);
    let wave = if threads == 1 { 1 } else { threads * 2 }.min(chunks.len().max(1));
    let spare: std::sync::Mutex<Vec<Requests>> = std::sync::Mutex::new(Vec::new());
    let mut result: Option<Requests> = None;
    let mut parsed = Parsed::default();
    let mut issue_chunks = Vec::with_capacity(chunks.len());
    let mut carried = Start::default();
    // The first wave's later chunks start in the state the file's header block sets (a guess
    // checked like any other): without it they would all start with no layout and be parsed
    // twice, a large share of the work on a file of a few waves.
    let guess = if wave > 1 {
        header_state(ctx, bytes, fast)
    } else {
        Start::default()
    };
    for (w, group) in chunks.chunks(wave).enumerate() {
        let head = std::sync::Mutex::new(result.take());
        let mut outs: Vec<ChunkOut> = group
            .par_iter()
            .enumerate()
            .map(|(j, &(s, e))| {
                let table = if j == 0 {
                    head.lock().ok().and_then(|mut h| h.take())
                } else {
                    spare.lock().ok().and_then(|mut v| v.pop())
                };
                let is_last = w * wave + j == last;
                let from = if w == 0 && j > 0 {
                    guess.clone()
                } else {
                    carried.clone()
                };
                parse_chunk(ctx, bytes, from, (s, e), is_last, table, fast)
            })
            .collect();
        // Each chunk's true start is where the one before it ended.
        let mut state = carried;
        for (j, o) in outs.iter_mut().enumerate() {
            // (The wave's first chunk started right: it holds the result so far.)
            if j > 0 && o.start.layout != state.layout {
                let mut table = std::mem::take(&mut o.requests);
                table.clear();
                let is_last = w * wave + j == last;
                *o = parse_chunk(
                    ctx,
                    bytes,
                    state.clone(),
                    group[j],
                    is_last,
                    Some(table),
                    fast,
                );
            } else if o.start.seg != state.seg {
                for i in &mut o.issues {
                    if i.once_per == Some(o.start.seg) {
                        i.once_per = Some(state.seg);
                    }
                }
            }
            if o.dateless && chunks.len() > 1 {
                return None;
            }
            if o.saw_fields {
                state.layout = o.end.layout.take();
                state.seg = o.end.seg;
            }
            if o.saw_date {
                state.directive_day = o.end.directive_day;
            }
        }
        carried = state;
        let mut outs = outs.into_iter();
        let Some(mut first) = outs.next() else {
            break;
        };
        let mut acc = std::mem::take(&mut first.requests);
        let rest: Vec<ChunkOut> = outs.collect();
        if w == 0 && chunks.len() > 1 {
            // Reserve the whole result once, extrapolated from the first wave (rows from its
            // lines, string bytes from its columns; 10 % headroom). Unwritten capacity costs no
            // memory, an underestimate only regrows (in place for buffers this large).
            let covered = group.last().map_or(0, |c| c.1) - group.first().map_or(0, |c| c.0);
            let scale = bytes.len() as f64 / covered.max(1) as f64;
            let rows: usize = rest.iter().map(|o| o.counts.lines as usize).sum::<usize>()
                + first.counts.lines as usize;
            let sample: Vec<&Requests> = rest.iter().map(|o| &o.requests).collect();
            acc.reserve_total_like((rows as f64 * scale) as usize, &sample, scale, 1.1);
        }
        for (k, mut o) in std::iter::once(first).chain(rest).enumerate() {
            // (The first chunk's rows are in `acc` already.)
            if k > 0 {
                acc.append(&o.requests);
            }
            if parsed.server.is_none() {
                parsed.server = o.server;
            }
            if parsed.site.is_none() {
                parsed.site = o.site;
            }
            issue_chunks.push(ChunkIssues {
                issues: o.issues,
                counts: o.counts,
            });
            if k > 0 {
                o.requests.clear();
                if let Ok(mut v) = spare.lock() {
                    v.push(o.requests);
                }
            }
        }
        result = Some(acc);
    }
    parsed.requests = result.unwrap_or_default();
    if chunks.len() > 1 {
        parsed.requests.shrink_to_fit();
    }
    let (issues, counts) = wf::merge_issues(issue_chunks);
    parsed.issues = issues;
    parsed.counts = counts;
    Some(parsed)
}

/// The state after the directive lines at the top of the file (its header block), read by
/// parsing just them.
fn header_state(ctx: &FileCtx, bytes: &[u8], fast: bool) -> Start {
    // Lines starting with `#` (the first after a byte-order mark), up to 64 of them.
    let mut lines = Lines::new(bytes, 0, bytes.len());
    let mut end = 0;
    for _ in 0..64 {
        let Some(line) = lines.next() else { break };
        let b = match line.offset {
            0 => line.bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()),
            _ => None,
        }
        .unwrap_or(line.bytes);
        if !b.starts_with(b"#") {
            break;
        }
        end = lines.pos();
    }
    if end == 0 {
        return Start::default();
    }
    parse_chunk(ctx, bytes, Start::default(), (0, end), false, None, fast).end
}

/// Where a field's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Date,
    Time,
    Site,
    Server,
    SIp,
    Method,
    Stem,
    Query,
    SPort,
    User,
    CIp,
    Ua,
    Cookie,
    Referer,
    Host,
    Status,
    Sub,
    Win32,
    ScBytes,
    CsBytes,
    Taken,
    /// A custom or unknown field: index into `Layout::extra_names`.
    Extra(u16),
}

const SLOTS: usize = 21;

/// The fixed fields by slot ([`F::slot`]).
const FIXED: [F; SLOTS] = [
    F::Date,
    F::Time,
    F::Site,
    F::Server,
    F::SIp,
    F::Method,
    F::Stem,
    F::Query,
    F::SPort,
    F::User,
    F::CIp,
    F::Ua,
    F::Cookie,
    F::Referer,
    F::Host,
    F::Status,
    F::Sub,
    F::Win32,
    F::ScBytes,
    F::CsBytes,
    F::Taken,
];

/// No token for a slot ([`Layout::pos`]); past any token index, so `toks.get` gives `None`.
const NO_TOK: u16 = u16::MAX;

impl F {
    fn slot(self) -> Option<usize> {
        Some(match self {
            F::Date => 0,
            F::Time => 1,
            F::Site => 2,
            F::Server => 3,
            F::SIp => 4,
            F::Method => 5,
            F::Stem => 6,
            F::Query => 7,
            F::SPort => 8,
            F::User => 9,
            F::CIp => 10,
            F::Ua => 11,
            F::Cookie => 12,
            F::Referer => 13,
            F::Host => 14,
            F::Status => 15,
            F::Sub => 16,
            F::Win32 => 17,
            F::ScBytes => 18,
            F::CsBytes => 19,
            F::Taken => 20,
            F::Extra(_) => return None,
        })
    }
    /// Slot of a fixed field (always below [`SLOTS`]).
    fn ix(self) -> usize {
        self.slot().unwrap_or(0)
    }
}

fn field_of(name: &[u8]) -> Option<F> {
    const MAP: &[(&str, F)] = &[
        ("date", F::Date),
        ("date-local", F::Date),
        ("time", F::Time),
        ("time-local", F::Time),
        ("s-sitename", F::Site),
        ("s-computername", F::Server),
        ("s-ip", F::SIp),
        ("cs-method", F::Method),
        ("cs-uri-stem", F::Stem),
        ("cs-uri-query", F::Query),
        ("s-port", F::SPort),
        ("cs-username", F::User),
        ("c-ip", F::CIp),
        ("cs(user-agent)", F::Ua),
        ("cs(useragent)", F::Ua),
        ("cs(cookie)", F::Cookie),
        ("cs(referer)", F::Referer),
        ("cs(referrer)", F::Referer),
        ("cs-host", F::Host),
        ("cs(host)", F::Host),
        ("sc-status", F::Status),
        ("sc-substatus", F::Sub),
        ("sc-win32-status", F::Win32),
        ("sc-bytes", F::ScBytes),
        ("cs-bytes", F::CsBytes),
        ("time-taken", F::Taken),
        ("timetakenms", F::Taken),
    ];
    MAP.iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// A `#Fields` layout, resolved once per directive.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    fields: Vec<F>,
    /// For each fixed field slot, the index of its token (the last field naming it), or
    /// [`NO_TOK`]: `record` reads its values by index instead of sorting tokens per line.
    pos: [u16; SLOTS],
    /// The fixed fields with a token, in token order (a name given twice takes its last token,
    /// as in `pos`), but for date and time, which are read first: what a batch stores.
    prog: Vec<(u16, F)>,
    /// The fixed fields the layout lacks (their columns get a null or the file's value).
    absent: Vec<F>,
    /// Some field is custom or unknown (goes to `extra`).
    any_extra: bool,
    /// Names of the extra fields, already JSON-escaped (they are written once per row).
    extra_names: Vec<String>,
    has_date: bool,
    /// `date-local`/`time-local` (Advanced Logging): not UTC.
    local_time: bool,
    /// The names, for issue messages.
    desc: String,
}

impl Layout {
    fn from_names(names: &[u8]) -> Layout {
        let mut l = Layout {
            fields: Vec::new(),
            pos: [NO_TOK; SLOTS],
            prog: Vec::new(),
            absent: Vec::new(),
            any_extra: false,
            extra_names: Vec::new(),
            has_date: false,
            local_time: false,
            desc: String::new(),
        };
        for n in names
            .split(|c| matches!(c, b' ' | b'\t' | b'\r' | 0))
            .filter(|n| !n.is_empty())
        {
            if l.fields.len() >= wf::MAX_TOKENS {
                break;
            }
            let f = field_of(n).unwrap_or_else(|| {
                let mut s = String::new();
                json_escape_bytes(&mut s, n);
                l.extra_names.push(s);
                F::Extra((l.extra_names.len() - 1) as u16)
            });
            match f.slot() {
                // Fewer than MAX_TOKENS (1024) fields, so the index fits.
                Some(s) => l.pos[s] = l.fields.len() as u16,
                None => l.any_extra = true,
            }
            l.has_date |= f == F::Date;
            l.local_time |=
                n.eq_ignore_ascii_case(b"date-local") || n.eq_ignore_ascii_case(b"time-local");
            l.fields.push(f);
            if !l.desc.is_empty() {
                l.desc.push(' ');
            }
            l.desc.push_str(&String::from_utf8_lossy(n));
        }
        for (slot, &f) in FIXED.iter().enumerate() {
            match (f, l.pos[slot]) {
                (F::Date | F::Time, _) => {}
                (f, NO_TOK) => l.absent.push(f),
                (f, k) => l.prog.push((k, f)),
            }
        }
        l.prog.sort_by_key(|&(k, _)| k);
        l
    }
}

/// The known IIS layouts a header-less or mismatched line is tried against (notes §1.4).
const FALLBACKS: &[(&str, &str)] = &[
    (
        "IIS 7+ default",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
    ),
    (
        "IIS 7+ default without cs(Referer)",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken",
    ),
    (
        "IIS 6 default",
        "date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status",
    ),
    (
        "IIS 7+ default with sc-bytes cs-bytes",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
    (
        "IIS site/cookie/host/bytes layout",
        "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
    (
        "IIS all standard fields",
        "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
];

/// Name of the positional value that follows a full layout (filebeat's `network.forwarded_ip`).
const TAIL_NAME: &str = "X-Forwarded-For";

/// The longest time-taken believed, in ms (49.7 days: IIS 6 logged it as a 32-bit count, and no
/// request lives that long). Above it a value is a corrupt line, not a slow request.
pub const MAX_TIME_TAKEN_MS: u64 = u32::MAX as u64;

impl F {
    /// The W3C name of a numeric field, and the largest value it holds.
    fn number_name(self) -> (&'static str, u64) {
        match self {
            F::SPort => ("s-port", u16::MAX as u64),
            F::Status => ("sc-status", u16::MAX as u64),
            F::Sub => ("sc-substatus", u32::MAX as u64),
            F::Win32 => ("sc-win32-status", u64::MAX),
            F::ScBytes => ("sc-bytes", u64::MAX),
            F::CsBytes => ("cs-bytes", u64::MAX),
            F::Taken => ("time-taken", MAX_TIME_TAKEN_MS),
            _ => ("field", u64::MAX),
        }
    }
    /// The order in which the row path checks numeric fields (its issues' order on a line).
    fn number_rank(self) -> u8 {
        match self {
            F::SPort => 0,
            F::Status => 1,
            F::Sub => 2,
            F::Win32 => 3,
            F::ScBytes => 4,
            F::CsBytes => 5,
            _ => 6,
        }
    }
}

/// A numeric field's null: `-`, or empty (quoted `""` or `"-"` in Advanced Logging and
/// Incapsula layouts).
fn number_null(v: &[u8]) -> bool {
    matches!(v, b"-" | b"" | b"\"\"" | b"\"-\"")
}

/// Time-taken as believed (see [`MAX_TIME_TAKEN_MS`]).
fn taken(v: u64) -> Option<u64> {
    (v <= MAX_TIME_TAKEN_MS).then_some(v)
}

/// The issue of a numeric value that is no number in the field's range: stored as null, and
/// said.
fn bad_number(id: crate::tables::FileId, f: F, v: &[u8], line: u64, off: u64) -> Issue {
    let (name, max) = f.number_name();
    let shown: String = String::from_utf8_lossy(&v[..v.len().min(64)]).into_owned();
    let msg = if f == F::Taken && v.iter().all(u8::is_ascii_digit) && !v.is_empty() {
        format!(
            "{name} {shown:?} ms is impossible (more than {MAX_TIME_TAKEN_MS} ms, 49.7 days): stored as null"
        )
    } else {
        format!("{name} {shown:?} is not a whole number from 0 to {max}: stored as null")
    };
    Issue {
        row: IssueRow::new(id, Severity::Error, "bad_number", msg).at(Some(line), Some(off)),
        once_per: None,
        nul_end: None,
    }
}

struct ChunkOut {
    requests: Requests,
    issues: Vec<Issue>,
    counts: LineCounts,
    server: Option<String>,
    site: Option<String>,
    /// The state the chunk was parsed from, and the one it ended in.
    start: Start,
    end: Start,
    /// It holds a `#Fields` line, a `#Date` line (so its end state does not depend on its
    /// start for that part).
    saw_fields: bool,
    saw_date: bool,
    /// A layout without a date field was in force.
    dateless: bool,
}

struct ChunkParser<'c> {
    ctx: &'c FileCtx,
    /// The whole file.
    file: &'c [u8],
    layout: Option<Layout>,
    /// Offset of the `#Fields` line in force (`u64::MAX` before any): keys once-per-segment issues.
    seg: u64,
    fallbacks: Vec<(&'static str, Layout)>,
    /// Day of the last `#Date`/`#Start-Date` (for date-less layouts).
    directive_day: Option<i64>,
    /// Date-less rollover: days added since the `#Date`, and the previous time of day.
    roll_days: i64,
    roll_prev: Option<i64>,
    dates: DateCache,
    times: wf::TimeCache,
    /// Codes of the file's server and site in this chunk's table, once looked up.
    ctx_codes: [Option<u32>; 2],
    toks: Vec<Tok>,
    batch: Batch,
    scratch: Vec<u8>,
    extra: String,
    out: ChunkOut,
}

/// Time going back by more than this in a date-less log means the next day; smaller steps are
/// the usual buffering disorder of HTTP.sys.
const ROLLOVER_BACKSTEP_MS: i64 = 12 * 3_600_000;

fn parse_chunk(
    ctx: &FileCtx,
    bytes: &[u8],
    from: Start,
    (start, end): (usize, usize),
    is_last: bool,
    table: Option<Requests>,
    fast: bool,
) -> ChunkOut {
    let dateless = from.layout.as_ref().is_some_and(|l| !l.has_date);
    let mut p = ChunkParser {
        ctx,
        file: bytes,
        layout: from.layout.clone(),
        seg: from.seg,
        fallbacks: FALLBACKS
            .iter()
            .map(|&(n, f)| (n, Layout::from_names(f.as_bytes())))
            .collect(),
        directive_day: from.directive_day,
        roll_days: 0,
        roll_prev: None,
        dates: DateCache::default(),
        times: wf::TimeCache::default(),
        ctx_codes: [None; 2],
        toks: Vec::with_capacity(32),
        batch: Batch::default(),
        scratch: Vec::new(),
        extra: String::new(),
        out: ChunkOut {
            requests: table.unwrap_or_else(|| presized(&bytes[start..end])),
            issues: Vec::new(),
            counts: LineCounts::default(),
            server: None,
            site: None,
            start: from,
            end: Start::default(),
            saw_fields: false,
            saw_date: false,
            dateless,
        },
    };
    wf::with_masker(Walk {
        p: &mut p,
        range: (start, end),
        is_last,
        fast,
    });
    p.out.end = Start {
        layout: p.layout.take(),
        seg: p.seg,
        directive_day: p.directive_day,
    };
    p.out
}

/// The line loop of a chunk, run once per chunk with the widest SIMD the CPU has.
struct Walk<'p, 'c> {
    p: &'p mut ChunkParser<'c>,
    range: (usize, usize),
    is_last: bool,
    fast: bool,
}

impl wf::WithMasker for Walk<'_, '_> {
    type Out = ();
    #[inline(always)]
    fn run<M: wf::Masker>(self, masker: M) {
        let Walk {
            p,
            range: (start, end),
            is_last,
            fast,
        } = self;
        let bytes = p.file;
        let mut line_no = 0u64;
        let mut pos = start;
        let end = end.min(bytes.len());
        while pos < end {
            line_no += 1;
            p.out.counts.lines += 1;
            // Plain data lines are found and tokenized in one pass, straight into the batch;
            // the rest go the general way, after the batch before them.
            if fast {
                let at = p.batch.slot();
                if let Some(f) = wf::fast_line(masker, bytes, pos, end, &mut p.batch.edges[at..]) {
                    let off = pos;
                    pos = f.next;
                    if p.batch_add(&f, off, at, line_no) {
                        p.out.counts.records += 1;
                        continue;
                    }
                    p.flush();
                    // (The flush leaves the edges where they are.)
                    let edges = std::mem::take(&mut p.batch.edges);
                    let toks = wf::Edges(&edges[at..at + f.edges]);
                    let line = &bytes[off..f.content_end];
                    let unterminated = f.unterminated && is_last;
                    let ok =
                        p.record_tokens(&toks, line, off as u64, line_no, unterminated, f.ascii);
                    p.batch.edges = edges;
                    if ok {
                        p.out.counts.records += 1;
                    } else {
                        p.out.counts.rejected += 1;
                    }
                    continue;
                }
            }
            p.flush();
            let mut lines = Lines::new(bytes, pos, end);
            let Some(line) = lines.next() else {
                break;
            };
            pos = lines.pos();
            match classify(p.ctx.id, &line, line_no, &mut p.out.issues) {
                LineKind::Blank => p.out.counts.blank += 1,
                // Padding is not a record; it is counted with the rejects and reported as one
                // range.
                LineKind::Nul => p.out.counts.rejected += 1,
                LineKind::Directive(d) => {
                    p.out.counts.directives += 1;
                    p.directive(d, line.offset, line_no);
                }
                LineKind::Data(d, off) => {
                    if p.record(d, off, line_no, line.unterminated && is_last) {
                        p.out.counts.records += 1;
                    } else {
                        p.out.counts.rejected += 1;
                    }
                }
            }
        }
        p.flush();
    }
}

/// [`ChunkParser::flush_with`], compiled once per instruction set (see [`wf::with_masker`]).
struct Flush<'p, 'c>(&'p mut ChunkParser<'c>);

impl wf::WithMasker for Flush<'_, '_> {
    type Out = ();
    #[inline(always)]
    fn run<M: wf::Masker>(self, masker: M) {
        self.0.flush_with(masker);
    }
}

/// Plain data lines waiting to be stored: their token edges (a row of `stride` per line, written
/// there by the tokenizer), timestamps and offsets. Storing them a column at a time, each
/// column's loop short and its buffers in registers, costs a fraction of storing them a row at
/// a time through every column.
struct Batch {
    edges: Vec<u32>,
    /// Edges per line (twice the fields of the layout in force), and lines the batch holds.
    stride: usize,
    cap: usize,
    lines: usize,
    ts: Vec<i64>,
    off: Vec<usize>,
    /// The chunk's line number of the first line (batched lines are consecutive: any other
    /// line flushes the batch first).
    first_line: u64,
    /// One numeric field's values, and whether each is one (scratch of `flush`).
    nums: Vec<u64>,
    num_ok: Vec<bool>,
}

/// A batch's edges are kept to about this many (16 KiB: in the first-level cache).
const BATCH_EDGES: usize = 4096;

impl Default for Batch {
    fn default() -> Self {
        Batch {
            edges: vec![0; wf::EDGES_ROOM],
            stride: 0,
            cap: 0,
            lines: 0,
            ts: Vec::new(),
            off: Vec::new(),
            first_line: 0,
            nums: Vec::new(),
            num_ok: Vec::new(),
        }
    }
}

impl Batch {
    /// Where the next line's edges go (with [`wf::EDGES_ROOM`] after it).
    #[inline(always)]
    fn slot(&self) -> usize {
        self.lines * self.stride
    }
    /// Sets the row width for a layout of `stride / 2` fields (only while empty).
    fn restride(&mut self, stride: usize) {
        debug_assert_eq!(self.lines, 0);
        self.stride = stride;
        self.cap = (BATCH_EDGES / stride.max(1)).max(1);
        self.edges.resize(self.cap * stride + wf::EDGES_ROOM, 0);
        self.ts.reserve(self.cap);
        self.off.reserve(self.cap);
        self.nums.resize(self.cap, 0);
        self.num_ok.resize(self.cap, false);
    }
}

impl ChunkParser<'_> {
    /// Takes the plain data line at `off` whose edges the tokenizer wrote at `at` in the batch,
    /// if it is one the batch stores as [`ChunkParser::record_tokens`] would: all ASCII, as
    /// many values as the `#Fields` in force names (none custom, a date among them), and a
    /// readable timestamp. Anything else (false) goes through `record_tokens`.
    #[inline(always)]
    fn batch_add(&mut self, f: &wf::FastLine, off: usize, at: usize, line_no: u64) -> bool {
        let Some(layout) = &self.layout else {
            return false;
        };
        let stride = 2 * layout.fields.len();
        if !f.ascii || layout.any_extra || !layout.has_date || f.edges != stride {
            return false;
        }
        let b = &mut self.batch;
        if b.stride != stride {
            // A new layout comes with a directive, which flushed the batch: it is empty here.
            // (Were it not, this line takes the row path, after the batch.)
            if b.lines > 0 {
                return false;
            }
            b.restride(stride);
        }
        let Some(e) = b.edges.get(at..at + stride) else {
            return false;
        };
        let Some(line) = self.file.get(off..f.content_end) else {
            return false;
        };
        if !StrCol::source_fits(f.content_end, line.len()) {
            return false;
        }
        let value = |slot: F| {
            let k = layout.pos[slot.ix()] as usize;
            match e.get(2 * k..2 * k + 2) {
                Some(&[s, t]) => line.get(s as usize..t as usize),
                _ => None,
            }
        };
        let (Some(day), Some(time)) = (
            value(F::Date).and_then(|d| self.dates.get(d)),
            value(F::Time).and_then(|t| self.times.get(t)),
        ) else {
            return false;
        };
        b.ts.push(wf::to_millis(day, time));
        b.off.push(off);
        if b.lines == 0 {
            b.first_line = line_no;
        }
        b.lines += 1;
        if b.lines == b.cap {
            self.flush();
        }
        true
    }

    /// Stores the batched lines, a column at a time (see [`Batch`]).
    fn flush(&mut self) {
        if self.batch.lines > 0 {
            wf::with_masker(Flush(self));
        }
    }

    #[inline(always)]
    fn flush_with<M: wf::Masker>(&mut self, masker: M) {
        let b = &mut self.batch;
        let n = b.lines;
        if n == 0 {
            return;
        }
        b.lines = 0;
        let Some(layout) = &self.layout else {
            b.ts.clear();
            b.off.clear();
            return;
        };
        let (file, stride) = (self.file, b.stride);
        let r = &mut self.out.requests;
        let (edges, offs) = (&b.edges[..n * stride], &b.off[..n]);
        r.ts.extend_from_slice(&b.ts);
        // Bad numbers found a column at a time, reported a line at a time as the row path does.
        let mut bad: Vec<(u64, u8, Issue)> = Vec::new();
        for &(k, f) in &layout.prog {
            let k2 = 2 * k as usize;
            if k2 + 1 >= stride {
                continue;
            }
            // Each line's value of this field: `$at` its offset in the file, `$v` its text, a
            // W3C null `-` when `$null`. (Tokens are never empty.)
            macro_rules! each {
                (|$at:ident, $v:ident, $null:ident| $body:expr) => {
                    for (row, &off) in edges.chunks_exact(stride).zip(offs) {
                        let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                        let $at = off + s;
                        let bytes = file.get($at..off + t).unwrap_or_default();
                        // SAFETY: the tokenizer saw every byte of the line below 0x80 (the
                        // batch holds only such lines), and ASCII is valid UTF-8.
                        let $v = unsafe { std::str::from_utf8_unchecked(bytes) };
                        let $null = bytes == b"-";
                        $body
                    }
                };
            }
            // Each line's value of this field as `(offset in the file, length)`.
            let spans = edges.chunks_exact(stride).zip(offs).map(|(row, &off)| {
                let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                (off + s, t.wrapping_sub(s))
            });
            // (A null that is not `-` is a bad number: looked for only in a batch that has nulls.)
            macro_rules! numbers {
                ($col:expr, $conv:expr) => {{
                    let (vals, ok) = (&mut b.nums[..n], &mut b.num_ok[..n]);
                    masker.field_numbers(file, (edges, stride, k2), offs, (&mut *vals, &mut *ok));
                    let nulls = std::cell::Cell::new(false);
                    $col.push_all(vals.iter().zip(ok.iter()).map(|(&v, &ok)| {
                        let v = ok.then_some(v).and_then($conv);
                        if v.is_none() {
                            nulls.set(true);
                        }
                        v
                    }));
                    if nulls.get() {
                        for (i, (row, &off)) in edges.chunks_exact(stride).zip(offs).enumerate() {
                            if ok[i] && ($conv)(vals[i]).is_some() {
                                continue;
                            }
                            let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                            let v = file.get(off + s..off + t).unwrap_or_default();
                            if !number_null(v) {
                                let line = b.first_line + i as u64;
                                let issue = bad_number(self.ctx.id, f, v, line, off as u64);
                                bad.push((line, f.number_rank(), issue));
                            }
                        }
                    }
                }};
            }
            match f {
                F::Server | F::Site => {
                    let (col, first, ctx, code) = if f == F::Server {
                        let c = &mut self.ctx_codes[0];
                        (&mut r.server, &mut self.out.server, &self.ctx.server, c)
                    } else {
                        let c = &mut self.ctx_codes[1];
                        (&mut r.site, &mut self.out.site, &self.ctx.site, c)
                    };
                    each!(|_at, v, null| if null {
                        push_ctx(col, code, ctx.as_deref());
                    } else {
                        col.push(Some(v));
                        if first.is_none() {
                            *first = Some(v.to_owned());
                        }
                    });
                }
                // (The server's address: one or a few values, a category.)
                F::SIp => each!(|_at, v, null| r.s_ip.push((!null).then(|| unmarkdown_str(v)))),
                F::CIp => {
                    r.c_ip.extend_packed(n, |out| {
                        for (o, (at, len)) in out.iter_mut().zip(spans) {
                            let v = file.get(at..at.saturating_add(len)).unwrap_or_default();
                            *o = if v.first() == Some(&b'[') {
                                // SAFETY: as in `each!`: the batch holds only ASCII lines.
                                let u = unmarkdown_str(unsafe { std::str::from_utf8_unchecked(v) });
                                // (A repaired address starts one byte in, after the `[`.)
                                packed::source(at + usize::from(u.len() != v.len()), u.len(), false)
                            } else {
                                packed::source(at, len, v == b"-")
                            };
                        }
                    });
                }
                F::Method => each!(|_at, v, null| r.method.push((!null).then_some(v))),
                F::Stem | F::Query | F::User | F::Host | F::Ua | F::Referer | F::Cookie => {
                    let col = match f {
                        F::Stem => &mut r.uri_stem,
                        F::Query => &mut r.uri_query,
                        F::User => &mut r.username,
                        F::Host => &mut r.host,
                        // (Stored as logged, `+` decoded when read: see `PlusCol`.)
                        F::Ua => &mut r.user_agent,
                        F::Referer => &mut r.referer,
                        _ => &mut r.cookie,
                    };
                    // (Every line of the batch fits a source span: see `batch_add`.)
                    col.extend_packed(n, |out| {
                        masker.field_spans(file, (edges, stride, k2), offs, out)
                    });
                }
                F::SPort => numbers!(r.s_port, |v| u16::try_from(v).ok()),
                F::Status => numbers!(r.status, |v| u16::try_from(v).ok()),
                F::Sub => numbers!(r.substatus, |v| u32::try_from(v).ok()),
                F::Win32 => numbers!(r.win32_status, Some),
                F::ScBytes => numbers!(r.sc_bytes, Some),
                F::CsBytes => numbers!(r.cs_bytes, Some),
                F::Taken => numbers!(r.time_taken_ms, taken),
                F::Date | F::Time | F::Extra(_) => {}
            }
        }
        if !bad.is_empty() {
            bad.sort_by_key(|(line, rank, _)| (*line, *rank));
            self.out.issues.extend(bad.into_iter().map(|(_, _, i)| i));
        }
        // The columns the layout has no field for: null, or the file's server and site.
        for &f in &layout.absent {
            match f {
                F::Server | F::Site => {
                    let (col, ctx, code) = if f == F::Server {
                        (&mut r.server, &self.ctx.server, &mut self.ctx_codes[0])
                    } else {
                        (&mut r.site, &self.ctx.site, &mut self.ctx_codes[1])
                    };
                    let c = ctx_code(col, code, ctx.as_deref());
                    col.push_codes(c, n);
                }
                F::Method => r.method.push_codes(CatCol::NULL, n),
                F::SIp => r.s_ip.push_codes(CatCol::NULL, n),
                F::Stem => r.uri_stem.push_nulls(n),
                F::Query => r.uri_query.push_nulls(n),
                F::User => r.username.push_nulls(n),
                F::CIp => r.c_ip.push_nulls(n),
                F::Ua => r.user_agent.push_nulls(n),
                F::Referer => r.referer.push_nulls(n),
                F::Cookie => r.cookie.push_nulls(n),
                F::Host => r.host.push_nulls(n),
                F::SPort => r.s_port.push_nulls(n),
                F::Status => r.status.push_nulls(n),
                F::Sub => r.substatus.push_nulls(n),
                F::Win32 => r.win32_status.push_nulls(n),
                F::ScBytes => r.sc_bytes.push_nulls(n),
                F::CsBytes => r.cs_bytes.push_nulls(n),
                F::Taken => r.time_taken_ms.push_nulls(n),
                F::Date | F::Time | F::Extra(_) => {}
            }
        }
        r.file.push_n(self.ctx.id, n);
        r.offset.push_all(&b.off);
        r.extra.push_nulls(n);
        b.ts.clear();
        b.off.clear();
    }

    fn issue(
        &mut self,
        sev: Severity,
        code: &'static str,
        line: u64,
        off: u64,
        msg: String,
        once: bool,
    ) {
        self.out.issues.push(Issue {
            row: IssueRow::new(self.ctx.id, sev, code, msg).at(Some(line), Some(off)),
            once_per: once.then_some(self.seg),
            nul_end: None,
        });
    }

    fn directive(&mut self, d: &[u8], off: u64, line_no: u64) {
        if let Some(names) = d.strip_prefix(b"#Fields:") {
            let l = Layout::from_names(names);
            self.seg = off;
            self.out.saw_fields = true;
            self.out.dateless |= !l.has_date;
            if l.local_time {
                self.issue(
                    Severity::Warning,
                    "local_time",
                    line_no,
                    off,
                    "date-local/time-local fields: times are the server's local time, read as UTC"
                        .into(),
                    true,
                );
            }
            self.layout = Some(l);
        } else if let Some(v) = d
            .strip_prefix(b"#Date:")
            .or_else(|| d.strip_prefix(b"#Start-Date:"))
        {
            self.directive_day = wf::parse_directive_date(v);
            self.out.saw_date = true;
            self.roll_days = 0;
            self.roll_prev = None;
            if self.directive_day.is_none() {
                self.issue(
                    Severity::Warning,
                    "bad_directive",
                    line_no,
                    off,
                    format!("unreadable date directive {:?}", String::from_utf8_lossy(d)),
                    false,
                );
            }
        }
    }

    /// Whether `toks` look like a line of `l` (date/time shape, IPs, a 3-digit status).
    fn plausible<T: Tokens + ?Sized>(line: &[u8], toks: &T, l: &Layout) -> bool {
        for (k, f) in l.fields.iter().enumerate() {
            let Some(t) = toks.tok(k) else {
                break;
            };
            let v = raw(line, t);
            let ok = match f {
                F::Date => wf::parse_date(v).is_some(),
                F::Time => wf::parse_time(v).is_some(),
                F::SIp | F::CIp => {
                    let v = wf::unmarkdown(v);
                    v == b"-"
                        || (v.iter().any(|c| *c == b'.' || *c == b':')
                            && v.iter()
                                .all(|c| c.is_ascii_hexdigit() || b".:%[]".contains(c))
                            || v.iter()
                                .all(|c| c.is_ascii_alphanumeric() || b".:%-_".contains(c))
                                && v.contains(&b'.'))
                }
                F::Status => v.len() == 3 && v.iter().all(u8::is_ascii_digit),
                F::SPort | F::Sub | F::Win32 | F::Taken | F::ScBytes | F::CsBytes => {
                    v == b"-" || v.iter().all(u8::is_ascii_digit)
                }
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Picks the layout for a line of `n` values: the `#Fields` in force, that layout plus one
    /// trailing positional value, or a validated fallback. Returns (fallback index or None for
    /// the header layout, has a trailing value).
    fn choose<T: Tokens + ?Sized>(&self, line: &[u8], toks: &T) -> Option<(Option<usize>, bool)> {
        let n = toks.count();
        if let Some(l) = &self.layout {
            if l.fields.len() == n {
                return Some((None, false));
            }
            if l.fields.len() + 1 == n && Self::plausible(line, toks, l) {
                return Some((None, true));
            }
        }
        for tail in [false, true] {
            for (i, (_, l)) in self.fallbacks.iter().enumerate() {
                if l.fields.len() + tail as usize == n && Self::plausible(line, toks, l) {
                    return Some((Some(i), tail));
                }
            }
        }
        None
    }

    fn record(&mut self, line: &[u8], off: u64, line_no: u64, unterminated: bool) -> bool {
        if line.len() > MAX_VALUE_LEN {
            let msg = format!(
                "line of {} bytes: longer than any IIS writes ({MAX_VALUE_LEN} at most are read)",
                line.len()
            );
            self.issue(Severity::Error, "line_too_long", line_no, off, msg, false);
            return false;
        }
        // Tokenized in place in the file (its last block reads on past the line end): `off` is
        // where `line` starts in it.
        debug_assert_eq!(
            self.file.get(off as usize..).map(<[u8]>::as_ptr),
            Some(line.as_ptr())
        );
        let Some(ascii) = tokenize_ascii_in(self.file, off as usize, line.len(), &mut self.toks)
        else {
            let msg = format!("more than {} values on one line", wf::MAX_TOKENS);
            self.issue(Severity::Error, "field_count", line_no, off, msg, false);
            return false;
        };
        let toks = std::mem::take(&mut self.toks);
        let ok = self.record_tokens(&toks[..], line, off, line_no, unterminated, ascii);
        self.toks = toks;
        ok
    }

    /// [`ChunkParser::record`] of a line already tokenized (`toks`). (Not inlined into the SIMD
    /// variants of the line loop: one copy of it serves them all.)
    #[inline(never)]
    fn record_tokens<T: Tokens + ?Sized>(
        &mut self,
        toks: &T,
        line: &[u8],
        off: u64,
        line_no: u64,
        unterminated: bool,
        ascii: bool,
    ) -> bool {
        let n = toks.count();
        let Some((fb, tail)) = self.choose(line, toks) else {
            let expected = self.layout.as_ref().map(|l| l.fields.len());
            if unterminated && expected.is_none_or(|e| n < e) {
                let msg = format!(
                    "last line cut short: {n} values{}, no final newline (the writer stopped mid-line)",
                    expected.map(|e| format!(" of {e}")).unwrap_or_default()
                );
                self.issue(Severity::Error, "truncated_line", line_no, off, msg, false);
            } else {
                let msg = match &self.layout {
                    Some(l) => format!(
                        "{n} values, but #Fields names {} and no known IIS layout has {n} values",
                        l.fields.len()
                    ),
                    None => format!(
                        "{n} values, no #Fields header and no known IIS layout has {n} values"
                    ),
                };
                self.issue(Severity::Error, "field_count", line_no, off, msg, false);
            }
            return false;
        };
        if fb.is_none() && tail {
            let msg = format!(
                "lines with one value more than #Fields names: the last value read as {TAIL_NAME}"
            );
            self.issue(
                Severity::Warning,
                "layout_mismatch",
                line_no,
                off,
                msg,
                true,
            );
        }
        if let Some(i) = fb {
            let name = self.fallbacks[i].0;
            let tail_note = if tail {
                " plus a trailing X-Forwarded-For value"
            } else {
                ""
            };
            let (code, msg) = match &self.layout {
                None => (
                    "no_header",
                    format!(
                        "no #Fields header: lines read as the {name} layout{tail_note} ({n} values)"
                    ),
                ),
                Some(l) => (
                    "layout_mismatch",
                    format!(
                        "lines with {n} values under a #Fields of {} names: read as the {name} layout{tail_note}",
                        l.fields.len()
                    ),
                ),
            };
            self.issue(Severity::Warning, code, line_no, off, msg, true);
        }
        let layout = match fb {
            Some(i) => &self.fallbacks[i].1,
            None => match &self.layout {
                Some(l) => l,
                None => return false,
            },
        };

        let has_extra = tail || layout.any_extra;
        // The token of a fixed field, through the layout's index (the line has a token for
        // every field of the layout: `choose` checked the count).
        let pos = &layout.pos;
        macro_rules! tok {
            ($f:expr) => {
                toks.tok(pos[$f.ix()] as usize)
            };
        }
        // Timestamp first: a line without one is rejected before anything is pushed.
        let time = tok!(F::Time).and_then(|t| self.times.get(raw(line, t)));
        let day = if layout.has_date {
            tok!(F::Date)
                .map(|t| raw(line, t))
                .and_then(|d| self.dates.get(d))
        } else {
            self.directive_day
        };
        let (Some(day), Some(time)) = (day, time) else {
            let d = tok!(F::Date).map(|t| String::from_utf8_lossy(raw(line, t)).into_owned());
            let t = tok!(F::Time).map(|t| String::from_utf8_lossy(raw(line, t)).into_owned());
            let (d, t) = (wf::shown(d.as_deref()), wf::shown(t.as_deref()));
            let msg = match layout.has_date {
                false => format!("no date field and no usable #Date directive (time {t})"),
                true => format!("unreadable date/time {d} {t}"),
            };
            let row = IssueRow::new(self.ctx.id, Severity::Error, "bad_timestamp", msg)
                .at(Some(line_no), Some(off));
            self.out.issues.push(Issue {
                row,
                once_per: None,
                nul_end: None,
            });
            return false;
        };
        let day = if layout.has_date {
            day
        } else {
            if let Some(prev) = self.roll_prev
                && time + ROLLOVER_BACKSTEP_MS < prev
            {
                self.roll_days += 1;
            }
            self.roll_prev = Some(time);
            day + self.roll_days
        };

        let r = &mut self.out.requests;
        r.ts.push(wf::to_millis(day, time));
        let sc = &mut self.scratch;
        let file = self.file;
        // The line is `file[off..]` (both paths hand out slices of the file), so a value is
        // stored as its place there, not copied: checked once per line. (Were it not, values
        // would be copied, not misplaced.)
        let off = off as usize;
        let in_file = file
            .get(off..off.saturating_add(line.len()))
            .is_some_and(|f| f.as_ptr() == line.as_ptr());
        macro_rules! in_place {
            ($col:expr, $at:expr, $v:expr) => {{
                let v: &str = $v;
                if in_file {
                    $col.push_source(off + $at, v)
                } else {
                    $col.push(Some(v))
                }
            }};
        }
        // One UTF-8 check per line instead of one per field: token bounds sit on ASCII
        // separators, so slicing the checked line at them is always on char boundaries.
        let line_str = if ascii {
            // SAFETY: the tokenizer saw every byte of the line below 0x80 (`tokenize_ascii`
            // returns true only then; tested against `is_ascii`), and ASCII is valid UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(line) })
        } else {
            std::str::from_utf8(line).ok()
        };
        // A token as checked text: the line is UTF-8 and the value needs no unescaping.
        // `Some(None)` is the W3C null; `None` means take the byte path.
        macro_rules! fast {
            ($t:expr) => {
                match ($t, line_str) {
                    (None, _) => Some(None),
                    (Some(t), Some(ls)) if !t.escaped => match token_str(ls, t) {
                        Some(v) if is_null(v) => Some(None),
                        Some(v) => Some(Some((t.start as usize, v))),
                        None => None,
                    },
                    _ => None,
                }
            };
        }
        macro_rules! val {
            ($t:expr) => {
                match $t {
                    Some(t) => wf::value(line, t, sc),
                    None => None,
                }
            };
        }
        macro_rules! text {
            ($col:expr, $f:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((at, v))) => in_place!($col, at, v),
                    Some(None) => $col.push_null(),
                    None => push_str(&mut $col, val!(t)),
                }
            }};
        }
        // An address: as text, repaired if a markdown link (see `unmarkdown_str`).
        macro_rules! addr {
            ($col:expr, $f:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((at, v))) => {
                        let u = unmarkdown_str(v);
                        // (A repaired address starts one byte in, after the `[`.)
                        in_place!($col, at + usize::from(u.len() != v.len()), u)
                    }
                    Some(None) => $col.push_null(),
                    None => push_str(&mut $col, val!(t).map(wf::unmarkdown)),
                }
            }};
        }
        // A number: digits read straight from the file when the token is plain.
        macro_rules! num {
            ($f:expr) => {
                match tok!($f) {
                    Some(t) if !t.escaped => {
                        let (s, e) = (t.start as usize, t.end as usize);
                        if in_file {
                            wf::parse_u64_at(file, off + s, e.saturating_sub(s))
                        } else {
                            line.get(s..e).and_then(wf::parse_u64)
                        }
                    }
                    t => val!(t).and_then(wf::parse_u64),
                }
            };
        }
        // Server and site: the line's value, else the file's (from its folder), whose code is
        // looked up once per chunk.
        macro_rules! cat_or_ctx {
            ($col:expr, $f:expr, $first:expr, $ctx:expr, $code:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((_, v))) => {
                        $col.push(Some(v));
                        if $first.is_none() {
                            $first = Some(v.to_owned());
                        }
                    }
                    Some(None) => push_ctx(&mut $col, &mut $code, $ctx.as_deref()),
                    None => match val!(t) {
                        Some(v) => {
                            $col.push_bytes(v);
                            if $first.is_none() {
                                $first = Some(String::from_utf8_lossy(v).into_owned());
                            }
                        }
                        None => push_ctx(&mut $col, &mut $code, $ctx.as_deref()),
                    },
                }
            }};
        }
        cat_or_ctx!(
            r.server,
            F::Server,
            self.out.server,
            self.ctx.server,
            self.ctx_codes[0]
        );
        cat_or_ctx!(
            r.site,
            F::Site,
            self.out.site,
            self.ctx.site,
            self.ctx_codes[1]
        );
        match fast!(tok!(F::SIp)) {
            Some(v) => r.s_ip.push(v.map(|(_, v)| unmarkdown_str(v))),
            None => match val!(tok!(F::SIp)).map(wf::unmarkdown) {
                Some(v) => r.s_ip.push_bytes(v),
                None => r.s_ip.push(None),
            },
        }
        // A value that is there (not `-`) but no number in range: null, and an issue.
        let mut bad: [Option<F>; 7] = [None; 7];
        let mut nbad = 0;
        macro_rules! checked {
            ($f:expr, $conv:expr) => {{
                let v = num!($f).and_then($conv);
                if v.is_none()
                    && let Some(t) = tok!($f)
                    && !number_null(raw(line, t))
                {
                    bad[nbad] = Some($f);
                    nbad += 1;
                }
                v
            }};
        }
        r.s_port.push(checked!(F::SPort, |v| u16::try_from(v).ok()));
        {
            let t = tok!(F::Method);
            match fast!(t) {
                Some(v) => r.method.push(v.map(|(_, v)| v)),
                None => match val!(t) {
                    Some(v) => r.method.push_bytes(v),
                    None => r.method.push(None),
                },
            }
        }
        text!(r.uri_stem, F::Stem);
        text!(r.uri_query, F::Query);
        text!(r.username, F::User);
        addr!(r.c_ip, F::CIp);
        // (Stored as logged, `+` decoded when read: see `PlusCol`.)
        text!(r.user_agent, F::Ua);
        text!(r.referer, F::Referer);
        text!(r.cookie, F::Cookie);
        text!(r.host, F::Host);
        r.status
            .push(checked!(F::Status, |v| u16::try_from(v).ok()));
        r.substatus
            .push(checked!(F::Sub, |v| u32::try_from(v).ok()));
        r.win32_status.push(checked!(F::Win32, Some));
        r.sc_bytes.push(checked!(F::ScBytes, Some));
        r.cs_bytes.push(checked!(F::CsBytes, Some));
        r.time_taken_ms.push(checked!(F::Taken, taken));
        r.file.push(self.ctx.id);
        r.offset.push(off as u64);
        for f in bad.iter().take(nbad).flatten() {
            if let Some(t) = tok!(*f) {
                let issue = bad_number(self.ctx.id, *f, raw(line, t), line_no, off as u64);
                self.out.issues.push(issue);
            }
        }

        if !has_extra {
            r.extra.push_null();
            return true;
        }
        let e = &mut self.extra;
        e.clear();
        let write = |e: &mut String, name: &str, v: Option<&[u8]>| {
            if let Some(v) = v {
                e.push(if e.is_empty() { '{' } else { ',' });
                e.push('"');
                e.push_str(name);
                e.push_str("\":\"");
                json_escape_bytes(e, v);
                e.push('"');
            }
        };
        for (i, f) in layout.fields.iter().enumerate() {
            let Some(t) = toks.tok(i) else {
                break;
            };
            if let F::Extra(k) = f
                && let Some(name) = layout.extra_names.get(*k as usize)
            {
                write(e, name, wf::value(line, t, sc));
            }
        }
        if tail && let Some(t) = toks.count().checked_sub(1).and_then(|k| toks.tok(k)) {
            write(e, TAIL_NAME, wf::value(line, t, sc));
        }
        if e.is_empty() {
            r.extra.push_null();
        } else {
            e.push('}');
            r.extra.push(Some(e));
        }
        true
    }
}

/// The code of the file's server or site (`ctx`, from its folder) in `col`, looked up once per
/// chunk and kept in `code`.
#[inline(always)]
fn ctx_code(col: &mut CatCol, code: &mut Option<u32>, ctx: Option<&str>) -> u32 {
    *code.get_or_insert_with(|| col.intern_opt(ctx))
}

/// Pushes the file's server or site for a line that has none (see [`ctx_code`]).
#[inline(always)]
fn push_ctx(col: &mut CatCol, code: &mut Option<u32>, ctx: Option<&str>) {
    let c = ctx_code(col, code, ctx);
    col.push_code(c);
}

/// The W3C null: `-` (or nothing).
#[inline(always)]
fn is_null(v: &str) -> bool {
    v.is_empty() || v == "-"
}

/// A token of a checked line as text. Token bounds sit at ASCII separators and quotes or at
/// the line's ends, so they are char boundaries: only the range is checked.
#[inline(always)]
fn token_str(line: &str, t: wf::Tok) -> Option<&str> {
    let (s, e) = (t.start as usize, t.end as usize);
    if s <= e && e <= line.len() {
        // SAFETY: in bounds (checked above) and on char boundaries (the tokenizer cuts only
        // next to ASCII bytes or at the ends of the line, checked in the tokenizer's `same_tokens` test).
        Some(unsafe { line.get_unchecked(s..e) })
    } else {
        None
    }
}

/// [`wf::unmarkdown`] on checked text (it cuts at ASCII bytes, so the result stays text).
#[inline(always)]
fn unmarkdown_str(v: &str) -> &str {
    if v.as_bytes().first() == Some(&b'[')
        && v.ends_with(')')
        && let Some(i) = v.find("](")
    {
        return &v[1..i];
    }
    v
}

#[inline]
fn push_str(c: &mut crate::tables::StrCol, v: Option<&[u8]>) {
    match v {
        Some(v) => c.push_bytes(v),
        None => c.push_null(),
    }
}

/// Columns sized for a chunk: rows from its exact line count (a newline count runs at memory
/// speed), own text (decoded copies; most values stay in the file) generously per row
/// (capacity never written costs no memory), so the hot loop does not regrow and copy them.
fn presized(chunk: &[u8]) -> Requests {
    let rows = memchr::memchr_iter(b'\n', chunk).count() + 1;
    let s = |per_row: usize| crate::tables::StrCol::with_capacity(rows, rows * per_row);
    let cat = || {
        let mut c = crate::tables::CatCol::default();
        c.reserve(rows);
        c
    };
    Requests {
        ts: Vec::with_capacity(rows),
        server: cat(),
        site: cat(),
        s_ip: cat(),
        s_port: crate::tables::NumCol::with_capacity(rows),
        method: cat(),
        uri_stem: s(8),
        uri_query: s(8),
        username: crate::tables::StrCol::with_capacity(rows, 0),
        c_ip: s(0),
        user_agent: crate::tables::PlusCol::with_capacity(rows, 0),
        referer: crate::tables::PlusCol::with_capacity(rows, 0),
        cookie: crate::tables::PlusCol::with_capacity(rows, 0),
        host: crate::tables::StrCol::with_capacity(rows, 0),
        status: crate::tables::NumCol::with_capacity(rows),
        substatus: crate::tables::NumCol::with_capacity(rows),
        win32_status: crate::tables::U64Col::with_capacity(rows),
        sc_bytes: crate::tables::U64Col::with_capacity(rows),
        cs_bytes: crate::tables::U64Col::with_capacity(rows),
        time_taken_ms: crate::tables::U64Col::with_capacity(rows),
        file: Default::default(),
        offset: Default::default(),
        extra: crate::tables::JsonCol(crate::tables::StrCol::with_capacity(rows, 0)),
    }
}

/// Appends `v` (UTF-8, else Windows-1252) to `out` escaped for a JSON string.
fn json_escape_bytes(out: &mut String, v: &[u8]) {
    let decoded;
    let s = match std::str::from_utf8(v) {
        Ok(s) => s,
        Err(_) => {
            let mut d = String::new();
            crate::tables::push_cp1252(&mut d, v);
            decoded = d;
            &decoded
        }
    };
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests;
