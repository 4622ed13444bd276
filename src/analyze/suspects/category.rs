//! Every incident's category and the facts that decided it (`docs/report-schema.md`
//! § Categories), and the configuration changes that started a burst.

use super::traces::join_traces;
use super::*;
use crate::analyze::model::{BurstFacts, Category, CategoryFinding};
use crate::analyze::perf::{self, Perf};
use crate::analyze::timeline;
use crate::tables::{CrashKind, FileId, Millis, RecycleReason};

/// Minutes before a burst in which a configuration change is its likely start.
const CHANGE_LEAD_MS: Millis = 30 * 60_000;

/// A configuration change of the burst's server shortly before it: a config-change or
/// config-store recycle, a pool whose configuration could not be written, a module that failed
/// to load, its W3C log begun again. Row indices into `crashes`, events latest first, then log
/// restarts latest first.
fn changes_before(t: &Tables, inc: &Incident, end: Millis) -> Vec<usize> {
    let Some(Ts(start)) = inc.time else {
        return Vec::new();
    };
    let mut rows: Vec<usize> = (0..t.crashes.len())
        .filter(|&i| {
            let r = &t.crashes[i];
            let change = matches!(r.kind, CrashKind::ConfigFailure | CrashKind::LogRestart)
                || matches!(
                    r.recycle_reason,
                    Some(RecycleReason::ConfigChange | RecycleReason::ConfigStore)
                );
            change
                && timeline::server_ok(r.server.as_deref(), inc.server.as_deref())
                && r.ts
                    .is_some_and(|ts| ts >= start - CHANGE_LEAD_MS && ts <= end)
        })
        .collect();
    // A log begun again says least of what changed: the events come first.
    rows.sort_by_key(|&i| {
        let r = &t.crashes[i];
        (r.kind == CrashKind::LogRestart, std::cmp::Reverse(r.ts))
    });
    rows
}

/// What a configuration-class code means (`notes/outages.md` §4); `None` for any other code.
fn code_meaning(code: &str) -> Option<&'static str> {
    let mut parts = code.split('.');
    Some(match (parts.next(), parts.next()) {
        (Some("500"), Some("19")) => "the configuration data is invalid or cannot be read",
        (Some("500"), Some("21")) => "a module named in the configuration is not recognized",
        (Some("500"), Some("22" | "23" | "24")) => {
            "an ASP.NET setting that does not apply in integrated mode"
        }
        (Some("500"), Some("50" | "51" | "52" | "53")) => "a URL Rewrite rule fails",
        (Some("401"), _) => "authentication fails",
        (Some("403"), _) => "access is denied",
        _ => return None,
    })
}

pub(super) fn finding(
    name: Category,
    decided_by: Vec<String>,
    missing: Vec<String>,
) -> CategoryFinding {
    CategoryFinding {
        name,
        decided_by,
        missing,
    }
}

const COUNTERS_MISSING: &str = "Performance Monitor counters of the worker (Process(w3wp)\\% Processor Time, System\\Context Switches/sec, Process(w3wp)\\Thread Count) tell thread locking (low CPU) from a runaway thread (high CPU, few context switches) or too many threads (high CPU, context switches above ~10,000/s)";

fn burst_category(t: &Tables, inc: &Incident) -> CategoryFinding {
    let b = inc.burst.as_ref().expect("a burst incident has its facts");
    let mut decided = Vec::new();
    let dominant = b.dominant.clone().unwrap_or_default();
    let dom_n = b.codes.first().map_or(0, |c| c.count);
    if let Some(meaning) = code_meaning(&dominant) {
        decided.push(format!(
            "{dom_n} of {} errors were {dominant}: {meaning}",
            b.errors
        ));
        if dominant.starts_with("401") || dominant.starts_with("403") {
            decided.push(format!("from {} different clients", b.clients));
        }
    }
    if decided.is_empty()
        && let Some(f) = asp_fault(t, inc, b)
    {
        return f;
    }
    for &i in changes_before(t, inc, b.end.0).iter().take(3) {
        decided.push(change_sentence(t, i, inc));
    }
    if !decided.is_empty() {
        return finding(Category::Configuration, decided, Vec::new());
    }
    let url = b.urls.first().map_or("-", |u| u.value.as_str());
    let status = dominant.split('.').next().unwrap_or("500");
    let mut missing = vec![format!(
        "a Failed Request Tracing rule for status {status} on {url} names the module and notification that set the error"
    )];
    if inc.kind == IncidentKind::Overload {
        missing.push(COUNTERS_MISSING.into());
    }
    finding(Category::Unknown, Vec::new(), missing)
}

