//! Shared machinery of the two W3C-framed text formats (access logs and HTTPERR): line walking,
//! tokenizing, timestamps, numbers, chunking at newline boundaries, and the merge of chunk issues.
//!
//! Everything here works on borrowed slices of the mapped file; nothing allocates per line.

use crate::tables::{FileId, IssueRow, LineCounts, Millis, Severity, packed};
use memchr::memmem;

/// Files above this size are cut into chunks parsed in parallel.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// Tokens beyond this on one line make the line a `field_count` reject: it bounds the token
/// buffer whatever the input (the widest IIS layout with custom fields is well under 100).
pub const MAX_TOKENS: usize = 1024;
/// Lines longer than this leave [`fast_line`] for the general path (which rejects those over
/// the longest value a table holds).
pub const MAX_LINE_SCAN: usize = 1 << 20;

/// Cuts `bytes` into ranges of about `chunk` bytes, each ending just after a newline (or at EOF).
pub fn split_chunks(bytes: &[u8], chunk: usize) -> Vec<(usize, usize)> {
    let chunk = chunk.max(1);
    let mut out = Vec::with_capacity(bytes.len() / chunk + 1);
    let mut start = 0;
    while start < bytes.len() {
        let want = start.saturating_add(chunk).min(bytes.len());
        let end = if want >= bytes.len() {
            bytes.len()
        } else {
            match memchr::memchr(b'\n', &bytes[want - 1..]) {
                Some(i) => want + i,
                None => bytes.len(),
            }
        };
        out.push((start, end));
        start = end;
    }
    out
}

/// Whether `pos` is where a line's content starts, the way the sequential walk sees it: after a
/// newline (or the file start, or a BOM), skipping NUL padding that a crash left before it.
fn at_line_start(bytes: &[u8], pos: usize) -> bool {
    let mut p = pos;
    while p > 0 && bytes[p - 1] == 0 {
        p -= 1;
    }
    p == 0 || bytes[p - 1] == b'\n' || (p == 3 && bytes.starts_with(b"\xEF\xBB\xBF"))
}

/// Offsets of the directive lines of a file, found in one forward pass, so each chunk finds the
/// state in force before it by binary search instead of scanning back over the whole file.
#[derive(Debug, Default)]
pub struct Directives {
    fields: Vec<usize>,
    dates: Vec<usize>,
}

impl Directives {
    pub fn scan(bytes: &[u8]) -> Directives {
        // Large files are scanned in parallel pieces (a directive's own line decides whether it
        // counts, so the pieces need not end at newlines), then concatenated in order.
        const PIECE: usize = 16 << 20;
        if bytes.len() > 2 * PIECE {
            use rayon::prelude::*;
            let parts: Vec<Directives> = (0..bytes.len().div_ceil(PIECE))
                .into_par_iter()
                .map(|k| Self::scan_range(bytes, k * PIECE, ((k + 1) * PIECE).min(bytes.len())))
                .collect();
            let mut d = Directives::default();
            for p in parts {
                d.fields.extend(p.fields);
                d.dates.extend(p.dates);
            }
            return d;
        }
        Self::scan_range(bytes, 0, bytes.len())
    }

    fn scan_range(bytes: &[u8], start: usize, end: usize) -> Directives {
        let mut d = Directives::default();
        for i in memchr::memchr_iter(b'#', &bytes[start..end]).map(|i| i + start) {
            if !at_line_start(bytes, i) {
                continue;
            }
            let rest = &bytes[i..];
            if rest.starts_with(b"#Fields:") {
                d.fields.push(i);
            } else if rest.starts_with(b"#Date:") || rest.starts_with(b"#Start-Date:") {
                d.dates.push(i);
            }
        }
        d
    }

    fn last<'a>(bytes: &'a [u8], list: &[usize], pos: usize) -> Option<(usize, &'a [u8])> {
        let k = list.partition_point(|&o| o < pos);
        let off = *list.get(k.checked_sub(1)?)?;
        let rest = bytes.get(off..)?;
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        let colon = memchr::memchr(b':', line)?;
        Some((off, trim_eol(&line[colon + 1..])))
    }

    /// The last `#Fields:` line before `pos`: its offset and the names after the colon.
    pub fn fields_before<'a>(&self, bytes: &'a [u8], pos: usize) -> Option<(usize, &'a [u8])> {
        Self::last(bytes, &self.fields, pos)
    }

    /// The last `#Date:` or `#Start-Date:` line before `pos`: its offset and value.
    pub fn date_before<'a>(&self, bytes: &'a [u8], pos: usize) -> Option<(usize, &'a [u8])> {
        Self::last(bytes, &self.dates, pos)
    }
}

/// Strips one trailing `\r` and trailing NUL padding.
pub fn trim_eol(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | 0] = line {
        line = rest;
    }
    line
}

/// One line of a chunk.
pub struct Line<'a> {
    /// Offset in the file of the line start.
    pub offset: u64,
    /// Content without the line terminator.
    pub bytes: &'a [u8],
    /// True for the last line of the file when it has no final newline.
    pub unterminated: bool,
}

/// Walks the lines of `bytes[start..end]`. The caller guarantees `start` is a line start.
pub struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8], start: usize, end: usize) -> Self {
        Lines {
            bytes,
            pos: start,
            end: end.min(bytes.len()),
        }
    }
    /// Where the next line starts.
    pub fn pos(&self) -> usize {
        self.pos
    }
}

/// A data line found and tokenized in one pass by [`fast_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastLine {
    /// End of the content (before `\r\n` or `\n`).
    pub content_end: usize,
    /// Start of the next line.
    pub next: usize,
    pub unterminated: bool,
    /// Every byte of the content is ASCII.
    pub ascii: bool,
    /// How many token edges were written (twice the tokens; see [`Edges`]).
    pub edges: usize,
}

/// A line's tokens, however they were found: the general path's [`Tok`] list or the one-pass
/// path's [`Edges`]. The record code reads either through this.
pub trait Tokens {
    /// How many tokens.
    fn count(&self) -> usize;
    /// Token `k`, if there is one.
    fn tok(&self, k: usize) -> Option<Tok>;
}

impl Tokens for [Tok] {
    #[inline(always)]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn tok(&self, k: usize) -> Option<Tok> {
        self.get(k).copied()
    }
}

/// Token bounds of a plain data line found by [`fast_line`]: token `k` is bytes
/// `e[2k]..e[2k + 1]` of the line. Kept as the flat list of the positions where bytes turn from
/// separator to token and back (the bit transitions of the separator masks), written without a
/// branch or capacity check per token; never quoted, so never escaped.
#[derive(Clone, Copy)]
pub struct Edges<'a>(pub &'a [u32]);

/// Room [`fast_line`] needs to write a line's edges: those of [`MAX_TOKENS`] tokens plus one
/// block's worth written before the count is checked.
pub const EDGES_ROOM: usize = 2 * MAX_TOKENS + 72;

impl Tokens for Edges<'_> {
    #[inline(always)]
    fn count(&self) -> usize {
        self.0.len() / 2
    }
    #[inline(always)]
    fn tok(&self, k: usize) -> Option<Tok> {
        match self.0.get(2 * k..2 * k + 2) {
            Some(&[start, end]) => Some(Tok {
                start,
                end,
                escaped: false,
            }),
            _ => None,
        }
    }
}

