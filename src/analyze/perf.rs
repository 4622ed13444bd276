//! What the counter logs say around an incident: machine CPU, context switches, the workers'
//! CPU, private bytes and threads (`notes/outages.md` §5.3–§5.5). The decisive counters are
//! known by their English names and the localized names PAL's `CounterLang.xml` lists.

use super::model::Category;
use crate::tables::{Counters, Millis};
use std::collections::HashMap;

/// What a counter is for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    /// `Processor(_Total)\% Processor Time`.
    CpuTotal,
    /// `Processor(<n>)\% Processor Time`: counts the cores.
    CpuCore,
    /// `System\Context Switches/sec`.
    ContextSwitches,
    /// `Process(w3wp*)\% Processor Time` (0 – cores × 100).
    WorkerCpu,
    /// `Process(w3wp*)\Private Bytes`.
    WorkerPrivate,
    /// `Process(w3wp*)\Thread Count`.
    WorkerThreads,
    /// `Process(w3wp*)\ID Process`: which pid a `w3wp#1` instance is at each sample.
    WorkerPid,
    /// `W3SVC_W3WP(<pid>_<pool>)\Active Requests`: requests executing in one worker.
    WorkerActive,
    /// `HTTP Service Request Queues(<pool>)\CurrentQueueSize`: requests HTTP.sys holds for a
    /// pool no worker takes.
    HttpQueue,
    /// `Active Server Pages\Requests Queued` (classic ASP's own queue).
    AspQueue,
    /// `ASP.NET\Requests Queued` (and its versioned twins).
    AspNetQueue,
    /// `Web Service(_Total)\Get Requests/sec`: the load.
    GetRequests,
}

fn one_of(v: &str, names: &[&str]) -> bool {
    names.iter().any(|n| v.eq_ignore_ascii_case(n))
}

const PROCESSOR: &[&str] = &["Processor", "Prozessor", "Processeur", "Procesador"];
const CPU_TIME: &[&str] = &[
    "% Processor Time",
    "Prozessorzeit (%)",
    "% temps processeur",
    "% de tiempo de procesador",
];
const SYSTEM: &[&str] = &["System", "Système", "Sistema"];
const SWITCHES: &[&str] = &[
    "Context Switches/sec",
    "Kontextwechsel/s",
    "Changements de contexte/s",
    "Cambios de contexto/s",
];
const PROCESS: &[&str] = &["Process", "Prozess", "Processus", "Proceso"];
const PRIVATE: &[&str] = &["Private Bytes", "Octets privés", "Bytes privados"];
const THREADS: &[&str] = &["Thread Count", "Threadanzahl", "Nombre de threads"];
const PID: &[&str] = &["ID Process", "Prozesskennung", "ID de processus"];

/// The roles of IIS's own objects (English names only: PAL lists no translation of them).
fn iis_role(object: &str, inst: &str, counter: &str) -> Option<Role> {
    let is = |o: &str, c: &str| object.eq_ignore_ascii_case(o) && counter.eq_ignore_ascii_case(c);
    if is("W3SVC_W3WP", "Active Requests") && pid_of_instance(inst).is_some() {
        Some(Role::WorkerActive)
    } else if is("HTTP Service Request Queues", "CurrentQueueSize") {
        Some(Role::HttpQueue)
    } else if is("Active Server Pages", "Requests Queued") {
        Some(Role::AspQueue)
    } else if object.to_ascii_lowercase().starts_with("asp.net")
        && !object.to_ascii_lowercase().contains("applications")
        && counter.eq_ignore_ascii_case("Requests Queued")
    {
        Some(Role::AspNetQueue)
    } else if is("Web Service", "Get Requests/sec") && inst.eq_ignore_ascii_case("_Total") {
        Some(Role::GetRequests)
    } else {
        None
    }
}

