//! Outages that are not crashes, end to end from files: a W3C log, an HTTPERR log and a System
//! event export written the way IIS and wevtutil write them, then ingest and analyze.

use std::fmt::Write as _;
use std::path::Path;
use w3triage::analyze::time::fmt_utc;
use w3triage::analyze::{Analysis, AnalyzeOptions, Category, IncidentKind, SuspectKind, analyze};
use w3triage::ingest::{IngestOptions, ingest_paths};

const W3C_HEADER: &str = "#Software: Microsoft Internet Information Services 7.5\r\n#Version: 1.0\r\n#Date: 2024-03-01 08:00:00\r\n#Fields: date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n";
const HTTPERR_HEADER: &str = "#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Date: 2024-03-01 08:00:00\r\n#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename\r\n";

/// A deterministic generator (a 64-bit LCG): realistic noise without a dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// `08:00 + minute` on 2024-03-01, with seconds.
fn clock(minute: u32, second: u32) -> String {
    format!(
        "2024-03-01 {:02}:{:02}:{:02}",
        8 + minute / 60,
        minute % 60,
        second
    )
}

fn w3c(minute: u32, second: u32, stem: &str, client: &str, code: (u16, u32, u32)) -> String {
    format!(
        "{} W3SVC1 WEB01 10.0.0.5 GET {stem} - 80 - {client} Mozilla/5.0+(Windows+NT+6.1) {} {} {} 31\r\n",
        clock(minute, second),
        code.0,
        code.1,
        code.2
    )
}

/// Eight hours of a site's ordinary day: 10 requests a minute to 40 pages from 25 clients,
/// about 3 in 1,000 failing with 500.0 and 1 in 100 a 404; `extra(minute)` adds lines.
fn day(seed: u64, extra: &dyn Fn(u32, &mut String)) -> String {
    let mut rng = Lcg(seed);
    let mut s = String::from(W3C_HEADER);
    for m in 0..480u32 {
        for k in 0..10u32 {
            let page = format!("/shop/p{}.aspx", rng.next() % 40);
            let client = format!("192.0.2.{}", 10 + rng.next() % 25);
            let code = if rng.chance(3) {
                (500, 0, 0)
            } else if rng.chance(10) {
                (404, 0, 2)
            } else {
                (200, 0, 0)
            };
            s.push_str(&w3c(m, k * 6, &page, &client, code));
        }
        extra(m, &mut s);
    }
    s
}

fn event(id: u32, minute: u32, data: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WAS' EventSourceName='WAS'/><EventID Qualifiers='16384'>{id}</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='{}Z'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>System</Channel><Computer>WEB01</Computer><Security/></System><EventData>{data}</EventData></Event>",
        clock(minute, 30).replace(' ', "T"),
        90_000 + minute
    )
}

/// A recycle or idle shutdown of the "worker process with process id of '%1' serving
/// application pool '%2'" family.
fn worker_event(id: u32, minute: u32, pid: u32, pool: &str) -> String {
    event(
        id,
        minute,
        &format!("<Data Name='ProcessID'>{pid}</Data><Data Name='AppPoolID'>{pool}</Data>"),
    )
}

/// Routine lifecycle: a time recycle, a scheduled recycle, an idle shutdown.
fn routine_events() -> String {
    [
        worker_event(5074, 60, 3100, "ShopPool"),
        worker_event(5076, 200, 3300, "ShopPool"),
        worker_event(5186, 400, 3500, "ReportsPool"),
    ]
    .concat()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn run(files: &[(&str, String)]) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    let t = ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default());
    assert!(
        t.issues.is_empty(),
        "clean inputs read cleanly: {:?}",
        t.issues
    );
    // Every scenario reports the same with its logs read again (`--in-memory-limit`).
    crate::windowed::both_ways(&[dir.path().to_path_buf()], &AnalyzeOptions::default())
}

/// 97 errors 500.19 (win32 13: the configuration data is invalid) on three pages in twelve
/// minutes from 13:00, three minutes after the pool's configuration changed.
fn config_burst(m: u32, s: &mut String) {
    if (300..312).contains(&m) {
        let n = if m == 311 { 9 } else { 8 };
        for k in 0..n {
            let page = ["/app/default.aspx", "/app/login.aspx", "/app/cart.aspx"][k % 3];
            let client = format!("198.51.100.{}", 1 + (m * 7 + k as u32) % 60);
            let _ = write!(
                s,
                "{}",
                w3c(m, 3 + k as u32 * 7, page, &client, (500, 19, 13))
            );
        }
    }
}

#[test]
fn a_routine_day_reports_nothing() {
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(7, &|_, _| {})),
        ("WEB01/events/System.xml", routine_events()),
    ]);
    assert!(a.incidents.is_empty(), "{:#?}", a.incidents);
    assert!(a.suspects.is_empty());
    assert!(
        a.summary
            .headline
            .contains("no hang, memory-limit recycle, error burst or overload"),
        "{}",
        a.summary.headline
    );
}

#[test]
fn a_burst_of_500_19_after_a_config_change_is_a_configuration_incident() {
    // The log is begun again a minute after the change (the site restarted with it).
    let restarted = |m: u32, s: &mut String| {
        if m == 298 {
            s.push_str(&W3C_HEADER.replace("08:00:00", "12:59:00"));
        }
        config_burst(m, s);
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(11, &restarted)),
        (
            "WEB01/events/System.xml",
            routine_events() + &event(5080, 297, "<Data Name='AppPoolID'>ShopPool</Data>"),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::ErrorBurst);
    assert_eq!(inc.category.name, Category::Configuration);
    let b = inc.burst.as_ref().unwrap();
    assert_eq!(b.series, "5xx");
    assert_eq!(b.dominant.as_deref(), Some("500.19.13"));
    assert_eq!(b.codes[0].count, 97, "{:?}", b.codes);
    // Ordinary 500s in the window join the burst's count, no more than a few.
    assert!((97..=100).contains(&b.errors), "{}", b.errors);
    assert_eq!(
        (fmt_utc(inc.time.unwrap().0), fmt_utc(b.end.0)),
        ("2024-03-01T13:00:03Z".into(), "2024-03-01T13:11:59Z".into())
    );
    assert!(b.lift > 20.0 && b.p_adjusted < 1e-20, "{b:?}");
    assert_eq!(b.urls.len(), 3);
    assert!(b.urls.iter().all(|u| u.value.starts_with("/app/")));
    assert!(
        inc.category.decided_by[0].starts_with("97 of "),
        "{:?}",
        inc.category.decided_by
    );
    assert!(
        inc.category
            .decided_by
            .iter()
            .any(|d| d.contains("WAS 5080")
                && d.contains("recycled because its configuration changed")
                && d.contains("2 min 33 s before the errors began")),
        "{:?}",
        inc.category.decided_by
    );
    assert!(
        inc.category
            .decided_by
            .iter()
            .any(|d| d.starts_with("W3C header at 2024-03-01T12:59:00Z")),
        "{:?}",
        inc.category.decided_by
    );
    // The change is the suspect, with timing as its only support; the log restart after it
    // says less and is not.
    assert_eq!(a.suspects.len(), 1);
    let s = &a.suspects[0];
    assert_eq!(s.kind, SuspectKind::Configuration);
    assert!(s.name.starts_with("WAS 5080 at "), "{}", s.name);
    assert_eq!(s.incidents, ["I1"]);
    assert_eq!(s.confidence.to_string(), "medium");
    assert!(a.summary.headline.starts_with("No crash found"));
    assert!(
        a.summary.headline.contains("error burst on W3SVC1")
            && a.summary.headline.contains("500.19.13")
            && a.summary.headline.contains("category configuration"),
        "{}",
        a.summary.headline
    );
}

