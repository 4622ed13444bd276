//! Step 4 of the data flow: merge crash evidence into incidents, detect rapid-fail episodes.
//!
//! Matching rules (also in `docs/report-schema.md`):
//! - Evidence is a crash row (a dump, or one event) or an HTTPERR **abandonment burst**:
//!   `Connection_Abandoned_By_AppPool` / `_ReqQueue` rows of one server and queue (app pool)
//!   whose consecutive timestamps are at most `burst_gap_ms` (5 s) apart. Each row of a burst is
//!   a request that was in flight when the worker died.
//! - Crash rows of kind `crash`, `hang` or `dump` (a dump without an exception stream) can start
//!   an incident. `report` (WER 1001), `unhandled_exception` (ASP.NET 1309: the process lived)
//!   and `shutdown_timeout` (5013) only join one; if none matches they are listed apart.
//!   `disabled` (WAS 5002) starts a rapid-fail episode.
//! - Two pieces of evidence are the same crash when the server matches (an unknown server matches
//!   any) and: both pids are known and equal and `|Δt| ≤ pid_tolerance` (10 min: pids are reused
//!   over a day); or one pid is unknown, both pools are known and equal (case-insensitive) and
//!   `|Δt| ≤ tolerance` (120 s); or one side knows neither pid nor pool and `|Δt| ≤ tolerance`
//!   (a .NET 1026 without pid). Different known pids never match. The best match wins: pid
//!   over pool over weak, then the smallest `|Δt|`.
//! - Dump times are the dump header's (UTC); dump *file names* may carry server local time and
//!   are never used for matching. Event pids are numbers whatever the event wrote (hex in
//!   Application Error 1000, decimal in WAS): the events parser normalises them.
//! - A burst joins the nearest incident of its pool within the tolerance (an incident whose pool
//!   is still unknown, e.g. a lone dump, is a second choice); an incident takes at most one
//!   burst, so a crash loop's bursts land on their own crashes. A burst that matches nothing is
//!   an incident of its own: a crash without a dump or event is still a crash.
//! - Incident time: the dump's time, else Application Error 1000's, else the burst's first row,
//!   else the earliest event.
//! - Rapid-fail: a 5002 joins the latest incident of its pool at or before it (+ tolerance) and
//!   starts an episode; the episode ends at the first later successful W3C request of the pool's
//!   sites or the next evidence of a running worker (see `correlate`). 503 `AppOffline` rows of a
//!   pool with no 5002 at all give an inferred episode (rows more than 10 min apart split it).

use super::{
    AnalyzeOptions, EvidenceKind, EvidenceRef, IncidentKind, RapidFailSource, SourceTag,
    TimeSource, path_of,
};
use crate::knowledge::httperr_reasons::{ReasonClass, class_of};
use crate::knowledge::modules::is_iis_process;

use crate::tables::{CrashKind, CrashRow, EvidenceSource, Millis, RecycleReason, Tables};

/// One incident before it is correlated with requests.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Indices into `tables.crashes`.
    pub crash_rows: Vec<usize>,
    /// Indices into `tables.httperr` (one burst of abandonments).
    pub abandoned: Vec<usize>,
    /// The server (null: unknown).
    pub server: Option<String>,
    /// The app pool (null: unknown).
    pub pool: Option<String>,
    /// The worker pid (null: unknown).
    pub pid: Option<u32>,
    /// Time of the first evidence (used for matching).
    pub anchor: Option<Millis>,
    /// Final crash time (see module docs).
    pub time: Option<Millis>,
    /// Which evidence gave `time`.
    pub time_source: TimeSource,
    /// Crash, hang or dump.
    pub kind: IncidentKind,
}

