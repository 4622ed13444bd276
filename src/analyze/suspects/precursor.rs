//! Precursor requests: requests that had *completed* shortly before a crash and stand out —
//! a huge upload, a request of minutes — such as an upload that leaves the worker without
//! memory and the next allocation fails. The in-flight test cannot see them (they no longer
//! span the crash).
//!
//! A precursor is a route (method + path template) whose standing-out requests completed within
//! [`WINDOW_MS`] before at least two crashes. It is tested against how often such a request
//! completes in any window of that length (a Poisson rate from the whole log): a binomial tail
//! over the crashes, Bonferroni-corrected for the routes tested. A fitting exception (out of
//! memory after huge uploads) corroborates it.

use super::*;
use crate::analyze::correlate::{key, row_view};
use crate::analyze::pattern::feature_text;
use crate::tables::{Millis, Requests};
use rayon::prelude::*;
use std::collections::HashSet;

/// How long before a crash a completed request counts as its precursor.
pub(super) const WINDOW_MS: i64 = 120_000;
/// A request body this large stands out (`cs-bytes`).
const LARGE_BYTES: u64 = 10 << 20;
/// A request this slow stands out (`time-taken`).
const SLOW_MS: u64 = 60_000;
/// A response this large stands out (`sc-bytes`).
const LARGE_RESPONSE: u64 = 100 << 20;

/// Why a request stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standout {
    Large,
    LargeResponse,
    Slow,
    /// The method and path of a request abandoned at a crash: the same request, completed once
    /// just before.
    Abandoned,
}

impl Standout {
    fn of(r: &Requests, i: usize) -> Option<Standout> {
        if r.cs_bytes.get(i).is_some_and(|b| b >= LARGE_BYTES) {
            Some(Standout::Large)
        } else if r.sc_bytes.get(i).is_some_and(|b| b >= LARGE_RESPONSE) {
            Some(Standout::LargeResponse)
        } else if r.time_taken_ms.get(i).is_some_and(|ms| ms >= SLOW_MS) {
            Some(Standout::Slow)
        } else {
            None
        }
    }
    fn label(self) -> &'static str {
        match self {
            Standout::Large => "cs-bytes ≥ 10 MB",
            Standout::LargeResponse => "sc-bytes ≥ 100 MB",
            Standout::Slow => "time-taken ≥ 60 s",
            Standout::Abandoned => "as a request abandoned at a crash",
        }
    }
}

/// `(method, path)` of the requests abandoned at two crashes or more, lower-cased (a
/// precursor precedes at least two crashes; a shape abandoned once cannot be one).
fn abandoned_shapes(t: &Tables, tl: &Tl, crashes: &[(usize, Millis)]) -> Vec<(String, String)> {
    let h = &t.httperr;
    let mut at: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for &(ci, _) in crashes {
        for &i in &tl.clusters[ci].abandoned {
            let (Some(uri), Some(method)) = (h.uri.get(i), h.method.get(i)) else {
                continue;
            };
            let path = uri.split('?').next().unwrap_or(uri);
            let shape = (method.to_ascii_lowercase(), path.to_ascii_lowercase());
            at.entry(shape).or_default().insert(ci);
        }
    }
    at.into_iter()
        .filter(|(_, crashes)| crashes.len() >= 2)
        .map(|(shape, _)| shape)
        .collect()
}

/// One route's standing-out requests: all of them, and those before each crash.
#[derive(Default)]
struct Route {
    total: u64,
    before: BTreeMap<usize, Vec<usize>>,
}

