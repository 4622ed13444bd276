//! Full-table statistics as mergeable aggregates: computed over any slice of the tables (a
//! chunk, a file, a partition of a farm's dataset) and combined exactly, so that the analysis
//! never needs the whole requests table at once.

use super::model::{Timeline, Ts};
use super::timeline::ReasonClasses;
use crate::knowledge::httperr_reasons::ReasonClass;
use crate::tables::{HttpErr, Millis, Requests};
use std::collections::HashMap;

const MINUTE: i64 = 60_000;

/// Counts per UTC minute: requests, 5xx responses, HTTPERR rows, abandonments; and the first
/// and last instant seen. Every chart bucket is a whole number of minutes aligned on the epoch,
/// so the chart is drawn from these exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinuteCounts {
    /// Epoch minute → `[requests, status_5xx, httperr, abandoned]`.
    pub minutes: HashMap<i64, [u64; 4]>,
    /// The earliest instant seen (rows and crash evidence).
    pub first: Option<Millis>,
    /// The latest instant seen.
    pub last: Option<Millis>,
}

impl MinuteCounts {
    /// Notes an instant that counts for the time range only (crash evidence).
    pub fn see(&mut self, ts: Millis) {
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
    }

    /// Adds the requests whose time `keep` accepts.
    pub fn add_requests(&mut self, r: &Requests, keep: impl Fn(Millis) -> bool) {
        self.add_rows(r, 0..r.len(), keep)
    }

    /// Adds rows `range` of `r` whose time `keep` accepts.
    pub fn add_rows(
        &mut self,
        r: &Requests,
        range: std::ops::Range<usize>,
        keep: impl Fn(Millis) -> bool,
    ) {
        // Logs are in time order: one map lookup per minute, not per row.
        let mut run: Option<(i64, [u64; 4])> = None;
        for i in range {
            let ts = r.ts[i];
            if !keep(ts) {
                continue;
            }
            self.see(ts);
            let m = ts.div_euclid(MINUTE);
            if run.is_some_and(|(k, _)| k != m) {
                self.flush(run.take());
            }
            let c = &mut run.get_or_insert((m, [0; 4])).1;
            c[0] += 1;
            if r.status.get(i).is_some_and(|s| s >= 500) {
                c[1] += 1;
            }
        }
        self.flush(run);
    }

    /// Adds the HTTPERR rows whose time `keep` accepts.
    pub fn add_httperr(&mut self, h: &HttpErr, keep: impl Fn(Millis) -> bool) {
        let mut classes = ReasonClasses::default();
        for i in 0..h.len() {
            let ts = h.ts[i];
            if !keep(ts) {
                continue;
            }
            self.see(ts);
            let c = self.minutes.entry(ts.div_euclid(MINUTE)).or_default();
            c[2] += 1;
            let Some(reason) = h.reason.get(i) else {
                continue;
            };
            if classes.of(reason) == ReasonClass::Abandoned {
                c[3] += 1;
            }
        }
    }

    fn flush(&mut self, run: Option<(i64, [u64; 4])>) {
        if let Some((m, add)) = run {
            let c = self.minutes.entry(m).or_default();
            for (a, b) in c.iter_mut().zip(add) {
                *a += b;
            }
        }
    }

    /// Adds another slice's counts.
    pub fn merge(&mut self, o: &MinuteCounts) {
        for (&m, &add) in &o.minutes {
            self.flush(Some((m, add)));
        }
        if let Some(f) = o.first {
            self.see(f);
        }
        if let Some(l) = o.last {
            self.see(l);
        }
    }

    /// The chart: at most [`MAX_BUCKETS`] buckets of 1 min, 5 min, 15 min, 1 h … wide enough
    /// for the whole range, aligned on the epoch.
    pub fn chart(&self) -> Timeline {
        let (start, step) = match (self.first, self.last) {
            (Some(f), Some(l)) => {
                let step = bucket_ms(l.saturating_sub(f));
                (f - f.rem_euclid(step), step)
            }
            _ => (0, MINUTE),
        };
        let nb = match self.last {
            Some(l) => (l.saturating_sub(start) / step)
                .saturating_add(1)
                .clamp(0, MAX_BUCKETS as i64) as usize,
            None => 0,
        };
        let mut chart = Timeline {
            start: self.first.map(|_| Ts(start)),
            bucket_s: step / 1000,
            requests: vec![0; nb],
            status_5xx: vec![0; nb],
            httperr: vec![0; nb],
            abandoned: vec![0; nb],
            cpu: Vec::new(),
            private_mb: Vec::new(),
        };
        for (&m, c) in &self.minutes {
            let b = m
                .saturating_mul(MINUTE)
                .saturating_sub(start)
                .div_euclid(step);
            if b < 0 || b as usize >= nb {
                continue;
            }
            let b = b as usize;
            chart.requests[b] += c[0];
            chart.status_5xx[b] += c[1];
            chart.httperr[b] += c[2];
            chart.abandoned[b] += c[3];
        }
        chart
    }
}

