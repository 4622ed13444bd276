//! [`FileCol`]: the file of each row, as runs.

use super::*;

/// The file of each row, as runs: a file's rows are consecutive, so a table of any size holds
/// one entry per file (or per chunk appended) instead of 4 bytes a row. Indexed like the
/// `Vec<FileId>` it replaces (`file[i]`, a binary search over the runs).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileCol {
    /// (first row, file) of each run, in row order; neighbouring runs differ in file.
    pub(super) runs: Vec<(usize, FileId)>,
    pub(super) len: usize,
}

impl FileCol {
    /// Rows.
    pub fn len(&self) -> usize {
        self.len
    }
    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    /// Appends a row of file `id`.
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
    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = FileId> + '_ {
        self.runs
            .iter()
            .enumerate()
            .flat_map(move |(k, &(first, f))| {
                let end = self.runs.get(k + 1).map_or(self.len, |r| r.0);
                std::iter::repeat_n(f, end - first)
            })
    }
    /// Appends `other`'s rows.
    pub fn append(&mut self, other: &FileCol) {
        for (k, &(first, f)) in other.runs.iter().enumerate() {
            let end = other.runs.get(k + 1).map_or(other.len, |r| r.0);
            self.push_n(f, end - first);
        }
    }
    /// Empties it, keeping its buffers.
    pub fn clear(&mut self) {
        self.runs.clear();
        self.len = 0;
    }
    /// Gives back unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.runs.shrink_to_fit();
    }
    /// Heap bytes held.
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
