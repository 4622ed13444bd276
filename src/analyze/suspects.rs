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
use super::pattern::{FeatureKind, HashIndex, KINDS, feature_text, flag_labels, flags, unusual};
use super::stats::{self, BUSY_FLOOR_MS, Busy};
use super::time::{fmt_duration, fmt_utc};
use super::timeline::{Timeline as Tl, crash_evidence, norm, source_tag};
use super::{
    AnalyzeOptions, EvidenceKind, EvidenceRef, Hex32, Incident, IncidentKind, ModuleEntry,
    ModuleFacts, PatternStats, RapidFail, Recommendation, RequestRef, SourceTag, Summary, Suspect,
    SuspectKind, Ts, cut, path_of,
};
use crate::knowledge::exceptions::{self, ExceptionKind};
use crate::knowledge::modules::{ModuleClass, SuspectRole, basename};
use crate::knowledge::verdict::Confidence;
use crate::tables::{CrashRow, EvidenceSource, Tables};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Below this many baseline requests a pattern is not tested (the rate would be noise).
pub const MIN_BASELINE: u64 = 30;
/// Significance threshold on the Bonferroni-adjusted p-value.
pub const ALPHA: f64 = 0.01;
/// Pattern suspects kept per app pool.
const MAX_PATTERNS: usize = 5;

pub struct Found {
    pub incidents: Vec<Incident>,
    pub rapid_fail: Vec<RapidFail>,
    pub suspects: Vec<Suspect>,
    pub recommendations: Vec<Recommendation>,
    pub modules: Vec<ModuleEntry>,
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

/// A CLR exception code (`0xE0434352`, `0xE0434F4D`): the module that raised it is only the
/// messenger.
fn is_clr(code: Option<u32>) -> bool {
    code.is_some_and(|c| exceptions::kind(c) == ExceptionKind::ClrException)
}

/// Suspect kind of a module, from (in order) the known third-party table
/// (`knowledge::modules::known_vendor`: its role), the module class the dump gave or, for
/// event-only evidence, the class of the name, and the exception code (CLR codes mean managed
/// code).
pub fn module_kind(name: &str, class: Option<ModuleClass>, code: Option<u32>) -> SuspectKind {
    use crate::knowledge::modules::{classify, known_vendor};
    if let Some(k) = known_vendor(basename(name)) {
        return k.kind.into();
    }
    let class = class
        .filter(|c| *c != ModuleClass::Unknown)
        .unwrap_or_else(|| classify(name));
    if is_clr(code) {
        return SuspectKind::ManagedCode;
    }
    match class {
        ModuleClass::ClassicAsp => SuspectKind::ComObject,
        ModuleClass::Clr | ModuleClass::AspnetHost | ModuleClass::DynamicCode => {
            SuspectKind::ManagedCode
        }
        ModuleClass::OsCore
        | ModuleClass::ComRuntime
        | ModuleClass::IisCore
        | ModuleClass::IsapiHost
        | ModuleClass::WindowsOther => SuspectKind::SystemModule,
        ModuleClass::IisBuiltin
        | ModuleClass::ThirdPartyKnown
        | ModuleClass::ThirdParty
        | ModuleClass::Unknown => {
            let n = basename(name).to_ascii_lowercase();
            if n.ends_with(".ni.dll") {
                SuspectKind::ManagedCode
            } else if n.contains("filter") {
                SuspectKind::IsapiFilter
            } else if n.contains("isapi") {
                SuspectKind::IsapiExtension
            } else {
                SuspectKind::NativeModule
            }
        }
    }
}

/// Crash rows of an incident in order of preference for exception facts: dumps, Application
/// Error, other events; then by time, file, offset.
fn ranked_rows<'a>(t: &'a Tables, rows: &[usize]) -> Vec<(usize, &'a CrashRow)> {
    let mut v: Vec<(usize, &CrashRow)> = rows.iter().map(|&i| (i, &t.crashes[i])).collect();
    v.sort_by_key(|(i, r)| {
        let rank = match r.source {
            Some(EvidenceSource::Dump) => 0,
            _ if r.event_id == Some(1000) => 1,
            _ => 2,
        };
        (rank, r.ts, r.file, r.offset, *i)
    });
    v
}

struct ModuleHit {
    name: String,
    class: Option<ModuleClass>,
    version: Option<String>,
    code: Option<u32>,
    bucket: Option<String>,
    from_dump: bool,
    dump_confidence: Option<Confidence>,
    rows: Vec<usize>,
    /// `suspect_role` of the dumps naming the module, in rank order.
    roles: Vec<SuspectRole>,
}

/// The suspect kind the dumps' roles give (`CrashRow.suspect_role`): the most frequent; on a tie
/// a specific role beats `native_module` (also the "stack does not say" answer), then first seen.
fn role_kind(roles: &[SuspectRole]) -> Option<SuspectKind> {
    let mut best: Option<(usize, bool, usize, SuspectRole)> = None;
    for (i, r) in roles.iter().enumerate() {
        let n = roles.iter().filter(|x| *x == r).count();
        let key = (n, *r != SuspectRole::NativeModule, usize::MAX - i, *r);
        if best.is_none_or(|b| (key.0, key.1, key.2) > (b.0, b.1, b.2)) {
            best = Some(key);
        }
    }
    Some(best?.3.into())
}