/// The line starting at `pos` (ending at a newline or at `end`), tokenized in the same pass
/// that finds its end, its token [`Edges`] written to the start of `e` (which needs
/// [`EDGES_ROOM`]): the common case of [`Lines`] + [`classify`] + [`tokenize_ascii`], which it
/// matches exactly. `None` when the line is anything but a plain data line (a directive,
/// blank, NUL padding, a BOM, quotes, too many tokens, too long): those take the general path.
#[inline(always)]
pub fn fast_line<M: Masker>(
    masker: M,
    bytes: &[u8],
    pos: usize,
    end: usize,
    e: &mut [u32],
) -> Option<FastLine> {
    let end = end.min(bytes.len());
    match bytes.get(pos) {
        None | Some(b'#') | Some(0) => return None,
        Some(0xEF) if pos == 0 => return None,
        _ => {}
    }
    let e = e.get_mut(..EDGES_ROOM)?;
    let mut n = 0usize;
    // Bit 0: the byte before the block is a separator (the line start counts as one).
    let mut prev_sep = 1u64;
    let mut high = 0u64;
    let mut b = 0usize;
    // Where the first token starts, when in the first block: the checks after the loop use it
    // and the line end instead of reading edges back just after the wide stores wrote them
    // (a load from a store in flight stalls).
    let mut first_tok = None;
    let line_end = loop {
        let at = pos + b;
        if at >= end {
            break end;
        }
        prefetch_ahead(bytes, at);
        let m = block_masks64_with(masker, bytes, at, (end - at).min(64));
        // Bytes past the chunk end count as separators; a newline ends the line here.
        let nl = m.newline & !m.past_end;
        let valid = if nl != 0 {
            nl.trailing_zeros() as usize
        } else {
            64
        };
        let keep = if valid < 64 { !(!0u64 << valid) } else { !0 };
        if m.quote & keep != 0 {
            return None;
        }
        high |= m.high & keep;
        let sep = m.sep | !keep;
        if b == 0 && sep != !0 {
            first_tok = Some((!sep).trailing_zeros() as usize);
        }
        // Token starts and ends alternate: every change between separator and not.
        let edges = sep ^ (sep << 1 | prev_sep);
        prev_sep = sep >> 63;
        // At most 64 edges a block: the room is checked once per block, not per edge.
        if n > 2 * MAX_TOKENS {
            return None;
        }
        let out: &mut [u32; 64] = (&mut e[n..n + 64]).try_into().ok()?;
        n += masker.edges(edges, b as u32, out);
        if nl != 0 {
            break at + valid;
        }
        b += 64;
        if b > MAX_LINE_SCAN {
            return None;
        }
    };
    let len = line_end - pos;
    // A token still open at the end (a line ending at the chunk end, or whose length is a
    // multiple of 64) closes there.
    if n % 2 == 1 {
        e[n] = len as u32;
        n += 1;
    }
    if n > 2 * MAX_TOKENS {
        return None;
    }
    let (next, unterminated) = if line_end < end {
        (line_end + 1, false)
    } else {
        (end, end == bytes.len())
    };
    // One `\r` before the newline is part of the terminator: it can only sit in the last token.
    let mut content_end = line_end;
    if len > 0 && bytes[line_end - 1] == b'\r' {
        content_end -= 1;
        // The CR, a token byte, ends the last token at the line end: that token now ends one
        // byte earlier, or is gone if the CR was all of it.
        if len == 1 || matches!(bytes[line_end - 2], b' ' | b'\t') {
            n = n.saturating_sub(2);
        } else if n >= 2 {
            e[n - 1] = (len - 1) as u32;
        }
    }
    let first_tok = match (first_tok, n) {
        (_, 0) => return None,
        (Some(k), _) => k,
        (None, _) => e[0] as usize,
    };
    // A blank line (also one of carriage returns) or NUL padding at its end: the general path.
    if content_end.checked_sub(1).map(|i| bytes[i]) == Some(0) || bytes[pos + first_tok] == b'\r' {
        return None;
    }
    Some(FastLine {
        content_end,
        next,
        unterminated,
        ascii: high == 0,
        edges: n,
    })
}

/// How far ahead of the tokenizer the file is asked for.
const PREFETCH_AHEAD: usize = 4096;

/// Asks for the file's bytes [`PREFETCH_AHEAD`] past `at`. A mapped log comes from memory:
/// the hardware prefetcher stops at each 4 KiB page, and the tokenizer waited for every page.
/// A hint: it never faults, even past the end of the mapping.
#[inline(always)]
fn prefetch_ahead(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and never faults; the address is only
    // computed (wrapping), not dereferenced.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().wrapping_add(at + PREFETCH_AHEAD).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;
    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let rest = &self.bytes[start..self.end];
        let (content, unterminated) = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.pos = start + i + 1;
                (&rest[..i], false)
            }
            None => {
                self.pos = self.end;
                (rest, self.end == self.bytes.len())
            }
        };
        let content = match content {
            [rest @ .., b'\r'] => rest,
            c => c,
        };
        Some(Line {
            offset: start as u64,
            bytes: content,
            unterminated,
        })
    }
}

/// A token of a data line: a range of the line, quoted (`"…"`, `""` escapes) or bare.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tok {
    pub start: u32,
    pub end: u32,
    /// Quoted with at least one `""` escape inside (needs unescaping when read).
    pub escaped: bool,
}

/// Splits `line` on runs of spaces and tabs into `toks` (cleared first). A token starting with
/// `"` runs to the matching close quote (`""` is an escaped quote), as the IIS Advanced Logging
/// module and other W3C writers quote values holding spaces; an unclosed quote runs to the end
/// of the line. Returns false when the line holds more than [`MAX_TOKENS`] tokens.
#[inline]
pub fn tokenize(line: &[u8], toks: &mut Vec<Tok>) -> bool {
    tokenize_ascii(line, toks).is_some()
}

/// [`tokenize`], also telling whether the line is all ASCII (`Some(true)`): the same pass over
/// the bytes answers it, so the caller can skip a UTF-8 check. `None` for too many tokens.
///
/// Lines without quotes (all IIS-written lines) take a branch-light path: 64-byte blocks give
/// separator masks, and token starts and ends fall out of them as bit transitions. A quote
/// anywhere sends the line to `tokenize_quoted`.
#[inline]
pub fn tokenize_ascii(line: &[u8], toks: &mut Vec<Tok>) -> Option<bool> {
    tokenize_ascii_in(line, 0, line.len(), toks)
}

/// [`tokenize_ascii`] of the line `buf[at..at + n]`: the bytes after the line are read (and
/// ignored) in its last block, sparing a copy per line.
#[inline]
pub fn tokenize_ascii_in(buf: &[u8], at: usize, n: usize, toks: &mut Vec<Tok>) -> Option<bool> {
    toks.clear();
    let line = buf.get(at..at.saturating_add(n))?;
    // Lines longer than u32 cannot be addressed by a Tok; they are no W3C record anyway.
    if n > u32::MAX as usize {
        return None;
    }
    let mut runs = TokenRuns::new();
    let mut high = 0u64;
    let mut b = 0usize;
    while b < n {
        let m = block_masks64(buf, at + b, n - b);
        if m.quote != 0 {
            return tokenize_quoted(line, toks);
        }
        high |= m.high;
        if !runs.block(b, m.sep, toks) {
            return None;
        }
        b += 64;
    }
    runs.finish(n, toks);
    Some(high == 0)
}

/// Tokens as the runs of non-separators, from the separator masks of successive 64-byte blocks.
struct TokenRuns {
    /// Bit 0: the byte before the block is a separator (the line start counts as one).
    prev_sep: u64,
    /// Tokens closed so far (the k-th end closes the k-th token).
    closed: usize,
}

impl TokenRuns {
    fn new() -> TokenRuns {
        TokenRuns {
            prev_sep: 1,
            closed: 0,
        }
    }
    /// Adds the tokens starting and ending in the block at `b` (its separator mask `sep`);
    /// false past [`MAX_TOKENS`].
    #[inline(always)]
    fn block(&mut self, b: usize, sep: u64, toks: &mut Vec<Tok>) -> bool {
        let word = !sep;
        let mut starts = word & (sep << 1 | self.prev_sep);
        let mut ends = sep & (word << 1 | (self.prev_sep ^ 1));
        self.prev_sep = sep >> 63;
        // (No popcount instruction in the x86-64 baseline: count only when it can matter.)
        if toks.len() + 64 > MAX_TOKENS && toks.len() + starts.count_ones() as usize > MAX_TOKENS {
            return false;
        }
        // Starts first: an end may close a token opened in this block.
        while starts != 0 {
            toks.push(Tok {
                start: (b + starts.trailing_zeros() as usize) as u32,
                end: 0,
                escaped: false,
            });
            starts &= starts - 1;
        }
        while ends != 0 {
            if let Some(t) = toks.get_mut(self.closed) {
                t.end = (b + ends.trailing_zeros() as usize) as u32;
            }
            self.closed += 1;
            ends &= ends - 1;
        }
        true
    }
    /// Closes a token still open at the line end `n` (a line whose length is a multiple of 64).
    #[inline(always)]
    fn finish(&self, n: usize, toks: &mut [Tok]) {
        if let Some(t) = toks.get_mut(self.closed) {
            t.end = n as u32;
        }
    }
}

