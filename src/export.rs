//! Writing tables out: JSON lines, CSV, an aligned text table, and (with the `frames` feature)
//! polars DataFrames and Parquet.
//!
//! Every table is seen through one [`TableView`] (column names, column kinds, cells), so each
//! writer exists once. The JSON-lines contract: one object per row, keys exactly the column
//! names, nulls as `null`, timestamps RFC 3339 UTC with `Z`, `extra` as a nested object.

use crate::tables::{HttpErr, Requests, Row, Tables};
use std::io::{self, Write};

pub use crate::tables::{Cell, ColKind, NumColumn};

/// A read-only view of a table, row by row.
pub trait TableView: Sync {
    /// Column names and kinds, in order.
    fn columns(&self) -> Vec<(&'static str, ColKind)>;
    /// Rows.
    fn len(&self) -> usize;
    /// No rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cell `col` of row `row`.
    fn cell(&self, row: usize, col: usize) -> Cell<'_>;
    /// Column `col` whole when it is a [`NumCol`](crate::tables::NumCol) (the same values [`TableView::cell`] gives),
    /// so a columnar writer need not go cell by cell; `None` for any other column.
    fn num_column(&self, _col: usize) -> Option<NumColumn<'_>> {
        None
    }
}

/// The columnar tables: names, kinds and cells as `columnar_table!` declares them.
macro_rules! columnar_view {
    ($($t:ty),*) => {$(
        impl TableView for $t {
            fn columns(&self) -> Vec<(&'static str, ColKind)> {
                <$t>::KINDS.to_vec()
            }
            fn len(&self) -> usize {
                <$t>::len(self)
            }
            fn cell(&self, r: usize, c: usize) -> Cell<'_> {
                <$t>::cell(self, r, c)
            }
            fn num_column(&self, c: usize) -> Option<NumColumn<'_>> {
                <$t>::num_column(self, c)
            }
        }
    )*};
}
columnar_view!(Requests, HttpErr);

impl TableView for crate::tables::Counters {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        Self::KINDS.to_vec()
    }
    fn len(&self) -> usize {
        crate::tables::Counters::len(self)
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        crate::tables::Counters::cell(self, r, c)
    }
}

/// A row table through its declared columns (`row_table!`).
pub struct Rows<'a, T>(pub &'a [T]);

impl<T: Row + Sync> TableView for Rows<'_, T> {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        T::KINDS.to_vec()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        self.0[r].cell(c)
    }
}

/// Rows `rows` and columns `cols` of `t`, in that order, as a table: a partition's rows without
/// the partition's column, or a row group's slice.
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
    fn num_column(&self, c: usize) -> Option<NumColumn<'_>> {
        if self.all_rows {
            self.t.num_column(self.cols[c])
        } else {
            None
        }
    }
}

/// Names of the tables `parse --table` can write.
pub const TABLE_NAMES: &[&str] = &[
    "requests",
    "httperr",
    "crashes",
    "modules",
    "frames",
    "thread_frames",
    "threads",
    "ftp",
    "counters",
    "traces",
    "issues",
    "files",
];

/// A view of the named table.
pub fn view<'a>(tables: &'a Tables, name: &str) -> Option<Box<dyn TableView + 'a>> {
    Some(match name {
        "requests" => Box::new(&tables.requests) as Box<dyn TableView>,
        "httperr" => Box::new(&tables.httperr),
        "crashes" => Box::new(Rows(&tables.crashes)),
        "modules" => Box::new(Rows(&tables.modules)),
        "frames" => Box::new(Rows(&tables.frames)),
        "thread_frames" => Box::new(Rows(&tables.thread_frames)),
        "threads" => Box::new(Rows(&tables.threads)),
        "ftp" => Box::new(Rows(&tables.ftp)),
        "counters" => Box::new(&tables.counters),
        "traces" => Box::new(Rows(&tables.traces)),
        "issues" => Box::new(Rows(&tables.issues)),
        "files" => Box::new(Rows(&tables.files)),
        _ => return None,
    })
}

