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
    CatCol, CrashKind, CrashRow, EvidenceSource, FileCtx, IssueRow, LineCounts, MAX_VALUE_LEN,
    Parsed, Requests, Severity, Source, StrCol, packed,
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
    let mut parsed = parse_any(ctx, src, chunk, fast, None);
    parsed.requests.bind(src);
    parsed
}

/// What a streamed parse hands its rows to, a wave of chunk tables at a time (bound to the
/// source); `None` means "forget this file's rows so far: it is read again from the start".
pub type EachFn<'f> = dyn FnMut(Option<&mut [Requests]>) + Send + 'f;

/// Parses `src` handing its rows over a wave at a time instead of keeping them: the returned
/// [`Parsed`] has everything but the rows. The pages of the source a wave was read from are
/// released after it ([`Source::release`]), so neither the table nor the file stays in memory.
/// A date-less layout is still read in one piece (see [`parse_with`]).
pub fn stream(ctx: &FileCtx, src: &Source, chunk: usize, each: &mut EachFn<'_>) -> Parsed {
    parse_any(ctx, src, chunk, true, Some(each))
}

fn parse_any(
    ctx: &FileCtx,
    src: &Source,
    chunk: usize,
    fast: bool,
    mut each: Option<&mut EachFn<'_>>,
) -> Parsed {
    let bytes = src.bytes();
    let streamed = each.is_some();
    // Finding the chunks' line starts touches a little of every chunk, and the kernel maps
    // pages around each touch: an 8 GiB log held 700 MB of its pages after it. A streamed
    // parse lets them go as it goes.
    let mut from = 0;
    let chunks = wf::split_chunks_then(bytes, chunk, |end| {
        if streamed && end - from >= 64 * chunk {
            src.release(from..end);
            from = end;
        }
    });
    if streamed {
        src.release(from..bytes.len());
    }
    if chunks.len() > 1
        && let Some(p) = parse_chunks(ctx, src, &chunks, fast, each.as_deref_mut())
    {
        return p;
    }
    // Date-less layouts (FTP, IIS 4) take the day from `#Date` and roll it over when the time
    // goes backwards: that needs every earlier line, so a file where one is in force is read
    // (again) in one piece.
    if chunks.len() > 1
        && let Some(e) = each.as_deref_mut()
    {
        e(None);
    }
    parse_chunks(ctx, src, &[(0, bytes.len())], fast, each).unwrap_or_default()
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
    src: &Source,
    chunks: &[(usize, usize)],
    fast: bool,
    mut each: Option<&mut EachFn<'_>>,
) -> Option<Parsed> {
    let bytes = src.bytes();
    // Chunks are parsed in waves of a few per thread; after each wave the chunk tables are
    // appended to the result in input order, cleared and reused for the next wave. So only a
    // wave's worth of chunk tables exists next to the result, and their memory is faulted in
    // once, not once per chunk.
    // The first chunk of each wave is parsed straight into the result (it is the only task
    // that holds it), so with one thread (waves of one chunk) nothing is ever copied.
    let threads = rayon::current_num_threads().max(1);
    let wave = if threads == 1 { 1 } else { threads * 2 }.min(chunks.len().max(1));
    let w = Waves {
        ctx,
        bytes,
        fast,
        chunks,
        wave,
        spare: std::sync::Mutex::new(Vec::new()),
    };
    let mut result: Option<Requests> = None;
    let mut parsed = Parsed::default();
    let mut issue_chunks = Vec::with_capacity(chunks.len());
    let mut carried = Start::default();
    let (mut restarts, mut last_ts, mut more) = (Vec::new(), None, 0u64);
    // The first wave's later chunks start in the state the file's header block sets (a guess
    // checked like any other): without it they would all start with no layout and be parsed
    // twice, a large share of the work on a file of a few waves.
    let guess = if wave > 1 {
        header_state(ctx, bytes, fast)
    } else {
        Start::default()
    };
    for (k, group) in chunks.chunks(wave).enumerate() {
        let guess = if k == 0 { &guess } else { &carried };
        let mut outs = w.parse(k, group, result.take(), &carried, guess);
        carried = w.settle(k, group, &mut outs, carried)?;
        for o in &mut outs {
            restarts.extend(o.restarts.drain(..).filter_map(|mut r| {
                r.prev = r.prev.or(last_ts);
                r.prev.is_some().then_some(r)
            }));
            more += o.more_restarts + if last_ts.is_some() { o.more_leading } else { 0 };
            if restarts.len() > MAX_RESTARTS {
                more += (restarts.len() - MAX_RESTARTS) as u64;
                restarts.truncate(MAX_RESTARTS);
            }
            last_ts = o.last_ts.or(last_ts);
        }
        if let Some(e) = each.as_deref_mut() {
            w.hand_over(src, group, &mut outs, e);
        }
        let acc = w.absorb(k, outs, &mut parsed, &mut issue_chunks);
        result = acc.or(result);
    }
    if each.is_some() {
        result = None;
    }
    parsed.requests = result.unwrap_or_default();
    if chunks.len() > 1 {
        parsed.requests.shrink_to_fit();
    }
    let (issues, counts) = wf::merge_issues(issue_chunks);
    parsed.issues = issues;
    parsed.counts = counts;
    if more > 0 {
        parsed.issues.push(IssueRow::new(
            ctx.id,
            Severity::Warning,
            "header_repeats",
            format!(
                "the header block is written again {} more times: the first {} after requests are kept as log_restart rows",
                more,
                restarts.len()
            ),
        ));
    }
    parsed.crashes = restart_rows(ctx, &parsed, restarts);
    Some(parsed)
}

