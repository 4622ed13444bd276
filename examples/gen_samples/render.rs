//! Renders a simulated day into the files IIS, HTTP.sys and `wevtutil` write, byte for byte:
//! CRLF line ends, single spaces, `-` for empty, UTC everywhere.

use super::model::{Day, Fate, WorkerEnd};
use super::rng::Rng;
use super::time::{FILETIME_UNIX_OFFSET, MINUTE, SECOND, iso7, w3c};

pub const W3C_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
pub const HTTPERR_FIELDS: &str = "date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename";

/// HTTP.sys closes an idle log file and writes the header block again when it reopens it.
const LOG_IDLE_REOPEN: i64 = 15 * MINUTE;

/// Why a header block was written (for the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderWhy {
    FileCreated,
    NewWorker(u32),
    Idle,
}

#[derive(Debug, Clone)]
pub struct W3cFile {
    pub bytes: Vec<u8>,
    pub lines: usize,
    pub headers: Vec<(i64, HeaderWhy)>,
}

pub fn w3c_log(day: &Day) -> W3cFile {
    let p = &day.plan;
    let mut idx: Vec<usize> = (0..day.reqs.len())
        .filter(|&i| day.reqs[i].fate == Fate::Logged)
        .collect();
    idx.sort_by_key(|&i| (day.reqs[i].end, day.reqs[i].start, i));
    // The first line each worker (other than the one alive at midnight) logged.
    let mut first_of: Vec<Option<usize>> = vec![None; day.workers.len()];
    for &i in &idx {
        let w = day.reqs[i].worker;
        if w != 0 && first_of[w].is_none() {
            first_of[w] = Some(i);
        }
    }
    let mut out = String::with_capacity(idx.len() * 230);
    let mut headers = Vec::new();
    let mut prev_end: Option<i64> = None;
    for &i in &idx {
        let r = &day.reqs[i];
        let why = match prev_end {
            None => Some(HeaderWhy::FileCreated),
            Some(pe) if r.end - pe >= LOG_IDLE_REOPEN => Some(if first_of[r.worker] == Some(i) {
                HeaderWhy::NewWorker(day.workers[r.worker].pid)
            } else {
                HeaderWhy::Idle
            }),
            _ if first_of[r.worker] == Some(i) => {
                Some(HeaderWhy::NewWorker(day.workers[r.worker].pid))
            }
            _ => None,
        };
        if let Some(why) = why {
            let at = r.end - r.end.rem_euclid(SECOND);
            out.push_str(
                "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n",
            );
            out.push_str(&format!("#Date: {}\r\n#Fields: {W3C_FIELDS}\r\n", w3c(at)));
            headers.push((at, why));
        }
        prev_end = Some(r.end);
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{} {} {} {} {} {} {} {} {} {} {} {} {} {}\r\n",
            w3c(r.end),
            p.s_ip,
            r.method,
            r.stem,
            dash(&r.query),
            r.port,
            dash(&r.user),
            r.c_ip,
            r.ua,
            dash(&r.referer),
            r.status,
            r.sub,
            r.win32,
            r.end - r.start
        ));
    }
    W3cFile {
        bytes: out.into_bytes(),
        lines: idx.len(),
        headers,
    }
}

#[derive(Debug, Clone, Default)]
pub struct HttpErrCounts {
    pub abandoned: usize,
    pub app_offline: usize,
    pub noise: usize,
}

#[allow(clippy::too_many_arguments)]
fn herr(
    t: i64,
    c_ip: &str,
    c_port: u16,
    s_ip: &str,
    ver: &str,
    method: &str,
    uri: &str,
    status: &str,
    site: &str,
    reason: &str,
    queue: &str,
) -> String {
    format!(
        "{} {c_ip} {c_port} {s_ip} 443 {ver} {method} {uri} {status} {site} {reason} {queue}\r\n",
        w3c(t)
    )
}