/// Masks of the 64 bytes of `buf` at `at`, of which the first `valid` belong to the line; the
/// others count as separators (and as neither quotes nor high bytes).
struct BlockMasks64 {
    /// Bit `k` set when `line[b + k]` is a space or a tab (or past the end).
    sep: u64,
    quote: u64,
    high: u64,
    newline: u64,
    /// Bit `k` set when `line[b + k]` is past the end.
    past_end: u64,
}

/// The `N` bytes of `buf` at `at`, or near its end a zero-padded copy of what is left.
#[inline(always)]
fn block_at<'a, const N: usize>(buf: &'a [u8], at: usize, copy: &'a mut [u8; N]) -> &'a [u8; N] {
    match buf
        .get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => a,
        None => {
            let tail = buf.get(at..).unwrap_or(&[]);
            copy[..tail.len()].copy_from_slice(tail);
            copy
        }
    }
}

#[inline(always)]
fn block_masks64(buf: &[u8], at: usize, valid: usize) -> BlockMasks64 {
    block_masks64_with(Sse2, buf, at, valid)
}

/// [`block_masks64`] with the masks of the 64 bytes computed by `m`.
#[inline(always)]
fn block_masks64_with<M: Masker>(m: M, buf: &[u8], at: usize, valid: usize) -> BlockMasks64 {
    let mut copy = [0u8; 64];
    let block = block_at(buf, at, &mut copy);
    let past_end = if valid < 64 { !0u64 << valid } else { 0 };
    let r = m.masks(block);
    BlockMasks64 {
        sep: r.sep | past_end,
        quote: r.quote & !past_end,
        high: r.high & !past_end,
        newline: r.newline,
        past_end,
    }
}

/// The four byte classes of a 64-byte block as bit masks (bit `k` for byte `k`).
#[derive(Clone, Copy)]
pub struct RawMasks {
    /// Space or tab.
    pub sep: u64,
    pub quote: u64,
    /// At or above 0x80.
    pub high: u64,
    pub newline: u64,
}

/// Computes [`RawMasks`]: with the instructions every x86-64 has (SSE2), or wider ones the CPU
/// turns out to have (chosen once per chunk by [`with_masker`]). All give the same masks.
pub trait Masker: Copy {
    fn masks(self, block: &[u8; 64]) -> RawMasks;

    /// The packed source span ([`packed`]) of one field of each batched line: line `r` starts
    /// at `offs[r]` in `file` and has its token edges at `edges[r * stride..]`; the field's
    /// are at `k2` and `k2 + 1`; a `-` is null. One value per line into `out`.
    #[inline(always)]
    fn field_spans(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        out: &mut [u64],
    ) {
        field_spans_scalar(file, (edges, stride, k2), offs, out)
    }

    /// The number ([`parse_u64_at`]) one field of each batched line holds (laid out as for
    /// [`Masker::field_spans`]): into `vals`, and whether it is one into `ok` (false for a null
    /// `-` or anything else that is not decimal digits fitting a `u64`).
    #[inline(always)]
    fn field_numbers(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        (vals, ok): (&mut [u64], &mut [bool]),
    ) {
        field_numbers_scalar(file, (edges, stride, k2), offs, (vals, ok))
    }

    /// Writes `base +` the position of each set bit of `edges`, in order, to the start of `out`
    /// and returns how many. Slots past that count may be overwritten with junk.
    #[inline(always)]
    fn edges(self, mut edges: u64, base: u32, out: &mut [u32; 64]) -> usize {
        let count = edges.count_ones() as usize;
        // The first 8 (and 16) written whatever the count (past it they are junk that is never
        // read): a block's edge count varies, and a loop ending at it is a mispredicted branch.
        let mut put = |slots: &mut [u32]| {
            for slot in slots {
                *slot = base + edges.trailing_zeros();
                edges &= edges.wrapping_sub(1);
            }
        };
        put(&mut out[..8]);
        if count > 8 {
            put(&mut out[8..16]);
            let mut i = 16;
            while edges != 0 {
                out[i & 63] = base + edges.trailing_zeros();
                i += 1;
                edges &= edges - 1;
            }
        }
        count
    }
}

/// 16 bytes at a time: SSE2, part of every x86-64 (and a plain loop elsewhere).
#[derive(Clone, Copy)]
pub struct Sse2;

impl Masker for Sse2 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            let (mut sep, mut quote, mut high, mut newline) = (0u64, 0u64, 0u64, 0u64);
            for k in 0..4 {
                // SAFETY: SSE2 is part of x86-64; the load reads bytes 16k..16k+16 of `block`.
                unsafe {
                    let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
                    let s = _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\t' as i8)),
                    );
                    let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                    let n = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
                    newline |= (_mm_movemask_epi8(n) as u32 as u64) << (16 * k);
                    sep |= (_mm_movemask_epi8(s) as u32 as u64) << (16 * k);
                    quote |= (_mm_movemask_epi8(q) as u32 as u64) << (16 * k);
                    high |= (_mm_movemask_epi8(v) as u32 as u64) << (16 * k);
                }
            }
            RawMasks {
                sep,
                quote,
                high,
                newline,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut m = RawMasks {
                sep: 0,
                quote: 0,
                high: 0,
                newline: 0,
            };
            for (k, &c) in block.iter().enumerate() {
                m.newline |= ((c == b'\n') as u64) << k;
                m.sep |= (matches!(c, b' ' | b'\t') as u64) << k;
                m.quote |= ((c == b'"') as u64) << k;
                m.high |= ((c >= 0x80) as u64) << k;
            }
            m
        }
    }
}

/// 32 bytes at a time. Only constructed by [`with_masker`] once the CPU is known to have AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Masker for Avx2 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        use std::arch::x86_64::*;
        let (mut sep, mut quote, mut high, mut newline) = (0u64, 0u64, 0u64, 0u64);
        for k in 0..2 {
            // SAFETY: an `Avx2` exists only where the CPU has AVX2 (`with_masker`); the load
            // reads bytes 32k..32k+32 of `block`.
            unsafe {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * k).cast());
                let s = _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)),
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\t' as i8)),
                );
                let q = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
                let n = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
                newline |= (_mm256_movemask_epi8(n) as u32 as u64) << (32 * k);
                sep |= (_mm256_movemask_epi8(s) as u32 as u64) << (32 * k);
                quote |= (_mm256_movemask_epi8(q) as u32 as u64) << (32 * k);
                high |= (_mm256_movemask_epi8(v) as u32 as u64) << (32 * k);
            }
        }
        RawMasks {
            sep,
            quote,
            high,
            newline,
        }
    }
}

