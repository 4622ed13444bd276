//! Error bursts and overload: a site's errors rising far above its own baseline.
//!
//! Rules (also in `docs/report-schema.md`):
//! - Series, per server and site: W3C 5xx by minute against all requests by minute; and per
//!   code (`status.substatus.win32`) for 5xx, 401 and 403. Per server and queue: HTTPERR rows
//!   that refuse or time out requests for capacity (`QueueFull`, `ConnLimit`, `Timer_AppPool`,
//!   `AppPoolTimer`) by minute.
//! - A candidate window is a run of minutes with at least [`MIN_PER_MINUTE`] errors each and at
//!   least [`MIN_LIFT`] times the series' rate over the whole input; up to two quiet minutes
//!   inside are bridged.
//! - Each window is tested against the rate outside it (smoothed like the pattern tests): W3C
//!   series with an exact binomial test of its errors among its requests, HTTPERR series (no
//!   denominator) with a Poisson test per minute. Bonferroni over every window tested. A burst
//!   needs `p_adjusted` below [`ALPHA`], at least [`MIN_ERRORS`] errors and a lift of
//!   [`MIN_LIFT`]. When the input holds less traffic outside the window than in it, the
//!   baseline is thin: the window then needs half its requests to fail.
//! - A code's own burst is kept only where no 5xx burst of the same site covers it (that one
//!   names it as its dominant code). A 401/403 storm needs [`MIN_CLIENTS`] distinct clients: one
//!   client is a password guesser, not a configuration.

use super::AnalyzeOptions;
use super::stats;
use super::timeline::{ReasonClasses, norm};
use crate::knowledge::httperr_reasons::ReasonClass;
use crate::tables::{CatCol, Millis, Requests, Tables};
use std::collections::{BTreeMap, HashMap, HashSet};

const MINUTE: i64 = 60_000;
/// Errors a minute needs to start or extend a window.
pub const MIN_PER_MINUTE: u64 = 3;
/// Errors a burst needs in all.
pub const MIN_ERRORS: u64 = 10;
/// How many times its usual rate a burst's rate must be.
pub const MIN_LIFT: f64 = 5.0;
/// Family-wise error rate over every window tested.
pub const ALPHA: f64 = 1e-3;
/// Distinct clients a 401/403 storm needs.
pub const MIN_CLIENTS: usize = 5;
/// Quiet minutes bridged inside a window.
const GAP_MINUTES: i64 = 3;
/// Rows kept as evidence per burst.
const EVIDENCE_ROWS: usize = 10;
/// URLs and codes listed per burst.
const TOP: usize = 5;

/// A W3C status as logged: `status.substatus.win32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    /// HTTP status.
    pub status: u16,
    /// IIS substatus (0 when not logged).
    pub substatus: u32,
    /// Win32 status (0 when not logged).
    pub win32: u64,
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.status, self.substatus, self.win32)
    }
}

impl Code {
    /// Refusals for capacity: the concurrent-request limit (503.2), the ASP.NET and FastCGI
    /// queues (503.3, 503.4), ASP's "server too busy" (500.13).
    pub fn is_capacity(self) -> bool {
        matches!((self.status, self.substatus), (503, 2..=4) | (500, 13))
    }
    fn tracked(self) -> bool {
        self.status >= 500 || self.status == 401 || self.status == 403
    }
}

/// What a burst is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    /// All 5xx of a site.
    W3c5xx,
    /// One W3C code of a site.
    W3cCode(Code),
    /// HTTPERR capacity refusals of a queue.
    Httperr,
}

