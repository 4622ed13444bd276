//! Step 5 of the data flow: one O(n) pass over the requests.
//!
//! For every incident: the W3C requests in flight at the crash (`ts − time-taken − slack ≤ crash ≤
//! ts + slack`: W3C `time` is when the request *completed*), and the last N requests of the
//! pool's sites that completed before it (within `--window`). For every rapid-fail episode: the
//! first successful request started after it began (its end) and the 503s inside it. For the
//! chart: requests, 5xx, HTTPERR rows and abandonments per time bucket.
//!
//! Site ↔ pool: HTTPERR rows carry `s-siteid` and `s-queuename` (the pool), so `W3SVC<id>` ↔ pool
//! is learned from them. When a pool's sites are unknown, every site of the server that is not
//! known to belong to another pool is taken (exact for a single-site server; a note says so
//! otherwise).
//!
//! Cost: the categorical server and site of a row are compared with the previous row's by
//! pointer first (rows come in long runs per file), so the pass does no hashing and no
//! allocation per row; incidents of a site are found by binary search on their times.

use super::RapidFailEnd;
use super::aggregate::MinuteCounts;
use super::pattern::{HashIndex, KINDS, RequestView, feature_hashes};
use super::rows::RowFacts;
use super::stats::Busy;
use super::timeline::{Timeline as Tl, eq_ci, norm, server_ok};
use super::{AnalyzeOptions, Timeline};
use crate::tables::{Millis, Requests, Tables};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

const DAY_MS: u64 = 86_400_000;

/// What a (server, site) pair of the requests table takes part in.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Incidents (cluster indices) whose pool serves this site, and their times, sorted by time.
    pub incidents: Vec<usize>,
    /// Their crash times, in the same order.
    pub times: Vec<Millis>,
    /// Rapid-fail episodes of the site's pool.
    pub episodes: Vec<usize>,
    /// Pattern groups whose baseline this site belongs to.
    pub groups: Vec<usize>,
}

/// Incidents grouped by app pool (case-insensitive, across servers): the unit of the
/// request-pattern statistics, whose baseline is the group's sites.
#[derive(Debug, Clone)]
pub struct Group {
    /// The pool (null: unknown).
    pub pool: Option<String>,
    /// Its incidents (indices into the clusters).
    pub incidents: Vec<usize>,
    /// Baseline rows before subtracting in-flight rows.
    pub rows: u64,
}

/// How a rapid-fail episode ended, and what was refused meanwhile.
#[derive(Debug, Clone)]
pub struct EpisodeEnd {
    /// When the pool served again (null: still down when the logs end).
    pub end: Option<Millis>,
    /// What ended it.
    pub reason: RapidFailEnd,
    /// HTTPERR 503 `AppOffline` rows of the pool in the episode.
    pub refused_httperr: u64,
    /// W3C 503 rows of the pool's sites in the episode.
    pub refused_w3c: u64,
}

/// What one pass over the requests found for every incident.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// The earliest instant in any table (within the range).
    pub first: Option<Millis>,
    /// The latest instant.
    pub last: Option<Millis>,
    /// Requests, 5xx, HTTPERR rows and abandonments per bucket.
    pub chart: Timeline,
    /// Per cluster: W3C row indices in flight, sorted by (ts, file, offset).
    pub in_flight: Vec<Vec<usize>>,
    /// Per cluster: W3C row indices before the crash, newest first.
    pub recent: Vec<Vec<usize>>,
    /// Per cluster: the sites of its pool.
    pub sites: Vec<Vec<String>>,
    /// Per cluster: what is uncertain about its requests.
    pub notes: Vec<Vec<String>>,
    /// How each rapid-fail episode ended.
    pub episodes: Vec<EpisodeEnd>,
    /// Incidents grouped by app pool.
    pub groups: Vec<Group>,
    /// The group of each cluster.
    pub cluster_group: Vec<usize>,
    /// Per (server lc, site lc) of the requests table.
    pub targets: TargetMap,
    /// Per server lc: the distinct sites seen.
    pub server_sites: HashMap<String, Vec<String>>,
}

/// Same value, by pointer first (same dictionary entry), then by content.
#[inline]
fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => std::ptr::eq(x, y) || x == y,
        (None, None) => true,
        _ => false,
    }
}