/// The module an incident blames, if any.
fn module_hit(t: &Tables, rows: &[usize]) -> Option<ModuleHit> {
    let ranked = ranked_rows(t, rows);
    let pick = ranked
        .iter()
        .find_map(|(_, r)| norm(r.suspect_module.as_deref()).map(|m| (m, r.suspect_class, r)))
        .or_else(|| {
            ranked
                .iter()
                .find_map(|(_, r)| norm(r.faulting_module.as_deref()).map(|m| (m, None, r)))
        })?;
    let (name, class, src) = pick;
    let code = ranked.iter().find_map(|(_, r)| r.exception_code);
    // A CLR exception is raised through KERNELBASE!RaiseException: the module is the messenger,
    // the suspect is the managed code (its type and stack are in .NET 1026 / ASP.NET 1309).
    if is_clr(code)
        && matches!(
            module_kind(name, class, None),
            SuspectKind::SystemModule | SuspectKind::ManagedCode
        )
    {
        return Some(ModuleHit {
            name: MANAGED.to_string(),
            class: Some(ModuleClass::Clr),
            version: None,
            code,
            bucket: ranked.iter().find_map(|(_, r)| r.bucket.clone()),
            from_dump: ranked
                .iter()
                .any(|(_, r)| r.source == Some(EvidenceSource::Dump)),
            dump_confidence: src.confidence,
            rows: ranked.iter().map(|(i, _)| *i).collect(),
            roles: Vec::new(),
        });
    }
    let lname = basename(name).to_ascii_lowercase();
    let naming: Vec<usize> = ranked
        .iter()
        .filter(|(_, r)| {
            [r.suspect_module.as_deref(), r.faulting_module.as_deref()]
                .into_iter()
                .flatten()
                .any(|m| basename(m).eq_ignore_ascii_case(&lname))
        })
        .map(|(i, _)| *i)
        .collect();
    Some(ModuleHit {
        name: basename(name).to_string(),
        class,
        version: ranked.iter().find_map(|(_, r)| {
            norm(r.faulting_module.as_deref())
                .filter(|m| basename(m).eq_ignore_ascii_case(&lname))
                .and(r.faulting_module_version.clone())
        }),
        code: ranked.iter().find_map(|(_, r)| r.exception_code),
        bucket: ranked.iter().find_map(|(_, r)| r.bucket.clone()),
        from_dump: naming
            .iter()
            .any(|&i| t.crashes[i].source == Some(EvidenceSource::Dump)),
        dump_confidence: src.confidence,
        roles: naming
            .iter()
            .map(|&i| &t.crashes[i])
            .filter(|r| r.source == Some(EvidenceSource::Dump))
            .filter(|r| {
                norm(r.suspect_module.as_deref())
                    .is_some_and(|m| basename(m).eq_ignore_ascii_case(&lname))
            })
            .filter_map(|r| r.suspect_role)
            .collect(),
        rows: naming,
    })
}

/// The suspect name of crashes that are unhandled .NET exceptions.
pub const MANAGED: &str = "unhandled .NET exception";

/// One candidate request pattern of a group.
struct Cand {
    kind: FeatureKind,
    text: String,
    /// In-flight rows: (is_w3c, row index).
    rows: BTreeSet<(bool, usize)>,
    incidents: BTreeSet<usize>,
}

struct PatternFinding {
    group: usize,
    cand: Cand,
    stats: PatternStats,
    tested: bool,
    incidents_considered: usize,
}

