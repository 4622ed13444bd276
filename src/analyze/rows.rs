//! Every request row, for the statistics that need them all (the chart, the burst counts, the
//! baseline of the request-pattern tests, the rapid-fail episodes' ends, …).
//!
//! The analysis reads the requests two ways: row by row in [`Tables::requests`] for what
//! happened around an incident (the requests in flight, the last ones before it, a burst's
//! errors), and as a fold over every row for a statistic of the whole input. When the logs are
//! small, both are the same table in memory. When they are large (`analyze --in-memory-limit`),
//! the table holds only the rows of the incidents' windows, and each fold reads the logs again
//! a wave of chunks at a time ([`Reread`]): memory stays bounded by the windows, whatever the
//! size of the logs, for one more read of them per statistic. The folds are the same code
//! either way, so the report is the same.

use super::AnalyzeOptions;
use super::aggregate::MinuteCounts;
use super::bursts::BurstCounts;
use crate::ingest::reread::Reread;
use crate::tables::{Requests, Tables};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::ops::Range;

/// Where a fold reads every request row.
pub enum AllRows<'a> {
    /// The table holds every row.
    Table(&'a Requests),
    /// The logs are read again.
    Logs(&'a Reread),
}

/// Rows of the in-memory table folded at a time (parallel slices).
const SLICE: usize = 1 << 16;

impl Tables {
    /// Every request row: the table, or the logs to read again when the table holds only the
    /// incidents' windows.
    pub fn all_rows(&self) -> AllRows<'_> {
        match &self.reread {
            Some(r) => AllRows::Logs(r),
            None => AllRows::Table(&self.requests),
        }
    }
}

impl AllRows<'_> {
    /// Folds every row: `step` takes a table and a range of its rows, `merge` combines two
    /// partial results, the earlier rows' on the left (rayon's reduce keeps the order), so a
    /// merge that appends keeps the files' order. Integer sums make a result independent of
    /// the slicing; a summary that prunes (`farm::patterns`) is not.
    pub fn fold<A, I, S, M>(&self, init: I, step: S, merge: M) -> A
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        S: Fn(&mut A, &Requests, Range<usize>) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send,
    {
        match self {
            AllRows::Table(r) => {
                let n = r.len();
                (0..n.div_ceil(SLICE))
                    .into_par_iter()
                    .map(|c| {
                        let mut acc = init();
                        step(&mut acc, r, c * SLICE..((c + 1) * SLICE).min(n));
                        acc
                    })
                    .reduce(&init, &merge)
            }
            AllRows::Logs(l) => l.fold(
                &init,
                &|acc: &mut A, r: &Requests| step(acc, r, 0..r.len()),
                &merge,
            ),
        }
    }

    /// How many rows there are (one fold when the logs are read again).
    pub fn count(&self) -> usize {
        match self {
            AllRows::Table(r) => r.len(),
            AllRows::Logs(l) => l.rows(),
        }
    }
}

/// What the analysis needs of every request row before it knows the incidents: one fold.
#[derive(Default)]
pub struct RowFacts {
    /// Requests and 5xx per minute, and the time range (within `--since`/`--until`).
    pub minutes: MinuteCounts,
    /// The burst statistics' per-minute counts.
    pub bursts: BurstCounts,
    /// The distinct (server, site) pairs, lower case (as correlation keys them).
    pub pairs: BTreeSet<(String, String)>,
    /// The servers named by the rows, as spelled.
    pub servers: BTreeSet<String>,
    /// How many rows.
    pub rows: usize,
}

impl RowFacts {
    /// The facts of every request row of `t`.
    pub fn of(t: &Tables, opts: &AnalyzeOptions) -> RowFacts {
        let facts = t.all_rows().fold(
            RowFacts::default,
            |f, r, range| f.add(r, range, opts),
            RowFacts::merge,
        );
        if let Some(r) = &t.reread {
            // Counting them again would be one more read.
            r.know_rows(facts.rows);
        }
        facts
    }

    fn add(&mut self, r: &Requests, range: Range<usize>, opts: &AnalyzeOptions) {
        self.rows += range.len();
        self.minutes
            .add_rows(r, range.clone(), |ts| opts.in_range(ts));
        self.bursts.add(r, range.clone(), opts);
        let mut prev: Option<(u32, u32)> = None;
        for i in range {
            let codes = (r.server.code(i), r.site.code(i));
            if prev == Some(codes) {
                continue;
            }
            prev = Some(codes);
            let (s, x) = (r.server.get(i), r.site.get(i));
            self.pairs.insert(super::correlate::key(s, x));
            if let Some(s) = s
                && !self.servers.contains(s)
            {
                self.servers.insert(s.to_owned());
            }
        }
    }

    fn merge(mut self, o: RowFacts) -> RowFacts {
        self.rows += o.rows;
        self.minutes.merge(&o.minutes);
        self.bursts = self.bursts.merge(o.bursts);
        self.pairs.extend(o.pairs);
        self.servers.extend(o.servers);
        self
    }
}

/// How long before an incident its rows are looked at one by one (the last requests before it,
/// a precursor's window, with room to spare).
const BEFORE_MS: i64 = 10 * 60_000;

/// The rows the analysis looks at one by one when the logs are read again: every chunk of the
/// logs holding a row in flight at an incident or completed up to 10 minutes (or
/// `--window`) before it, or a row of a candidate burst window. Whole chunks are kept, a
/// superset: each stage takes the rows it needs from them as from the whole table, so the
/// result is the same. The same read counts what correlation needs of every row (`every`).
pub fn gather(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &super::timeline::Timeline,
    facts: &RowFacts,
    every: &super::correlate::EveryFold<'_>,
) -> (Requests, super::correlate::Every) {
    let mut times: Vec<i64> = tl
        .clusters
        .iter()
        .flat_map(|c| [c.time, c.anchor])
        .flatten()
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut spans = facts.bursts.spans();
    spans.sort_unstable();
    // Merged into disjoint spans, so one binary search answers.
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let slack = opts.in_flight_slack_ms.max(0);
    let before = opts.window_ms.max(BEFORE_MS).saturating_add(slack);
    let near = |ts: i64, tt: i64| {
        let k = times.partition_point(|&c| c < ts.saturating_sub(tt).saturating_sub(slack));
        k < times.len() && times[k] <= ts.saturating_add(before)
    };
    let in_span = |ts: i64| {
        let k = merged.partition_point(|&(a, _)| a <= ts);
        k > 0 && ts < merged[k - 1].1
    };
    t.all_rows().fold(
        || (Requests::default(), every.init()),
        |(kept, e), r, range| {
            every.add(e, r, range.clone());
            let wanted = range.clone().any(|i| {
                let tt = r.time_taken_ms.get(i).unwrap_or(0).min(86_400_000) as i64;
                near(r.ts[i], tt) || in_span(r.ts[i])
            });
            // (Read again, each table comes whole, so keeping it keeps the chunk.)
            debug_assert_eq!(range.len(), r.len());
            if wanted {
                kept.append(r);
            }
        },
        |(mut a, ea), (b, eb)| {
            a.append(&b);
            (a, ea.merge(eb))
        },
    )
}
