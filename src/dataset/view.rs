//! Some rows and some columns of a table, as a table: one partition's rows without the
//! partition's column.

use crate::export::{Cell, ColKind, TableView};

/// Rows `rows` and columns `cols` of `t`, in that order.
pub struct Subset<'a> {
    t: &'a dyn TableView,
    rows: &'a [usize],
    cols: &'a [usize],
    /// The rows are all of `t`'s, in order: whole columns can be handed over.
    all_rows: bool,
}

impl<'a> Subset<'a> {
    /// The view; every index must be within `t`.
    pub fn new(t: &'a dyn TableView, rows: &'a [usize], cols: &'a [usize]) -> Subset<'a> {
        let all_rows = rows.len() == t.len() && rows.iter().enumerate().all(|(i, &r)| i == r);
        Subset {
            t,
            rows,
            cols,
            all_rows,
        }
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
    fn num_column(&self, c: usize) -> Option<crate::export::NumColumn<'_>> {
        if self.all_rows {
            self.t.num_column(self.cols[c])
        } else {
            None
        }
    }
}
