//! The sample outage: what happened on WEB01 on 2025-03-14, and a healthy WEB02 for contrast.
//!
//! Everything is derived from two plans (below) and a seed, through one simulation per server
//! (`model.rs`), rendered into the formats IIS, HTTP.sys, `wevtutil` and DebugDiag write
//! (`render.rs`, `dumps.rs`). The README and `ground-truth.json` are rendered from the same
//! simulation, so the documented ground truth cannot drift from the data.

#[path = "dumps.rs"]
pub mod dumps;
#[allow(dead_code)]
#[path = "farm.rs"]
pub mod farm;
#[path = "model.rs"]
pub mod model;
#[path = "render.rs"]
pub mod render;
#[path = "rng.rs"]
pub mod rng;
#[path = "slow.rs"]
pub mod slow;
#[path = "time.rs"]
pub mod time;

use model::{CrashSpec, Day, Plan, Tag, WorkerEnd};
use render::{FaultFacts, HeaderWhy};
use rng::Rng;
use serde::Serialize;
use std::io;
use std::path::{Path, PathBuf};
use time::{MINUTE, rfc3339_ms, utc};

/// The command that regenerates `samples/` (printed in the README).
pub const REGENERATE: &str = "cargo run --example gen_samples -- --out samples --seed 1";

pub const VENDOR: &str = "Contoso Ltd";
pub const PRODUCT: &str = "Contoso SecureGate";

pub fn outage_plan() -> Plan {
    let at = |h, m, s, ms| utc(2025, 3, 14, h, m, s, ms);
    let crash = |t, scanner, retry_of, dump| CrashSpec {
        at: t,
        scanner,
        retry_of,
        dump,
    };
    Plan {
        server: "WEB01",
        s_ip: "10.20.1.11",
        site_id: 1,
        pool: "ShopAppPool",
        day_start: at(0, 0, 0, 0),
        tz_offset_min: -300,
        sessions: 1_100,
        googlebot: 520,
        bingbot: 200,
        admin_sessions: 7,
        noise_scans: 5,
        gaps: vec![
            (at(7, 2, 0, 0), at(7, 19, 30, 0)),
            (at(8, 21, 0, 0), at(8, 56, 0, 0)),
        ],
        // periodicRestart 1740 min (the default) after this start falls at 01:52:14 UTC.
        first_worker_created: utc(2025, 3, 12, 20, 52, 14, 318),
        recycles: vec![at(1, 52, 14, 318)],
        crashes: vec![
            crash(at(3, 7, 41, 212), 0, None, false),
            crash(at(14, 12, 33, 123), 1, None, true),
            crash(at(16, 48, 5, 347), 0, None, true),
            crash(at(18, 31, 52, 86), 1, None, true),
            crash(at(20, 14, 9, 271), 0, None, false),
            crash(at(20, 15, 2, 164), 0, Some(4), false),
            crash(at(20, 16, 21, 408), 0, Some(4), false),
            crash(at(20, 17, 40, 55), 0, Some(4), false),
            crash(at(20, 18, 33, 390), 0, Some(4), false),
            crash(at(23, 2, 17, 219), 1, None, false),
        ],
        admin_start: Some(at(20, 28, 41, 0)),
        scanners: vec!["203.0.113.45", "198.51.100.173"],
        salt: 0x57_4542_3031,
    }
}

pub fn healthy_plan() -> Plan {
    let at = |h, m, s, ms| utc(2025, 3, 14, h, m, s, ms);
    Plan {
        server: "WEB02",
        s_ip: "10.20.1.12",
        site_id: 1,
        pool: "ShopAppPool",
        day_start: at(0, 0, 0, 0),
        tz_offset_min: -300,
        sessions: 360,
        googlebot: 160,
        bingbot: 60,
        admin_sessions: 2,
        noise_scans: 3,
        gaps: vec![
            (at(6, 38, 0, 0), at(7, 5, 0, 0)),
            (at(8, 30, 0, 0), at(8, 47, 30, 0)),
        ],
        first_worker_created: utc(2025, 3, 13, 9, 15, 2, 640),
        recycles: vec![at(14, 15, 2, 640)],
        crashes: vec![],
        admin_start: None,
        scanners: vec![],
        salt: 0x57_4542_3032,
    }
}

pub struct Summary {
    /// Every file written, relative to the output folder, with its size.
    pub files: Vec<(PathBuf, u64)>,
}