pub fn httperr_log(day: &Day, rng: &mut Rng) -> (Vec<u8>, HttpErrCounts) {
    let p = &day.plan;
    let site = p.site_id.to_string();
    let mut lines: Vec<(i64, u8, String)> = Vec::new();
    let mut counts = HttpErrCounts::default();
    for c in &day.crashes {
        for &j in &c.abandoned {
            let r = &day.reqs[j];
            let l = herr(
                c.exit,
                &r.c_ip,
                r.c_port,
                p.s_ip,
                "HTTP/1.1",
                r.method,
                &r.uri(),
                "-",
                &site,
                "Connection_Abandoned_By_AppPool",
                p.pool,
            );
            lines.push((c.exit, 1, l));
            counts.abandoned += 1;
        }
    }
    for r in &day.reqs {
        match r.fate {
            Fate::Offline => {
                lines.push((
                    r.start,
                    2,
                    herr(
                        r.start,
                        &r.c_ip,
                        r.c_port,
                        p.s_ip,
                        "HTTP/1.1",
                        r.method,
                        &r.uri(),
                        "503",
                        &site,
                        "AppOffline",
                        p.pool,
                    ),
                ));
                counts.app_offline += 1;
            }
            Fate::ClientReset => {
                lines.push((
                    r.end,
                    3,
                    herr(
                        r.end,
                        &r.c_ip,
                        r.c_port,
                        p.s_ip,
                        "HTTP/1.1",
                        r.method,
                        &r.uri(),
                        "-",
                        &site,
                        "Client_Reset",
                        p.pool,
                    ),
                ));
                counts.noise += 1;
            }
            Fate::Logged if r.slow_client => {
                lines.push((
                    r.end,
                    3,
                    herr(
                        r.end,
                        &r.c_ip,
                        r.c_port,
                        p.s_ip,
                        "HTTP/1.1",
                        r.method,
                        &r.uri(),
                        "-",
                        &site,
                        "Timer_MinBytesPerSecond",
                        p.pool,
                    ),
                ));
                counts.noise += 1;
            }
            _ => {}
        }
    }
    // Browsers keep connections open; HTTP.sys closes them after 120 s of silence.
    for (last, ip) in &day.idle_conns {
        if rng.chance(0.22) {
            let t = last + 120 * SECOND + rng.int(0, 900);
            if t < p.day_end() {
                let port = rng.int(49_152, 65_535) as u16;
                lines.push((
                    t,
                    3,
                    herr(
                        t,
                        ip,
                        port,
                        p.s_ip,
                        "-",
                        "-",
                        "-",
                        "-",
                        "-",
                        "Timer_ConnectionIdle",
                        "-",
                    ),
                ));
                counts.noise += 1;
            }
        }
    }
    // Bots that put the IP address or junk in the Host header.
    let n = rng.int(6, 12);
    for _ in 0..n {
        let t = p.day_start + rng.below(super::time::DAY as u64) as i64;
        let ip = format!(
            "{}.{}",
            ["192.0.2", "198.51.100", "203.0.113"][rng.below(3) as usize],
            rng.int(1, 254)
        );
        if p.scanners.contains(&ip.as_str()) {
            continue;
        }
        let port = rng.int(1_024, 65_535) as u16;
        lines.push((
            t,
            3,
            herr(
                t, &ip, port, p.s_ip, "HTTP/1.1", "GET", "/", "400", "-", "Hostname", "-",
            ),
        ));
        counts.noise += 1;
    }
    lines.sort_by_key(|l| (l.0 - l.0.rem_euclid(SECOND), l.1, l.0));
    let mut out = String::new();
    if let Some(first) = lines.first() {
        out.push_str("#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n");
        out.push_str(&format!(
            "#Date: {}\r\n#Fields: {HTTPERR_FIELDS}\r\n",
            w3c(first.0)
        ));
    }
    for (_, _, l) in lines {
        out.push_str(&l);
    }
    (out.into_bytes(), counts)
}

/// What the Application Error 1000 of a crash says (kept for the README and the dumps).
#[derive(Debug, Clone)]
pub struct FaultFacts {
    pub crash: usize,
    pub pid: u32,
    pub app_error_ticks: i64,
    pub was_5011_ticks: i64,
    pub was_5009_ticks: i64,
    pub report_id: String,
    pub thread_id: u32,
}

pub struct Module {
    pub name: &'static str,
    pub path: &'static str,
    pub version: &'static str,
    pub timestamp: u32,
}