/// A rapid-fail episode before its end is known.
#[derive(Debug, Clone)]
pub struct Episode {
    /// The server.
    pub server: Option<String>,
    /// The app pool.
    pub pool: Option<String>,
    /// When the pool was disabled (or first refused requests).
    pub start: Millis,
    /// The 5002 row, when the episode comes from one.
    pub disable_row: Option<usize>,
    /// For inferred episodes: the AppOffline rows that define it.
    pub offline_rows: Vec<usize>,
    /// Index into `clusters`.
    pub incident: Option<usize>,
    /// Earliest evidence of a running worker after `start`.
    pub next_worker: Option<Millis>,
    /// What it was found from.
    pub source: RapidFailSource,
}

/// Incidents and rapid-fail episodes, before correlation.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Sorted by time, server, pool, pid.
    pub clusters: Vec<Cluster>,
    /// Rapid-fail episodes, in time order.
    pub episodes: Vec<Episode>,
    /// Crash rows that joined no incident.
    pub unattached: Vec<usize>,
    /// Crash rows of processes that are not IIS workers (a desktop app, a service).
    pub other_processes: Vec<usize>,
    /// Routine lifecycle rows (recycles that are not memory limits, idle shutdowns), in range.
    pub lifecycle: Vec<usize>,
    /// Every 503 `AppOffline` row (HTTPERR index), in range.
    pub offline_rows: Vec<usize>,
}

/// The class of an HTTPERR reason. The phrases the timeline depends on are matched here
/// (case-insensitively) before asking the knowledge table, so a crash is never missed because of
/// a lookup problem or an odd spelling.
pub fn reason_class(reason: &str) -> ReasonClass {
    let r = reason.trim();
    if r.eq_ignore_ascii_case("Connection_Abandoned_By_AppPool")
        || r.eq_ignore_ascii_case("Connection_Abandoned_By_ReqQueue")
    {
        ReasonClass::Abandoned
    } else if r.eq_ignore_ascii_case("AppOffline") {
        ReasonClass::PoolOffline
    } else {
        class_of(r)
    }
}

/// [`reason_class`] for a column of reasons: they are categorical, so a reason pointer-equal to
/// the last one (the same dictionary entry) is not classified again.
#[derive(Default)]
pub(crate) struct ReasonClasses<'a> {
    last: Option<(&'a str, ReasonClass)>,
}

impl<'a> ReasonClasses<'a> {
    /// The class of `reason`.
    pub(crate) fn of(&mut self, reason: &'a str) -> ReasonClass {
        match self.last {
            Some((s, c)) if std::ptr::eq(s, reason) => c,
            _ => {
                let c = reason_class(reason);
                self.last = Some((reason, c));
                c
            }
        }
    }
}

pub(crate) fn norm(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|v| !v.is_empty() && *v != "-")
}

/// `None` when either side is unknown.
pub(crate) fn eq_ci(a: Option<&str>, b: Option<&str>) -> Option<bool> {
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => Some(x.eq_ignore_ascii_case(y)),
        _ => None,
    }
}

/// Servers match when equal or when either is unknown.
pub(crate) fn server_ok(a: Option<&str>, b: Option<&str>) -> bool {
    eq_ci(a, b).unwrap_or(true)
}

fn lc(s: Option<&str>) -> String {
    norm(s).unwrap_or("").to_ascii_lowercase()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Incident,
    Attach,
    Disabled,
    /// A crash of a process IIS does not serve from: context, not an incident.
    OtherProcess,
    /// Routine worker lifecycle (a scheduled or on-demand recycle, an idle shutdown): counted,
    /// never an incident.
    Lifecycle,
    /// A log begun again: read as a change before an error burst, never an incident.
    Context,
}

fn role(r: &CrashRow) -> Role {
    if r.kind == CrashKind::LogRestart {
        return Role::Context;
    }
    if !is_iis_process(r.process_name.as_deref()) {
        return Role::OtherProcess;
    }
    match r.kind {
        CrashKind::Disabled => Role::Disabled,
        CrashKind::Crash | CrashKind::Hang | CrashKind::Dump => Role::Incident,
        // A memory limit is a leak's signature; an unhealthy ISAPI joins the hang it explains.
        CrashKind::Recycle => match r.recycle_reason {
            Some(why) if why.is_memory() => Role::Incident,
            Some(RecycleReason::IsapiUnhealthy) => Role::Attach,
            _ => Role::Lifecycle,
        },
        CrashKind::IdleShutdown => Role::Lifecycle,
        _ if r.source == Some(EvidenceSource::Dump) => Role::Incident,
        _ => Role::Attach,
    }
}