/// The precursor suspects.
pub(super) fn precursor_suspects(
    t: &Tables,
    tl: &Tl,
    corr: &Correlation,
    ids: &[String],
    incidents: &[Incident],
) -> Vec<Suspect> {
    let crashes: Vec<(usize, Millis)> = tl
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == IncidentKind::Crash)
        .filter_map(|(ci, c)| Some((ci, c.time?)))
        .collect();
    let (Some(first), Some(last)) = (corr.first, corr.last) else {
        return Vec::new();
    };
    if crashes.len() < 2 {
        return Vec::new();
    }
    let routes = standouts(t, tl, corr, &crashes);
    let tested: Vec<(&(Standout, String), &Route)> =
        routes.iter().filter(|(_, r)| r.before.len() >= 2).collect();
    let span = (last - first).max(WINDOW_MS) as f64;
    let mut found: Vec<Found> = Vec::new();
    for ((why, route), r) in &tested {
        // The chance that a window of WINDOW_MS holds at least one such request.
        let p0 = 1.0 - (-(r.total as f64) * WINDOW_MS as f64 / span).exp();
        let (k, n) = (r.before.len() as u64, crashes.len() as u64);
        let p = stats::binom_sf(k, n, p0);
        let p_adj = (p * tested.len() as f64).min(1.0);
        if p_adj >= ALPHA {
            continue;
        }
        found.push(Found {
            why: *why,
            route,
            r,
            stats: (k, n, p_adj, span),
            same_client: same_client(t, tl, r),
        });
    }
    // A route that stands out by size or duration is named for that; its being abandoned at
    // a crash too is the same suspect, not a second one.
    let by_size: Vec<String> = found
        .iter()
        .filter(|f| f.why != Standout::Abandoned)
        .map(|f| f.route.to_ascii_lowercase())
        .collect();
    found.retain(|f| {
        f.why != Standout::Abandoned || !by_size.contains(&f.route.to_ascii_lowercase())
    });
    found
        .iter()
        .map(|f| suspect(t, ids, incidents, f))
        .collect()
}

/// What a precursor suspect is made from.
struct Found<'a> {
    why: Standout,
    route: &'a str,
    r: &'a Route,
    /// Crashes it precedes, crashes in all, adjusted p, log span (ms).
    stats: (u64, u64, f64, f64),
    /// Crashes (cluster index) where the precursor's client also had a request abandoned.
    same_client: Vec<usize>,
}

/// The crashes at which a client that sent the route's standing-out request shortly before also
/// had a request abandoned (its next upload, say): the same client, still at it.
fn same_client(t: &Tables, tl: &Tl, r: &Route) -> Vec<usize> {
    r.before
        .iter()
        .filter(|(ci, rows)| {
            let abandoned: Vec<&str> = tl.clusters[**ci]
                .abandoned
                .iter()
                .filter_map(|&h| t.httperr.c_ip.get(h))
                .collect();
            rows.iter()
                .filter_map(|&i| t.requests.c_ip.get(i))
                .any(|c| abandoned.contains(&c))
        })
        .map(|(ci, _)| *ci)
        .collect()
}

/// The standing-out requests by route, each with the crashes it completed shortly before.
fn standouts(
    t: &Tables,
    tl: &Tl,
    corr: &Correlation,
    crashes: &[(usize, Millis)],
) -> BTreeMap<(Standout, String), Route> {
    let shapes = abandoned_shapes(t, tl, crashes);
    let lens: HashSet<usize> = shapes.iter().map(|(_, p)| p.len()).collect();
    let keys = |r: &Requests, i: usize| {
        let by_size = Standout::of(r, i).and_then(|why| {
            let route = feature_text(FeatureKind::Route, &row_view(r, i))?.1;
            Some((why, route))
        });
        let by_shape = shape_of(r, i, &shapes, &lens).map(|shape| (Standout::Abandoned, shape));
        by_size.into_iter().chain(by_shape)
    };
    // How many of each stand out in all the logs (a fold over every row: the few that do).
    let totals = t.all_rows().fold(
        BTreeMap::<(Standout, String), u64>::new,
        |acc, r, range| {
            for i in range {
                for k in keys(r, i) {
                    *acc.entry(k).or_default() += 1;
                }
            }
        },
        |mut a, b| {
            for (k, n) in b {
                *a.entry(k).or_default() += n;
            }
            a
        },
    );
    let mut routes: BTreeMap<(Standout, String), Route> = totals
        .into_iter()
        .map(|(k, total)| {
            let before = BTreeMap::new();
            (k, Route { total, before })
        })
        .collect();
    // Those completed shortly before a crash, from the rows around the incidents.
    let r = &t.requests;
    let keyed: Vec<(usize, (Standout, String))> = (0..r.len())
        .into_par_iter()
        .flat_map_iter(|i| keys(r, i).map(move |k| (i, k)))
        .collect();
    for (i, k) in keyed {
        let ts = r.ts[i];
        let tg = corr.targets.get(&key(r.server.get(i), r.site.get(i)));
        {
            let Some(e) = routes.get_mut(&k) else {
                continue;
            };
            for &(ci, c) in crashes {
                let serves = tg.is_some_and(|tg| tg.incidents.contains(&ci));
                if serves && ts <= c && c - ts <= WINDOW_MS {
                    e.before.entry(ci).or_default().push(i);
                }
            }
        }
    }
    routes
}

