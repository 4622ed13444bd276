//! Step 6 of the data flow: who is to blame, with evidence, and what to do next.
//!
//! - **Module suspects**: per incident the dump's verdict module (`suspect_module`, after
//!   walking past system code), else the dump's or Application Error 1000's faulting module.
//!   Grouped by name across incidents; classified ISAPI filter / ISAPI extension / COM object /
//!   native module / managed code (or a Windows module, usually the victim). Confidence grows
//!   with the number of incidents it faults in (3+ high, 2 medium, 1 low), capped for Windows
//!   modules and for evidence from events only.
//! - **Request-pattern suspects**: per app pool, every feature of every in-flight request
//!   (HTTPERR abandonments + W3C requests spanning a crash) is a candidate; its count among
//!   in-flight requests is tested against its share of the *busy time* of the same sites'
//!   baseline traffic (whole input, in-flight rows excluded; see [`stats`]: a request is caught
//!   in flight in proportion to how long it runs) with a one-sided exact binomial test,
//!   Bonferroni-corrected for the number of candidates. A pattern is blamed only when
//!   over-represented (`p_adjusted < 0.01`, lift > 2), so a URL is not blamed for being popular
//!   or slow.
//! - **In-flight lists**: requests matching a pattern suspect first (by rank), then by start.
//! - **Corroboration**: a module faulting in 2+ incidents and a pattern in flight in every one of
//!   those incidents back each other.

use super::correlate::{Correlation, baseline_counts, httperr_view, w3c_view};
use super::judge::Judgments;
use super::pattern::{FeatureKind, HashIndex, KINDS, feature_text, flag_labels, flags, unusual};
use super::stats::{self, BUSY_FLOOR_MS, Busy};
use super::time::{fmt_duration, fmt_utc};
use super::timeline::{Timeline as Tl, crash_evidence, norm, source_tag};
use super::{
    AnalyzeOptions, EvidenceKind, EvidenceRef, Hex32, Incident, IncidentKind, ManagedException,
    ModuleEntry, ModuleFacts, PatternStats, RapidFail, Recommendation, RequestRef, SourceTag,
    Summary, Suspect, SuspectKind, Ts, cut, path_of,
};
use crate::knowledge::exceptions::{self, ExceptionKind};
use crate::knowledge::modules::{ModuleClass, SuspectRole, basename};
use crate::knowledge::verdict::Confidence;
use crate::tables::{CrashKind, CrashRow, EvidenceSource, Tables};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod category;
mod module;
mod outage;
mod precursor;
mod recommend;
mod remedies;
pub(crate) mod requests;
mod series;
mod stuck;
mod summary;
mod traces;

use module::*;
pub use module::{MANAGED, module_kind};
use precursor::*;
use recommend::*;
use requests::*;
pub(crate) use requests::{fmt_lift, fmt_p, fmt_pct};
use summary::*;

/// Below this many baseline requests a pattern is not tested (the rate would be noise).
pub const MIN_BASELINE: u64 = 30;
/// Significance threshold on the Bonferroni-adjusted p-value.
pub const ALPHA: f64 = 0.01;
/// Pattern suspects kept per app pool.
const MAX_PATTERNS: usize = 5;

/// What the suspects stage found, for the report model.
pub struct Found {
    /// One per incident, with its evidence, requests and suspects.
    pub incidents: Vec<Incident>,
    /// Rapid-fail episodes.
    pub rapid_fail: Vec<RapidFail>,
    /// Ranked, with ids `S1`, `S2`, ….
    pub suspects: Vec<Suspect>,
    /// What to do next.
    pub recommendations: Vec<Recommendation>,
    /// The module inventory of the dumps.
    pub modules: Vec<ModuleEntry>,
    /// The headline and the thin-evidence notes.
    pub summary: Summary,
}

fn uri_of(stem: Option<&str>, query: Option<&str>) -> String {
    let stem = stem.unwrap_or("");
    match norm(query) {
        Some(q) => cut(&format!("{stem}?{q}"), 2000),
        None => cut(stem, 2000),
    }
}

fn opt_cut(s: Option<&str>, n: usize) -> Option<String> {
    norm(s).map(|v| cut(v, n))
}

pub(crate) fn w3c_ref(t: &Tables, i: usize) -> RequestRef {
    let r = &t.requests;
    let tt = r.time_taken_ms.get(i);
    RequestRef {
        source: EvidenceKind::W3c,
        time: Ts(r.ts[i]),
        // (An impossible time-taken never makes an impossible start: the parser rejects it.)
        start: tt
            .filter(|&v| v <= crate::ingest::w3c::MAX_TIME_TAKEN_MS)
            .map(|v| Ts(r.ts[i].saturating_sub(v as i64))),
        method: opt_cut(r.method.get(i), 64),
        uri: uri_of(r.uri_stem.get(i), r.uri_query.get(i)),
        status: r.status.get(i),
        substatus: r.substatus.get(i),
        win32_status: r.win32_status.get(i),
        time_taken_ms: tt,
        bytes_in: r.cs_bytes.get(i),
        client: opt_cut(r.c_ip.get(i), 128),
        user_agent: opt_cut(r.user_agent.get(i).as_deref(), 500),
        reason: None,
        site: opt_cut(r.site.get(i), 128),
        file: r.file[i],
        path: path_of(t, r.file[i]),
        offset: r.offset.get(i),
        suspects: Vec::new(),
    }
}