/// A burst whose errors mostly logged ASP 0115 (in their query, or as Application-log events
/// of the same minutes when the log has no `cs-uri-query`): a COM component faulted inside
/// classic ASP, which caught the fault, so no crash and no dump tell of it.
fn asp_fault(t: &Tables, inc: &Incident, b: &BurstFacts) -> Option<CategoryFinding> {
    use crate::knowledge::asp;
    let logged = b
        .asp_errors
        .first()
        .filter(|c| asp::is_component_fault(&c.value) && 2 * c.count >= b.errors)
        .map(|c| c.count);
    let events = asp_events(t, inc, b);
    let first = match (logged, events.len()) {
        (Some(n), _) => format!("{n} of {} errors logged ASP 0115", b.errors),
        (None, n) if n >= 5 => format!(
            "{n} ASP 0115 events in the Application log during the {} errors",
            b.errors
        ),
        _ => return None,
    };
    let pages: Vec<String> = b
        .urls
        .iter()
        .take(3)
        .map(|u| format!("{} ({})", cut(&u.value, 200), u.count))
        .collect();
    let mut why = vec![
        format!("{first}: {}", asp::meaning("ASP_0115").unwrap_or_default()),
        format!("the pages that call it: {}", pages.join(", ")),
    ];
    if logged.is_some() && !events.is_empty() {
        why.push(format!(
            "{} ASP 0115 events in the Application log at the same time",
            events.len()
        ));
    }
    Some(finding(
        Category::FaultingModule,
        why,
        vec![ASP_FAULT_MISSING.into()],
    ))
}

/// ASP 0115 events of the burst's server from a minute before it to a minute after.
fn asp_events(t: &Tables, inc: &Incident, b: &BurstFacts) -> Vec<usize> {
    let Some(Ts(start)) = inc.time else {
        return Vec::new();
    };
    (0..t.crashes.len())
        .filter(|&i| {
            let r = &t.crashes[i];
            r.kind == CrashKind::UnhandledException
                && r.provider
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case("Active Server Pages"))
                && r.exception_name.as_deref() == Some("ASP 0115")
                && timeline::server_ok(r.server.as_deref(), inc.server.as_deref())
                && r.ts
                    .is_some_and(|ts| ts >= start - 60_000 && ts <= b.end.0 + 60_000)
        })
        .collect()
}

pub(super) const ASP_FAULT_MISSING: &str = "which component: a dump at the first-chance access violation (procdump -accepteula -ma -e 1 -f C0000005 <pid>) names the module, as does turning ASP's exception catching off (exceptionCatchEnable=false) so the fault crashes the worker into a crash rule";

/// "WAS 5080 at 10:01:12 UTC: pool X recycled for a configuration change, 3 min before the
/// errors began".
fn change_sentence(t: &Tables, i: usize, inc: &Incident) -> String {
    let r = &t.crashes[i];
    if r.kind == CrashKind::LogRestart {
        return format!(
            "{} at {}: {}, {}",
            evidence_label(r),
            r.ts.map_or("?".into(), fmt_utc),
            r.detail
                .as_deref()
                .map_or_else(|| "the W3C log was begun again".into(), |d| cut(d, 300)),
            lead_of(r, inc)
        );
    }
    let what = match (r.kind, r.recycle_reason) {
        (_, Some(RecycleReason::ConfigChange)) => "recycled because its configuration changed",
        (_, Some(RecycleReason::ConfigStore)) => {
            "recycled after WAS found problems with the configuration store"
        }
        _ if r.faulting_module.is_some() => "failed to load",
        _ if r
            .provider
            .as_deref()
            .is_some_and(|p| p.to_ascii_lowercase().starts_with("asp.net")) =>
        {
            "reported a configuration error"
        }
        _ => "could not be given its configuration",
    };
    let lead = lead_of(r, inc);
    let whose = match (r.app_pool.as_deref(), r.faulting_module.as_deref()) {
        (Some(p), Some(m)) => format!("pool {} (module {}) ", cut(p, 100), cut(m, 100)),
        (Some(p), None) => format!("pool {} ", cut(p, 100)),
        (None, Some(m)) => format!("module {} ", cut(m, 100)),
        (None, None) => "the application ".into(),
    };
    format!(
        "{} at {}: {whose}{what}, {lead}",
        evidence_label(r),
        r.ts.map_or("?".into(), fmt_utc),
    )
}