#[test]
fn a_burst_of_plain_500s_is_not_decided_and_says_what_would_decide_it() {
    let burst = |m: u32, s: &mut String| {
        if (120..130).contains(&m) {
            for k in 0..6u32 {
                let client = format!("198.51.100.{}", k + 1);
                s.push_str(&w3c(m, 2 + k * 9, "/api/orders", &client, (500, 0, 0)));
            }
        }
    };
    let a = run(&[("WEB01/W3SVC1/u_ex240301.log", day(13, &burst))]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::ErrorBurst);
    assert_eq!(inc.category.name, Category::Unknown);
    assert!(inc.category.decided_by.is_empty());
    assert!(
        inc.category.missing[0]
            .contains("Failed Request Tracing rule for status 500 on /api/orders"),
        "{:?}",
        inc.category.missing
    );
    assert!(a.suspects.is_empty(), "no change, no suspect");

    // The same burst three minutes after the log was begun again (a restart or a deployment):
    // the restart is the change at its start, a suspect of low confidence (timing only).
    let restarted = |m: u32, s: &mut String| {
        if m == 116 {
            s.push_str(&W3C_HEADER.replace("08:00:00", "09:57:00"));
        }
        burst(m, s);
    };
    let a = run(&[("WEB01/W3SVC1/u_ex240301.log", day(13, &restarted))]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    assert_eq!(a.inputs.log_restarts, 1);
    let md = w3triage::report::render(&a, w3triage::report::Format::Markdown);
    assert!(
        md.contains("(0 dumps, 0 events, 1 W3C log restarts)"),
        "{md}"
    );
    let inc = &a.incidents[0];
    assert_eq!(inc.category.name, Category::Configuration);
    assert!(
        inc.category.decided_by[0].starts_with(
            "W3C header at 2024-03-01T09:57:00Z: the W3C log of W3SVC1 was begun again, 6 s after the request before it, IIS or the site restarted"
        ),
        "{:?}",
        inc.category.decided_by
    );
    assert!(
        inc.category.decided_by[0].ends_with("before the errors began"),
        "{:?}",
        inc.category.decided_by
    );
    assert_eq!(a.suspects.len(), 1, "{:#?}", a.suspects);
    assert_eq!(a.suspects[0].kind, SuspectKind::Configuration);
    assert_eq!(a.suspects[0].confidence.to_string(), "low");
    assert_eq!(a.suspects[0].evidence[0].source.to_string(), "w3c");
}

#[test]
fn a_401_storm_needs_many_clients() {
    let storm = |clients: u32| {
        move |m: u32, s: &mut String| {
            if (100..110).contains(&m) {
                for k in 0..20u32 {
                    let client = format!("203.0.113.{}", 1 + (m + k) % clients);
                    s.push_str(&w3c(m, k * 3, "/admin/", &client, (401, 2, 5)));
                }
            }
        }
    };
    let one = run(&[("WEB01/W3SVC1/u_ex240301.log", day(17, &storm(1)))]);
    assert!(
        one.incidents.is_empty(),
        "one client guessing passwords is not an outage: {:#?}",
        one.incidents
    );
    let many = run(&[("WEB01/W3SVC1/u_ex240301.log", day(17, &storm(40)))]);
    assert_eq!(many.incidents.len(), 1, "{:#?}", many.incidents);
    let inc = &many.incidents[0];
    assert_eq!(inc.category.name, Category::Configuration);
    assert_eq!(inc.burst.as_ref().unwrap().series, "401.2.5");
    assert!(
        inc.category
            .decided_by
            .iter()
            .any(|d| d.contains("different clients"))
    );
}

#[test]
fn a_private_bytes_recycle_is_a_memory_leak_incident() {
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(19, &|_, _| {})),
        (
            "WEB01/events/System.xml",
            routine_events() + &worker_event(5117, 180, 4242, "ShopPool"),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Recycle);
    assert_eq!(
        (inc.pid, inc.app_pool.as_deref()),
        (Some(4242), Some("ShopPool"))
    );
    assert_eq!(inc.category.name, Category::MemoryLeak);
    assert!(inc.category.decided_by[0].contains("private bytes"));
    assert!(
        a.summary
            .headline
            .contains("recycled at 2024-03-01T11:00:30")
    );
}

#[test]
fn http_sys_queue_full_and_503_2_are_one_overload() {
    let refusals = |m: u32, s: &mut String| {
        if (200..205).contains(&m) {
            for k in 0..12u32 {
                let client = format!("198.51.100.{}", k + 1);
                s.push_str(&w3c(m, k * 5, "/shop/search.aspx", &client, (503, 2, 0)));
            }
        }
    };
    let mut httperr = String::from(HTTPERR_HEADER);
    let mut rng = Lcg(5);
    for m in (0..480u32).step_by(37) {
        httperr.push_str(&format!(
            "{} 192.0.2.{} 5{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/p1.aspx - 1 Timer_ConnectionIdle -\r\n",
            clock(m, 1),
            rng.next() % 200,
            m
        ));
    }
    for m in 200..205u32 {
        for k in 0..30u32 {
            httperr.push_str(&format!(
                "{} 192.0.2.{} 6{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/search.aspx 503 1 QueueFull ShopPool\r\n",
                clock(m, k * 2),
                k + 1,
                k
            ));
        }
    }
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(23, &refusals)),
        ("WEB01/HTTPERR/httperr1.log", httperr),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Overload);
    assert_eq!(
        inc.burst.as_ref().unwrap().dominant.as_deref(),
        Some("503.2.0")
    );
    assert!(
        inc.notes
            .iter()
            .any(|n| n.contains("150 httperr") && n.contains("QueueFull")),
        "{:?}",
        inc.notes
    );
    assert!(inc.sources.iter().any(|s| s.to_string() == "httperr"));
    assert!(
        inc.category
            .missing
            .iter()
            .any(|m| m.contains("Context Switches/sec"))
    );
}

