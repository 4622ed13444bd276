//! The `patterns` aggregate of the dataset: per site and UTC day, every request feature the
//! analysis tests a request pattern by (`analyze::pattern` kinds: query shape, route, path,
//! user agent, client, size, method), with its requests and the `time-taken` they logged. That
//! is the baseline a pattern's in-flight count is tested against (the busy time of the same
//! sites' requests, `analyze::stats::Busy`), and it adds up across files, days and servers, so
//! a windowed analysis or another tool need not scan `requests` for it.
//!
//! Per site, day and kind at most [`TOP`] values with most time-taken are rows of their own, with
//! exact sums; the others are summed in one row whose value is null, so each kind still adds up
//! to the site-day's requests that have the feature. Counting is bounded (a weighted
//! Misra–Gries summary of [`KEEP`] candidates per site, day and kind, then exact sums for them):
//! every value with more than 1/`KEEP` of its group's busy time is a row; values lighter than
//! that may be in the rest.

use crate::analyze::pattern::{FeatureKind, IdHasher, KINDS, feature_hashes, feature_text};
use crate::analyze::stats::{Busy, MAX_TIME_TAKEN_MS};
use crate::analyze::{correlate::row_view, cut};
use crate::export::{Cell, ColKind, TableView};
use crate::tables::{Millis, Requests, Tables};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Values kept per site, day and kind.
pub const TOP: usize = 1000;
/// Candidates tracked per site, day and kind while counting (pruned at twice as many): memory
/// stays bounded when every request has its own client.
pub const KEEP: usize = 4 * TOP;
/// Longest value text kept, bytes.
const MAX_VALUE: usize = 512;
const DAY: Millis = 86_400_000;
/// (site, day, kind index).
type Group = (Option<String>, i64, u8);
type ByHash<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

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

/// A candidate while counting: its weight in the summary (busy time, `time-taken` + 1 ms), its
/// sums since it was last added, and its text (as the report writes it, cut) or, when the
/// table holds every row, its first row (the text is made for the values kept only: making it
/// for each new value was a tenth of an ingest whose every request has its own client).
#[derive(Debug, Clone, Default)]
struct Cand {
    weight: u64,
    busy: Busy,
    text: Option<Box<str>>,
    first: usize,
}

/// One site, day and kind: its candidates, and whether any was ever dropped (then their sums
/// are not exact and a second pass counts them).
#[derive(Debug, Default)]
struct Counts {
    key: Group,
    pruned: bool,
    all: Busy,
    cands: ByHash<Cand>,
}

/// The groups, by site (name) and day.
#[derive(Default)]
struct Groups {
    index: HashMap<(Option<String>, i64), usize>,
    groups: Vec<Counts>,
}

impl Groups {
    /// The first of the seven groups (one per kind) of `site` on `day`.
    fn base(&mut self, site: Option<&str>, day: i64) -> usize {
        let key = (site.map(str::to_owned), day);
        if let Some(&b) = self.index.get(&key) {
            return b;
        }
        let b = self.groups.len();
        for k in 0..KINDS.len() as u8 {
            self.groups.push(Counts {
                key: (key.0.clone(), day, k),
                ..Default::default()
            });
        }
        self.index.insert(key, b);
        b
    }
}

/// The group of a table's row by its site code and day: rows come in runs of one site and
/// day, and `find` is asked by name once a run.
struct Local {
    last: Option<((u32, i64), Option<usize>)>,
}

impl Local {
    fn base(
        &mut self,
        r: &Requests,
        i: usize,
        find: impl FnOnce(Option<&str>, i64) -> Option<usize>,
    ) -> Option<usize> {
        let key = (r.site.code(i), r.ts[i].div_euclid(DAY));
        match self.last {
            Some((k, b)) if k == key => b,
            _ => {
                let b = find(r.site.get(i), key.1);
                self.last = Some((key, b));
                b
            }
        }
    }
}

impl Counts {
    /// Adds value `h` of row `i` (its text, if new, from `text`).
    fn add(&mut self, h: u64, tt: Option<u64>, i: usize, text: impl FnOnce() -> Option<Box<str>>) {
        self.all.add(tt);
        let c = self.cands.entry(h).or_insert_with(|| Cand {
            text: text(),
            first: i,
            ..Default::default()
        });
        c.first = c.first.min(i);
        c.weight += tt.unwrap_or(0).min(MAX_TIME_TAKEN_MS) + 1;
        c.busy.add(tt);
        if self.cands.len() >= 2 * KEEP {
            self.prune();
        }
    }

    /// Keeps the [`KEEP`] heaviest and takes the next one's weight off every one kept.
    fn prune(&mut self) {
        if self.cands.len() <= KEEP {
            return;
        }
        let mut v: Vec<u64> = self.cands.values().map(|c| c.weight).collect();
        let at = v.len() - KEEP - 1;
        let (_, &mut cut, _) = v.select_nth_unstable(at);
        self.cands.retain(|_, c| c.weight > cut);
        for c in self.cands.values_mut() {
            c.weight -= cut;
        }
        self.pruned = true;
    }