fn is_app_error(r: &CrashRow) -> bool {
    r.source == Some(EvidenceSource::Event)
        && (r
            .provider
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("Application Error"))
            || r.event_id == Some(1000))
}

/// Match quality of crash row `r` against cluster `c`: (tier, |Δt|), lower is better.
fn score(c: &Cluster, r: &CrashRow, opts: &AnalyzeOptions) -> Option<(u8, i64)> {
    if !server_ok(c.server.as_deref(), r.server.as_deref()) {
        return None;
    }
    let dt = match (c.anchor, r.ts) {
        (Some(a), Some(b)) => Some(a.abs_diff(b).min(i64::MAX as u64) as i64),
        _ => None,
    };
    match (c.pid, r.pid) {
        (Some(a), Some(b)) => (a == b && dt.is_none_or(|d| d <= opts.pid_tolerance_ms))
            .then_some((0, dt.unwrap_or(0))),
        _ => {
            let d = dt?;
            match eq_ci(c.pool.as_deref(), r.app_pool.as_deref()) {
                Some(true) => (d <= opts.tolerance_ms).then_some((1, d)),
                Some(false) => None,
                None => {
                    let weak = (r.pid.is_none() && norm(r.app_pool.as_deref()).is_none())
                        || (c.pid.is_none() && c.pool.is_none());
                    (weak && d <= opts.tolerance_ms).then_some((2, d))
                }
            }
        }
    }
}

fn best_cluster(clusters: &[Cluster], r: &CrashRow, opts: &AnalyzeOptions) -> Option<usize> {
    clusters
        .iter()
        .enumerate()
        .filter_map(|(i, c)| score(c, r, opts).map(|s| (s, i)))
        .min()
        .map(|(_, i)| i)
}

fn join(c: &mut Cluster, r: &CrashRow, idx: usize) {
    c.crash_rows.push(idx);
    if c.pid.is_none() {
        c.pid = r.pid;
    }
    if c.pool.is_none() {
        c.pool = norm(r.app_pool.as_deref()).map(str::to_owned);
    }
    if c.server.is_none() {
        c.server = norm(r.server.as_deref()).map(str::to_owned);
    }
    if c.anchor.is_none() {
        c.anchor = r.ts;
    }
}

/// Builds incidents and rapid-fail episodes.
pub fn build(t: &Tables, opts: &AnalyzeOptions) -> Timeline {
    let (abandoned, offline) = crash_httperr_rows(t, opts);
    let bursts = abandonment_bursts(t, opts, abandoned);

    // Crash rows, in time order (dumps first at equal times: they carry the most).
    let mut rows: Vec<usize> = (0..t.crashes.len())
        .filter(|&i| t.crashes[i].ts.is_none_or(|ts| opts.in_range(ts)))
        .collect();
    rows.sort_by_key(|&i| {
        let r = &t.crashes[i];
        (
            r.ts.unwrap_or(i64::MAX),
            r.source != Some(EvidenceSource::Dump),
            r.file,
            r.offset,
            i,
        )
    });

    let mut clusters: Vec<Cluster> = Vec::new();
    for &i in rows
        .iter()
        .filter(|&&i| role(&t.crashes[i]) == Role::Incident)
    {
        let r = &t.crashes[i];
        match best_cluster(&clusters, r, opts) {
            Some(c) => join(&mut clusters[c], r, i),
            None => {
                let mut c = Cluster::default();
                join(&mut c, r, i);
                clusters.push(c);
            }
        }
    }
    // Abandonment bursts first, so that reports without a pid (WER) can join an incident
    // known only from HTTPERR too.
    let recycles: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&i| role(&t.crashes[i]) == Role::Lifecycle)
        .collect();
    attach_bursts(t, opts, &bursts, &recycles, &mut clusters);
    let mut unattached = Vec::new();
    for &i in rows
        .iter()
        .filter(|&&i| role(&t.crashes[i]) == Role::Attach)
    {
        match best_cluster(&clusters, &t.crashes[i], opts) {
            Some(c) => {
                // An incident known from abandonments alone learns its pid from what joins it.
                let c = &mut clusters[c];
                c.crash_rows.push(i);
                if c.pid.is_none() {
                    c.pid = t.crashes[i].pid;
                }
            }
            None => unattached.push(i),
        }
    }

    let of_role = |want: Role| -> Vec<usize> {
        rows.iter()
            .copied()
            .filter(|&i| role(&t.crashes[i]) == want)
            .collect()
    };
    let other_processes = of_role(Role::OtherProcess);
    let lifecycle = of_role(Role::Lifecycle);

    for c in &mut clusters {
        finish(c, t);
    }
    clusters.sort_by_cached_key(|c| {
        (
            c.time.unwrap_or(i64::MAX),
            lc(c.server.as_deref()),
            lc(c.pool.as_deref()),
            c.pid,
            c.crash_rows.first().copied(),
            c.abandoned.first().copied(),
        )
    });

    let episodes = episodes(t, opts, &rows, &clusters, &offline);
    Timeline {
        clusters,
        episodes,
        unattached,
        other_processes,
        lifecycle,
        offline_rows: offline,
    }
}