pub(crate) fn httperr_ref(t: &Tables, i: usize) -> RequestRef {
    let h = &t.httperr;
    RequestRef {
        source: EvidenceKind::Httperr,
        time: Ts(h.ts[i]),
        start: None,
        method: opt_cut(h.method.get(i), 64),
        uri: cut(h.uri.get(i).unwrap_or(""), 2000),
        status: h.status.get(i),
        substatus: None,
        win32_status: None,
        time_taken_ms: None,
        bytes_in: None,
        client: opt_cut(h.c_ip.get(i), 128),
        user_agent: None,
        reason: opt_cut(h.reason.get(i), 128),
        site: h.site_id.get(i).map(|id| format!("W3SVC{id}")),
        file: h.file[i],
        path: path_of(t, h.file[i]),
        offset: h.offset[i],
        suspects: Vec::new(),
    }
}

/// Dumps first, then events, HTTPERR, W3C; then by file and offset.
fn sort_evidence(v: &mut Vec<EvidenceRef>) {
    // (EvidenceKind is declared in this order.)
    v.sort_by(|a, b| {
        (a.source, a.file, a.offset, &a.what).cmp(&(b.source, b.file, b.offset, &b.what))
    });
    v.dedup();
}

fn req_evidence(r: &RequestRef) -> EvidenceRef {
    let what = format!(
        "{} {} {}{}",
        fmt_utc(r.time.0),
        r.method.as_deref().unwrap_or("-"),
        cut(&r.uri, 200),
        r.reason
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default()
    );
    EvidenceRef {
        file: r.file,
        path: r.path.clone(),
        offset: r.offset,
        source: r.source,
        what,
    }
}

/// Incidents, suspects, recommendations and the summary, from the timeline and correlation.
pub fn find(
    t: &Tables,
    j: &Judgments,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
    bursts: &[crate::analyze::bursts::Burst],
    perf: &crate::analyze::perf::Perf,
) -> Found {
    let ids: Vec<String> = (0..tl.clusters.len())
        .map(|i| format!("I{}", i + 1))
        .collect();
    let (mut incidents, in_flight_rows) = incident_facts(t, j, opts, tl, corr, &ids);
    let crash_count = tl
        .clusters
        .iter()
        .filter(|c| c.kind == IncidentKind::Crash)
        .count();
    let (mut suspects, mut matched) = module_suspects(t, j, opts, tl, &ids, crash_count);
    let pattern_notes = pattern_suspects(t, opts, tl, corr, &ids, &mut suspects, &mut matched);
    let precursors = precursor_suspects(t, tl, corr, &ids, &incidents);
    matched.extend(precursors.iter().map(|_| BTreeSet::new()));
    suspects.extend(precursors);
    let mut suspects = rank_and_link(t, opts, suspects, matched, &mut incidents, &in_flight_rows);
    let mut rapid_fail = rapid_fail_episodes(t, opts, tl, corr, &ids, &mut incidents);
    // ---- incidents that are not crashes, and every incident's category ----
    outage::add_bursts(t, opts, bursts, &mut incidents, &rapid_fail);
    stuck::stuck_until_recycle(t, &mut incidents);
    outage::add_cpu(t, opts, perf, &mut incidents);
    let first_new = suspects.len();
    suspects.extend(category::config_suspects(t, &incidents));
    outage::renumber(&mut incidents, &mut suspects, &mut rapid_fail, first_new);
    category::categorize(t, perf, &mut incidents, &suspects);
    // ---- module inventory ----
    let modules = inventory(t, &suspects);

    // ---- summary, recommendations ----
    let recommendations = recommend(t, &incidents, &suspects, &rapid_fail);
    let summary = summarize(
        t,
        opts,
        tl,
        corr,
        &incidents,
        &suspects,
        &rapid_fail,
        pattern_notes,
    );

    Found {
        incidents,
        rapid_fail,
        suspects,
        recommendations,
        modules,
        summary,
    }
}

/// One incident per cluster, with its facts; its in-flight rows (listed once suspects are known).
type InFlightRows = Vec<Vec<(bool, usize)>>;