/// Most buckets a chart has.
pub const MAX_BUCKETS: usize = 100_000;

/// The narrowest bucket (a whole number of minutes) that draws `span` in fewer than 1,500
/// buckets: up to a day, or whole days for a span of more than 1,500 days (only clocks gone
/// wrong make those).
fn bucket_ms(span: i64) -> i64 {
    const STEPS: [i64; 8] = [
        60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| span / s < 1500)
        .unwrap_or_else(|| ((span / 1500 + 86_399_999) / 86_400_000).max(1) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{Err, Req, TableBuilder};
    use crate::tables::{ArtifactKind, Tables};

    /// Requests (every 7th a 500) and HTTPERR rows (every 3rd abandoned) every `gap` ms.
    fn tables(n: i64, gap: i64) -> Tables {
        let mut b = TableBuilder::new();
        let log = b.file("u_ex.log", ArtifactKind::W3c);
        let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
        let t0 = 1_709_251_200_123; // 2024-03-01, not on a minute
        for k in 0..n {
            let status = if k % 7 == 0 { 500 } else { 200 };
            b.request(
                log,
                t0 + k * gap,
                &Req {
                    status,
                    ..Default::default()
                },
            );
            let reason = if k % 3 == 0 {
                "Connection_Abandoned_By_AppPool"
            } else {
                "Timer_ConnectionIdle"
            };
            b.httperr(
                herr,
                t0 + k * gap + gap / 2,
                &Err {
                    reason,
                    ..Default::default()
                },
            );
        }
        b.build()
    }

    /// The chart drawn row by row, as it was before the aggregate.
    fn by_rows(t: &Tables) -> Timeline {
        let all: Vec<Millis> = t.requests.ts.iter().chain(&t.httperr.ts).copied().collect();
        let (f, l) = (*all.iter().min().unwrap(), *all.iter().max().unwrap());
        let step = bucket_ms(l - f);
        let start = f - f.rem_euclid(step);
        let nb = ((l - start) / step + 1).min(MAX_BUCKETS as i64) as usize;
        let mut c = Timeline {
            start: Some(Ts(start)),
            bucket_s: step / 1000,
            requests: vec![0; nb],
            status_5xx: vec![0; nb],
            httperr: vec![0; nb],
            abandoned: vec![0; nb],
            cpu: Vec::new(),
            private_mb: Vec::new(),
        };
        let b = |ts: Millis| ((ts - start) / step) as usize;
        for i in 0..t.requests.len() {
            c.requests[b(t.requests.ts[i])] += 1;
            if t.requests.status.get(i).is_some_and(|s| s >= 500) {
                c.status_5xx[b(t.requests.ts[i])] += 1;
            }
        }
        for i in 0..t.httperr.len() {
            c.httperr[b(t.httperr.ts[i])] += 1;
            if t.httperr.reason.get(i) == Some("Connection_Abandoned_By_AppPool") {
                c.abandoned[b(t.httperr.ts[i])] += 1;
            }
        }
        c
    }

    fn counts(t: &Tables, keep: impl Fn(Millis) -> bool + Copy) -> MinuteCounts {
        let mut m = MinuteCounts::default();
        m.add_requests(&t.requests, keep);
        m.add_httperr(&t.httperr, keep);
        m
    }

    #[test]
    fn the_chart_from_minutes_is_the_chart_from_rows_at_every_bucket_width() {
        // 1-minute, 5-minute, hourly and daily buckets, and a span of over 1,500 days.
        for (n, gap) in [
            (500, 7_001),
            (3_000, 61_003),
            (2_000, 3_600_007),
            (400, 400_000_000),
        ] {
            let t = tables(n, gap);
            let chart = counts(&t, |_| true).chart();
            let want = by_rows(&t);
            assert_eq!(chart.bucket_s, want.bucket_s, "gap {gap}");
            assert_eq!(chart.start.map(|s| s.0), want.start.map(|s| s.0));
            assert_eq!(
                (
                    &chart.requests,
                    &chart.status_5xx,
                    &chart.httperr,
                    &chart.abandoned
                ),
                (
                    &want.requests,
                    &want.status_5xx,
                    &want.httperr,
                    &want.abandoned
                ),
                "gap {gap}"
            );
            assert_eq!(chart.requests.iter().sum::<u64>(), n as u64);
            assert_eq!(chart.abandoned.iter().sum::<u64>(), ((n + 2) / 3) as u64);
        }
    }

    #[test]
    fn slices_merge_into_the_whole() {
        let t = tables(5_000, 13_007);
        let mid = t.requests.ts[2_345];
        let mut merged = counts(&t, |ts| ts < mid);
        merged.merge(&counts(&t, |ts| ts >= mid));
        let whole = counts(&t, |_| true);
        assert_eq!(merged, whole);
        assert_eq!(merged.chart().requests, whole.chart().requests);
    }
}