/// The key of a (server, site) pair in [`Correlation::targets`].
pub(crate) fn key(server: Option<&str>, site: Option<&str>) -> (String, String) {
    (
        norm(server).unwrap_or("").to_ascii_lowercase(),
        norm(site).unwrap_or("").to_ascii_lowercase(),
    )
}

/// A per-thread cache of the previous row's (server, site) → targets.
struct Cache<'a> {
    prev: Option<(Option<&'a str>, Option<&'a str>, Option<&'a Targets>)>,
}

impl<'a> Cache<'a> {
    #[inline]
    fn get(
        &mut self,
        map: &'a HashMap<(String, String), Targets>,
        server: Option<&'a str>,
        site: Option<&'a str>,
    ) -> Option<&'a Targets> {
        if let Some((s, x, t)) = self.prev
            && same(s, server)
            && same(x, site)
        {
            return t;
        }
        let t = map.get(&key(server, site));
        self.prev = Some((server, site, t));
        t
    }
}

/// Learned `(server lc, site lc, pool lc)` triples; an empty server matches any.
struct SiteMap(Vec<(String, String, String)>);

impl SiteMap {
    fn learn(t: &Tables) -> SiteMap {
        let h = &t.httperr;
        let mut v: Vec<(String, String, String)> = Vec::new();
        let mut prev: Option<(Option<&str>, u32, Option<&str>)> = None;
        for i in 0..h.len() {
            let (Some(id), queue) = (h.site_id.get(i), h.queue.get(i)) else {
                continue;
            };
            let server = h.server.get(i);
            if prev.is_some_and(|(s, p, q)| p == id && same(s, server) && same(q, queue)) {
                continue;
            }
            prev = Some((server, id, queue));
            let Some(q) = norm(queue) else { continue };
            let (s, _) = key(server, None);
            let e = (s, format!("w3svc{id}"), q.to_ascii_lowercase());
            if !v.contains(&e) {
                v.push(e);
            }
        }
        v.sort();
        SiteMap(v)
    }
    fn pool_sites(&self, server: &str, pool: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(s, _, p)| (s.is_empty() || server.is_empty() || s == server) && p == pool)
            .map(|(_, x, _)| x.as_str())
            .collect()
    }
    fn site_known(&self, server: &str, site: &str) -> bool {
        self.0
            .iter()
            .any(|(s, x, _)| (s.is_empty() || server.is_empty() || s == server) && x == site)
    }
}

/// Whether requests of (server, site) belong to the pool `pool` of server `cserver`.
fn serves(
    map: &SiteMap,
    cserver: Option<&str>,
    pool: Option<&str>,
    server: &str,
    site: &str,
) -> bool {
    if !server_ok(cserver, Some(server).filter(|s| !s.is_empty())) {
        return false;
    }
    let Some(pool) = norm(pool) else { return true };
    let pool = pool.to_ascii_lowercase();
    let sites = map.pool_sites(server, &pool);
    if !sites.is_empty() {
        return sites.contains(&site);
    }
    // The pool's sites are unknown: take every site not known to belong to another pool.
    !map.site_known(server, site)
}

/// What a fold over every row needs to count the pattern groups' rows and the rapid-fail
/// episodes' ends ([`EveryFold::add`]); the same for [`run`] and for a fold that also keeps the
/// rows around the incidents (`analyze::rows::gather`), so that it is one read, not two.
pub struct EveryFold<'a> {
    opts: &'a AnalyzeOptions,
    tl: &'a Tl,
    targets: TargetMap,
    groups: usize,
}

impl<'a> EveryFold<'a> {
    /// The fold of `t`'s requests for the incidents of `tl`.
    pub fn of(t: &Tables, opts: &'a AnalyzeOptions, tl: &'a Tl, facts: &RowFacts) -> Self {
        let pairs: Vec<(String, String)> = facts.pairs.iter().cloned().collect();
        let (groups, cluster_group) = pool_groups(tl);
        let (targets, _) = pair_targets(tl, &SiteMap::learn(t), &pairs, &cluster_group);
        EveryFold {
            opts,
            tl,
            targets,
            groups: groups.len(),
        }
    }
    /// Nothing counted.
    pub fn init(&self) -> Every {
        Every::new(self.groups, self.tl.episodes.len())
    }
    /// Rows `range` of `r` counted into `e`.
    pub fn add(&self, e: &mut Every, r: &Requests, range: std::ops::Range<usize>) {
        e.add(r, range, self.opts, self.tl, &self.targets);
    }
}