fn incident_facts(
    t: &Tables,
    j: &Judgments,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
    ids: &[String],
) -> (Vec<Incident>, InFlightRows) {
    let nc = tl.clusters.len();
    let mut incidents: Vec<Incident> = Vec::with_capacity(nc);
    let mut in_flight_rows: Vec<Vec<(bool, usize)>> = Vec::with_capacity(nc);
    for (ci, c) in tl.clusters.iter().enumerate() {
        let ranked = ranked_rows(t, &c.crash_rows);
        let first = |f: &dyn Fn(&CrashRow) -> Option<String>| ranked.iter().find_map(|(_, r)| f(r));
        let judged = |f: &dyn Fn(usize) -> Option<String>| ranked.iter().find_map(|(i, _)| f(*i));
        let mut sources: Vec<SourceTag> = ranked.iter().map(|(_, r)| source_tag(r)).collect();
        if !c.abandoned.is_empty() {
            sources.push(SourceTag::Httperr);
        }
        sources.sort();
        sources.dedup();
        let mut evidence: Vec<EvidenceRef> =
            ranked.iter().map(|(i, _)| crash_evidence(t, *i)).collect();
        // Listed once the suspects are known (matching requests first): see `order_in_flight`.
        let rows: Vec<(bool, usize)> = c
            .abandoned
            .iter()
            .map(|&i| (false, i))
            .chain(corr.in_flight[ci].iter().map(|&i| (true, i)))
            .collect();
        if let Some(&h0) = c.abandoned.first() {
            let mut e = req_evidence(&httperr_ref(t, h0));
            e.what = format!(
                "HTTPERR: {} request(s) abandoned by pool {} ({})",
                c.abandoned.len(),
                c.pool.as_deref().unwrap_or("?"),
                e.what
            );
            e.file = t.httperr.file[h0];
            evidence.push(e);
        }
        let in_flight_total = rows.len();
        in_flight_rows.push(rows);
        let notes = incident_notes(c, &ranked, corr.notes[ci].clone(), in_flight_total);
        let managed = managed_exception(&ranked);
        let verdict = verdict_text(managed.as_ref(), judged(&|i| opt_cut(j.text(i), 1000)));
        incidents.push(Incident {
            id: ids[ci].clone(),
            kind: c.kind,
            server: c.server.clone(),
            app_pool: c.pool.clone(),
            sites: corr.sites[ci]
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect(),
            pid: c.pid,
            time: c.time.map(Ts),
            end: None,
            time_local: c.time.and_then(|ts| opts.local(ts)),
            time_source: c.time_source,
            sources,
            evidence,
            exception_code: ranked.iter().find_map(|(_, r)| r.exception_code).map(Hex32),
            exception_name: first(&|r| opt_cut(r.exception_name.as_deref(), 200)),
            managed_exception: managed,
            faulting_module: first(&|r| opt_cut(r.faulting_module.as_deref(), 260)),
            faulting_module_version: first(&|r| opt_cut(r.faulting_module_version.as_deref(), 64)),
            suspect_module: judged(&|i| opt_cut(j.suspect_module(i), 260)),
            suspect_class: ranked.iter().find_map(|(i, _)| j.suspect_class(*i)),
            bucket: judged(&|i| opt_cut(j.bucket(i), 300)),
            verdict,
            confidence: ranked.iter().find_map(|(i, _)| j.confidence(*i)),
            exit_code: ranked.iter().find_map(|(_, r)| r.exit_code).map(Hex32),
            detail: ranked
                .iter()
                .find_map(|(i, r)| opt_cut(j.detail(*i, r), 1000)),
            category: super::model::CategoryFinding::default(),
            burst: None,
            in_flight: Vec::new(),
            in_flight_total,
            recent: corr.recent[ci].iter().map(|&i| w3c_ref(t, i)).collect(),
            suspects: Vec::new(),
            rapid_fail: None,
            notes,
        });
    }
    (incidents, in_flight_rows)
}

/// What is missing about one incident: no dump, no event, nothing in flight.
fn incident_notes(
    c: &crate::analyze::timeline::Cluster,
    ranked: &[(usize, &CrashRow)],
    mut notes: Vec<String>,
    in_flight_total: usize,
) -> Vec<String> {
    if c.crash_rows.is_empty() {
        notes.push(
            "known only from HTTPERR abandonments: no dump and no event for this crash".into(),
        );
    } else if let Some((_, r)) = ranked
        .iter()
        .find(|(_, r)| matches!(r.kind, CrashKind::Recycle | CrashKind::IdleShutdown))
        .filter(|_| c.kind == IncidentKind::Hang && !c.abandoned.is_empty())
    {
        let why = r
            .recycle_reason
            .map_or_else(|| r.kind.name().to_string(), |w| format!("recycled ({w})"));
        notes.push(format!(
            "{} requests the worker still held were abandoned when WAS {why} it at {}: they did not finish within the shutdown time limit, so they were stuck — a hang no ping failure (WAS 5010) reported (pinging off, or the recycle came first)",
            c.abandoned.len(),
            r.ts.map_or_else(|| "?".into(), crate::analyze::time::fmt_utc),
        ));
    } else if !ranked
        .iter()
        .any(|(_, r)| r.source == Some(EvidenceSource::Dump))
    {
        let what = if c.kind == IncidentKind::Crash {
            "crash".into()
        } else {
            c.kind.to_string()
        };
        notes.push(format!("no dump for this {what}"));
    }
    if in_flight_total == 0 {
        notes.push("no request in flight found in the logs (no HTTPERR abandonment, no W3C request spanning the crash)".into());
    }
    notes
}