/// The pid of a `W3SVC_W3WP` / `WAS_W3WP` instance, named `<pid>_<pool>`.
fn pid_of_instance(inst: &str) -> Option<u32> {
    let (pid, pool) = inst.split_once('_')?;
    (!pool.is_empty()).then_some(())?;
    pid.parse().ok()
}

fn role(object: &str, instance: Option<&str>, counter: &str) -> Option<Role> {
    let inst = instance.unwrap_or("");
    if one_of(object, PROCESSOR) && one_of(counter, CPU_TIME) {
        return Some(if inst.eq_ignore_ascii_case("_Total") {
            Role::CpuTotal
        } else {
            Role::CpuCore
        });
    }
    if one_of(object, SYSTEM) && one_of(counter, SWITCHES) {
        return Some(Role::ContextSwitches);
    }
    let worker = inst.to_ascii_lowercase().starts_with("w3wp");
    if !(worker && one_of(object, PROCESS)) {
        return iis_role(object, inst, counter);
    }
    if one_of(counter, CPU_TIME) {
        Some(Role::WorkerCpu)
    } else if one_of(counter, PRIVATE) {
        Some(Role::WorkerPrivate)
    } else if one_of(counter, THREADS) {
        Some(Role::WorkerThreads)
    } else if one_of(counter, PID) {
        Some(Role::WorkerPid)
    } else {
        None
    }
}

/// One series the rules use: its instance and its samples in time order (time, value, index
/// into `Counters::samples`).
#[derive(Debug, Clone, Default)]
struct Track {
    instance: String,
    points: Vec<(Millis, f64, u32)>,
}

/// The counters of one server, by role.
#[derive(Debug, Default)]
struct Machine {
    /// The server as the counters name it (null: the path named none).
    name: Option<String>,
    tracks: HashMap<Role, Vec<Track>>,
    cores: usize,
}

/// The counters the rules read, per server (lower-cased name).
#[derive(Debug, Default)]
pub struct Perf {
    machines: HashMap<String, Machine>,
}

/// A run of saturated machine CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    /// The server, as the counters name it.
    pub server: Option<String>,
    /// First and last saturated sample.
    pub start: Millis,
    /// The last saturated sample.
    pub end: Millis,
    /// Mean CPU over the run, %.
    pub mean: f64,
    /// Samples in the run.
    pub samples: usize,
    /// Index of the first sample in `Counters::samples` (its file and offset are the evidence).
    pub first_sample: u32,
}

/// Averages over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Machine CPU, % (mean of `_Total`).
    pub cpu: Option<f64>,
    /// Context switches per second (mean).
    pub switches: Option<f64>,
    /// The incident's own worker instance (`w3wp_<pid>`, flagged true) or else the busiest,
    /// and its mean CPU as % of the machine.
    pub top_worker: Option<(String, f64, bool)>,
    /// The most threads any worker had.
    pub threads: Option<f64>,
    /// Samples of machine CPU in the window.
    pub samples: usize,
    /// Requests waiting, at their peak in the window: HTTP.sys's queue of the incident's pool,
    /// classic ASP's and ASP.NET's queues (what, peak), the largest first.
    pub queued: Vec<(String, f64)>,
    /// Requests executing in the incident's own worker at the peak (`W3SVC_W3WP(<pid>_<pool>)`).
    pub active: Option<(String, f64)>,
    /// GET requests per second per processor (mean).
    pub get_per_cpu: Option<f64>,
}

fn within(points: &[(Millis, f64, u32)], from: Millis, to: Millis) -> &[(Millis, f64, u32)] {
    let a = points.partition_point(|p| p.0 < from);
    let b = points.partition_point(|p| p.0 <= to);
    &points[a..b]
}

fn mean(points: &[(Millis, f64, u32)], from: Millis, to: Millis) -> Option<(f64, usize)> {
    let s = within(points, from, to);
    (!s.is_empty()).then(|| (s.iter().map(|p| p.1).sum::<f64>() / s.len() as f64, s.len()))
}

