//! What to do next for outages that are not crashes, per category (`notes/outages.md` §7–§8):
//! capture the right dump, collect the counters that decide, roll back a change, trace the
//! failing URL. Names go into commands only through `safe_name`.

use super::recommend::{APPCMD, safe_name, site_arg};
use super::*;
use crate::analyze::model::{BurstFacts, Category};

/// The counter log that tells the categories apart, 15-second samples as CSV.
fn counter_log() -> [String; 2] {
    [
        r#"logman create counter w3triage -c "\Processor(_Total)\% Processor Time" "\System\Context Switches/sec" "\Memory\Available MBytes" "\Process(w3wp*)\% Processor Time" "\Process(w3wp*)\Private Bytes" "\Process(w3wp*)\Thread Count" "\Process(w3wp*)\ID Process" "\Web Service(_Total)\Get Requests/sec" "\HTTP Service Request Queues(*)\CurrentQueueSize" "\W3SVC_W3WP(*)\Active Requests" "\ASP.NET\Requests Queued" "\Active Server Pages\Requests Queued" -si 15 -f csv -o C:\PerfLogs\w3triage.csv"#.into(),
        "logman start w3triage".into(),
    ]
}

fn pool_arg(inc: &Incident) -> String {
    inc.app_pool
        .as_deref()
        .and_then(safe_name)
        .map_or_else(|| "<pool>".into(), str::to_string)
}

fn hang(inc: &Incident) -> Recommendation {
    let pool = pool_arg(inc);
    let mut commands = vec![
        format!("{APPCMD} list requests /elapsed:10000"),
        format!("{APPCMD} list wp /apppool.name:\"{pool}\""),
        "procdump -accepteula -ma -n 3 -s 10 <pid>".into(),
        format!("{APPCMD} set apppool \"{pool}\" /failure.orphanWorkerProcess:true"),
    ];
    commands.extend(counter_log());
    Recommendation {
        suspect: None,
        action: format!(
            "{}: WAS found the worker of pool {} unresponsive. Next time, see which requests are stuck and take three hang dumps 10 s apart before it is killed (or keep the hung worker with orphanWorkerProcess and dump it then); a counter log tells thread locking (low CPU) from a runaway thread or a thread storm (high CPU)",
            inc.id, pool
        ),
        commands,
    }
}

fn leak(inc: &Incident) -> Recommendation {
    let pool = pool_arg(inc);
    let mut commands = vec![
        format!("{APPCMD} list wp /apppool.name:\"{pool}\""),
        "procdump -accepteula -ma -m 1500 -n 2 <pid>".into(),
        "gflags -i w3wp.exe +ust".into(),
    ];
    commands.extend(counter_log());
    Recommendation {
        suspect: None,
        action: format!(
            "{}: pool {} reached its memory limit. Log Private Bytes to get the growth rate, turn on user-mode stack tracing (or a DebugDiag memory leak rule) and take dumps as it grows, 1,500 MB committed here; the memory-limit recycle is the stop-gap meanwhile",
            inc.id, pool
        ),
        commands,
    }
}

/// A Failed Request Tracing rule for the burst's status on its site.
fn trace_rule(inc: &Incident, b: &BurstFacts) -> Recommendation {
    let (site, hint) = site_arg(&inc.sites);
    let status = b
        .dominant
        .as_deref()
        .and_then(|d| d.split('.').next())
        .filter(|s| s.len() == 3 && s.bytes().all(|c| c.is_ascii_digit()))
        .unwrap_or("500");
    let mut commands: Vec<String> = hint.into_iter().collect();
    commands.push(format!("{APPCMD} configure trace {site} /enablesite"));
    commands.push(format!(
        "{APPCMD} configure trace {site} /enable /statuscodes:{status}"
    ));
    Recommendation {
        suspect: None,
        action: format!(
            "{}: turn on Failed Request Tracing for status {status} on the site; each trace names the module and notification that set the error, and w3triage reads the fr*.xml files",
            inc.id
        ),
        commands,
    }
}

/// A COM component that faults inside classic ASP (ASP 0115): name it with a dump at the
/// first-chance access violation, or let the fault crash the worker into a crash rule.
fn asp_component(inc: &Incident) -> Recommendation {
    let (site, hint) = site_arg(&inc.sites);
    let mut commands: Vec<String> = hint.into_iter().collect();
    commands.push(format!("{APPCMD} list wp"));
    commands.push("procdump -accepteula -ma -e 1 -f C0000005 -n 3 <pid>".into());
    commands.push(format!(
        "{APPCMD} set config {site} -section:system.webServer/asp /exceptionCatchEnable:false /commit:apphost"
    ));
    Recommendation {
        suspect: None,
        action: format!(
            "{}: a COM component called from classic ASP faulted and ASP caught it (ASP 0115). Dump the worker at its first-chance access violation to name the component, or turn ASP's exception catching off for a while so the fault becomes a crash a dump rule catches; then check the component's threading model (Apartment or Both) and host it out of process (a COM+ server application) until it is fixed",
            inc.id
        ),
        commands,
    }
}

