//! Incidents that are not crashes (error bursts, overload windows, CPU runs) and the final
//! numbering of all incidents. Their categories are in `category`, FREB traces in `traces`.

use super::*;
use crate::analyze::bursts::{Burst, Series};
use crate::analyze::model::{BurstFacts, CategoryFinding, Counted};
use crate::analyze::perf::{Perf, Saturation};
use crate::analyze::{TimeSource, timeline};
use crate::tables::Millis;

/// Errors within this much of a crash, hang or recycle are its symptoms.
const SYMPTOM_MS: Millis = 2 * 60_000;
/// ... and up to this long after it (the pool restarting).
const AFTERMATH_MS: Millis = 5 * 60_000;

/// The incident (index) a burst is a symptom of: same server, and its window overlaps the
/// incident's moment (or its rapid-fail episode).
fn symptom_of(b: &Burst, incidents: &[Incident], rapid: &[RapidFail]) -> Option<usize> {
    incidents.iter().position(|inc| {
        let Some(Ts(t0)) = inc.time else { return false };
        if !timeline::server_ok(inc.server.as_deref(), b.server.as_deref()) {
            return false;
        }
        let episode_end = inc
            .rapid_fail
            .as_ref()
            .and_then(|r| rapid.iter().find(|e| &e.id == r))
            .map(|e| e.end.map_or(Millis::MAX, |Ts(e)| e));
        let t1 = episode_end.unwrap_or(t0).max(t0 + AFTERMATH_MS);
        b.start <= t1 && b.end >= t0 - SYMPTOM_MS
    })
}

fn series_name(s: &Series) -> String {
    match s {
        Series::W3c5xx => "5xx".into(),
        Series::W3cCode(c) => c.to_string(),
        Series::Httperr => "httperr".into(),
    }
}

fn counted(v: &[(String, u64)], max: usize) -> Vec<Counted> {
    v.iter()
        .map(|(value, count)| Counted {
            value: cut(value, max),
            count: *count,
        })
        .collect()
}

fn burst_facts(b: &Burst) -> BurstFacts {
    BurstFacts {
        series: series_name(&b.series),
        site: b.site.as_deref().map(|s| cut(s, 256)),
        end: Ts(b.end),
        duration_s: (b.end - b.start) / 1000,
        errors: b.errors,
        requests: b.requests,
        baseline_rate: b.baseline_rate,
        lift: b.lift,
        p_value: b.p_value,
        p_adjusted: b.p_adjusted,
        tests: b.tests,
        thin_baseline: b.thin_baseline,
        dominant: b
            .dominant
            .map(|c| c.to_string())
            .or_else(|| b.codes.first().map(|c| cut(&c.0, 100))),
        codes: counted(&b.codes, 100),
        urls: counted(&b.urls, 300),
        asp_errors: counted(&b.asp_errors, 100),
        clients: b.clients,
    }
}

/// An incident of kind `error_burst` or `overload` from a burst (its id is set by [`renumber`]).
fn burst_incident(t: &Tables, opts: &AnalyzeOptions, b: &Burst) -> Incident {
    let httperr = b.series == Series::Httperr;
    let evidence: Vec<EvidenceRef> = b
        .rows
        .iter()
        .map(|&i| {
            req_evidence(&if httperr {
                httperr_ref(t, i)
            } else {
                w3c_ref(t, i)
            })
        })
        .collect();
    let kind = if b.is_overload() {
        IncidentKind::Overload
    } else {
        IncidentKind::ErrorBurst
    };
    let (time_source, tag) = if httperr {
        (TimeSource::Httperr, SourceTag::Httperr)
    } else {
        (TimeSource::W3c, SourceTag::W3c)
    };
    let mut inc = span_incident(
        kind,
        b.server.clone(),
        (b.start, b.end),
        opts,
        (time_source, tag),
        evidence,
    );
    if httperr {
        inc.app_pool = b.site.clone();
    } else {
        inc.sites = b.site.iter().map(|s| s.to_ascii_uppercase()).collect();
    }
    if b.thin_baseline {
        inc.notes.push("the logs hold less traffic outside this window than inside it: the usual rate is known poorly".into());
    }
    inc.burst = Some(burst_facts(b));
    inc
}