/// A .NET type name (`System.OutOfMemoryException`), not a Win32 exception name.
fn is_dotnet_type(name: &str) -> bool {
    name.contains('.')
        && !name.contains(' ')
        && !name.starts_with("EXCEPTION_")
        && !name.starts_with("STATUS_")
}

/// The unhandled .NET exception the incident's events name: the process's own (1026, WER
/// CLR20r3) before a request's (ASP.NET 1309); its message and method from any event that
/// names the same type.
fn managed_exception(ranked: &[(usize, &CrashRow)]) -> Option<ManagedException> {
    let named: Vec<&CrashRow> = ranked
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| r.source == Some(EvidenceSource::Event))
        .filter(|r| r.exception_name.as_deref().is_some_and(is_dotnet_type))
        .collect();
    let ends = |r: &CrashRow| r.kind != CrashKind::UnhandledException;
    let best = named.iter().find(|r| ends(r)).or(named.first())?;
    let ty = best.exception_name.as_deref()?;
    let same: Vec<&&CrashRow> = named
        .iter()
        .filter(|r| r.exception_name.as_deref() == Some(ty))
        .collect();
    let any =
        |f: &dyn Fn(&CrashRow) -> Option<&str>| f(best).or_else(|| same.iter().find_map(|r| f(r)));
    Some(ManagedException {
        type_name: cut(ty, 200),
        message: any(&|r| r.managed_message.as_deref()).map(|m| cut(m, 300)),
        method: any(&|r| r.managed_method.as_deref()).map(|m| cut(m, 300)),
        terminated: same.iter().any(|r| ends(r)),
    })
}

/// The incident's verdict: the managed exception first when the events name one (the dump
/// alone sees only the CLR's exception code), then the dump's verdict.
fn verdict_text(managed: Option<&ManagedException>, dump: Option<String>) -> Option<String> {
    match (managed, dump) {
        (Some(m), Some(d)) => Some(format!("{}. {d}", m.sentence())),
        (Some(m), None) => Some(format!("{}.", m.sentence())),
        (None, d) => d,
    }
}

/// The suspects found so far, each with the in-flight rows it matches (empty for modules).
type Matched = Vec<BTreeSet<(bool, usize)>>;

/// Modules that fault, grouped by name across incidents.
fn module_suspects(
    t: &Tables,
    j: &Judgments,
    opts: &AnalyzeOptions,
    tl: &Tl,
    ids: &[String],
    crash_count: usize,
) -> (Vec<Suspect>, Matched) {
    let mut inventory_class: HashMap<String, (ModuleClass, bool, String, Option<String>)> =
        HashMap::new();
    for m in &t.modules {
        inventory_class
            .entry(basename(&m.name).to_ascii_lowercase())
            .or_insert_with(|| (m.class, m.third_party, m.path.clone(), m.version.clone()));
    }
    let mut by_module: BTreeMap<String, Vec<(usize, ModuleHit)>> = BTreeMap::new();
    for (ci, c) in tl.clusters.iter().enumerate() {
        if let Some(h) = module_hit(t, j, &c.crash_rows) {
            by_module
                .entry(h.name.to_ascii_lowercase())
                .or_default()
                .push((ci, h));
        }
    }
    let mut suspects: Vec<Suspect> = Vec::new();
    // Per suspect: the in-flight rows a pattern suspect matches (empty for modules).
    let mut matched: Vec<BTreeSet<(bool, usize)>> = Vec::new();
    for (lname, hits) in &by_module {
        let inv = inventory_class.get(lname);
        let class = hits
            .iter()
            .find_map(|(_, h)| h.class)
            .or_else(|| inv.map(|i| i.0));
        let code = hits.iter().find_map(|(_, h)| h.code);
        let name = hits[0].1.name.clone();
        // What the dumps' crashing stacks say the module is; events only: by name and class.
        let roles: Vec<SuspectRole> = hits.iter().flat_map(|(_, h)| h.roles.clone()).collect();
        let kind = role_kind(&roles).unwrap_or_else(|| module_kind(&name, class, code));
        let k = hits.len();
        let from_dump = hits.iter().any(|(_, h)| h.from_dump);
        let (conf, confidence_why) = module_confidence(hits, kind);
        let (codes, buckets) = codes_and_buckets(hits);
        let mut evidence: Vec<EvidenceRef> = hits
            .iter()
            .flat_map(|(_, h)| h.rows.iter().map(|&i| crash_evidence(t, i)))
            .collect();
        sort_evidence(&mut evidence);
        let evidence_total = evidence.len();
        evidence.truncate(opts.max_listed);
        let considered = crash_count.max(k);
        let reason = module_reason(&name, kind, (k, considered), &codes, from_dump);
        let version = hits
            .iter()
            .find_map(|(_, h)| h.version.clone())
            .or_else(|| inv.and_then(|i| i.3.clone()));
        suspects.push(Suspect {
            id: String::new(),
            kind,
            name: cut(&name, 260),
            confidence: conf,
            confidence_why,
            incidents: hits.iter().map(|(ci, _)| ids[*ci].clone()).collect(),
            incidents_considered: considered,
            reason,
            evidence,
            evidence_total,
            module: Some(ModuleFacts {
                vendor: crate::knowledge::modules::known_vendor(&name)
                    .map(|k| format!("{} ({})", k.vendor, k.product)),
                version: version.map(|v| cut(&v, 64)),
                path: inv.map(|i| cut(&i.2, 260)),
                class,
                third_party: inv.map(|i| i.1),
                exception_codes: codes,
                buckets,
            }),
            pattern: None,
            corroborated_by: Vec::new(),
        });
        matched.push(BTreeSet::new());
    }
    (suspects, matched)
}