#[allow(clippy::too_many_lines)]
pub fn find(t: &Tables, opts: &AnalyzeOptions, tl: &Tl, corr: &Correlation) -> Found {
    let nc = tl.clusters.len();
    let ids: Vec<String> = (0..nc).map(|i| format!("I{}", i + 1)).collect();

    // ---- incidents (facts) ----
    let mut incidents: Vec<Incident> = Vec::with_capacity(nc);
    let mut in_flight_rows: Vec<Vec<(bool, usize)>> = Vec::with_capacity(nc);
    for (ci, c) in tl.clusters.iter().enumerate() {
        let ranked = ranked_rows(t, &c.crash_rows);
        let first = |f: &dyn Fn(&CrashRow) -> Option<String>| ranked.iter().find_map(|(_, r)| f(r));
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
        let mut notes = corr.notes[ci].clone();
        if c.crash_rows.is_empty() {
            notes.push(
                "known only from HTTPERR abandonments: no dump and no event for this crash".into(),
            );
        } else if !ranked
            .iter()
            .any(|(_, r)| r.source == Some(EvidenceSource::Dump))
        {
            notes.push("no dump for this crash".into());
        }
        if in_flight_total == 0 {
            notes.push("no request in flight found in the logs (no HTTPERR abandonment, no W3C request spanning the crash)".into());
        }
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
            time_local: c.time.and_then(|ts| opts.local(ts)),
            time_source: c.time_source,
            sources,
            evidence,
            exception_code: ranked.iter().find_map(|(_, r)| r.exception_code).map(Hex32),
            exception_name: first(&|r| opt_cut(r.exception_name.as_deref(), 200)),
            faulting_module: first(&|r| opt_cut(r.faulting_module.as_deref(), 260)),
            faulting_module_version: first(&|r| opt_cut(r.faulting_module_version.as_deref(), 64)),
            suspect_module: first(&|r| opt_cut(r.suspect_module.as_deref(), 260)),
            suspect_class: ranked.iter().find_map(|(_, r)| r.suspect_class),
            bucket: first(&|r| opt_cut(r.bucket.as_deref(), 300)),
            verdict: first(&|r| opt_cut(r.verdict.as_deref(), 1000)),
            confidence: ranked.iter().find_map(|(_, r)| r.confidence),
            exit_code: ranked.iter().find_map(|(_, r)| r.exit_code).map(Hex32),
            detail: first(&|r| opt_cut(r.detail.as_deref(), 1000)),
            in_flight: Vec::new(),
            in_flight_total,
            recent: corr.recent[ci].iter().map(|&i| w3c_ref(t, i)).collect(),
            suspects: Vec::new(),
            rapid_fail: None,
            notes,
        });
    }
    let crash_count = tl
        .clusters
        .iter()
        .filter(|c| c.kind == IncidentKind::Crash)
        .count();

    // ---- module suspects ----
    let mut inventory_class: HashMap<String, (ModuleClass, bool, String, Option<String>)> =
        HashMap::new();
    for m in &t.modules {
        inventory_class
            .entry(basename(&m.name).to_ascii_lowercase())
            .or_insert_with(|| (m.class, m.third_party, m.path.clone(), m.version.clone()));
    }
    let mut by_module: BTreeMap<String, Vec<(usize, ModuleHit)>> = BTreeMap::new();
    for (ci, c) in tl.clusters.iter().enumerate() {
        if let Some(h) = module_hit(t, &c.crash_rows) {
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
        let mut conf = match k {
            0 | 1 => Confidence::Low,
            2 => Confidence::Medium,
            _ => Confidence::High,
        };
        let from_dump = hits.iter().any(|(_, h)| h.from_dump);
        if !from_dump {
            conf = conf.min(Confidence::Medium);
        }
        if hits
            .iter()
            .all(|(_, h)| h.dump_confidence == Some(Confidence::Low))
        {
            conf = conf.lower();
        }
        if kind == SuspectKind::SystemModule {
            conf = Confidence::Low;
        }
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
        let mut evidence: Vec<EvidenceRef> = hits
            .iter()
            .flat_map(|(_, h)| h.rows.iter().map(|&i| crash_evidence(t, i)))
            .collect();
        sort_evidence(&mut evidence);
        let evidence_total = evidence.len();
        evidence.truncate(opts.max_listed);
        let considered = crash_count.max(k);
        let mut reason = format!(
            "{} ({}) is the faulting module in {} of {} crash{}{}",
            cut(&name, 100),
            kind.label(),
            k,
            considered,
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
        let version = hits
            .iter()
            .find_map(|(_, h)| h.version.clone())
            .or_else(|| inv.and_then(|i| i.3.clone()));
        suspects.push(Suspect {
            id: String::new(),
            kind,
            name: cut(&name, 260),
            confidence: conf,
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

    // ---- request-pattern suspects ----
    let (patterns, pattern_notes) = find_patterns(t, opts, tl, corr);
    for f in patterns {
        let PatternFinding {
            cand,
            stats,
            tested,
            incidents_considered,
            ..
        } = f;
        let k = cand.incidents.len();
        let conf = if !tested {
            Confidence::Low
        } else if stats.p_adjusted < 1e-3 && k == incidents_considered && k >= 2 {
            Confidence::High
        } else if k >= 2 {
            Confidence::Medium
        } else {
            Confidence::Low
        };
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
        let reason = if tested {
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
                "{} {} was in flight at {} of {} crash{}: {} of {} in-flight requests vs {} of baseline requests ({} of {}) / {} of baseline busy time (lift {}, p = {}, adjusted for {} patterns {}){}.",
                cand.kind.name(),
                cut(&cand.text, 300),
                k,
                incidents_considered,
                if incidents_considered == 1 { "" } else { "es" },
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
                caveats
            )
        } else {
            format!(
                "{} {} was in flight at {} of {} crashes; there is too little baseline traffic to test whether it is unusual.",
                cand.kind.name(),
                cut(&cand.text, 300),
                k,
                incidents_considered
            )
        };
        suspects.push(Suspect {
            id: String::new(),
            kind: SuspectKind::RequestPattern,
            name: format!("{}: {}", cand.kind.name(), cut(&cand.text, 300)),
            confidence: conf,
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

    // ---- rank, ids, corroboration ----
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
    for (inc, rows) in incidents.iter_mut().zip(&in_flight_rows) {
        inc.in_flight = order_in_flight(t, rows, &suspects, &matched, opts.max_listed);
    }
    let n = suspects.len();
    for a in 0..n {
        for b in 0..n {
            let (sa, sb) = (&suspects[a], &suspects[b]);
            if sa.kind == SuspectKind::RequestPattern
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
    for inc in &mut incidents {
        inc.suspects = suspects
            .iter()
            .filter(|s| s.incidents.contains(&inc.id))
            .map(|s| s.id.clone())
            .collect();
    }

    // ---- rapid-fail ----
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

    // ---- module inventory ----
    let modules = inventory(t, &suspects);

    // ---- summary, recommendations ----
    let recommendations = recommend(t, &incidents, &suspects, &rapid_fail, corr);
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

pub(crate) fn fmt_lift(l: f64) -> String {
    if !l.is_finite() {
        "∞".into()
    } else if l >= 100.0 {
        format!("{l:.0}")
    } else {
        format!("{l:.1}")
    }
}

/// A share as a percentage: `9.1 %`, `0.44 %`, `< 0.01 %`, `0 %`.
pub(crate) fn fmt_pct(share: f64) -> String {
    let pct = share * 100.0;
    if !pct.is_finite() || pct <= 0.0 {
        "0 %".into()
    } else if pct >= 1.0 {
        format!("{pct:.1} %")
    } else if pct >= 0.01 {
        format!("{pct:.2} %")
    } else {
        "< 0.01 %".into()
    }
}

pub(crate) fn fmt_p(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The null rate of a pattern among `n` in-flight requests of which `n_w3c` are W3C rows: each
/// HTTPERR abandonment was truly in flight, so it has the pattern with probability `busy` (the
/// pattern's share of baseline busy time); a W3C row was matched with the slack window, so with
/// probability `slack` (the share of busy time widened by twice the slack per request). The test
/// uses the mean of the two, weighted by how many in-flight rows of each kind there are: the sum of
/// the two binomials is a Poisson-binomial, whose upper tail above its mean + 1 is bounded by the
/// binomial's with the same mean (Hoeffding 1956), so the exact binomial test stays conservative.
pub(crate) fn null_rate(busy: f64, slack: f64, n: u64, n_w3c: u64) -> f64 {
    if n == 0 {
        return busy;
    }
    let n_w3c = n_w3c.min(n);
    ((n - n_w3c) as f64 * busy + n_w3c as f64 * slack) / n as f64
}

fn find_patterns(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
) -> (Vec<PatternFinding>, Vec<String>) {
    let ng = corr.groups.len();
    let mut notes = Vec::new();
    // Candidates per group, keyed by feature hash.
    let mut cands: Vec<Vec<Cand>> = (0..ng).map(|_| Vec::new()).collect();
    let mut index: Vec<HashIndex> = vec![HashIndex::default(); ng];
    // In-flight rows per group and, per kind, how many define the feature (all / W3C only).
    let mut n_def = vec![[0u64; 7]; ng];
    // The W3C in-flight rows, to take out of the baseline: per kind where defined, and all.
    let mut w3c_def = vec![[Busy::default(); 7]; ng];
    let mut w3c_all = vec![Busy::default(); ng];
    let mut needed = [false; 7];
    for (g, group) in corr.groups.iter().enumerate() {
        let mut rows: BTreeMap<(bool, usize), BTreeSet<usize>> = BTreeMap::new();
        for &ci in &group.incidents {
            for &i in &tl.clusters[ci].abandoned {
                rows.entry((false, i)).or_default().insert(ci);
            }
            for &i in &corr.in_flight[ci] {
                rows.entry((true, i)).or_default().insert(ci);
            }
        }
        for ((w3c, i), incs) in rows {
            let view = if w3c {
                w3c_all[g].add(t.requests.time_taken_ms.get(i));
                w3c_view(t, i)
            } else {
                httperr_view(t, i)
            };
            for k in KINDS {
                let text = feature_text(k, &view);
                if text.is_some() || k.always_defined() {
                    n_def[g][k.index()] += 1;
                    if w3c {
                        w3c_def[g][k.index()].add(t.requests.time_taken_ms.get(i));
                    }
                }
                let Some((hash, text)) = text else { continue };
                needed[k.index()] = true;
                let ix = *index[g].entry(hash).or_insert_with(|| {
                    cands[g].push(Cand {
                        kind: k,
                        text,
                        rows: BTreeSet::new(),
                        incidents: BTreeSet::new(),
                    });
                    cands[g].len() - 1
                });
                let c = &mut cands[g][ix];
                c.rows.insert((w3c, i));
                c.incidents.extend(incs.iter().copied());
            }
        }
    }
    if cands.iter().all(Vec::is_empty) {
        return (Vec::new(), notes);
    }
    let base = baseline_counts(t, opts, corr, &index, needed);
    // A W3C row is "in flight" when `[time − time-taken − slack, time + slack]` holds the crash:
    // its chance of being caught is proportional to its duration plus twice the slack.
    let w3c_extra = BUSY_FLOOR_MS + 2.0 * opts.in_flight_slack_ms.max(0) as f64;

    let mut out = Vec::new();
    for (g, group_cands) in cands.into_iter().enumerate() {
        if group_cands.is_empty() {
            continue;
        }
        let group = &corr.groups[g];
        let considered = group
            .incidents
            .iter()
            .filter(|&&ci| tl.clusters[ci].kind == IncidentKind::Crash)
            .count()
            .max(1);
        let tests = group_cands.len();
        let pool = group
            .pool
            .clone()
            .unwrap_or_else(|| "(unknown pool)".into());
        let mut findings: Vec<PatternFinding> = Vec::new();
        let mut explained: Vec<(f64, Cand)> = Vec::new();
        let mut untested = false;
        // Requests without a time-taken weigh the group's mean time-taken (see `null_rate`).
        let all_base = base.all[g].minus(&w3c_all[g]);
        let impute = all_base.mean_ms();
        for (ci, cand) in group_cands.into_iter().enumerate() {
            let k = cand.kind.index();
            let x = cand.rows.len() as u64;
            let mut w3c_in = Busy::default();
            for &(w, i) in &cand.rows {
                if w {
                    w3c_in.add(t.requests.time_taken_ms.get(i));
                }
            }
            let pat = base.cands[g]
                .get(ci)
                .copied()
                .unwrap_or_default()
                .minus(&w3c_in);
            let all = if cand.kind.always_defined() {
                base.all[g]
            } else {
                base.kinds[g][k]
            }
            .minus(&w3c_def[g][k]);
            let (b, big_n) = (pat.count, all.count);
            let n = n_def[g][k];
            let n_w3c = w3c_def[g][k].count.min(n);
            let tested = big_n >= MIN_BASELINE;
            let busy = pat.weight(BUSY_FLOOR_MS, impute);
            let busy_total = all.weight(BUSY_FLOOR_MS, impute);
            let null = null_rate(
                stats::busy_rate(busy, busy_total, big_n),
                stats::busy_rate(
                    pat.weight(w3c_extra, impute),
                    all.weight(w3c_extra, impute),
                    big_n,
                ),
                n,
                n_w3c,
            );
            let test = stats::test_rate(x, n, null, tests);
            let keep = if tested {
                test.p_adjusted < ALPHA && test.lift > 2.0
            } else {
                untested = true;
                // Without a baseline only repetition across crashes means anything.
                cand.incidents.len() >= 2 && cand.incidents.len() == considered && x >= 2
            };
            if !keep {
                // Would the request-count share have blamed it? Then say why it is not blamed.
                let by_count = stats::test(x, n, b, big_n, tests);
                if tested
                    && cand.incidents.len() >= 2
                    && by_count.p_adjusted < ALPHA
                    && by_count.lift > 2.0
                {
                    explained.push((by_count.p_adjusted, cand));
                }
                continue;
            }
            findings.push(PatternFinding {
                group: g,
                stats: PatternStats {
                    feature: cand.kind,
                    in_flight: x,
                    in_flight_total: n,
                    baseline: b,
                    baseline_total: big_n,
                    baseline_share: ratio(b as f64, big_n as f64),
                    baseline_busy_ms: busy,
                    baseline_busy_total_ms: busy_total,
                    baseline_busy_share: ratio(busy, busy_total),
                    baseline_untimed: pat.untimed(),
                    null_rate: null,
                    in_flight_w3c: n_w3c,
                    lift: if tested { test.lift } else { 0.0 },
                    p_value: if tested { test.p_value } else { 1.0 },
                    p_adjusted: if tested { test.p_adjusted } else { 1.0 },
                    tests,
                    same_requests: Vec::new(),
                },
                cand,
                tested,
                incidents_considered: considered,
            });
        }
        explained.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.kind.cmp(&b.1.kind))
                .then(a.1.text.cmp(&b.1.text))
        });
        // Patterns sharing a request with a suspect are that suspect's business, not "explained".
        let mut shown: Vec<&Cand> = Vec::new();
        for (_, c) in &explained {
            if !shown.iter().any(|s| s.rows == c.rows)
                && !findings
                    .iter()
                    .any(|f| f.cand.rows.intersection(&c.rows).next().is_some())
            {
                shown.push(c);
            }
        }
        if !shown.is_empty() {
            let list: Vec<String> = shown
                .iter()
                .take(4)
                .map(|c| format!("{} {}", c.kind.name(), cut(&c.text, 100)))
                .collect();
            notes.push(format!(
                "app pool {pool}: {} pattern{} in flight at several crashes {} over-represented against {} share of baseline requests but not against {} share of baseline busy time (slow requests spend longer in flight), so {} not {}: {}{}",
                shown.len(),
                if shown.len() == 1 { "" } else { "s" },
                if shown.len() == 1 { "is" } else { "are" },
                if shown.len() == 1 { "its" } else { "their" },
                if shown.len() == 1 { "its" } else { "their" },
                if shown.len() == 1 { "it is" } else { "they are" },
                if shown.len() == 1 { "a suspect" } else { "suspects" },
                list.join("; "),
                if shown.len() > 4 { "; …" } else { "" }
            ));
        }
        if untested {
            notes.push(format!(
                "app pool {pool}: fewer than {MIN_BASELINE} baseline requests for some features, so those request patterns were not tested against baseline traffic"
            ));
        }
        // Patterns matching exactly the same in-flight requests say one thing: keep the most
        // significant (then most specific), list the others as `same_requests`.
        findings.sort_by(|a, b| {
            a.stats
                .p_adjusted
                .total_cmp(&b.stats.p_adjusted)
                .then(a.cand.kind.cmp(&b.cand.kind))
                .then(a.cand.text.cmp(&b.cand.text))
        });
        let mut kept: Vec<PatternFinding> = Vec::new();
        for f in findings {
            if let Some(k) = kept.iter_mut().find(|k| k.cand.rows == f.cand.rows) {
                k.stats.same_requests.push(format!(
                    "{}: {}",
                    f.cand.kind.name(),
                    cut(&f.cand.text, 200)
                ));
                continue;
            }
            kept.push(f);
        }
        kept.sort_by(|a, b| {
            b.cand
                .incidents
                .len()
                .cmp(&a.cand.incidents.len())
                .then(a.stats.p_adjusted.total_cmp(&b.stats.p_adjusted))
                .then(b.stats.lift.total_cmp(&a.stats.lift))
                .then(a.cand.kind.cmp(&b.cand.kind))
                .then(a.cand.text.cmp(&b.cand.text))
        });
        kept.truncate(MAX_PATTERNS);
        out.extend(kept);
    }
    out.sort_by_key(|f| f.group);
    (out, notes)
}

fn inventory(t: &Tables, suspects: &[Suspect]) -> Vec<ModuleEntry> {
    // (lowercase name, version, unloaded) → entry and the dumps listing it.
    type Key = (String, Option<String>, bool);
    let mut map: BTreeMap<Key, (ModuleEntry, BTreeSet<u32>)> = BTreeMap::new();
    for m in &t.modules {
        let name = basename(&m.name).to_string();
        let key = (name.to_ascii_lowercase(), m.version.clone(), m.unloaded);
        let e = map.entry(key).or_insert_with(|| {
            (
                ModuleEntry {
                    name: cut(&name, 260),
                    version: m.version.as_deref().map(|v| cut(v, 64)),
                    path: cut(&m.path, 400),
                    class: m.class,
                    third_party: m.third_party,
                    unloaded: m.unloaded,
                    dumps: 0,
                    suspect: None,
                },
                BTreeSet::new(),
            )
        });
        e.1.insert(m.file);
    }
    let mut v: Vec<ModuleEntry> = map
        .into_values()
        .map(|(mut e, files)| {
            e.dumps = files.len();
            e.suspect = suspects
                .iter()
                .find(|s| s.kind.is_module() && s.name.eq_ignore_ascii_case(&e.name))
                .map(|s| s.id.clone());
            e
        })
        .collect();
    v.sort_by(|a, b| {
        (
            b.suspect.is_some(),
            b.third_party,
            a.name.to_ascii_lowercase(),
            &a.version,
        )
            .cmp(&(
                a.suspect.is_some(),
                a.third_party,
                b.name.to_ascii_lowercase(),
                &b.version,
            ))
    });
    v
}

/// A value is put into a command or a config snippet only when every character is in `ok`;
/// log text is attacker-controlled and must never become shell or XML syntax.
fn safe<'a>(s: &'a str, ok: &dyn Fn(char) -> bool, max: usize) -> Option<&'a str> {
    (!s.is_empty() && s.len() <= max && s.chars().all(ok)).then_some(s)
}

fn safe_name(s: &str) -> Option<&str> {
    safe(s, &|c| c.is_ascii_alphanumeric() || " ._-".contains(c), 128)
}

const APPCMD: &str = r"%windir%\system32\inetsrv\appcmd.exe";

/// The site name for `appcmd`: W3C logs name sites `W3SVC<id>`, appcmd wants the name.
fn site_arg(sites: &[String]) -> (String, Option<String>) {
    match sites {
        [one] if !one.to_ascii_uppercase().starts_with("W3SVC") => match safe_name(one) {
            Some(n) => (format!("\"{n}\""), None),
            None => ("\"<site name>\"".into(), None),
        },
        [one] => {
            let id = one[5..].to_string();
            let hint = id
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| format!("{APPCMD} list site /id:{id}"));
            ("\"<site name>\"".into(), hint)
        }
        _ => (
            "\"<site name>\"".into(),
            Some(format!("{APPCMD} list sites")),
        ),
    }
}

fn recommend(
    t: &Tables,
    incidents: &[Incident],
    suspects: &[Suspect],
    rapid: &[RapidFail],
    corr: &Correlation,
) -> Vec<Recommendation> {
    let _ = corr;
    let mut out: Vec<Recommendation> = Vec::new();
    let crashed = incidents.iter().any(|i| i.kind == IncidentKind::Crash);
    if !crashed && incidents.is_empty() {
        return out;
    }
    let pool_of = |s: &Suspect| -> Option<String> {
        incidents
            .iter()
            .find(|i| s.incidents.contains(&i.id))
            .and_then(|i| i.app_pool.clone())
    };
    let sites_of = |s: &Suspect| -> Vec<String> {
        let mut v: Vec<String> = incidents
            .iter()
            .filter(|i| s.incidents.contains(&i.id))
            .flat_map(|i| i.sites.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let heap = incidents.iter().any(|i| {
        i.exception_code
            .is_some_and(|c| exceptions::kind(c.0) == ExceptionKind::HeapCorruption)
    });
    for s in suspects
        .iter()
        .filter(|s| s.confidence != Confidence::Low || suspects.len() <= 3)
        .take(4)
    {
        let m = s.module.as_ref();
        let version = m
            .and_then(|m| m.version.clone())
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        let third = m.and_then(|m| m.third_party).unwrap_or(!matches!(
            s.kind,
            SuspectKind::SystemModule | SuspectKind::ManagedCode
        ));
        let name = safe(
            &s.name,
            &|c| c.is_ascii_alphanumeric() || "._-".contains(c),
            128,
        );
        match s.kind {
            SuspectKind::RequestPattern => out.extend(pattern_rules(t, s, &sites_of(s))),
            SuspectKind::SystemModule => out.push(Recommendation {
                suspect: Some(s.id.clone()),
                action: format!(
                    "{} is a Windows module and usually the victim of memory corrupted by another module: enable full PageHeap for w3wp.exe on one server (it slows the process and raises memory use), reproduce, and capture full dumps; the next dump then names the corrupting module",
                    s.name
                ),
                commands: vec!["gflags /p /enable w3wp.exe /full".into(), "gflags /p /disable w3wp.exe".into()],
            }),
            SuspectKind::ManagedCode => out.push(Recommendation {
                suspect: Some(s.id.clone()),
                action: "The crash is in managed code: read the .NET Runtime 1026 and ASP.NET 1309 events for the exception type and stack, and capture a full dump to inspect it with SOS (!pe, !clrstack)".into(),
                commands: vec![format!("procdump -accepteula -ma -e -n 3 <pid>")],
            }),
            kind => {
                let mut commands = Vec::new();
                let vendor = m.and_then(|m| m.vendor.clone()).map(|v| format!(", {v}")).unwrap_or_default();
                let action = if third {
                    format!(
                        "Contact the vendor of {}{} ({}{}) with the dumps and this report, and ask for a fix or update; to confirm, remove it on one server and watch whether the crashes stop",
                        s.name,
                        version,
                        kind.label(),
                        vendor
                    )
                } else {
                    format!("{}{} ({}) faults: check for a Windows / IIS update that contains a fix", s.name, version, kind.label())
                };
                match kind {
                    SuspectKind::IsapiFilter => {
                        commands.push(format!("{APPCMD} list config -section:system.webServer/isapiFilters"));
                        commands.push(format!("{APPCMD} set config -section:system.webServer/isapiFilters /-\"[name='<filter name from the list>']\""));
                    }
                    SuspectKind::IsapiExtension => {
                        commands.push(format!("{APPCMD} list config -section:system.webServer/handlers"));
                        commands.push(format!("{APPCMD} list config -section:system.webServer/security/isapiCgiRestriction"));
                    }
                    SuspectKind::ComObject => {
                        if let Some(n) = name {
                            commands.push(format!("reg query HKCR\\CLSID /s /f {n}"));
                        }
                    }
                    SuspectKind::ManagedPinvoke => {}
                    _ => {
                        commands.push(format!("{APPCMD} list config -section:system.webServer/globalModules"));
                        commands.push(format!("{APPCMD} list modules"));
                    }
                }
                out.push(Recommendation { suspect: Some(s.id.clone()), action, commands });
            }
        }
        let _ = pool_of(s);
    }
    if heap
        && !out
            .iter()
            .any(|r| r.commands.iter().any(|c| c.starts_with("gflags")))
    {
        out.push(Recommendation {
            suspect: None,
            action: "A crash is a heap corruption (0xc0000374): the faulting stack is the victim. Enable full PageHeap for w3wp.exe on one server and capture full dumps: the next crash then stops in the module that corrupts the heap".into(),
            commands: vec!["gflags /p /enable w3wp.exe /full".into()],
        });
    }
    for r in rapid {
        let pool = r
            .app_pool
            .as_deref()
            .and_then(safe_name)
            .map_or_else(|| "<pool>".to_string(), str::to_string);
        let still = r.end.is_none();
        out.push(Recommendation {
            suspect: None,
            action: format!(
                "Rapid-fail protection disabled app pool {}{}: after removing the cause, start it again; keep rapid-fail on (it protects the server), and capture dumps instead of disabling it",
                r.app_pool.as_deref().unwrap_or("(unknown)"),
                if still { " and it was still down when the logs end" } else { "" }
            ),
            commands: vec![format!("{APPCMD} start apppool /apppool.name:\"{pool}\"")],
        });
    }
    if crashed {
        let pools: BTreeSet<String> = incidents
            .iter()
            .filter_map(|i| i.app_pool.as_deref().and_then(safe_name))
            .map(str::to_string)
            .collect();
        let pool = match pools.len() {
            0 => "<pool>".to_string(),
            1 => pools.iter().next().cloned().unwrap_or_default(),
            _ => pools.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
        };
        let no_dump = incidents
            .iter()
            .any(|i| i.kind == IncidentKind::Crash && !i.sources.contains(&SourceTag::Dump));
        out.push(Recommendation {
            suspect: None,
            action: format!(
                "{}apture full dumps at the next crash (3 of them, to compare): attach ProcDump to the worker of app pool {} (find its pid with appcmd list wp), or add a DebugDiag 2 crash rule for the pool (full userdump on second-chance exceptions)",
                if no_dump { "Some crashes have no dump: c" } else { "C" },
                pool
            ),
            commands: vec![
                if pools.len() == 1 { format!("{APPCMD} list wp /apppool.name:\"{pool}\"") } else { format!("{APPCMD} list wp") },
                "procdump -accepteula -ma -e -n 3 <pid>".into(),
            ],
        });
    }
    out
}

/// Request-filtering rules for a pattern suspect, built only from values that are safe to
/// paste into XML and a shell (see [`safe`]).
fn pattern_rules(t: &Tables, s: &Suspect, sites: &[String]) -> Vec<Recommendation> {
    let Some(p) = &s.pattern else {
        return Vec::new();
    };
    // Facts from the matching in-flight requests.
    let mut qmin = usize::MAX;
    let mut fl = 0u8;
    let mut stems: BTreeSet<String> = BTreeSet::new();
    let mut clients: BTreeSet<String> = BTreeSet::new();
    let mut uas: BTreeSet<String> = BTreeSet::new();
    let mut methods: BTreeSet<String> = BTreeSet::new();
    let mut sizes: Vec<u64> = Vec::new();
    for e in &s.evidence {
        let req = find_request(t, e);
        let Some(req) = req else { continue };
        let (stem, query) = super::pattern::RequestView::split_uri(&req.uri);
        stems.insert(stem.to_ascii_lowercase());
        if let Some(q) = query {
            qmin = qmin.min(q.len());
            fl |= unusual(q.as_bytes());
        }
        fl |= unusual(stem.as_bytes());
        clients.extend(req.client);
        uas.extend(req.user_agent);
        methods.extend(req.method);
        sizes.extend(req.bytes_in);
    }
    let (site, hint) = site_arg(sites);
    let mut commands: Vec<String> = Vec::new();
    if let Some(h) = hint {
        commands.push(h);
    }
    let section =
        format!("{APPCMD} set config {site} -section:system.webServer/security/requestFiltering");
    let rule = format!("w3triage-{}", s.id);
    let mut xml = String::new();
    let mut action = String::new();
    match p.feature {
        FeatureKind::Query | FeatureKind::Path | FeatureKind::Route => {
            let deny: Vec<(&str, &str)> = [
                (flags::U_ENCODING, "%u"),
                (flags::NUL, "%00"),
                (flags::ANGLE, "<"),
                (flags::QUOTE, "'"),
                (flags::DOTDOT, ".."),
                (flags::DOUBLE_ENCODING, "%25"),
                (flags::CRLF, "%0d"),
            ]
            .into_iter()
            .filter(|(f, _)| fl & f != 0)
            .map(|(f, d)| (d, flags::ALL.iter().find(|a| a.0 == f).map_or("", |a| a.2)))
            .collect();
            let ext = stems
                .iter()
                .filter_map(|st| {
                    st.rsplit('/')
                        .next()
                        .and_then(|last| last.rsplit_once('.'))
                        .map(|(_, e)| e.to_string())
                })
                .find(|e| safe(e, &|c| c.is_ascii_alphanumeric(), 10).is_some());
            if !deny.is_empty() && p.feature == FeatureKind::Query {
                action = format!(
                    "Block the pattern with request filtering: deny query strings containing {}{}",
                    deny.iter()
                        .map(|(d, m)| format!("{d} ({m})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    ext.as_ref()
                        .map(|e| format!(" on .{e} URLs"))
                        .unwrap_or_default()
                );
                xml.push_str(&format!("          <filteringRule name=\"{rule}\" scanUrl=\"false\" scanQueryString=\"true\">\n"));
                if let Some(e) = &ext {
                    xml.push_str(&format!("            <appliesTo>\n              <add fileExtension=\".{e}\" />\n            </appliesTo>\n"));
                }
                xml.push_str("            <denyStrings>\n");
                for (d, _) in &deny {
                    let d = d
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('\'', "&apos;");
                    xml.push_str(&format!("              <add string=\"{d}\" />\n"));
                }
                xml.push_str("            </denyStrings>\n          </filteringRule>\n");
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <filteringRules>\n{xml}        </filteringRules>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!("{section} /+\"filteringRules.[name='{rule}',scanUrl='False',scanQueryString='True']\""));
                if let Some(e) = &ext {
                    commands.push(format!("{section} /+\"filteringRules.[name='{rule}'].appliesTo.[fileExtension='.{e}']\""));
                }
                for (d, _) in &deny {
                    if *d != "'" && *d != "<" {
                        commands.push(format!("{section} /+\"filteringRules.[name='{rule}'].denyStrings.[string='{d}']\""));
                    } else {
                        commands.push(format!("(add the deny string {d} in the XML above: it cannot be quoted safely on an appcmd line)"));
                    }
                }
            } else if qmin != usize::MAX && qmin > 256 {
                let limit = ((qmin - 1) / 64 * 64).max(256);
                action = format!(
                    "Cap the query string below the crashing requests' length ({qmin}+ bytes): requestLimits maxQueryString={limit} (check first that legitimate queries are shorter; the baseline has {} requests of this shape)",
                    p.baseline
                );
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <requestLimits maxQueryString=\"{limit}\" />\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!("{section} /requestLimits.maxQueryString:{limit}"));
            } else if let [stem] = stems.iter().collect::<Vec<_>>().as_slice()
                && let Some(stem) = safe(
                    stem,
                    &|c| c.is_ascii_alphanumeric() || "/._-".contains(c),
                    200,
                )
            {
                action = format!(
                    "If the page can be taken offline until it is fixed, deny the URL {stem} with request filtering"
                );
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <denyUrlSequences>\n          <add sequence=\"{stem}\" />\n        </denyUrlSequences>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!(
                    "{section} /+\"denyUrlSequences.[sequence='{stem}']\""
                ));
            }
        }
        FeatureKind::Client => {
            if let [ip] = clients.iter().collect::<Vec<_>>().as_slice()
                && let Some(ip) = safe(ip, &|c| c.is_ascii_hexdigit() || ".:".contains(c), 45)
            {
                action = format!(
                    "Block the client {ip} (check it is not a proxy or load balancer first: then block by X-Forwarded-For at the edge)"
                );
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <ipSecurity allowUnlisted=\"true\">\n        <add ipAddress=\"{ip}\" allowed=\"false\" />\n      </ipSecurity>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!("{APPCMD} set config {site} -section:system.webServer/security/ipSecurity /+\"[ipAddress='{ip}',allowed='False']\" /commit:apphost"));
            }
        }
        FeatureKind::UserAgent => {
            let token = uas.iter().next().and_then(|ua| {
                let prefix: String = ua
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || " ./;()_-".contains(*c))
                    .take(60)
                    .collect();
                (prefix.trim().len() >= 8).then(|| prefix.trim().to_string())
            });
            if let Some(tok) = token {
                action = format!(
                    "Deny requests whose User-Agent contains \"{tok}\" with a request-filtering rule"
                );
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <filteringRules>\n          <filteringRule name=\"{rule}\" scanUrl=\"false\" scanQueryString=\"false\">\n            <scanHeaders>\n              <add requestHeader=\"User-Agent\" />\n            </scanHeaders>\n            <denyStrings>\n              <add string=\"{tok}\" />\n            </denyStrings>\n          </filteringRule>\n        </filteringRules>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!("{section} /+\"filteringRules.[name='{rule}',scanUrl='False',scanQueryString='False']\""));
                commands.push(format!("{section} /+\"filteringRules.[name='{rule}'].scanHeaders.[requestHeader='User-Agent']\""));
                commands.push(format!(
                    "{section} /+\"filteringRules.[name='{rule}'].denyStrings.[string='{tok}']\""
                ));
            }
        }
        FeatureKind::Size => {
            if let Some(&min) = sizes.iter().min()
                && min > 1024
            {
                let limit = (min - 1) / 1024 * 1024;
                action = format!(
                    "Cap the request size below the crashing requests' size ({min}+ bytes): requestLimits maxAllowedContentLength={limit}"
                );
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <requestLimits maxAllowedContentLength=\"{limit}\" />\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!(
                    "{section} /requestLimits.maxAllowedContentLength:{limit}"
                ));
            }
        }
        FeatureKind::Method => {
            if let [m] = methods.iter().collect::<Vec<_>>().as_slice()
                && let Some(m) = safe(m, &|c| c.is_ascii_uppercase() || c == '_' || c == '-', 32)
                && !matches!(m, "GET" | "POST" | "HEAD")
            {
                action = format!("Deny the {m} verb if the site does not need it");
                xml = format!(
                    "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <verbs allowUnlisted=\"true\">\n          <add verb=\"{m}\" allowed=\"false\" />\n        </verbs>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
                );
                commands.push(format!(
                    "{section} /+\"verbs.[verb='{m}',allowed='False']\""
                ));
            }
        }
    }
    if action.is_empty() {
        return vec![Recommendation {
            suspect: Some(s.id.clone()),
            action: format!(
                "Find which code path serves {} and test it with the in-flight requests listed in the evidence (replay them on a test server with a debugger attached)",
                s.name
            ),
            commands,
        }];
    }
    if !fl.eq(&0) && p.feature != FeatureKind::Query {
        action.push_str(&format!(" (the requests also carry {})", flag_labels(fl)));
    }
    let mut cmds = Vec::new();
    if !xml.is_empty() {
        cmds.push(xml);
    }
    cmds.extend(commands);
    vec![Recommendation {
        suspect: Some(s.id.clone()),
        action,
        commands: cmds,
    }]
}