/// One burst: its window, its test and its evidence.
#[derive(Debug, Clone)]
pub struct Burst {
    /// What was counted.
    pub series: Series,
    /// The server.
    pub server: Option<String>,
    /// The site (W3C) or the queue, i.e. the app pool (HTTPERR).
    pub site: Option<String>,
    /// First and last error of the window.
    pub start: Millis,
    /// The last error.
    pub end: Millis,
    /// Errors in the window.
    pub errors: u64,
    /// Requests in the window (W3C only).
    pub requests: Option<u64>,
    /// The rate tested against (per request, or per minute for HTTPERR).
    pub baseline_rate: f64,
    /// The window's rate over `baseline_rate`.
    pub lift: f64,
    /// Exact one-sided test.
    pub p_value: f64,
    /// Bonferroni over `tests`.
    pub p_adjusted: f64,
    /// Windows tested in all.
    pub tests: usize,
    /// True when there was less traffic outside the window than in it.
    pub thin_baseline: bool,
    /// Codes (W3C) or reasons (HTTPERR) in the window, most first.
    pub codes: Vec<(String, u64)>,
    /// The dominant W3C code.
    pub dominant: Option<Code>,
    /// Stems (W3C) or URLs (HTTPERR) most hit, most first.
    pub urls: Vec<(String, u64)>,
    /// Classic ASP error codes the errors' queries carry (`ASP_0115`, `800a01a8`), most first.
    pub asp_errors: Vec<(String, u64)>,
    /// Distinct client addresses among the errors.
    pub clients: usize,
    /// The first error rows (indices into `requests` or `httperr`).
    pub rows: Vec<usize>,
}

impl Burst {
    /// Refusals for capacity rather than failures.
    pub fn is_overload(&self) -> bool {
        self.series == Series::Httperr || self.dominant.is_some_and(Code::is_capacity)
    }
}

/// Per-minute counts of one group (server, site): `[requests, 5xx]` and per tracked code.
#[derive(Default)]
struct Counts {
    all: HashMap<i64, [u64; 2]>,
    codes: HashMap<Code, HashMap<i64, u64>>,
}

impl Counts {
    /// Each series of the group and its errors per minute: all 5xx, then each tracked code.
    fn each_series(&self, mut f: impl FnMut(Series, &HashMap<i64, u64>)) {
        let fives: HashMap<i64, u64> = self.all.iter().map(|(&m, v)| (m, v[1])).collect();
        f(Series::W3c5xx, &fives);
        let mut codes: Vec<(&Code, &HashMap<i64, u64>)> =
            self.codes.iter().filter(|(k, _)| k.tracked()).collect();
        codes.sort_by_key(|(k, _)| **k);
        for (k, v) in codes {
            f(Series::W3cCode(*k), v);
        }
    }

    fn merge(&mut self, o: Counts) {
        for (m, v) in o.all {
            let c = self.all.entry(m).or_default();
            c[0] += v[0];
            c[1] += v[1];
        }
        for (code, mins) in o.codes {
            let c = self.codes.entry(code).or_default();
            for (m, v) in mins {
                *c.entry(m).or_default() += v;
            }
        }
    }
}

type Group = (u32, u32);

fn code_of(r: &Requests, i: usize) -> Option<Code> {
    Some(Code {
        status: r.status.get(i)?,
        substatus: r.substatus.get(i).unwrap_or(0),
        win32: r.win32_status.get(i).unwrap_or(0),
    })
}

/// The per-minute counts of every W3C row, per (server, site) by name: a fold over the rows
/// (see `analyze::rows`), merged exactly.
#[derive(Default)]
pub struct BurstCounts(HashMap<(Option<String>, Option<String>), Counts>);

impl BurstCounts {
    /// Adds rows `range` of `r`.
    pub fn add(&mut self, r: &Requests, range: std::ops::Range<usize>, opts: &AnalyzeOptions) {
        for (g, c) in counts_of(r, range, opts) {
            let name = (cat_name(&r.server, g.0), cat_name(&r.site, g.1));
            self.0.entry(name).or_default().merge(c);
        }
    }
    /// Another part's counts added.
    pub fn merge(mut self, o: BurstCounts) -> BurstCounts {
        for (g, c) in o.0 {
            self.0.entry(g).or_default().merge(c);
        }
        self
    }
    /// The counts keyed by the codes of `r` (the rows kept around the incidents hold every
    /// group that has a window: see `analyze::rows::gather`).
    fn by_codes<'a>(&'a self, r: &Requests) -> HashMap<Group, &'a Counts> {
        self.0
            .iter()
            .filter_map(|((s, x), c)| Some(((code_in(&r.server, s)?, code_in(&r.site, x)?), c)))
            .collect()
    }
    /// Every W3C window of every group, untested: the spans of rows the bursts are made of.
    pub fn spans(&self) -> Vec<(Millis, Millis)> {
        let mut out = Vec::new();
        for c in self.0.values() {
            c.each_series(|_, errors| {
                let w = windows(errors, &c.all);
                out.extend(w.into_iter().map(|(a, b)| (a * MINUTE, (b + 1) * MINUTE)));
            });
        }
        out
    }
}

