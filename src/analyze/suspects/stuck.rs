//! Requests stuck until a recycle: a hang no ping failure reported. HTTP.sys queued or refused
//! a pool's requests (an overload incident) and the queue only drained when the worker was
//! recycled — by an admin (on demand), a schedule, a limit or a shutdown time limit — with the
//! requests still queued abandoned. Pinging off, or a recycle that came before the ping
//! timeout, leaves no WAS 5010; the overload was a hang all along (outages.md §3: a hang shows
//! `Timer_AppPool`/`QueueFull` without abandonments until the worker goes).

use super::super::model::{Incident, IncidentKind};
use super::super::time::fmt_utc;
use super::super::timeline::{crash_evidence, source_tag};
use crate::knowledge::httperr_reasons::{ReasonClass, class_of};
use crate::tables::{CrashKind, Millis, Tables};

/// How long after an overload's last refusal the recycle that ended it may come.
const ENDED_BY_MS: Millis = 2 * 60_000;
/// How long before its last refusal: refusals go on while the old worker drains.
const ENDED_FROM_MS: Millis = 60_000;
/// How long after the recycle its abandonments are counted.
const ABANDONED_WITHIN_MS: Millis = 60_000;

/// Turns each overload that a recycle of its pool ended into a hang, with the recycle as
/// evidence and the requests it abandoned.
pub(super) fn stuck_until_recycle(t: &Tables, incidents: &mut [Incident]) {
    for inc in incidents.iter_mut() {
        if inc.kind != IncidentKind::Overload {
            continue;
        }
        let (Some(start), Some(end)) = (inc.time, inc.end) else {
            continue;
        };
        let Some(i) = ending_recycle(t, inc, start.0, end.0) else {
            continue;
        };
        let r = &t.crashes[i];
        let at = r.ts.unwrap_or(end.0);
        let pool = r.app_pool.clone().or_else(|| inc.app_pool.clone());
        let lost = abandoned(t, pool.as_deref(), at);
        let why = match (r.kind, r.recycle_reason) {
            (CrashKind::ShutdownTimeout, _) => "killed when it did not shut down in time".into(),
            (_, Some(reason)) => format!("recycled ({})", reason.name()),
            _ => "recycled".into(),
        };
        inc.kind = IncidentKind::Hang;
        inc.pid = r.pid.or(inc.pid);
        inc.app_pool = pool;
        inc.sources.push(source_tag(r));
        inc.evidence.push(crash_evidence(t, i));
        inc.notes.push(format!(
            "requests queued from {} until the worker{} was {why} at {}: it had stopped taking requests, a hang no ping failure (WAS 5010) reported (pinging off, or the recycle came first); {lost} requests still queued were abandoned",
            fmt_utc(start.0),
            r.pid.map_or(String::new(), |p| format!(" (pid {p})")),
            fmt_utc(at),
        ));
    }
}

/// The first recycle or shutdown-time-limit kill of the incident's server (and pool, when both
/// are known) around its end: a recycle in the middle of the queueing did not end it.
fn ending_recycle(t: &Tables, inc: &Incident, start: Millis, end: Millis) -> Option<usize> {
    let from = end.saturating_sub(ENDED_FROM_MS).max(start);
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    };
    t.crashes
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let ends_it = match r.kind {
                CrashKind::Recycle => !r.recycle_reason.is_some_and(|w| w.is_memory()),
                CrashKind::ShutdownTimeout => true,
                _ => false,
            };
            ends_it
                && r.ts
                    .is_some_and(|ts| ts >= from && ts <= end.saturating_add(ENDED_BY_MS))
                && same(&r.server, &inc.server)
                && same(&r.app_pool, &inc.app_pool)
        })
        .min_by_key(|(_, r)| r.ts)
        .map(|(i, _)| i)
}

/// HTTPERR abandonments of `pool`'s requests within a minute of `at`.
fn abandoned(t: &Tables, pool: Option<&str>, at: Millis) -> usize {
    let h = &t.httperr;
    (0..h.len())
        .filter(|&i| {
            let ts = h.ts[i];
            ts >= at.saturating_sub(5_000)
                && ts <= at.saturating_add(ABANDONED_WITHIN_MS)
                && h.reason
                    .get(i)
                    .is_some_and(|r| class_of(r) == ReasonClass::Abandoned)
                && match (pool, h.queue.get(i)) {
                    (Some(p), Some(q)) => p.eq_ignore_ascii_case(q),
                    _ => true,
                }
        })
        .count()
}