/// Requests in flight and before each crash, rapid-fail ends, the chart: one pass over the
/// requests around the incidents; `every` is what a fold over every row counted
/// ([`EveryFold`]), folded here when not given.
pub fn run(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    facts: &RowFacts,
    every: Option<Every>,
) -> Correlation {
    let r = &t.requests;
    let counts = minute_counts(t, opts, facts);
    let (first, last) = (counts.first, counts.last);
    let chart = counts.chart();

    let pairs: Vec<(String, String)> = facts.pairs.iter().cloned().collect();
    let mut server_sites: HashMap<String, Vec<String>> = HashMap::new();
    for (s, x) in &pairs {
        server_sites.entry(s.clone()).or_default().push(x.clone());
    }

    let (mut groups, cluster_group) = pool_groups(tl);
    let map = SiteMap::learn(t);
    let (targets, mut sites) = pair_targets(tl, &map, &pairs, &cluster_group);
    let notes = site_notes(tl, &map, &mut sites);

    // Every row: the groups' baselines and the episodes' ends.
    let every = every.unwrap_or_else(|| {
        t.all_rows().fold(
            || Every::new(groups.len(), tl.episodes.len()),
            |e, r, range| e.add(r, range, opts, tl, &targets),
            Every::merge,
        )
    });
    for (g, n) in groups.iter_mut().zip(&every.rows) {
        g.rows = *n;
    }
    // The rows around the incidents.
    let mut pass = Pass::new(tl.clusters.len(), opts);
    let mut cache = Cache { prev: None };
    for i in 0..r.len() {
        let ts = r.ts[i];
        if !opts.in_range(ts) {
            continue;
        }
        let Some(tg) = cache.get(&targets, r.server.get(i), r.site.get(i)) else {
            continue;
        };
        let tt = r.time_taken_ms.get(i).unwrap_or(0).min(DAY_MS) as i64;
        pass.incidents(tg, i, ts, tt);
    }
    let (in_flight, recent) = pass.sorted(r);
    let episodes = episode_ends(t, tl, &every.first_ok, &every.ep_503);

    Correlation {
        first,
        last,
        chart,
        in_flight,
        recent,
        sites,
        notes,
        episodes,
        groups,
        cluster_group,
        targets,
        server_sites,
    }
}

/// The per-minute counts (a mergeable aggregate): the time range and the chart.
fn minute_counts(t: &Tables, opts: &AnalyzeOptions, facts: &RowFacts) -> MinuteCounts {
    let mut counts = facts.minutes.clone();
    counts.add_httperr(&t.httperr, |ts| opts.in_range(ts));
    t.crashes
        .iter()
        .filter_map(|c| c.ts)
        .filter(|&ts| opts.in_range(ts))
        .for_each(|ts| counts.see(ts));
    counts
}

/// What a fold over every row collects for the pattern groups and rapid-fail episodes.
pub struct Every {
    /// Per group: its sites' rows in range.
    rows: Vec<u64>,
    /// Per episode: the first successful request started after its start.
    first_ok: Vec<Option<Millis>>,
    /// Per episode: the 503s after its start, counted by time (W3C times are whole seconds,
    /// so a day holds 86,400 at most however many 503s there were).
    ep_503: Vec<BTreeMap<Millis, u64>>,
}

impl Every {
    fn new(groups: usize, episodes: usize) -> Every {
        Every {
            rows: vec![0; groups],
            first_ok: vec![None; episodes],
            ep_503: vec![BTreeMap::new(); episodes],
        }
    }

    fn add(
        &mut self,
        r: &Requests,
        range: std::ops::Range<usize>,
        opts: &AnalyzeOptions,
        tl: &Tl,
        targets: &TargetMap,
    ) {
        let mut cache = Cache { prev: None };
        for i in range {
            let ts = r.ts[i];
            if !opts.in_range(ts) {
                continue;
            }
            let Some(tg) = cache.get(targets, r.server.get(i), r.site.get(i)) else {
                continue;
            };
            for &g in &tg.groups {
                self.rows[g] += 1;
            }
            if !tg.episodes.is_empty() {
                let tt = r.time_taken_ms.get(i).unwrap_or(0).min(DAY_MS) as i64;
                self.episodes(tg, tl, ts, tt, r.status.get(i));
            }
        }
    }