/// Eight hours of counters every 15 s from 08:00 UTC on a two-core server: machine CPU and
/// context switches from `cpu(minute)` and `switches(minute)`, one worker's CPU, private bytes
/// from `private_mb(minute)` and threads.
fn counters(
    cpu: &dyn Fn(f64) -> f64,
    switches: &dyn Fn(f64) -> f64,
    private_mb: &dyn Fn(f64) -> f64,
) -> String {
    let cols: Vec<String> = [
        r"\\WEB01\Processor(_Total)\% Processor Time",
        r"\\WEB01\Processor(0)\% Processor Time",
        r"\\WEB01\Processor(1)\% Processor Time",
        r"\\WEB01\System\Context Switches/sec",
        r"\\WEB01\Process(w3wp)\% Processor Time",
        r"\\WEB01\Process(w3wp)\Private Bytes",
        r"\\WEB01\Process(w3wp)\Thread Count",
    ]
    .map(String::from)
    .to_vec();
    super::perf::pdh_csv(0, &cols, 1920, 15, &|i, c| {
        let m = i as f64 / 4.0;
        Some(match c {
            0..=2 => cpu(m),
            3 => switches(m),
            4 => cpu(m) * 1.9,
            5 => private_mb(m) * 1_048_576.0,
            _ => 60.0,
        })
    })
}

fn hang_event(minute: u32) -> String {
    event(
        5010,
        minute,
        "<Data Name='AppPoolID'>ShopPool</Data><Data Name='ProcessID'>4242</Data>",
    )
}

fn quiet(_: f64) -> f64 {
    25.0
}

fn steady_mb(_: f64) -> f64 {
    400.0
}

#[test]
fn a_hang_with_the_cpu_saturated_and_few_context_switches_is_a_runaway_thread() {
    let spin = |m: f64| {
        if (285.0..301.0).contains(&m) {
            97.0
        } else {
            20.0
        }
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(29, &|_, _| {})),
        (
            "WEB01/events/System.xml",
            routine_events() + &hang_event(300),
        ),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&spin, &|_| 3100.0, &steady_mb),
        ),
    ]);
    assert_eq!(
        a.incidents.len(),
        1,
        "the CPU run is the hang's, not an incident: {:#?}",
        a.incidents
    );
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Hang);
    assert_eq!(inc.category.name, Category::RunawayThread);
    let why = &inc.category.decided_by[0];
    assert!(
        why.starts_with("CPU 97 % with 3100 context switches/s"),
        "{why}"
    );
    assert!(
        why.contains("busiest worker w3wp at 92 % of the machine"),
        "{why}"
    );
    assert!(
        inc.notes
            .iter()
            .any(|n| n.starts_with("CPU at 90 % or more from 2024-03-01T12:45:00.")),
        "{:?}",
        inc.notes
    );
    assert!(a.recommendations.iter().any(|r| {
        r.commands
            .iter()
            .any(|c| c.contains("procdump -accepteula -ma -c 80 -s 10 -n 3"))
    }));
    // The chart carries the machine's CPU beside the requests.
    assert!(a.timeline.cpu.iter().flatten().any(|&v| v > 90.0));
    assert!(a.timeline.cpu.iter().flatten().any(|&v| v < 30.0));
    let html = w3triage::report::render(&a, w3triage::report::Format::Html);
    assert!(html.contains("Green: machine CPU from the counter logs"));
    assert!(html.contains(">I1 hang</text>"));
}

#[test]
fn a_hang_at_low_cpu_is_thread_locking() {
    // Requests crawl in the ten minutes before WAS gives up on the worker.
    let slow = |m: u32, s: &mut String| {
        if (291..300).contains(&m) {
            for k in 0..15u32 {
                let line = w3c(
                    m,
                    1 + k * 4,
                    "/shop/checkout.aspx",
                    "192.0.2.77",
                    (200, 0, 0),
                );
                s.push_str(&line.replace(" 31\r\n", " 21500\r\n"));
            }
        }
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(31, &slow)),
        ("WEB01/events/System.xml", hang_event(300)),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&|_| 6.0, &|_| 800.0, &steady_mb),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1);
    let inc = &a.incidents[0];
    assert_eq!(inc.category.name, Category::ThreadLocking);
    assert!(
        inc.category.decided_by[0].starts_with("CPU only 6 % over 40 samples"),
        "{:?}",
        inc.category.decided_by
    );
    assert_eq!(
        inc.category.decided_by[1],
        "time-taken climbed before it: median 21 s over the 235 requests of the last 10 minutes, 31 ms the rest of the day"
    );
    assert!(
        a.recommendations
            .iter()
            .any(|r| r.action.contains("apartment-threaded COM object"))
    );
}

#[test]
fn a_hang_without_counters_says_which_would_decide() {
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(37, &|_, _| {})),
        ("WEB01/events/System.xml", hang_event(300)),
    ]);
    let inc = &a.incidents[0];
    assert_eq!(
        (inc.kind, inc.category.name),
        (IncidentKind::Hang, Category::Unknown)
    );
    assert!(
        inc.category
            .missing
            .iter()
            .any(|m| m.contains("Context Switches/sec"))
    );
    assert!(
        inc.category
            .missing
            .iter()
            .any(|m| m.contains("procdump -accepteula -ma -n 3 -s 10"))
    );
}