/// The HTTPERR rows in range that matter for crashes: abandonments and 503 `AppOffline`. The
/// reason is categorical: each distinct value is classified once (pointer-equal strings come
/// from the same dictionary entry).
fn crash_httperr_rows(t: &Tables, opts: &AnalyzeOptions) -> (Vec<usize>, Vec<usize>) {
    let h = &t.httperr;
    let mut abandoned = Vec::new();
    let mut offline = Vec::new();
    let mut classes = ReasonClasses::default();
    for i in 0..h.len() {
        let ts = h.ts[i];
        if !opts.in_range(ts) {
            continue;
        }
        let Some(reason) = h.reason.get(i) else {
            continue;
        };
        match classes.of(reason) {
            ReasonClass::Abandoned => abandoned.push(i),
            ReasonClass::PoolOffline => offline.push(i),
            _ => {}
        }
    }
    (abandoned, offline)
}

/// Abandonments of one server and pool, each at most `burst_gap_ms` after the previous.
fn abandonment_bursts(
    t: &Tables,
    opts: &AnalyzeOptions,
    mut abandoned: Vec<usize>,
) -> Vec<Vec<usize>> {
    let h = &t.httperr;
    abandoned.sort_by_cached_key(|&i| (lc(h.server.get(i)), lc(h.queue.get(i)), h.ts[i], i));
    let mut bursts: Vec<Vec<usize>> = Vec::new();
    for &i in &abandoned {
        match bursts.last_mut() {
            Some(b)
                if b.last().is_some_and(|&p| {
                    lc(h.server.get(p)) == lc(h.server.get(i))
                        && lc(h.queue.get(p)) == lc(h.queue.get(i))
                        && h.ts[i] - h.ts[p] <= opts.burst_gap_ms
                }) =>
            {
                b.push(i)
            }
            _ => bursts.push(vec![i]),
        }
    }
    bursts
}

