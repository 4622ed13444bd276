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
    split_chunks_then(bytes, chunk, |_| {})
}

/// [`split_chunks`], calling `done(end)` after finding each chunk's end (a streamed parse
/// releases the pages the search touched).
pub fn split_chunks_then(
    bytes: &[u8],
    chunk: usize,
    mut done: impl FnMut(usize),
) -> Vec<(usize, usize)> {
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
        done(end);
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
    /// Finds the directives of a chunk.
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
    /// The lines of `bytes[start..end]`.
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
    /// The file ends inside this line.
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
    let scan = scan_line(masker, bytes, pos, end, e)?;
    finish_line(bytes, pos, end, e, scan)
}

/// What [`scan_line`] found of one line.
struct Scan {
    /// Where the line ends (its newline, or the chunk end).
    line_end: usize,
    /// Edges written.
    n: usize,
    /// Bytes at or above 0x80 (a mask; zero for an ASCII line).
    high: u64,
    /// Where the first token starts, when in the first block: the checks after the scan use it
    /// and the line end instead of reading edges back just after the wide stores wrote them
    /// (a load from a store in flight stalls).
    first_tok: Option<usize>,
}

/// The line's token edges at `e`, 64 bytes at a time; `None` for a line the batch path does
/// not take (quotes, too many tokens, too long).
#[inline(always)]
fn scan_line<M: Masker>(
    masker: M,
    bytes: &[u8],
    pos: usize,
    end: usize,
    e: &mut [u32],
) -> Option<Scan> {
    let mut n = 0usize;
    // Bit 0: the byte before the block is a separator (the line start counts as one).
    let mut prev_sep = 1u64;
    let mut high = 0u64;
    let mut b = 0usize;
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
    Some(Scan {
        line_end,
        n,
        high,
        first_tok,
    })
}

/// Closes the last token, drops a CR before the newline, and turns away blank and NUL-padded
/// lines (the general path reports them).
#[inline(always)]
fn finish_line(bytes: &[u8], pos: usize, end: usize, e: &mut [u32], s: Scan) -> Option<FastLine> {
    let Scan {
        line_end,
        mut n,
        high,
        first_tok,
    } = s;
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
    /// Start offset in the line.
    pub start: u32,
    /// End offset.
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

/// An issue as a chunk sees it: line numbers are chunk-local until the merge.
#[derive(Debug, Clone)]
pub struct Issue {
    /// The issue.
    pub row: IssueRow,
    /// Issues reported once per (code, layout segment): the merge keeps the first.
    pub once_per: Option<u64>,
    /// For `nul_padding`: the end of the NUL range, so adjacent ranges merge into one issue.
    pub nul_end: Option<u64>,
}

/// Output of one chunk, before the merge.
pub struct ChunkIssues {
    /// Problems found, in line order.
    pub issues: Vec<Issue>,
    /// Line accounting.
    pub counts: LineCounts,
}

/// Line bookkeeping shared by both parsers: NUL padding, blank lines, directive detection.
pub enum LineKind<'a> {
    /// An empty line.
    Blank,
    /// NUL bytes only: the padding a crash leaves where a log was preallocated.
    Nul,
    /// A `#` directive line.
    Directive(&'a [u8]),
    /// A data line and its offset.
    Data(&'a [u8], u64),
}

/// Classifies a line, stripping NUL padding around its content. Reports NUL ranges in `issues`.
/// A value for a message: quoted as logged, or `(missing)`.
#[inline]
pub fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "(missing)".into(),
    }
}

/// What a line is: blank, a directive, or data (NUL runs noted).
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

mod simd;
mod values;
pub use simd::*;
pub use values::*;

#[cfg(test)]
mod tests;