/// Header blocks written again kept per file (a real day has a few; a hostile log could
/// alternate them with rows).
const MAX_RESTARTS: usize = 1000;

/// A log left idle this long is reopened with a new header: not a sign of anything.
const IDLE_REOPEN_MS: i64 = 14 * 60_000;

/// The `log_restart` rows of a file: its header blocks written again after requests, except
/// those after an idle spell (IIS closes an idle log and writes a header when it reopens it).
fn restart_rows(ctx: &FileCtx, parsed: &Parsed, restarts: Vec<Restart>) -> Vec<CrashRow> {
    let site = parsed
        .site
        .as_deref()
        .or(ctx.site.as_deref())
        .unwrap_or("the site");
    restarts
        .into_iter()
        .filter_map(|r| {
            let ts = r.ts?;
            let gap = r.prev.map(|p| ts - p);
            if gap.is_some_and(|g| g >= IDLE_REOPEN_MS) && !r.fields_changed {
                return None;
            }
            let after = gap.map_or(String::new(), |g| {
                format!(", {} s after the request before it", g.max(0) / 1000)
            });
            let why = if r.fields_changed {
                "with other fields: the site's logging configuration changed"
            } else {
                "IIS or the site restarted, or the site's logging configuration changed"
            };
            Some(CrashRow {
                ts: Some(ts),
                server: parsed.server.clone().or_else(|| ctx.server.clone()),
                source: Some(EvidenceSource::Log),
                kind: CrashKind::LogRestart,
                detail: Some(format!(
                    "the W3C log of {site} was begun again{after}, {why}"
                )),
                file: ctx.id,
                offset: r.offset,
                ..Default::default()
            })
        })
        .collect()
}

/// One file's chunks, parsed a wave at a time (see `parse_chunks`).
struct Waves<'a> {
    ctx: &'a FileCtx,
    bytes: &'a [u8],
    fast: bool,
    chunks: &'a [(usize, usize)],
    /// Chunks per wave.
    wave: usize,
    /// Cleared chunk tables, reused by the next wave.
    spare: std::sync::Mutex<Vec<Requests>>,
}