impl<T: TableView + ?Sized> TableView for &T {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        (**self).columns()
    }
    fn len(&self) -> usize {
        (**self).len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        (**self).cell(r, c)
    }
    fn num_column(&self, c: usize) -> Option<NumColumn<'_>> {
        (**self).num_column(c)
    }
}

/// RFC 3339 UTC with `Z`; milliseconds only when present.
pub fn format_ts(ms: i64) -> String {
    use chrono::{DateTime, SecondsFormat};
    match DateTime::from_timestamp_millis(ms) {
        Some(t) if ms % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Writes JSON lines.
pub fn write_jsonl(t: &dyn TableView, out: &mut dyn Write) -> io::Result<()> {
    let cols = t.columns();
    let keys: Vec<String> = cols
        .iter()
        .map(|(n, _)| serde_json::to_string(n).unwrap_or_default())
        .collect();
    let mut line = String::with_capacity(1024);
    for r in 0..t.len() {
        line.clear();
        line.push('{');
        for (c, key) in keys.iter().enumerate() {
            if c > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push(':');
            match t.cell(r, c) {
                Cell::Null => line.push_str("null"),
                Cell::Str(v) => json_str(&mut line, v),
                Cell::Owned(v) => json_str(&mut line, &v),
                Cell::Int(v) => line.push_str(&v.to_string()),
                Cell::Float(v) if v.is_finite() => line.push_str(&v.to_string()),
                Cell::Float(_) => line.push_str("null"),
                Cell::Ts(v) => json_str(&mut line, &format_ts(v)),
                Cell::Bool(v) => line.push_str(if v { "true" } else { "false" }),
                // Parser-made JSON, but re-validate: a bad `extra` must not break the stream.
                Cell::Json(v) => match serde_json::from_str::<serde_json::Value>(v) {
                    Ok(_) => line.push_str(v),
                    Err(_) => json_str(&mut line, v),
                },
            }
        }
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn json_str(out: &mut String, v: &str) {
    // serde_json escapes control characters and quotes exactly as JSON requires.
    out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into()));
}

fn text(cell: Cell<'_>) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::Str(v) | Cell::Json(v) => Some(v.to_owned()),
        Cell::Owned(v) => Some(v),
        Cell::Int(v) => Some(v.to_string()),
        Cell::Float(v) => Some(v.to_string()),
        Cell::Ts(v) => Some(format_ts(v)),
        Cell::Bool(v) => Some(v.to_string()),
    }
}

/// How to write CSV.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvOptions {
    /// Cells as logged. Otherwise a text cell that a spreadsheet would run as a formula (it
    /// starts with `=`, `+`, `-`, `@`, a tab or a CR; log fields are attacker-controlled) gets
    /// a leading apostrophe, the usual neutraliser.
    pub raw: bool,
    /// Control characters escaped for a terminal (see [`crate::term`]).
    pub escape_controls: bool,
}