fn peak(points: &[(Millis, f64, u32)], from: Millis, to: Millis) -> Option<f64> {
    within(points, from, to)
        .iter()
        .map(|p| p.1)
        .max_by(f64::total_cmp)
}

impl Machine {
    fn tracks(&self, r: Role) -> impl Iterator<Item = &Track> {
        self.tracks.get(&r).into_iter().flatten()
    }

    /// The worker instance that is process `pid` over `[from, to]`: `w3wp_<pid>` under
    /// `ProcessNameFormat` 2, else the `w3wp#n` whose `ID Process` was `pid` in most of the
    /// window's samples (instance numbers move when workers come and go).
    fn own_instance(&self, pid: u32, from: Millis, to: Millis) -> Option<String> {
        let named = format!("w3wp_{pid}");
        if self
            .tracks(Role::WorkerCpu)
            .any(|t| t.instance.eq_ignore_ascii_case(&named))
        {
            return Some(named);
        }
        self.tracks(Role::WorkerPid)
            .filter_map(|t| {
                let s = within(&t.points, from, to);
                let hits = s.iter().filter(|p| p.1 == f64::from(pid)).count();
                (2 * hits > s.len()).then(|| (hits, t.instance.clone()))
            })
            .max()
            .map(|(_, i)| i)
    }

    /// Requests waiting at their peak: HTTP.sys's queue of `pool` (or of every pool when the
    /// incident names none), classic ASP's and ASP.NET's queues.
    fn queued(&self, pool: Option<&str>, from: Millis, to: Millis) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for t in self.tracks(Role::HttpQueue) {
            if pool.is_none_or(|p| t.instance.eq_ignore_ascii_case(p))
                && let Some(v) = peak(&t.points, from, to)
            {
                out.push((format!("HTTP.sys queue of {}", t.instance), v));
            }
        }
        for (role, what) in [
            (Role::AspQueue, "classic ASP's queue"),
            (Role::AspNetQueue, "ASP.NET's queue"),
        ] {
            if let Some(v) = self
                .tracks(role)
                .filter_map(|t| peak(&t.points, from, to))
                .max_by(f64::total_cmp)
            {
                out.push((what.to_string(), v));
            }
        }
        out.retain(|q| q.1 >= 1.0);
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

impl Perf {
    /// Reads the series the rules use out of the counters table.
    pub fn of(c: &Counters) -> Perf {
        let roles: Vec<Option<Role>> = c
            .series
            .iter()
            .map(|s| role(&s.object, s.instance.as_deref(), &s.counter))
            .collect();
        let mut tracks: HashMap<u32, Track> = HashMap::new();
        for v in &c.values {
            if roles[v.series as usize].is_none() {
                continue;
            }
            let t = tracks.entry(v.series).or_default();
            t.points
                .push((c.samples[v.sample as usize].ts, v.value, v.sample));
        }
        let mut perf = Perf::default();
        for (sid, mut t) in tracks {
            let s = &c.series[sid as usize];
            let role = roles[sid as usize].expect("kept only with a role");
            t.instance = s.instance.clone().unwrap_or_default();
            t.points.sort_by_key(|p| p.0);
            let key = s.server.as_deref().unwrap_or("").to_ascii_lowercase();
            let m = perf.machines.entry(key).or_default();
            m.name = m.name.take().or_else(|| s.server.clone());
            if role == Role::CpuCore {
                m.cores += 1;
            }
            m.tracks.entry(role).or_default().push(t);
        }
        for m in perf.machines.values_mut() {
            for v in m.tracks.values_mut() {
                v.sort_by(|a, b| a.instance.cmp(&b.instance));
            }
            // Without per-core series, a worker's CPU (0 – cores × 100) shows at least how
            // many cores there are.
            if m.cores == 0 {
                let max = m
                    .tracks
                    .get(&Role::WorkerCpu)
                    .into_iter()
                    .flatten()
                    .flat_map(|t| t.points.iter().map(|p| p.1))
                    .fold(0.0, f64::max);
                m.cores = (max / 100.0).ceil().clamp(1.0, 1024.0) as usize;
            }
        }
        perf
    }