#[test]
fn cpu_saturated_alone_with_many_context_switches_is_a_thread_storm() {
    let storm = |m: f64| {
        if (120.0..140.0).contains(&m) {
            95.0
        } else {
            30.0
        }
    };
    let sw = |m: f64| {
        if (120.0..140.0).contains(&m) {
            14_000.0
        } else {
            2_000.0
        }
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(41, &|_, _| {})),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&storm, &sw, &steady_mb),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Cpu);
    assert_eq!(inc.category.name, Category::HighThreadCount);
    assert_eq!(inc.evidence[0].source.to_string(), "counters");
    // Samples every 15 s (typeperf stamps milliseconds too).
    assert!(fmt_utc(inc.time.unwrap().0).starts_with("2024-03-01T10:00:00."));
    assert!(fmt_utc(inc.end.unwrap().0).starts_with("2024-03-01T10:19:45."));
    assert!(
        a.summary.headline.contains("on WEB01, CPU at 90 % or more"),
        "{}",
        a.summary.headline
    );
}

#[test]
fn a_memory_recycle_reads_the_growth_rate_from_the_counters() {
    // Private bytes climb 300 MB an hour from 09:00 until the 5117 at 11:00, then drop.
    let leak = |m: f64| {
        if (60.0..180.0).contains(&m) {
            400.0 + 5.0 * (m - 60.0)
        } else {
            400.0
        }
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(43, &|_, _| {})),
        (
            "WEB01/events/System.xml",
            worker_event(5117, 180, 4242, "ShopPool"),
        ),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&quiet, &|_| 1500.0, &leak),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.category.name, Category::MemoryLeak);
    assert!(inc.category.missing.is_empty());
    assert!(
        inc.category.decided_by[1].starts_with(
            "Private Bytes of w3wp grew 300 MB/h over the 2 h before, to a peak of 99"
        ),
        "{:?}",
        inc.category.decided_by
    );
}

/// A leak that every new worker starts again: Private Bytes climb 300 MB an hour from 150 MB,
/// the worker is recycled on time at 09:00 and 10:00 (WAS 5074) and on its private-bytes limit
/// at 11:00 (5117). The sawtooth says the leak is not a one-off.
#[test]
fn a_memory_recycle_after_a_sawtooth_of_climbs_names_the_earlier_recycles() {
    let saw = |m: f64| {
        if m < 180.0 {
            150.0 + 5.0 * (m % 60.0)
        } else {
            150.0
        }
    };
    let events = [
        worker_event(5074, 60, 4040, "ShopPool"),
        worker_event(5074, 120, 4141, "ShopPool"),
        worker_event(5117, 180, 4242, "ShopPool"),
    ]
    .concat();
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(45, &|_, _| {})),
        ("WEB01/events/System.xml", events),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&quiet, &|_| 1500.0, &saw),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let why = &a.incidents[0].category.decided_by;
    assert_eq!(a.incidents[0].category.name, Category::MemoryLeak);
    assert!(
        why[1].starts_with(
            "Private Bytes of w3wp grew 300 MB/h since its worker started at 2024-03-01T10:00:00"
        ),
        "{why:?}"
    );
    assert!(why[1].ends_with("to a peak of 449 MB"), "{why:?}");
    assert!(
        why[2].starts_with(
            "the same climb 2 times earlier, each ended by a new worker (2 of them at a recycle WAS logged): peaks of 449 MB at 2024-03-01T08:59:45"
        ),
        "{why:?}"
    );
    assert!(why[2].contains("300 MB/h on average"), "{why:?}");
    // The chart carries the sawtooth: three climbs to 449 MB, each fall a new worker.
    let pb = &a.timeline.private_mb;
    let peak = pb.iter().flatten().copied().fold(0.0, f64::max);
    assert!((448.0..450.0).contains(&peak), "{peak}");
    let falls = pb
        .windows(2)
        .filter(|w| matches!(w, [Some(x), Some(y)] if y < &(x * 0.67)))
        .count();
    assert_eq!(falls, 3, "{pb:?}");
    let html = w3triage::report::render(&a, w3triage::report::Format::Html);
    assert!(html.contains("Brown, dotted: the largest worker's Private Bytes (0–449 MB"));
    assert!(html.contains("stroke=\"#935116\""));
    // Without the earlier falls (one worker climbing all along) there is no sawtooth line.
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(45, &|_, _| {})),
        (
            "WEB01/events/System.xml",
            worker_event(5117, 180, 4242, "ShopPool"),
        ),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&quiet, &|_| 1500.0, &|m| 150.0 + 2.0 * m.min(180.0)),
        ),
    ]);
    let why = &a.incidents[0].category.decided_by;
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why[1].contains("over the 2 h before"), "{why:?}");
}

/// A hang at low CPU with the queue counters logged: `Process(w3wp#1)` is the hung pid by its
/// `ID Process`, HTTP.sys holds the pool's requests and the worker has requests executing.
#[test]
fn a_hang_at_low_cpu_quotes_the_queues_and_finds_its_worker_by_id_process() {
    let cols: Vec<String> = [
        r"\\WEB01\Processor(_Total)\% Processor Time",
        r"\\WEB01\System\Context Switches/sec",
        r"\\WEB01\Process(w3wp)\% Processor Time",
        r"\\WEB01\Process(w3wp)\ID Process",
        r"\\WEB01\Process(w3wp#1)\% Processor Time",
        r"\\WEB01\Process(w3wp#1)\ID Process",
        r"\\WEB01\HTTP Service Request Queues(SHOPPOOL)\CurrentQueueSize",
        r"\\WEB01\HTTP Service Request Queues(REPORTSPOOL)\CurrentQueueSize",
        r"\\WEB01\W3SVC_W3WP(4242_ShopPool)\Active Requests",
        r"\\WEB01\Web Service(_Total)\Get Requests/sec",
    ]
    .map(String::from)
    .to_vec();
    // The queue fills from 12:50 (minute 290) until the ping failure at 13:00.
    let csv = super::perf::pdh_csv(0, &cols, 1920, 15, &|i, c| {
        let m = i as f64 / 4.0;
        let stuck = (290.0..=300.0).contains(&m);
        Some(match c {
            0 => 9.0,
            1 => 700.0,
            2 => 14.0,
            3 => 5151.0,
            4 => 1.0,
            5 => 4242.0,
            6 if stuck => (m - 290.0) * 60.0,
            8 if stuck => 96.0,
            9 => 6.0,
            _ => 0.0,
        })
    });
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(73, &|_, _| {})),
        ("WEB01/events/System.xml", hang_event(300)),
        ("WEB01/perflogs/DataCollector01.csv", csv),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let why = &a.incidents[0].category.decided_by;
    assert_eq!(a.incidents[0].category.name, Category::ThreadLocking);
    assert!(
        why[0].ends_with("the worker itself w3wp#1 at 1 % of the machine"),
        "{why:?}"
    );
    assert_eq!(
        why[1],
        "at the peak: 600 requests waiting in HTTP.sys queue of SHOPPOOL; 96 executing in worker 4242_ShopPool; 6.0 GET requests/s per processor",
        "{why:?}"
    );
}

