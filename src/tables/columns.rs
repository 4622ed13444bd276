//! Column storage, with no domain in it: text columns that borrow from the mapped file
//! ([`StrCol`]), categoricals ([`CatCol`]), nullable numbers that stay narrow until a value needs
//! more ([`NumCol`], [`U64Col`], [`OffsetCol`]), run-length file ids ([`FileCol`]). The schemas
//! built from them are in the parent module.

use super::FileId;
use std::collections::HashMap;

/// The bytes a table's string columns may point into: a mapped log file, or a copy of one.
///
/// Held by the columns that refer to it (`Arc`), so the table owns its text without copying
/// it: on a 1 GiB log the copied strings were ~130 B of a ~300 B row, and faulting in that
/// fresh memory was a third of the parse time. A mapped file must not be truncated while the
/// table lives (appending, which is all IIS does to a log, is harmless).
#[derive(Clone)]
pub struct Source(std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>);

impl Source {
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Source {
        Source(std::sync::Arc::new(bytes))
    }
    /// A copy of `bytes` (tests, fuzzing and other callers without a file).
    pub fn copy_of(bytes: &[u8]) -> Source {
        Source::new(bytes.to_vec())
    }
    pub fn bytes(&self) -> &[u8] {
        (*self.0).as_ref()
    }
    pub fn same(&self, other: &Source) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
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
    own: String,
    spans: Vec<u64>,
    lead: usize,
    /// Which source the source spans of rows `first..` point into (one entry per input file).
    srcs: Vec<(usize, Source)>,
}

