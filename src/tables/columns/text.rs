//! Text columns: [`StrCol`] (spans of the mapped file or of its own buffer) and [`PlusCol`].

use super::*;

/// The bytes a table's string columns may point into: a mapped log file, or a copy of one.
///
/// Held by the columns that refer to it (`Arc`), so the table owns its text without copying
/// it: on a 1 GiB log the copied strings were ~130 B of a ~300 B row, and faulting in that
/// fresh memory was a third of the parse time. A mapped file must not be truncated while the
/// table lives (appending, which is all IIS does to a log, is harmless).
#[derive(Clone)]
pub struct Source(
    pub(super) std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>,
    /// A read-only map of a file: its pages may be released ([`Source::release`]).
    bool,
    /// Only this many bytes are read ([`Source::prefix`]).
    usize,
);

impl Source {
    /// Bytes the tables may point into.
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Source {
        Source(std::sync::Arc::new(bytes), false, usize::MAX)
    }
    /// A read-only map of a file.
    pub fn mapped(map: memmap2::Mmap) -> Source {
        Source(std::sync::Arc::new(map), true, usize::MAX)
    }
    /// A copy of `bytes` (tests, fuzzing and other callers without a file).
    pub fn copy_of(bytes: &[u8]) -> Source {
        Source::new(bytes.to_vec())
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        let b = (*self.0).as_ref();
        &b[..b.len().min(self.2)]
    }
    /// The first `len` bytes (all of them if fewer): a log still being written is read to the
    /// same length each time it is read again.
    pub fn prefix(&self, len: usize) -> Source {
        Source(self.0.clone(), self.1, len.min(self.2))
    }
    /// The same bytes (the same allocation or map).
    pub fn same(&self, other: &Source) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
    /// Drops this process's pages of `range` of a mapped file (a streamed parse is done with
    /// them): they stay in the page cache and are read back if touched again, but no longer
    /// count in the process's memory. Nothing for bytes in memory (they are the only copy).
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(target_os = "linux")]
        if self.1 {
            let bytes = self.bytes();
            let end = range.end.min(bytes.len());
            if range.start >= end {
                return;
            }
            // SAFETY: sysconf only reads system configuration.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
            let base = bytes.as_ptr() as usize;
            // Whole pages inside the range only (the map starts on a page).
            let start = (base + range.start).next_multiple_of(page);
            let stop = (base + end) / page * page;
            if stop > start {
                // SAFETY: [start, stop) lies inside a read-only shared file map this Source
                // owns; MADV_DONTNEED on such a map only drops page-table entries, and later
                // reads fault the file's pages back in unchanged.
                unsafe {
                    libc::madvise(
                        start as *mut libc::c_void,
                        stop - start,
                        libc::MADV_DONTNEED,
                    );
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = range;
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({} bytes)", self.bytes().len())
    }
}

/// A nullable UTF-8 string column without an allocation (or a copy) per value.
///
/// Each value is one packed `u64` span: either a range of the [`Source`] the rows came from
/// (the value as logged, never copied) or a range of the column's own buffer (values that had
/// to change: decoded from Windows-1252, `+` turned into spaces, unescaped). Rows may share an
/// own range (repeated user agents are decoded once). The nulls before the first value are only
/// counted (`lead`), so a column that is null throughout (cookie, host, extra in most IIS
/// layouts) holds no memory per row. Equality compares values, not representations.
#[derive(Default, Clone)]
pub struct StrCol {
    pub(super) own: String,
    pub(super) spans: Vec<u64>,
    pub(super) lead: usize,
    /// Which source the source spans of rows `first..` point into (one entry per input file).
    pub(super) srcs: Vec<(usize, Source)>,
}

/// How [`StrCol::extend_packed`] takes source values: `start << LEN_BITS | len`, `NULL` for
/// a null, and `EMPTY` (the empty string) for a value past `MAX_START` or `MAX_LEN`.
pub mod packed {
    /// Bits of a packed value that hold its length.
    pub const LEN_BITS: u32 = super::LEN_BITS;
    /// A null.
    pub const NULL: u64 = super::NULL_SPAN;
    /// The empty string.
    pub const EMPTY: u64 = super::OWN_BIT;
    /// The largest start a packed value holds.
    pub const MAX_START: u64 = super::MAX_START;
    /// The largest length a packed value holds.
    pub const MAX_LEN: u64 = super::MAX_VALUE_LEN as u64;

    /// The packed value of `len` bytes at `start` of the source, or of a null.
    #[inline(always)]
    pub fn source(start: usize, len: usize, null: bool) -> u64 {
        let fits = start as u64 <= MAX_START && len as u64 <= MAX_LEN;
        match (null, fits) {
            (true, _) => NULL,
            (false, true) => (start as u64) << LEN_BITS | len as u64,
            (false, false) => EMPTY,
        }
    }
}

/// A packed value: null, or `(own?, start, len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span(pub(super) u64);

pub(crate) const NULL_SPAN: u64 = 1 << 63;
pub(crate) const OWN_BIT: u64 = 1 << 62;
pub(crate) const LEN_BITS: u32 = 26;
/// The longest value a span holds (64 MiB); parsers reject longer lines.
pub const MAX_VALUE_LEN: usize = (1 << LEN_BITS) - 1;
/// Source offsets and own-buffer offsets up to 64 GiB.
pub(crate) const MAX_START: u64 = (1 << (62 - LEN_BITS)) - 1;

impl Span {
    pub(super) fn pack(own: bool, start: usize, len: usize) -> Option<Span> {
        let (start, len) = (start as u64, len as u64);
        (start <= MAX_START && len <= MAX_VALUE_LEN as u64).then_some(Span(
            if own { OWN_BIT } else { 0 } | start << LEN_BITS | len,
        ))
    }
    pub(super) fn is_null(self) -> bool {
        self.0 & NULL_SPAN != 0
    }
    pub(super) fn is_own(self) -> bool {
        self.0 & OWN_BIT != 0
    }
    pub(super) fn range(self) -> std::ops::Range<usize> {
        let start = ((self.0 & !(NULL_SPAN | OWN_BIT)) >> LEN_BITS) as usize;
        start..start + (self.0 & MAX_VALUE_LEN as u64) as usize
    }
}

impl StrCol {
    /// An empty column with room for `rows` rows (and `bytes` of text).
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        StrCol {
            own: String::with_capacity(bytes),
            spans: Vec::with_capacity(rows),
            ..StrCol::default()
        }
    }
    /// Rows.
    pub fn len(&self) -> usize {
        self.lead + self.spans.len()
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    pub(super) fn push_span(&mut self, s: Span) {
        self.spans.push(s.0);
    }
    /// Pushes a copy of `v` (or a null).
    #[inline]
    pub fn push(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.own.push_str(s);
                self.push_own_tail(s.len());
            }
            None => self.push_null(),
        }
    }
    /// Pushes the last `len` bytes of the own buffer as a value.
    #[inline]
    pub(super) fn push_own_tail(&mut self, len: usize) {
        let start = self.own.len() - len;
        match Span::pack(true, start, len) {
            Some(s) => self.push_span(s),
            None => {
                // Past what a span holds (64 GiB of own text, or one value over 64 MiB: parsers
                // never produce either): kept as the empty string rather than a wrong slice.
                self.own.truncate(start);
                self.push_span(Span(OWN_BIT));
            }
        }
    }
    #[inline]
    /// Appends a null.
    pub fn push_null(&mut self) {
        if self.spans.is_empty() {
            self.lead += 1;
        } else {
            self.spans.push(NULL_SPAN);
        }
    }
    /// Pushes `v`, which is `source[start..start + v.len()]` of the source this column's rows
    /// will be bound to ([`StrCol::bind`]): no copy. Copied if beyond what a span addresses.
    #[inline(always)]
    pub fn push_source(&mut self, start: usize, v: &str) {
        match Span::pack(false, start, v.len()) {
            Some(s) => self.push_span(s),
            None => self.push(Some(v)),
        }
    }
    /// Pushes `n` nulls.
    pub fn push_nulls(&mut self, n: usize) {
        if self.spans.is_empty() {
            self.lead += n;
        } else {
            self.spans.extend(std::iter::repeat_n(NULL_SPAN, n));
        }
    }
    /// Pushes `n` packed source values at once (see [`packed`]), written by `fill` into a
    /// slice of `n` (preset to nulls): for code that packs a batch's spans in bulk (SIMD).
    #[inline(always)]
    pub fn extend_packed(&mut self, n: usize, fill: impl FnOnce(&mut [u64])) {
        let was_empty = self.spans.is_empty();
        let from = self.spans.len();
        self.spans.resize(from + n, NULL_SPAN);
        fill(&mut self.spans[from..]);
        // Leading nulls are only counted.
        if was_empty {
            let nulls = self.spans.iter().take_while(|&&s| s == NULL_SPAN).count();
            self.spans.drain(..nulls);
            self.lead += nulls;
        }
    }
    /// Whether a source span ([`packed::source`]) holds a value of `len` bytes ending at `end`
    /// of its source (all but values past 64 GiB of a file, or longer than 64 MiB).
    pub fn source_fits(end: usize, len: usize) -> bool {
        end as u64 <= MAX_START && len <= MAX_VALUE_LEN
    }
    /// Pushes raw log bytes: UTF-8 when valid, else decoded as Windows-1252 (never dropped).
    pub fn push_bytes(&mut self, v: &[u8]) {
        let before = self.own.len();
        match std::str::from_utf8(v) {
            Ok(s) => self.own.push_str(s),
            Err(_) => push_cp1252(&mut self.own, v),
        }
        self.push_own_tail(self.own.len() - before);
    }
    /// Binds every source span of this column to `src` (the file its rows were parsed from).
    /// Called once per parsed file, before the table is appended to others.
    pub fn bind(&mut self, src: &Source) {
        self.srcs = vec![(0, src.clone())];
    }
    /// The byte length of row `i`'s value, without reading it (`None` for a null): a cheap
    /// filter before [`StrCol::get`], which reads and checks the text.
    pub fn byte_len(&self, i: usize) -> Option<usize> {
        let j = i.checked_sub(self.lead)?;
        let s = Span(*self.spans.get(j)?);
        (!s.is_null()).then(|| s.range().len())
    }
    /// Row `i` (null: `None`).
    pub fn get(&self, i: usize) -> Option<&str> {
        // Checked, not assumed: source text was validated when parsed, but a mapped file can
        // change underneath (a writer reusing it); a value that no longer is text reads empty.
        self.get_bytes(i)
            .map(|b| std::str::from_utf8(b).unwrap_or(""))
    }
    /// Row `i`'s bytes, not checked to be text: for comparisons that run on every row (see
    /// [`StrCol::get`] for the text).
    pub fn get_bytes(&self, i: usize) -> Option<&[u8]> {
        let j = i.checked_sub(self.lead)?;
        let s = Span(*self.spans.get(j)?);
        if s.is_null() {
            return None;
        }
        let bytes = if s.is_own() {
            self.own.as_bytes()
        } else {
            let k = match self.srcs.len() {
                1 => 0,
                _ => self
                    .srcs
                    .partition_point(|(first, _)| *first <= i)
                    .checked_sub(1)?,
            };
            self.srcs.get(k)?.1.bytes()
        };
        bytes.get(s.range())
    }
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Appends another column (chunk results are concatenated in input order, then files).
    pub fn append(&mut self, other: &StrCol) {
        let rows = self.len();
        // A column with no value in its file (nulls, or only own text) needs no source: 100,000
        // small logs would otherwise hold an entry per file in each of the 14 text columns.
        let uses_source = other.spans.iter().any(|&s| s & (OWN_BIT | NULL_SPAN) == 0);
        for (first, src) in other.srcs.iter().filter(|_| uses_source) {
            if !self.srcs.last().is_some_and(|(_, s)| s.same(src)) {
                self.srcs.push((rows + first, src.clone()));
            }
        }
        if self.spans.is_empty() {
            self.lead += other.lead;
        } else {
            self.spans
                .extend(std::iter::repeat_n(NULL_SPAN, other.lead));
        }
        let base = (self.own.len() as u64) << LEN_BITS;
        self.own.push_str(&other.own);
        if base == 0 {
            self.spans.extend_from_slice(&other.spans);
        } else {
            // Own spans move up by the own text before them (64 GiB of it is out of reach).
            self.spans.extend(other.spans.iter().map(|&s| {
                if s & (OWN_BIT | NULL_SPAN) == OWN_BIT {
                    s.saturating_add(base).min(OWN_BIT | MAX_START << LEN_BITS)
                } else {
                    s
                }
            }));
        }
    }
    /// Faults in the reserved room for the next `rows` values and `bytes` bytes of own text
    /// (see [`prefault`]); a column of nulls only has none.
    pub fn prefault_next(&self, rows: usize, bytes: usize) {
        if !self.spans.is_empty() {
            let cap = |len: usize, cap: usize, n: usize| cap.min(len.saturating_add(n));
            prefault(
                self.own.as_bytes(),
                cap(self.own.len(), self.own.capacity(), bytes),
            );
            prefault(
                &self.spans,
                cap(self.spans.len(), self.spans.capacity(), rows),
            );
        }
    }
    /// Bytes of text held by the column itself (copies; source text is not counted).
    pub fn data_len(&self) -> usize {
        self.own.len()
    }
    /// Room for `rows` more values holding `bytes` more bytes of own text, without regrowing.
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.own.reserve(bytes);
        self.spans.reserve(rows);
    }
    /// Empties the column, keeping its buffers (a chunk table is reused for the next chunk).
    pub fn clear(&mut self) {
        self.own.clear();
        self.spans.clear();
        self.lead = 0;
        self.srcs.clear();
    }
    /// Gives back unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.own.shrink_to_fit();
        self.spans.shrink_to_fit();
    }
    /// Heap bytes held (the sources it points into are counted by their owner, once).
    pub fn heap_bytes(&self) -> usize {
        self.own.capacity() + self.spans.capacity() * 8
    }
    /// The sources this column points into.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.srcs.iter().map(|(_, s)| s)
    }
}