/// The request an evidence row points to (for pattern facts).
fn find_request(t: &Tables, e: &EvidenceRef) -> Option<RequestRef> {
    match e.source {
        EvidenceKind::W3c => (0..t.requests.len())
            .find(|&i| t.requests.file[i] == e.file && t.requests.offset.get(i) == e.offset)
            .map(|i| w3c_ref(t, i)),
        EvidenceKind::Httperr => (0..t.httperr.len())
            .find(|&i| t.httperr.file[i] == e.file && t.httperr.offset[i] == e.offset)
            .map(|i| httperr_ref(t, i)),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
    incidents: &[Incident],
    suspects: &[Suspect],
    rapid: &[RapidFail],
    pattern_notes: Vec<String>,
) -> Summary {
    let _ = (opts, tl);
    let crashes: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Crash)
        .collect();
    let mut thin = Vec::new();
    let mut notes = pattern_notes;
    let range = match (corr.first, corr.last) {
        (Some(a), Some(b)) => format!(" from {} to {}", fmt_utc(a), fmt_utc(b)),
        _ => String::new(),
    };
    let headline;
    if crashes.is_empty() {
        let others = if incidents.is_empty() {
            String::new()
        } else {
            format!(
                " ({} other incident{}: hang or dump without an exception, listed below)",
                incidents.len(),
                if incidents.len() == 1 { "" } else { "s" }
            )
        };
        headline = format!(
            "No crash found in {} input file{} ({} requests, {} HTTPERR rows{}): no worker-process crash event, crash dump or HTTPERR abandonment{}.",
            t.files.len(),
            if t.files.len() == 1 { "" } else { "s" },
            t.requests.len(),
            t.httperr.len(),
            range,
            others
        );
        if t.files.is_empty() {
            thin.push("no input files".into());
        }
    } else {
        let mut pools: Vec<String> = crashes
            .iter()
            .map(|i| {
                i.app_pool
                    .clone()
                    .unwrap_or_else(|| "(unknown pool)".into())
            })
            .collect();
        pools.sort();
        pools.dedup();
        let mut servers: Vec<String> = crashes.iter().filter_map(|i| i.server.clone()).collect();
        servers.sort();
        servers.dedup();
        let times: Vec<i64> = crashes.iter().filter_map(|i| i.time.map(|t| t.0)).collect();
        let when = match (times.iter().min(), times.iter().max()) {
            (Some(a), Some(b)) if a == b => format!(" at {}", fmt_utc(*a)),
            (Some(a), Some(b)) => format!(" between {} and {}", fmt_utc(*a), fmt_utc(*b)),
            _ => String::new(),
        };
        let mut h = format!(
            "{} crash{} of app pool {}{}{}.",
            crashes.len(),
            if crashes.len() == 1 { "" } else { "es" },
            pools.join(", "),
            if servers.is_empty() {
                String::new()
            } else {
                format!(" on {}", servers.join(", "))
            },
            when
        );
        if let Some(m) = suspects
            .iter()
            .find(|s| s.kind.is_module() && s.kind != SuspectKind::SystemModule)
        {
            h.push_str(&format!(
                " Faulting module: {} ({}) in {} of {} crashes ({} confidence).",
                m.name,
                m.kind.label(),
                m.incidents.len(),
                m.incidents_considered,
                m.confidence
            ));
        } else if let Some(m) = suspects
            .iter()
            .find(|s| s.kind == SuspectKind::SystemModule)
        {
            h.push_str(&format!(
                " Faulting module: {} (a Windows module: likely a victim of memory corruption).",
                m.name
            ));
        }
        if let Some(p) = suspects
            .iter()
            .find(|s| s.kind == SuspectKind::RequestPattern)
        {
            let st = p.pattern.as_ref();
            h.push_str(&format!(
                " In flight at {} of {} crashes: {}{}.",
                p.incidents.len(),
                p.incidents_considered,
                p.name,
                st.filter(|s| s.lift > 0.0)
                    .map(|s| format!(
                        " (lift {}, adjusted p = {})",
                        fmt_lift(s.lift),
                        fmt_p(s.p_adjusted)
                    ))
                    .unwrap_or_default()
            ));
        }
        let corroborated = suspects
            .iter()
            .find(|s| s.kind.is_module() && !s.corroborated_by.is_empty());
        if let Some(c) = corroborated {
            h.push_str(&format!(
                " {} is corroborated by {} (in flight at every crash where the module faults).",
                c.id,
                c.corroborated_by.join(", ")
            ));
        }
        for r in rapid {
            let refused = r.refused_httperr + r.refused_w3c;
            match r.duration_s {
                Some(d) => h.push_str(&format!(
                    " Rapid-fail protection took app pool {} offline at {} for {} ({} requests refused).",
                    r.app_pool.as_deref().unwrap_or("?"),
                    fmt_utc(r.start.0),
                    fmt_duration(d * 1000),
                    refused
                )),
                None => h.push_str(&format!(
                    " Rapid-fail protection took app pool {} offline at {}; it was still offline when the logs end ({} requests refused).",
                    r.app_pool.as_deref().unwrap_or("?"),
                    fmt_utc(r.start.0),
                    refused
                )),
            }
        }
        headline = h;
        if crashes.len() == 1 {
            thin.push("only one crash: nothing to compare across crashes, so no suspect can be confirmed by repetition".into());
        }
        let no_dump = crashes
            .iter()
            .filter(|i| !i.sources.contains(&SourceTag::Dump))
            .count();
        if no_dump > 0 {
            thin.push(format!(
                "{no_dump} of {} crashes have no dump",
                crashes.len()
            ));
        }
        let httperr_only = crashes
            .iter()
            .filter(|i| i.sources.iter().all(|s| *s == SourceTag::Httperr))
            .count();
        if httperr_only > 0 {
            thin.push(format!(
                "{httperr_only} crash{} known only from HTTPERR abandonments (no dump, no event)",
                if httperr_only == 1 { " is" } else { "es are" }
            ));
        }
        if !suspects.iter().any(|s| s.kind.is_module()) {
            thin.push("no faulting module known: no dump and no Application Error 1000 event for any crash".into());
        }
        let no_req = crashes.iter().filter(|i| i.in_flight_total == 0).count();
        if no_req > 0 {
            thin.push(format!(
                "{no_req} of {} crashes have no request in flight in the logs",
                crashes.len()
            ));
        }
        if t.requests.is_empty() {
            thin.push(
                "no W3C access logs: no baseline traffic, request patterns cannot be tested".into(),
            );
        }
    }
    if !tl.unattached.is_empty() {
        notes.push(format!(
            "{} crash-related event(s) matched no incident (see other evidence)",
            tl.unattached.len()
        ));
    }
    let issues = t.issues.len();
    if issues > 0 {
        notes.push(format!("{issues} input issue(s): see coverage"));
    }
    Summary {
        crashed: !crashes.is_empty(),
        headline,
        incidents: incidents.len(),
        crashes: crashes.len(),
        rapid_fail_episodes: rapid.len(),
        thin_evidence: thin,
        notes,
    }
}