/// 64 bytes at a time, compared straight into mask registers, and a block's token edges
/// gathered by one compress. Only constructed by [`with_masker`] once the CPU is known to have
/// AVX-512F, BW and VBMI2.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Masker for Avx512 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        use std::arch::x86_64::*;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F and BW (`with_masker`);
        // the load reads the 64 bytes of `block`.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            RawMasks {
                sep: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8))
                    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\t' as i8)),
                quote: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8)),
                high: _mm512_movepi8_mask(v),
                newline: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8)),
            }
        }
    }

    /// Eight lines at a time: their edges and the byte of one-byte values gathered, the spans
    /// packed and the nulls blended in 512-bit lanes.
    #[inline(always)]
    fn field_spans(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        out: &mut [u64],
    ) {
        use std::arch::x86_64::*;
        let n = offs.len().min(out.len());
        // The gathers read `edges[r * stride + k2]` and the one after for `r < n`, as 32-bit
        // indices; the scalar code takes anything else.
        let fits = k2 + 1 < stride
            && n.checked_mul(stride)
                .is_some_and(|e| e <= edges.len() && e < i32::MAX as usize);
        if !fits {
            return field_spans_scalar(file, (edges, stride, k2), offs, out);
        }
        let whole = n / 8 * 8;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F and AVX2 (`with_masker`).
        // The edge gathers read indices below `n * stride <= edges.len()` (checked above, as
        // `k2 + 1 < stride`); the offset loads and span stores read and write 8 of the first
        // `whole <= n` slots of `offs` and `out`; the byte gather reads the 4 bytes ending at
        // `at` only for lanes with `3 <= at < file.len()` (others take the scalar code).
        unsafe {
            let base = edges.as_ptr().cast::<i32>();
            let step = _mm256_mullo_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(stride as i32),
            );
            let one = _mm512_set1_epi64(1);
            let three = _mm512_set1_epi64(3);
            let file_len = _mm512_set1_epi64(file.len() as i64);
            let dash = _mm512_set1_epi64(i64::from(b'-'));
            let max_start = _mm512_set1_epi64(packed::MAX_START as i64);
            let max_len = _mm512_set1_epi64(packed::MAX_LEN as i64);
            let null = _mm512_set1_epi64(packed::NULL as i64);
            let empty = _mm512_set1_epi64(packed::EMPTY as i64);
            let mut r = 0;
            while r < whole {
                let idx = _mm256_add_epi32(step, _mm256_set1_epi32((r * stride + k2) as i32));
                let s = _mm256_i32gather_epi32::<4>(base, idx);
                let t =
                    _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(idx, _mm256_set1_epi32(1)));
                let off = _mm512_loadu_si512(offs.as_ptr().add(r).cast());
                let at = _mm512_add_epi64(off, _mm512_cvtepu32_epi64(s));
                let len = _mm512_cvtepu32_epi64(_mm256_sub_epi32(t, s));
                let len1 = _mm512_cmpeq_epi64_mask(len, one);
                let readable =
                    _mm512_cmpge_epu64_mask(at, three) & _mm512_cmplt_epu64_mask(at, file_len);
                if len1 & !readable != 0 {
                    let rows = r * stride..;
                    field_spans_scalar(
                        file,
                        (&edges[rows], stride, k2),
                        &offs[r..r + 8],
                        &mut out[r..r + 8],
                    );
                    r += 8;
                    continue;
                }
                // The byte of a one-byte value: the top one of the 4 ending at it.
                let word = _mm512_mask_i64gather_epi32::<1>(
                    _mm256_setzero_si256(),
                    len1,
                    _mm512_sub_epi64(at, three),
                    file.as_ptr().cast(),
                );
                let byte = _mm512_srli_epi64::<24>(_mm512_cvtepu32_epi64(word));
                let is_null = len1 & _mm512_cmpeq_epi64_mask(byte, dash);
                let fit =
                    _mm512_cmple_epu64_mask(at, max_start) & _mm512_cmple_epu64_mask(len, max_len);
                let v = _mm512_or_si512(_mm512_slli_epi64::<{ packed::LEN_BITS }>(at), len);
                let v = _mm512_mask_blend_epi64(fit, empty, v);
                let v = _mm512_mask_blend_epi64(is_null, v, null);
                _mm512_storeu_si512(out.as_mut_ptr().add(r).cast(), v);
                r += 8;
            }
        }
        field_spans_scalar(
            file,
            (&edges[whole * stride..], stride, k2),
            &offs[whole..n],
            &mut out[whole..n],
        );
    }

    /// Eight lines at a time: each value's 8 bytes gathered and read as [`parse_u64_at`] reads
    /// one, in 64-bit lanes; values it cannot take (over 8 digits, near the file's end) are
    /// read a line at a time.
    #[inline(always)]
    fn field_numbers(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        (vals, ok): (&mut [u64], &mut [bool]),
    ) {
        use std::arch::x86_64::*;
        let n = offs.len().min(vals.len()).min(ok.len());
        let fits = k2 + 1 < stride
            && file.len() >= 8
            && n.checked_mul(stride)
                .is_some_and(|e| e <= edges.len() && e < i32::MAX as usize);
        if !fits {
            return field_numbers_scalar(file, (edges, stride, k2), offs, (vals, ok));
        }
        let whole = n / 8 * 8;
        let mut r = 0;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F/DQ and AVX2
        // (`with_masker`). The edge gathers read indices below `n * stride <= edges.len()`
        // (checked above, as `k2 + 1 < stride`); the offset loads and value stores read and
        // write 8 of the first `whole <= n` slots; the byte gather reads the 8 bytes at `at`
        // only for lanes with `at + 8 <= file.len()` (the others are read a line at a time).
        unsafe {
            let base = edges.as_ptr().cast::<i32>();
            let step = _mm256_mullo_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(stride as i32),
            );
            let q = |x: u64| _mm512_set1_epi64(x as i64);
            let (one, eight, last) = (q(1), q(8), q(file.len() as u64 - 8));
            let (hi, threes, sixes) = (
                q(0xF0F0_F0F0_F0F0_F0F0),
                q(0x3030_3030_3030_3030),
                q(0x0606_0606_0606_0606),
            );
            while r < whole {
                let idx = _mm256_add_epi32(step, _mm256_set1_epi32((r * stride + k2) as i32));
                let s = _mm256_i32gather_epi32::<4>(base, idx);
                let t =
                    _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(idx, _mm256_set1_epi32(1)));
                let at = _mm512_add_epi64(
                    _mm512_loadu_si512(offs.as_ptr().add(r).cast()),
                    _mm512_cvtepu32_epi64(s),
                );
                let len = _mm512_cvtepu32_epi64(_mm256_sub_epi32(t, s));
                let lanes = _mm512_cmpge_epu64_mask(len, one)
                    & _mm512_cmple_epu64_mask(len, eight)
                    & _mm512_cmple_epu64_mask(at, last);
                let w = _mm512_mask_i64gather_epi64::<1>(
                    _mm512_setzero_si512(),
                    lanes,
                    at,
                    file.as_ptr().cast(),
                );
                // The digits moved to the top of the word, '0's below them; every byte a digit.
                let bits = _mm512_slli_epi64::<3>(len);
                let x = _mm512_or_si512(
                    _mm512_sllv_epi64(w, _mm512_sub_epi64(q(64), bits)),
                    _mm512_srlv_epi64(threes, bits),
                );
                let digits = _mm512_cmpeq_epi64_mask(_mm512_and_si512(x, hi), threes)
                    & _mm512_cmpeq_epi64_mask(
                        _mm512_and_si512(_mm512_add_epi64(x, sixes), hi),
                        threes,
                    );
                // Pairwise: 8 digits → 4 → 2 → 1 (as `parse_u64_at`).
                let d = _mm512_sub_epi64(x, threes);
                let d = _mm512_and_si512(
                    _mm512_add_epi64(_mm512_mullo_epi64(d, q(10)), _mm512_srli_epi64::<8>(d)),
                    q(0x00FF_00FF_00FF_00FF),
                );
                let d = _mm512_and_si512(
                    _mm512_add_epi64(_mm512_mullo_epi64(d, q(100)), _mm512_srli_epi64::<16>(d)),
                    q(0x0000_FFFF_0000_FFFF),
                );
                let v = _mm512_and_si512(
                    _mm512_add_epi64(_mm512_mullo_epi64(d, q(10000)), _mm512_srli_epi64::<32>(d)),
                    q(0xFFFF_FFFF),
                );
                _mm512_storeu_si512(vals.as_mut_ptr().add(r).cast(), v);
                let good = lanes & digits;
                for (j, k) in ok[r..r + 8].iter_mut().enumerate() {
                    *k = good >> j & 1 != 0;
                }
                let mut rest = !lanes;
                while rest != 0 {
                    let i = r + rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    field_numbers_scalar(
                        file,
                        (&edges[i * stride..], stride, k2),
                        &offs[i..i + 1],
                        (&mut vals[i..i + 1], &mut ok[i..i + 1]),
                    );
                }
                r += 8;
            }
        }
        field_numbers_scalar(
            file,
            (&edges[whole * stride..], stride, k2),
            &offs[whole..n],
            (&mut vals[whole..n], &mut ok[whole..n]),
        );
    }

    /// The positions gathered by one compress of the byte indices 0..64 (VBMI2), widened to
    /// 32 bits 16 at a time: no loop over the bits.
    #[inline(always)]
    fn edges(self, edges: u64, base: u32, out: &mut [u32; 64]) -> usize {
        use std::arch::x86_64::*;
        static IOTA: [u8; 64] = {
            let mut a = [0u8; 64];
            let mut i = 0;
            while i < 64 {
                a[i] = i as u8;
                i += 1;
            }
            a
        };
        let count = edges.count_ones() as usize;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F, BW and VBMI2
        // (`with_masker`); the loads read the 64 bytes of `IOTA`, each store writes 16 of the
        // 64 slots of `out`.
        unsafe {
            let idx = _mm512_maskz_compress_epi8(edges, _mm512_loadu_si512(IOTA.as_ptr().cast()));
            let b = _mm512_set1_epi32(base as i32);
            let p = out.as_mut_ptr();
            let wide = |q: __m128i| _mm512_add_epi32(_mm512_cvtepu8_epi32(q), b);
            _mm512_storeu_si512(p.cast(), wide(_mm512_castsi512_si128(idx)));
            if count > 16 {
                _mm512_storeu_si512(p.add(16).cast(), wide(_mm512_extracti32x4_epi32::<1>(idx)));
                if count > 32 {
                    _mm512_storeu_si512(
                        p.add(32).cast(),
                        wide(_mm512_extracti32x4_epi32::<2>(idx)),
                    );
                    if count > 48 {
                        let q = _mm512_extracti32x4_epi32::<3>(idx);
                        _mm512_storeu_si512(p.add(48).cast(), wide(q));
                    }
                }
            }
        }
        count
    }
}