/// "3 min before the errors began".
fn lead_of(r: &CrashRow, inc: &Incident) -> String {
    match (r.ts, inc.time) {
        (Some(a), Some(Ts(b))) if a <= b => {
            format!("{} before the errors began", fmt_duration(b - a))
        }
        _ => "while the errors went on".into(),
    }
}

fn evidence_label(r: &CrashRow) -> String {
    if r.kind == CrashKind::LogRestart {
        return "W3C header".into();
    }
    format!(
        "{} {}",
        r.provider
            .as_deref()
            .map_or("event", |p| p.trim_start_matches("Microsoft-Windows-")),
        r.event_id.map_or(String::new(), |i| i.to_string())
    )
}

fn crash_category(inc: &Incident, suspects: &[Suspect]) -> CategoryFinding {
    if let Some(m) = &inc.managed_exception
        && m.type_name.ends_with("OutOfMemoryException")
    {
        return finding(
            Category::MemoryLeak,
            vec![format!("the worker died of {}", m.type_name)],
            vec!["Process(w3wp)\\Private Bytes over the day (a counter log) gives the growth rate, and a DebugDiag leak rule names the allocator".into()],
        );
    }
    let linked = |k: SuspectKind| {
        suspects.iter().find(|s| {
            s.kind == k && s.confidence == Confidence::High && s.incidents.contains(&inc.id)
        })
    };
    let request = linked(SuspectKind::RequestPattern).or_else(|| linked(SuspectKind::Precursor));
    // A module of its own that faults is the cause even when a request shape triggers it: the
    // fix is in the module, request filtering only a stop-gap.
    // A crash without a dump is known by the module suspect its events support (the same
    // module the other crashes' dumps name), so crashes of one cause get one category.
    let own_module = inc
        .suspect_module
        .as_deref()
        .filter(|_| inc.suspect_class.is_some_and(ModuleClass::is_third_party))
        .map(|m| format!("the crash's verdict names {}", cut(m, 200)))
        .or_else(|| {
            suspects
                .iter()
                .find(|s| {
                    s.kind.is_module()
                        && s.kind != SuspectKind::SystemModule
                        && s.confidence != Confidence::Low
                        && s.incidents.contains(&inc.id)
                })
                .map(|s| {
                    format!(
                        "{} {} ({}, {} confidence) faulted in this crash",
                        s.id,
                        cut(&s.name, 200),
                        s.kind.label(),
                        s.confidence
                    )
                })
        });
    if let Some(first) = own_module {
        let mut why = vec![first];
        why.extend(request.map(|s| format!("triggered by: {}", cut(&s.reason, 400))));
        return finding(Category::FaultingModule, why, Vec::new());
    }
    if let Some(s) = request {
        return finding(Category::BadRequest, vec![cut(&s.reason, 400)], Vec::new());
    }
    if let Some(m) = inc
        .suspect_module
        .as_deref()
        .or(inc.faulting_module.as_deref())
    {
        return finding(
            Category::FaultingModule,
            vec![format!("the crash's verdict names {}", cut(m, 200))],
            Vec::new(),
        );
    }
    if let Some(m) = &inc.managed_exception {
        return finding(
            Category::FaultingModule,
            vec![format!("managed code threw {}", m.type_name)],
            Vec::new(),
        );
    }
    finding(
        Category::Unknown,
        Vec::new(),
        vec!["a crash dump (procdump -accepteula -ma -e <pid>, or a DebugDiag crash rule) names the faulting module".into()],
    )
}

/// The window whose counters decide an incident: the 10 minutes before a hang or a dump, the
/// span of an overload or a CPU run.
fn counter_window(inc: &Incident) -> Option<(Millis, Millis)> {
    let Ts(t0) = inc.time?;
    let end = inc.end.map_or(t0, |e| e.0);
    let start = if end > t0 { t0 } else { t0 - 10 * 60_000 };
    Some((start, end))
}