/// Why a module is a suspect: the crashes it faults in, their codes, and what weakens it.
fn module_reason(
    name: &str,
    kind: SuspectKind,
    (k, considered): (usize, usize),
    codes: &[String],
    from_dump: bool,
) -> String {
    // A managed exception named by its type is not a module: it ended the crashes.
    let head = if kind == SuspectKind::ManagedCode && is_dotnet_type(name) {
        format!("{} (an unhandled .NET exception) ended", cut(name, 100))
    } else {
        format!(
            "{} ({}) is the faulting module in",
            cut(name, 100),
            kind.label()
        )
    };
    let mut reason = format!(
        "{head} {k} of {considered} crash{}{}",
        if considered == 1 { "" } else { "es" },
        if codes.is_empty() {
            String::new()
        } else {
            format!(", exception {}", codes.join(", "))
        }
    );
    if !from_dump {
        reason.push_str("; named by Application Error events only (no dump)");
    }
    if kind == SuspectKind::SystemModule {
        reason.push_str("; a Windows module usually crashes because another module corrupted memory or passed a bad pointer: the culprit is elsewhere");
    }
    reason.push('.');
    reason
}

/// The exception codes and failure buckets of a module's crashes, sorted and distinct.
fn codes_and_buckets(hits: &[(usize, ModuleHit)]) -> (Vec<String>, Vec<String>) {
    let mut codes: Vec<String> = hits
        .iter()
        .filter_map(|(_, h)| h.code)
        .map(|c| format!("0x{c:08x}"))
        .collect();
    codes.sort();
    codes.dedup();
    let mut buckets: Vec<String> = hits
        .iter()
        .filter_map(|(_, h)| h.bucket.clone())
        .map(|b| cut(&b, 300))
        .collect();
    buckets.sort();
    buckets.dedup();
    (codes, buckets)
}

/// How sure a module suspect is: grows with the crashes it faults in (3+ high, 2 medium, 1
/// low); at most medium on events alone; one step less when every dump's verdict was low; low
/// for a Windows module (usually the victim).
fn module_confidence(hits: &[(usize, ModuleHit)], kind: SuspectKind) -> (Confidence, String) {
    let k = hits.len();
    let mut conf = match k {
        0 | 1 => Confidence::Low,
        2 => Confidence::Medium,
        _ => Confidence::High,
    };
    let mut why = vec![format!(
        "it faults in {k} crash{} (1: low, 2: medium, 3 or more: high)",
        if k == 1 { "" } else { "es" }
    )];
    if !hits.iter().any(|(_, h)| h.from_dump) {
        conf = conf.min(Confidence::Medium);
        why.push("named by events only, no dump: at most medium".into());
    }
    if hits
        .iter()
        .all(|(_, h)| h.dump_confidence == Some(Confidence::Low))
    {
        conf = conf.lower();
        why.push("every dump verdict about it is uncertain: one level lower".into());
    }
    if kind == SuspectKind::SystemModule {
        conf = Confidence::Low;
        why.push("a Windows module, usually the victim: low".into());
    }
    (conf, why.join("; "))
}