    /// Machine CPU per chart bucket (`n` buckets of `step_ms` from `start`), the mean of every
    /// server's `_Total` samples in it; empty when no server logged it.
    pub fn cpu_buckets(&self, start: Millis, step_ms: Millis, n: usize) -> Vec<Option<f64>> {
        let mut sum = vec![(0.0, 0u32); n];
        let mut any = false;
        for m in self.machines.values() {
            for t in m.tracks.get(&Role::CpuTotal).into_iter().flatten() {
                for &(ts, v, _) in &t.points {
                    let i = (ts - start).div_euclid(step_ms.max(1));
                    if let Some(b) = usize::try_from(i).ok().and_then(|i| sum.get_mut(i)) {
                        *b = (b.0 + v, b.1 + 1);
                        any = true;
                    }
                }
            }
        }
        if !any {
            return Vec::new();
        }
        sum.into_iter()
            .map(|(s, c)| (c > 0).then(|| s / f64::from(c)))
            .collect()
    }

    /// The largest worker's Private Bytes per chart bucket, MB (the highest sample of any
    /// worker of any server in it); empty when no server logged it. A recycle shows as a fall.
    pub fn private_buckets(&self, start: Millis, step_ms: Millis, n: usize) -> Vec<Option<f64>> {
        let mut out: Vec<Option<f64>> = vec![None; n];
        let mut any = false;
        for m in self.machines.values() {
            for t in m.tracks(Role::WorkerPrivate) {
                for &(ts, v, _) in &t.points {
                    let i = (ts - start).div_euclid(step_ms.max(1));
                    if let Some(b) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
                        let mb = v / MB;
                        *b = Some(b.map_or(mb, |x: f64| x.max(mb)));
                        any = true;
                    }
                }
            }
        }
        if any { out } else { Vec::new() }
    }

    /// No counter the rules read.
    pub fn is_empty(&self) -> bool {
        self.machines.is_empty()
    }

    fn machine(&self, server: Option<&str>) -> Option<&Machine> {
        match server {
            Some(s) => self
                .machines
                .get(&s.to_ascii_lowercase())
                .or_else(|| self.machines.get("")),
            None if self.machines.len() == 1 => self.machines.values().next(),
            None => None,
        }
    }