pub const W3WP: Module = Module {
    name: "w3wp.exe",
    path: "c:\\windows\\system32\\inetsrv\\w3wp.exe",
    version: "10.0.17763.1",
    timestamp: 0xa6f2_7c31,
};
pub const CTSGATE: Module = Module {
    name: "ctsgate.dll",
    path: "C:\\Program Files\\Contoso\\SecureGate\\ctsgate.dll",
    version: "4.2.1.733",
    timestamp: 0x65a1_f3c2,
};
/// Where in `ctsgate.dll` the decoder faults (same bug, same instruction, every time).
pub const FAULT_OFFSET: u64 = 0x1_b4c7;

struct Ev {
    ticks: i64,
    provider: &'static str,
    id: u32,
    qualifiers: Option<u32>,
    level: u8,
    task: u32,
    keywords: &'static str,
    exec: (u32, u32),
    data: Vec<(Option<&'static str>, String)>,
    binary: Option<String>,
}

const WAS: &str = "<Provider Name='Microsoft-Windows-WAS' Guid='{524B5D04-133C-4A62-8362-64E8EDB9CE40}' EventSourceName='WAS'/>";
const SCM: &str = "<Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/>";
const APP_ERROR: &str = "<Provider Name='Application Error'/>";
const SPP: &str = "<Provider Name='Microsoft-Windows-Security-SPP' Guid='{E23B33B0-C8C9-472C-A5F9-F2BDFEA0F156}' EventSourceName='Software Protection Platform Service'/>";
const CLASSIC: &str = "0x80000000000000";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}

fn render_events(evs: &mut [Ev], channel: &str, computer: &str, first_record: u64) -> Vec<u8> {
    evs.sort_by_key(|e| e.ticks);
    let mut out = String::new();
    for (n, e) in evs.iter().enumerate() {
        out.push_str(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
        );
        out.push_str(e.provider);
        match e.qualifiers {
            Some(q) => out.push_str(&format!("<EventID Qualifiers='{q}'>{}</EventID>", e.id)),
            None => out.push_str(&format!("<EventID>{}</EventID>", e.id)),
        }
        out.push_str(&format!(
            "<Version>0</Version><Level>{}</Level><Task>{}</Task><Opcode>0</Opcode><Keywords>{}</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='{}'/><Channel>{channel}</Channel><Computer>{computer}</Computer><Security/></System><EventData>",
            e.level,
            e.task,
            e.keywords,
            iso7(e.ticks),
            first_record + n as u64,
            e.exec.0,
            e.exec.1
        ));
        for (name, v) in &e.data {
            match name {
                Some(nm) => out.push_str(&format!("<Data Name='{nm}'>{}</Data>", esc(v))),
                None => out.push_str(&format!("<Data>{}</Data>", esc(v))),
            }
        }
        if let Some(b) = &e.binary {
            out.push_str(&format!("<Binary>{b}</Binary>"));
        }
        out.push_str("</EventData></Event>\r\n");
    }
    out.into_bytes()
}

