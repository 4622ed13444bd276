//! What holds across servers, from each server's own analysis: the same faulting module on
//! several servers, the module inventory that sets the crashing servers apart, the same request
//! pattern in flight at their crashes, outages at the same time, and servers whose errors stand
//! out. Each finding carries its statistic; a finding on few servers says it is thin.

use super::facts::{FarmFacts, ServerFacts};
use super::model::{Finding, FindingKind};
use crate::analyze::stats::{binom_sf, ln_choose, poisson_sf};
use crate::analyze::{IncidentKind, SuspectKind};
use std::collections::{BTreeMap, BTreeSet};

/// Incidents closer than this on different servers are one farm-wide moment.
const TOGETHER_MS: i64 = 10 * 60_000;
/// A finding on fewer servers than this is thin.
const SOLID_SERVERS: usize = 3;

/// Every finding, strongest kinds first, numbered `F1`, ….
pub fn find(facts: &FarmFacts) -> Vec<Finding> {
    let servers = facts.servers.as_slice();
    let mut out = Vec::new();
    shared_modules(servers, &mut out);
    shared_patterns(servers, &mut out);
    simultaneous(servers, &mut out);
    outliers(servers, &mut out);
    outage_outliers(servers, &mut out);
    for (i, f) in out.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    out
}

fn finding(kind: FindingKind, title: String) -> Finding {
    Finding {
        id: String::new(),
        kind,
        title,
        servers: Vec::new(),
        compared_with: Vec::new(),
        detail: Vec::new(),
        incidents: Vec::new(),
        thin: false,
        action: String::new(),
    }
}

/// A module's crashes across the farm.
#[derive(Default)]
struct Faults {
    name: String,
    /// Server → its incidents where the module faults.
    servers: BTreeMap<String, Vec<String>>,
    versions: BTreeSet<String>,
    role: Option<SuspectKind>,
}

/// The module each crash accuses (the verdict's suspect, else the faulting module), by module.
fn faults_by_module(servers: &[ServerFacts]) -> BTreeMap<String, Faults> {
    let mut by: BTreeMap<String, Faults> = BTreeMap::new();
    for s in servers {
        for inc in s.outages.iter().filter(|i| i.kind == IncidentKind::Crash) {
            let Some(m) = inc.suspect_module.as_ref().or(inc.faulting_module.as_ref()) else {
                continue;
            };
            let f = by.entry(m.to_ascii_lowercase()).or_default();
            f.name.clone_from(m);
            let ids = f.servers.entry(s.name.clone()).or_default();
            ids.push(format!("{} {}", s.name, inc.id));
            if let Some(v) = &inc.faulting_module_version {
                f.versions.insert(v.clone());
            }
            if f.role.is_none() {
                f.role = s
                    .suspects
                    .iter()
                    .find(|x| x.kind.is_module() && x.name.eq_ignore_ascii_case(m))
                    .map(|x| x.kind);
            }
        }
    }
    by
}

fn shared_modules(servers: &[ServerFacts], out: &mut Vec<Finding>) {
    let by = faults_by_module(servers);
    let crashing: BTreeSet<&str> = by
        .values()
        .flat_map(|f| f.servers.keys().map(String::as_str))
        .collect();
    let mut shared: Vec<&Faults> = by.values().filter(|f| f.servers.len() >= 2).collect();
    shared.sort_by_key(|f| std::cmp::Reverse(f.servers.len()));
    for f in shared {
        let crashes: usize = f.servers.values().map(Vec::len).sum();
        let role = f.role.map_or("module", SuspectKind::label);
        let mut x = finding(
            FindingKind::SharedFaultingModule,
            format!(
                "{role} {} is the faulting module of {crashes} crashes on {} of {} servers",
                f.name,
                f.servers.len(),
                servers.len()
            ),
        );
        x.servers = f.servers.keys().cloned().collect();
        x.incidents = f.servers.values().flatten().cloned().collect();
        x.detail.push(format!(
            "each of these servers' own analysis names {} in its crashes (its verdict or the faulting module)",
            f.name
        ));
        if !f.versions.is_empty() {
            let v: Vec<&str> = f.versions.iter().map(String::as_str).collect();
            x.detail
                .push(format!("version(s) that crashed: {}", v.join(", ")));
        }
        let others: Vec<&str> = crashing
            .iter()
            .copied()
            .filter(|s| !f.servers.contains_key(*s))
            .collect();
        if !others.is_empty() {
            x.detail.push(format!(
                "crashes on {} have another faulting module: a separate cause",
                others.join(", ")
            ));
        }
        x.thin = f.servers.len() < SOLID_SERVERS;
        x.action = format!(
            "Take {} out of service, roll it back or update it on every server that loads it (one server first, to confirm the crashes stop), and send its vendor the dumps",
            f.name
        );
        out.push(x);
        if let Some(inv) = inventory_difference(servers, f) {
            out.push(inv);
        }
    }
}