    /// Another part's counts added.
    pub fn merge(mut self, o: Every) -> Every {
        for (a, b) in self.rows.iter_mut().zip(o.rows) {
            *a += b;
        }
        for (a, b) in self.first_ok.iter_mut().zip(o.first_ok) {
            *a = match (*a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
        }
        for (a, b) in self.ep_503.iter_mut().zip(o.ep_503) {
            for (ts, n) in b {
                *a.entry(ts).or_default() += n;
            }
        }
        self
    }

    /// A row against the rapid-fail episodes of its site's pool.
    #[inline]
    fn episodes(&mut self, tg: &Targets, tl: &Tl, ts: Millis, tt: Millis, status: Option<u16>) {
        for &e in &tg.episodes {
            let es = tl.episodes[e].start;
            if ts < es {
                continue;
            }
            match status {
                Some(200..=399) if ts.saturating_sub(tt) > es => {
                    self.first_ok[e] = Some(self.first_ok[e].map_or(ts, |f: Millis| f.min(ts)));
                }
                Some(503) => *self.ep_503[e].entry(ts).or_default() += 1,
                _ => {}
            }
        }
    }
}

/// What the pass over the rows around the incidents collects.
struct Pass {
    /// Per incident: the rows whose `[time − time-taken, time]` spans the crash (with slack).
    in_flight: Vec<Vec<usize>>,
    /// Per incident: the last rows that completed within the window before the crash.
    recent: Vec<BinaryHeap<Reverse<(Millis, usize)>>>,
    slack: Millis,
    ahead: Millis,
    window: Millis,
    last_n: usize,
}

impl Pass {
    fn new(incidents: usize, opts: &AnalyzeOptions) -> Pass {
        let slack = opts.in_flight_slack_ms.max(0);
        Pass {
            in_flight: vec![Vec::new(); incidents],
            recent: vec![BinaryHeap::new(); incidents],
            slack,
            ahead: slack.max(opts.window_ms.max(0)),
            window: opts.window_ms,
            last_n: opts.last_n,
        }
    }

    /// Row `i` (completed at `ts` after `tt` ms) against the crashes of its site's pool.
    #[inline]
    fn incidents(&mut self, tg: &Targets, i: usize, ts: Millis, tt: Millis) {
        if tg.times.is_empty() {
            return;
        }
        let lo = ts.saturating_sub(tt).saturating_sub(self.slack);
        let hi = ts.saturating_add(self.ahead);
        let mut k = tg.times.partition_point(|&c| c < lo);
        while k < tg.times.len() && tg.times[k] <= hi {
            let (c, ci) = (tg.times[k], tg.incidents[k]);
            if c <= ts.saturating_add(self.slack) {
                self.in_flight[ci].push(i);
            }
            if c >= ts && c - ts <= self.window {
                let heap = &mut self.recent[ci];
                heap.push(Reverse((ts, i)));
                if heap.len() > self.last_n {
                    heap.pop();
                }
            }
            k += 1;
        }
    }

    /// The in-flight rows in time order and the recent ones newest first (ties by place).
    fn sorted(&mut self, r: &Requests) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut in_flight = std::mem::take(&mut self.in_flight);
        for v in &mut in_flight {
            v.sort_by_key(|&i| (r.ts[i], r.file[i], r.offset.get(i), i));
        }
        let recent = std::mem::take(&mut self.recent).into_iter().map(|heap| {
            let mut v: Vec<(Millis, usize)> = heap.into_iter().map(|Reverse(x)| x).collect();
            v.sort_by_key(|&(ts, i)| Reverse((ts, r.file[i], r.offset.get(i), i)));
            v.into_iter().map(|(_, i)| i).collect()
        });
        (in_flight, recent.collect())
    }
}

/// Incidents grouped by app pool name; the group of each incident.
fn pool_groups(tl: &Tl) -> (Vec<Group>, Vec<usize>) {
    let nc = tl.clusters.len();
    let mut groups: Vec<Group> = Vec::new();
    let mut cluster_group = Vec::with_capacity(nc);
    for (ci, c) in tl.clusters.iter().enumerate() {
        let g = match groups.iter().position(|g| match (&g.pool, &c.pool) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        }) {
            Some(g) => g,
            None => {
                groups.push(Group {
                    pool: c.pool.clone(),
                    incidents: Vec::new(),
                    rows: 0,
                });
                groups.len() - 1
            }
        };
        groups[g].incidents.push(ci);
        cluster_group.push(g);
    }

    (groups, cluster_group)
}