/// The code of `name` in `col` (`None`: not there).
fn code_in(col: &CatCol, name: &Option<String>) -> Option<u32> {
    match name {
        None => Some(CatCol::NULL),
        Some(n) => col
            .categories()
            .iter()
            .position(|c| c == n)
            .map(|p| p as u32),
    }
}

/// Rows `range` of `r`, counted per group of codes and minute.
fn counts_of(
    r: &Requests,
    range: std::ops::Range<usize>,
    opts: &AnalyzeOptions,
) -> HashMap<Group, Counts> {
    let mut out: HashMap<Group, Counts> = HashMap::new();
    // Logs are in time order: one lookup per run of rows of one group and minute.
    let mut run: Option<(Group, i64, [u64; 2])> = None;
    for i in range {
        let ts = r.ts[i];
        if !opts.in_range(ts) {
            continue;
        }
        let g = (r.server.code(i), r.site.code(i));
        let m = ts.div_euclid(MINUTE);
        if run.is_some_and(|(rg, rm, _)| rg != g || rm != m)
            && let Some((rg, rm, v)) = run.take()
        {
            add_all(&mut out, rg, rm, v);
        }
        let c = &mut run.get_or_insert((g, m, [0; 2])).2;
        c[0] += 1;
        let Some(status) = r.status.get(i) else {
            continue;
        };
        if status >= 500 {
            c[1] += 1;
        }
        if status >= 500 || status == 401 || status == 403 {
            let code = code_of(r, i).expect("status present");
            *out.entry(g)
                .or_default()
                .codes
                .entry(code)
                .or_default()
                .entry(m)
                .or_default() += 1;
        }
    }
    if let Some((rg, rm, v)) = run {
        add_all(&mut out, rg, rm, v);
    }
    out
}

fn add_all(out: &mut HashMap<Group, Counts>, g: Group, m: i64, v: [u64; 2]) {
    let c = out.entry(g).or_default().all.entry(m).or_default();
    c[0] += v[0];
    c[1] += v[1];
}

/// A window before it is tested: minutes `[first, last]` of one series.
struct Window {
    group: Group,
    series: Series,
    first: i64,
    last: i64,
    errors: u64,
    requests: u64,
    rate: f64,
    thin: bool,
    test: stats::Test,
}

/// Runs of minutes far above the series' own rate.
fn windows(errors: &HashMap<i64, u64>, requests: &HashMap<i64, [u64; 2]>) -> Vec<(i64, i64)> {
    let total_e: u64 = errors.values().sum();
    let total_n: u64 = requests.values().map(|v| v[0]).sum();
    if total_e < MIN_ERRORS || total_n == 0 {
        return Vec::new();
    }
    let day_rate = total_e as f64 / total_n as f64;
    let mut hot: Vec<i64> = errors
        .iter()
        .filter(|&(m, &e)| {
            let n = requests.get(m).map_or(0, |v| v[0]);
            e >= MIN_PER_MINUTE && e as f64 >= MIN_LIFT * day_rate * n as f64
        })
        .map(|(&m, _)| m)
        .collect();
    hot.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for m in hot {
        match out.last_mut() {
            Some((_, last)) if m - *last <= GAP_MINUTES => *last = m,
            _ => out.push((m, m)),
        }
    }
    out
}

/// Tests one W3C window against the rest of its series.
fn test_w3c(
    errors: &HashMap<i64, u64>,
    requests: &HashMap<i64, [u64; 2]>,
    (first, last): (i64, i64),
) -> (u64, u64, f64, bool, stats::Test) {
    let in_w = |m: &i64| (first..=last).contains(m);
    let k: u64 = errors.iter().filter(|(m, _)| in_w(m)).map(|(_, v)| v).sum();
    let n: u64 = requests
        .iter()
        .filter(|(m, _)| in_w(m))
        .map(|(_, v)| v[0])
        .sum();
    let big_k: u64 = errors.values().sum();
    let big_n: u64 = requests.values().map(|v| v[0]).sum();
    let (ok, on) = (big_k - k, big_n.saturating_sub(n));
    let rate = (ok as f64 + 0.5) / (on as f64 + 1.0);
    (k, n, rate, on < n, stats::test_rate(k, n.max(k), rate, 1))
}

