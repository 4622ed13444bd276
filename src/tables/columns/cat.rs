//! [`CatCol`]: strings that repeat, as codes.

use super::*;

/// A nullable categorical column for strings that repeat (servers, sites, methods, reasons, pools).
///
/// The leading run of one code is only counted (`lead` rows of `lead_code`): a column that is
/// constant for a file (its server, its site) holds no memory per row. The representation is
/// canonical (`codes` is empty or starts with another code), so the derived `PartialEq` holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CatCol {
    pub(super) lead: usize,
    pub(super) lead_code: u32,
    /// Codes of rows `lead..`.
    pub(super) codes: Vec<u32>,
    pub(super) dict: Vec<String>,
    pub(super) index: HashMap<String, u32>,
}

pub(crate) const NULL_CODE: u32 = u32::MAX;

/// String equality without a library call or a loop for the short values categories hold
/// (`GET`, `10.0.0.5`): two overlapping loads from each end cover every byte.
#[inline(always)]
pub(crate) fn short_eq(a: &str, b: &str) -> bool {
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
    /// Rows.
    pub fn len(&self) -> usize {
        self.lead + self.codes.len()
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub(super) fn last_code(&self) -> Option<u32> {
        match self.codes.last() {
            Some(&c) => Some(c),
            None => (self.lead > 0).then_some(self.lead_code),
        }
    }
    pub(crate) fn code(&self, i: usize) -> u32 {
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
    /// Appends a row (a value seen before reuses its category).
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
    /// Appends a row by its category code.
    pub fn push_code(&mut self, code: u32) {
        if self.codes.is_empty() && (self.lead == 0 || code == self.lead_code) {
            self.lead_code = code;
            self.lead += 1;
        } else {
            self.codes.push(code);
        }
    }
    /// Row `i` (null: `None`).
    pub fn get(&self, i: usize) -> Option<&str> {
        assert!(i < self.len(), "row {i} of {}", self.len());
        match self.code(i) {
            NULL_CODE => None,
            c => Some(&self.dict[c as usize]),
        }
    }
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// The distinct values, in first-seen order.
    pub fn categories(&self) -> &[String] {
        &self.dict
    }
    /// Renames categories: `f(value)` is the new name, or `None` to keep it. Categories that end
    /// up with one name become one code (rows keep their order; no row is copied).
    pub fn rename(&mut self, f: impl Fn(&str) -> Option<String>) {
        let mut dict: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let remap: Vec<u32> = self
            .dict
            .iter()
            .map(|v| {
                let name = f(v).unwrap_or_else(|| v.clone());
                *index.entry(name).or_insert_with_key(|name| {
                    dict.push(name.clone());
                    (dict.len() - 1) as u32
                })
            })
            .collect();
        let map = |c: u32| if c == NULL_CODE { c } else { remap[c as usize] };
        if self.lead > 0 {
            self.lead_code = map(self.lead_code);
        }
        for c in &mut self.codes {
            *c = map(*c);
        }
        self.dict = dict;
        self.index = index;
        // Canonical again: rows that now carry the leading code join the leading run.
        if self.lead > 0 {
            let same = self
                .codes
                .iter()
                .take_while(|&&c| c == self.lead_code)
                .count();
            self.codes.drain(..same);
            self.lead += same;
        }
    }
    /// Appends `other`'s rows.
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
    /// Room for `rows` more rows.
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
    /// Gives back unused capacity.
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
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.codes.capacity() * 4
            + self
                .dict
                .iter()
                .map(|s| s.capacity() * 2 + 48)
                .sum::<usize>()
    }
}