/// 70 errors 500.100 on two pages in ten minutes from 13:00 (6 or 8 a minute); with `suffix`,
/// each logs ASP 0115 in its query as IIS appends it (`|<line>|ASP_0115|…`).
fn asp_burst(suffix: bool) -> impl Fn(u32, &mut String) {
    move |m, s| {
        if (300..310).contains(&m) {
            for k in 0..6u32 + (m % 2) * 2 {
                let page = ["/legacy/order.asp", "/legacy/invoice.asp"][(k % 2) as usize];
                let line = w3c(m, 2 + k * 7, page, "192.0.2.40", (500, 100, 0));
                s.push_str(&if suffix {
                    line.replace(
                        " - 80 ",
                        " id=7|41|ASP_0115|A_trappable_error_(C0000005)_has_occurred_in_an_external_object. 80 ",
                    )
                } else {
                    line
                });
            }
        }
    }
}

/// Classic ASP catches a COM component's access violation, answers 500.100 and logs ASP 0115
/// in the query.
#[test]
fn a_burst_of_asp_0115_is_a_faulting_component_with_its_pages() {
    let asp = asp_burst(true);
    let a = run(&[("WEB01/W3SVC1/u_ex240301.log", day(53, &asp))]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::ErrorBurst);
    let b = inc.burst.as_ref().unwrap();
    assert_eq!(b.asp_errors[0].value, "ASP_0115");
    assert_eq!(b.asp_errors[0].count, 70);
    assert_eq!(
        inc.category.name,
        Category::FaultingModule,
        "{:?}",
        inc.category
    );
    assert!(
        inc.category.decided_by[0].starts_with(&format!(
            "70 of {} errors logged ASP 0115: a trappable error in an external object",
            b.errors
        )),
        "{:?}",
        inc.category.decided_by
    );
    assert_eq!(
        inc.category.decided_by[1],
        "the pages that call it: /legacy/invoice.asp (35), /legacy/order.asp (35)"
    );
    assert!(inc.category.missing[0].contains("procdump -accepteula -ma -e 1 -f C0000005"));
    assert!(a.recommendations.iter().any(|r| {
        r.commands
            .iter()
            .any(|c| c.contains("/exceptionCatchEnable:false"))
    }));
    let json = w3triage::report::render(&a, w3triage::report::Format::Json);
    let md = w3triage::report::render(&a, w3triage::report::Format::Markdown);
    assert!(
        md.contains("classic ASP errors logged: ASP\\_0115 (70)"),
        "{md}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["incidents"][0]["burst"]["asp_errors"],
        serde_json::json!([{"value": "ASP_0115", "count": 70}])
    );
    // The same burst without the ASP suffix stays undecided.
    let plain = asp_burst(false);
    let a = run(&[("WEB01/W3SVC1/u_ex240301.log", day(53, &plain))]);
    assert_eq!(a.incidents[0].category.name, Category::Unknown);
    assert!(a.incidents[0].burst.as_ref().unwrap().asp_errors.is_empty());
}

/// An Application-log event of classic ASP, as wevtutil exports it: ASP 0115 on `page`.
fn asp_event(minute: u32, second: u32, page: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Active Server Pages'/><EventID Qualifiers='49152'>5</EventID><Level>2</Level><Task>0</Task><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='{}.250Z'/><EventRecordID>{}</EventRecordID><Channel>Application</Channel><Computer>WEB01</Computer><Security/></System><EventData><Data>File {page} Line 41 Unexpected error. A trappable error (C0000005) occurred in an external object. The script cannot continue running..</Data></EventData></Event>",
        clock(minute, second).replace(' ', "T"),
        70_000 + minute * 60 + second
    )
}

/// The log does not carry the ASP suffix (no `cs-uri-query` suffix here), but the Application
/// log holds ASP 0115 events during the burst: the same verdict, from the events.
#[test]
fn asp_0115_events_during_a_burst_decide_it_without_the_query() {
    let burst = asp_burst(false);
    let events: String = (300..310u32)
        .map(|m| asp_event(m, 9, "/legacy/order.asp"))
        .collect();
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(57, &burst)),
        ("WEB01/events/Application.xml", events),
    ]);
    let bursts: Vec<_> = a
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::ErrorBurst)
        .collect();
    assert_eq!(bursts.len(), 1, "{:#?}", a.incidents);
    let inc = bursts[0];
    assert_eq!(
        inc.category.name,
        Category::FaultingModule,
        "{:?}",
        inc.category
    );
    assert!(
        inc.category.decided_by[0].starts_with(&format!(
            "10 ASP 0115 events in the Application log during the {} errors: a trappable error",
            inc.burst.as_ref().unwrap().errors
        )),
        "{:?}",
        inc.category.decided_by
    );
    assert!(a.recommendations.iter().any(|r| {
        r.commands
            .iter()
            .any(|c| c.contains("procdump -accepteula -ma -e 1 -f C0000005"))
    }));
    // Four events are not enough to decide on their own.
    let few: String = (300..304u32)
        .map(|m| asp_event(m, 9, "/legacy/order.asp"))
        .collect();
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(57, &burst)),
        ("WEB01/events/Application.xml", few),
    ]);
    let inc = a
        .incidents
        .iter()
        .find(|i| i.kind == IncidentKind::ErrorBurst)
        .unwrap();
    assert_eq!(inc.category.name, Category::Unknown);
}

#[test]
fn a_routine_day_with_counters_reports_nothing() {
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(47, &|_, _| {})),
        ("WEB01/events/System.xml", routine_events()),
        (
            "WEB01/perflogs/DataCollector01.csv",
            counters(&|m| 20.0 + (m % 30.0), &|_| 2500.0, &steady_mb),
        ),
    ]);
    assert!(a.incidents.is_empty(), "{:#?}", a.incidents);
}