    /// Means over `[from, to]` on `server`, for the incident's worker `pid` of `pool`.
    pub fn window(
        &self,
        server: Option<&str>,
        (pid, pool): (Option<u32>, Option<&str>),
        from: Millis,
        to: Millis,
    ) -> Option<Window> {
        let m = self.machine(server)?;
        let first = |r: Role| m.tracks.get(&r).and_then(|v| v.first());
        let cpu = first(Role::CpuTotal).and_then(|t| mean(&t.points, from, to));
        let switches = first(Role::ContextSwitches).and_then(|t| mean(&t.points, from, to));
        let cores = m.cores.max(1) as f64;
        let workers: Vec<(String, f64)> = m
            .tracks
            .get(&Role::WorkerCpu)
            .into_iter()
            .flatten()
            .filter_map(|t| mean(&t.points, from, to).map(|(v, _)| (t.instance.clone(), v / cores)))
            .collect();
        let own = pid.and_then(|p| m.own_instance(p, from, to));
        let top_worker = workers
            .iter()
            .find(|(i, _)| own.as_deref().is_some_and(|o| i.eq_ignore_ascii_case(o)))
            .map(|(i, v)| (i.clone(), *v, true))
            .or_else(|| {
                workers
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, v)| (i.clone(), *v, false))
            });
        let threads = m
            .tracks
            .get(&Role::WorkerThreads)
            .into_iter()
            .flatten()
            .filter_map(|t| mean(&t.points, from, to).map(|(v, _)| v))
            .max_by(f64::total_cmp);
        let active = pid.and_then(|p| {
            m.tracks(Role::WorkerActive)
                .filter(|t| pid_of_instance(&t.instance) == Some(p))
                .filter_map(|t| peak(&t.points, from, to).map(|v| (t.instance.clone(), v)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        });
        let get_per_cpu = first(Role::GetRequests)
            .and_then(|t| mean(&t.points, from, to))
            .map(|(v, _)| v / cores);
        Some(Window {
            cpu: cpu.map(|c| c.0),
            switches: switches.map(|s| s.0),
            top_worker,
            threads,
            samples: cpu.map_or(0, |c| c.1),
            queued: m.queued(pool, from, to),
            active,
            get_per_cpu,
        })
    }

    /// Runs of machine CPU at or above `pct` lasting at least `min_ms`, per server.
    pub fn saturated(&self, pct: f64, min_ms: Millis) -> Vec<Saturation> {
        let mut out = Vec::new();
        for m in self.machines.values() {
            let Some(t) = m.tracks.get(&Role::CpuTotal).and_then(|v| v.first()) else {
                continue;
            };
            let mut run: Option<Saturation> = None;
            let end = (Millis::MAX, 0.0, 0);
            for &(ts, v, sample) in t.points.iter().chain(std::iter::once(&end)) {
                if v >= pct {
                    let r = run.get_or_insert(Saturation {
                        server: m.name.clone(),
                        start: ts,
                        end: ts,
                        mean: 0.0,
                        samples: 0,
                        first_sample: sample,
                    });
                    (r.end, r.mean, r.samples) = (ts, r.mean + v, r.samples + 1);
                } else if let Some(mut r) = run.take()
                    && r.end - r.start >= min_ms
                {
                    r.mean /= r.samples as f64;
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| (a.start, &a.server).cmp(&(b.start, &b.server)));
        out
    }

    /// Every worker's Private Bytes climbs over `[from, to]`: from a recycle (a fall by a third
    /// and 100 MB at least: the instance is now a new worker) up to the peak before the next fall, with 4
    /// samples at least, in time order.
    pub fn climbs(&self, server: Option<&str>, from: Millis, to: Millis) -> Vec<Climb> {
        let Some(m) = self.machine(server) else {
            return Vec::new();
        };
        let mut out: Vec<Climb> = m
            .tracks(Role::WorkerPrivate)
            .flat_map(|t| {
                let s = within(&t.points, from, to);
                let cuts: Vec<usize> = (1..s.len())
                    .filter(|&i| s[i].1 < 0.67 * s[i - 1].1 && s[i - 1].1 - s[i].1 >= 100.0 * MB)
                    .collect();
                let bounds: Vec<(usize, usize)> = std::iter::once(0)
                    .chain(cuts.iter().copied())
                    .zip(cuts.iter().copied().chain(std::iter::once(s.len())))
                    .collect();
                bounds
                    .into_iter()
                    .filter_map(|(a, b)| climb(&t.instance, &s[a..b], b < s.len()))
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort_by(|a, b| (a.start, &a.instance).cmp(&(b.start, &b.instance)));
        out
    }

    /// The fastest-growing worker's last climb of Private Bytes over `[from, to]`.
    pub fn growth(&self, server: Option<&str>, from: Millis, to: Millis) -> Option<Climb> {
        let climbs = self.climbs(server, from, to);
        let mut last: HashMap<&str, &Climb> = HashMap::new();
        for c in &climbs {
            last.insert(&c.instance, c);
        }
        last.into_values()
            .max_by(|a, b| {
                a.rate
                    .total_cmp(&b.rate)
                    .then_with(|| b.instance.cmp(&a.instance))
            })
            .cloned()
    }
}

const MB: f64 = 1_048_576.0;

/// A worker's Private Bytes rising, from its first sample to its peak.
#[derive(Debug, Clone, PartialEq)]
pub struct Climb {
    /// The counter instance (`w3wp`, `w3wp#1`, `w3wp_<pid>`).
    pub instance: String,
    /// The first sample.
    pub start: Millis,
    /// The peak sample.
    pub peak_at: Millis,
    /// MB per hour, by least squares up to the peak.
    pub rate: f64,
    /// MB at the first sample.
    pub from_mb: f64,
    /// MB at the peak.
    pub peak_mb: f64,
    /// A fall followed it: the worker was replaced.
    pub fell: bool,
}

/// The climb of one segment of samples up to its peak; `None` under 4 samples or flat.
fn climb(instance: &str, s: &[(Millis, f64, u32)], fell: bool) -> Option<Climb> {
    let peak = s
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.1.total_cmp(&y.1.1))
        .map(|(i, _)| i)?;
    let s = &s[..=peak];
    if s.len() < 4 {
        return None;
    }
    let n = s.len() as f64;
    let x0 = s[0].0 as f64;
    let (mx, my) = s.iter().fold((0.0, 0.0), |(x, y), p| {
        (x + (p.0 as f64 - x0) / n, y + p.1 / n)
    });
    let (sxy, sxx) = s.iter().fold((0.0, 0.0), |(a, b), p| {
        let dx = p.0 as f64 - x0 - mx;
        (a + dx * (p.1 - my), b + dx * dx)
    });
    (sxx > 0.0).then(|| Climb {
        instance: instance.to_string(),
        start: s[0].0,
        peak_at: s[s.len() - 1].0,
        rate: sxy / sxx * 3_600_000.0 / MB,
        from_mb: s[0].1 / MB,
        peak_mb: s[s.len() - 1].1 / MB,
        fell,
    })
}

/// The classic rules (`notes/outages.md` §5.5): CPU near saturation with few context switches is
/// a runaway thread, with many (above ~10,000/s) a thread storm; low CPU while requests wait is
/// thread locking. `None` when the counters do not decide (CPU between, or not logged).
pub fn decide(w: &Window) -> Option<(Category, Vec<String>)> {
    let cpu = w.cpu?;
    let worker = w.top_worker.as_ref().map_or(String::new(), |(i, v, own)| {
        let who = if *own {
            "the worker itself"
        } else {
            "busiest worker"
        };
        format!("; {who} {i} at {v:.0} % of the machine")
    });
    if cpu >= 80.0 {
        let s = w.switches?;
        let cat = if s >= 10_000.0 {
            Category::HighThreadCount
        } else {
            Category::RunawayThread
        };
        let why = if s >= 10_000.0 {
            "many threads fighting over the processors"
        } else {
            "one or a few threads looping"
        };
        let threads = w.threads.map_or(String::new(), |t| {
            format!("; up to {t:.0} threads in a worker")
        });
        let mut why = vec![format!(
            "CPU {cpu:.0} % with {s:.0} context switches/s over {} samples: {why}{worker}{threads}",
            w.samples
        )];
        why.extend(waiting(w));
        return Some((cat, why));
    }
    (cpu < 40.0).then(|| {
        let mut why = vec![format!(
            "CPU only {cpu:.0} % over {} samples while requests waited: they were blocked, not busy{worker}",
            w.samples
        )];
        why.extend(waiting(w));
        (Category::ThreadLocking, why)
    })
}

/// What the queue and load counters add: requests waiting and executing, and how little load
/// each processor had (`notes/outages.md` §5.5: few GET requests per processor at low CPU).
fn waiting(w: &Window) -> Option<String> {
    let mut parts: Vec<String> = w
        .queued
        .iter()
        .map(|(what, n)| format!("{n:.0} requests waiting in {what}"))
        .collect();
    if let Some((inst, n)) = &w.active {
        parts.push(format!("{n:.0} executing in worker {inst}"));
    }
    if let Some(g) = w.get_per_cpu {
        parts.push(format!("{g:.1} GET requests/s per processor"));
    }
    (!parts.is_empty()).then(|| format!("at the peak: {}", parts.join("; ")))
}
