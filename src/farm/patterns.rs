//! The `patterns` aggregate of the dataset: per site and UTC day, every request feature the
//! analysis tests a request pattern by (`analyze::pattern` kinds: query shape, route, path,
//! user agent, client, size, method), with its requests and the `time-taken` they logged. That
//! is the baseline a pattern's in-flight count is tested against (the busy time of the same
//! sites' requests, `analyze::stats::Busy`), and it adds up across files, days and servers, so
//! a windowed analysis or another tool need not scan `requests` for it.
//!
//! Per site, day and kind the [`TOP`] values with most time-taken are kept; the others are
//! summed in one row whose value is null, so each kind still adds up to the site-day's requests
//! that have the feature.

use crate::analyze::pattern::{FeatureKind, KINDS, feature_hashes, feature_text};
use crate::analyze::stats::Busy;
use crate::analyze::{correlate::w3c_view, cut};
use crate::export::{Cell, ColKind, TableView};
use crate::tables::{Millis, Tables};
use rayon::prelude::*;
use std::collections::HashMap;

/// Values kept per site, day and kind.
pub const TOP: usize = 1000;
/// Longest value text kept, bytes.
const MAX_VALUE: usize = 512;
const DAY: Millis = 86_400_000;

/// (site code, day, kind index, feature hash).
type Key = (u32, i64, u8, u64);

/// A feature's sums and the first row that had it (for its text).
#[derive(Clone, Copy)]
struct Acc {
    busy: Busy,
    first: usize,
}

/// One row of the aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRow {
    /// The UTC day (midnight).
    pub day: Millis,
    /// The site (`s-sitename`, or the folder's `W3SVC<n>`).
    pub site: Option<String>,
    /// The feature kind.
    pub kind: FeatureKind,
    /// The feature as the report writes it (null: the values beyond the top [`TOP`]).
    pub value: Option<String>,
    /// The feature's hash, as the analysis keys it (null with `value`).
    pub hash: Option<u64>,
    /// Requests, those that logged `time-taken`, and its sum (ms, each capped as the analysis
    /// caps it).
    pub busy: Busy,
}

/// The aggregate of one server's requests.
#[derive(Debug, Default)]
pub struct Patterns {
    /// Rows by site, day, kind, then most time-taken first.
    pub rows: Vec<PatternRow>,
}

impl Patterns {
    /// The patterns of `t`'s requests: one parallel pass over row chunks, merged.
    pub fn of(t: &Tables) -> Patterns {
        let r = &t.requests;
        const CHUNK: usize = 1 << 16;
        let all = [true; 7];
        let sums: HashMap<Key, Acc> = (0..r.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut m: HashMap<Key, Acc> = HashMap::new();
                for i in c * CHUNK..((c + 1) * CHUNK).min(r.len()) {
                    let (site, day) = (r.site.code(i), r.ts[i].div_euclid(DAY));
                    let tt = r.time_taken_ms.get(i);
                    let hashes = feature_hashes(&w3c_view(t, i), &all);
                    for (k, h) in hashes.iter().enumerate() {
                        if let Some(h) = *h {
                            let a = m.entry((site, day, k as u8, h)).or_insert(Acc {
                                busy: Busy::default(),
                                first: i,
                            });
                            a.busy.add(tt);
                        }
                    }
                }
                m
            })
            .reduce(HashMap::new, merge);
        Patterns {
            rows: top_rows(t, sums),
        }
    }
}

fn merge(mut a: HashMap<Key, Acc>, b: HashMap<Key, Acc>) -> HashMap<Key, Acc> {
    if a.len() < b.len() {
        return merge(b, a);
    }
    for (k, v) in b {
        a.entry(k)
            .and_modify(|x| {
                x.busy.merge(&v.busy);
                x.first = x.first.min(v.first);
            })
            .or_insert(v);
    }
    a
}

/// The rows: per site, day and kind the [`TOP`] values with most time-taken (then most
/// requests), and the rest summed in one row.
fn top_rows(t: &Tables, sums: HashMap<Key, Acc>) -> Vec<PatternRow> {
    let r = &t.requests;
    let mut groups: HashMap<(u32, i64, u8), Vec<(u64, Acc)>> = HashMap::new();
    for ((site, day, kind, hash), acc) in sums {
        groups
            .entry((site, day, kind))
            .or_default()
            .push((hash, acc));
    }
    let mut keys: Vec<(u32, i64, u8)> = groups.keys().copied().collect();
    let site_name = |code: u32, row: usize| r.site.get(row).filter(|_| r.site.code(row) == code);
    keys.sort_by_key(|&(site, day, kind)| {
        let first = groups[&(site, day, kind)][0].1.first;
        (site_name(site, first).map(str::to_owned), day, kind)
    });
    let mut rows = Vec::new();
    for key in keys {
        let mut v = groups.remove(&key).unwrap_or_default();
        v.sort_by(|a, b| {
            (b.1.busy.time_ms, b.1.busy.count, a.0).cmp(&(a.1.busy.time_ms, a.1.busy.count, b.0))
        });
        let kind = KINDS[usize::from(key.2)];
        let site = site_name(key.0, v[0].1.first).map(str::to_owned);
        let mut rest = Busy::default();
        for (n, (hash, acc)) in v.into_iter().enumerate() {
            if n >= TOP {
                rest.merge(&acc.busy);
                continue;
            }
            let text = feature_text(kind, &w3c_view(t, acc.first)).map(|(_, s)| cut(&s, MAX_VALUE));
            rows.push(PatternRow {
                day: key.1 * DAY,
                site: site.clone(),
                kind,
                value: text,
                hash: Some(hash),
                busy: acc.busy,
            });
        }
        if rest.count > 0 {
            rows.push(PatternRow {
                day: key.1 * DAY,
                site,
                kind,
                value: None,
                hash: None,
                busy: rest,
            });
        }
    }
    rows
}

