//! FREB traces joined to their incidents: evidence rows, and the module they name.

use super::category::finding;
use super::*;
use crate::analyze::model::Category;
use crate::analyze::timeline;

/// The FREB traces of an incident: same server, and the same worker (pid, else pool) around a
/// crash or hang, or the same site within a burst's window.
fn traces_of<'a>(t: &'a Tables, inc: &Incident) -> Vec<(usize, &'a crate::tables::TraceRow)> {
    let Some(Ts(t0)) = inc.time else {
        return Vec::new();
    };
    let (from, to) = match inc.end {
        Some(Ts(e)) => (t0 - 60_000, e + 60_000),
        None => (t0 - 10 * 60_000, t0 + 60_000),
    };
    t.traces
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let when = r.start.or(r.end).is_some_and(|s| s >= from && s <= to);
            let same = match (inc.pid, r.pid, &inc.burst) {
                (Some(a), Some(b), _) => a == b,
                (_, _, Some(b)) => {
                    timeline::eq_ci(b.site.as_deref(), r.site.as_deref()) == Some(true)
                        || timeline::eq_ci(inc.app_pool.as_deref(), r.app_pool.as_deref())
                            == Some(true)
                }
                _ => timeline::eq_ci(inc.app_pool.as_deref(), r.app_pool.as_deref()) == Some(true),
            };
            when && same && timeline::server_ok(inc.server.as_deref(), r.server.as_deref())
        })
        .collect()
}

/// "FREB: GET /x → 500.19 set by module M in NOTIFICATION (0x8007000d)".
fn trace_sentence(r: &crate::tables::TraceRow) -> String {
    let status = match (r.status, r.substatus) {
        (Some(s), Some(sub)) => format!("{s}.{sub}"),
        (Some(s), None) => s.to_string(),
        _ => "?".into(),
    };
    let url = cut(r.url.as_deref().unwrap_or("?"), 200);
    let verb = r.verb.as_deref().unwrap_or("?");
    match (&r.error_module, &r.running_module) {
        (Some(m), _) => format!(
            "FREB: {verb} {url} → {status} set by module {} in {}{}",
            cut(m, 100),
            r.error_notification.as_deref().unwrap_or("?"),
            r.error_code
                .as_deref()
                .map_or(String::new(), |c| format!(" ({c})"))
        ),
        (None, Some(m)) => format!(
            "FREB: {verb} {url} was still in module {} ({}) after {} ms",
            cut(m, 100),
            r.running_notification.as_deref().unwrap_or("?"),
            r.time_taken_ms.map_or("?".into(), |t| t.to_string())
        ),
        _ => format!("FREB: {verb} {url} → {status}"),
    }
}

/// Joins the FREB traces to their incidents: evidence rows, and for a burst whose codes did
/// not decide it, the module the traces name.
pub(super) fn join_traces(t: &Tables, inc: &mut Incident) {
    let traces = traces_of(t, inc);
    if traces.is_empty() {
        return;
    }
    for (_, r) in traces.iter().take(5) {
        inc.evidence.push(EvidenceRef {
            file: r.file,
            path: path_of(t, r.file),
            offset: r.offset,
            source: EvidenceKind::Freb,
            what: trace_sentence(r),
        });
    }
    let mut by_module: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in &traces {
        if let Some(m) = r.error_module.as_deref().or(r.running_module.as_deref()) {
            *by_module.entry(m).or_default() += 1;
        }
    }
    let Some((module, n)) = by_module
        .into_iter()
        .max_by_key(|(m, n)| (*n, std::cmp::Reverse(*m)))
    else {
        return;
    };
    let example = traces
        .iter()
        .find(|(_, r)| r.error_module.as_deref().or(r.running_module.as_deref()) == Some(module))
        .map(|(_, r)| trace_sentence(r))
        .unwrap_or_default();
    let why = format!(
        "{n} of {} traces name module {}: {example}",
        traces.len(),
        cut(module, 100)
    );
    match (inc.category.name, &inc.burst) {
        (Category::Unknown, Some(_)) => {
            inc.category = finding(Category::FaultingModule, vec![why], Vec::new());
        }
        (Category::Unknown, None) => inc.notes.push(why),
        _ => inc.category.decided_by.push(why),
    }
}