/// A hang dump's verdict, when it decides: one thread's CPU time far above the others (a
/// runaway thread, and the module it runs), or hundreds of threads.
fn dump_category(inc: &Incident) -> Option<CategoryFinding> {
    let verdict = inc.verdict.as_deref()?;
    let why = vec![format!("the dump: {}", cut(verdict, 400))];
    if inc
        .bucket
        .as_deref()
        .is_some_and(|b| b.starts_with("RUNAWAY_THREAD_"))
    {
        return Some(finding(Category::RunawayThread, why, Vec::new()));
    }
    verdict
        .contains("very high thread count")
        .then(|| finding(Category::HighThreadCount, why, Vec::new()))
}

/// Threads blocked together: at least this many in one stack …
const SAME_STACK_MIN: usize = 10;

/// Thread locking from a hang dump: most of its threads in one and the same stack, and that
/// stack in request code (classic ASP, ASP.NET, an ISAPI host, COM, or a third-party module)
/// rather than the thread pools' idle waits.
fn same_stack(t: &Tables, inc: &Incident) -> Option<CategoryFinding> {
    use crate::knowledge::modules::ModuleClass as C;
    let dumps: Vec<FileId> = inc
        .evidence
        .iter()
        .filter(|e| e.source == EvidenceKind::Dump)
        .map(|e| e.file)
        .collect();
    for file in dumps {
        let threads: Vec<&crate::tables::ThreadRow> =
            t.threads.iter().filter(|r| r.file == file).collect();
        let mut groups: BTreeMap<&str, Vec<&crate::tables::ThreadRow>> = BTreeMap::new();
        for r in &threads {
            if let Some(sig) = r.top_frames.as_deref() {
                groups.entry(sig).or_default().push(r);
            }
        }
        let Some((sig, members)) = groups
            .into_iter()
            .max_by_key(|(s, m)| (m.len(), std::cmp::Reverse(*s)))
        else {
            continue;
        };
        let module = members[0].top_module.as_deref().unwrap_or("?");
        let class = t
            .modules
            .iter()
            .find(|m| m.file == file && m.name.eq_ignore_ascii_case(module))
            .map(|m| m.class);
        let in_request_code = class.is_some_and(|c| {
            matches!(
                c,
                C::ClassicAsp | C::AspnetHost | C::IsapiHost | C::ComRuntime
            ) || c.is_third_party()
        });
        if members.len() >= SAME_STACK_MIN && 2 * members.len() >= threads.len() && in_request_code
        {
            let mut why = vec![format!(
                "the dump: {} of {} threads wait in the same stack, in {} ({}): {}",
                members.len(),
                threads.len(),
                cut(module, 100),
                class.map_or("?", |c| c.label()),
                cut(sig, 300)
            )];
            if class.is_some_and(|c| c.is_third_party()) {
                why.push(format!("{} serializes the requests: the likely suspect (a single-threaded COM object or a lock it holds)", cut(module, 100)));
            }
            why.extend(waits_for(sig, module));
            return Some(finding(Category::ThreadLocking, why, Vec::new()));
        }
    }
    None
}

/// What a shared wait stack (`module+0x…` frames from the top, ` < ` between) waits for, read
/// from the modules above `module` without symbols: a COM call (`combase.dll` / `ole32.dll`
/// between the wait and the module: another apartment or process, answered one call at a time)
/// or a plain wait (only `ntdll` / `KERNELBASE` / `kernel32`: a lock or an event; naming a
/// critical section's owner needs the lock's address, which needs symbols).
fn waits_for(sig: &str, module: &str) -> Option<String> {
    let mods: Vec<&str> = sig
        .split(" < ")
        .map(|f| f.split('+').next().unwrap_or(f))
        .collect();
    let at = mods.iter().position(|m| m.eq_ignore_ascii_case(module))?;
    let above = &mods[..at];
    let is = |m: &str, names: &[&str]| names.iter().any(|n| m.eq_ignore_ascii_case(n));
    if let Some(com) = above.iter().find(|m| is(m, &["combase.dll", "ole32.dll"])) {
        return Some(format!(
            "they wait inside a COM call {} made ({} is waiting for the answer): a call into another apartment or process, which an apartment-threaded object answers one at a time",
            cut(module, 100),
            cut(com, 100)
        ));
    }
    (!above.is_empty()
        && above
            .iter()
            .all(|m| is(m, &["ntdll.dll", "kernelbase.dll", "kernel32.dll"])))
    .then(|| {
        format!(
            "they wait in Windows' wait functions right under {}, with no COM call between: a lock or an event it waits on (a critical section's owner is named only with symbols: WinDbg !locks)",
            cut(module, 100)
        )
    })
}