/// Per (server lc, site lc): what its requests can be in flight for.
type TargetMap = HashMap<(String, String), Targets>;

/// Per (server, site) pair: the incidents and rapid-fail episodes of the pools it serves; per
/// incident: the sites of its pool.
fn pair_targets(
    tl: &Tl,
    map: &SiteMap,
    pairs: &[(String, String)],
    cluster_group: &[usize],
) -> (TargetMap, Vec<Vec<String>>) {
    let nc = tl.clusters.len();
    let mut targets: HashMap<(String, String), Targets> = HashMap::new();
    let mut sites: Vec<Vec<String>> = vec![Vec::new(); nc];
    for (s, x) in pairs {
        let mut tg = Targets::default();
        for (ci, c) in tl.clusters.iter().enumerate() {
            if serves(map, c.server.as_deref(), c.pool.as_deref(), s, x) {
                if let Some(ct) = c.time {
                    tg.incidents.push(ci);
                    tg.times.push(ct);
                }
                if !x.is_empty() && !sites[ci].contains(x) {
                    sites[ci].push(x.clone());
                }
                if !tg.groups.contains(&cluster_group[ci]) {
                    tg.groups.push(cluster_group[ci]);
                }
            }
        }
        for (ei, e) in tl.episodes.iter().enumerate() {
            if serves(map, e.server.as_deref(), e.pool.as_deref(), s, x) {
                tg.episodes.push(ei);
            }
        }
        // Clusters are sorted by time already; keep the invariant explicit.
        let mut order: Vec<usize> = (0..tg.incidents.len()).collect();
        order.sort_by_key(|&k| (tg.times[k], tg.incidents[k]));
        tg.incidents = order.iter().map(|&k| tg.incidents[k]).collect();
        tg.times = order.iter().map(|&k| tg.times[k]).collect();
        tg.groups.sort_unstable();
        targets.insert((s.clone(), x.clone()), tg);
    }
    (targets, sites)
}

/// Notes on incidents whose pool's sites are unknown (all of the server's were considered).
fn site_notes(tl: &Tl, map: &SiteMap, sites: &mut [Vec<String>]) -> Vec<Vec<String>> {
    let nc = tl.clusters.len();
    let mut notes: Vec<Vec<String>> = vec![Vec::new(); nc];
    for (ci, c) in tl.clusters.iter().enumerate() {
        sites[ci].sort();
        let server = norm(c.server.as_deref()).unwrap_or("").to_ascii_lowercase();
        let known = c
            .pool
            .as_deref()
            .is_some_and(|p| !map.pool_sites(&server, &p.to_ascii_lowercase()).is_empty());
        if !known && sites[ci].len() > 1 {
            notes[ci].push(format!(
                "which sites app pool {} serves is unknown (no HTTPERR row links them): requests of all {} sites on the server were considered",
                c.pool.as_deref().unwrap_or("(unknown)"),
                sites[ci].len()
            ));
        }
    }

    notes
}

/// How each rapid-fail episode ended, and the requests refused meanwhile.
fn episode_ends(
    t: &Tables,
    tl: &Tl,
    first_ok: &[Option<Millis>],
    ep_503: &[BTreeMap<Millis, u64>],
) -> Vec<EpisodeEnd> {
    let h = &t.httperr;
    tl.episodes
        .iter()
        .enumerate()
        .map(|(e, ep)| {
            let (end, reason) = match (first_ok[e], ep.next_worker) {
                (Some(a), Some(b)) if b < a => (Some(b), RapidFailEnd::WorkerStart),
                (Some(a), _) => (Some(a), RapidFailEnd::FirstSuccess),
                (None, Some(b)) => (Some(b), RapidFailEnd::WorkerStart),
                (None, None) => (None, RapidFailEnd::EndOfData),
            };
            let until = end.unwrap_or(i64::MAX);
            let refused_httperr = tl
                .offline_rows
                .iter()
                .filter(|&&i| {
                    h.ts[i] >= ep.start
                        && h.ts[i] <= until
                        && server_ok(ep.server.as_deref(), h.server.get(i))
                        && eq_ci(ep.pool.as_deref(), h.queue.get(i)).unwrap_or(true)
                })
                .count() as u64;
            let refused_w3c = ep_503[e].range(..=until).map(|(_, n)| n).sum::<u64>();
            EpisodeEnd {
                end,
                reason,
                refused_httperr,
                refused_w3c,
            }
        })
        .collect()
}