/// Every W3C window of every series of every group, tested (Bonferroni applied later).
fn w3c_windows(counts: &HashMap<Group, &Counts>) -> Vec<Window> {
    let mut out = Vec::new();
    for (&group, c) in counts {
        c.each_series(|s, errors| {
            for w in windows(errors, &c.all) {
                let (k, n, rate, thin, test) = test_w3c(errors, &c.all, w);
                out.push(Window {
                    group,
                    series: s.clone(),
                    first: w.0,
                    last: w.1,
                    errors: k,
                    requests: n,
                    rate,
                    thin,
                    test,
                });
            }
        });
    }
    out.sort_by_key(|w| (w.group, w.first, w.last, format!("{:?}", w.series)));
    out
}

fn passes(w: &Window, tests: usize) -> bool {
    let p_adj = (w.test.p_value * tests as f64).min(1.0);
    let strong = p_adj < ALPHA && w.errors >= MIN_ERRORS && w.test.lift >= MIN_LIFT;
    // Without a baseline to speak of, only a window where most requests failed is a burst.
    strong && (!w.thin || (w.errors >= 2 * MIN_ERRORS && 2 * w.errors >= w.requests))
}

/// Error bursts and overload windows of the input, in time order.
pub fn find(t: &Tables, opts: &AnalyzeOptions, counts: &BurstCounts) -> Vec<Burst> {
    let mut wins = w3c_windows(&counts.by_codes(&t.requests));
    let (h_wins, h_rows) = httperr_windows(t, opts);
    let tests = (wins.len() + h_wins.len()).max(1);
    wins.retain(|w| passes(w, tests));
    // A code's own window only where no 5xx window of its site covers it.
    let fives: Vec<(Group, i64, i64)> = wins
        .iter()
        .filter(|w| w.series == Series::W3c5xx)
        .map(|w| (w.group, w.first, w.last))
        .collect();
    wins.retain(|w| {
        w.series == Series::W3c5xx
            || !fives
                .iter()
                .any(|&(g, a, b)| g == w.group && a <= w.last && w.first <= b)
    });
    let mut bursts: Vec<Burst> = w3c_bursts(t, opts, &wins, tests);
    bursts.extend(
        h_wins
            .into_iter()
            .filter(|w| passes(w, tests))
            .map(|w| httperr_burst(t, &w, &h_rows, tests)),
    );
    // At equal starts the W3C view first: it names the code.
    let key = |b: &Burst| {
        (
            b.start,
            b.server.clone(),
            b.series == Series::Httperr,
            b.site.clone(),
        )
    };
    bursts.sort_by_cached_key(key);
    bursts
}

fn cat_name(col: &crate::tables::CatCol, code: u32) -> Option<String> {
    col.categories().get(code as usize).cloned()
}

/// The most counted values, most first (ties by value), owned.
fn top(m: HashMap<&str, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(&str, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter()
        .take(TOP)
        .map(|(k, n)| (k.to_owned(), n))
        .collect()
}

/// Distinct clients counted per burst, at most (memory stays bounded on hostile input).
const MAX_CLIENTS: usize = 100_000;

/// What one W3C window's error rows add up to.
struct Acc<'a> {
    codes: BTreeMap<Code, u64>,
    urls: HashMap<&'a str, u64>,
    asp: HashMap<&'a str, u64>,
    clients: HashSet<&'a str>,
    start: Millis,
    end: Millis,
    rows: Vec<usize>,
}