/// [`Masker::field_spans`], a line at a time.
#[inline(always)]
pub fn field_spans_scalar(
    file: &[u8],
    (edges, stride, k2): (&[u32], usize, usize),
    offs: &[usize],
    out: &mut [u64],
) {
    for ((row, &off), o) in edges.chunks_exact(stride.max(1)).zip(offs).zip(out) {
        let (Some(&s), Some(&t)) = (row.get(k2), row.get(k2 + 1)) else {
            continue;
        };
        let at = off + s as usize;
        let len = t.wrapping_sub(s) as usize;
        *o = packed::source(at, len, len == 1 && file.get(at) == Some(&b'-'));
    }
}

/// [`Masker::field_numbers`], a line at a time.
#[inline(always)]
pub fn field_numbers_scalar(
    file: &[u8],
    (edges, stride, k2): (&[u32], usize, usize),
    offs: &[usize],
    (vals, ok): (&mut [u64], &mut [bool]),
) {
    for (((row, &off), v), k) in edges
        .chunks_exact(stride.max(1))
        .zip(offs)
        .zip(vals)
        .zip(ok)
    {
        let (Some(&s), Some(&t)) = (row.get(k2), row.get(k2 + 1)) else {
            continue;
        };
        let n = parse_u64_at(file, off + s as usize, t.wrapping_sub(s) as usize);
        (*v, *k) = (n.unwrap_or(0), n.is_some());
    }
}

/// Something to run with the widest [`Masker`] this CPU has: `run` is compiled once per masker,
/// each copy with the instructions its masker needs enabled.
pub trait WithMasker {
    type Out;
    fn run<M: Masker>(self, m: M) -> Self::Out;
}

/// Runs `f` with the widest [`Masker`] the CPU has (the check is cached by the standard
/// library: a load and a test).
#[inline]
pub fn with_masker<F: WithMasker>(f: F) -> F::Out {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(
            enable = "avx512f,avx512bw,avx512dq,avx512vbmi2,avx2,bmi1,bmi2,popcnt,lzcnt"
        )]
        fn avx512<F: WithMasker>(f: F) -> F::Out {
            f.run(Avx512(()))
        }
        #[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
        fn avx2<F: WithMasker>(f: F) -> F::Out {
            f.run(Avx2(()))
        }
        if has_avx512() {
            // SAFETY: the CPU has every feature `avx512` is compiled for (`has_avx512`).
            return unsafe { avx512(f) };
        }
        if has_avx2() {
            // SAFETY: the CPU has every feature `avx2` is compiled for (`has_avx2`).
            return unsafe { avx2(f) };
        }
    }
    f.run(Sse2)
}

/// The CPU has what the AVX2 variant of [`with_masker`] is compiled for.
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
}

/// The CPU has what the AVX-512 variant of [`with_masker`] is compiled for.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    has_avx2()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
}

/// [`tokenize_ascii`] for lines holding a quote.
#[inline(never)]
fn tokenize_quoted(line: &[u8], toks: &mut Vec<Tok>) -> Option<bool> {
    toks.clear();
    // Lines longer than u32 cannot be addressed by a Tok; they are no W3C record anyway.
    if line.len() > u32::MAX as usize {
        return None;
    }
    let n = line.len();
    let sep_or_quote = |c: u8| matches!(c, b' ' | b'\t' | b'"');
    // The separators and quotes of the line come from a 16-byte block mask (SSE2 on x86-64):
    // one pass, no call per token. Positions before `skip` (inside a quoted token and the text
    // glued to it) are ignored.
    let mut open = (n > 0 && !sep_or_quote(line[0])).then_some(0);
    let mut skip = 0;
    let mut b = 0;
    let mut high = 0u32;
    while b < n {
        let m = block_masks(line, b);
        high |= m.high;
        let mut mask = if b + 16 <= skip { 0 } else { m.sep_quote };
        while mask != 0 {
            let k = mask.trailing_zeros();
            let p = b + k as usize;
            mask &= mask - 1;
            if p < skip {
                continue;
            }
            if m.quote >> k & 1 != 0 {
                if open.is_some() {
                    // A quote inside a bare token is just text.
                    continue;
                }
                // Between tokens, so at a token start.
                if toks.len() >= MAX_TOKENS {
                    return None;
                }
                skip = quoted(line, p, toks);
                continue;
            }
            if let Some(s) = open.take() {
                if toks.len() >= MAX_TOKENS {
                    return None;
                }
                toks.push(Tok {
                    start: s as u32,
                    end: p as u32,
                    escaped: false,
                });
            }
            if p + 1 < n {
                // The next byte's class from the mask when it is in this block.
                let next_sep = if k < 15 {
                    m.sep_quote >> (k + 1) & 1 != 0
                } else {
                    sep_or_quote(line[p + 1])
                };
                if !next_sep {
                    open = Some(p + 1);
                }
            }
        }
        b += 16;
    }
    if let Some(s) = open {
        if toks.len() >= MAX_TOKENS {
            return None;
        }
        toks.push(Tok {
            start: s as u32,
            end: n as u32,
            escaped: false,
        });
    }
    Some(high == 0)
}

/// Masks of one 16-byte block of a line (bytes past the end count as none of these).
struct BlockMasks {
    /// Bit `k` set when `line[b + k]` is a space, a tab or a double quote.
    sep_quote: u32,
    /// Bit `k` set when `line[b + k]` is a double quote.
    quote: u32,
    /// Bit `k` set when `line[b + k]` is not ASCII.
    high: u32,
}

#[inline(always)]
fn block_masks(line: &[u8], b: usize) -> BlockMasks {
    let mut copy = [0u8; 16];
    let block = block_at(line, b, &mut copy);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let m = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\t' as i8)),
                ),
                q,
            );
            BlockMasks {
                sep_quote: _mm_movemask_epi8(m) as u32,
                quote: _mm_movemask_epi8(q) as u32,
                high: _mm_movemask_epi8(v) as u32,
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = BlockMasks {
            sep_quote: 0,
            quote: 0,
            high: 0,
        };
        for (k, &c) in block.iter().enumerate() {
            m.sep_quote |= (matches!(c, b' ' | b'\t' | b'"') as u32) << k;
            m.quote |= ((c == b'"') as u32) << k;
            m.high |= ((c >= 0x80) as u32) << k;
        }
        m
    }
}

/// Pushes the quoted token whose open quote is at `q0` and returns where scanning resumes: the
/// separator after it (text glued to the close quote, `"a"b`, is dropped) or the line end.
#[inline(never)]
fn quoted(line: &[u8], q0: usize, toks: &mut Vec<Tok>) -> usize {
    let n = line.len();
    let start = q0 + 1;
    let mut j = start;
    let mut escaped = false;
    let mut end = n;
    while let Some(k) = memchr::memchr(b'"', &line[j..]) {
        let q = j + k;
        if line.get(q + 1) == Some(&b'"') {
            escaped = true;
            j = q + 2;
        } else {
            end = q;
            break;
        }
    }
    toks.push(Tok {
        start: start as u32,
        end: end as u32,
        escaped,
    });
    let mut i = (end + 1).min(n);
    while i < n && line[i] != b' ' && line[i] != b'\t' {
        i += 1;
    }
    i
}

/// The bytes of a token, `None` for the W3C null `-` (and an empty quoted value).
#[inline]
pub fn value<'a>(line: &'a [u8], t: Tok, scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let raw = line.get(t.start as usize..t.end as usize).unwrap_or(&[]);
    if raw.is_empty() || raw == b"-" {
        return None;
    }
    if !t.escaped {
        return Some(raw);
    }
    Some(unescape(raw, scratch))
}

/// A quoted value with `""` escapes, unescaped into `scratch`.
#[cold]
fn unescape<'a>(raw: &[u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    scratch.clear();
    let mut i = 0;
    while i < raw.len() {
        scratch.push(raw[i]);
        i += if raw[i] == b'"' && raw.get(i + 1) == Some(&b'"') {
            2
        } else {
            1
        };
    }
    &scratch[..]
}