/// How [`StrCol::extend_packed`] takes source values: `start << LEN_BITS | len`, `NULL` for
/// a null, and `EMPTY` (the empty string) for a value past `MAX_START` or `MAX_LEN`.
pub mod packed {
    pub const LEN_BITS: u32 = super::LEN_BITS;
    pub const NULL: u64 = super::NULL_SPAN;
    pub const EMPTY: u64 = super::OWN_BIT;
    pub const MAX_START: u64 = super::MAX_START;
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
struct Span(u64);

const NULL_SPAN: u64 = 1 << 63;
const OWN_BIT: u64 = 1 << 62;
const LEN_BITS: u32 = 26;
/// The longest value a span holds (64 MiB); parsers reject longer lines.
pub const MAX_VALUE_LEN: usize = (1 << LEN_BITS) - 1;
/// Source offsets and own-buffer offsets up to 64 GiB.
const MAX_START: u64 = (1 << (62 - LEN_BITS)) - 1;

impl Span {
    fn pack(own: bool, start: usize, len: usize) -> Option<Span> {
        let (start, len) = (start as u64, len as u64);
        (start <= MAX_START && len <= MAX_VALUE_LEN as u64).then_some(Span(
            if own { OWN_BIT } else { 0 } | start << LEN_BITS | len,
        ))
    }
    fn is_null(self) -> bool {
        self.0 & NULL_SPAN != 0
    }
    fn is_own(self) -> bool {
        self.0 & OWN_BIT != 0
    }
    fn range(self) -> std::ops::Range<usize> {
        let start = ((self.0 & !(NULL_SPAN | OWN_BIT)) >> LEN_BITS) as usize;
        start..start + (self.0 & MAX_VALUE_LEN as u64) as usize
    }
}

impl StrCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        StrCol {
            own: String::with_capacity(bytes),
            spans: Vec::with_capacity(rows),
            ..StrCol::default()
        }
    }
    pub fn len(&self) -> usize {
        self.lead + self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    fn push_span(&mut self, s: Span) {
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
    fn push_own_tail(&mut self, len: usize) {
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
    pub fn get(&self, i: usize) -> Option<&str> {
        let j = i.checked_sub(self.lead)?;
        let s = Span(self.spans[j]);
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
        // Checked, not assumed: source text was validated when parsed, but a mapped file can
        // change underneath (a writer reusing it); a value that no longer is text reads empty.
        Some(std::str::from_utf8(bytes.get(s.range())?).unwrap_or(""))
    }
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

/// A nullable `u64` column held in 32 bits while every value fits, widened (once, a copy) at
/// the first that does not. IIS's win32 status, time taken and byte counts nearly always fit,
/// and broken logs hold values that do not (plaso's `iis10_edge_cases.log`); half the memory
/// is also half the pages the kernel zeroes and maps. Reads as [`NumCol<u64>`] does.
#[derive(Clone)]
pub struct U64Col(U64Values);

/// How a [`U64Col`] holds its values (for writers that take whole columns).
#[derive(Clone)]
pub enum U64Values {
    Narrow(NumCol<u32>),
    Wide(NumCol<u64>),
}

impl Default for U64Col {
    fn default() -> Self {
        U64Col(U64Values::Narrow(NumCol::new()))
    }
}

/// `$e` with `$c` bound to the column, whichever width it has.
macro_rules! either {
    ($v:expr, |$c:ident| $e:expr) => {
        match $v {
            U64Values::Narrow($c) => $e,
            U64Values::Wide($c) => $e,
        }
    };
}

impl U64Col {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_capacity(rows: usize) -> Self {
        U64Col(U64Values::Narrow(NumCol::with_capacity(rows)))
    }
    pub fn values(&self) -> &U64Values {
        &self.0
    }
    pub fn len(&self) -> usize {
        either!(&self.0, |c| c.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The wide column, made from the narrow one if need be.
    fn wide(&mut self) -> &mut NumCol<u64> {
        if let U64Values::Narrow(c) = &self.0 {
            let mut w = NumCol::with_capacity(c.capacity());
            w.push_all(c.iter().map(|v| v.map(u64::from)));
            self.0 = U64Values::Wide(w);
        }
        match &mut self.0 {
            U64Values::Wide(w) => w,
            U64Values::Narrow(_) => unreachable!("widened just above"),
        }
    }
    #[inline]
    pub fn push(&mut self, v: Option<u64>) {
        match (&mut self.0, v.map(u32::try_from)) {
            (U64Values::Narrow(c), None) => c.push_null(),
            (U64Values::Narrow(c), Some(Ok(x))) => c.push(Some(x)),
            _ => self.wide().push(v),
        }
    }
    pub fn push_null(&mut self) {
        either!(&mut self.0, |c| c.push_null())
    }
    pub fn push_nulls(&mut self, n: usize) {
        either!(&mut self.0, |c| c.push_nulls(n))
    }
    /// [`NumCol::push_all`]; a batch with a value past 32 bits is pushed again, widened.
    #[inline(always)]
    pub fn push_all(&mut self, vals: impl Iterator<Item = Option<u64>> + Clone) {
        if let U64Values::Narrow(c) = &mut self.0 {
            let before = c.len();
            let mut over = false;
            c.push_all(vals.clone().map(|v| {
                v.map(|x| {
                    u32::try_from(x).unwrap_or_else(|_| {
                        over = true;
                        0
                    })
                })
            }));
            if !over {
                return;
            }
            c.truncate(before);
        }
        self.wide().push_all(vals);
    }
    pub fn get(&self, i: usize) -> Option<u64> {
        match &self.0 {
            U64Values::Narrow(c) => c.get(i).map(u64::from),
            U64Values::Wide(c) => c.get(i),
        }
    }
    pub fn is_null(&self, i: usize) -> bool {
        either!(&self.0, |c| c.is_null(i))
    }
    pub fn has_nulls(&self) -> bool {
        either!(&self.0, |c| c.has_nulls())
    }
    pub fn null_count(&self) -> usize {
        either!(&self.0, |c| c.null_count())
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Option<u64>> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    pub fn append(&mut self, other: &U64Col) {
        match (&mut self.0, &other.0) {
            (U64Values::Narrow(a), U64Values::Narrow(b)) => a.append(b),
            (U64Values::Wide(a), U64Values::Wide(b)) => a.append(b),
            (U64Values::Wide(a), U64Values::Narrow(b)) => {
                a.push_all(b.iter().map(|v| v.map(u64::from)))
            }
            (U64Values::Narrow(_), U64Values::Wide(b)) => self.wide().append(b),
        }
    }
    pub fn reserve(&mut self, rows: usize) {
        either!(&mut self.0, |c| c.reserve(rows))
    }
    /// Empties the column, keeping its buffer (and its width).
    pub fn clear(&mut self) {
        either!(&mut self.0, |c| c.clear())
    }
    pub fn shrink_to_fit(&mut self) {
        either!(&mut self.0, |c| c.shrink_to_fit())
    }
    pub fn prefault_next(&self, rows: usize) {
        either!(&self.0, |c| c.prefault_next(rows))
    }
    pub fn heap_bytes(&self) -> usize {
        either!(&self.0, |c| c.heap_bytes())
    }
}

impl From<Vec<Option<u64>>> for U64Col {
    fn from(v: Vec<Option<u64>>) -> Self {
        v.into_iter().collect()
    }
}

impl PartialEq<Vec<Option<u64>>> for U64Col {
    fn eq(&self, other: &Vec<Option<u64>>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl FromIterator<Option<u64>> for U64Col {
    fn from_iter<I: IntoIterator<Item = Option<u64>>>(iter: I) -> Self {
        let mut c = U64Col::new();
        for v in iter {
            c.push(v);
        }
        c
    }
}

/// The byte offset of each row's line in its file (never null): 32 bits while every offset
/// fits, widened (once, a copy) at the first that does not, as in [`U64Col`]. Logs are
/// rotated long before 4 GiB, so this is half the memory of `u64`s nearly always.
#[derive(Clone)]
pub enum OffsetCol {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Default for OffsetCol {
    fn default() -> Self {
        OffsetCol::Narrow(Vec::new())
    }
}

impl OffsetCol {
    pub fn len(&self) -> usize {
        match self {
            OffsetCol::Narrow(v) => v.len(),
            OffsetCol::Wide(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The offset of row `i`. Panics if `i` is out of range, as indexing does.
    pub fn get(&self, i: usize) -> u64 {
        match self {
            OffsetCol::Narrow(v) => u64::from(v[i]),
            OffsetCol::Wide(v) => v[i],
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    fn wide(&mut self) -> &mut Vec<u64> {
        if let OffsetCol::Narrow(v) = self {
            let mut w = Vec::with_capacity(v.capacity());
            w.extend(v.iter().map(|&o| u64::from(o)));
            *self = OffsetCol::Wide(w);
        }
        match self {
            OffsetCol::Wide(w) => w,
            OffsetCol::Narrow(_) => unreachable!("widened just above"),
        }
    }
    #[inline]
    pub fn push(&mut self, o: u64) {
        match (&mut *self, u32::try_from(o)) {
            (OffsetCol::Narrow(v), Ok(x)) => v.push(x),
            _ => self.wide().push(o),
        }
    }
    /// Pushes many offsets at once (a batch's lines).
    #[inline(always)]
    pub fn push_all(&mut self, offs: &[usize]) {
        let fits = offs
            .iter()
            .copied()
            .max()
            .is_none_or(|m| u32::try_from(m).is_ok());
        match self {
            OffsetCol::Narrow(v) if fits => v.extend(offs.iter().map(|&o| o as u32)),
            _ => self.wide().extend(offs.iter().map(|&o| o as u64)),
        }
    }
    pub fn append(&mut self, other: &OffsetCol) {
        match (&mut *self, other) {
            (OffsetCol::Narrow(a), OffsetCol::Narrow(b)) => a.extend_from_slice(b),
            (OffsetCol::Wide(a), OffsetCol::Narrow(b)) => a.extend(b.iter().map(|&o| u64::from(o))),
            (_, OffsetCol::Wide(b)) => self.wide().extend_from_slice(b),
        }
    }
    pub fn reserve(&mut self, rows: usize) {
        match self {
            OffsetCol::Narrow(v) => v.reserve(rows),
            OffsetCol::Wide(v) => v.reserve(rows),
        }
    }
    /// Empties the column, keeping the buffer.
    pub fn clear(&mut self) {
        match self {
            OffsetCol::Narrow(v) => v.clear(),
            OffsetCol::Wide(v) => v.clear(),
        }
    }
    pub fn shrink_to_fit(&mut self) {
        match self {
            OffsetCol::Narrow(v) => v.shrink_to_fit(),
            OffsetCol::Wide(v) => v.shrink_to_fit(),
        }
    }
    /// Faults in the room for the next `rows` offsets (see [`prefault`]).
    pub fn prefault_next(&self, rows: usize) {
        match self {
            OffsetCol::Narrow(v) => prefault(v, v.capacity().min(v.len().saturating_add(rows))),
            OffsetCol::Wide(v) => prefault(v, v.capacity().min(v.len().saturating_add(rows))),
        }
    }
    pub fn heap_bytes(&self) -> usize {
        match self {
            OffsetCol::Narrow(v) => v.capacity() * 4,
            OffsetCol::Wide(v) => v.capacity() * 8,
        }
    }
}

/// The file of each row, as runs: a file's rows are consecutive, so a table of any size holds
/// one entry per file (or per chunk appended) instead of 4 bytes a row. Indexed like the
/// `Vec<FileId>` it replaces (`file[i]`, a binary search over the runs).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileCol {
    /// (first row, file) of each run, in row order; neighbouring runs differ in file.
    runs: Vec<(usize, FileId)>,
    len: usize,
}

impl FileCol {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    pub fn push(&mut self, id: FileId) {
        self.push_n(id, 1);
    }
    /// Pushes `id` for `n` more rows.
    #[inline]
    pub fn push_n(&mut self, id: FileId, n: usize) {
        if n == 0 {
            return;
        }
        if self.runs.last().is_none_or(|&(_, f)| f != id) {
            self.runs.push((self.len, id));
        }
        self.len += n;
    }
    /// The file of row `i`, if there is such a row.
    pub fn get(&self, i: usize) -> Option<FileId> {
        if i >= self.len {
            return None;
        }
        let k = self.runs.partition_point(|&(first, _)| first <= i);
        Some(self.runs[k - 1].1)
    }
    pub fn iter(&self) -> impl Iterator<Item = FileId> + '_ {
        self.runs
            .iter()
            .enumerate()
            .flat_map(move |(k, &(first, f))| {
                let end = self.runs.get(k + 1).map_or(self.len, |r| r.0);
                std::iter::repeat_n(f, end - first)
            })
    }
    pub fn append(&mut self, other: &FileCol) {
        for (k, &(first, f)) in other.runs.iter().enumerate() {
            let end = other.runs.get(k + 1).map_or(other.len, |r| r.0);
            self.push_n(f, end - first);
        }
    }
    pub fn clear(&mut self) {
        self.runs.clear();
        self.len = 0;
    }
    pub fn shrink_to_fit(&mut self) {
        self.runs.shrink_to_fit();
    }
    pub fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<(usize, FileId)>()
    }
}

impl std::ops::Index<usize> for FileCol {
    type Output = FileId;
    /// Panics if `i` is out of range, as indexing a vector does.
    fn index(&self, i: usize) -> &FileId {
        assert!(i < self.len, "row {i} of {}", self.len);
        let k = self.runs.partition_point(|&(first, _)| first <= i);
        &self.runs[k - 1].1
    }
}

impl FromIterator<FileId> for FileCol {
    fn from_iter<I: IntoIterator<Item = FileId>>(iter: I) -> Self {
        let mut c = FileCol::default();
        for f in iter {
            c.push(f);
        }
        c
    }
}

/// Equality and `Debug` of columns by their values, whatever the representation (leading runs,
/// bitmaps, widths, where text is kept).
macro_rules! by_values {
    ($($t:ty),*) => {$(
        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.len() == other.len() && self.iter().eq(other.iter())
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }
    )*};
}

by_values!(StrCol, PlusCol, U64Col, OffsetCol);

/// A text column read with `+` as a space: the user agent, referer and cookie, whose spaces IIS
/// logs as `+`.
///
/// Values are stored as logged (a span of the mapped file, like a URL) and decoded when read,
/// so the parse neither copies nor scans them; a reader pays one pass over a value it reads
/// anyway. It dereferences to the stored column for what does not read values (length,
/// appending, memory); [`PlusCol::get`] and [`PlusCol::iter`] give the decoded values, and
/// pushing stores a value as logged.
#[derive(Default, Clone)]
pub struct PlusCol(StrCol);

impl PlusCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        PlusCol(StrCol::with_capacity(rows, bytes))
    }
    /// The value of row `i`, `+` decoded.
    pub fn get(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.0.get(i).map(plus_decoded)
    }
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

/// Faults in the unused capacity of a buffer in a few system calls (MADV_POPULATE_WRITE, Linux
/// 5.14+), instead of one page fault per 4 KiB as it fills. A hint: errors are ignored.
/// Large ranges are populated in pieces on the rayon pool: the kernel's work (zeroing and
/// mapping pages) is the cost, and one thread doing it for a whole table left the others idle.
pub fn prefault<T>(v: &[T], cap: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let size = std::mem::size_of::<T>();
        let start = (v.as_ptr() as usize + std::mem::size_of_val(v)).next_multiple_of(PAGE);
        let end = (v.as_ptr() as usize + cap * size) & !(PAGE - 1);
        if end > start + (1 << 20) {
            const PIECE: usize = 8 << 20;
            let populate = |at: usize| {
                // SAFETY: [at, min(at + PIECE, end)) lies inside [start, end), which lies inside
                // the allocation of `cap` elements that `v` starts and holds no initialised
                // elements; populating pages changes no contents.
                unsafe {
                    libc::madvise(
                        at as *mut libc::c_void,
                        PIECE.min(end - at),
                        libc::MADV_POPULATE_WRITE,
                    );
                }
            };
            if end - start > PIECE && rayon::current_num_threads() > 1 {
                use rayon::prelude::*;
                (start..end)
                    .into_par_iter()
                    .step_by(PIECE)
                    .for_each(populate);
            } else {
                (start..end).step_by(PIECE).for_each(populate);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (v, cap);
}

/// Decodes Windows-1252 bytes (the usual ANSI code page of IIS hosts) into `out`.
pub fn push_cp1252(out: &mut String, v: &[u8]) {
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(v);
    out.push_str(&s);
}

/// A nullable categorical column for strings that repeat (servers, sites, methods, reasons, pools).
///
/// The leading run of one code is only counted (`lead` rows of `lead_code`): a column that is
/// constant for a file (its server, its site) holds no memory per row. The representation is
/// canonical (`codes` is empty or starts with another code), so the derived `PartialEq` holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CatCol {
    lead: usize,
    lead_code: u32,
    /// Codes of rows `lead..`.
    codes: Vec<u32>,
    dict: Vec<String>,
    index: HashMap<String, u32>,
}

const NULL_CODE: u32 = u32::MAX;

/// String equality without a library call or a loop for the short values categories hold
/// (`GET`, `10.0.0.5`): two overlapping loads from each end cover every byte.
#[inline(always)]
fn short_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w4 = |x: &[u8], i: usize| {
        x.get(i..i + 4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    };
    let w8 = |x: &[u8], i: usize| {
        x.get(i..i + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
    };
    match n {
        0 => true,
        // Bytes 0, n/2 and n-1 are all of them.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

impl CatCol {
    pub fn len(&self) -> usize {
        self.lead + self.codes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn last_code(&self) -> Option<u32> {
        match self.codes.last() {
            Some(&c) => Some(c),
            None => (self.lead > 0).then_some(self.lead_code),
        }
    }
    fn code(&self, i: usize) -> u32 {
        match i.checked_sub(self.lead) {
            None => self.lead_code,
            Some(j) => self.codes[j],
        }
    }
    /// The code for `v`, added to the dictionary if new.
    pub fn intern(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.index.get(v) {
            return c;
        }
        let c = self.dict.len() as u32;
        self.dict.push(v.to_owned());
        self.index.insert(v.to_owned(), c);
        c
    }
    /// The code of `v` ([`CatCol::intern`]; the null code for `None`), to push with
    /// [`CatCol::push_code`] as [`CatCol::push`] would.
    pub fn intern_opt(&mut self, v: Option<&str>) -> u32 {
        v.map_or(NULL_CODE, |s| self.intern(s))
    }
    #[inline(always)]
    pub fn push(&mut self, v: Option<&str>) {
        // Fast path: runs of the same value (server, site, method) need no hashing.
        let code = match v {
            None => NULL_CODE,
            Some(s) => match self.last_code() {
                Some(c) if c != NULL_CODE && short_eq(&self.dict[c as usize], s) => c,
                // A handful of values (methods alternating): a scan beats hashing. Same code
                // as `intern` would give.
                _ if self.dict.len() <= 8 => match self.dict.iter().position(|d| short_eq(d, s)) {
                    Some(c) => c as u32,
                    None => self.intern(s),
                },
                _ => self.intern(s),
            },
        };
        self.push_code(code);
    }
    /// Pushes raw bytes, decoded like [`StrCol::push_bytes`].
    pub fn push_bytes(&mut self, v: &[u8]) {
        match std::str::from_utf8(v) {
            Ok(s) => self.push(Some(s)),
            Err(_) => {
                let mut s = String::new();
                push_cp1252(&mut s, v);
                self.push(Some(&s));
            }
        }
    }
    /// The code of a null row.
    pub const NULL: u32 = NULL_CODE;
    /// [`CatCol::push_code`] `n` times.
    pub fn push_codes(&mut self, code: u32, n: usize) {
        if n == 0 {
            return;
        }
        if self.codes.is_empty() && (self.lead == 0 || code == self.lead_code) {
            self.lead_code = code;
            self.lead += n;
        } else {
            self.codes.extend(std::iter::repeat_n(code, n));
        }
    }
    #[inline]
    pub fn push_code(&mut self, code: u32) {
        if self.codes.is_empty() && (self.lead == 0 || code == self.lead_code) {
            self.lead_code = code;
            self.lead += 1;
        } else {
            self.codes.push(code);
        }
    }
    pub fn get(&self, i: usize) -> Option<&str> {
        assert!(i < self.len(), "row {i} of {}", self.len());
        match self.code(i) {
            NULL_CODE => None,
            c => Some(&self.dict[c as usize]),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// The distinct values, in first-seen order.
    pub fn categories(&self) -> &[String] {
        &self.dict
    }
    pub fn append(&mut self, other: &CatCol) {
        let remap: Vec<u32> = other.dict.iter().map(|s| self.intern(s)).collect();
        let map = |c: u32| {
            if c == NULL_CODE {
                NULL_CODE
            } else {
                remap[c as usize]
            }
        };
        if other.lead > 0 {
            let code = map(other.lead_code);
            if self.codes.is_empty() && (self.lead == 0 || self.lead_code == code) {
                self.lead_code = code;
                self.lead += other.lead;
            } else {
                self.codes.extend(std::iter::repeat_n(code, other.lead));
            }
        }
        // (other's own codes start with one unlike its lead, so they never extend our lead.)
        self.codes.extend(other.codes.iter().map(|&c| map(c)));
    }
    pub fn reserve(&mut self, rows: usize) {
        self.codes.reserve(rows);
    }
    /// Empties the column (values and dictionary), keeping the code buffer.
    pub fn clear(&mut self) {
        self.lead = 0;
        self.lead_code = 0;
        self.codes.clear();
        self.dict.clear();
        self.index.clear();
    }
    pub fn shrink_to_fit(&mut self) {
        self.codes.shrink_to_fit();
    }
    /// Faults in the reserved room for the next `rows` codes (see [`prefault`]); a column still
    /// in its leading run (constant so far) has none in use.
    pub fn prefault_next(&self, rows: usize) {
        if !self.codes.is_empty() {
            let cap = self.codes.capacity();
            prefault(&self.codes, cap.min(self.codes.len().saturating_add(rows)));
        }
    }
    pub fn heap_bytes(&self) -> usize {
        self.codes.capacity() * 4
            + self
                .dict
                .iter()
                .map(|s| s.capacity() * 2 + 48)
                .sum::<usize>()
    }
}

/// A nullable number column: the values in one `Vec<T>` (`T::default()` in a null slot) and a
/// null bitmap that exists only once a null has been pushed.
///
/// `Vec<Option<u64>>` costs 16 bytes a row (and `Option<u16>` 4) for columns that are mostly or
/// wholly non-null (status, ports, byte counts, time taken); on a large log that memory, and
/// faulting it in, is a measured cost. Here a column without nulls costs just its values; with
/// nulls, one bit more a row. Bit `i % 64` of word `i / 64` of the bitmap is set when row `i` is
/// null; the bitmap only reaches to the word of the last null (rows past it are values), so
/// pushing a value never touches it. As in [`StrCol`], the nulls before the first value are
/// only counted (`lead`): a column the layout does not have (`sc-bytes` in the IIS default)
/// costs nothing per row. Equality compares the values as `Option<T>`s, whatever the
/// representation (lead, bitmap or not, null slot contents).
#[derive(Clone)]
pub struct NumCol<T> {
    /// Rows `0..lead` are null and not stored; `vals` and `nulls` hold rows `lead..`.
    lead: usize,
    vals: Vec<T>,
    /// Empty while the column holds no null; never longer than `vals.len().div_ceil(64)`
    /// words, and no bit at or past `vals.len()` is set.
    nulls: Vec<u64>,
}

impl<T> Default for NumCol<T> {
    fn default() -> Self {
        NumCol {
            lead: 0,
            vals: Vec::new(),
            nulls: Vec::new(),
        }
    }
}

impl<T: Copy + Default> NumCol<T> {
    pub fn new() -> Self {
        Self::default()
    }
    /// Room for `rows` values (the bitmap is only allocated at the first null).
    pub fn with_capacity(rows: usize) -> Self {
        NumCol {
            lead: 0,
            vals: Vec::with_capacity(rows),
            nulls: Vec::new(),
        }
    }
    pub fn len(&self) -> usize {
        self.lead + self.vals.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    pub fn push(&mut self, v: Option<T>) {
        match v {
            Some(x) => self.vals.push(x),
            None => self.push_null(),
        }
    }
    #[inline]
    pub fn push_null(&mut self) {
        if self.vals.is_empty() {
            self.lead += 1;
            return;
        }
        let i = self.vals.len();
        self.vals.push(T::default());
        let bit = 1u64 << (i % 64);
        match self.nulls.get_mut(i / 64) {
            Some(w) => *w |= bit,
            None => {
                self.grow_nulls(i / 64 + 1);
                self.nulls[i / 64] = bit;
            }
        }
    }
    /// Pushes many values at once, each as [`NumCol::push`] would: a batch's values of one
    /// field, stored in one pass without a capacity check per value (nulls, rare in a numeric
    /// column, take a branch).
    #[inline(always)]
    pub fn push_all(&mut self, vals: impl Iterator<Item = Option<T>>) {
        if self.vals.is_empty() {
            // Leading nulls are only counted.
            vals.for_each(|v| self.push(v));
            return;
        }
        let NumCol {
            vals: stored,
            nulls,
            ..
        } = self;
        let mut i = stored.len();
        let words = stored.capacity().div_ceil(64);
        stored.extend(vals.map(|v| {
            let x = v.unwrap_or_else(|| {
                if nulls.len() <= i / 64 {
                    // As `grow_nulls`: room for every row at the first null.
                    nulls.reserve_exact(words.max(i / 64 + 1).saturating_sub(nulls.len()));
                    nulls.resize(i / 64 + 1, 0);
                }
                nulls[i / 64] |= 1 << (i % 64);
                T::default()
            });
            i += 1;
            x
        }));
    }
    /// Pushes `n` nulls.
    pub fn push_nulls(&mut self, n: usize) {
        if self.vals.is_empty() {
            self.lead += n;
        } else {
            let from = self.vals.len();
            self.vals.extend(std::iter::repeat_n(T::default(), n));
            self.set_nulls(from, self.vals.len());
        }
    }
    /// Stored nulls in slots `from..to` of `vals` (already pushed).
    fn set_nulls(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.grow_nulls(to.div_ceil(64));
        for i in from..to {
            self.nulls[i / 64] |= 1 << (i % 64);
        }
    }
    /// Lengthens the bitmap to `words` words with zero words (rows that hold values). The first
    /// time, it makes room for every row the values have room for, so it does not regrow word
    /// by word.
    fn grow_nulls(&mut self, words: usize) {
        if words <= self.nulls.len() {
            return;
        }
        if self.nulls.capacity() < words {
            let want = self.vals.capacity().div_ceil(64).max(words);
            self.nulls.reserve_exact(want - self.nulls.len());
        }
        self.nulls.resize(words, 0);
    }
    #[inline]
    fn null_bit(&self, i: usize) -> bool {
        self.nulls
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 != 0)
    }
    /// The value of row `i`, `None` if null. Panics if `i` is out of range, as indexing does.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        let j = i.checked_sub(self.lead)?;
        let v = self.vals[j];
        if self.null_bit(j) { None } else { Some(v) }
    }
    /// Whether row `i` is null. Panics if `i` is out of range.
    pub fn is_null(&self, i: usize) -> bool {
        assert!(
            i < self.len(),
            "index out of bounds: the len is {} but the index is {i}",
            self.len()
        );
        i < self.lead || self.null_bit(i - self.lead)
    }
    /// Whether any row is null (cheap: the bitmap exists only then).
    pub fn has_nulls(&self) -> bool {
        self.lead > 0 || !self.nulls.is_empty()
    }
    pub fn null_count(&self) -> usize {
        self.lead
            + self
                .nulls
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>()
    }
    /// The leading nulls, which [`NumCol::values`] does not hold.
    pub fn lead_nulls(&self) -> usize {
        self.lead
    }
    /// The values of rows `lead_nulls()..`, `T::default()` in null slots (see
    /// [`NumCol::validity`]).
    pub fn values(&self) -> &[T] {
        &self.vals
    }
    /// Row by row whether the value is valid (not null), or `None` when no row is null: with
    /// [`NumCol::values`], what a columnar writer (Arrow, polars) takes.
    pub fn validity(&self) -> Option<impl ExactSizeIterator<Item = bool> + '_> {
        self.has_nulls()
            .then(|| (0..self.len()).map(move |i| !self.is_null(i)))
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Option<T>> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Appends another column (chunk results are concatenated in input order): one copy of
    /// the values; the bitmap is only touched when `other` has nulls.
    pub fn append(&mut self, other: &NumCol<T>) {
        if self.vals.is_empty() {
            // Null so far (and so without a bitmap): other's leading nulls only add to ours.
            self.lead += other.lead;
        } else {
            let from = self.vals.len();
            self.vals
                .extend(std::iter::repeat_n(T::default(), other.lead));
            self.set_nulls(from, self.vals.len());
        }
        let base = self.vals.len();
        self.vals.extend_from_slice(&other.vals);
        if other.nulls.is_empty() {
            return;
        }
        // The bitmap must reach the last row other's bitmap covers, but not past the rows (the
        // invariant). Bits shifted past its end are zero: rows past other's end.
        let words = (base + other.nulls.len() * 64)
            .min(self.vals.len())
            .div_ceil(64);
        self.grow_nulls(words);
        let (w0, shift) = (base / 64, base % 64);
        let dst = &mut self.nulls[w0..];
        if shift == 0 {
            for (d, s) in dst.iter_mut().zip(&other.nulls) {
                *d |= s;
            }
        } else {
            for (k, &s) in other.nulls.iter().enumerate() {
                dst[k] |= s << shift;
                if let Some(d) = dst.get_mut(k + 1) {
                    *d |= s >> (64 - shift);
                }
            }
        }
    }
    /// Room for `rows` more values without regrowing (and bitmap words, if it exists).
    pub fn reserve(&mut self, rows: usize) {
        self.vals.reserve(rows);
        if !self.nulls.is_empty() {
            let words = (self.vals.len() + rows).div_ceil(64);
            self.nulls.reserve(words.saturating_sub(self.nulls.len()));
        }
    }
    /// Empties the column, keeping its buffers (a chunk table is reused for the next chunk).
    pub fn clear(&mut self) {
        self.lead = 0;
        self.vals.clear();
        self.nulls.clear();
    }
    /// Keeps the first `len` rows.
    pub fn truncate(&mut self, len: usize) {
        if len <= self.lead {
            self.lead = len;
            self.vals.clear();
            self.nulls.clear();
            return;
        }
        self.vals.truncate(len - self.lead);
        let n = self.vals.len();
        self.nulls.truncate(n.div_ceil(64));
        if let Some(last) = self.nulls.last_mut()
            && !n.is_multiple_of(64)
        {
            *last &= !(!0u64 << (n % 64));
        }
        // (No bitmap while the column holds no null.)
        if self.nulls.iter().all(|&w| w == 0) {
            self.nulls.clear();
        }
    }
    pub fn shrink_to_fit(&mut self) {
        self.vals.shrink_to_fit();
        self.nulls.shrink_to_fit();
    }
    /// Rows the values have room for.
    pub fn capacity(&self) -> usize {
        self.vals.capacity()
    }
    /// Faults in the room for the next `rows` values (see [`prefault`]); the bitmap, if any, is
    /// small and left to fault as it fills.
    pub fn prefault_next(&self, rows: usize) {
        // A column of nulls so far (one the layout lacks) stays without memory.
        if !self.vals.is_empty() {
            let cap = self.vals.capacity();
            prefault(&self.vals, cap.min(self.vals.len().saturating_add(rows)));
        }
    }
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.vals.capacity() * std::mem::size_of::<T>() + self.nulls.capacity() * 8
    }
}

impl<T: Copy + Default> Extend<Option<T>> for NumCol<T> {
    fn extend<I: IntoIterator<Item = Option<T>>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.vals.reserve(iter.size_hint().0);
        for v in iter {
            self.push(v);
        }
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for NumCol<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let mut c = NumCol::new();
        c.extend(iter);
        c
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for NumCol<T> {
    fn from(v: Vec<Option<T>>) -> Self {
        v.into_iter().collect()
    }
}

impl<T: Copy + Default + PartialEq> PartialEq for NumCol<T> {
    fn eq(&self, other: &Self) -> bool {
        if self.lead == other.lead && self.nulls.is_empty() && other.nulls.is_empty() {
            return self.vals == other.vals;
        }
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Copy + Default + Eq> Eq for NumCol<T> {}

/// Lets tests compare a column with the values they expect.
impl<T: Copy + Default + PartialEq> PartialEq<Vec<Option<T>>> for NumCol<T> {
    fn eq(&self, other: &Vec<Option<T>>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl<T: Copy + Default + std::fmt::Debug> std::fmt::Debug for NumCol<T> {
    /// As a `Vec<Option<T>>` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_col_roundtrip_and_append() {
        let mut a = StrCol::default();
        a.push(Some("/a"));
        a.push(None);
        a.push_bytes(b"caf\xe9");
        let mut b = StrCol::default();
        b.push_bytes(b"Mozilla/5.0 (Windows)");
        b.push(Some("caf\u{e9} au lait"));
        a.append(&b);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![
                Some("/a"),
                None,
                Some("café"),
                Some("Mozilla/5.0 (Windows)"),
                Some("caf\u{e9} au lait")
            ]
        );
    }

    #[test]
    fn u64_col_stays_narrow_until_a_value_needs_more() {
        let big = u64::from(u32::MAX) + 1;
        let narrow = |c: &U64Col| matches!(c.values(), U64Values::Narrow(_));
        // A batch with nulls and a value past 32 bits in the middle: pushed again, widened.
        let batch = [Some(1), None, Some(big), Some(7), None];
        let mut c = U64Col::new();
        c.push_all([None, Some(5)].into_iter());
        c.push_all([Some(u64::from(u32::MAX)), None].into_iter());
        assert!(narrow(&c));
        c.push_all(batch.into_iter());
        assert!(!narrow(&c));
        let want: Vec<Option<u64>> = [None, Some(5), Some(u64::from(u32::MAX)), None]
            .into_iter()
            .chain(batch)
            .collect();
        assert_eq!(c, want);
        assert_eq!(c.null_count(), 4);
        assert!(c.is_null(5) && !c.is_null(6));
        // Row by row, and appended in every combination of widths, alike.
        let mut one = U64Col::new();
        for v in &want {
            one.push(*v);
        }
        assert_eq!(one, c);
        let (head, tail) = want.split_at(3);
        for (a, b) in [(head, tail), (tail, head)] {
            let mut x = U64Col::from(a.to_vec());
            x.append(&U64Col::from(b.to_vec()));
            assert_eq!(x.iter().collect::<Vec<_>>(), [a, b].concat());
        }
        let mut n = U64Col::from(vec![Some(1), None]);
        n.push_nulls(2);
        assert!(narrow(&n));
        assert!(n.heap_bytes() < c.heap_bytes());
    }

    #[test]
    fn offset_col_stays_narrow_until_an_offset_needs_more() {
        let big = 5 << 30;
        let narrow = |c: &OffsetCol| matches!(c, OffsetCol::Narrow(_));
        let mut c = OffsetCol::default();
        c.push(7);
        c.push_all(&[10, 20, u32::MAX as usize]);
        assert!(narrow(&c));
        c.push_all(&[big, big + 9]);
        assert!(!narrow(&c));
        c.push(3);
        let want = [
            7,
            10,
            20,
            u64::from(u32::MAX),
            big as u64,
            big as u64 + 9,
            3,
        ];
        assert_eq!(c.iter().collect::<Vec<_>>(), want);
        assert_eq!(c.get(4), big as u64);
        let mut one = OffsetCol::default();
        one.push(big as u64);
        assert!(!narrow(&one));
        // Appended in every combination of widths, alike.
        for split in 0..=want.len() {
            let (a, b) = want.split_at(split);
            let col = |v: &[u64]| {
                let mut c = OffsetCol::default();
                v.iter().for_each(|&o| c.push(o));
                c
            };
            let mut x = col(a);
            x.append(&col(b));
            assert_eq!(x, c, "{split}");
        }
        assert!(OffsetCol::Narrow(vec![1]).heap_bytes() <= 4);
    }

    #[test]
    fn num_col_truncate_keeps_the_first_rows() {
        let all = vec![None, Some(1u32), None, Some(3), Some(4), None];
        for len in 0..=all.len() {
            let mut c = NumCol::from(all.clone());
            c.truncate(len);
            assert_eq!(c, all[..len].to_vec(), "{len}");
            assert_eq!(c.has_nulls(), all[..len].contains(&None), "{len}");
            c.push(Some(9));
            assert_eq!(c.get(len), Some(9));
        }
    }

    #[test]
    fn short_eq_compares_every_byte() {
        let base: Vec<u8> = (b'a'..=b'z').collect();
        for n in 0..=base.len() {
            let a = std::str::from_utf8(&base[..n]).unwrap();
            assert!(short_eq(a, a), "{n}");
            if n > 0 {
                assert!(!short_eq(a, &base_str(&base[..n - 1])), "{n}");
            }
            for k in 0..n {
                let mut other = base[..n].to_vec();
                other[k] = b'#';
                assert!(!short_eq(a, &base_str(&other)), "{n} {k}");
            }
        }
    }

    fn base_str(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn file_col_holds_runs_and_reads_like_a_vector() {
        let rows: Vec<FileId> = [vec![3; 5], vec![1; 2], vec![3; 4], vec![7]].concat();
        let mut a = FileCol::default();
        a.push_n(3, 5);
        a.push_n(9, 0);
        a.push(1);
        a.push(1);
        let mut b = FileCol::default();
        b.push_n(3, 4);
        b.push(7);
        a.append(&b);
        assert_eq!(a.len(), rows.len());
        assert_eq!(a.iter().collect::<Vec<_>>(), rows);
        for (i, &f) in rows.iter().enumerate() {
            assert_eq!(a[i], f, "row {i}");
            assert_eq!(a.get(i), Some(f), "row {i}");
        }
        assert_eq!(a.get(rows.len()), None);
        // One entry per run, and the same runs however the rows were pushed.
        assert_eq!(a.runs.len(), 4);
        assert_eq!(a, rows.iter().copied().collect::<FileCol>());
        let mut c = FileCol::default();
        c.push_n(3, 2);
        c.append(&rows[2..].iter().copied().collect());
        assert_eq!(c, a);
    }

    #[test]
    #[should_panic(expected = "row 2 of 2")]
    fn file_col_index_past_the_end_panics() {
        let mut a = FileCol::default();
        a.push_n(1, 2);
        let _ = a[2];
    }

    #[test]
    fn str_col_takes_packed_spans_in_bulk() {
        let src = Source::copy_of(b"GET /a.aspx - x");
        let mut c = StrCol::default();
        c.extend_packed(3, |out| {
            out[0] = packed::NULL;
            out[1] = packed::source(4, 7, false);
            out[2] = packed::source(12, 1, true);
        });
        c.extend_packed(2, |out| {
            out[0] = packed::source(14, 1, false);
            out[1] = packed::EMPTY;
        });
        c.bind(&src);
        let want = [None, Some("/a.aspx"), None, Some("x"), Some("")];
        assert_eq!(c.iter().collect::<Vec<_>>(), want);
        // The leading null is only counted, as `push_null` would.
        assert_eq!(c.lead, 1);
        let mut d = StrCol::default();
        d.extend_packed(2, |_| {});
        assert_eq!((d.len(), d.lead, d.spans.len()), (2, 2, 0));
    }

    #[test]
    fn str_col_leading_nulls_and_appends() {
        let col = |vals: &[Option<&str>]| {
            let mut c = StrCol::default();
            for v in vals {
                c.push(*v);
            }
            c
        };
        let parts: [&[Option<&str>]; 5] = [
            &[None, None],
            &[None, Some("a"), None],
            &[],
            &[Some(""), None, Some("bc")],
            &[None],
        ];
        let all: Vec<Option<&str>> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let mut a = StrCol::default();
        for p in parts {
            a.append(&col(p));
        }
        assert_eq!(a.iter().collect::<Vec<_>>(), all);
        assert_eq!(a, col(&all));
        assert_eq!(a.len(), all.len());
        assert_eq!(col(&[None, None]).heap_bytes(), 0);
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a, StrCol::default());
    }

    #[test]
    fn str_col_source_spans_stay_in_their_file_across_appends() {
        let one = Source::copy_of(b"GET /a.aspx x");
        let two = Source::copy_of(b"POST /b.asp");
        // File one: a source span, a null, an own copy; file two: an own copy then a span.
        let mut a = StrCol::default();
        a.push_source(4, "/a.aspx");
        a.push_null();
        a.push(Some("a b"));
        a.bind(&one);
        let mut b = StrCol::default();
        b.push(Some("own"));
        b.push_source(5, "/b.asp");
        b.bind(&two);
        let mut all = StrCol::default();
        all.push_null();
        all.append(&a);
        all.append(&b);
        all.append(&a);
        let want = [
            None,
            Some("/a.aspx"),
            None,
            Some("a b"),
            Some("own"),
            Some("/b.asp"),
            Some("/a.aspx"),
            None,
            Some("a b"),
        ];
        assert_eq!(all.iter().collect::<Vec<_>>(), want);
        // Text stays in the sources: only the copies are held.
        assert_eq!(all.data_len(), "a b".len() * 2 + "own".len());
        assert_eq!(all.sources().count(), 3);
        // Equality is by value, whatever the representation.
        let mut copied = StrCol::default();
        for v in want {
            copied.push(v);
        }
        assert_eq!(copied, all);
        assert_ne!(copied, a);
    }

    #[test]
    fn span_limits_are_enforced_not_wrapped() {
        assert!(Span::pack(false, MAX_START as usize, MAX_VALUE_LEN).is_some());
        assert!(Span::pack(false, MAX_START as usize + 1, 1).is_none());
        assert!(Span::pack(true, 0, MAX_VALUE_LEN + 1).is_none());
        let s = Span::pack(true, 12345, 678).unwrap();
        assert!(s.is_own() && !s.is_null());
        assert_eq!(s.range(), 12345..13023);
        // A source span past what a span addresses is copied instead.
        let mut c = StrCol::default();
        c.push_source(MAX_START as usize + 1, "far");
        assert_eq!(c.get(0), Some("far"));
        assert_eq!(c.data_len(), 3);
    }

    #[test]
    fn cat_col_runs_are_counted_and_canonical_across_appends() {
        let vals = [Some("WEB01"), Some("WEB02"), None];
        let col = |seq: &[Option<&str>]| {
            let mut c = CatCol::default();
            for v in seq {
                c.push(*v);
            }
            c
        };
        // Every sequence of up to 6 values, split at every pair of points: pushing and
        // appending give the same values and the same (canonical) representation.
        for n in 0..=6u32 {
            for k in 0..3usize.pow(n) {
                let seq: Vec<Option<&str>> = (0..n).map(|i| vals[k / 3usize.pow(i) % 3]).collect();
                let whole = col(&seq);
                assert_eq!(whole.iter().collect::<Vec<_>>(), seq);
                for a in 0..=seq.len() {
                    for b in a..=seq.len() {
                        let mut c = col(&seq[..a]);
                        c.append(&col(&seq[a..b]));
                        c.append(&col(&seq[b..]));
                        assert_eq!(c.iter().collect::<Vec<_>>(), seq, "{seq:?} at {a},{b}");
                        assert_eq!(c.len(), seq.len());
                        // The dictionary order may differ with the split; codes must not.
                        let canon = |c: &CatCol| (c.lead, c.codes.is_empty(), c.codes.len());
                        assert_eq!(canon(&c), canon(&whole), "{seq:?} at {a},{b}");
                    }
                }
            }
        }
        // A constant column holds no codes at all.
        let mut c = CatCol::default();
        c.reserve(1000);
        for _ in 0..1000 {
            c.push(Some("WEB01"));
        }
        assert_eq!(c.codes.len(), 0);
        assert_eq!(c.get(999), Some("WEB01"));
        c.push(Some("WEB02"));
        assert_eq!(c.codes.len(), 1);
        assert_eq!(c.get(1000), Some("WEB02"));
    }

    #[test]
    fn cat_col_append_remaps_codes() {
        let mut a = CatCol::default();
        a.push(Some("GET"));
        a.push(Some("POST"));
        let mut b = CatCol::default();
        b.push(Some("POST"));
        b.push(None);
        b.push(Some("PUT"));
        a.append(&b);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![Some("GET"), Some("POST"), Some("POST"), None, Some("PUT")]
        );
        assert_eq!(a.categories(), &["GET", "POST", "PUT"]);
    }

    fn num(vals: &[Option<u64>]) -> NumCol<u64> {
        let mut c = NumCol::new();
        for &v in vals {
            c.push(v);
        }
        c
    }

    /// Checks every accessor against the expected values.
    fn check<T: Copy + Default + PartialEq + std::fmt::Debug>(c: &NumCol<T>, exp: &[Option<T>]) {
        assert_eq!(c.len(), exp.len());
        assert_eq!(c.is_empty(), exp.is_empty());
        assert_eq!(c.iter().collect::<Vec<_>>(), exp);
        assert_eq!(c.iter().rev().collect::<Vec<_>>(), {
            let mut r = exp.to_vec();
            r.reverse();
            r
        });
        for (i, &e) in exp.iter().enumerate() {
            assert_eq!(c.get(i), e, "row {i}");
            assert_eq!(c.is_null(i), e.is_none(), "row {i}");
            match i.checked_sub(c.lead_nulls()) {
                Some(j) => assert_eq!(c.values()[j], e.unwrap_or_default(), "row {i}"),
                None => assert_eq!(e, None, "row {i} is a leading null"),
            }
        }
        let nulls = exp.iter().filter(|v| v.is_none()).count();
        // Also catches a stray bit past the end.
        assert_eq!(c.null_count(), nulls);
        assert!(
            c.nulls.len() <= c.values().len().div_ceil(64),
            "bitmap past the rows"
        );
        assert_eq!(c.has_nulls(), nulls > 0);
        match c.validity() {
            None => assert_eq!(nulls, 0),
            Some(v) => assert_eq!(
                v.collect::<Vec<_>>(),
                exp.iter().map(Option::is_some).collect::<Vec<_>>()
            ),
        }
        assert_eq!(*c, exp.to_vec());
        assert_eq!(*c, exp.iter().copied().collect::<NumCol<T>>());
    }

    #[test]
    fn num_col_nulls_first() {
        let exp = [None, None, Some(7u16), None, Some(0), Some(u16::MAX)];
        let c: NumCol<u16> = exp.iter().copied().collect();
        check(&c, &exp);
        // The two leading nulls are only counted.
        assert_eq!(c.lead_nulls(), 2);
        assert_eq!(c.values(), &[7, 0, 0, u16::MAX]);
        assert_eq!(c.null_count(), 3);
        assert!(c.is_null(0) && c.is_null(1) && !c.is_null(2) && c.is_null(3));
    }

    #[test]
    fn num_col_of_nulls_only_holds_no_memory() {
        // A field the layout lacks: every row null, in chunks appended together.
        let mut c = NumCol::<u64>::with_capacity(0);
        let mut chunk = NumCol::<u64>::with_capacity(0);
        for _ in 0..1000 {
            chunk.push(None);
        }
        chunk.prefault_next(1000);
        for _ in 0..5 {
            c.append(&chunk);
        }
        assert_eq!(c.len(), 5000);
        assert_eq!(c.heap_bytes(), 0);
        assert_eq!(c.null_count(), 5000);
        assert_eq!(c, num(&vec![None; 5000]));
        // A value after them, and leading nulls appended after values, are stored.
        c.push(Some(9));
        c.append(&chunk);
        assert_eq!(c.get(4999), None);
        assert_eq!(c.get(5000), Some(9));
        assert_eq!(c.get(5001), None);
        assert_eq!(c.len(), 6001);
        assert_eq!(c.null_count(), 6000);
        assert_eq!(c.values().len(), 1001);
    }

    #[test]
    fn num_col_first_null_after_many_values() {
        // The bitmap starts at row 1000: it must cover every row before it, and rows after it
        // (past its last word, then inside it) stay values.
        let mut exp: Vec<Option<u64>> = (0..1000).map(Some).collect();
        exp.push(None);
        exp.extend((1001..1100).map(Some));
        exp.push(None);
        exp.extend((1101..1200).map(Some));
        let c = num(&exp);
        check(&c, &exp);
        assert_eq!(c.get(999), Some(999));
        assert_eq!(c.get(1000), None);
        assert_eq!(c.get(1001), Some(1001));
        assert_eq!(c.get(1100), None);
        assert_eq!(c.get(1199), Some(1199));
        assert_eq!(c.null_count(), 2);
        // Rows 1101..1200 were pushed after the last null: the bitmap reaches its word only.
        assert_eq!(c.nulls.len(), 1100 / 64 + 1);
    }

    #[test]
    fn num_col_without_nulls_has_no_bitmap() {
        let mut c = NumCol::<u64>::with_capacity(100);
        for v in 0..100 {
            c.push(Some(v * 3));
        }
        check(&c, &(0..100).map(|v| Some(v * 3)).collect::<Vec<_>>());
        assert!(c.validity().is_none());
        assert_eq!(c.capacity(), 100);
        assert_eq!(c.heap_bytes(), 100 * 8);
        let c16: NumCol<u16> = vec![Some(1u16), Some(2)].into();
        assert_eq!(c16.heap_bytes(), c16.capacity() * 2);
        // One null: the bitmap covers the reserved rows, a bit each.
        let mut c = NumCol::<u32>::with_capacity(640);
        c.push(Some(0));
        c.push(None);
        assert_eq!(c.heap_bytes(), 640 * 4 + 10 * 8);
        for v in 2..640 {
            c.push(Some(v));
        }
        assert_eq!(c.heap_bytes(), 640 * 4 + 10 * 8, "no regrowth");
    }

    #[test]
    fn num_col_append_combinations() {
        // Lengths around word edges; patterns with no bitmap, and bitmaps of every extent.
        let patterns: Vec<Vec<Option<u64>>> = [0usize, 1, 5, 63, 64, 65, 127, 130, 200]
            .iter()
            .flat_map(|&n| {
                let base = move |i: usize| 1000 * n as u64 + i as u64 + 1;
                [
                    (0..n).map(|i| Some(base(i))).collect::<Vec<_>>(),
                    (0..n).map(|_| None).collect(),
                    (0..n).map(|i| (i != 0).then(|| base(i))).collect(),
                    (0..n).map(|i| (i + 1 != n).then(|| base(i))).collect(),
                    (0..n).map(|i| (i % 3 != 1).then(|| base(i))).collect(),
                    (0..n).map(|i| (i % 70 == 69).then(|| base(i))).collect(),
                ]
            })
            .collect();
        for a in &patterns {
            for b in &patterns {
                let mut c = num(a);
                c.append(&num(b));
                let exp: Vec<Option<u64>> = a.iter().chain(b).copied().collect();
                check(&c, &exp);
                // And a third, onto the merged bitmap.
                let tail = [None, Some(5), None];
                c.append(&num(&tail));
                let exp: Vec<Option<u64>> = exp.iter().chain(&tail).copied().collect();
                check(&c, &exp);
            }
        }
        // Appending to an empty column, and appending an empty one.
        let x = num(&[Some(1), None]);
        let mut e = NumCol::new();
        e.append(&x);
        assert_eq!(e, x);
        e.append(&NumCol::new());
        check(&e, &[Some(1), None]);
    }

    #[test]
    fn num_col_equality_is_by_value() {
        // Same values, different representations: a bitmap word with no null in it, other
        // contents in a null slot.
        let plain = num(&[Some(1), Some(2), None]);
        let odd = NumCol {
            lead: 0,
            vals: vec![1u64, 2, 99],
            nulls: vec![0b100, 0],
        };
        assert_eq!(plain, odd);
        assert_eq!(
            num(&[Some(1), Some(2)]),
            NumCol {
                lead: 0,
                vals: vec![1u64, 2],
                nulls: vec![0],
            }
        );
        // A null is not its default value.
        assert_ne!(num(&[None]), num(&[Some(0)]));
        assert_ne!(num(&[Some(0)]), num(&[None]));
        assert_ne!(num(&[Some(1)]), num(&[Some(1), Some(1)]));
        assert_ne!(num(&[None]), num(&[None, None]));
        assert_ne!(num(&[Some(1), None]), num(&[Some(2), None]));
        assert_eq!(NumCol::<u32>::new(), NumCol::default());
        assert_eq!(num(&[None, Some(3)]).clone(), num(&[None, Some(3)]));
        assert_eq!(format!("{:?}", num(&[Some(3), None])), "[Some(3), None]");
    }

    #[test]
    fn num_col_clear_and_reuse() {
        let mut c = num(&(0..300)
            .map(|i| (i % 5 != 0).then_some(i))
            .collect::<Vec<_>>());
        let bytes = c.heap_bytes();
        c.clear();
        assert!(c.is_empty());
        assert!(!c.has_nulls());
        assert_eq!(c, NumCol::new());
        assert_eq!(c.heap_bytes(), bytes, "buffers are kept");
        // Reused without nulls: no stale bit shows.
        for i in 0..200 {
            c.push(Some(i + 7));
        }
        check(&c, &(0..200).map(|i| Some(i + 7)).collect::<Vec<_>>());
        c.push(None);
        assert_eq!(c.get(200), None);
        assert_eq!(c.null_count(), 1);
        c.clear();
        c.push(Some(4));
        c.push(None);
        check(&c, &[Some(4), None]);
        c.reserve(1000);
        assert!(c.capacity() >= 1002);
        c.shrink_to_fit();
        check(&c, &[Some(4), None]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn num_col_get_out_of_range_panics() {
        num(&[Some(1), None]).get(2);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn num_col_is_null_out_of_range_panics() {
        num(&[Some(1), None]).is_null(2);
    }
}