/// The request view of W3C row `i`.
pub fn w3c_view(t: &Tables, i: usize) -> RequestView<'_> {
    row_view(&t.requests, i)
}

/// The request view of row `i` of `r`.
pub fn row_view(r: &Requests, i: usize) -> RequestView<'_> {
    RequestView {
        method: r.method.get(i),
        stem: r.uri_stem.get(i).unwrap_or(""),
        query: r.uri_query.get(i),
        client: r.c_ip.get(i),
        user_agent: r.user_agent.get_logged(i),
        bytes_in: r.cs_bytes.get(i),
    }
}

/// The request view of HTTPERR row `i` (no user agent or size in HTTPERR).
pub fn httperr_view(t: &Tables, i: usize) -> RequestView<'_> {
    let h = &t.httperr;
    let (stem, query) = RequestView::split_uri(h.uri.get(i).unwrap_or(""));
    RequestView {
        method: h.method.get(i),
        stem,
        query,
        client: h.c_ip.get(i),
        user_agent: None,
        bytes_in: None,
    }
}

/// Baseline sums of the candidate patterns of every pattern group (see [`baseline_counts`]).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Per group, per candidate (index in the group's candidate list).
    pub cands: Vec<Vec<Busy>>,
    /// Per group, per feature kind: the requests where the feature is defined.
    pub kinds: Vec<[Busy; 7]>,
    /// Per group: every baseline request (the denominator of the always-defined kinds).
    pub all: Vec<Busy>,
}

impl Baseline {
    fn zero(sizes: &[usize]) -> Baseline {
        Baseline {
            cands: sizes.iter().map(|&n| vec![Busy::default(); n]).collect(),
            kinds: vec![[Busy::default(); 7]; sizes.len()],
            all: vec![Busy::default(); sizes.len()],
        }
    }
    fn merge(mut self, o: Baseline) -> Baseline {
        for (x, y) in self.cands.iter_mut().zip(&o.cands) {
            for (p, q) in x.iter_mut().zip(y) {
                p.merge(q);
            }
        }
        for (x, y) in self.kinds.iter_mut().zip(&o.kinds) {
            for (p, q) in x.iter_mut().zip(y) {
                p.merge(q);
            }
        }
        for (p, q) in self.all.iter_mut().zip(&o.all) {
            p.merge(q);
        }
        self
    }
}

/// Baseline sums of candidate patterns: `candidates[g]` maps a feature hash to its index in the
/// group's candidate list. Per group: per candidate, per feature kind and over all rows, the
/// number of requests, how many logged `time-taken` and the sum of those time-takens ([`Busy`]:
/// the busy time the null rate is computed from). One pass, parallel over row chunks, no
/// allocation per row; integer sums, so the result does not depend on the thread count.
pub fn baseline_counts(
    t: &Tables,
    opts: &AnalyzeOptions,
    corr: &Correlation,
    candidates: &[HashIndex],
    needed: [bool; 7],
) -> Baseline {
    let sizes: Vec<usize> = candidates.iter().map(HashIndex::len).collect();
    if !needed.iter().any(|&x| x) || t.all_rows().count() == 0 {
        return Baseline::zero(&sizes);
    }
    t.all_rows().fold(
        || Baseline::zero(&sizes),
        |acc, r, range| {
            let mut cache = Cache { prev: None };
            for i in range {
                if !opts.in_range(r.ts[i]) {
                    continue;
                }
                let Some(tg) = cache.get(&corr.targets, r.server.get(i), r.site.get(i)) else {
                    continue;
                };
                if tg.groups.is_empty() {
                    continue;
                }
                let tt = r.time_taken_ms.get(i);
                for &g in &tg.groups {
                    acc.all[g].add(tt);
                }
                let hashes = feature_hashes(&row_view(r, i), &needed);
                for k in KINDS {
                    let Some(hash) = hashes[k.index()] else {
                        continue;
                    };
                    for &g in &tg.groups {
                        acc.kinds[g][k.index()].add(tt);
                        if let Some(&ci) = candidates[g].get(&hash) {
                            acc.cands[g][ci].add(tt);
                        }
                    }
                }
            }
        },
        Baseline::merge,
    )
}