impl<'a> Acc<'a> {
    fn new() -> Self {
        Acc {
            codes: BTreeMap::new(),
            urls: HashMap::new(),
            asp: HashMap::new(),
            clients: HashSet::new(),
            start: Millis::MAX,
            end: Millis::MIN,
            rows: Vec::new(),
        }
    }
    fn add(&mut self, t: &'a Tables, i: usize, code: Code) {
        let r = &t.requests;
        let ts = r.ts[i];
        *self.codes.entry(code).or_default() += 1;
        *self
            .urls
            .entry(r.uri_stem.get(i).unwrap_or("-"))
            .or_default() += 1;
        if let Some(code) = r
            .uri_query
            .get(i)
            .and_then(crate::knowledge::asp::error_code)
        {
            *self.asp.entry(code).or_default() += 1;
        }
        if let Some(c) = r.c_ip.get(i)
            && self.clients.len() < MAX_CLIENTS
        {
            self.clients.insert(c);
        }
        (self.start, self.end) = (self.start.min(ts), self.end.max(ts));
        if self.rows.len() < EVIDENCE_ROWS {
            self.rows.push(i);
        }
    }
}

fn hit(w: &Window, code: Code) -> bool {
    match &w.series {
        Series::W3cCode(c) => code == *c,
        _ => code.status >= 500,
    }
}

/// The evidence of every W3C window in one pass over the rows: their error rows' times,
/// codes, stems and clients. A 401/403 storm from too few clients is dropped.
fn w3c_bursts(t: &Tables, opts: &AnalyzeOptions, wins: &[Window], tests: usize) -> Vec<Burst> {
    let r = &t.requests;
    let mut by_group: HashMap<Group, Vec<usize>> = HashMap::new();
    for (k, w) in wins.iter().enumerate() {
        by_group.entry(w.group).or_default().push(k);
    }
    let span = |w: &Window| (w.first * MINUTE, (w.last + 1) * MINUTE);
    let lo = wins.iter().map(|w| span(w).0).min().unwrap_or(0);
    let hi = wins.iter().map(|w| span(w).1).max().unwrap_or(0);
    let mut acc: Vec<Acc> = wins.iter().map(|_| Acc::new()).collect();
    for i in 0..r.len() {
        let ts = r.ts[i];
        if ts < lo || ts >= hi || !opts.in_range(ts) {
            continue;
        }
        let Some(list) = by_group.get(&(r.server.code(i), r.site.code(i))) else {
            continue;
        };
        let Some(code) = code_of(r, i).filter(|c| c.tracked()) else {
            continue;
        };
        for &k in list {
            let (a, b) = span(&wins[k]);
            if ts >= a && ts < b && hit(&wins[k], code) {
                acc[k].add(t, i, code);
            }
        }
    }
    wins.iter()
        .zip(acc)
        .filter_map(|(w, a)| w3c_burst(t, w, a, tests))
        .collect()
}

fn w3c_burst(t: &Tables, w: &Window, a: Acc<'_>, tests: usize) -> Option<Burst> {
    let r = &t.requests;
    let storm = matches!(&w.series, Series::W3cCode(c) if c.status < 500);
    if a.start > a.end || (storm && a.clients.len() < MIN_CLIENTS) {
        return None;
    }
    let dominant = a
        .codes
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .map(|(c, _)| *c);
    let mut code_list: Vec<(String, u64)> =
        a.codes.iter().map(|(c, n)| (c.to_string(), *n)).collect();
    code_list.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    code_list.truncate(TOP);
    Some(Burst {
        series: w.series.clone(),
        server: cat_name(&r.server, w.group.0),
        site: cat_name(&r.site, w.group.1),
        start: a.start,
        end: a.end,
        errors: w.errors,
        requests: Some(w.requests),
        baseline_rate: w.rate,
        lift: w.test.lift,
        p_value: w.test.p_value,
        p_adjusted: (w.test.p_value * tests as f64).min(1.0),
        tests,
        thin_baseline: w.thin,
        codes: code_list,
        dominant,
        urls: top(a.urls),
        asp_errors: top(a.asp),
        clients: a.clients.len(),
        rows: a.rows,
    })
}