/// The raw bytes of a token (no null mapping, no unescaping), for shape checks.
#[inline]
pub fn raw(line: &[u8], t: Tok) -> &[u8] {
    line.get(t.start as usize..t.end as usize).unwrap_or(&[])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// `YYYY-MM-DD` → days since the epoch; month and day are range-checked.
#[inline]
pub fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])? as i64;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `dd/Mon/yyyy` (Incapsula's `#Date`) → days since the epoch.
pub fn parse_date_dmy(b: &[u8]) -> Option<i64> {
    if b.len() != 11 || b[2] != b'/' || b[6] != b'/' {
        return None;
    }
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let d = digits(&b[0..2])?;
    let mon = &b[3..6];
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(mon))? as u32 + 1;
    let y = digits(&b[7..11])? as i64;
    if d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The date of a `#Date:` / `#Start-Date:` directive value (`2000-10-09 16:44:49`,
/// `2014-11-18 00:00:00.128`, `28/Jun/2017 07:28:59`, junk after it tolerated).
pub fn parse_directive_date(v: &[u8]) -> Option<i64> {
    let v = trim_ws(v);
    let first = v.split(|&c| c == b' ' || c == b'\t').next().unwrap_or(&[]);
    parse_date(first).or_else(|| parse_date_dmy(first))
}

/// `HH:MM:SS` with an optional fraction (`.363`) → milliseconds of the day.
#[inline]
pub fn parse_time(b: &[u8]) -> Option<i64> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = digits(&b[0..2])?;
    let m = digits(&b[3..5])?;
    let s = digits(&b[6..8])?;
    // 60 is a leap second: IIS takes time from the Windows clock, which can report it.
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut ms = 0i64;
    if b.len() > 8 {
        let frac = &b[9..];
        if b[8] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let f = digits(frac)? as i64;
        ms = match frac.len() {
            1 => f * 100,
            2 => f * 10,
            3 => f,
            n => f / 10i64.pow(n as u32 - 3),
        };
    }
    Some(((h as i64 * 60 + m as i64) * 60 + s as i64) * 1000 + ms)
}

/// [`parse_u64`] of `file[at..at + len]`. Up to 8 digits with 8 bytes readable at `at` (all
/// but the file's last few bytes) are read in one load: checked and converted in a handful of
/// word operations instead of a loop over the digits.
#[inline(always)]
pub fn parse_u64_at(file: &[u8], at: usize, len: usize) -> Option<u64> {
    match file.get(at..at.wrapping_add(8)) {
        Some(w) if (1..=8).contains(&len) => {
            let x = u64::from_le_bytes(w.try_into().ok()?);
            // The token's bytes moved to the top of the word, '0's below them (leading zeros).
            let shift = 8 * (8 - len as u32);
            let x =
                (x << shift) | (0x3030_3030_3030_3030u64.checked_shr(8 * len as u32)).unwrap_or(0);
            // Every byte '0'..='9': its high nibble is 3, and still is with 6 added.
            const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
            const THREES: u64 = 0x3030_3030_3030_3030;
            if x & HI != THREES || (x + 0x0606_0606_0606_0606) & HI != THREES {
                return None;
            }
            // The digits (first in the lowest byte) combined pairwise: 8 → 4 → 2 → 1.
            let d = x - THREES;
            let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
            let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
            Some((d.wrapping_mul(10000) + (d >> 32)) & 0xFFFF_FFFF)
        }
        _ => file.get(at..at.saturating_add(len)).and_then(parse_u64),
    }
}

/// Decimal `u64`; `None` for anything else (sign, junk, overflow).
#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b.len() <= 19 {
        // Below 10^19: cannot overflow a u64.
        let mut v: u64 = 0;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

pub fn trim_ws(mut b: &[u8]) -> &[u8] {
    while let [c, rest @ ..] = b {
        if c.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., c] = b {
        if c.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Repairs an address that a copy through a chat or wiki tool turned into markdown
/// (`[10.0.0.1](http://10.0.0.1)`, seen in filebeat's IIS 7.5 test): the text in brackets.
#[inline]
pub fn unmarkdown(v: &[u8]) -> &[u8] {
    if v.first() == Some(&b'[')
        && v.last() == Some(&b')')
        && let Some(i) = memmem::find(v, b"](")
    {
        return &v[1..i];
    }
    v
}

/// Caches the day number of the last date string (logs repeat the same date for a whole file).
#[derive(Default)]
pub struct DateCache {
    key: [u8; 10],
    day: Option<i64>,
}

impl DateCache {
    #[inline]
    pub fn get(&mut self, b: &[u8]) -> Option<i64> {
        if b.len() == 10 && self.day.is_some() && b == self.key {
            return self.day;
        }
        let d = parse_date(b)?;
        self.key.copy_from_slice(b);
        self.day = Some(d);
        Some(d)
    }
}

/// Caches the milliseconds of the last `HH:MM:SS` time (a busy log repeats each second).
#[derive(Default)]
pub struct TimeCache {
    key: u64,
    ms: Option<i64>,
}

impl TimeCache {
    #[inline]
    pub fn get(&mut self, b: &[u8]) -> Option<i64> {
        let Ok(k) = <[u8; 8]>::try_from(b) else {
            return parse_time(b);
        };
        let k = u64::from_le_bytes(k);
        if self.ms.is_some() && k == self.key {
            return self.ms;
        }
        let ms = parse_time(b)?;
        self.key = k;
        self.ms = Some(ms);
        Some(ms)
    }
}

pub fn to_millis(day: i64, ms_of_day: i64) -> Millis {
    day * 86_400_000 + ms_of_day
}

/// An issue as a chunk sees it: line numbers are chunk-local until the merge.
#[derive(Debug, Clone)]
pub struct Issue {
    pub row: IssueRow,
    /// Issues reported once per (code, layout segment): the merge keeps the first.
    pub once_per: Option<u64>,
    /// For `nul_padding`: the end of the NUL range, so adjacent ranges merge into one issue.
    pub nul_end: Option<u64>,
}

/// Output of one chunk, before the merge.
pub struct ChunkIssues {
    pub issues: Vec<Issue>,
    pub counts: LineCounts,
}

/// Line bookkeeping shared by both parsers: NUL padding, blank lines, directive detection.
pub enum LineKind<'a> {
    Blank,
    /// NUL bytes only: the padding a crash leaves where a log was preallocated.
    Nul,
    Directive(&'a [u8]),
    Data(&'a [u8], u64),
}

/// Classifies a line, stripping NUL padding around its content. Reports NUL ranges in `issues`.
#[inline]
/// A value for a message: quoted as logged, or `(missing)`.
pub fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "(missing)".into(),
    }
}

pub fn classify<'a>(
    file: FileId,
    line: &Line<'a>,
    line_no: u64,
    issues: &mut Vec<Issue>,
) -> LineKind<'a> {
    let mut b = line.bytes;
    let mut off = line.offset;
    if b.first() == Some(&0) || b.last() == Some(&0) {
        let lead = b.iter().take_while(|&&c| c == 0).count();
        let lead_range = (off, off + lead as u64);
        b = &b[lead..];
        off += lead as u64;
        let trail = b.iter().rev().take_while(|&&c| c == 0).count();
        let trail_range = (off + (b.len() - trail) as u64, off + b.len() as u64);
        b = &b[..b.len() - trail];
        for (s, e) in [lead_range, trail_range] {
            if e > s {
                push_nul(file, issues, line_no, s, e);
            }
        }
        if b.is_empty() {
            return LineKind::Nul;
        }
    }
    if line.offset == 0 && b.starts_with(b"\xEF\xBB\xBF") {
        b = &b[3..];
        off += 3;
    }
    if b.first() == Some(&b'#') {
        return LineKind::Directive(b);
    }
    if b.iter().all(|&c| c == b' ' || c == b'\t' || c == b'\r') {
        return LineKind::Blank;
    }
    LineKind::Data(b, off)
}

fn push_nul(file: FileId, issues: &mut Vec<Issue>, line_no: u64, s: u64, e: u64) {
    if let Some(last) = issues.last_mut()
        && (last.nul_end == Some(s)
            || (last.nul_end.is_some() && last.nul_end.map(|x| x + 2 >= s).unwrap_or(false)))
    {
        last.nul_end = Some(e);
        return;
    }
    issues.push(Issue {
        row: IssueRow::new(file, Severity::Warning, "nul_padding", String::new())
            .at(Some(line_no), Some(s)),
        once_per: None,
        nul_end: Some(e),
    });
}