    fn merge(&mut self, o: Counts) {
        self.all.merge(&o.all);
        self.pruned |= o.pruned;
        for (h, c) in o.cands {
            let e = self.cands.entry(h).or_insert_with(|| Cand {
                first: c.first,
                ..Default::default()
            });
            e.weight += c.weight;
            e.busy.merge(&c.busy);
            e.first = e.first.min(c.first);
            if e.text.is_none() {
                e.text = c.text;
            }
        }
        if self.cands.len() >= 2 * KEEP {
            self.prune();
        }
    }
}

/// Calls `f(row, kind index, hash, time-taken)` for the `needed` features of rows `range`.
fn each_feature(
    r: &Requests,
    range: std::ops::Range<usize>,
    needed: &[bool; 7],
    mut f: impl FnMut(usize, usize, u64, Option<u64>),
) {
    for i in range {
        let tt = r.time_taken_ms.get(i);
        for (k, h) in feature_hashes(&row_view(r, i), needed).iter().enumerate() {
            if let Some(h) = *h {
                f(i, k, h, tt);
            }
        }
    }
}

/// The text of row `i`'s feature of kind `k`, as a row of the aggregate keeps it.
fn text_of(r: &Requests, i: usize, k: usize) -> Option<Box<str>> {
    feature_text(KINDS[k], &row_view(r, i)).map(|(_, s)| cut(&s, MAX_VALUE).into_boxed_str())
}

impl Patterns {
    /// The patterns of `t`'s requests (folds over every row: see `analyze::rows`). One pass
    /// counts every value of every site, day and kind exactly, unless a group has more than
    /// 2·[`KEEP`] values: then it keeps a weighted Misra–Gries summary of busy time (every value
    /// heavier than 1/`KEEP` of its group survives), and a second pass, over the kinds that
    /// needed it, counts the survivors exactly.
    pub fn of(t: &Tables) -> Patterns {
        // Row numbers name a row only when the table holds every row.
        let held = t.reread.is_none();
        let mut g = t.all_rows().fold(
            Groups::default,
            |g, r, range| {
                let mut local = Local { last: None };
                each_feature(r, range, &[true; 7], |i, k, h, tt| {
                    // (Always a group: one is made when missing.)
                    let Some(b) = local.base(r, i, |s, d| Some(g.base(s, d))) else {
                        return;
                    };
                    let text = || if held { None } else { text_of(r, i, k) };
                    g.groups[b + k].add(h, tt, i, text);
                });
            },
            merge_groups,
        );
        recount(t, &mut g);
        let table = held.then_some(&t.requests);
        Patterns {
            rows: top_rows(g, table),
        }
    }
}

fn merge_groups(mut a: Groups, b: Groups) -> Groups {
    for c in b.groups {
        let base = a.base(c.key.0.as_deref(), c.key.1);
        a.groups[base + usize::from(c.key.2)].merge(c);
    }
    a
}

/// The exact sums of the pruned groups' candidates, from a second pass over the kinds that had
/// one.
fn recount(t: &Tables, g: &mut Groups) {
    let mut needed = [false; 7];
    for c in g.groups.iter().filter(|c| c.pruned) {
        needed[usize::from(c.key.2)] = true;
    }
    if !needed.contains(&true) {
        return;
    }
    let blank = |g: &Groups| -> Vec<ByHash<Busy>> {
        g.groups
            .iter()
            .map(|c| match c.pruned {
                true => c.cands.keys().map(|&h| (h, Busy::default())).collect(),
                false => ByHash::default(),
            })
            .collect()
    };
    let index = &g.index;
    let exact = t.all_rows().fold(
        || blank(g),
        |acc, r, range| {
            let mut local = Local { last: None };
            each_feature(r, range, &needed, |i, k, h, tt| {
                let find = |s: Option<&str>, d| index.get(&(s.map(str::to_owned), d)).copied();
                if let Some(b) = local.base(r, i, find)
                    && let Some(e) = acc[b + k].get_mut(&h)
                {
                    e.add(tt);
                }
            });
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (h, busy) in y {
                    if let Some(e) = x.get_mut(&h) {
                        e.merge(&busy);
                    }
                }
            }
            a
        },
    );
    for (c, sums) in g.groups.iter_mut().zip(exact) {
        for (h, busy) in sums {
            if let Some(e) = c.cands.get_mut(&h) {
                e.busy = busy;
            }
        }
    }
}