/// A FREB trace as IIS writes it (the parts w3triage reads): a request of site 1 that
/// `module` failed with `status` in EXECUTE_REQUEST_HANDLER.
fn freb(minute: u32, second: u32, url: &str, status: &str, module: &str, pid: u32) -> String {
    let at = format!("{}.120Z", clock(minute, second).replace(' ', "T"));
    let ev = |opcode: &str, data: &str| {
        format!(
            "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"WWW Server\"/><EventID>0</EventID><Level>4</Level><TimeCreated SystemTime=\"{at}\"/><Execution ProcessID=\"{pid}\" ThreadID=\"7\"/><Computer>WEB01</Computer></System><EventData>{data}</EventData><RenderingInfo Culture=\"en-US\"><Opcode>{opcode}</Opcode></RenderingInfo></Event>\r\n"
        )
    };
    [
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<failedRequest url=\"http://shop.contoso.com:80{url}\" siteId=\"1\" appPoolId=\"ShopPool\" processId=\"{pid}\" verb=\"GET\" activityId=\"{{00000000-0000-0000-1400-0080000000FA}}\" failureReason=\"STATUS_CODE\" statusCode=\"{status}\" triggerStatusCode=\"{status}\" timeTaken=\"180\" xmlns:freb=\"http://schemas.microsoft.com/win/2006/06/iis/freb\">\r\n"),
        ev("GENERAL_REQUEST_START", "<Data Name=\"RequestURL\">x</Data>"),
        ev("NOTIFY_MODULE_START", &format!("<Data Name=\"ModuleName\">{module}</Data><Data Name=\"Notification\">128</Data>")),
        ev("MODULE_SET_RESPONSE_ERROR_STATUS", &format!("<Data Name=\"ModuleName\">{module}</Data><Data Name=\"Notification\">128</Data><Data Name=\"HttpStatus\">500</Data><Data Name=\"ErrorCode\">2148734208</Data>")),
        ev("NOTIFY_MODULE_END", &format!("<Data Name=\"ModuleName\">{module}</Data><Data Name=\"Notification\">128</Data>")),
        ev("GENERAL_REQUEST_END", "<Data Name=\"HttpStatus\">500</Data>"),
        "</failedRequest>\r\n".into(),
    ]
    .concat()
}

#[test]
fn freb_traces_of_a_burst_name_the_module_that_set_the_error() {
    let burst = |m: u32, s: &mut String| {
        if (120..130).contains(&m) {
            for k in 0..6u32 {
                let client = format!("198.51.100.{}", k + 1);
                s.push_str(&w3c(m, 2 + k * 9, "/api/orders", &client, (500, 0, 0)));
            }
        }
    };
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(53, &burst)),
        (
            "WEB01/FailedReqLogFiles/W3SVC1/fr000001.xml",
            freb(121, 2, "/api/orders", "500", "ManagedPipelineHandler", 4242),
        ),
        (
            "WEB01/FailedReqLogFiles/W3SVC1/fr000002.xml",
            freb(
                125,
                11,
                "/api/orders",
                "500",
                "ManagedPipelineHandler",
                4242,
            ),
        ),
        // Another site's trace at the same time is not this burst's.
        (
            "WEB01/FailedReqLogFiles/W3SVC2/fr000001.xml",
            freb(122, 0, "/x", "500", "OtherModule", 5151)
                .replace("siteId=\"1\"", "siteId=\"2\"")
                .replace("ShopPool", "OtherPool"),
        ),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::ErrorBurst);
    assert_eq!(inc.category.name, Category::FaultingModule);
    let why = &inc.category.decided_by[0];
    assert!(
        why.starts_with("2 of 2 traces name module ManagedPipelineHandler: FREB: GET http://shop.contoso.com:80/api/orders → 500 set by module ManagedPipelineHandler in EXECUTE_REQUEST_HANDLER (0x80131500)"),
        "{why}"
    );
    assert_eq!(
        inc.evidence
            .iter()
            .filter(|e| e.source.to_string() == "freb")
            .count(),
        2
    );
}

#[test]
fn a_hang_with_a_hang_dump_of_a_spinning_thread_is_a_runaway_thread_in_its_module() {
    let mut d = crate::dump::spinning_filter(30);
    // Taken by ProcDump ten seconds after WAS's ping failed (13:00:30).
    d.dump_time = 1_709_298_040;
    let brk = d.addr("ntdll.dll", 0x2_1a30);
    let callers = [
        d.addr("ntdll.dll", 0x5_0f10),
        d.addr("kernel32.dll", 0x1_8c34),
    ];
    let dump = d.crash(0x8000_0003, brk, &[], &callers).build();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "WEB01/W3SVC1/u_ex240301.log",
        &day(59, &|_, _| {}),
    );
    write(dir.path(), "WEB01/events/System.xml", &hang_event(300));
    let p = dir.path().join("WEB01/dumps/w3wp.exe_240301_130040.dmp");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, dump).unwrap();
    let t = ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default());
    let a = analyze(&t, &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Hang);
    assert!(inc.sources.iter().any(|s| s.to_string() == "dump"));
    assert_eq!(inc.category.name, Category::RunawayThread);
    let why = &inc.category.decided_by[0];
    assert!(
        why.starts_with("the dump: ") && why.contains("RegexFilter.dll"),
        "{why}"
    );
    assert!(!a.summary.crashed, "a hang dump is not a crash");
}

/// Three dumps of the hung worker ten seconds apart (`procdump -ma -n 3 -s 10`), the first ten
/// seconds after the ping failure. Twenty long-lived threads carry 500 s of CPU each from the
/// day's work; thread 0x9999 in RegexFilter.dll has 30 s in the first dump and gains `per_dump`
/// (100 ns units) in each next one. No single dump shows a runaway thread.
fn dump_series(per_dump: u64) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "WEB01/W3SVC1/u_ex240301.log",
        &day(61, &|_, _| {}),
    );
    write(dir.path(), "WEB01/events/System.xml", &hang_event(300));
    for k in 0..3u32 {
        let mut d = crate::dump::spinning_filter(20);
        for th in d.threads.iter_mut() {
            th.user_time = if th.id == 0x9999 {
                300_000_000 + u64::from(k) * per_dump
            } else {
                5_000_000_000 + u64::from(k) * 1_000
            };
        }
        d.dump_time = 1_709_298_040 + 10 * k;
        let p = dir
            .path()
            .join(format!("WEB01/dumps/w3wp.exe_240301_1300{}0.dmp", 4 + k));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, d.build()).unwrap();
    }
    let t = ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default());
    analyze(&t, &AnalyzeOptions::default())
}