/// Module classes of the request path: a crashing stack through one of them serves a request.
const REQUEST_PATH: [ModuleClass; 5] = [
    ModuleClass::IisCore,
    ModuleClass::IsapiHost,
    ModuleClass::IisBuiltin,
    ModuleClass::AspnetHost,
    ModuleClass::ClassicAsp,
];

/// Per incident: whether its crash was request-driven, from its dumps' crashing stacks: `true`
/// when a frame lies in the request path (the IIS pipeline, an ISAPI or ASP.NET host),
/// `false` when a walked stack of at least three frames has none (a timer or thread-pool
/// callback), `None` without a stack.
fn request_driven(t: &Tables, tl: &Tl) -> Vec<Option<bool>> {
    let mut by_file: HashMap<u32, (usize, bool)> = HashMap::new();
    for f in &t.frames {
        let e = by_file.entry(f.file).or_default();
        e.0 += 1;
        e.1 |= f.class.is_some_and(|c| REQUEST_PATH.contains(&c));
    }
    tl.clusters
        .iter()
        .map(|c| {
            let stacks = c.crash_rows.iter().filter_map(|&i| {
                let r = &t.crashes[i];
                (r.source == Some(EvidenceSource::Dump))
                    .then(|| by_file.get(&r.file))
                    .flatten()
            });
            stacks.fold(None, |acc, &(n, request)| match (acc, request, n >= 3) {
                (Some(true), _, _) | (_, true, _) => Some(true),
                (_, false, true) => Some(false),
                (acc, false, false) => acc,
            })
        })
        .collect()
}

/// Why a request-pattern finding is not a suspect, when it is not: every crash it is found at
/// is not request-driven (nothing on the crashing thread serves a request), or it is a client
/// or user agent that is a known crawler, monitor or probe (busy at every crash because it is
/// busy all the time).
fn unsupported(t: &Tables, tl: &Tl, f: &PatternFinding, driven: &[Option<bool>]) -> Option<String> {
    let what = format!("{} {}", f.cand.kind.name(), cut(&f.cand.text, 120));
    let n = f.cand.incidents.len();
    if f.cand
        .incidents
        .iter()
        .all(|&ci| driven.get(ci) == Some(&Some(false)))
    {
        return Some(format!(
            "{what} was in flight at {n} crash(es), but no crashing stack runs through the request path (a timer or thread-pool callback): the crashes are not request-driven, so no request pattern is accused"
        ));
    }
    // A mechanism: a crashing stack through the request path, or requests abandoned by the
    // crash (the worker died serving them). Without either at any of its crashes, being in
    // flight is coincidence as far as the evidence goes.
    let driven_at = |ci: usize| {
        driven.get(ci) == Some(&Some(true))
            || tl.clusters.get(ci).is_some_and(|c| !c.abandoned.is_empty())
    };
    if !f.cand.incidents.iter().any(|&ci| driven_at(ci)) {
        return Some(format!(
            "{what} was in flight at {n} crash(es), but nothing shows the crashes were request-driven (no crashing stack through the request path, no request abandoned by the crash): not accused"
        ));
    }
    if !matches!(f.cand.kind, FeatureKind::Client | FeatureKind::UserAgent) {
        return None;
    }
    let agents: Vec<String> = f
        .cand
        .rows
        .iter()
        .filter(|(w3c, _)| *w3c)
        .filter_map(|&(_, i)| t.requests.user_agent.get(i).map(|a| a.into_owned()))
        .collect();
    let robots: Vec<&str> = agents
        .iter()
        .filter_map(|a| crate::knowledge::clients::known_robot(a))
        .collect();
    let robot = robots.first()?;
    (2 * robots.len() >= agents.len()).then(|| {
        format!(
            "{what} was in flight at {n} crash(es), but it is {robot}, busy at any time: discounted (a request pattern it carries is judged on its own)"
        )
    })
}

/// Request patterns over-represented in flight; returns the notes of the test.
fn pattern_suspects(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
    ids: &[String],
    suspects: &mut Vec<Suspect>,
    matched: &mut Matched,
) -> Vec<String> {
    let (patterns, mut pattern_notes) = find_patterns(t, opts, tl, corr);
    let driven = request_driven(t, tl);
    for f in patterns {
        if let Some(note) = unsupported(t, tl, &f, &driven) {
            pattern_notes.push(note);
            continue;
        }
        let PatternFinding {
            cand,
            stats,
            tested,
            incidents_considered,
            ..
        } = f;
        let k = cand.incidents.len();
        let (conf, confidence_why) =
            pattern_confidence(tested, stats.p_adjusted, k, incidents_considered);
        let mut evidence: Vec<EvidenceRef> = cand
            .rows
            .iter()
            .map(|&(w3c, i)| {
                req_evidence(&if w3c {
                    w3c_ref(t, i)
                } else {
                    httperr_ref(t, i)
                })
            })
            .collect();
        sort_evidence(&mut evidence);
        let evidence_total = evidence.len();
        evidence.truncate(opts.max_listed);
        let head = format!("{} {}", cand.kind.name(), cut(&cand.text, 300));
        let reason = pattern_reason(&head, &stats, tested, (k, incidents_considered), opts);
        suspects.push(Suspect {
            id: String::new(),
            kind: SuspectKind::RequestPattern,
            name: format!("{}: {}", cand.kind.name(), cut(&cand.text, 300)),
            confidence: conf,
            confidence_why,
            incidents: cand.incidents.iter().map(|&ci| ids[ci].clone()).collect(),
            incidents_considered,
            reason,
            evidence,
            evidence_total,
            module: None,
            pattern: Some(stats),
            corroborated_by: Vec::new(),
        });
        matched.push(cand.rows);
    }
    pattern_notes
}