/// A text column read with `+` as a space: the user agent, referer and cookie, whose spaces IIS
/// logs as `+`.
///
/// Values are stored as logged (a span of the mapped file, like a URL) and decoded when read,
/// so the parse neither copies nor scans them; a reader pays one pass over a value it reads
/// anyway. It dereferences to the stored column for what does not read values (length,
/// appending, memory); [`PlusCol::get`] and [`PlusCol::iter`] give the decoded values, and
/// pushing stores a value as logged.
#[derive(Default, Clone)]
pub struct PlusCol(pub(super) StrCol);

impl PlusCol {
    /// An empty column with room for `rows` rows (and `bytes` of text).
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        PlusCol(StrCol::with_capacity(rows, bytes))
    }
    /// The value of row `i`, `+` decoded.
    pub fn get(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.0.get(i).map(plus_decoded)
    }
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<std::borrow::Cow<'_, str>>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// The value of row `i` as logged (a `+` in it stands for a space).
    pub fn get_logged(&self, i: usize) -> Option<&str> {
        self.0.get(i)
    }
}

/// `v` with every `+` turned into a space (borrowed when it has none).
pub fn plus_decoded(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains('+') {
        std::borrow::Cow::Owned(v.replace('+', " "))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

impl std::ops::Deref for PlusCol {
    type Target = StrCol;
    fn deref(&self) -> &StrCol {
        &self.0
    }
}

impl std::ops::DerefMut for PlusCol {
    fn deref_mut(&mut self) -> &mut StrCol {
        &mut self.0
    }
}

/// Decodes Windows-1252 bytes (the usual ANSI code page of IIS hosts) into `out`.
pub fn push_cp1252(out: &mut String, v: &[u8]) {
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(v);
    out.push_str(&s);
}
