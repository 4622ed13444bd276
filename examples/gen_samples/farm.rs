//! A web farm's week, for `w3triage farm`: N servers behind one balancer serving the shop of the
//! samples, D days each, in the real IIS layout, older days compressed as admins keep them.
//!
//! - Two servers in three got SecureGate 4.2.1 (`ctsgate.dll` 4.2.1.733): on one day each the
//!   scanner's long `%u` query kills their worker twice, and DebugDiag wrote a full dump of each
//!   crash. This is the cross-server finding: one module, one request pattern, many servers.
//! - The others still run 4.2.0.610 and never crash; the admin took a reference dump of one
//!   healthy worker on each (no exception), which is what makes the module inventories
//!   comparable: 4.2.1.733 is loaded only where workers crash.
//! - The first healthy server also had one unrelated crash (a PDF component, event log only):
//!   the distractor, which must stay that server's own finding.
//!
//! Days older than the last two are compressed: `.gz` per file on even-numbered servers, one
//! `.zip` per month and folder on odd-numbered ones (as `Compress-Archive` writes them, with
//! backslashes).

use super::dumps;
use super::model::{self, CrashSpec, Plan};
use super::render;
use super::rng::Rng;
use super::time::{self, DAY, MINUTE, utc};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// The command that writes a farm.
pub const REGENERATE: &str =
    "cargo run --release --example gen_farm -- --servers 30 --days 7 --seed 1 --out farm";

/// What the generated farm holds, for tests and the README.
#[derive(Serialize, Debug, Clone)]
pub struct FarmTruth {
    pub servers: Vec<String>,
    pub days: Vec<String>,
    /// Servers whose workers crash in `ctsgate.dll` (SecureGate 4.2.1).
    pub crashing: Vec<String>,
    pub module: String,
    pub new_version: String,
    pub old_version: String,
    /// The server with one unrelated crash, and its module.
    pub distractor: Option<String>,
    pub distractor_module: String,
    /// Crashes per crashing server.
    pub crashes_per_server: usize,
}

/// The distractor's faulting module.
const FABPDF: render::Module = render::Module {
    name: "fabpdf.dll",
    path: "C:\\Program Files\\Fabrikam\\PDF Toolkit\\fabpdf.dll",
    version: "7.1.0.12",
    timestamp: 0x6412_9ab3,
};

/// Every file of a farm of `servers` servers over `days` days: (relative path, bytes), sorted.
pub fn farm_files(servers: usize, days: usize, seed: u64) -> (Vec<(PathBuf, Vec<u8>)>, FarmTruth) {
    let first = utc(2025, 3, 10, 0, 0, 0, 0);
    let mut files = Vec::new();
    let mut truth = FarmTruth {
        servers: Vec::new(),
        days: (0..days)
            .map(|d| time::rfc3339_ms(first + d as i64 * DAY)[..10].to_string())
            .collect(),
        crashing: Vec::new(),
        module: render::CTSGATE.name.into(),
        new_version: "4.2.1.733".into(),
        old_version: "4.2.0.610".into(),
        distractor: None,
        distractor_module: FABPDF.name.into(),
        crashes_per_server: 2,
    };
    for i in 0..servers {
        let name = format!("WEB{:02}", i + 1);
        let updated = i % 3 != 2;
        let distractor = !updated && truth.distractor.is_none();
        if updated {
            truth.crashing.push(name.clone());
        }
        if distractor {
            truth.distractor = Some(name.clone());
        }
        server_files(i, &name, days, first, seed, updated, distractor, &mut files);
        truth.servers.push(name);
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    (files, truth)
}

/// A `&'static str` for a plan (plans are built for the samples' fixed servers); a farm
/// generator run leaks a few bytes per server.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn plan(i: usize, name: &str, day_start: i64, crashes: Vec<CrashSpec>) -> Plan {
    Plan {
        server: leak(name.to_string()),
        s_ip: leak(format!("10.20.1.{}", 11 + i)),
        day_start,
        sessions: 140,
        googlebot: 40,
        bingbot: 15,
        admin_sessions: 1,
        noise_scans: 1,
        gaps: vec![],
        first_worker_created: day_start - 5 * 60 * MINUTE - (i as i64 * 7_919) % 3_600_000,
        recycles: vec![],
        scanners: if crashes.is_empty() {
            vec![]
        } else {
            vec!["203.0.113.45"]
        },
        crashes,
        admin_start: None,
        salt: 0x4641_524d_0000 + (i as u64) * 64,
        ..super::healthy_plan()
    }
}