/// A hang, an overload, a CPU run or a dump, categorized by the counters around it when they
/// decide; else `unknown` with what would decide it.
fn counters_category(perf: &Perf, inc: &Incident) -> CategoryFinding {
    let missing = |what: &str| vec![what.to_string()];
    let dumped = inc.evidence.iter().any(|e| e.source == EvidenceKind::Dump);
    let hang_dump = if dumped {
        "the dump shows no runaway thread and no threads blocked together: read its stacks (WinDbg ~*kb, or DebugDiag's hang analysis); three dumps 10 s apart show which thread moves"
    } else {
        "a hang dump while it hangs (procdump -accepteula -ma -n 3 -s 10 <pid>) shows what the request threads wait on"
    };
    if perf.is_empty() {
        return finding(
            Category::Unknown,
            Vec::new(),
            vec![hang_dump.into(), COUNTERS_MISSING.into()],
        );
    }
    let Some((from, to)) = counter_window(inc) else {
        return finding(Category::Unknown, Vec::new(), missing(hang_dump));
    };
    match perf.window(
        inc.server.as_deref(),
        (inc.pid, inc.app_pool.as_deref()),
        from,
        to,
    ) {
        Some(w) => match perf::decide(&w) {
            Some((cat, why)) => finding(cat, why, Vec::new()),
            None if w.cpu.is_none() => finding(
                Category::Unknown,
                Vec::new(),
                missing(
                    "the counter logs hold no Processor(_Total)\\% Processor Time sample of this server around it",
                ),
            ),
            None if w.cpu.is_some_and(|c| c >= 80.0) => finding(
                Category::Unknown,
                Vec::new(),
                missing(
                    "CPU was high; System\\Context Switches/sec (not logged) tells a runaway thread from too many threads",
                ),
            ),
            None => finding(
                Category::Unknown,
                Vec::new(),
                vec![format!(
                    "CPU was {:.0} %, neither idle nor saturated: {hang_dump}",
                    w.cpu.unwrap_or_default()
                )],
            ),
        },
        None => finding(
            Category::Unknown,
            Vec::new(),
            missing("the counter logs hold nothing of this server"),
        ),
    }
}

/// A memory-limit recycle: a leak, with its growth rate when the counters have it, and the
/// same climb before earlier recycles of the day (the sawtooth of a leak that every new worker
/// starts again).
fn leak_category(t: &Tables, perf: &Perf, inc: &Incident) -> CategoryFinding {
    let limit = if inc.sources.iter().any(|s| s.to_string().ends_with("/5077")) {
        "virtual memory"
    } else {
        "private bytes"
    };
    let mut why = vec![format!("WAS recycled the worker on its {limit} limit")];
    let Some(Ts(t0)) = inc.time else {
        return finding(Category::MemoryLeak, why, vec![PRIVATE_MISSING.into()]);
    };
    let from = t0 - 2 * 3_600_000;
    match perf.growth(inc.server.as_deref(), from, t0) {
        Some(c) if c.rate > 0.0 => {
            let over = if c.start > from + 5 * 60_000 {
                format!("since its worker started at {}", fmt_utc(c.start))
            } else {
                "over the 2 h before".into()
            };
            why.push(format!(
                "Private Bytes of {} grew {:.0} MB/h {over}, to a peak of {:.0} MB",
                c.instance, c.rate, c.peak_mb
            ));
            why.extend(sawtooth(t, perf, inc, &c));
            finding(Category::MemoryLeak, why, Vec::new())
        }
        _ => finding(Category::MemoryLeak, why, vec![PRIVATE_MISSING.into()]),
    }
}

const PRIVATE_MISSING: &str =
    "Process(w3wp)\\Private Bytes over the day (a counter log) gives the growth rate";