/// Whether a spreadsheet would read `v` as a formula.
fn formula_like(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Writes CSV (RFC 4180 quoting; null = empty field).
pub fn write_csv(t: &dyn TableView, out: &mut dyn Write, opts: CsvOptions) -> io::Result<()> {
    let cols = t.columns();
    let header: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    writeln!(out, "{}", header.join(","))?;
    let mut line = String::new();
    for r in 0..t.len() {
        line.clear();
        for c in 0..cols.len() {
            if c > 0 {
                line.push(',');
            }
            let cell = t.cell(r, c);
            // Numbers and times are ours; only text can carry a formula.
            let is_text = matches!(cell, Cell::Str(_) | Cell::Owned(_) | Cell::Json(_));
            if let Some(mut v) = text(cell) {
                if opts.escape_controls {
                    v = crate::term::safe(&v).into_owned();
                }
                if !opts.raw && is_text && formula_like(&v) {
                    v.insert(0, '\'');
                }
                if v.contains([',', '"', '\n', '\r']) {
                    line.push('"');
                    line.push_str(&v.replace('"', "\"\""));
                    line.push('"');
                } else {
                    line.push_str(&v);
                }
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes an aligned text table of at most `limit` rows (values cut at 60 characters).
pub fn write_text(t: &dyn TableView, out: &mut dyn Write, limit: usize) -> io::Result<()> {
    let cols = t.columns();
    let shown = t.len().min(limit);
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(shown + 1);
    cells.push(cols.iter().map(|(n, _)| n.to_string()).collect());
    for r in 0..shown {
        cells.push(
            (0..cols.len())
                .map(|c| {
                    let v = text(t.cell(r, c)).unwrap_or_else(|| "-".into());
                    let v: String = v
                        .chars()
                        .map(|ch| if ch.is_control() { '?' } else { ch })
                        .collect();
                    if v.chars().count() > 60 {
                        format!("{}…", v.chars().take(59).collect::<String>())
                    } else {
                        v
                    }
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..cols.len())
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let mut line = String::new();
        for (c, v) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(v);
            if c + 1 < row.len() {
                line.extend(std::iter::repeat_n(' ', widths[c] - v.chars().count()));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    if t.len() > shown {
        writeln!(
            out,
            "… {} more rows (use --format jsonl|csv|parquet for all)",
            t.len() - shown
        )?;
    }
    Ok(())
}

#[cfg(feature = "parquet")]
pub use frames::{PartWriters, ROW_GROUP, to_dataframe, write_parquet, write_parquet_rows};

#[cfg(feature = "parquet")]
mod frames {
    use super::{Cell, ColKind, NumColumn, TableView, text};
    use crate::tables::NumCol;
    use polars::prelude::*;

    /// The table as a polars DataFrame (timestamps as `Datetime(ms, UTC)`).
    pub fn to_dataframe(t: &dyn TableView) -> PolarsResult<DataFrame> {
        use rayon::prelude::*;
        // Columns are converted in parallel: each reads the table on its own.
        let columns: Vec<Column> = t
            .columns()
            .into_par_iter()
            .enumerate()
            .map(|(c, (name, kind))| column(t, c, name, kind))
            .collect::<PolarsResult<_>>()?;
        DataFrame::new(t.len(), columns)
    }

    /// Column `c` of the table as a polars column.
    fn column(
        t: &dyn TableView,
        c: usize,
        name: &'static str,
        kind: ColKind,
    ) -> PolarsResult<Column> {
        let name = PlSmallStr::from_static(name);
        {
            let series = match kind {
                ColKind::Int => match t.num_column(c) {
                    Some(NumColumn::U16(col)) => int64(name, col),
                    Some(NumColumn::U32(col)) => int64(name, col),
                    Some(NumColumn::U64(col)) => int64(name, col),
                    None => {
                        let v: Vec<Option<i64>> = (0..t.len())
                            .map(|r| match t.cell(r, c) {
                                Cell::Int(x) => i64::try_from(x).ok(),
                                _ => None,
                            })
                            .collect();
                        Series::new(name, v)
                    }
                },
                ColKind::Ts => {
                    let v: Vec<Option<i64>> = (0..t.len())
                        .map(|r| match t.cell(r, c) {
                            Cell::Ts(x) => Some(x),
                            _ => None,
                        })
                        .collect();
                    // Built as UTC datetimes, not cast to them: a cast kept the zone only for
                    // an all-null column, so one table's files disagreed on their schema.
                    Int64Chunked::from_iter_options(name, v.into_iter())
                        .into_datetime(TimeUnit::Milliseconds, Some(polars::prelude::TimeZone::UTC))
                        .into_series()
                }
                ColKind::Float => {
                    let v: Vec<Option<f64>> = (0..t.len())
                        .map(|r| match t.cell(r, c) {
                            Cell::Float(x) => Some(x),
                            _ => None,
                        })
                        .collect();
                    Series::new(name, v)
                }
                ColKind::Bool => {
                    let v: Vec<Option<bool>> = (0..t.len())
                        .map(|r| match t.cell(r, c) {
                            Cell::Bool(x) => Some(x),
                            _ => None,
                        })
                        .collect();
                    Series::new(name, v)
                }
                ColKind::Str | ColKind::Json => {
                    // Borrowed text goes straight into the column's buffers: one String per
                    // cell was most of the time of a large table's conversion.
                    let mut b = StringChunkedBuilder::new(name, t.len());
                    for r in 0..t.len() {
                        match t.cell(r, c) {
                            Cell::Str(v) | Cell::Json(v) => b.append_value(v),
                            Cell::Null => b.append_null(),
                            other => b.append_option(text(other)),
                        }
                    }
                    b.finish().into_series()
                }
            };
            Ok(series.into())
        }
    }

    /// A numeric column as an Int64 series, from its values and nulls at once (no cell per
    /// row). Like the cell path, a value past `i64::MAX` becomes null.
    fn int64<T: Copy + Default + TryInto<i64>>(name: PlSmallStr, col: &NumCol<T>) -> Series {
        let mut fit = true;
        let vals: Vec<i64> = std::iter::repeat_n(T::default(), col.lead_nulls())
            .chain(col.values().iter().copied())
            .map(|v| {
                v.try_into().unwrap_or_else(|_| {
                    fit = false;
                    0
                })
            })
            .collect();
        if fit && !col.has_nulls() {
            return Int64Chunked::from_vec(name, vals).into_series();
        }
        let valid = BooleanChunked::from_iter_values(
            PlSmallStr::EMPTY,
            col.iter().map(|v| v.is_some_and(|x| x.try_into().is_ok())),
        );
        let validity = valid.downcast_iter().next().map(|a| a.values().clone());
        Int64Chunked::from_vec_validity(name, vals, validity).into_series()
    }

    /// Rows per row group, and per frame held in memory while writing.
    pub const ROW_GROUP: usize = 1 << 18;

    /// Writes the table as Parquet (zstd).
    pub fn write_parquet(t: &dyn TableView, out: &mut dyn std::io::Write) -> PolarsResult<()> {
        let rows: Vec<usize> = (0..t.len()).collect();
        let cols: Vec<usize> = (0..t.columns().len()).collect();
        write_parquet_rows(t, &rows, &cols, out)
    }

    /// Writes rows `rows` and columns `cols` of the table as one Parquet file (zstd), a row
    /// group of [`ROW_GROUP`] rows at a time: memory holds one group's frame, not the table's.
    pub fn write_parquet_rows(
        t: &dyn TableView,
        rows: &[usize],
        cols: &[usize],
        out: &mut dyn std::io::Write,
    ) -> PolarsResult<()> {
        // One (empty) frame gives an empty table its schema.
        let mut groups = rows.chunks(ROW_GROUP.max(1));
        let first = groups.next().unwrap_or(rows);
        let df = to_dataframe(&super::Subset::new(t, first, cols))?;
        let mut w = ParquetWriter::new(out)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(df.schema())?;
        w.write_batch(&df)?;
        drop(df);
        for group in groups {
            w.write_batch(&to_dataframe(&super::Subset::new(t, group, cols))?)?;
        }
        w.finish()?;
        Ok(())
    }

    /// Parquet files written as rows arrive (a table read again a chunk at a time): one file
    /// per key, each written a row group of [`ROW_GROUP`] rows at a time, as
    /// [`write_parquet_rows`] writes one. Rows wait in memory until a group is full, up to
    /// twice that many in all (then the largest waiting group is written short).
    pub struct PartWriters<K: Ord> {
        open: std::collections::BTreeMap<K, Part>,
        waiting: usize,
    }

    /// One file being written, and its rows not yet written.
    pub struct Part {
        w: BatchedWriter<std::io::BufWriter<std::fs::File>>,
        buf: Option<DataFrame>,
    }

    impl Part {
        /// Writes the waiting rows, whole groups only unless `all`.
        fn flush(&mut self, all: bool) -> PolarsResult<usize> {
            let Some(mut buf) = self.buf.take() else {
                return Ok(0);
            };
            let mut written = 0;
            while buf.height() >= ROW_GROUP || (all && buf.height() > 0) {
                let n = buf.height().min(ROW_GROUP);
                let mut head = buf.slice(0, n);
                head.rechunk_mut_par();
                self.w.write_batch(&head)?;
                buf = buf.slice(n as i64, buf.height() - n);
                written += n;
            }
            self.buf = (buf.height() > 0).then_some(buf);
            Ok(written)
        }
        fn waiting(&self) -> usize {
            self.buf.as_ref().map_or(0, DataFrame::height)
        }
    }

    impl<K: Ord + Clone> Default for PartWriters<K> {
        fn default() -> Self {
            PartWriters {
                open: Default::default(),
                waiting: 0,
            }
        }
    }

    impl<K: Ord + Clone> PartWriters<K> {
        /// Adds rows `rows` and columns `cols` of `t` to the file of `key`, created at `path()`
        /// (its folder too) when the key is new.
        pub fn add(
            &mut self,
            key: K,
            path: impl FnOnce() -> std::path::PathBuf,
            t: &dyn TableView,
            rows: &[usize],
            cols: &[usize],
        ) -> PolarsResult<()> {
            let df = to_dataframe(&super::Subset::new(t, rows, cols))?;
            let part = match self.open.entry(key) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let path = path();
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
                    let w = ParquetWriter::new(f)
                        .with_compression(ParquetCompression::Zstd(None))
                        .batched(df.schema())?;
                    e.insert(Part { w, buf: None })
                }
            };
            self.waiting += df.height();
            part.buf = Some(match part.buf.take() {
                Some(mut b) => {
                    b.vstack_mut(&df)?;
                    b
                }
                None => df,
            });
            self.waiting -= part.flush(false)?;
            while self.waiting > 2 * ROW_GROUP {
                let Some(big) = self.open.values_mut().max_by_key(|p| p.waiting()) else {
                    break;
                };
                self.waiting -= big.flush(true)?;
            }
            Ok(())
        }

        /// Writes what waits and closes every file; returns how many files there were.
        pub fn finish(self) -> PolarsResult<usize> {
            let n = self.open.len();
            for (_, mut p) in self.open {
                p.flush(true)?;
                p.w.finish()?;
            }
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Requests {
        let mut r = Requests::default();
        r.ts.push(1_514_794_150_000);
        r.server.push(Some("WEB01"));
        r.site.push(Some("W3SVC1"));
        r.s_ip.push(Some("::1%0"));
        r.s_port.push(Some(80));
        r.method.push(Some("GET"));
        r.uri_stem.push(Some("/a,\"b\""));
        r.uri_query.push(None);
        r.username.push(None);
        r.c_ip.push(Some("10.0.0.1"));
        r.user_agent.push(Some("Mozilla/5.0 (Windows)"));
        r.referer.push(None);
        r.cookie.push(None);
        r.host.push(None);
        r.status.push(Some(200));
        r.substatus.push(Some(0));
        r.win32_status.push(Some(214_784_354_254));
        r.sc_bytes.push(None);
        r.cs_bytes.push(None);
        r.time_taken_ms.push(Some(15));
        r.file.push(3);
        r.offset.push(257);
        r.extra.push(Some(r#"{"X-Forwarded-For":"1.2.3.4"}"#));
        r
    }

    #[test]
    fn jsonl_contract() {
        let mut out = Vec::new();
        write_jsonl(&sample(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = crate::tables::REQUEST_COLUMNS.to_vec();
        expected.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, expected);
        assert_eq!(v["ts"], "2018-01-01T08:09:10Z");
        assert_eq!(v["uri_query"], serde_json::Value::Null);
        assert_eq!(v["win32_status"], 214_784_354_254u64);
        assert_eq!(v["extra"]["X-Forwarded-For"], "1.2.3.4");
        assert_eq!(v["uri_stem"], "/a,\"b\"");
    }

    #[test]
    fn csv_quotes() {
        let mut out = Vec::new();
        write_csv(&sample(), &mut out, CsvOptions::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.starts_with("2018-01-01T08:09:10Z,WEB01,W3SVC1,::1%0,80,GET,\"/a,\"\"b\"\"\",,"),
            "{line}"
        );
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn dataframe_has_typed_columns() {
        use polars::prelude::{DataType, ParquetReader, SerReader, TimeUnit, TimeZone};
        let df = to_dataframe(&sample()).unwrap();
        assert_eq!(df.height(), 1);
        assert_eq!(df.width(), crate::tables::REQUEST_COLUMNS.len());
        let utc = DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
        assert_eq!(df.column("ts").unwrap().dtype(), &utc);
        let mut buf = Vec::new();
        write_parquet(&sample(), &mut buf).unwrap();
        assert_eq!(&buf[..4], b"PAR1");
        // Read back as UTC whether the column has values or none (engines refuse to merge
        // files of one table whose zones differ).
        let back = ParquetReader::new(std::io::Cursor::new(&buf))
            .finish()
            .unwrap();
        assert_eq!(back.column("ts").unwrap().dtype(), &utc);
        let mut nulls = Vec::new();
        let empty = crate::tables::Requests::default();
        write_parquet(&empty, &mut nulls).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(&nulls))
            .finish()
            .unwrap();
        assert_eq!(back.column("ts").unwrap().dtype(), &utc);
    }

    /// A table longer than a row group is written a group at a time and reads back whole, in
    /// order; a subset leaves out its rows and columns.
    #[cfg(feature = "parquet")]
    #[test]
    fn large_tables_are_written_a_row_group_at_a_time() {
        use crate::tables::{IssueRow, Severity};
        use polars::prelude::{ParquetReader, SerReader};
        let n = ROW_GROUP + 1_000;
        let issues: Vec<IssueRow> = (0..n)
            .map(|i| IssueRow::new(i as u32, Severity::Warning, "probe", format!("row {i}")))
            .collect();
        let t = Rows(&issues);
        let mut buf = Vec::new();
        write_parquet(&t, &mut buf).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(&buf))
            .finish()
            .unwrap();
        assert_eq!(df.height(), n);
        let msg = df.column("message").unwrap().str().unwrap().clone();
        assert_eq!(msg.get(n - 1), Some(format!("row {}", n - 1).as_str()));
        let meta = ParquetReader::new(std::io::Cursor::new(&buf))
            .get_metadata()
            .unwrap()
            .clone();
        assert_eq!(meta.row_groups.len(), 2);

        let rows = [3usize, 7, n - 1];
        let cols = [0usize, 4];
        let mut part = Vec::new();
        write_parquet_rows(&t, &rows, &cols, &mut part).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(&part))
            .finish()
            .unwrap();
        assert_eq!(df.height(), 3);
        assert_eq!(df.width(), 2);
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn dataframe_numeric_columns_match_the_cell_path() {
        use crate::tables::{NumCol, U64Col};
        /// The same table seen cell by cell only.
        struct Cells<'a>(&'a Requests);
        impl TableView for Cells<'_> {
            fn columns(&self) -> Vec<(&'static str, ColKind)> {
                self.0.columns()
            }
            fn len(&self) -> usize {
                TableView::len(self.0)
            }
            fn cell(&self, r: usize, c: usize) -> Cell<'_> {
                self.0.cell(r, c)
            }
        }
        let mut r = sample();
        let mut b = sample();
        b.status = NumCol::from(vec![None]);
        b.s_port = NumCol::from(vec![None]);
        // Past i64::MAX: null in the frame, as on the cell path.
        b.win32_status = U64Col::from(vec![Some(u64::MAX)]);
        b.time_taken_ms = U64Col::from(vec![Some(1 << 40)]);
        r.append(&b);
        r.append(&sample());
        let fast = to_dataframe(&r).unwrap();
        let slow = to_dataframe(&Cells(&r)).unwrap();
        assert_eq!(fast.height(), 3);
        for (f, s) in fast.columns().iter().zip(slow.columns()) {
            assert_eq!(f.name(), s.name());
            assert_eq!(f.dtype(), s.dtype(), "{}", f.name());
            assert!(f.equals_missing(s), "{}: {f:?} vs {s:?}", f.name());
        }
        let col = |n: &str| fast.column(n).unwrap().clone();
        assert_eq!(col("status").null_count(), 1);
        assert_eq!(col("sc_bytes").null_count(), 3);
        assert_eq!(col("win32_status").null_count(), 1);
        assert_eq!(col("substatus").null_count(), 0);
        assert_eq!(col("time_taken_ms").i64().unwrap().get(1), Some(1 << 40));
        assert_eq!(
            col("win32_status").i64().unwrap().get(0),
            Some(214_784_354_254)
        );
    }
}