#[allow(clippy::too_many_arguments)]
fn server_files(
    i: usize,
    name: &str,
    days: usize,
    first: i64,
    seed: u64,
    updated: bool,
    distractor: bool,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) {
    let base = PathBuf::from(name);
    let mut system = Vec::new();
    let mut application = Vec::new();
    for d in 0..days {
        let day_start = first + d as i64 * DAY;
        let hm = |h: i64, m: i64| day_start + (h * 60 + m) * MINUTE + (i as i64 * 1_337) % 60_000;
        let crashes = if updated && d == i % days {
            let crash = |at| CrashSpec {
                at,
                scanner: 0,
                retry_of: None,
                dump: true,
            };
            vec![
                crash(hm(10, (i as i64 * 7) % 50)),
                crash(hm(16, (i as i64 * 11) % 50)),
            ]
        } else {
            vec![]
        };
        let mut p = plan(i, name, day_start, crashes);
        p.salt += d as u64;
        let day = model::simulate(&p, seed);
        let c = time::civil(day_start);
        let stamp = format!("{:02}{:02}{:02}", c.y % 100, c.mo, c.d);
        let old = d + 2 < days;
        let w3c_dir = base.join("inetpub/logs/LogFiles/W3SVC1");
        let herr_dir = base.join("Windows/System32/LogFiles/HTTPERR");
        let w3c = render::w3c_log(&day).bytes;
        let mut rrng = Rng::new(seed ^ p.salt).fork(20);
        let (herr, _) = render::httperr_log(&day, &mut rrng);
        let logs = [
            (w3c_dir, format!("u_ex{stamp}.log"), w3c),
            (herr_dir, format!("httperr{}.log", d + 1), herr),
        ];
        for (dir, file, bytes) in logs {
            store(
                files,
                &dir,
                &file,
                bytes,
                old,
                i,
                &format!("{:02}{:02}", c.y % 100, c.mo),
            );
        }
        let ev = render::events(&day, &mut Rng::new(seed ^ p.salt).fork(21));
        system.extend_from_slice(&ev.system);
        application.extend_from_slice(&ev.application);
        for (k, crash) in day.crashes.iter().enumerate() {
            let f = ev
                .faults
                .iter()
                .find(|f| f.crash == k)
                .expect("fault facts");
            let dump_name = render::debugdiag_name(p.pool, f.pid, crash.spec.at, p.tz_offset_min);
            let bytes = dumps::w3wp_crash_dump(&day, k, f, seed);
            files.push((base.join("dumps").join(dump_name), bytes));
        }
        if !updated && d + 1 == days {
            let at = hm(12, 5);
            let pid = day
                .workers
                .iter()
                .rev()
                .find(|w| w.created_ms() < at)
                .map_or(4_000, |w| w.pid);
            // DebugDiag names a hand-made dump like a crash dump, with "Manual Dump" at the end.
            let dump_name = render::debugdiag_name(p.pool, pid, at, p.tz_offset_min)
                .replace("Second_Chance_Exception_C0000005", "Manual Dump");
            let bytes = dumps::reference_dump(&day, at, dumps::CTSGATE_OLD, seed);
            files.push((base.join("dumps").join(dump_name), bytes));
        }
        if distractor && d + 1 == days {
            let (sys, app) = distractor_events(name, p.pool, &day, hm(13, 37));
            system.extend_from_slice(&sys);
            application.extend_from_slice(&app);
        }
    }
    files.push((base.join("events/System.xml"), system));
    files.push((base.join("events/Application.xml"), application));
}