/// Earlier climbs of the day like the last one (at least a third of its rate and 100 MB of
/// rise) that ended in a fall: "the same climb 2 times earlier, each ended by a new worker …".
fn sawtooth(
    t: &Tables,
    perf: &Perf,
    inc: &Incident,
    last: &crate::analyze::perf::Climb,
) -> Option<String> {
    let earlier: Vec<_> = perf
        .climbs(
            inc.server.as_deref(),
            last.start - 24 * 3_600_000,
            last.start,
        )
        .into_iter()
        .filter(|c| c.fell && c.rate >= last.rate / 3.0 && c.peak_mb - c.from_mb >= 100.0)
        .collect();
    if earlier.is_empty() {
        return None;
    }
    let at_recycle = earlier
        .iter()
        .filter(|c| recycle_near(t, inc, c.peak_at))
        .count();
    let peaks: Vec<String> = earlier
        .iter()
        .take(5)
        .map(|c| format!("{:.0} MB at {}", c.peak_mb, fmt_utc(c.peak_at)))
        .collect();
    let rate = earlier.iter().map(|c| c.rate).sum::<f64>() / earlier.len() as f64;
    let times = match earlier.len() {
        1 => "once".to_string(),
        n => format!("{n} times"),
    };
    Some(format!(
        "the same climb {times} earlier, each ended by a new worker ({} of them at a recycle WAS logged): peaks of {}; {rate:.0} MB/h on average — every new worker leaks again",
        at_recycle,
        peaks.join(", ")
    ))
}

/// A recycle or worker end of the incident's server within 2 minutes of `at`.
fn recycle_near(t: &Tables, inc: &Incident, at: Millis) -> bool {
    t.crashes.iter().any(|r| {
        (r.recycle_reason.is_some() || r.kind == CrashKind::Recycle)
            && timeline::server_ok(r.server.as_deref(), inc.server.as_deref())
            && r.ts.is_some_and(|ts| (ts - at).abs() <= 2 * 60_000)
    })
}

/// Minutes of requests before a hang whose time-taken is compared with the day's.
const CLIMB_MS: Millis = 10 * 60_000;

/// Requests slowing before a hang: the median `time-taken` of the hung pool's sites in the 10
/// minutes before it against the median outside that window, when it is 5× and over a second.
/// Requests that never completed are not in the log, so this is a floor of what the users saw.
fn time_taken_climb(t: &Tables, inc: &Incident) -> Option<String> {
    let Ts(t0) = inc.time?;
    let sites: Vec<&str> = inc.sites.iter().map(String::as_str).collect();
    // Every row of the pool's sites, by time-taken: a histogram (the day's values repeat), so
    // the fold stays small whatever the logs' size.
    let (mut before, rest) = t.all_rows().fold(
        || (Vec::new(), BTreeMap::<u64, u64>::new()),
        |(before, rest), r, range| {
            for i in range {
                let ok_server = timeline::server_ok(inc.server.as_deref(), r.server.get(i));
                let ok_site = sites.is_empty()
                    || r.site
                        .get(i)
                        .is_some_and(|s| sites.iter().any(|x| x.eq_ignore_ascii_case(s)));
                let Some(tt) = r.time_taken_ms.get(i) else {
                    continue;
                };
                if !(ok_server && ok_site) {
                    continue;
                }
                let ts = r.ts[i];
                if ts > t0 - CLIMB_MS && ts <= t0 {
                    before.push(tt);
                } else {
                    *rest.entry(tt).or_default() += 1;
                }
            }
        },
        |(mut b1, mut r1), (b2, r2)| {
            b1.extend(b2);
            for (k, n) in r2 {
                *r1.entry(k).or_default() += n;
            }
            (b1, r1)
        },
    );
    let n = before.len();
    before.sort_unstable();
    let b = before.get(n / 2).copied()?;
    let d = median_of(&rest)?;
    (n >= 5 && b >= 1000 && b >= 5 * d.max(1)).then(|| {
        format!(
            "time-taken climbed before it: median {} over the {n} requests of the last 10 minutes, {} the rest of the day",
            fmt_duration(b as i64),
            if d < 1000 { format!("{d} ms") } else { fmt_duration(d as i64) }
        )
    })
}

/// The value at index `n / 2` of the sorted values a histogram counts.
fn median_of(h: &BTreeMap<u64, u64>) -> Option<u64> {
    let n: u64 = h.values().sum();
    let mut seen = 0;
    for (&v, &k) in h {
        seen += k;
        if seen > n / 2 {
            return Some(v);
        }
    }
    None
}

/// A hang, a dump or a CPU run: the dump's verdict, a series of dumps, threads blocked
/// together, or the counters, in that order. A series in which no thread moved is a note.
fn hang_category(t: &Tables, perf: &Perf, inc: &mut Incident) -> CategoryFinding {
    let series = super::series::across_dumps(t, inc);
    let spin = match series {
        Some(super::series::Verdict::Spinning(s)) => Some(s),
        Some(super::series::Verdict::Waiting(s)) => {
            inc.notes.push(s);
            None
        }
        None => None,
    };
    match (dump_category(inc), spin) {
        (Some(mut f), Some(s)) if f.name == Category::RunawayThread => {
            f.decided_by.push(s);
            f
        }
        (Some(f), _) => f,
        (None, Some(s)) => finding(Category::RunawayThread, vec![s], Vec::new()),
        (None, None) => same_stack(t, inc).unwrap_or_else(|| counters_category(perf, inc)),
    }
}