/// An incident known by its span and its evidence rows only (a burst, a CPU run): no worker,
/// no exception, no requests listed; its id is set by [`renumber`].
fn span_incident(
    kind: IncidentKind,
    server: Option<String>,
    (start, end): (Millis, Millis),
    opts: &AnalyzeOptions,
    (time_source, tag): (TimeSource, SourceTag),
    evidence: Vec<EvidenceRef>,
) -> Incident {
    Incident {
        id: String::new(),
        kind,
        server,
        app_pool: None,
        sites: Vec::new(),
        pid: None,
        time: Some(Ts(start)),
        end: Some(Ts(end)),
        time_local: opts.local(start),
        time_source,
        sources: vec![tag],
        evidence,
        exception_code: None,
        exception_name: None,
        managed_exception: None,
        faulting_module: None,
        faulting_module_version: None,
        suspect_module: None,
        suspect_class: None,
        bucket: None,
        verdict: None,
        confidence: None,
        exit_code: None,
        detail: None,
        category: CategoryFinding::default(),
        burst: None,
        in_flight: Vec::new(),
        in_flight_total: 0,
        recent: Vec::new(),
        suspects: Vec::new(),
        rapid_fail: None,
        notes: Vec::new(),
    }
}

/// Adds the bursts that are not symptoms of another incident as incidents; a symptom becomes a
/// note on its incident.
pub(super) fn add_bursts(
    t: &Tables,
    opts: &AnalyzeOptions,
    bursts: &[Burst],
    incidents: &mut Vec<Incident>,
    rapid: &[RapidFail],
) {
    let crash_like = incidents.len();
    for b in bursts {
        if let Some(i) = symptom_of(b, &incidents[..crash_like], rapid) {
            incidents[i].notes.push(format!(
                "errors rose with it: {} {} of {} from {} to {} (not a separate incident)",
                b.errors,
                series_name(&b.series),
                b.site
                    .as_deref()
                    .map_or("the server".into(), |s| cut(s, 100)),
                fmt_utc(b.start),
                fmt_utc(b.end)
            ));
            continue;
        }
        if let Some(i) = same_overload(b, &incidents[crash_like..]) {
            merge_overload(t, &mut incidents[crash_like + i], b);
            continue;
        }
        // A provisional id, unique until `renumber` puts every incident in time order.
        let mut inc = burst_incident(t, opts, b);
        inc.id = format!("I{}", incidents.len() + 1);
        incidents.push(inc);
    }
}

/// Machine CPU at or above this is saturated.
const SATURATED_PCT: f64 = 90.0;
/// ... for at least this long.
const SATURATED_MS: Millis = 5 * 60_000;

fn cpu_sentence(s: &Saturation) -> String {
    format!(
        "CPU at {} % or more from {} to {} ({}, mean {:.0} %, {} samples)",
        SATURATED_PCT,
        fmt_utc(s.start),
        fmt_utc(s.end),
        fmt_duration(s.end - s.start),
        s.mean,
        s.samples
    )
}

/// Runs of saturated CPU: a note on the incident of the same server they overlap (its category
/// reads the counters), else incidents of kind `cpu`.
pub(super) fn add_cpu(
    t: &Tables,
    opts: &AnalyzeOptions,
    perf: &Perf,
    incidents: &mut Vec<Incident>,
) {
    let before = incidents.len();
    for s in perf.saturated(SATURATED_PCT, SATURATED_MS) {
        let overlaps = |inc: &Incident| {
            let Some(Ts(t0)) = inc.time else { return false };
            let t1 = inc.burst.as_ref().map_or(t0, |b| b.end.0);
            timeline::server_ok(inc.server.as_deref(), s.server.as_deref())
                && s.start <= t1 + SYMPTOM_MS
                && s.end >= t0 - SATURATED_MS.max(SYMPTOM_MS)
        };
        if let Some(inc) = incidents[..before].iter_mut().find(|i| overlaps(i)) {
            inc.notes.push(cpu_sentence(&s));
            continue;
        }
        let Some(at) = t.counters.samples.get(s.first_sample as usize) else {
            continue;
        };
        let mut inc = cpu_incident(t, opts, &s, at);
        inc.id = format!("I{}", incidents.len() + 1);
        incidents.push(inc);
    }
}

