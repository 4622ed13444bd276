//! Some rows and some columns of a table, as a table: one partition's rows without the
//! partition's column.

use crate::export::{Cell, ColKind, TableView};

/// Rows `rows` and columns `cols` of `t`, in that order.
pub struct Subset<'a> {
    t: &'a dyn TableView,
    rows: &'a [usize],
    cols: &'a [usize],
}

impl<'a> Subset<'a> {
    /// The view; every index must be within `t`.
    pub fn new(t: &'a dyn TableView, rows: &'a [usize], cols: &'a [usize]) -> Subset<'a> {
        Subset { t, rows, cols }
    }
}

impl TableView for Subset<'_> {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        let all = self.t.columns();
        self.cols.iter().map(|&c| all[c]).collect()
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        self.t.cell(self.rows[r], self.cols[c])
    }
}