/// Bursts → incidents: global greedy on (tier, |Δt|) so each crash gets its own burst; a burst
/// that matches none is an incident of its own.
fn attach_bursts(
    t: &Tables,
    opts: &AnalyzeOptions,
    bursts: &[Vec<usize>],
    recycles: &[usize],
    clusters: &mut Vec<Cluster>,
) {
    let h = &t.httperr;
    let mut pairs = Vec::new();
    for (b, rows) in bursts.iter().enumerate() {
        let first = rows[0];
        let (ts, server, queue) = (h.ts[first], h.server.get(first), h.queue.get(first));
        for (ci, c) in clusters.iter().enumerate() {
            let Some(anchor) = c.anchor else { continue };
            let d = anchor.abs_diff(ts).min(i64::MAX as u64) as i64;
            if d > opts.tolerance_ms || !server_ok(c.server.as_deref(), server) {
                continue;
            }
            let tier = match eq_ci(c.pool.as_deref(), queue) {
                Some(true) => 0u8,
                Some(false) => continue,
                None if c.pool.is_none() => 1,
                None => continue,
            };
            pairs.push((tier, d, b, ci));
        }
    }
    pairs.sort_unstable();
    let mut burst_taken = vec![false; bursts.len()];
    let mut cluster_taken = vec![false; clusters.len()];
    for (_, _, b, ci) in pairs {
        if burst_taken[b] || cluster_taken[ci] {
            continue;
        }
        burst_taken[b] = true;
        cluster_taken[ci] = true;
        let first = bursts[b][0];
        let c = &mut clusters[ci];
        c.abandoned = bursts[b].clone();
        if c.pool.is_none() {
            c.pool = norm(h.queue.get(first)).map(str::to_owned);
        }
        if c.server.is_none() {
            c.server = norm(h.server.get(first)).map(str::to_owned);
        }
    }
    for (b, rows) in bursts.iter().enumerate() {
        if burst_taken[b] {
            continue;
        }
        let first = rows[0];
        let recycle = ended_by_recycle(t, first, recycles);
        // A recycle that drops a request or two is routine; one that drops many dropped
        // requests that did not finish within the shutdown time limit: they were stuck.
        if recycle.is_some() && rows.len() < HELD_AT_RECYCLE {
            continue;
        }
        let r = recycle.map(|i| &t.crashes[i]);
        clusters.push(Cluster {
            crash_rows: recycle.into_iter().collect(),
            abandoned: rows.clone(),
            server: norm(h.server.get(first)).map(str::to_owned),
            pool: norm(h.queue.get(first)).map(str::to_owned),
            pid: r.and_then(|r| r.pid),
            anchor: Some(h.ts[first]),
            ..Default::default()
        });
    }
}

/// How long after WAS logs a recycle the old worker may still be draining (the default
/// `shutdownTimeLimit` is 90 s), so that the requests it drops are the recycle's.
const DRAIN_MS: i64 = 120_000;

/// Abandonments a recycle held: from this many, the recycle's worker held requests that were
/// stuck (a hang), not a request or two cut short.
pub const HELD_AT_RECYCLE: usize = 5;

/// The recycle or idle shutdown of the same server and pool that abandonments follow: requests
/// dropped by a worker that was told to go, not a crash.
fn ended_by_recycle(t: &Tables, first: usize, recycles: &[usize]) -> Option<usize> {
    let h = &t.httperr;
    let (ts, server, queue) = (h.ts[first], h.server.get(first), h.queue.get(first));
    recycles.iter().copied().find(|&i| {
        let r = &t.crashes[i];
        r.ts.is_some_and(|rt| ts >= rt - 5_000 && ts <= rt + DRAIN_MS)
            && server_ok(r.server.as_deref(), server)
            && eq_ci(r.app_pool.as_deref(), queue) == Some(true)
    })
}