fn cpu_incident(
    t: &Tables,
    opts: &AnalyzeOptions,
    s: &Saturation,
    at: &crate::tables::CounterSample,
) -> Incident {
    let what = cpu_sentence(s);
    let evidence = vec![EvidenceRef {
        file: at.file,
        path: path_of(t, at.file),
        offset: at.offset,
        source: EvidenceKind::Counters,
        what: what.clone(),
    }];
    let sources = (TimeSource::Counters, SourceTag::Counters);
    let mut inc = span_incident(
        IncidentKind::Cpu,
        s.server.clone(),
        (s.start, s.end),
        opts,
        sources,
        evidence,
    );
    inc.detail = Some(what);
    inc
}

/// The overload incident (index into the burst incidents) that `b` is another view of: W3C
/// 503.2 and HTTP.sys `QueueFull` on the same server at the same time.
fn same_overload(b: &Burst, bursts: &[Incident]) -> Option<usize> {
    if !b.is_overload() {
        return None;
    }
    bursts.iter().position(|inc| {
        inc.kind == IncidentKind::Overload
            && timeline::server_ok(inc.server.as_deref(), b.server.as_deref())
            && inc.burst.as_ref().zip(inc.time).is_some_and(|(f, Ts(t0))| {
                b.start <= f.end.0 + SYMPTOM_MS && b.end >= t0 - SYMPTOM_MS
            })
    })
}

fn merge_overload(t: &Tables, inc: &mut Incident, b: &Burst) {
    let what: Vec<String> = b.codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
    inc.notes.push(format!(
        "the same overload seen in {}: {} {} ({}) of {} from {} to {}",
        if b.series == Series::Httperr {
            "the HTTP.sys error log"
        } else {
            "the W3C log"
        },
        b.errors,
        series_name(&b.series),
        cut(&what.join(", "), 200),
        b.site
            .as_deref()
            .map_or("the server".into(), |s| cut(s, 100)),
        fmt_utc(b.start),
        fmt_utc(b.end)
    ));
    let httperr = b.series == Series::Httperr;
    inc.evidence.extend(b.rows.iter().take(3).map(|&i| {
        req_evidence(&if httperr {
            httperr_ref(t, i)
        } else {
            w3c_ref(t, i)
        })
    }));
    inc.sources.push(if httperr {
        SourceTag::Httperr
    } else {
        SourceTag::W3c
    });
    inc.sources.sort();
    inc.sources.dedup();
    if httperr && inc.app_pool.is_none() {
        inc.app_pool = b.site.clone();
    }
}

/// Numbers incidents `I1…` in time order and suspects after `first_suspect`, and rewrites every
/// reference to them.
pub(super) fn renumber(
    incidents: &mut [Incident],
    suspects: &mut [Suspect],
    rapid: &mut [RapidFail],
    first_new_suspect: usize,
) {
    for (n, s) in suspects.iter_mut().enumerate().skip(first_new_suspect) {
        s.id = format!("S{}", n + 1);
        for inc in incidents.iter_mut().filter(|i| s.incidents.contains(&i.id)) {
            inc.suspects.push(s.id.clone());
        }
    }
    // Stable: crash incidents keep their order among themselves.
    let mut order: Vec<usize> = (0..incidents.len()).collect();
    order.sort_by_key(|&i| (incidents[i].time.map_or(Millis::MAX, |t| t.0), i));
    let mut new_id: HashMap<String, String> = HashMap::new();
    for (n, &i) in order.iter().enumerate() {
        new_id.insert(incidents[i].id.clone(), format!("I{}", n + 1));
    }
    let map = |id: &mut String| {
        if let Some(n) = new_id.get(id.as_str()) {
            *id = n.clone();
        }
    };
    for s in suspects.iter_mut() {
        s.incidents.iter_mut().for_each(map);
        s.incidents
            .sort_by_key(|id| id[1..].parse::<usize>().unwrap_or(usize::MAX));
    }
    for r in rapid.iter_mut() {
        r.incident.iter_mut().for_each(map);
    }
    for inc in incidents.iter_mut() {
        map(&mut inc.id);
    }
    incidents.sort_by_key(|i| i.id[1..].parse::<usize>().unwrap_or(usize::MAX));
}