/// How sure a request-pattern suspect is: high only when tested, significant after
/// correction and in flight at every crash of at least two; low when untested or seen once.
fn pattern_confidence(
    tested: bool,
    p_adjusted: f64,
    k: usize,
    considered: usize,
) -> (Confidence, String) {
    if !tested {
        return (
            Confidence::Low,
            "too little baseline traffic to test it".into(),
        );
    }
    if p_adjusted < 1e-3 && k == considered && k >= 2 {
        return (
            Confidence::High,
            format!("in flight at every one of {k} crashes and adjusted p < 0.001"),
        );
    }
    if k >= 2 {
        return (
            Confidence::Medium,
            format!("in flight at {k} of {considered} crashes, significant after correction"),
        );
    }
    (Confidence::Low, "in flight at a single crash".into())
}

/// Why a request pattern is a suspect: its statistics and their caveats. `head` names the
/// pattern; `(k, considered)` are the crashes it was in flight at, of those it could be.
fn pattern_reason(
    head: &str,
    stats: &PatternStats,
    tested: bool,
    (k, considered): (usize, usize),
    opts: &AnalyzeOptions,
) -> String {
    if !tested {
        return format!(
            "{head} was in flight at {k} of {considered} crashes; there is too little baseline traffic to test whether it is unusual."
        );
    }
    let mut caveats = String::new();
    if stats.baseline_untimed > 0 {
        caveats.push_str(&format!(
            "; {} of its baseline requests logged no time-taken and count at the pool's mean",
            stats.baseline_untimed
        ));
    }
    if stats.in_flight_w3c > 0 {
        caveats.push_str(&format!(
            "; {} of the in-flight requests are W3C rows matched within ±{} s of the crash, so the null rate is {}",
            stats.in_flight_w3c,
            opts.in_flight_slack_ms.max(0) as f64 / 1000.0,
            fmt_pct(stats.null_rate)
        ));
    }
    format!(
        "{head} was in flight at {k} of {considered} crash{}: {} of {} in-flight requests vs {} of baseline requests ({} of {}) / {} of baseline busy time (lift {}, p = {}, adjusted for {} patterns {}){caveats}.",
        if considered == 1 { "" } else { "es" },
        stats.in_flight,
        stats.in_flight_total,
        fmt_pct(stats.baseline_share),
        stats.baseline,
        stats.baseline_total,
        fmt_pct(stats.baseline_busy_share),
        fmt_lift(stats.lift),
        fmt_p(stats.p_value),
        stats.tests,
        fmt_p(stats.p_adjusted),
    )
}