/// Decides the incident's kind and time.
fn finish(c: &mut Cluster, t: &Tables) {
    let rows = || c.crash_rows.iter().map(|&i| &t.crashes[i]);
    let min_ts = |f: &dyn Fn(&CrashRow) -> bool| rows().filter(|r| f(r)).filter_map(|r| r.ts).min();
    // A hang's worker is killed, and a recycled one shut down: abandonments then say requests
    // were lost, not that it crashed.
    c.kind = if rows().any(|r| r.kind == CrashKind::Crash) {
        IncidentKind::Crash
    } else if rows().any(|r| r.kind == CrashKind::Hang) {
        IncidentKind::Hang
    } else if rows()
        .any(|r| r.kind == CrashKind::Recycle && r.recycle_reason.is_some_and(|w| w.is_memory()))
    {
        IncidentKind::Recycle
    } else if rows().any(|r| matches!(r.kind, CrashKind::Recycle | CrashKind::IdleShutdown)) {
        // A routine recycle joins an incident only by the requests it abandoned: they were
        // held past the shutdown time limit.
        IncidentKind::Hang
    } else if rows().any(|r| r.kind == CrashKind::ShutdownTimeout) {
        // Killed because its requests did not finish within the shutdown time limit (WAS
        // 5013): they were stuck, and the abandonments are the requests it held.
        IncidentKind::Hang
    } else if !c.abandoned.is_empty() {
        IncidentKind::Crash
    } else if rows().any(|r| r.kind == CrashKind::Dump) {
        IncidentKind::Dump
    } else {
        // Only join-only evidence cannot make an incident; keep a neutral kind if it ever does.
        IncidentKind::Crash
    };
    let burst = c.abandoned.first().map(|&i| t.httperr.ts[i]);
    (c.time, c.time_source) = if let Some(ts) = min_ts(&|r| r.source == Some(EvidenceSource::Dump))
    {
        (Some(ts), TimeSource::Dump)
    } else if let Some(ts) = min_ts(&is_app_error) {
        (Some(ts), TimeSource::Event)
    } else if let Some(ts) = burst {
        (Some(ts), TimeSource::Httperr)
    } else if let Some(ts) = min_ts(&|_| true) {
        (Some(ts), TimeSource::Event)
    } else {
        (None, TimeSource::None)
    };
}

fn episodes(
    t: &Tables,
    opts: &AnalyzeOptions,
    rows: &[usize],
    clusters: &[Cluster],
    offline: &[usize],
) -> Vec<Episode> {
    let h = &t.httperr;
    let latest_incident = |server: Option<&str>, pool: Option<&str>, at: Millis| -> Option<usize> {
        clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                server_ok(c.server.as_deref(), server)
                    && eq_ci(c.pool.as_deref(), pool) == Some(true)
                    && c.time.is_some_and(|ct| ct <= at + opts.tolerance_ms)
            })
            .max_by_key(|(i, c)| (c.time, *i))
            .map(|(i, _)| i)
    };
    let next_worker = |server: Option<&str>, pool: Option<&str>, start: Millis| -> Option<Millis> {
        let later_crash = clusters
            .iter()
            .filter(|c| {
                server_ok(c.server.as_deref(), server)
                    && eq_ci(c.pool.as_deref(), pool) == Some(true)
            })
            .filter_map(|c| c.time)
            .filter(|&ct| ct > start + 1000)
            .min();
        let started = rows
            .iter()
            .map(|&i| &t.crashes[i])
            .filter(|r| {
                server_ok(r.server.as_deref(), server)
                    && eq_ci(r.app_pool.as_deref(), pool) != Some(false)
            })
            .filter_map(|r| r.process_start)
            .filter(|&ps| ps > start)
            .min();
        [later_crash, started].into_iter().flatten().min()
    };

    let mut out: Vec<Episode> = Vec::new();
    for &i in rows
        .iter()
        .filter(|&&i| role(&t.crashes[i]) == Role::Disabled)
    {
        let r = &t.crashes[i];
        let Some(start) = r.ts else { continue };
        let (server, pool) = (norm(r.server.as_deref()), norm(r.app_pool.as_deref()));
        // The same 5002 exported twice (or logged per site) is one episode.
        if out.iter().any(|e| {
            e.source == RapidFailSource::Event5002
                && server_ok(e.server.as_deref(), server)
                && eq_ci(e.pool.as_deref(), pool).unwrap_or(true)
                && (e.start - start).abs() <= opts.tolerance_ms
        }) {
            continue;
        }
        out.push(Episode {
            server: server.map(str::to_owned),
            pool: pool.map(str::to_owned),
            start,
            disable_row: Some(i),
            offline_rows: Vec::new(),
            incident: latest_incident(server, pool, start),
            next_worker: next_worker(server, pool, start),
            source: RapidFailSource::Event5002,
        });
    }

    // 503 AppOffline without any 5002 for that pool: infer the episode from HTTPERR.
    let groups = offline_groups(t, offline, &out);
    for g in groups {
        let first = g[0];
        let (server, pool, start) = (
            norm(h.server.get(first)),
            norm(h.queue.get(first)),
            h.ts[first],
        );
        out.push(Episode {
            server: server.map(str::to_owned),
            pool: pool.map(str::to_owned),
            start,
            disable_row: None,
            offline_rows: g,
            incident: latest_incident(server, pool, start),
            next_worker: next_worker(server, pool, start),
            source: RapidFailSource::HttperrAppOffline,
        });
    }
    out.sort_by_cached_key(|e| (e.start, lc(e.server.as_deref()), lc(e.pool.as_deref())));
    out
}