/// Merges chunk issues in order: local line numbers become file line numbers, once-per-segment
/// issues keep their first occurrence, adjacent NUL ranges become one issue.
pub fn merge_issues(chunks: Vec<ChunkIssues>) -> (Vec<IssueRow>, LineCounts) {
    let mut out: Vec<Issue> = Vec::new();
    let mut counts = LineCounts::default();
    let mut seen: Vec<(&'static str, u64)> = Vec::new();
    for c in chunks {
        let base = counts.lines;
        for mut i in c.issues {
            i.row.line = i.row.line.map(|l| l + base);
            if let Some(seg) = i.once_per {
                if seen.contains(&(i.row.code, seg)) {
                    continue;
                }
                seen.push((i.row.code, seg));
            }
            if let (Some(s), Some(last)) = (i.nul_end.and(i.row.offset), out.last_mut())
                && let Some(le) = last.nul_end
                && le + 2 >= s
            {
                last.nul_end = i.nul_end;
                continue;
            }
            out.push(i);
        }
        counts.add(&c.counts);
    }
    let rows = out
        .into_iter()
        .map(|mut i| {
            if let (Some(e), Some(s)) = (i.nul_end, i.row.offset) {
                i.row.message = format!("NUL padding at bytes {s}..{e} ({} bytes): the log was cut by a crash or power loss", e - s);
            }
            i.row
        })
        .collect();
    (rows, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2018-01-01"), Some(17532));
        assert_eq!(parse_date(b"2025-13-14"), None);
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(
            parse_date(b"2024-02-29"),
            Some(days_from_civil(2024, 2, 29))
        );
        assert_eq!(parse_date_dmy(b"28/Jun/2017"), parse_date(b"2017-06-28"));
        assert_eq!(parse_time(b"08:09:10"), Some(29_350_000));
        assert_eq!(parse_time(b"17:00:00.363"), Some(61_200_363));
        assert_eq!(parse_time(b"17:00:00.3"), Some(61_200_300));
        assert_eq!(parse_time(b"24:00:00"), None);
        assert_eq!(parse_time(b"00:00"), None);
        assert_eq!(
            parse_directive_date(b" 2014-11-18 00:00:00.128"),
            parse_date(b"2014-11-18")
        );
    }

    #[test]
    fn tokenizer_runs_and_quotes() {
        let line = b"a  b\t\"c d\" \"x \"\"y\"\" z\" -";
        let mut t = Vec::new();
        assert!(tokenize(line, &mut t));
        let mut s = Vec::new();
        let vals: Vec<Option<String>> = t
            .iter()
            .map(|&k| value(line, k, &mut s).map(|v| String::from_utf8_lossy(v).into_owned()))
            .collect();
        assert_eq!(
            vals,
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("c d".into()),
                Some("x \"y\" z".into()),
                None
            ]
        );
    }

    /// The byte-at-a-time tokenizer [`tokenize`] replaced, kept as its reference.
    fn tokenize_ref(line: &[u8], toks: &mut Vec<Tok>) -> bool {
        toks.clear();
        let n = line.len();
        let mut i = 0;
        loop {
            while i < n && (line[i] == b' ' || line[i] == b'\t') {
                i += 1;
            }
            if i >= n {
                return true;
            }
            if toks.len() >= MAX_TOKENS {
                return false;
            }
            if line[i] == b'"' {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                let mut end = n;
                while let Some(k) = memchr::memchr(b'"', &line[j..]) {
                    let q = j + k;
                    if line.get(q + 1) == Some(&b'"') {
                        escaped = true;
                        j = q + 2;
                    } else {
                        end = q;
                        break;
                    }
                }
                toks.push(Tok {
                    start: start as u32,
                    end: end as u32,
                    escaped,
                });
                i = end + 1;
                while i < n && line[i] != b' ' && line[i] != b'\t' {
                    i += 1;
                }
            } else {
                let start = i;
                let end = match memchr::memchr2(b' ', b'\t', &line[i..]) {
                    Some(k) => i + k,
                    None => n,
                };
                toks.push(Tok {
                    start: start as u32,
                    end: end as u32,
                    escaped: false,
                });
                i = end;
            }
        }
    }

    fn same_tokens(line: &[u8]) -> Result<(), String> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (ra, rb) = (tokenize(line, &mut a), tokenize_ref(line, &mut b));
        if let Some(ascii) = tokenize_ascii(line, &mut Vec::new())
            && ascii != line.is_ascii()
        {
            return Err(format!("{line:?}: ascii {ascii}"));
        }
        // The W3C parser slices checked text at token bounds without re-checking them.
        if let (true, Ok(text)) = (ra, std::str::from_utf8(line)) {
            for t in &a {
                let (s, e) = (t.start as usize, t.end as usize);
                if s > e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                    return Err(format!("{text:?}: token {s}..{e} not on char boundaries"));
                }
            }
        }
        let key = |t: &Vec<Tok>| {
            t.iter()
                .map(|t| (t.start, t.end, t.escaped))
                .collect::<Vec<_>>()
        };
        if ra != rb || (ra && key(&a) != key(&b)) {
            return Err(format!(
                "{:?}: {ra} {:?} vs {rb} {:?}",
                String::from_utf8_lossy(line),
                key(&a),
                key(&b)
            ));
        }
        Ok(())
    }

    #[test]
    fn tokenizer_matches_reference() {
        use proptest::prelude::*;
        let cases = [
            &b""[..],
            b" ",
            b"\"",
            b"\"\"",
            b"a\"b c\"d",
            b"\"a\"b c",
            b"\"a\"\" b\" c",
            b" \t\"x",
            b"a \"",
            b"\"a b",
            b"a\"",
            b"\"\"\"",
            b"x \"\"\"\" y",
            "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u{e9}\" b".as_bytes(),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b\u{e9}".as_bytes(),
            &[b'a'; 40],
        ];
        for c in cases {
            same_tokens(c).unwrap();
        }
        let many = [b'a', b' '].repeat(MAX_TOKENS + 3);
        same_tokens(&many).unwrap();
        same_tokens(&many[..2 * MAX_TOKENS]).unwrap();
        let quoted_many = b"\"q\" ".repeat(MAX_TOKENS + 1);
        same_tokens(&quoted_many).unwrap();
        proptest!(ProptestConfig::with_cases(4000), |(v in proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'"'), Just(b' '), Just(b'\t'), Just(b'-'), Just(0xC3), Just(0xA9)], 0..60))| {
            prop_assert!(same_tokens(&v).is_ok(), "{}", same_tokens(&v).unwrap_err());
        });
        // Quote-free lines across several 64-byte blocks (the mask path), including lengths
        // at and around multiples of 64 and runs of separators across block edges.
        for len in [63, 64, 65, 127, 128, 129, 192] {
            same_tokens(&vec![b'a'; len]).unwrap();
            let mut v = vec![b'a'; len];
            v[len - 1] = b' ';
            same_tokens(&v).unwrap();
            v[0] = b'\t';
            same_tokens(&v).unwrap();
        }
        proptest!(ProptestConfig::with_cases(1000), |(v in proptest::collection::vec(
            prop_oneof![4 => Just(b'a'), 2 => Just(b' '), 1 => Just(b'\t'), 1 => Just(b'-'), 1 => Just(0xC3), 1 => Just(0xA9)], 0..300))| {
            prop_assert!(same_tokens(&v).is_ok(), "{}", same_tokens(&v).unwrap_err());
        });
    }

    /// What [`fast_line`] makes of every line of `bytes` with masker `m`.
    fn all_fast_lines<M: Masker>(m: M, bytes: &[u8]) -> Vec<Option<(FastLine, Vec<u32>)>> {
        let mut e = vec![0u32; EDGES_ROOM];
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let r = fast_line(m, bytes, pos, bytes.len(), &mut e);
            out.push(r.map(|f| (f, e[..f.edges].to_vec())));
            pos = match r {
                Some(f) => f.next,
                None => memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1),
            };
        }
        out
    }

    /// Every instruction set the CPU has finds the same lines and tokens as plain SSE2 (tests
    /// otherwise run only the widest one).
    #[test]
    fn every_masker_tokenizes_alike() {
        use proptest::prelude::*;
        let check = |bytes: &[u8]| -> Result<(), String> {
            let want = all_fast_lines(Sse2, bytes);
            #[cfg(target_arch = "x86_64")]
            {
                if has_avx2() && all_fast_lines(Avx2(()), bytes) != want {
                    return Err(format!(
                        "avx2 differs on {:?}",
                        String::from_utf8_lossy(bytes)
                    ));
                }
                if has_avx512() && all_fast_lines(Avx512(()), bytes) != want {
                    return Err(format!(
                        "avx512 differs on {:?}",
                        String::from_utf8_lossy(bytes)
                    ));
                }
            }
            Ok(())
        };
        // Long lines of short tokens: more than 16 and 48 edges in a block.
        check(&b"a ".repeat(200)).unwrap();
        check(&b"a b\tc  d\r\n".repeat(30)).unwrap();
        proptest!(ProptestConfig::with_cases(500), |(v in proptest::collection::vec(
            prop_oneof![12 => Just(b'a'), 6 => Just(b' '), 2 => Just(b'\t'), 2 => Just(b'\n'),
                1 => Just(b'\r'), 1 => Just(b'"'), 1 => Just(0u8), 1 => Just(b'#'),
                1 => Just(0xC3), 1 => Just(0xA9)], 0..700))| {
            prop_assert!(check(&v).is_ok(), "{}", check(&v).unwrap_err());
        });
    }

    /// A batch of `rows` lines (`(offset, start, length)` of the field, offsets wrapped into a
    /// file of `file_len` bytes) whose field `k % half` of `half` is set: its edges, stride,
    /// edge index and offsets.
    fn batch_of(
        file_len: usize,
        half: usize,
        k: usize,
        rows: &[(usize, u32, u32)],
    ) -> (Vec<u32>, usize, usize, Vec<usize>) {
        let (stride, k2) = (2 * half, 2 * (k % half));
        let mut edges = vec![0u32; rows.len() * stride];
        let mut offs = Vec::new();
        for (r, &(off, s, len)) in rows.iter().enumerate() {
            edges[r * stride + k2] = s;
            edges[r * stride + k2 + 1] = s + len;
            offs.push(off % file_len);
        }
        (edges, stride, k2, offs)
    }

    /// The AVX-512 field spans are the scalar ones, including one-byte values at the very start
    /// and end of the file (where the byte gather may not read) and partial groups of 8.
    #[test]
    fn every_masker_packs_field_spans_alike() {
        use proptest::prelude::*;
        let check = |file: &[u8], edges: &[u32], stride: usize, k2: usize, offs: &[usize]| {
            let mut want = vec![7u64; offs.len()];
            field_spans_scalar(file, (edges, stride, k2), offs, &mut want);
            #[cfg(target_arch = "x86_64")]
            if has_avx512() {
                let mut got = vec![7u64; offs.len()];
                Avx512(()).field_spans(file, (edges, stride, k2), offs, &mut got);
                if got != want {
                    return Err(format!("{got:x?} != {want:x?}"));
                }
            }
            Ok(want)
        };
        // A one-byte `-` is null; one at the file's first and last byte too.
        let file = b"- x - ab -";
        let edges = [0u32, 1, 2, 3, 4, 5, 6, 8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
        let got = check(file, &edges, 2, 0, &[0, 0, 0, 0, 0, 0, 0, 0, 9]).unwrap();
        assert_eq!(got[0], packed::NULL);
        assert_eq!(got[1], packed::source(2, 1, false));
        assert_eq!(got[8], packed::NULL);
        // Past what a span addresses (a 64 GiB file): the empty string, never a wrong slice.
        let last = packed::MAX_START as usize;
        let got = check(file, &[0, 2].repeat(9), 2, 0, &[last + 1; 9]).unwrap();
        assert_eq!(got, [packed::EMPTY; 9]);
        let got = check(file, &[0, 2].repeat(9), 2, 0, &[last; 9]).unwrap();
        assert_eq!(got, [packed::source(last, 2, false); 9]);
        assert_ne!(got[0], packed::EMPTY);
        proptest!(ProptestConfig::with_cases(300), |(
            file in proptest::collection::vec(prop_oneof![Just(b'-'), Just(b'a')], 1..300),
            half in 1usize..20,
            k in 0usize..20,
            rows in proptest::collection::vec((0usize..300, 0u32..8, 0u32..3), 0..40),
        )| {
            let (edges, stride, k2, offs) = batch_of(file.len(), half, k, &rows);
            let res = check(&file, &edges, stride, k2, &offs);
            prop_assert!(res.is_ok(), "{}", res.unwrap_err());
        });
    }

    /// The AVX-512 numbers are the scalar ones: 1 to 8 digits in lanes, longer values, values
    /// in the file's last 8 bytes, nulls and junk a line at a time.
    #[test]
    fn every_masker_reads_field_numbers_alike() {
        use proptest::prelude::*;
        let check = |file: &[u8], edges: &[u32], stride: usize, k2: usize, offs: &[usize]| {
            let n = offs.len();
            let (mut want, mut want_ok) = (vec![7u64; n], vec![true; n]);
            field_numbers_scalar(file, (edges, stride, k2), offs, (&mut want, &mut want_ok));
            #[cfg(target_arch = "x86_64")]
            if has_avx512() {
                let (mut got, mut got_ok) = (vec![7u64; n], vec![true; n]);
                Avx512(()).field_numbers(file, (edges, stride, k2), offs, (&mut got, &mut got_ok));
                // (The value of a non-number is unspecified.)
                let pick = |v: &[u64], ok: &[bool]| {
                    v.iter()
                        .zip(ok)
                        .map(|(&v, &k)| k.then_some(v))
                        .collect::<Vec<_>>()
                };
                if pick(&got, &got_ok) != pick(&want, &want_ok) {
                    return Err(format!("{got_ok:?} {got:?} != {want_ok:?} {want:?}"));
                }
            }
            Ok(want
                .iter()
                .zip(&want_ok)
                .map(|(&v, &k)| k.then_some(v))
                .collect::<Vec<_>>())
        };
        // Ten lines of one field each, laid out in one file: every length from 1 to 20 digits,
        // a null, junk, and a number in the file's last bytes.
        let fields = [
            "0",
            "7",
            "443",
            "200",
            "12345678",
            "123456789",
            "18446744073709551615",
            "18446744073709551616",
            "-",
            "4x",
            "00042",
            "99",
        ];
        let file = fields.join(" ");
        let (mut edges, mut offs, mut at) = (Vec::new(), Vec::new(), 0);
        for f in fields {
            offs.push(at);
            edges.extend([0, f.len() as u32]);
            at += f.len() + 1;
        }
        let got = check(file.as_bytes(), &edges, 2, 0, &offs).unwrap();
        assert_eq!(
            got,
            [
                Some(0),
                Some(7),
                Some(443),
                Some(200),
                Some(12345678),
                Some(123456789),
                Some(u64::MAX),
                None,
                None,
                None,
                Some(42),
                Some(99)
            ]
        );
        proptest!(ProptestConfig::with_cases(300), |(
            file in proptest::collection::vec(prop_oneof![
                8 => b'0'..=b'9', 1 => Just(b'-'), 1 => Just(b' '), 1 => Just(b'/'),
                1 => Just(b':')], 1..300),
            half in 1usize..20,
            k in 0usize..20,
            rows in proptest::collection::vec((0usize..300, 0u32..8, 1u32..12), 0..40),
        )| {
            let (edges, stride, k2, offs) = batch_of(file.len(), half, k, &rows);
            let res = check(&file, &edges, stride, k2, &offs);
            prop_assert!(res.is_ok(), "{}", res.unwrap_err());
        });
    }

    #[test]
    fn chunks_end_at_newlines() {
        let b = b"aa\nbbbb\ncc\nd";
        let c = split_chunks(b, 3);
        assert_eq!(c, vec![(0, 3), (3, 8), (8, 11), (11, 12)]);
        assert_eq!(split_chunks(b"", 3), vec![]);
    }

    #[test]
    fn backward_directive_search() {
        let b = b"#Fields: a\nx #Fields: no\n\0\0#Fields: b c\r\nrow\n";
        let d = Directives::scan(b);
        assert_eq!(d.fields_before(b, b.len()), Some((27, &b" b c"[..])));
        assert_eq!(d.fields_before(b, 27), Some((0, &b" a"[..])));
        assert_eq!(d.fields_before(b, 0), None);
    }
}