/// Puts a day's log at `dir/file`, or for an old day compressed: `file.gz` on even-numbered
/// servers, into the month's zip of the folder on odd-numbered ones.
fn store(
    files: &mut Vec<(PathBuf, Vec<u8>)>,
    dir: &std::path::Path,
    file: &str,
    bytes: Vec<u8>,
    old: bool,
    i: usize,
    month: &str,
) {
    if !old {
        files.push((dir.join(file), bytes));
    } else if i.is_multiple_of(2) {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&bytes).expect("gzip in memory");
        files.push((
            dir.join(format!("{file}.gz")),
            e.finish().expect("gzip in memory"),
        ));
    } else {
        let prefix = if file.starts_with("u_ex") {
            "u_ex"
        } else {
            "httperr-"
        };
        let zip_path = dir.join(format!("{prefix}{month}.zip"));
        let member = format!("{}\\{file}", dir.file_name().unwrap().to_string_lossy());
        let prior = files
            .iter()
            .position(|(p, _)| *p == zip_path)
            .map(|k| files.swap_remove(k).1);
        files.push((zip_path, add_to_zip(prior, &member, &bytes)));
    }
}

/// `zip` with one more deflated member (a new archive when `zip` is `None`).
fn add_to_zip(zip: Option<Vec<u8>>, member: &str, bytes: &[u8]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = match zip {
        Some(z) => zip::ZipWriter::new_append(std::io::Cursor::new(z)).expect("zip in memory"),
        None => zip::ZipWriter::new(std::io::Cursor::new(Vec::new())),
    };
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file(member, opts).expect("zip in memory");
    w.write_all(bytes).expect("zip in memory");
    w.finish().expect("zip in memory").into_inner()
}

/// WAS 5011 and 5009 and Application Error 1000 for a crash in `fabpdf.dll` at `at`.
fn distractor_events(server: &str, pool: &str, day: &model::Day, at: i64) -> (Vec<u8>, Vec<u8>) {
    let w = day
        .workers
        .iter()
        .rev()
        .find(|w| w.created_ms() < at)
        .unwrap_or(&day.workers[0]);
    let t = |ms: i64| time::iso7(ms * 10_000 + 4_321);
    let system_ev = |id: u32, ms: i64, data: String| {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WAS' Guid='{{524B5D04-133C-4A62-8362-64E8EDB9CE40}}' EventSourceName='WAS'/><EventID Qualifiers='32768'>{id}</EventID><Version>0</Version><Level>3</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>System</Channel><Computer>{server}</Computer><Security/></System><EventData>{data}</EventData></Event>\r\n",
            t(ms),
            90_000 + id,
        )
    };
    let pool_pid = format!(
        "<Data Name='AppPoolID'>{pool}</Data><Data Name='ProcessID'>{}</Data>",
        w.pid
    );
    let sys = system_ev(
        5011,
        at + 90,
        format!("{pool_pid}<Binary>6D000780</Binary>"),
    ) + &system_ev(
        5009,
        at + 105,
        format!("{pool_pid}<Data Name='ExitCode'>c0000005</Data>"),
    );
    let data = [
        ("AppName", render::W3WP.name.to_string()),
        ("AppVersion", render::W3WP.version.to_string()),
        ("AppTimeStamp", format!("{:08x}", render::W3WP.timestamp)),
        ("ModuleName", FABPDF.name.to_string()),
        ("ModuleVersion", FABPDF.version.to_string()),
        ("ModuleTimeStamp", format!("{:08x}", FABPDF.timestamp)),
        ("ExceptionCode", "c0000005".to_string()),
        ("FaultingOffset", "000000000003f1d2".to_string()),
        ("ProcessId", format!("{:#x}", w.pid)),
        (
            "ProcessCreationTime",
            format!("{:#x}", w.created_ticks + time::FILETIME_UNIX_OFFSET),
        ),
        ("AppPath", render::W3WP.path.to_string()),
        ("ModulePath", FABPDF.path.to_string()),
        (
            "ReportId",
            "0b7e4c1d-2f3a-4e5b-9c6d-7e8f9a0b1c2d".to_string(),
        ),
        ("PackageFullName", String::new()),
        ("PackageRelativeAppId", String::new()),
    ];
    let data: String = data
        .iter()
        .map(|(k, v)| format!("<Data Name='{k}'>{v}</Data>"))
        .collect();
    let app = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Application Error'/><EventID Qualifiers='0'>1000</EventID><Version>0</Version><Level>2</Level><Task>100</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>91000</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='2212'/><Channel>Application</Channel><Computer>{server}</Computer><Security/></System><EventData>{data}</EventData></Event>\r\n",
        t(at),
        w.pid,
    );
    (sys.into_bytes(), app.into_bytes())
}
