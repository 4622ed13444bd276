//! Number columns: [`NumCol`], [`U64Col`] and [`OffsetCol`], narrow until a value needs more.

/// A nullable `u64` column held in 32 bits while every value fits, widened (once, a copy) at
/// the first that does not. IIS's win32 status, time taken and byte counts nearly always fit,
/// and broken logs hold values that do not (plaso's `iis10_edge_cases.log`); half the memory
/// is also half the pages the kernel zeroes and maps. Reads as [`NumCol<u64>`] does.
#[derive(Clone)]
pub struct U64Col(pub(super) U64Values);

/// How a [`U64Col`] holds its values (for writers that take whole columns).
#[derive(Clone)]
pub enum U64Values {
    /// Every value fits in 32 bits.
    Narrow(NumCol<u32>),
    /// Some value needs 64 bits.
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
    /// An empty column.
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty column with room for `rows` rows (and `bytes` of text).
    pub fn with_capacity(rows: usize) -> Self {
        U64Col(U64Values::Narrow(NumCol::with_capacity(rows)))
    }
    /// The values as held (narrow or wide).
    pub fn values(&self) -> &U64Values {
        &self.0
    }
    /// Rows.
    pub fn len(&self) -> usize {
        either!(&self.0, |c| c.len())
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The wide column, made from the narrow one if need be.
    pub(super) fn wide(&mut self) -> &mut NumCol<u64> {
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
    /// Appends a row.
    pub fn push(&mut self, v: Option<u64>) {
        match (&mut self.0, v.map(u32::try_from)) {
            (U64Values::Narrow(c), None) => c.push_null(),
            (U64Values::Narrow(c), Some(Ok(x))) => c.push(Some(x)),
            _ => self.wide().push(v),
        }
    }
    /// Appends a null.
    pub fn push_null(&mut self) {
        either!(&mut self.0, |c| c.push_null())
    }
    /// Appends `n` nulls.
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
    /// Row `i` (null: `None`).
    pub fn get(&self, i: usize) -> Option<u64> {
        match &self.0 {
            U64Values::Narrow(c) => c.get(i).map(u64::from),
            U64Values::Wide(c) => c.get(i),
        }
    }
    /// Row `i` is null.
    pub fn is_null(&self, i: usize) -> bool {
        either!(&self.0, |c| c.is_null(i))
    }
    /// Some row is null.
    pub fn has_nulls(&self) -> bool {
        either!(&self.0, |c| c.has_nulls())
    }
    /// Null rows.
    pub fn null_count(&self) -> usize {
        either!(&self.0, |c| c.null_count())
    }
    /// Every row, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Option<u64>> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Appends `other`'s rows.
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
    /// Room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        either!(&mut self.0, |c| c.reserve(rows))
    }
    /// Empties the column, keeping its buffer (and its width).
    pub fn clear(&mut self) {
        either!(&mut self.0, |c| c.clear())
    }
    /// Gives back unused capacity.
    pub fn shrink_to_fit(&mut self) {
        either!(&mut self.0, |c| c.shrink_to_fit())
    }
    /// Faults in the memory the next `rows` rows will use.
    pub fn prefault_next(&self, rows: usize) {
        either!(&self.0, |c| c.prefault_next(rows))
    }
    /// Heap bytes held.
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
    /// Every offset fits in 32 bits.
    Narrow(Vec<u32>),
    /// Some offset needs 64 bits.
    Wide(Vec<u64>),
}

impl Default for OffsetCol {
    fn default() -> Self {
        OffsetCol::Narrow(Vec::new())
    }
}

impl OffsetCol {
    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            OffsetCol::Narrow(v) => v.len(),
            OffsetCol::Wide(v) => v.len(),
        }
    }
    /// No rows.
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
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    pub(super) fn wide(&mut self) -> &mut Vec<u64> {
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
    /// Appends a row.
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
    /// Appends `other`'s rows.
    pub fn append(&mut self, other: &OffsetCol) {
        match (&mut *self, other) {
            (OffsetCol::Narrow(a), OffsetCol::Narrow(b)) => a.extend_from_slice(b),
            (OffsetCol::Wide(a), OffsetCol::Narrow(b)) => a.extend(b.iter().map(|&o| u64::from(o))),
            (_, OffsetCol::Wide(b)) => self.wide().extend_from_slice(b),
        }
    }
    /// Room for `rows` more rows.
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
    /// Gives back unused capacity.
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
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            OffsetCol::Narrow(v) => v.capacity() * 4,
            OffsetCol::Wide(v) => v.capacity() * 8,
        }
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

/// A nullable number column: the values in one `Vec<T>` (`T::default()` in a null slot) and a
/// null bitmap that exists only once a null has been pushed.
///
/// `Vec<Option<u64>>` costs 16 bytes a row (and `Option<u16>` 4) for columns that are mostly or
/// wholly non-null (status, ports, byte counts, time taken); on a large log that memory, and
/// faulting it in, is a measured cost. Here a column without nulls costs just its values; with
/// nulls, one bit more a row. Bit `i % 64` of word `i / 64` of the bitmap is set when row `i` is
/// null; the bitmap only reaches to the word of the last null (rows past it are values), so
/// pushing a value never touches it. As in [`StrCol`](super::StrCol), the nulls before the first value are
/// only counted (`lead`): a column the layout does not have (`sc-bytes` in the IIS default)
/// costs nothing per row. Equality compares the values as `Option<T>`s, whatever the
/// representation (lead, bitmap or not, null slot contents).
#[derive(Clone)]
pub struct NumCol<T> {
    /// Rows `0..lead` are null and not stored; `vals` and `nulls` hold rows `lead..`.
    pub(super) lead: usize,
    pub(super) vals: Vec<T>,
    /// Empty while the column holds no null; never longer than `vals.len().div_ceil(64)`
    /// words, and no bit at or past `vals.len()` is set.
    pub(super) nulls: Vec<u64>,
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
    /// An empty column.
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
    /// Rows.
    pub fn len(&self) -> usize {
        self.lead + self.vals.len()
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    /// Appends a row.
    pub fn push(&mut self, v: Option<T>) {
        match v {
            Some(x) => self.vals.push(x),
            None => self.push_null(),
        }
    }
    #[inline]
    /// Appends a null.
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
    pub(super) fn set_nulls(&mut self, from: usize, to: usize) {
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
    pub(super) fn grow_nulls(&mut self, words: usize) {
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
    pub(super) fn null_bit(&self, i: usize) -> bool {
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
    /// Null rows.
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
    /// Every row, in order.
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
    /// Gives back unused capacity.
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