/// The rows: per site, day and kind the [`TOP`] values with most time-taken (then most
/// requests), and the rest summed in one row.
fn top_rows(g: Groups, table: Option<&Requests>) -> Vec<PatternRow> {
    let mut groups: Vec<(Option<String>, Counts)> = g
        .groups
        .into_iter()
        .filter(|c| c.all.count > 0)
        .map(|c| (c.key.0.clone(), c))
        .collect();
    groups.sort_by(|a, b| (&a.0, a.1.key.1, a.1.key.2).cmp(&(&b.0, b.1.key.1, b.1.key.2)));
    let mut rows = Vec::new();
    for (site, c) in groups {
        let (_, day, kind) = c.key;
        let mut v: Vec<(u64, Cand)> = c
            .cands
            .into_iter()
            .filter(|(_, x)| x.busy.count > 0)
            .collect();
        v.sort_by(|a, b| {
            (b.1.busy.time_ms, b.1.busy.count, a.0).cmp(&(a.1.busy.time_ms, a.1.busy.count, b.0))
        });
        v.truncate(TOP);
        let kind = KINDS[usize::from(kind)];
        let mut rest = c.all;
        for (hash, x) in v {
            rest = rest.minus(&x.busy);
            let text = match (x.text, table) {
                (Some(text), _) => Some(String::from(text)),
                (None, Some(r)) => text_of(r, x.first, usize::from(c.key.2)).map(String::from),
                (None, None) => None,
            };
            rows.push(PatternRow {
                day: day * DAY,
                site: site.clone(),
                kind,
                value: text,
                hash: Some(hash),
                busy: x.busy,
            });
        }
        if rest.count > 0 {
            rows.push(PatternRow {
                day: day * DAY,
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

    /// The patterns of a W3C log of `rows` requests (checked).
    fn patterns_of(log: &str, rows: usize) -> Patterns {
        let parsed = crate::ingest::w3c::parse(&Default::default(), log.as_bytes());
        assert_eq!(parsed.requests.len(), rows, "{:?}", parsed.issues);
        Patterns::of(&Tables {
            requests: parsed.requests,
            ..Default::default()
        })
    }

    fn of_kind(p: &Patterns, kind: FeatureKind) -> Vec<&PatternRow> {
        p.rows.iter().filter(|r| r.kind == kind).collect()
    }

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

    /// 30,000 clients with one quick request each, from the last third on one client with 500
    /// slow ones, and all along one with 30: the candidates are pruned many times, yet both are
    /// there with their exact sums, and every kind still adds up.
    #[test]
    fn a_heavy_value_that_comes_late_is_counted_exactly_in_bounded_memory() {
        let mut log = String::from(
            "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query c-ip sc-status time-taken\n",
        );
        for i in 0..30_000u32 {
            log.push_str(&format!(
                "2025-03-14 10:00:00 W3SVC1 GET /a.aspx - 10.{}.{}.{} 200 1\n",
                i >> 16,
                (i >> 8) & 255,
                i & 255
            ));
            if i >= 20_000 && i % 20 == 0 {
                log.push_str("2025-03-14 10:00:00 W3SVC1 GET /a.aspx - 192.0.2.99 200 50\n");
            }
            if i % 1000 == 0 {
                log.push_str("2025-03-14 10:00:00 W3SVC1 GET /a.aspx - 192.0.2.98 200 10\n");
            }
        }
        let p = patterns_of(&log, 30_530);
        let clients = of_kind(&p, FeatureKind::Client);
        assert_eq!(clients[0].value.as_deref(), Some("192.0.2.99"));
        assert_eq!(clients[0].busy.count, 500);
        assert_eq!(clients[0].busy.time_ms, 25_000);
        // A value heavier than 1/KEEP of the group's busy time is kept too, exactly; of the
        // one-request clients, those the summary still held are rows, the others the rest.
        assert_eq!(clients[1].value.as_deref(), Some("192.0.2.98"));
        assert_eq!((clients[1].busy.count, clients[1].busy.time_ms), (30, 300));
        assert!(clients.len() <= TOP + 1, "{}", clients.len());
        let rest = clients.last().unwrap();
        assert_eq!(rest.value, None);
        assert!(rest.busy.count > 20_000, "{:?}", rest.busy);
        let singles = &clients[2..clients.len() - 1];
        assert!(
            singles
                .iter()
                .all(|c| c.busy.count == 1 && c.value.is_some())
        );
        assert_eq!(singles.len() as u64 + rest.busy.count, 30_000);
        assert_eq!(sum(&p, FeatureKind::Client), 30_530);
        assert_eq!(sum(&p, FeatureKind::Path), 30_530);
    }

    #[test]
    fn a_group_never_holds_more_than_twice_keep_candidates() {
        let mut c = Counts::default();
        for i in 0..100_000usize {
            c.add(
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1 << 63,
                Some(1),
                i,
                || None,
            );
            if i % 10 == 0 {
                c.add(7, Some(5), i, || Some("seven".into()));
            }
            assert!(c.cands.len() < 2 * KEEP);
        }
        assert!(c.pruned);
        assert_eq!(c.all.count, 110_000);
        assert_eq!(
            c.cands.get(&7).and_then(|c| c.text.as_deref()),
            Some("seven"),
            "a heavy value survives every pruning, with its text"
        );
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
        let p = patterns_of(&log, TOP + 200);
        let clients = of_kind(&p, FeatureKind::Client);
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