/// 503 `AppOffline` rows of pools without a 5002 episode, grouped per server and pool where
/// consecutive rows are at most 10 minutes apart: each group is an inferred episode.
fn offline_groups(t: &Tables, offline: &[usize], disabled: &[Episode]) -> Vec<Vec<usize>> {
    let h = &t.httperr;
    let mut off: Vec<usize> = offline.to_vec();
    off.sort_by_cached_key(|&i| (lc(h.server.get(i)), lc(h.queue.get(i)), h.ts[i], i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in off {
        let (server, pool) = (h.server.get(i), h.queue.get(i));
        if disabled.iter().any(|e| {
            e.source == RapidFailSource::Event5002
                && server_ok(e.server.as_deref(), server)
                && eq_ci(e.pool.as_deref(), pool).unwrap_or(true)
        }) {
            continue;
        }
        match groups.last_mut() {
            Some(g)
                if g.last().is_some_and(|&p| {
                    lc(h.server.get(p)) == lc(server)
                        && lc(h.queue.get(p)) == lc(pool)
                        && h.ts[i] - h.ts[p] <= 600_000
                }) =>
            {
                g.push(i)
            }
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// The evidence reference of crash row `i`.
pub fn crash_evidence(t: &Tables, i: usize) -> EvidenceRef {
    let r = &t.crashes[i];
    let what = describe(r);
    EvidenceRef {
        file: r.file,
        path: path_of(t, r.file),
        offset: r.offset,
        source: match r.source {
            Some(EvidenceSource::Dump) => EvidenceKind::Dump,
            Some(EvidenceSource::Log) => EvidenceKind::W3c,
            _ => EvidenceKind::Event,
        },
        what,
    }
}

/// `event:<provider>/<id>` or `dump`: the tags listed in `Incident.sources`.
pub fn source_tag(r: &CrashRow) -> SourceTag {
    match r.source {
        Some(EvidenceSource::Dump) => SourceTag::Dump,
        Some(EvidenceSource::Log) => SourceTag::W3c,
        _ => SourceTag::Event(match (r.provider.as_deref(), r.event_id) {
            (Some(p), Some(id)) => format!("{}/{id}", super::cut(p, 60)),
            (Some(p), None) => super::cut(p, 60),
            (None, Some(id)) => id.to_string(),
            (None, None) => r.kind.name().to_string(),
        }),
    }
}

fn describe(r: &CrashRow) -> String {
    let mut parts = vec![source_tag(r).to_string(), r.kind.name().to_string()];
    if !is_iis_process(r.process_name.as_deref())
        && let Some(p) = norm(r.process_name.as_deref())
    {
        parts.push(format!("process {}", super::cut(p, 80)));
    }
    if let Some(p) = norm(r.app_pool.as_deref()) {
        parts.push(format!("pool {}", super::cut(p, 80)));
    }
    if let Some(pid) = r.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(c) = r.exception_code {
        parts.push(format!("code 0x{c:08x}"));
    }
    if let Some(m) = norm(r.faulting_module.as_deref()) {
        parts.push(format!("module {}", super::cut(m, 80)));
    }
    if let Some(ts) = r.ts {
        parts.push(super::time::fmt_utc(ts));
    }
    parts.join(", ")
}
