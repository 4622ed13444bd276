//! The headline and the thin-evidence notes.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn summarize(
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
    let others: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.kind != IncidentKind::Crash)
        .collect();
    let mut thin = Vec::new();
    let mut notes = pattern_notes;
    let range = match (corr.first, corr.last) {
        (Some(a), Some(b)) => format!(" from {} to {}", fmt_utc(a), fmt_utc(b)),
        _ => String::new(),
    };
    let headline = if crashes.is_empty() {
        if t.files.is_empty() {
            thin.push("no input files".into());
        }
        no_crash_headline(t, &others, &range)
    } else {
        thin.extend(thin_evidence(t, &crashes, suspects));
        let mut h = crash_headline(&crashes, suspects, rapid);
        if !others.is_empty() {
            h.push_str(&format!(" Also: {}", other_sentences(&others)));
        }
        h
    };
    if !tl.unattached.is_empty() {
        notes.push(format!(
            "{} crash-related event(s) matched no incident (see other evidence)",
            tl.unattached.len()
        ));
    }
    if !tl.other_processes.is_empty() {
        let mut names: Vec<&str> = tl
            .other_processes
            .iter()
            .filter_map(|&i| t.crashes[i].process_name.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        notes.push(format!(
            "{} crash(es) of processes IIS does not serve from ({}): listed as context, not incidents",
            tl.other_processes.len(),
            cut(&names.join(", "), 200)
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

/// "No crash found in …": what was read, and the other incidents if any.
fn no_crash_headline(t: &Tables, incidents: &[&Incident], range: &str) -> String {
    let read = format!(
        "No crash found in {} input file{} ({} requests, {} HTTPERR rows{})",
        t.files.len(),
        if t.files.len() == 1 { "" } else { "s" },
        t.all_rows().count(),
        t.httperr.len(),
        range,
    );
    if incidents.is_empty() {
        return format!(
            "{read}: no worker-process crash event, crash dump or HTTPERR abandonment, and no hang, memory-limit recycle, error burst or overload."
        );
    }
    format!(
        "{read}, but {} other incident{}: {}",
        incidents.len(),
        if incidents.len() == 1 { "" } else { "s" },
        other_sentences(incidents)
    )
}

/// One sentence per incident that is not a crash (the first few), with its category.
fn other_sentences(incidents: &[&Incident]) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<String> = incidents
        .iter()
        .take(SHOWN)
        .map(|i| other_sentence(i))
        .collect();
    if incidents.len() > SHOWN {
        out.push(format!(
            "and {} more (listed below).",
            incidents.len() - SHOWN
        ));
    }
    out.join(" ")
}

fn other_sentence(i: &Incident) -> String {
    let at = i.time.map_or("?".into(), |t| fmt_utc(t.0));
    let pool = i.app_pool.as_deref().map_or("?".into(), |p| cut(p, 80));
    let pid = i.pid.map_or(String::new(), |p| format!(" (pid {p})"));
    let what = match (&i.burst, i.kind) {
        (Some(b), kind) => {
            let label = if kind == IncidentKind::Overload {
                "overload"
            } else {
                "error burst"
            };
            let site = b
                .site
                .as_deref()
                .map_or("the server".into(), |s| cut(s, 80));
            let dominant = b
                .dominant
                .as_deref()
                .map_or(String::new(), |d| format!(", mostly {}", cut(d, 60)));
            let url = b.urls.first().map_or(String::new(), |u| {
                format!(" on {} ({})", cut(&u.value, 120), u.count)
            });
            format!(
                "{label} on {site}: {} {} from {at} to {} ({}), {:.0}× the usual rate{dominant}{url}",
                b.errors,
                b.series,
                fmt_utc(b.end.0),
                fmt_duration(b.duration_s * 1000),
                b.lift
            )
        }
        (None, IncidentKind::Hang) => {
            format!("WAS found the worker of pool {pool}{pid} hung at {at} and replaced it")
        }
        (None, IncidentKind::Recycle) => {
            format!("pool {pool}{pid} was recycled at {at} on a memory limit")
        }
        (None, IncidentKind::Cpu) => format!(
            "on {}, {}",
            i.server.as_deref().map_or("?".into(), |s| cut(s, 80)),
            i.detail
                .as_deref()
                .map_or("CPU saturated".into(), |d| cut(d, 200))
        ),
        (None, IncidentKind::Dump) => {
            format!("a dump without an exception was taken at {at} (pool {pool}{pid})")
        }
        (None, kind) => format!("{kind} at {at}"),
    };
    let c = &i.category;
    let why = c
        .decided_by
        .first()
        .map_or(String::new(), |d| format!(": {}", cut(d, 200)));
    format!("{} — {what}; category {}{why}.", i.id, c.name)
}

/// "N crashes of app pool … Faulting module … In flight … Rapid-fail …".
fn crash_headline(crashes: &[&Incident], suspects: &[Suspect], rapid: &[RapidFail]) -> String {
    let mut h = what_crashed(crashes);
    managed_sentences(&mut h, crashes);
    suspect_sentences(&mut h, suspects);
    rapid_fail_sentences(&mut h, rapid);
    h
}

/// "N crashes of app pool P on S between A and B."
fn what_crashed(crashes: &[&Incident]) -> String {
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
    format!(
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
    )
}

/// The unhandled .NET exceptions the events name, most frequent first.
fn managed_sentences(h: &mut String, crashes: &[&Incident]) {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for m in crashes.iter().filter_map(|i| i.managed_exception.as_ref()) {
        *by.entry(m.sentence()).or_default() += 1;
    }
    let mut by: Vec<(String, usize)> = by.into_iter().collect();
    by.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (sentence, n) in by.into_iter().take(3) {
        h.push_str(&format!(" {n} of {} crashes: {sentence}.", crashes.len()));
    }
}

/// The faulting module, the request pattern in flight, and whether they corroborate.
fn suspect_sentences(h: &mut String, suspects: &[Suspect]) {
    // A managed exception named by its events was said already (`managed_sentences`).
    let named_managed = |s: &Suspect| s.kind == SuspectKind::ManagedCode && s.name != MANAGED;
    if let Some(m) = suspects
        .iter()
        .find(|s| s.kind.is_module() && s.kind != SuspectKind::SystemModule)
        .filter(|s| !named_managed(s))
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
    if let Some(p) = suspects.iter().find(|s| s.kind == SuspectKind::Precursor) {
        h.push_str(&format!(
            " Before {} of {} crashes: {}.",
            p.incidents.len(),
            p.incidents_considered,
            p.name
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
}

/// Each rapid-fail episode: when the pool went offline, for how long, what was refused.
fn rapid_fail_sentences(h: &mut String, rapid: &[RapidFail]) {
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
}

/// Why the conclusions about crashes are weak, when they are.
fn thin_evidence(t: &Tables, crashes: &[&Incident], suspects: &[Suspect]) -> Vec<String> {
    let mut thin = Vec::new();
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
        thin.push(
            "no faulting module known: no dump and no Application Error 1000 event for any crash"
                .into(),
        );
    }
    let no_req = crashes.iter().filter(|i| i.in_flight_total == 0).count();
    if no_req > 0 {
        thin.push(format!(
            "{no_req} of {} crashes have no request in flight in the logs",
            crashes.len()
        ));
    }
    if t.all_rows().count() == 0 {
        thin.push(
            "no W3C access logs: no baseline traffic, request patterns cannot be tested".into(),
        );
    }
    thin
}