/// HTTPERR capacity rows (`QueueFull`, `ConnLimit`, `Timer_AppPool` …) of each server and queue,
/// by minute; windows tested per minute against the rate outside them (Poisson).
fn httperr_windows(t: &Tables, opts: &AnalyzeOptions) -> (Vec<Window>, Vec<usize>) {
    let h = &t.httperr;
    let mut classes = ReasonClasses::default();
    let mut rows = Vec::new();
    let mut by_group: HashMap<Group, HashMap<i64, u64>> = HashMap::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for i in 0..h.len() {
        let ts = h.ts[i];
        if !opts.in_range(ts) {
            continue;
        }
        (first, last) = (first.min(ts), last.max(ts));
        let Some(reason) = h.reason.get(i) else {
            continue;
        };
        if !matches!(
            classes.of(reason),
            ReasonClass::Capacity | ReasonClass::Hang
        ) {
            continue;
        }
        rows.push(i);
        let g = (h.server.code(i), h.queue.code(i));
        *by_group
            .entry(g)
            .or_default()
            .entry(ts.div_euclid(MINUTE))
            .or_default() += 1;
    }
    let span_min = if first <= last {
        (last - first) / MINUTE + 1
    } else {
        0
    };
    let mut out = Vec::new();
    for (g, mins) in by_group {
        // Each minute of the input counts as one "request" of the per-minute rate.
        let per_min: HashMap<i64, [u64; 2]> = (first.div_euclid(MINUTE)..=last.div_euclid(MINUTE))
            .map(|m| (m, [1, 0]))
            .collect();
        for (a, b) in windows(&mins, &per_min) {
            let k: u64 = mins
                .iter()
                .filter(|(m, _)| (a..=b).contains(*m))
                .map(|(_, v)| v)
                .sum();
            let len = (b - a + 1) as u64;
            let outside = (span_min as u64).saturating_sub(len);
            let rate = ((mins.values().sum::<u64>() - k) as f64 + 0.5) / (outside as f64 + 1.0);
            let p = stats::poisson_sf(k, rate * len as f64);
            out.push(Window {
                group: g,
                series: Series::Httperr,
                first: a,
                last: b,
                errors: k,
                requests: len,
                rate,
                thin: outside < len,
                test: stats::Test {
                    lift: k as f64 / (rate * len as f64),
                    p_value: p,
                    p_adjusted: p,
                    baseline_rate: rate,
                },
            });
        }
    }
    out.sort_by_key(|w| (w.group, w.first));
    // By worker queue, then time: each window's rows are then one binary-searched range.
    let h = &t.httperr;
    rows.sort_by_key(|&i| (h.server.code(i), h.queue.code(i), h.ts[i], i));
    (out, rows)
}

fn httperr_burst(t: &Tables, w: &Window, rows: &[usize], tests: usize) -> Burst {
    let h = &t.httperr;
    let (lo, hi) = (w.first * MINUTE, (w.last + 1) * MINUTE);
    let mut reasons: HashMap<&str, u64> = HashMap::new();
    let mut urls: HashMap<&str, u64> = HashMap::new();
    let mut clients: HashSet<&str> = HashSet::new();
    let (mut start, mut end) = (i64::MAX, i64::MIN);
    let mut ev = Vec::new();
    let key = |i: usize| (h.server.code(i), h.queue.code(i), h.ts[i]);
    let (g0, g1) = w.group;
    let a = rows.partition_point(|&i| key(i) < (g0, g1, lo));
    let b = rows.partition_point(|&i| key(i) < (g0, g1, hi));
    for &i in &rows[a..b] {
        let ts = h.ts[i];
        *reasons.entry(h.reason.get(i).unwrap_or("-")).or_default() += 1;
        *urls.entry(h.uri.get(i).unwrap_or("-")).or_default() += 1;
        if let Some(c) = h.c_ip.get(i)
            && clients.len() < MAX_CLIENTS
        {
            clients.insert(c);
        }
        (start, end) = (start.min(ts), end.max(ts));
        if ev.len() < EVIDENCE_ROWS {
            ev.push(i);
        }
    }
    Burst {
        series: Series::Httperr,
        server: cat_name(&h.server, w.group.0),
        site: cat_name(&h.queue, w.group.1).filter(|q| norm(Some(q)).is_some()),
        start: start.min(end),
        end,
        errors: w.errors,
        requests: None,
        baseline_rate: w.rate,
        lift: w.test.lift,
        p_value: w.test.p_value,
        p_adjusted: (w.test.p_value * tests as f64).min(1.0),
        tests,
        thin_baseline: w.thin,
        codes: top(reasons),
        dominant: None,
        urls: top(urls),
        asp_errors: Vec::new(),
        clients: clients.len(),
        rows: ev,
    }
}