/// `METHOD /path` of row `i` when it is the shape of a request abandoned at a crash. Cheap
/// tests first (the stem's length, the method's category), the text only for a likely match:
/// this runs on every request row.
fn shape_of(
    r: &Requests,
    i: usize,
    shapes: &[(String, String)],
    lens: &HashSet<usize>,
) -> Option<String> {
    if lens.is_empty() {
        return None;
    }
    if !lens.contains(&r.uri_stem.byte_len(i)?) {
        return None;
    }
    let stem = r.uri_stem.get_bytes(i)?;
    let method = r.method.get(i)?;
    shapes
        .iter()
        .any(|(m, p)| m.eq_ignore_ascii_case(method) && p.as_bytes().eq_ignore_ascii_case(stem))
        .then(|| format!("{method} {}", String::from_utf8_lossy(stem)))
}

fn suspect(t: &Tables, ids: &[String], incidents: &[Incident], f: &Found) -> Suspect {
    let (k, n, p_adj, span) = f.stats;
    let name = format!("{} ({})", cut(f.route, 200), f.why.label());
    let oom: Vec<&str> =
        f.r.before
            .keys()
            .filter_map(|&ci| incidents.get(ci))
            .filter(|i| {
                i.managed_exception
                    .as_ref()
                    .is_some_and(|m| m.type_name.ends_with("OutOfMemoryException"))
            })
            .map(|i| i.id.as_str())
            .collect();
    let corroborated = f.why == Standout::Large && !oom.is_empty();
    let mut reason = format!(
        "{name} completed within {} s before {k} of {n} crashes; {} such requests in {} of logs make that chance p = {} (adjusted for the routes tested)",
        WINDOW_MS / 1000,
        f.r.total,
        fmt_duration(span as i64),
        fmt_p(p_adj)
    );
    if corroborated {
        reason.push_str(&format!(
            "; the crashes at {} were out of memory, as a huge request body would leave the worker",
            oom.join(", ")
        ));
    }
    if !f.same_client.is_empty() {
        let at: Vec<&str> = f.same_client.iter().map(|&ci| ids[ci].as_str()).collect();
        reason.push_str(&format!(
            "; at {} the same client also had a request abandoned by the crash",
            at.join(", ")
        ));
    }
    reason.push('.');
    let (confidence, confidence_why) = if corroborated {
        (
            Confidence::High,
            "huge request bodies before out-of-memory crashes".to_string(),
        )
    } else if k == n && p_adj < 1e-3 {
        (
            Confidence::High,
            format!("before every one of {n} crashes and adjusted p < 0.001"),
        )
    } else {
        (
            Confidence::Medium,
            format!("before {k} of {n} crashes, significant after correction"),
        )
    };
    let mut evidence: Vec<EvidenceRef> =
        f.r.before
            .values()
            .flatten()
            .map(|&i| req_evidence(&w3c_ref(t, i)))
            .collect();
    sort_evidence(&mut evidence);
    let evidence_total = evidence.len();
    evidence.truncate(10);
    Suspect {
        id: String::new(),
        kind: SuspectKind::Precursor,
        name,
        confidence,
        confidence_why,
        incidents: f.r.before.keys().map(|&ci| ids[ci].clone()).collect(),
        incidents_considered: n as usize,
        reason,
        evidence,
        evidence_total,
        module: None,
        pattern: None,
        corroborated_by: Vec::new(),
    }
}