#[test]
fn a_series_of_dumps_finds_the_thread_that_spins_between_them() {
    let a = dump_series(97_000_000);
    let hangs: Vec<_> = a
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Hang)
        .collect();
    assert_eq!(hangs.len(), 1, "{:#?}", a.incidents);
    assert_eq!(
        a.incidents.len(),
        1,
        "the dumps join the hang: {:#?}",
        a.incidents
    );
    let inc = hangs[0];
    assert!(
        inc.verdict
            .as_deref()
            .is_none_or(|v| !v.contains("runaway thread")),
        "one dump alone does not show it: {:?}",
        inc.verdict
    );
    assert_eq!(
        inc.category.name,
        Category::RunawayThread,
        "{:#?}",
        inc.category
    );
    assert_eq!(
        inc.category.decided_by,
        [
            "across 3 dumps of pid 4242 over 20 s, thread 0x9999 used 19.4 s of CPU (97 % of a processor), in RegexFilter.dll: it is spinning"
        ]
    );
    // More CPU than time between the dumps is not one process's clock: no claim.
    let a = dump_series(5_000_000_000);
    let inc = a
        .incidents
        .iter()
        .find(|i| i.kind == IncidentKind::Hang)
        .unwrap();
    assert_ne!(inc.category.name, Category::RunawayThread);
    assert!(
        inc.notes.iter().all(|n| !n.starts_with("across 3 dumps")),
        "{:?}",
        inc.notes
    );
    // Nothing moved: the worker waited, and the series says so without deciding.
    let a = dump_series(2_000);
    let inc = a
        .incidents
        .iter()
        .find(|i| i.kind == IncidentKind::Hang)
        .unwrap();
    assert_ne!(inc.category.name, Category::RunawayThread);
    assert!(
        inc.notes.iter().any(|n| n
            == "across 3 dumps of pid 4242 over 20 s, no thread used more than 1 % of a processor: the worker was waiting, not spinning"),
        "{:?}",
        inc.notes
    );
}

/// A hang dump whose request threads all wait in one stack through a third-party COM object
/// called from classic ASP: thread locking, and the object is named.
#[test]
fn a_hang_dump_with_most_threads_in_one_stack_is_thread_locking() {
    let why = locked_dump(true);
    assert!(
        why[2].starts_with(
            "they wait inside a COM call LegacyUpload.dll made (combase.dll is waiting for the answer)"
        ),
        "{why:?}"
    );
    // Without the COM frame the same threads wait on a lock or an event of the module.
    let why = locked_dump(false);
    assert!(
        why[2].starts_with(
            "they wait in Windows' wait functions right under LegacyUpload.dll, with no COM call between"
        ),
        "{why:?}"
    );
}

/// A hang dump whose 30 request threads wait in one stack (ntdll < KERNELBASE < [combase] <
/// LegacyUpload < vbscript < asp); the category's facts.
fn locked_dump(com: bool) -> Vec<String> {
    use crate::w3wp_dump::{ModSpec, ThreadSpec, W3wpDump, host_modules_x86};
    let mut d = W3wpDump::new(false).idle_threads(8);
    d.modules.extend(host_modules_x86());
    d.modules.push(ModSpec::new(
        r"C:\Program Files (x86)\Legacy\LegacyUpload.dll",
        0x1500_0000,
        0x1_0000,
    ));
    let wait = d.addr("ntdll.dll", 0x9_f3cc);
    let mut callers = vec![
        d.addr("KERNELBASE.dll", 0x1_1111),
        d.addr("combase.dll", 0x2_2222),
        d.addr("LegacyUpload.dll", 0x3333),
        d.addr("vbscript.dll", 0x4444),
        d.addr("asp.dll", 0x5555),
    ];
    if !com {
        callers.remove(1);
    }
    for i in 0..30u32 {
        d.threads.push(ThreadSpec::new(
            0x3000 + i,
            wait,
            &callers,
            0x0a00_0000 + u64::from(i) * 0x1_0000,
        ));
    }
    d.dump_time = 1_709_298_040;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "WEB01/W3SVC1/u_ex240301.log",
        &day(61, &|_, _| {}),
    );
    write(dir.path(), "WEB01/events/System.xml", &hang_event(300));
    let p = dir.path().join("WEB01/dumps/w3wp.exe_240301_130040.dmp");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, d.build()).unwrap();
    let t = ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default());
    assert_eq!(t.threads.len(), 38, "every thread of the dump is a row");
    let a = analyze(&t, &AnalyzeOptions::default());
    let inc = &a.incidents[0];
    assert_eq!(
        (inc.kind, inc.category.name),
        (IncidentKind::Hang, Category::ThreadLocking),
        "{:#?}",
        inc.category
    );
    let why = &inc.category.decided_by;
    assert!(
        why[0]
            .starts_with("the dump: 30 of 38 threads wait in the same stack, in LegacyUpload.dll"),
        "{why:?}"
    );
    assert!(
        why[1].starts_with("LegacyUpload.dll serializes the requests"),
        "{why:?}"
    );
    why.clone()
}

/// ASP.NET logs a configuration error (web event 3008, event 1310) as the 500s begin: the burst
/// is configuration, and that event is the suspect.
#[test]
fn an_aspnet_configuration_error_before_a_burst_is_its_suspect() {
    let burst = |m: u32, s: &mut String| {
        if (200..206).contains(&m) {
            for k in 0..8u32 {
                let client = format!("198.51.100.{}", k + 1);
                s.push_str(&w3c(m, 2 + k * 7, "/shop/cart.aspx", &client, (500, 0, 0)));
            }
        }
    };
    let app = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='ASP.NET 4.0.30319.0'/><EventID Qualifiers='32768'>1310</EventID><Level>3</Level><TimeCreated SystemTime='{}Z'/><EventRecordID>7001</EventRecordID><Channel>Application</Channel><Computer>WEB01</Computer></System><EventData><Data>3008</Data><Data>A configuration error has occurred.</Data><Data>3/1/2024 11:19:40 AM</Data><Data>3/1/2024 11:19:40 AM</Data><Data>0f9e</Data><Data>1</Data><Data>1</Data><Data>0</Data><Data>/LM/W3SVC/1/ROOT-1-1337</Data><Data>Full</Data><Data>/</Data><Data>C:\\inetpub\\shop\\</Data><Data>WEB01</Data><Data></Data><Data>4242</Data><Data>w3wp.exe</Data><Data>IIS APPPOOL\\ShopPool</Data><Data>ConfigurationErrorsException</Data><Data>Unrecognized configuration section system.web/sesionState.</Data></EventData></Event>",
        clock(199, 40).replace(' ', "T")
    );
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(67, &burst)),
        ("WEB01/events/Application.xml", app),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.category.name, Category::Configuration);
    assert_eq!(
        inc.category.decided_by,
        [
            "ASP.NET 4.0.30319.0 1310 at 2024-03-01T11:19:40Z: the application reported a configuration error, 22 s before the errors began"
        ]
    );
    assert_eq!(a.suspects.len(), 1);
    assert_eq!(a.suspects[0].kind, SuspectKind::Configuration);
}