/// Renders every file of `samples/` in memory: (relative path, bytes), sorted by path.
pub fn render_all(seed: u64) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let outage = server_files(&outage_plan(), seed, "outage", &mut files);
    let healthy = server_files(&healthy_plan(), seed, "healthy", &mut files);
    let slow = slow::slow_files(seed, &mut files);
    let truth = GroundTruth {
        schema: 1,
        regenerate: REGENERATE.into(),
        seed,
        outage,
        healthy,
        slow,
    };
    let mut json = serde_json::to_string_pretty(&truth).expect("ground truth serialises");
    json.push('\n');
    files.push(("README.md".into(), readme(&truth).into_bytes()));
    files.push(("ground-truth.json".into(), json.into_bytes()));
    // The logs are CRLF and the dumps binary: no end-of-line conversion on checkout, ever.
    files.push((".gitattributes".into(), b"* -text\n".to_vec()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Writes the samples under `out` (creating folders) and lists what was written.
pub fn generate(out: &Path, seed: u64) -> io::Result<Summary> {
    let mut written = Vec::new();
    for (rel, bytes) in render_all(seed) {
        let path = out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &bytes)?;
        written.push((rel, bytes.len() as u64));
    }
    Ok(Summary { files: written })
}

#[derive(Serialize)]
pub struct GroundTruth {
    pub schema: u32,
    pub regenerate: String,
    pub seed: u64,
    pub outage: ServerTruth,
    pub healthy: ServerTruth,
    /// A day of outages that are not crashes (`slow/`).
    pub slow: slow::SlowTruth,
}

#[derive(Serialize)]
pub struct ServerTruth {
    /// Folder of this server, relative to `samples/`.
    pub folder: String,
    pub server: String,
    pub server_ip: String,
    pub site: String,
    pub app_pool: String,
    /// Server local time = UTC + this (Central Daylight Time that day).
    pub utc_offset_minutes: i64,
    pub suspect: Option<Suspect>,
    pub crashes: Vec<CrashTruth>,
    pub rapid_fail: Option<RapidFail>,
    pub workers: Vec<WorkerTruth>,
    pub w3c: W3cTruth,
    pub httperr: HttpErrTruth,
    pub events: EventsTruth,
}

#[derive(Serialize)]
pub struct Suspect {
    pub module: String,
    pub path: String,
    pub version: String,
    pub timestamp: String,
    pub vendor: String,
    pub product: String,
    pub kind: String,
    pub exception_code: String,
    pub fault_offset: String,
    pub request_method: String,
    pub request_stem: String,
    pub request_pattern: String,
    pub client_ips: Vec<String>,
    pub user_agent: String,
    /// URLs that were in flight at crashes but are innocent (popular in baseline traffic).
    pub not_to_blame: Vec<String>,
}

#[derive(Serialize)]
pub struct CrashTruth {
    pub n: usize,
    pub time_utc: String,
    pub time_local: String,
    pub pid: u32,
    pub pid_hex: String,
    pub process_created_utc: String,
    pub process_creation_filetime: String,
    pub thread_id: u32,
    pub killer_client_ip: String,
    pub killer_uri: String,
    pub killer_query_chars: usize,
    /// Ordinary requests in flight (in HTTPERR, not in W3C), `METHOD uri`.
    pub in_flight_ordinary: Vec<String>,
    pub httperr_abandoned_at: String,
    pub app_error_1000_utc: String,
    pub was_5011_utc: String,
    pub was_5009_utc: String,
    pub report_id: String,
    pub rapid_fail_episode: bool,
    pub dump: Option<String>,
}

#[derive(Serialize)]
pub struct RapidFail {
    pub crashes: Vec<usize>,
    /// The fifth worker's exit: from here HTTP.sys refuses requests with 503 `AppOffline`.
    pub pool_disabled_utc: String,
    pub was_5002_utc: String,
    pub pool_started_by_admin_utc: String,
    pub app_offline_lines: usize,
}

#[derive(Serialize)]
pub struct WorkerTruth {
    pub pid: u32,
    pub created_utc: String,
    pub ended_utc: Option<String>,
    pub how: String,
}

#[derive(Serialize)]
pub struct W3cTruth {
    pub file: String,
    pub requests: usize,
    pub header_blocks: Vec<HeaderTruth>,
}

#[derive(Serialize)]
pub struct HeaderTruth {
    pub date: String,
    pub why: String,
}

#[derive(Serialize)]
pub struct HttpErrTruth {
    pub file: String,
    pub abandoned: usize,
    pub app_offline: usize,
    pub noise: usize,
}

#[derive(Serialize)]
pub struct EventsTruth {
    pub system: String,
    pub application: String,
}

fn server_files(
    p: &Plan,
    seed: u64,
    folder: &str,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> ServerTruth {
    let day = model::simulate(p, seed);
    let base = PathBuf::from(folder).join(p.server);
    let c = time::civil(p.day_start);
    let w3c_rel = base
        .join("inetpub/logs/LogFiles")
        .join(format!("W3SVC{}", p.site_id))
        .join(format!("u_ex{:02}{:02}{:02}.log", c.y % 100, c.mo, c.d));
    let herr_rel = base.join("Windows/System32/LogFiles/HTTPERR/httperr1.log");
    let sys_rel = base.join("events/System.xml");
    let app_rel = base.join("events/Application.xml");

    let w3c = render::w3c_log(&day);
    let mut rrng = Rng::new(seed ^ p.salt).fork(20);
    let (herr, counts) = render::httperr_log(&day, &mut rrng);
    let ev = render::events(&day, &mut Rng::new(seed ^ p.salt).fork(21));
    let slash = |p: &Path| p.to_string_lossy().replace('\\', "/");
    let mut crashes = Vec::new();
    for (k, c) in day.crashes.iter().enumerate() {
        let f: &FaultFacts = ev
            .faults
            .iter()
            .find(|f| f.crash == k)
            .expect("fault facts per crash");
        let dump = if c.spec.dump {
            let name = render::debugdiag_name(p.pool, f.pid, c.spec.at, p.tz_offset_min);
            let bytes = dumps::w3wp_crash_dump(&day, k, f, seed);
            files.push((base.join("dumps").join(&name), bytes));
            Some(name)
        } else {
            None
        };
        crashes.push(crash_truth(&day, k, f, dump));
    }
    let suspect = (!day.crashes.is_empty()).then(|| Suspect {
        module: render::CTSGATE.name.into(),
        path: render::CTSGATE.path.into(),
        version: render::CTSGATE.version.into(),
        timestamp: format!("{:#010x}", render::CTSGATE.timestamp),
        vendor: VENDOR.into(),
        product: PRODUCT.into(),
        kind: "isapi_filter".into(),
        exception_code: "0xc0000005".into(),
        fault_offset: format!("{:#x}", render::FAULT_OFFSET),
        request_method: "GET".into(),
        request_stem: "/catalog/search.aspx".into(),
        request_pattern: "q= of 400-900 characters full of %uXXXX escapes, then &lang=en-US".into(),
        client_ips: p.scanners.iter().map(|s| s.to_string()).collect(),
        user_agent: model::SCANNER_UA.into(),
        not_to_blame: vec![
            "/default.aspx".into(),
            "/api/cart/{id}".into(),
            "/api/products/{id}".into(),
            "/catalog/product.aspx".into(),
            "/catalog/search.aspx (short q)".into(),
            "/cart.aspx".into(),
        ],
    });
    let rapid_fail = day.rapid_fail.map(|(stopped, started)| RapidFail {
        crashes: day
            .crashes
            .iter()
            .enumerate()
            .filter(|(_, c)| in_rapid_fail(&day, c.spec.at))
            .map(|(k, _)| k + 1)
            .collect(),
        pool_disabled_utc: rfc3339_ms(stopped),
        was_5002_utc: ev.was_5002.map(time::iso7).unwrap_or_default(),
        pool_started_by_admin_utc: rfc3339_ms(started),
        app_offline_lines: counts.app_offline,
    });
    let workers = day
        .workers
        .iter()
        .map(|w| WorkerTruth {
            pid: w.pid,
            created_utc: rfc3339_ms(w.created_ms()),
            ended_utc: w.ended.map(|e| rfc3339_ms(e.0)),
            how: match w.ended {
                None => "running at midnight".into(),
                Some((_, WorkerEnd::Recycled)) => "scheduled recycle (WAS 5074)".into(),
                Some((_, WorkerEnd::IdleShutdown)) => "idle shutdown (WAS 5186)".into(),
                Some((_, WorkerEnd::Crashed(k))) => format!("crash {} (WAS 5011 + 5009)", k + 1),
            },
        })
        .collect();
    let header_blocks = w3c
        .headers
        .iter()
        .map(|(t, why)| HeaderTruth {
            date: time::w3c(*t),
            why: match why {
                HeaderWhy::FileCreated => "file created".into(),
                HeaderWhy::NewWorker(pid) => format!("new worker process {pid}"),
                HeaderWhy::Idle => "log reopened after 15+ idle minutes".into(),
            },
        })
        .collect();
    let truth = ServerTruth {
        folder: slash(&base),
        server: p.server.into(),
        server_ip: p.s_ip.into(),
        site: format!("W3SVC{}", p.site_id),
        app_pool: p.pool.into(),
        utc_offset_minutes: p.tz_offset_min,
        suspect,
        crashes,
        rapid_fail,
        workers,
        w3c: W3cTruth {
            file: slash(&w3c_rel),
            requests: w3c.lines,
            header_blocks,
        },
        httperr: HttpErrTruth {
            file: slash(&herr_rel),
            abandoned: counts.abandoned,
            app_offline: counts.app_offline,
            noise: counts.noise,
        },
        events: EventsTruth {
            system: slash(&sys_rel),
            application: slash(&app_rel),
        },
    };
    files.push((w3c_rel, w3c.bytes));
    files.push((herr_rel, herr));
    files.push((sys_rel, ev.system));
    files.push((app_rel, ev.application));
    truth
}

fn in_rapid_fail(day: &Day, at: i64) -> bool {
    match day.rapid_fail {
        Some((stopped, _)) => at <= stopped && at > stopped - 5 * MINUTE - 1_000,
        None => false,
    }
}

fn crash_truth(day: &Day, k: usize, f: &FaultFacts, dump: Option<String>) -> CrashTruth {
    let p = &day.plan;
    let c = &day.crashes[k];
    let w = &day.workers[c.worker];
    let killer = &day.reqs[c.killer];
    let in_flight_ordinary = c
        .abandoned
        .iter()
        .filter(|&&j| !matches!(day.reqs[j].tag, Tag::Killer(_)))
        .map(|&j| format!("{} {}", day.reqs[j].method, day.reqs[j].uri()))
        .collect();
    let local = time::civil(c.spec.at + p.tz_offset_min * MINUTE);
    CrashTruth {
        n: k + 1,
        time_utc: rfc3339_ms(c.spec.at),
        time_local: format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            local.y, local.mo, local.d, local.h, local.mi, local.s
        ),
        pid: w.pid,
        pid_hex: format!("{:#x}", w.pid),
        process_created_utc: rfc3339_ms(w.created_ms()),
        process_creation_filetime: format!("{:#x}", w.created_ticks + time::FILETIME_UNIX_OFFSET),
        thread_id: f.thread_id,
        killer_client_ip: killer.c_ip.clone(),
        killer_uri: killer.uri(),
        killer_query_chars: c
            .killer_query
            .strip_prefix("q=")
            .unwrap_or(&c.killer_query)
            .len()
            - "&lang=en-US".len(),
        in_flight_ordinary,
        httperr_abandoned_at: time::w3c(c.exit),
        app_error_1000_utc: time::iso7(f.app_error_ticks),
        was_5011_utc: time::iso7(f.was_5011_ticks),
        was_5009_utc: time::iso7(f.was_5009_ticks),
        report_id: f.report_id.clone(),
        rapid_fail_episode: in_rapid_fail(day, c.spec.at),
        dump,
    }
}

fn readme(t: &GroundTruth) -> String {
    let o = &t.outage;
    let h = &t.healthy;
    let s = o.suspect.as_ref().expect("the outage has a suspect");
    let mut r = String::new();
    let mut line = |l: &str| {
        r.push_str(l);
        r.push('\n');
    };
    line("# Sample outage");
    line("");
    line(
        "Synthetic but realistic IIS artifacts for trying `w3triage` and for the end-to-end tests.",
    );
    line(&format!(
        "Nothing here came from a real server: all addresses are documentation ranges (RFC 5737, RFC 3849) or private, and `{}` / `{}` are fictitious.",
        s.module, s.vendor
    ));
    line("");
    line("```sh");
    line("w3triage analyze samples/outage      # finds the crashes and names the suspect");
    line("w3triage analyze samples/healthy     # a normal day: no crash");
    line("w3triage analyze samples/slow        # no crash, three outages of other kinds");
    line("```");
    line("");
    line(
        "**This file and everything beside it are generated.** Edit `examples/gen_samples/`, then regenerate:",
    );
    line("");
    line("```sh");
    line(&t.regenerate);
    line("```");
    line("");
    line(
        "The test `tests/it/samples.rs` regenerates into a temporary folder and fails if a single byte differs.",
    );
    line("`ground-truth.json` holds everything below in machine-readable form.");
    line("");
    line("## Layout");
    line("");
    line("```");
    line(&format!(
        "outage/{}/                       one server, one day (2025-03-14 UTC)",
        o.server
    ));
    line(&format!("  {}", strip(&o.w3c.file, &o.folder)));
    line(&format!("  {}", strip(&o.httperr.file, &o.folder)));
    line(&format!(
        "  {}        wevtutil qe System /f:xml",
        strip(&o.events.system, &o.folder)
    ));
    line(&format!(
        "  {}   wevtutil qe Application /f:xml",
        strip(&o.events.application, &o.folder)
    ));
    line("  dumps/                             3 DebugDiag full dumps (crash rule, limit 3)");
    line(&format!(
        "healthy/{}/                      the same shop on another server, a normal day",
        h.server
    ));
    line(&format!(
        "slow/{}/                         a third server: a leak, a broken deployment, a hang",
        t.slow.server
    ));
    line("  inetpub/logs/LogFiles/W3SVC1/u_ex250314.log");
    line("  inetpub/logs/FailedReqLogFiles/W3SVC1/fr00000*.xml   Failed Request Tracing (500.19)");
    line("  events/System.xml");
    line(
        "  PerfLogs/Admin/IIS Health/DataCollector01.csv       relog of the Data Collector Set, every 15 s",
    );
    line("```");
    line("");
    line(
        "Formats: W3C with the IIS 10 default 15 fields and HTTPERR with the HTTP API 2.0 default 13 fields, both",
    );
    line(
        "CRLF and UTC; event exports as `wevtutil qe … /f:xml` writes them (one `<Event>` per line, no root element,",
    );
    line(
        "`SystemTime` UTC with 7 fractional digits); dumps are 64-bit minidumps (amd64, Windows Server 2019 build 17763)",
    );
    line(
        "made with `minidump-synth`, named by DebugDiag in the server's **local** time (UTC−05:00, Central Daylight Time).",
    );
    line("");
    line("## Ground truth");
    line("");
    line(&format!(
        "`{}` ({}, \"{}\", version {}, PE timestamp {}) is an ISAPI filter loaded into every `{}` worker of site `{}`.",
        s.path, s.vendor, s.product, s.version, s.timestamp, o.app_pool, o.site
    ));
    line(&format!(
        "Its URL normaliser faults (`{}` access violation at `{}+{}`) whenever it decodes a `{} {}` whose",
        s.exception_code, s.module, s.fault_offset, s.request_method, s.request_stem
    ));
    line(&format!("query is `{}`.", s.request_pattern));
    line(&format!(
        "Only two scanners send it: {} with user agent `{}`.",
        s.client_ips
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(" and "),
        s.user_agent
    ));
    line(
        "The killer request never completes, so it is **never in the W3C log**; it is in HTTPERR (`Connection_Abandoned_By_AppPool`).",
    );
    line(
        "The short searches (`q=running+shoes`) on the same page are ordinary, frequent and harmless.",
    );
    line("");
    line(&format!(
        "Innocent but in flight at some crashes (and frequent all day): {}.",
        s.not_to_blame
            .iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line("");
    line("### Crashes");
    line("");
    line(
        "| # | UTC | local | pid | pid (hex) | killer from | q length | ordinary in flight | dump |",
    );
    line("|---|---|---|---|---|---|---|---|---|");
    for c in &o.crashes {
        line(&format!(
            "| {}{} | {} | {} | {} | `{}` | {} | {} | {} | {} |",
            c.n,
            if c.rapid_fail_episode { " (RF)" } else { "" },
            c.time_utc,
            c.time_local,
            c.pid,
            c.pid_hex,
            c.killer_client_ip,
            c.killer_query_chars,
            c.in_flight_ordinary.len(),
            c.dump
                .as_deref()
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "–".into())
        ));
    }
    line("");
    line(
        "For every crash, all sources agree: the pid in the dump's MiscInfo (when there is a dump), in WAS 5011 and 5009",
    );
    line(
        "(decimal, `ExitCode` `c0000005`), in Application Error 1000 (`ProcessId` hex; `ProcessCreationTime` is the FILETIME of",
    );
    line(
        "the worker's start) and in the dump file name; the HTTPERR abandonments carry the second of the process exit (the crash",
    );
    line(
        "second); the W3C log has the requests that completed before the crash and a new header block when the next worker logs.",
    );
    line(
        "`Execution ProcessID` of event 1000 is WerFault's, and of WAS events 0: neither is the w3wp pid.",
    );
    line("");
    for c in &o.crashes {
        line(&format!(
            "- crash {} at {}: worker {} (started {}), event 1000 at {}, 5011 at {}, 5009 at {}, HTTPERR at {}; in flight: the killer + {}",
            c.n,
            c.time_utc,
            c.pid,
            c.process_created_utc,
            c.app_error_1000_utc,
            c.was_5011_utc,
            c.was_5009_utc,
            c.httperr_abandoned_at,
            c.in_flight_ordinary
                .iter()
                .map(|u| format!("`{}`", short(u)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    line("");
    if let Some(rf) = &o.rapid_fail {
        line("### Rapid-fail protection");
        line("");
        line(&format!(
            "Crashes {} come within five minutes (the scanner resends the same URL after each connection reset), so WAS",
            rf.crashes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        line(&format!(
            "stops `{}` when the fifth worker exits at {} (event 5002 at {}). HTTP.sys then answers every request with",
            o.app_pool, rf.pool_disabled_utc, rf.was_5002_utc
        ));
        line(&format!(
            "`503 1 AppOffline {}` ({} HTTPERR lines, no W3C lines) until an administrator starts the pool at {}.",
            o.app_pool, rf.app_offline_lines, rf.pool_started_by_admin_utc
        ));
        line("");
    }
    line("### Benign events that are not crashes");
    line("");
    for (name, st) in [("WEB01", o), ("WEB02", h)] {
        for w in &st.workers {
            if !w.how.starts_with("crash") {
                line(&format!(
                    "- {name}: worker {} started {}, ended {}: {}",
                    w.pid,
                    w.created_utc,
                    w.ended_utc.as_deref().unwrap_or("–"),
                    w.how
                ));
            }
        }
    }
    line(
        "- Service Control Manager 7036 (Windows Update, servicing stack) and Security-SPP 16384 on both servers.",
    );
    line(
        "- Repeated W3C header blocks (below) are normal: a new worker process, or the log reopened after 15+ idle minutes.",
    );
    line("");
    line("### Files in numbers");
    line("");
    line(
        "| server | W3C requests | header blocks | HTTPERR abandoned | HTTPERR AppOffline | HTTPERR noise |",
    );
    line("|---|---|---|---|---|---|");
    for st in [o, h] {
        line(&format!(
            "| {} | {} | {} | {} | {} | {} |",
            st.server,
            st.w3c.requests,
            st.w3c.header_blocks.len(),
            st.httperr.abandoned,
            st.httperr.app_offline,
            st.httperr.noise
        ));
    }
    line("");
    line(
        "HTTPERR noise: `Timer_ConnectionIdle`, `Client_Reset`, `Timer_MinBytesPerSecond`, `400 Hostname`.",
    );
    line(
        "W3C also holds scanner probes (404.0/404.7/404.8, a 500 on `id=10001'`), NTLM legs of the back office",
    );
    line(
        "(`401 2 5`, `401 1 2148074254`, then `200` with `CONTOSO\\user`), crawlers, 304s and a few `200 0 64` slow clients.",
    );
    line("");
    line("W3C header blocks on WEB01:");
    line("");
    for hb in &o.w3c.header_blocks {
        line(&format!("- `#Date: {}` — {}", hb.date, hb.why));
    }
    line("");
    line(&format!(
        "{} has no crash: no WAS 5009/5011/5002, no Application Error, no abandonment, no dump.",
        h.server
    ));
    line("");
    line(&format!(
        "{} (`slow/`) has no crash either, but three outages of other kinds in pool `{}`; the configuration change the report should name is {}:",
        t.slow.server, t.slow.pool, t.slow.suspect
    ));
    line("");
    for i in &t.slow.incidents {
        line(&format!(
            "- {} `{}` → `{}`: {}",
            i.time, i.kind, i.category, i.what
        ));
    }
    r
}

fn strip<'a>(path: &'a str, prefix: &str) -> &'a str {
    path.strip_prefix(prefix)
        .map(|s| s.trim_start_matches('/'))
        .unwrap_or(path)
}

fn short(u: &str) -> String {
    if u.len() > 60 {
        format!("{}…", &u[..57])
    } else {
        u.to_owned()
    }
}
