//! `counters`: Performance Monitor samples in long form (ts, server, object, instance, counter,
//! value). Stored as a series list, a sample list and one 16-byte entry per value: a day of
//! 15-second samples of 2,000 counters is 11.5 million values, and a row of strings each would
//! not fit. The long form is what [`crate::export`] writes, cell by cell.

use super::{Cell, ColKind, FileId, Millis};

/// One counter column of a log: `\\MACHINE\Object(Instance)\Counter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterSeries {
    /// The machine the path names (`\\WEB01` → `WEB01`); after ingest, the server's resolved
    /// name. Null when the path names none and the file's server is unknown.
    pub server: Option<String>,
    /// The object (`Process`; localized names are kept as written).
    pub object: String,
    /// The instance (`w3wp#1`, `_Total`, `1234_DefaultAppPool`); null for objects without.
    pub instance: Option<String>,
    /// The counter (`% Processor Time`).
    pub counter: String,
    /// The log it was read from.
    pub file: FileId,
}

/// One sample time of a log (a data line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterSample {
    /// UTC: the line's local time plus the log's bias.
    pub ts: Millis,
    /// The log.
    pub file: FileId,
    /// Byte offset of the line.
    pub offset: u64,
}

/// One value: which sample, which series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterValue {
    /// Index into `samples`.
    pub sample: u32,
    /// Index into `series`.
    pub series: u32,
    /// The value (finite).
    pub value: f64,
}

/// The `counters` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Counter columns, in file order.
    pub series: Vec<CounterSeries>,
    /// Sample times, in file order.
    pub samples: Vec<CounterSample>,
    /// Values, sample by sample; blank cells are absent.
    pub values: Vec<CounterValue>,
}

impl Counters {
    /// The long-form column names and kinds.
    pub const KINDS: &'static [(&'static str, ColKind)] = &[
        ("ts", ColKind::Ts),
        ("server", ColKind::Str),
        ("object", ColKind::Str),
        ("instance", ColKind::Str),
        ("counter", ColKind::Str),
        ("value", ColKind::Float),
        ("file", ColKind::Int),
        ("offset", ColKind::Int),
    ];

    /// Values (rows of the long form).
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// No values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Cell `c` of row `r` of the long form.
    pub fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let v = &self.values[r];
        let s = &self.series[v.series as usize];
        let at = &self.samples[v.sample as usize];
        fn text(t: Option<&str>) -> Cell<'_> {
            t.map_or(Cell::Null, Cell::Str)
        }
        match c {
            0 => Cell::Ts(at.ts),
            1 => text(s.server.as_deref()),
            2 => Cell::Str(&s.object),
            3 => text(s.instance.as_deref()),
            4 => Cell::Str(&s.counter),
            5 => Cell::Float(v.value),
            6 => Cell::Int(at.file.into()),
            7 => Cell::Int(at.offset.into()),
            _ => Cell::Null,
        }
    }

    /// Appends another log's (or chunk's) rows, shifting its indices.
    pub fn append(&mut self, o: Counters) {
        let (ds, dn) = (self.series.len() as u32, self.samples.len() as u32);
        self.series.extend(o.series);
        self.samples.extend(o.samples);
        self.values
            .extend(o.values.into_iter().map(|v| CounterValue {
                sample: v.sample + dn,
                series: v.series + ds,
                value: v.value,
            }));
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<CounterValue>()
            + self.samples.capacity() * std::mem::size_of::<CounterSample>()
            + self
                .series
                .iter()
                .map(|s| s.object.len() + s.counter.len() + 64)
                .sum::<usize>()
    }
}