/// Which versions of `module` a server's dumps list (empty: its dumps do not load it).
fn versions_loaded(s: &ServerFacts, module: &str) -> BTreeSet<String> {
    s.modules
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(module))
        .map(|(_, version)| version.clone().unwrap_or_else(|| "unknown version".into()))
        .collect()
}

/// The servers where `f` crashes against the servers with dumps where it never did: a version
/// (or the module itself) found only on the crashing side. The statistic is the chance that
/// a random split of these servers puts exactly the crashing ones on their side.
fn inventory_difference(servers: &[ServerFacts], f: &Faults) -> Option<Finding> {
    let dumped = |s: &&ServerFacts| !s.modules.is_empty();
    let (bad, good): (Vec<&ServerFacts>, Vec<&ServerFacts>) = servers
        .iter()
        .filter(dumped)
        .partition(|s| f.servers.contains_key(&s.name));
    if bad.is_empty() || good.is_empty() {
        return None;
    }
    let bad_v: BTreeSet<String> = bad
        .iter()
        .flat_map(|s| versions_loaded(s, &f.name))
        .collect();
    let good_v: BTreeSet<String> = good
        .iter()
        .flat_map(|s| versions_loaded(s, &f.name))
        .collect();
    if bad_v.is_empty() || !bad_v.is_disjoint(&good_v) {
        return None;
    }
    let p = (-ln_choose((bad.len() + good.len()) as u64, bad.len() as u64)).exp();
    let bad_list = bad_v.iter().cloned().collect::<Vec<_>>().join(", ");
    let title = format!(
        "{} {bad_list} is loaded only where it crashes ({} servers); the {} servers without these crashes {}",
        f.name,
        bad.len(),
        good.len(),
        if good_v.is_empty() {
            "do not load it".to_string()
        } else {
            format!(
                "load {}",
                good_v.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    );
    let mut x = finding(FindingKind::InventoryDifference, title);
    x.servers = bad.iter().map(|s| s.name.clone()).collect();
    x.compared_with = good.iter().map(|s| s.name.clone()).collect();
    x.detail.push(format!(
        "compared: the module lists of the dumps of {} servers (crash dumps, and dumps taken by hand on healthy servers)",
        bad.len() + good.len()
    ));
    x.detail.push(format!(
        "chance that {} of {} servers split this way by accident: p = {p:.2e}",
        bad.len(),
        bad.len() + good.len()
    ));
    let also = also_only_on(&bad, &good, &f.name);
    if !also.is_empty() {
        x.detail.push(format!(
            "also loaded only where it crashes: {}",
            also.join(", ")
        ));
    }
    x.thin = p > 0.05;
    x.action = format!(
        "Compare the change that brought {} {bad_list} to these servers (deployment, update); put one crashing server back on {} and watch",
        f.name,
        if good_v.is_empty() {
            "the configuration of the others".to_string()
        } else {
            good_v.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    );
    Some(x)
}

/// Other (module, version) pairs every crashing server's dumps list and no other server's.
fn also_only_on(bad: &[&ServerFacts], good: &[&ServerFacts], skip: &str) -> Vec<String> {
    let pairs = |s: &ServerFacts| -> BTreeSet<(String, String)> {
        s.modules
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(skip))
            .map(|(name, version)| {
                (
                    name.to_ascii_lowercase(),
                    version.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let mut common = pairs(bad[0]);
    for s in &bad[1..] {
        let p = pairs(s);
        common.retain(|x| p.contains(x));
    }
    for s in good {
        let p = pairs(s);
        common.retain(|x| !p.contains(x));
    }
    common
        .into_iter()
        .take(8)
        .map(|(n, v)| format!("{n} {v}"))
        .collect()
}

fn shared_patterns(servers: &[ServerFacts], out: &mut Vec<Finding>) {
    // pattern → server → (incidents, statistic line)
    let mut by: BTreeMap<&str, BTreeMap<&str, (Vec<String>, String)>> = BTreeMap::new();
    for s in servers {
        for sus in s
            .suspects
            .iter()
            .filter(|x| x.kind == SuspectKind::RequestPattern)
        {
            let stat = sus.pattern.as_ref().map_or_else(String::new, |p| {
                format!(
                    "{} of {} in flight, lift {:.0}, adjusted p {:.1e}",
                    p.in_flight, p.in_flight_total, p.lift, p.p_adjusted
                )
            });
            let ids = sus
                .incidents
                .iter()
                .map(|i| format!("{} {i}", s.name))
                .collect();
            by.entry(sus.name.as_str())
                .or_default()
                .insert(s.name.as_str(), (ids, stat));
        }
    }
    // Two servers sharing a client or a URL at their crashes is common by chance on a big farm;
    // it counts from three servers, or when it is every server that crashed.
    let crashed = servers
        .iter()
        .filter(|s| s.outages.iter().any(|i| i.kind == IncidentKind::Crash))
        .count();
    let mut shared: Vec<_> = by
        .into_iter()
        .filter(|(_, on)| on.len() >= SOLID_SERVERS || (on.len() >= 2 && on.len() == crashed))
        .collect();
    shared.sort_by_key(|(_, on)| std::cmp::Reverse(on.len()));
    for (pattern, on) in shared {
        let mut x = finding(
            FindingKind::SharedRequestPattern,
            format!(
                "the same requests were in flight at crashes on {} servers: {pattern}",
                on.len()
            ),
        );
        for (server, (ids, stat)) in &on {
            x.servers.push(server.to_string());
            x.incidents.extend(ids.iter().cloned());
            x.detail.push(format!("{server}: {stat}"));
        }
        x.thin = on.len() < SOLID_SERVERS;
        x.action = "Block or filter these requests at the balancer or with request filtering on every server until the module that dies on them is fixed".into();
        out.push(x);
    }
}

fn simultaneous(servers: &[ServerFacts], out: &mut Vec<Finding>) {
    let mut all: Vec<(i64, &str, String)> = servers
        .iter()
        .flat_map(|s| {
            s.outages.iter().filter_map(move |i| {
                let t = i.ts?;
                Some((
                    t,
                    s.name.as_str(),
                    format!("{} {} ({})", s.name, i.id, i.kind.name()),
                ))
            })
        })
        .collect();
    if all.len() < SOLID_SERVERS || servers.len() < SOLID_SERVERS {
        return;
    }
    all.sort();
    let span = (all[all.len() - 1].0 - all[0].0).max(TOGETHER_MS);
    let windows = (span / TOGETHER_MS).max(1) as f64;
    let need = SOLID_SERVERS.max(servers.len().div_ceil(4));
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 - all[i].0 <= TOGETHER_MS {
            j += 1;
        }
        let group = &all[i..=j];
        let on: BTreeSet<&str> = group.iter().map(|g| g.1).collect();
        if on.len() >= need {
            // Outages spread evenly over the span would put this many in one window by chance
            // with this probability (Poisson, Bonferroni over the windows).
            let expected = all.len() as f64 / windows;
            let p = (poisson_sf(group.len() as u64, expected) * windows).min(1.0);
            if p < 1e-3 {
                let minutes = (group[group.len() - 1].0 - group[0].0) / 60_000;
                let mut x = finding(
                    FindingKind::SimultaneousOutage,
                    format!(
                        "outages on {} of {} servers within {minutes} minutes from {}",
                        on.len(),
                        servers.len(),
                        crate::analyze::time::fmt_utc(group[0].0)
                    ),
                );
                x.servers = on.iter().map(|s| s.to_string()).collect();
                x.incidents = group.iter().map(|g| g.2.clone()).collect();
                x.detail.push(format!(
                    "{} outages in one {}-minute window where {expected:.2} are expected; adjusted p {p:.1e}",
                    group.len(),
                    TOGETHER_MS / 60_000
                ));
                x.action = "Look for what these servers share at that moment: a deployment or configuration push, a shared dependency (database, session state, file share), the balancer".into();
                out.push(x);
            }
        }
        i = j + 1;
    }
}

/// A finding about server `s` against every other server of the farm.
fn outlier(servers: &[ServerFacts], s: &ServerFacts, title: String) -> Finding {
    let mut x = finding(FindingKind::OutlierServer, title);
    x.servers.push(s.name.clone());
    x.compared_with = servers
        .iter()
        .filter(|o| o.name != s.name)
        .map(|o| o.name.clone())
        .collect();
    x
}

fn outliers(servers: &[ServerFacts], out: &mut Vec<Finding>) {
    let (all_req, all_err): (u64, u64) = servers
        .iter()
        .fold((0, 0), |(r, e), s| (r + s.requests(), e + s.errors_5xx()));
    let tests = servers.len().max(1);
    for s in servers {
        let (requests, errors_5xx) = (s.requests(), s.errors_5xx());
        let (rest_req, rest_err) = (all_req - requests, all_err - errors_5xx);
        if requests < 1_000 || rest_req < 1_000 || errors_5xx < 20 {
            continue;
        }
        // A farm with no 5xx elsewhere still has a rate: half an error over its requests.
        let rate = (rest_err as f64).max(0.5) / rest_req as f64;
        let own = errors_5xx as f64 / requests as f64;
        let lift = own / rate;
        let p = (binom_sf(errors_5xx, requests, rate) * tests as f64).min(1.0);
        if lift < 5.0 || p >= 1e-3 {
            continue;
        }
        let mut x = outlier(
            servers,
            s,
            format!(
                "{} answers {:.2} % of its requests with 5xx, {lift:.0}× the rest of the farm ({:.3} %)",
                s.name,
                own * 100.0,
                rate * 100.0
            ),
        );
        x.detail.push(format!(
            "{} of {} requests; binomial test against the rest's rate, adjusted p {p:.1e}",
            errors_5xx, requests
        ));
        x.action = format!(
            "Compare {}'s configuration and deployment with a healthy server's (appcmd list config, the site's web.config), and read its own report",
            s.name
        );
        out.push(x);
    }
}

/// A server with far more outages than the others have on average: something of its own
/// (its configuration, its hardware, a workload only it gets), whatever each outage's cause.
fn outage_outliers(servers: &[ServerFacts], out: &mut Vec<Finding>) {
    if servers.len() < SOLID_SERVERS {
        return;
    }
    let counts: Vec<u64> = servers.iter().map(|s| s.outages.len() as u64).collect();
    let total: u64 = counts.iter().sum();
    let tests = servers.len() as f64;
    for (s, &n) in servers.iter().zip(&counts) {
        // The others' mean, with half an outage spread over them when they had none.
        let others = (servers.len() - 1) as f64;
        let mean = ((total - n) as f64).max(0.5) / others;
        let p = (poisson_sf(n, mean) * tests).min(1.0);
        if n < 3 || (n as f64) < 5.0 * mean || p >= 1e-3 {
            continue;
        }
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for i in &s.outages {
            *kinds.entry(i.kind.name()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, c)| format!("{c} {k}")).collect();
        let mut x = outlier(
            servers,
            s,
            format!(
                "{} had {n} outages ({}), where the other servers had {mean:.1} on average",
                s.name,
                kinds.join(", ")
            ),
        );
        x.incidents = s
            .outages
            .iter()
            .map(|i| format!("{} {}", s.name, i.id))
            .collect();
        x.detail.push(format!(
            "Poisson test against the others' mean, adjusted p {p:.1e} (Bonferroni over {} servers)",
            servers.len()
        ));
        x.action = format!(
            "Read {}'s own report, and compare what it has that the others do not: its modules, configuration, hardware and the traffic routed to it",
            s.name
        );
        out.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Incident, Ts};
    use crate::farm::ServerSummary;

    fn server(name: &str, crashes_at: &[i64], requests: u64, errors: u64) -> ServerSummary {
        let incidents = crashes_at
            .iter()
            .enumerate()
            .map(|(k, &t)| Incident {
                id: format!("I{}", k + 1),
                kind: IncidentKind::Crash,
                time: Some(Ts(t)),
                ..Default::default()
            })
            .collect();
        let mut counts = BTreeMap::new();
        counts.insert("2025-03-10".to_string(), (requests, errors));
        let mut s = ServerSummary::of(
            name.into(),
            &crate::analyze::analyze(&Default::default(), &Default::default()),
            counts,
        );
        s.incidents = incidents;
        s
    }

    const T0: i64 = 1_741_600_800_000; // 2025-03-10T10:00Z
    const HOUR: i64 = 3_600_000;

    #[test]
    fn outages_on_many_servers_at_once_are_one_farm_wide_moment() {
        let mut servers: Vec<ServerSummary> = (0..12)
            .map(|i| server(&format!("WEB{i:02}"), &[T0 + i * 7 * HOUR], 10_000, 5))
            .collect();
        for (i, s) in servers.iter_mut().enumerate().take(5) {
            s.incidents[0].time = Some(Ts(T0 + 30 * HOUR + i as i64 * 90_000));
        }
        let f = find(&FarmFacts::of(&servers));
        let sim: Vec<&Finding> = f
            .iter()
            .filter(|f| f.kind == FindingKind::SimultaneousOutage)
            .collect();
        assert_eq!(sim.len(), 1, "{f:?}");
        assert_eq!(
            sim[0].servers,
            ["WEB00", "WEB01", "WEB02", "WEB03", "WEB04"]
        );
        assert!(
            sim[0].title.contains("within 6 minutes"),
            "{}",
            sim[0].title
        );
    }

    #[test]
    fn outages_spread_over_the_week_are_not_farm_wide() {
        let servers: Vec<ServerSummary> = (0..12)
            .map(|i| server(&format!("WEB{i:02}"), &[T0 + i * 5 * HOUR], 10_000, 5))
            .collect();
        assert!(find(&FarmFacts::of(&servers)).is_empty());
    }

    #[test]
    fn a_server_with_far_more_outages_than_the_others_stands_out() {
        let mut servers: Vec<ServerSummary> = (0..10)
            .map(|i| {
                let at: Vec<i64> = (0..(i % 2)).map(|k| T0 + (i * 13 + k) * HOUR).collect();
                server(&format!("WEB{i:02}"), &at, 10_000, 5)
            })
            .collect();
        assert!(
            find(&FarmFacts::of(&servers)).is_empty(),
            "0 or 1 outage each is ordinary"
        );
        let at: Vec<i64> = (0..7).map(|k| T0 + 200 * HOUR + k * 3 * HOUR).collect();
        servers[4] = server("WEB04", &at, 10_000, 5);
        let f = find(&FarmFacts::of(&servers));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::OutlierServer);
        assert!(
            f[0].title.starts_with("WEB04 had 7 outages (7 crash)"),
            "{}",
            f[0].title
        );
        assert_eq!(f[0].incidents.len(), 7);
    }

    #[test]
    fn a_server_with_far_more_errors_than_the_rest_stands_out_and_noise_does_not() {
        let mut servers: Vec<ServerSummary> = (0..6)
            .map(|i| server(&format!("WEB{i:02}"), &[], 20_000, 4 + i as u64))
            .collect();
        assert!(
            find(&FarmFacts::of(&servers)).is_empty(),
            "ordinary differences"
        );
        servers[3]
            .day_counts
            .insert("2025-03-10".into(), (20_000, 600));
        let f = find(&FarmFacts::of(&servers));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::OutlierServer);
        assert_eq!(f[0].servers, ["WEB03"]);
        assert_eq!(f[0].compared_with.len(), 5);
    }
}