impl Waves<'_> {
    fn is_last(&self, k: usize, j: usize) -> bool {
        k * self.wave + j == self.chunks.len().saturating_sub(1)
    }

    /// Wave `k` parsed in parallel: its first chunk into `result` from the `carried` state,
    /// the others from the `guess`.
    fn parse(
        &self,
        k: usize,
        group: &[(usize, usize)],
        result: Option<Requests>,
        carried: &Start,
        guess: &Start,
    ) -> Vec<ChunkOut> {
        let head = std::sync::Mutex::new(result);
        group
            .par_iter()
            .enumerate()
            .map(|(j, &(s, e))| {
                let table = if j == 0 {
                    head.lock().ok().and_then(|mut h| h.take())
                } else {
                    self.spare.lock().ok().and_then(|mut v| v.pop())
                };
                let from = if j > 0 { guess } else { carried };
                let (ctx, bytes, last) = (self.ctx, self.bytes, self.is_last(k, j));
                parse_chunk(ctx, bytes, from.clone(), (s, e), last, table, self.fast)
            })
            .collect()
    }

    /// Checks each chunk of wave `k` started in the state the chunk before it ended in (each
    /// chunk's true start), parsing it again when not. Returns the state after the wave, or
    /// `None` when a date-less log is split (its day rollovers need one pass in order).
    fn settle(
        &self,
        k: usize,
        group: &[(usize, usize)],
        outs: &mut [ChunkOut],
        mut state: Start,
    ) -> Option<Start> {
        for (j, o) in outs.iter_mut().enumerate() {
            // (The wave's first chunk started right: it holds the result so far.)
            if j > 0 && o.start.layout != state.layout {
                let mut table = std::mem::take(&mut o.requests);
                table.clear();
                let (ctx, bytes, last) = (self.ctx, self.bytes, self.is_last(k, j));
                let from = state.clone();
                *o = parse_chunk(ctx, bytes, from, group[j], last, Some(table), self.fast);
            } else if o.start.seg != state.seg {
                for i in &mut o.issues {
                    if i.once_per == Some(o.start.seg) {
                        i.once_per = Some(state.seg);
                    }
                }
            }
            if o.dateless && self.chunks.len() > 1 {
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
        Some(state)
    }

    /// Appends wave `k`'s chunk tables to the first one (which holds the result so far),
    /// takes their issues and names, and keeps the emptied tables for the next wave.
    fn absorb(
        &self,
        k: usize,
        outs: Vec<ChunkOut>,
        parsed: &mut Parsed,
        issue_chunks: &mut Vec<ChunkIssues>,
    ) -> Option<Requests> {
        let mut outs = outs.into_iter();
        let mut first = outs.next()?;
        let mut acc = std::mem::take(&mut first.requests);
        let rest: Vec<ChunkOut> = outs.collect();
        if k == 0 && self.chunks.len() > 1 && !acc.is_empty() {
            self.reserve(&mut acc, &first, &rest);
        }
        for (j, mut o) in std::iter::once(first).chain(rest).enumerate() {
            // (The first chunk's rows are in `acc` already.)
            if j > 0 {
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
            if j > 0 {
                o.requests.clear();
                if let Ok(mut v) = self.spare.lock() {
                    v.push(o.requests);
                }
            }
        }
        Some(acc)
    }

    /// Hands a wave's rows to `each` (bound to the source) and empties its tables; the wave's
    /// pages of the source are released.
    fn hand_over(
        &self,
        src: &Source,
        group: &[(usize, usize)],
        outs: &mut [ChunkOut],
        each: &mut EachFn<'_>,
    ) {
        let mut tables: Vec<Requests> = outs
            .iter_mut()
            .map(|o| {
                let mut t = std::mem::take(&mut o.requests);
                t.bind(src);
                t
            })
            .collect();
        each(Some(&mut tables));
        for (o, mut t) in outs.iter_mut().zip(tables) {
            t.clear();
            o.requests = t;
        }
        if let (Some(a), Some(b)) = (group.first(), group.last()) {
            src.release(a.0..b.1);
        }
    }

    /// Reserves the whole result once, extrapolated from the first wave (rows from its lines,
    /// string bytes from its columns; 10 % headroom). Unwritten capacity costs no memory, an
    /// underestimate only regrows (in place for buffers this large).
    fn reserve(&self, acc: &mut Requests, first: &ChunkOut, rest: &[ChunkOut]) {
        let group = &self.chunks[..self.wave.min(self.chunks.len())];
        let covered = group.last().map_or(0, |c| c.1) - group.first().map_or(0, |c| c.0);
        let scale = self.bytes.len() as f64 / covered.max(1) as f64;
        let rows: usize = rest.iter().map(|o| o.counts.lines as usize).sum::<usize>()
            + first.counts.lines as usize;
        let sample: Vec<&Requests> = rest.iter().map(|o| &o.requests).collect();
        acc.reserve_total_like((rows as f64 * scale) as usize, &sample, scale, 1.1);
    }
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
    /// Header blocks (see [`Restart`]; those before any row are dropped when merged), the
    /// first [`MAX_RESTARTS`] + 1, and how many more the chunk had after its first row and
    /// before it (those count only if an earlier chunk had rows).
    restarts: Vec<Restart>,
    more_restarts: u64,
    more_leading: u64,
    /// The time of the last row in the chunk's table (which for a wave's first chunk holds the
    /// rows before it too).
    last_ts: Option<i64>,
}

/// A header block written again after data: IIS reopened the log (it restarted, the site's
/// logging changed, or the log had been idle; `notes/iis-logs.md` §1).
#[derive(Debug, Clone, PartialEq)]
struct Restart {
    /// Offset of its `#Date` (or `#Fields`) line.
    offset: u64,
    /// The time `#Date` gives (UTC).
    ts: Option<i64>,
    /// The last row's time before it, when this chunk saw it (else the chunk before's; none:
    /// no row came before, it is the file's top header block).
    prev: Option<i64>,
    /// Its `#Fields` differ from the ones before.
    fields_changed: bool,
}

struct ChunkParser<'c> {
    ctx: &'c FileCtx,
    /// The whole file.
    file: &'c [u8],
    layout: Option<Layout>,
    /// Offset of the `#Fields` line in force (`u64::MAX` before any): keys once-per-segment issues.
    seg: u64,
    fallbacks: Vec<(&'static str, Layout)>,
    /// Value counts whose header-less block no layout could be inferred for (not tried again).
    no_block: Vec<usize>,
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
        no_block: Vec::new(),
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
            restarts: Vec::new(),
            more_restarts: 0,
            more_leading: 0,
            last_ts: None,
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
    p.out.last_ts = p.out.requests.ts.last().copied();
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
            if self.layout.as_ref().is_some_and(|old| *old != l) {
                self.fields_changed(off);
            }
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
            // Every `#Date` is kept: the ones no row comes before (the top header block) are
            // dropped once the chunks are put in order.
            let time = v
                .split(|&c| c == b' ' || c == b'\t')
                .filter(|t| !t.is_empty())
                .nth(1)
                .and_then(wf::parse_time);
            if self.out.restarts.len() > MAX_RESTARTS {
                // A hostile log of `#Date` lines: counted, not kept.
                self.count_more();
            } else {
                self.out.restarts.push(Restart {
                    offset: off,
                    ts: self
                        .directive_day
                        .map(|d| d * 86_400_000 + time.unwrap_or(0)),
                    prev: self.out.requests.ts.last().copied(),
                    fields_changed: false,
                });
            }
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
}

impl ChunkParser<'_> {
    /// One header block more than are kept.
    fn count_more(&mut self) {
        if self.out.requests.is_empty() {
            self.out.more_leading += 1;
        } else {
            self.out.more_restarts += 1;
        }
    }

    /// A `#Fields` line unlike the one before: marks the restart whose header block it belongs
    /// to (its `#Date` a few lines up), or records one of its own.
    fn fields_changed(&mut self, off: u64) {
        let full = self.out.restarts.len() > MAX_RESTARTS;
        match self.out.restarts.last_mut() {
            Some(r) if off.saturating_sub(r.offset) < 4096 => r.fields_changed = true,
            _ if full => self.count_more(),
            _ => self.out.restarts.push(Restart {
                offset: off,
                ts: None,
                prev: self.out.requests.ts.last().copied(),
                fields_changed: true,
            }),
        }
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

mod batch;
mod infer;
mod layout;
mod row;
pub use layout::MAX_TIME_TAKEN_MS;
use layout::*;

#[cfg(test)]
mod tests;