/// The kind as a column value.
fn kind_name(k: FeatureKind) -> &'static str {
    match k {
        FeatureKind::Query => "query",
        FeatureKind::Route => "route",
        FeatureKind::Path => "path",
        FeatureKind::UserAgent => "user_agent",
        FeatureKind::Client => "client",
        FeatureKind::Size => "size",
        FeatureKind::Method => "method",
    }
}

const COLUMNS: &[(&str, ColKind)] = &[
    ("ts", ColKind::Ts),
    ("site", ColKind::Str),
    ("kind", ColKind::Str),
    ("value", ColKind::Str),
    ("hash", ColKind::Str),
    ("requests", ColKind::Int),
    ("timed", ColKind::Int),
    ("time_taken_ms", ColKind::Int),
];

impl TableView for Patterns {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        COLUMNS.to_vec()
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let p = &self.rows[r];
        match c {
            0 => Cell::Ts(p.day),
            1 => p.site.as_deref().map_or(Cell::Null, Cell::Str),
            2 => Cell::Str(kind_name(p.kind)),
            3 => p.value.as_deref().map_or(Cell::Null, Cell::Str),
            4 => p
                .hash
                .map_or(Cell::Null, |h| Cell::Owned(format!("{h:016x}"))),
            5 => Cell::Int(i128::from(p.busy.count)),
            6 => Cell::Int(i128::from(p.busy.timed)),
            _ => Cell::Int(i128::from(p.busy.time_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(p: &Patterns, kind: FeatureKind) -> u64 {
        p.rows
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.busy.count)
            .sum()
    }

    #[test]
    fn the_samples_patterns_add_up_and_hold_the_analysis_baseline() {
        let t = crate::ingest_paths(
            &["samples/outage/WEB01/inetpub".into()],
            &Default::default(),
        );
        let p = Patterns::of(&t);
        let n = t.requests.len() as u64;
        // Every request has a path and a client; each kind adds up.
        assert_eq!(sum(&p, FeatureKind::Path), n);
        assert_eq!(sum(&p, FeatureKind::Client), n);
        // The sample's client suspect: the analysis tested it against 112 baseline requests
        // (none in flight in the W3C log) with 7,192 ms of busy time (time-taken + 1 ms each).
        let c = p
            .rows
            .iter()
            .find(|r| r.kind == FeatureKind::Client && r.value.as_deref() == Some("203.0.113.45"))
            .expect("the client's row");
        assert_eq!(c.busy.count, 112);
        assert_eq!(c.busy.time_ms + c.busy.count, 7192);
        assert_eq!(c.site.as_deref(), Some("W3SVC1"));
        assert_eq!(crate::analyze::time::fmt_utc(c.day), "2025-03-14T00:00:00Z");
        // Rows of one site-day-kind come most time-taken first.
        let paths: Vec<u64> = p
            .rows
            .iter()
            .filter(|r| r.kind == FeatureKind::Path)
            .map(|r| r.busy.time_ms)
            .collect();
        assert!(paths.windows(2).all(|w| w[0] >= w[1]), "{paths:?}");
    }

    #[test]
    fn beyond_the_top_values_the_rest_is_one_row_that_keeps_the_sums() {
        let mut log = String::from(
            "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query c-ip sc-status time-taken\n",
        );
        for i in 0..(TOP as u32 + 200) {
            log.push_str(&format!(
                "2025-03-14 10:00:00 W3SVC1 GET /a.aspx - 10.{}.{}.{} 200 {}\n",
                i >> 16,
                (i >> 8) & 255,
                i & 255,
                1 + i % 7
            ));
        }
        let parsed = crate::ingest::w3c::parse(&Default::default(), log.as_bytes());
        let t = Tables {
            requests: parsed.requests,
            ..Default::default()
        };
        assert_eq!(t.requests.len(), TOP + 200, "{:?}", parsed.issues);
        let p = Patterns::of(&t);
        let clients: Vec<&PatternRow> = p
            .rows
            .iter()
            .filter(|r| r.kind == FeatureKind::Client)
            .collect();
        assert_eq!(clients.len(), TOP + 1);
        let other = clients.last().unwrap();
        assert_eq!((other.value.as_deref(), other.hash), (None, None));
        assert_eq!(other.busy.count, 200);
        assert_eq!(sum(&p, FeatureKind::Client), TOP as u64 + 200);
        let total: u64 = clients.iter().map(|r| r.busy.time_ms).sum();
        assert_eq!(total, (0..TOP as u64 + 200).map(|i| 1 + i % 7).sum::<u64>());
        // No query: the first kind with rows is the route.
        assert_eq!(p.cell(0, 2), Cell::Str("route"));
        assert_eq!(p.cell(0, 3), Cell::Str("GET /a.aspx"));
    }
}