/// Ranks the suspects, gives them ids, links them to each other and to the incidents, and
/// lists each incident's in-flight requests (matching ones first).
fn rank_and_link(
    t: &Tables,
    opts: &AnalyzeOptions,
    suspects: Vec<Suspect>,
    matched: Matched,
    incidents: &mut [Incident],
    in_flight_rows: &InFlightRows,
) -> Vec<Suspect> {
    let mut ranked: Vec<(Suspect, BTreeSet<(bool, usize)>)> =
        suspects.into_iter().zip(matched).collect();
    ranked.sort_by(|(a, _), (b, _)| {
        let key = |s: &Suspect| {
            (
                std::cmp::Reverse(s.confidence),
                std::cmp::Reverse(s.incidents.len()),
                s.kind == SuspectKind::RequestPattern,
                s.kind == SuspectKind::SystemModule,
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| {
                let pa = a.pattern.as_ref().map_or(1.0, |p| p.p_adjusted);
                let pb = b.pattern.as_ref().map_or(1.0, |p| p.p_adjusted);
                pa.total_cmp(&pb)
            })
            .then_with(|| a.name.cmp(&b.name))
    });
    let (mut suspects, matched): (Vec<Suspect>, Vec<BTreeSet<(bool, usize)>>) =
        ranked.into_iter().unzip();
    for (i, s) in suspects.iter_mut().enumerate() {
        s.id = format!("S{}", i + 1);
    }
    for (inc, rows) in incidents.iter_mut().zip(in_flight_rows) {
        inc.in_flight = order_in_flight(t, rows, &suspects, &matched, opts.max_listed);
    }
    let n = suspects.len();
    for a in 0..n {
        for b in 0..n {
            let (sa, sb) = (&suspects[a], &suspects[b]);
            if !sa.kind.is_module()
                || sb.kind != SuspectKind::RequestPattern
                || sa.incidents.len() < 2
            {
                continue;
            }
            if sb.pattern.as_ref().is_some_and(|p| p.p_adjusted < ALPHA)
                && sa.incidents.iter().all(|i| sb.incidents.contains(i))
            {
                let (ida, idb) = (sa.id.clone(), sb.id.clone());
                suspects[a].corroborated_by.push(idb);
                suspects[b].corroborated_by.push(ida);
            }
        }
    }
    for s in &mut suspects {
        s.corroborated_by.sort_by_key(|id| {
            id.trim_start_matches('S')
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        s.corroborated_by.dedup();
    }
    for inc in incidents.iter_mut() {
        inc.suspects = suspects
            .iter()
            .filter(|s| s.incidents.contains(&inc.id))
            .map(|s| s.id.clone())
            .collect();
    }
    suspects
}

/// Rapid-fail episodes, each linked to the incident that started it.
fn rapid_fail_episodes(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
    ids: &[String],
    incidents: &mut [Incident],
) -> Vec<RapidFail> {
    let mut rapid_fail = Vec::new();
    for (e, ep) in tl.episodes.iter().enumerate() {
        let end = &corr.episodes[e];
        let id = format!("R{}", e + 1);
        if let Some(ci) = ep.incident
            && incidents[ci].rapid_fail.is_none()
        {
            incidents[ci].rapid_fail = Some(id.clone());
        }
        let mut evidence = Vec::new();
        if let Some(row) = ep.disable_row {
            evidence.push(crash_evidence(t, row));
        }
        if let Some(&row) = ep.offline_rows.first() {
            let mut ev = req_evidence(&httperr_ref(t, row));
            ev.what = format!("first 503 AppOffline: {}", ev.what);
            evidence.push(ev);
        }
        rapid_fail.push(RapidFail {
            id,
            server: ep.server.clone(),
            app_pool: ep.pool.clone(),
            source: ep.source,
            start: Ts(ep.start),
            start_local: opts.local(ep.start),
            end: end.end.map(Ts),
            end_local: end.end.and_then(|x| opts.local(x)),
            end_reason: end.reason,
            duration_s: end.end.map(|x| (x - ep.start) / 1000),
            refused_httperr: end.refused_httperr,
            refused_w3c: end.refused_w3c,
            incident: ep.incident.map(|ci| ids[ci].clone()),
            evidence,
        });
    }
    rapid_fail
}

/// The in-flight requests of an incident as listed: those matching a request-pattern suspect
/// first (best-ranked suspect first), then by start time (an HTTPERR abandonment, whose start is
/// unknown, counts as starting when HTTP.sys logged it), HTTPERR before W3C, file, offset; at most
/// `max` of them. Each carries the ids of the pattern suspects it matches, in rank order.
fn order_in_flight(
    t: &Tables,
    rows: &[(bool, usize)],
    suspects: &[Suspect],
    matched: &[BTreeSet<(bool, usize)>],
    max: usize,
) -> Vec<RequestRef> {
    let ids = |row: &(bool, usize)| -> Vec<usize> {
        matched
            .iter()
            .enumerate()
            .filter(|(_, m)| m.contains(row))
            .map(|(k, _)| k)
            .collect()
    };
    /// Sort key: best suspect rank, start, W3C after HTTPERR, file, offset, row; then the ranks.
    type Key = (usize, i64, bool, u32, u64, usize);
    let mut keyed: Vec<(Key, Vec<usize>)> = rows
        .iter()
        .map(|row| {
            let (w3c, i) = *row;
            let m = ids(row);
            let (start, file, offset) = if w3c {
                let r = &t.requests;
                let tt = r
                    .time_taken_ms
                    .get(i)
                    .map_or(0, |v| v.min(i64::MAX as u64) as i64);
                (r.ts[i].saturating_sub(tt), r.file[i], r.offset.get(i))
            } else {
                let h = &t.httperr;
                (h.ts[i], h.file[i], h.offset[i])
            };
            let best = m.first().copied().unwrap_or(usize::MAX);
            ((best, start, w3c, file, offset, i), m)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed
        .into_iter()
        .take(max)
        .map(|((_, _, w3c, _, _, i), m)| {
            let mut r = if w3c {
                w3c_ref(t, i)
            } else {
                httperr_ref(t, i)
            };
            r.suspects = m.into_iter().map(|k| suspects[k].id.clone()).collect();
            r
        })
        .collect()
}