fn was(ticks: i64, id: u32, data: Vec<(Option<&'static str>, String)>, binary: Option<&str>) -> Ev {
    let (level, qualifiers) = match id {
        5002 => (2, 49152),
        5009 | 5011 => (3, 32768),
        _ => (4, 16384),
    };
    Ev {
        ticks,
        provider: WAS,
        id,
        qualifiers: Some(qualifiers),
        level,
        task: 0,
        keywords: CLASSIC,
        exec: (0, 0),
        data,
        binary: binary.map(str::to_owned),
    }
}

fn utf16_hex(s: &str) -> String {
    let mut h = String::new();
    for u in s.encode_utf16().chain(std::iter::once(0)) {
        for b in u.to_le_bytes() {
            h.push_str(&format!("{b:02X}"));
        }
    }
    h
}

/// Service Control Manager 7036 pairs: the routine chatter of any System log.
fn scm(
    evs: &mut Vec<Ev>,
    rng: &mut Rng,
    ticks: i64,
    display: &'static str,
    service: &str,
    running: bool,
) {
    let state = if running { "running" } else { "stopped" };
    let code = if running { 4 } else { 1 };
    evs.push(Ev {
        ticks: ticks + rng.int(0, 9_999),
        provider: SCM,
        id: 7036,
        qualifiers: Some(16384),
        level: 4,
        task: 0,
        keywords: "0x8080000000000000",
        exec: (684, 4 * rng.int(100, 2_000) as u32),
        data: vec![
            (Some("param1"), display.to_owned()),
            (Some("param2"), state.to_owned()),
        ],
        binary: Some(utf16_hex(&format!("{service}/{code}"))),
    });
}

pub struct EventFiles {
    pub system: Vec<u8>,
    pub application: Vec<u8>,
    pub faults: Vec<FaultFacts>,
    /// When WAS logged 5002 (rapid-fail protection stopped the pool), 100-ns ticks.
    pub was_5002: Option<i64>,
}

pub fn events(day: &Day, rng: &mut Rng) -> EventFiles {
    let p = &day.plan;
    let ticks = |ms: i64, rng: &mut Rng| ms * 10_000 + rng.int(0, 9_999);
    let mut sys: Vec<Ev> = Vec::new();
    let mut app: Vec<Ev> = Vec::new();
    let mut faults = Vec::new();
    for (wi, w) in day.workers.iter().enumerate() {
        match w.ended {
            Some((t, WorkerEnd::Recycled)) => sys.push(was(
                ticks(t, rng),
                5074,
                vec![
                    (Some("ProcessID"), w.pid.to_string()),
                    (Some("AppPoolID"), p.pool.to_owned()),
                ],
                None,
            )),
            Some((t, WorkerEnd::IdleShutdown)) => sys.push(was(
                ticks(t, rng),
                5186,
                vec![
                    (Some("ProcessID"), w.pid.to_string()),
                    (Some("AppPoolID"), p.pool.to_owned()),
                    (Some("param3"), "20".to_owned()),
                ],
                None,
            )),
            Some((_, WorkerEnd::Crashed(k))) => {
                let c = &day.crashes[k];
                assert_eq!(c.worker, wi);
                let t = c.spec.at;
                let app_error = ticks(t + rng.int(170, 320), rng);
                let e5011 = ticks(c.exit + rng.int(15, 60), rng);
                let e5009 = e5011 + rng.int(5_000, 140_000);
                let report_id = rng.guid();
                let thread_id = 4 * rng.int(400, 4_000) as u32;
                let werfault = (
                    4 * rng.int(300, 6_000) as u32,
                    4 * rng.int(300, 6_000) as u32,
                );
                sys.push(was(
                    e5011,
                    5011,
                    vec![
                        (Some("AppPoolID"), p.pool.to_owned()),
                        (Some("ProcessID"), w.pid.to_string()),
                    ],
                    Some("6D000780"),
                ));
                sys.push(was(
                    e5009,
                    5009,
                    vec![
                        (Some("AppPoolID"), p.pool.to_owned()),
                        (Some("ProcessID"), w.pid.to_string()),
                        (Some("ExitCode"), "c0000005".to_owned()),
                    ],
                    None,
                ));
                let filetime = w.created_ticks + FILETIME_UNIX_OFFSET;
                let data: Vec<(Option<&'static str>, String)> = vec![
                    (Some("AppName"), W3WP.name.to_owned()),
                    (Some("AppVersion"), W3WP.version.to_owned()),
                    (Some("AppTimeStamp"), format!("{:08x}", W3WP.timestamp)),
                    (Some("ModuleName"), CTSGATE.name.to_owned()),
                    (Some("ModuleVersion"), CTSGATE.version.to_owned()),
                    (
                        Some("ModuleTimeStamp"),
                        format!("{:08x}", CTSGATE.timestamp),
                    ),
                    (Some("ExceptionCode"), "c0000005".to_owned()),
                    (Some("FaultingOffset"), format!("{FAULT_OFFSET:016x}")),
                    (Some("ProcessId"), format!("{:#x}", w.pid)),
                    (Some("ProcessCreationTime"), format!("{filetime:#x}")),
                    (Some("AppPath"), W3WP.path.to_owned()),
                    (Some("ModulePath"), CTSGATE.path.to_owned()),
                    (Some("ReportId"), report_id.clone()),
                    (Some("PackageFullName"), String::new()),
                    (Some("PackageRelativeAppId"), String::new()),
                ];
                app.push(Ev {
                    ticks: app_error,
                    provider: APP_ERROR,
                    id: 1000,
                    qualifiers: Some(0),
                    level: 2,
                    task: 100,
                    keywords: CLASSIC,
                    // Logged by WerFault.exe, not by the dying w3wp: never read the pid here.
                    exec: werfault,
                    data,
                    binary: None,
                });
                faults.push(FaultFacts {
                    crash: k,
                    pid: w.pid,
                    app_error_ticks: app_error,
                    was_5011_ticks: e5011,
                    was_5009_ticks: e5009,
                    report_id,
                    thread_id,
                });
            }
            None => {}
        }
    }
    let mut was_5002 = None;
    if let Some((stopped, _)) = day.rapid_fail {
        // Right after the 5009 of the failure that tripped it (the one whose exit stopped the pool).
        let last = faults
            .iter()
            .filter(|f| day.crashes[f.crash].exit == stopped)
            .map(|f| f.was_5009_ticks)
            .max()
            .unwrap_or(stopped * 10_000);
        let t = last + rng.int(2_000, 30_000);
        was_5002 = Some(t);
        sys.push(was(
            t,
            5002,
            vec![(Some("AppPoolID"), p.pool.to_owned())],
            None,
        ));
    }
    // Routine noise: Windows Update and the servicing stack on their schedule.
    let base = p.day_start;
    let mut t = base + 61 * MINUTE + rng.int(0, 50_000);
    scm(
        &mut sys,
        rng,
        t * 10_000,
        "Windows Modules Installer",
        "TrustedInstaller",
        true,
    );
    t += 10 * MINUTE + rng.int(0, 50_000);
    scm(
        &mut sys,
        rng,
        t * 10_000,
        "Windows Modules Installer",
        "TrustedInstaller",
        false,
    );
    let mut t = base + 11 * 60 * MINUTE + rng.int(0, 50_000);
    scm(
        &mut sys,
        rng,
        t * 10_000,
        "Windows Update",
        "wuauserv",
        true,
    );
    t += 7 * MINUTE + rng.int(0, 50_000);
    scm(
        &mut sys,
        rng,
        t * 10_000,
        "Windows Update",
        "wuauserv",
        false,
    );
    for h in [4, 16] {
        let t = base + h * 60 * MINUTE + rng.int(0, 3_000_000);
        app.push(Ev {
            ticks: t * 10_000 + rng.int(0, 9_999),
            provider: SPP,
            id: 16384,
            qualifiers: Some(16384),
            level: 4,
            task: 0,
            keywords: CLASSIC,
            exec: (0, 0),
            data: vec![
                (None, "2125-02-18T14:03:55Z".to_owned()),
                (None, "RulesEngine".to_owned()),
            ],
            binary: None,
        });
    }
    let first_sys = 48_000 + rng.below(9_000);
    let first_app = 21_000 + rng.below(9_000);
    EventFiles {
        system: render_events(&mut sys, "System", p.server, first_sys),
        application: render_events(&mut app, "Application", p.server, first_app),
        faults,
        was_5002,
    }
}

/// Local wall-clock pieces of an instant (the server's time zone is a fixed offset on the day).
pub fn local_parts(ms: i64, tz_offset_min: i64) -> super::time::Civil {
    super::time::civil(ms + tz_offset_min * MINUTE)
}

/// `w3wp__ShopAppPool__PID__4712__Date__03_14_2025__Time_09_12_33AM__123__Second_Chance_Exception_C0000005.dmp`
pub fn debugdiag_name(pool: &str, pid: u32, at: i64, tz_offset_min: i64) -> String {
    let c = local_parts(at, tz_offset_min);
    let (h12, ampm) = match c.h {
        0 => (12, "AM"),
        1..=11 => (c.h, "AM"),
        12 => (12, "PM"),
        _ => (c.h - 12, "PM"),
    };
    format!(
        "w3wp__{pool}__PID__{pid}__Date__{:02}_{:02}_{:04}__Time_{:02}_{:02}_{:02}{ampm}__{}__Second_Chance_Exception_C0000005.dmp",
        c.mo, c.d, c.y, h12, c.mi, c.s, c.ms
    )
}
