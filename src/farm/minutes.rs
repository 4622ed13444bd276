//! Requests per site and UTC minute by status class, with their summed time-taken: the `minutes`
//! table of the dataset, and what a server's days in the farm report are summed from. Counts add
//! up across files, servers and days, so a dashboard or a farm-wide query reads these instead of
//! the requests.

use crate::export::{Cell, ColKind, TableView};
use crate::tables::Requests;
use std::collections::{BTreeMap, HashMap};

const MINUTE: i64 = 60_000;

/// `[requests, 1xx, 2xx, 3xx, 4xx, 5xx, no status, time-taken ms, requests with a time-taken]`.
type Counts = [u64; 9];

/// One row per (site, minute) that has requests, in site then time order.
#[derive(Debug, Default)]
pub struct Minutes {
    rows: Vec<(Option<String>, i64, Counts)>,
}

impl Minutes {
    /// Requests and 5xx responses per UTC day (`YYYY-MM-DD`).
    pub fn by_day(&self) -> BTreeMap<String, (u64, u64)> {
        let mut days: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (_, ts, c) in &self.rows {
            let d = days.entry(super::model::day_of(*ts)).or_default();
            d.0 += c[0];
            d.1 += c[5];
        }
        days
    }

    /// The minutes of every request row of `t` (a fold: the logs are read again when the
    /// table holds only the rows around the incidents).
    pub fn of_all(t: &crate::tables::Tables) -> Minutes {
        let m = Minutes::sorted(t.all_rows().fold(
            HashMap::new,
            |acc, r, range| add_into(acc, by_name(r, range)),
            |mut a, b| {
                add_into(&mut a, b);
                a
            },
        ));
        if let Some(r) = &t.reread {
            // Every row is in one minute: counting them again would be one more read.
            r.know_rows(m.rows.iter().map(|(_, _, c)| c[0]).sum::<u64>() as usize);
        }
        m
    }

    fn sorted(by: HashMap<(Option<String>, i64), Counts>) -> Minutes {
        let mut rows: Vec<(Option<String>, i64, Counts)> = by
            .into_iter()
            .map(|((site, ts), c)| (site, ts, c))
            .collect();
        rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Minutes { rows }
    }
}

type ByName = HashMap<(Option<String>, i64), Counts>;

fn add_into(acc: &mut ByName, part: ByName) {
    for (k, c) in part {
        let e = acc.entry(k).or_insert([0; 9]);
        for (a, b) in e.iter_mut().zip(c) {
            *a = a.saturating_add(b);
        }
    }
}

/// Rows `range` of `r` per (site, minute), the site by name.
fn by_name(r: &Requests, range: std::ops::Range<usize>) -> ByName {
    // Keyed by the site's code (a string compare per row was most of this), named at the end.
    let mut by: HashMap<(u32, i64), (Counts, usize)> = HashMap::new();
    for i in range {
        let key = (r.site.code(i), r.ts[i].div_euclid(MINUTE) * MINUTE);
        let (c, _) = by.entry(key).or_insert(([0; 9], i));
        c[0] += 1;
        let class = match r.status.get(i) {
            Some(s @ 100..=599) => usize::from(s / 100),
            _ => 6,
        };
        c[class] += 1;
        if let Some(t) = r.time_taken_ms.get(i) {
            c[7] = c[7].saturating_add(t);
            c[8] += 1;
        }
    }
    by.into_iter()
        .map(|((_, ts), (c, first))| ((r.site.get(first).map(str::to_owned), ts), c))
        .collect()
}

const COLUMNS: &[(&str, ColKind)] = &[
    ("ts", ColKind::Ts),
    ("site", ColKind::Str),
    ("requests", ColKind::Int),
    ("status_1xx", ColKind::Int),
    ("status_2xx", ColKind::Int),
    ("status_3xx", ColKind::Int),
    ("status_4xx", ColKind::Int),
    ("status_5xx", ColKind::Int),
    ("no_status", ColKind::Int),
    ("time_taken_ms", ColKind::Int),
    ("timed", ColKind::Int),
];

impl TableView for Minutes {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        COLUMNS.to_vec()
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let (site, ts, counts) = &self.rows[r];
        match c {
            0 => Cell::Ts(*ts),
            1 => site.as_deref().map_or(Cell::Null, Cell::Str),
            _ => Cell::Int(i128::from(counts[c - 2])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_count_every_request_once_by_class() {
        let t = crate::ingest_paths(
            &["samples/outage/WEB01/inetpub".into()],
            &Default::default(),
        );
        let m = Minutes::of_all(&t);
        let total: u64 = m.rows.iter().map(|r| r.2[0]).sum();
        assert_eq!(total, t.requests.len() as u64);
        for (_, _, c) in &m.rows {
            assert_eq!(c[0], c[1..7].iter().sum::<u64>(), "classes add up");
        }
        let fives: u64 = m.rows.iter().map(|r| r.2[5]).sum();
        let expect = (0..t.requests.len())
            .filter(|&i| t.requests.status.get(i).is_some_and(|s| s >= 500))
            .count() as u64;
        assert_eq!(fives, expect);
        assert_eq!(m.cell(0, 1), Cell::Str("W3SVC1"));
        let days = m.by_day();
        assert_eq!(days.keys().collect::<Vec<_>>(), ["2025-03-14"]);
        assert_eq!(days["2025-03-14"], (t.requests.len() as u64, expect));
    }
}