/// With `ProcessNameFormat` 2 each worker is `w3wp_<pid>`: the hung worker's own CPU is quoted,
/// not the busiest other pool's.
#[test]
fn the_hung_workers_own_counters_are_read_by_pid() {
    let cols: Vec<String> = [
        r"\\WEB01\Processor(_Total)\% Processor Time",
        r"\\WEB01\System\Context Switches/sec",
        r"\\WEB01\Process(w3wp_4242)\% Processor Time",
        r"\\WEB01\Process(w3wp_5151)\% Processor Time",
    ]
    .map(String::from)
    .to_vec();
    let csv = super::perf::pdh_csv(0, &cols, 1920, 15, &|_, c| {
        Some([12.0, 900.0, 3.0, 19.0][c])
    });
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(71, &|_, _| {})),
        ("WEB01/events/System.xml", hang_event(300)),
        ("WEB01/perflogs/DataCollector01.csv", csv),
    ]);
    let why = &a.incidents[0].category.decided_by[0];
    assert!(
        why.ends_with("the worker itself w3wp_4242 at 3 % of the machine"),
        "{why}"
    );
}

/// HTTP.sys queues ShopPool's requests for five minutes (`QueueFull`, when `queue_full`), then
/// the admin recycles the pool (`recycle`: WAS 5079) and `abandoned` requests the worker still
/// held are abandoned.
fn stuck_queue(recycle: Option<u32>, abandoned: u32, queue_full: bool) -> Analysis {
    let mut httperr = String::from(HTTPERR_HEADER);
    for m in (0..480u32).step_by(41) {
        httperr.push_str(&format!(
            "{} 192.0.2.{} 5{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/p1.aspx - 1 Timer_ConnectionIdle -\r\n",
            clock(m, 1),
            m % 200,
            m
        ));
    }
    for m in (200..205u32).filter(|_| queue_full) {
        for k in 0..30u32 {
            httperr.push_str(&format!(
                "{} 192.0.2.{} 6{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/search.aspx 503 1 QueueFull ShopPool\r\n",
                clock(m, k * 2),
                k + 1,
                k
            ));
        }
    }
    for k in 0..abandoned {
        httperr.push_str(&format!(
            "{} 198.51.100.{} 7{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/cart.aspx - 1 Connection_Abandoned_By_ReqQueue ShopPool\r\n",
            clock(205, 31 + k),
            k + 1,
            k
        ));
    }
    let mut events = routine_events();
    if let Some(id) = recycle {
        events.push_str(&worker_event(id, 205, 4242, "ShopPool"));
    }
    run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(29, &|_, _| {})),
        ("WEB01/HTTPERR/httperr1.log", httperr),
        ("WEB01/events/System.xml", events),
    ])
}

/// The one incident of `a`, a hang of ShopPool's pid 4242 ended by the 5079 recycle; its note
/// that says so.
fn recycled_hang(a: &Analysis) -> String {
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Hang, "{inc:#?}");
    assert_eq!(inc.pid, Some(4242));
    assert_eq!(inc.app_pool.as_deref(), Some("ShopPool"));
    assert!(inc.sources.iter().any(|s| s.to_string().ends_with("/5079")));
    let note = inc.notes.iter().find(|n| n.contains("no ping failure"));
    let note = note.unwrap_or_else(|| panic!("{:?}", inc.notes));
    assert!(note.contains("recycled (on_demand)"), "{note}");
    note.clone()
}

#[test]
fn requests_stuck_until_an_on_demand_recycle_are_a_hang() {
    // Queued, then recycled with requests held: the held requests make the hang, the queue is
    // its symptom.
    let a = stuck_queue(Some(5079), 10, true);
    let note = recycled_hang(&a);
    assert!(note.contains("10 requests the worker still held"), "{note}");
    assert!(
        a.incidents[0]
            .notes
            .iter()
            .any(|n| n.contains("150 httperr of ShopPool")),
        "{:?}",
        a.incidents[0].notes
    );
    // Queued, then recycled with nothing abandoned: the queue that the recycle ended.
    let note = recycled_hang(&stuck_queue(Some(5079), 0, true));
    assert!(note.contains("requests queued from"), "{note}");
    // Not queued, but recycled with requests held.
    let note = recycled_hang(&stuck_queue(Some(5079), 10, false));
    assert!(
        note.contains("did not finish within the shutdown time limit"),
        "{note}"
    );

    // A recycle that cut two requests short is routine; without the recycle the queueing is an
    // overload (the scheduled recycle of the same pool in the middle of it did not end it).
    assert!(stuck_queue(Some(5079), 2, false).incidents.is_empty());
    let other = stuck_queue(None, 0, true);
    assert_eq!(other.incidents.len(), 1);
    assert_eq!(other.incidents[0].kind, IncidentKind::Overload);
}

#[test]
fn a_worker_killed_at_the_shutdown_time_limit_with_requests_held_is_a_hang() {
    let mut httperr = String::from(HTTPERR_HEADER);
    for k in 0..8u32 {
        httperr.push_str(&format!(
            "{} 198.51.100.{} 7{:04} 10.0.0.5 80 HTTP/1.1 GET /shop/report.aspx - 1 Connection_Abandoned_By_AppPool ShopPool\r\n",
            clock(300, 31 + k / 4),
            k + 1,
            k
        ));
    }
    let events = routine_events() + &worker_event(5013, 300, 5150, "ShopPool");
    let a = run(&[
        ("WEB01/W3SVC1/u_ex240301.log", day(31, &|_, _| {})),
        ("WEB01/HTTPERR/httperr1.log", httperr),
        ("WEB01/events/System.xml", events),
    ]);
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let inc = &a.incidents[0];
    assert_eq!(inc.kind, IncidentKind::Hang, "{inc:#?}");
    assert_eq!(inc.pid, Some(5150));
    assert!(inc.sources.iter().any(|s| s.to_string().ends_with("/5013")));
    assert!(inc.sources.iter().any(|s| s.to_string() == "httperr"));
}