/// Every incident's category, from the facts gathered so far.
pub(super) fn categorize(
    t: &Tables,
    perf: &Perf,
    incidents: &mut [Incident],
    suspects: &[Suspect],
) {
    for inc in incidents.iter_mut() {
        let f = match inc.kind {
            IncidentKind::Crash => crash_category(&*inc, suspects),
            IncidentKind::Recycle => leak_category(t, perf, &*inc),
            IncidentKind::ErrorBurst => burst_category(t, &*inc),
            IncidentKind::Overload => {
                let by_codes = burst_category(t, &*inc);
                if by_codes.name == Category::Configuration {
                    by_codes
                } else {
                    counters_category(perf, &*inc)
                }
            }
            IncidentKind::Hang | IncidentKind::Dump | IncidentKind::Cpu => {
                hang_category(t, perf, &mut *inc)
            }
        };
        inc.category = f;
        if inc.kind == IncidentKind::Hang
            && let Some(climb) = time_taken_climb(t, &*inc)
        {
            match inc.category.name {
                Category::Unknown => inc.notes.push(climb),
                _ => inc.category.decided_by.push(climb),
            }
        }
        join_traces(t, inc);
        if inc.kind == IncidentKind::Recycle {
            let lost = inc
                .in_flight
                .iter()
                .filter(|r| r.source == EvidenceKind::Httperr)
                .count();
            inc.notes.push(if lost == 0 {
                "no request lost: no HTTPERR abandonment at the recycle".into()
            } else {
                format!("{lost} request(s) lost: abandoned by the recycled worker (HTTPERR)")
            });
        }
    }
}

/// Suspects for configuration changes that started a burst: one per change, latest first.
pub(super) fn config_suspects(t: &Tables, incidents: &[Incident]) -> Vec<Suspect> {
    let mut out: Vec<Suspect> = Vec::new();
    for inc in incidents.iter().filter(|i| i.burst.is_some()) {
        let b = inc.burst.as_ref().expect("filtered");
        for i in changes_before(t, inc, b.end.0).into_iter().take(1) {
            let r = &t.crashes[i];
            let of = r
                .app_pool
                .as_deref()
                .map(|p| format!(" (pool {})", cut(p, 100)))
                .or_else(|| {
                    r.faulting_module
                        .as_deref()
                        .map(|m| format!(" (module {})", cut(m, 100)))
                })
                .unwrap_or_default();
            let name = format!(
                "{} at {}{of}",
                evidence_label(r),
                r.ts.map_or("?".into(), fmt_utc)
            );
            let urls: Vec<String> = b
                .urls
                .iter()
                .take(3)
                .map(|u| format!("{} ({})", u.value, u.count))
                .collect();
            let reason = format!(
                "{}; then {} {} errors on {} in {}, {:.0}× the usual rate (p = {}); most on {}",
                change_sentence(t, i, inc),
                b.errors,
                b.series,
                b.site.as_deref().unwrap_or("the server"),
                fmt_duration(b.duration_s * 1000),
                b.lift,
                fmt_p(b.p_adjusted),
                urls.join(", ")
            );
            // A log begun again says something restarted, not what changed: timing only.
            let near = r.kind != CrashKind::LogRestart
                && r.ts
                    .zip(inc.time)
                    .is_some_and(|(a, Ts(s))| (s - a).abs() <= 10 * 60_000);
            out.push(Suspect {
                id: String::new(),
                kind: SuspectKind::Configuration,
                name,
                confidence: if near { Confidence::Medium } else { Confidence::Low },
                confidence_why: if near {
                    "a change within 10 minutes before a significant burst of errors: timing, not proof".into()
                } else {
                    "a change up to 30 minutes before the burst: the timing is loose".into()
                },
                incidents: vec![inc.id.clone()],
                incidents_considered: 1,
                reason,
                evidence: vec![crash_evidence(t, i)],
                evidence_total: 1,
                module: None,
                pattern: None,
                corroborated_by: Vec::new(),
            });
        }
    }
    out
}