fn configuration(inc: &Incident) -> Recommendation {
    let (site, hint) = site_arg(&inc.sites);
    let mut commands: Vec<String> = hint.into_iter().collect();
    commands.push(format!("{APPCMD} list backup"));
    commands.push(format!(
        "{APPCMD} restore backup \"<the backup before the change>\""
    ));
    commands.push(format!(
        "{APPCMD} list config {site} /section:system.webServer/modules"
    ));
    Recommendation {
        suspect: None,
        action: format!(
            "{}: the errors point at the configuration. Compare the site's web.config and applicationHost.config with the last good copy (IIS keeps history in inetpub\\history) and roll back the change; back up before editing",
            inc.id
        ),
        commands,
    }
}

fn overload(inc: &Incident) -> Recommendation {
    let pool = pool_arg(inc);
    let mut commands = vec![
        format!("{APPCMD} list requests /elapsed:5000"),
        "procdump -accepteula -ma -n 3 -s 10 <pid>".into(),
    ];
    commands.extend(counter_log());
    Recommendation {
        suspect: None,
        action: format!(
            "{}: requests were refused for capacity (pool {}). Raise queueLength or appConcurrentRequestLimit only after ruling out a hang: if requests pile up while CPU is low, the worker is blocked (take hang dumps); if CPU is high too, it is load or a runaway thread",
            inc.id, pool
        ),
        commands,
    }
}

fn runaway(inc: &Incident) -> Recommendation {
    let pool = pool_arg(inc);
    Recommendation {
        suspect: None,
        action: format!(
            "{}: a runaway thread. Take three dumps 10 s apart while CPU is high: the thread whose CPU time grows by about the interval is the one looping, and its stack names the module (w3triage reads the dumps' thread times)",
            inc.id
        ),
        commands: vec![
            format!("{APPCMD} list wp /apppool.name:\"{pool}\""),
            "procdump -accepteula -ma -c 80 -s 10 -n 3 <pid>".into(),
        ],
    }
}

fn thread_storm(inc: &Incident) -> Recommendation {
    Recommendation {
        suspect: None,
        action: format!(
            "{}: too many threads contend for the processors. Lower the thread limits (classic ASP: processorThreadMax, 25 per processor by default; ASP.NET: MaxConcurrentRequestsPerCPU), then find why requests pile up (a slow dependency)",
            inc.id
        ),
        commands: vec![
            format!("{APPCMD} list config -section:system.webServer/asp"),
            format!(
                "{APPCMD} set config -section:system.webServer/asp /limits.processorThreadMax:25 /commit:apphost"
            ),
            r"reg query HKLM\SOFTWARE\Microsoft\ASP.NET\4.0.30319.0 /v MaxConcurrentRequestsPerCPU"
                .into(),
        ],
    }
}

fn locking(inc: &Incident) -> Recommendation {
    let mut r = hang(inc);
    r.action = format!(
        "{}: requests were blocked, not busy (thread locking). In a hang dump, look for what most request threads wait on: one lock held by another thread, or a call into an apartment-threaded COM object. Make the COM object free-threaded (ADO: adofre15.reg) or host it out of process (a COM+ server application)",
        inc.id
    );
    r
}

/// Advice for every incident that is not a crash, one per incident (the first few).
pub(super) fn outage_advice(incidents: &[Incident]) -> Vec<Recommendation> {
    incidents
        .iter()
        .filter_map(|inc| match (inc.kind, inc.category.name, &inc.burst) {
            (IncidentKind::Crash, _, _) => None,
            (_, Category::RunawayThread, _) => Some(runaway(inc)),
            (_, Category::HighThreadCount, _) => Some(thread_storm(inc)),
            (_, Category::ThreadLocking, _) => Some(locking(inc)),
            (IncidentKind::Hang | IncidentKind::Cpu, _, _) => Some(hang(inc)),
            (IncidentKind::Recycle, _, _) => Some(leak(inc)),
            (_, Category::Configuration, Some(_)) => Some(configuration(inc)),
            (_, Category::FaultingModule, Some(_))
                if inc
                    .category
                    .missing
                    .iter()
                    .any(|m| m == super::category::ASP_FAULT_MISSING) =>
            {
                Some(asp_component(inc))
            }
            (IncidentKind::Overload, _, _) => Some(overload(inc)),
            (IncidentKind::ErrorBurst, _, Some(b)) => Some(trace_rule(inc, b)),
            _ => None,
        })
        .take(4)
        .collect()
}

/// A configuration change named as a suspect: look at what changed, and roll it back.
pub(super) fn config_change_advice(s: &Suspect) -> Recommendation {
    Recommendation {
        suspect: Some(s.id.clone()),
        action: format!(
            "Find what changed at {}: the configuration history (inetpub\\history holds the last copies of applicationHost.config), deployments and module installs of that hour; roll it back on one server and watch whether the errors stop",
            s.name
        ),
        commands: vec![
            format!("{APPCMD} list backup"),
            r"dir %SystemDrive%\inetpub\history".into(),
        ],
    }
}
