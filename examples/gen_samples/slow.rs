//! The slow day: WEB03 serves the same shop and never crashes, but has three outages of other
//! kinds, each with the evidence an admin would have collected:
//! - 11:20 UTC: WAS recycles the worker on its private bytes limit (5117) after two hours of
//!   growth the Data Collector Set logged;
//! - 15:02–15:13: a deployment broke `web.config` three minutes after the pool's properties
//!   changed (5080): HTTP 500.19 on the checkout pages, traced by FREB;
//! - 19:40: WAS finds the worker hung (5010) after sixteen minutes of CPU pinned by one
//!   looping thread, with few context switches.
//!
//! The traffic is the simulation of a quiet day (`model.rs`); the outages are laid over it.

use super::model::{self, Day, Plan};
use super::render;
use super::rng::Rng;
use super::time::{self, MINUTE, utc};
use serde::Serialize;
use std::path::PathBuf;

const SECOND: i64 = 1000;

/// The healthy shop's day on a third server: its own traffic (salt), no scheduled recycle.
pub fn slow_plan() -> Plan {
    let at = |h, m, s, ms| utc(2025, 3, 14, h, m, s, ms);
    Plan {
        server: "WEB03",
        s_ip: "10.20.1.13",
        gaps: vec![(at(6, 40, 0, 0), at(7, 2, 0, 0))],
        first_worker_created: utc(2025, 3, 13, 11, 4, 51, 220),
        recycles: vec![],
        salt: 0x57_4542_3033,
        ..super::healthy_plan()
    }
}

/// One outage of the slow day, as the report should find it.
#[derive(Serialize)]
pub struct SlowIncident {
    pub kind: String,
    pub category: String,
    pub time: String,
    pub what: String,
}

#[derive(Serialize)]
pub struct SlowTruth {
    pub folder: String,
    pub server: String,
    pub pool: String,
    pub incidents: Vec<SlowIncident>,
    /// The configuration change named as the burst's suspect.
    pub suspect: String,
}

const RECYCLE_AT: (i64, i64, i64) = (11, 20, 30);
const CHANGE_AT: (i64, i64, i64) = (14, 59, 12);
const BURST: ((i64, i64), (i64, i64)) = ((15, 2), (15, 14));
const SPIN: ((i64, i64), (i64, i64)) = ((19, 24), (19, 41));
const HANG_AT: (i64, i64, i64) = (19, 40, 31);
const BROKEN_PAGES: [&str; 3] = ["/checkout.aspx", "/cart.aspx", "/account/login.aspx"];

fn at(h: i64, m: i64, s: i64) -> i64 {
    utc(2025, 3, 14, h, m, s, 0)
}

/// The pid of the worker alive at `t`.
fn pid_at(day: &Day, t: i64) -> u32 {
    day.workers
        .iter()
        .rev()
        .find(|w| w.created_ms() <= t && w.ended.is_none_or(|(e, _)| e > t))
        .or(day.workers.first())
        .map_or(4000, |w| w.pid)
}

/// The 500.19 lines of the broken deployment, in time order.
fn burst_lines(p: &Plan, rng: &mut Rng) -> Vec<(i64, String)> {
    let ((h0, m0), (h1, m1)) = BURST;
    let (from, to) = (at(h0, m0, 0), at(h1, m1, 0));
    let mut out = Vec::new();
    let mut t = from + rng.int(0, 4_000);
    while t < to {
        let page = *rng.pick(&BROKEN_PAGES);
        let client = format!("192.0.2.{}", rng.int(20, 240));
        out.push((
            t,
            format!(
                "{} {} GET {page} - 443 - {client} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/134.0.0.0+Safari/537.36 https://shop.contoso.com/ 500 19 13 {}\r\n",
                time::w3c(t),
                p.s_ip,
                rng.int(2, 9)
            ),
        ));
        t += rng.int(4_000, 11_000);
    }
    out
}

/// The day's W3C log with the burst's lines merged in completion order.
fn w3c_with_burst(day: &Day, extra: &[(i64, String)]) -> Vec<u8> {
    let text = String::from_utf8(render::w3c_log(day).bytes).expect("the renderer writes UTF-8");
    let mut out = String::with_capacity(text.len() + extra.len() * 200);
    let mut next = extra.iter().peekable();
    for line in text.split_inclusive('\n') {
        if !line.starts_with('#') {
            let stamp = &line[..19.min(line.len())];
            while let Some((t, l)) = next.peek() {
                if time::w3c(*t).as_str() > stamp {
                    break;
                }
                out.push_str(l);
                next.next();
            }
        }
        out.push_str(line);
    }
    next.for_each(|(_, l)| out.push_str(l));
    out.into_bytes()
}

/// One WAS event as `wevtutil qe /f:xml` writes it.
fn was_event(
    p: &Plan,
    ms: i64,
    id: u32,
    qualifiers: u32,
    level: u32,
    data: &str,
    rec: u64,
) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WAS' Guid='{{524B5D04-133C-4A62-8362-64E8EDB9CE40}}' EventSourceName='WAS'/><EventID Qualifiers='{qualifiers}'>{id}</EventID><Version>0</Version><Level>{level}</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{rec}</EventRecordID><Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>System</Channel><Computer>{}</Computer><Security/></System><EventData>{data}</EventData></Event>\r\n",
        time::iso7(ms * 10_000 + 3_217),
        p.server
    )
}

/// The day's System log with the three outages' WAS events, all in time order.
fn system_log(day: &Day, rng: &mut Rng) -> Vec<u8> {
    let p = &day.plan;
    let base = render::events(day, rng).system;
    let text = String::from_utf8(base).expect("the renderer writes UTF-8");
    let (rh, rm, rs) = RECYCLE_AT;
    let (ch, cm, cs) = CHANGE_AT;
    let (hh, hm, hs) = HANG_AT;
    let recycle = at(rh, rm, rs);
    let hang = at(hh, hm, hs);
    let pool = p.pool;
    let mut events: Vec<(String, String)> = text
        .split_inclusive('\n')
        .map(|l| {
            let line = if l.ends_with('\n') {
                l.to_string()
            } else {
                format!("{l}\r\n")
            };
            (stamp_of(&line), line)
        })
        .collect();
    let worker = |t| {
        format!(
            "<Data Name='ProcessID'>{}</Data><Data Name='AppPoolID'>{pool}</Data>",
            pid_at(day, t)
        )
    };
    let ours = [
        was_event(p, recycle, 5117, 16384, 4, &worker(recycle), 91_001),
        was_event(
            p,
            at(ch, cm, cs),
            5080,
            16384,
            4,
            &format!("<Data Name='AppPoolID'>{pool}</Data>"),
            91_002,
        ),
        was_event(
            p,
            hang,
            5010,
            32768,
            3,
            &format!(
                "<Data Name='AppPoolID'>{pool}</Data><Data Name='ProcessID'>{}</Data>",
                pid_at(day, hang)
            ),
            91_003,
        ),
    ];
    events.extend(ours.into_iter().map(|l| (stamp_of(&l), l)));
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events
        .into_iter()
        .map(|(_, l)| l)
        .collect::<String>()
        .into_bytes()
}

fn stamp_of(line: &str) -> String {
    line.split("SystemTime='")
        .nth(1)
        .and_then(|r| r.get(..30))
        .unwrap_or("")
        .to_string()
}

/// The Data Collector Set's CSV (relog of the `.blg`): two cores, machine CPU, context
/// switches, the worker's CPU, private bytes and threads, every 15 s in server local time.
fn counters(p: &Plan, rng: &mut Rng) -> Vec<u8> {
    let m = p.server;
    let cols = [
        format!(r"\\{m}\Processor(_Total)\% Processor Time"),
        format!(r"\\{m}\Processor(0)\% Processor Time"),
        format!(r"\\{m}\Processor(1)\% Processor Time"),
        format!(r"\\{m}\System\Context Switches/sec"),
        format!(r"\\{m}\Process(w3wp)\% Processor Time"),
        format!(r"\\{m}\Process(w3wp)\Private Bytes"),
        format!(r"\\{m}\Process(w3wp)\Thread Count"),
    ];
    let bias = -p.tz_offset_min;
    let mut s = format!("\"(PDH-CSV 4.0) (Central Daylight Time)({bias})\"");
    for c in &cols {
        s.push_str(&format!(",\"{c}\""));
    }
    s.push_str("\r\n");
    let ((s0h, s0m), (s1h, s1m)) = SPIN;
    let (spin0, spin1) = (at(s0h, s0m, 0), at(s1h, s1m, 0));
    let (rh, rm, rs) = RECYCLE_AT;
    let recycle = at(rh, rm, rs);
    let leak0 = recycle - 120 * MINUTE;
    for i in 0..(24 * 3600 / 15) {
        let t = p.day_start + i * 15 * SECOND + 420;
        let spin = (spin0..spin1).contains(&t);
        let cpu = if spin {
            96.5 + rng.f64() * 3.0
        } else {
            14.0 + rng.f64() * 18.0
        };
        let worker = if spin {
            188.0 + rng.f64() * 6.0
        } else {
            cpu * 1.4
        };
        let mb = if (leak0..recycle).contains(&t) {
            440.0 + (t - leak0) as f64 / (120 * MINUTE) as f64 * 1_010.0
        } else {
            430.0 + rng.f64() * 25.0
        };
        let switches = 2_400.0 + rng.f64() * 1_100.0;
        let local = t + p.tz_offset_min * MINUTE;
        let c = time::civil(local);
        s.push_str(&format!(
            "\"{:02}/{:02}/{:04} {:02}:{:02}:{:02}.{:03}\"",
            c.mo, c.d, c.y, c.h, c.mi, c.s, c.ms
        ));
        for v in [
            cpu,
            cpu * 0.98,
            cpu * 1.02,
            switches,
            worker,
            mb * 1_048_576.0,
            46.0,
        ] {
            s.push_str(&format!(",\"{v:.3}\""));
        }
        s.push_str("\r\n");
    }
    s.into_bytes()
}

/// A FREB trace of one 500.19: IIS Web Core could not read the configuration.
fn freb(p: &Plan, t: i64, page: &str, pid: u32, rng: &mut Rng) -> Vec<u8> {
    let activity = format!("{{{}}}", rng.guid().to_ascii_uppercase());
    let stamp = |ms: i64| time::rfc3339_ms(ms);
    let ev = |ms: i64, level: u32, opcode: &str, data: &str| {
        format!(
            "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\r\n <System>\r\n  <Provider Name=\"WWW Server\" Guid=\"{{3A2A4E84-4C21-4981-AE10-3FDA0D9B0F83}}\"/>\r\n  <EventID>0</EventID>\r\n  <Version>1</Version>\r\n  <Level>{level}</Level>\r\n  <Opcode>1</Opcode>\r\n  <Keywords>0x100</Keywords>\r\n  <TimeCreated SystemTime=\"{}\"/>\r\n  <Correlation ActivityID=\"{activity}\"/>\r\n  <Execution ProcessID=\"{pid}\" ThreadID=\"{}\"/>\r\n  <Computer>{}</Computer>\r\n </System>\r\n <EventData>\r\n{data} </EventData>\r\n <RenderingInfo Culture=\"en-US\">\r\n  <Opcode>{opcode}</Opcode>\r\n </RenderingInfo>\r\n</Event>\r\n",
            stamp(ms),
            4_000 + pid % 977,
            p.server
        )
    };
    let d = |name: &str, v: &str| format!("  <Data Name=\"{name}\">{v}</Data>\r\n");
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<?xml-stylesheet type='text/xsl' href='freb.xsl'?>\r\n<failedRequest url=\"https://shop.contoso.com:443{page}\"\r\n               siteId=\"{}\"\r\n               appPoolId=\"{}\"\r\n               processId=\"{pid}\"\r\n               verb=\"GET\"\r\n               activityId=\"{activity}\"\r\n               failureReason=\"STATUS_CODE\"\r\n               statusCode=\"500.19\"\r\n               triggerStatusCode=\"500.19\"\r\n               timeTaken=\"0\"\r\n               xmlns:freb=\"http://schemas.microsoft.com/win/2006/06/iis/freb\"\r\n               >\r\n",
        p.site_id, p.pool
    );
    s.push_str(&ev(
        t,
        4,
        "GENERAL_REQUEST_START",
        &(d("RequestURL", &format!("https://shop.contoso.com:443{page}"))
            + &d("RequestVerb", "GET")),
    ));
    s.push_str(&ev(t, 2, "MODULE_SET_RESPONSE_ERROR_STATUS", &[
        d("ModuleName", "IIS Web Core"),
        d("Notification", "1"),
        d("HttpStatus", "500"),
        d("HttpReason", "Internal Server Error"),
        d("HttpSubStatus", "19"),
        d("ErrorCode", "2147942413"),
        d("ConfigExceptionInfo", "\\\\?\\C:\\inetpub\\shop\\web.config ( 48) :Configuration file is not well-formed XML"),
    ].concat()));
    s.push_str(&ev(
        t + 1,
        4,
        "GENERAL_REQUEST_END",
        &(d("BytesSent", "5240") + &d("HttpStatus", "500") + &d("HttpSubStatus", "19")),
    ));
    s.push_str("</failedRequest>\r\n");
    s.into_bytes()
}

/// Renders the slow day into `files` and says what the report should find.
pub fn slow_files(seed: u64, files: &mut Vec<(PathBuf, Vec<u8>)>) -> SlowTruth {
    let p = slow_plan();
    let day = model::simulate(&p, seed);
    let root = Rng::new(seed ^ p.salt);
    let base = PathBuf::from("slow").join(p.server);
    let burst = burst_lines(&p, &mut root.fork(30));
    files.push((
        base.join("inetpub/logs/LogFiles/W3SVC1/u_ex250314.log"),
        w3c_with_burst(&day, &burst),
    ));
    files.push((
        base.join("events/System.xml"),
        system_log(&day, &mut root.fork(31)),
    ));
    files.push((
        base.join("PerfLogs/Admin/IIS Health/DataCollector01.csv"),
        counters(&p, &mut root.fork(32)),
    ));
    let mut frng = root.fork(33);
    for (k, (t, line)) in burst.iter().step_by(25).take(4).enumerate() {
        let page = line.split(' ').nth(4).unwrap_or("/");
        files.push((
            base.join(format!(
                "inetpub/logs/FailedReqLogFiles/W3SVC1/fr{:06}.xml",
                k + 1
            )),
            freb(&p, *t - 3, page, pid_at(&day, *t), &mut frng),
        ));
    }
    // As logged: W3C times are whole seconds.
    let logged = |t: i64| t - t.rem_euclid(SECOND);
    let (first, last) = (logged(burst[0].0), logged(burst[burst.len() - 1].0));
    let incident = |kind: &str, category: &str, t: i64, what: String| SlowIncident {
        kind: kind.into(),
        category: category.into(),
        time: time::rfc3339_ms(t),
        what,
    };
    let (rh, rm, rs) = RECYCLE_AT;
    let (hh, hm, hs) = HANG_AT;
    let (ch, cm, cs) = CHANGE_AT;
    SlowTruth {
        folder: format!("slow/{}", p.server),
        server: p.server.into(),
        pool: p.pool.into(),
        incidents: vec![
            incident("recycle", "memory_leak", at(rh, rm, rs), "WAS 5117: private bytes limit after Private Bytes grew about 500 MB/h for two hours".into()),
            incident("error_burst", "configuration", first, format!("{} HTTP 500.19.13 on {} until {}, three minutes after WAS 5080 (pool properties changed); FREB: IIS Web Core, 0x8007000d", burst.len(), BROKEN_PAGES.join(", "), time::rfc3339_ms(last))),
            incident("hang", "runaway_thread", at(hh, hm, hs), "WAS 5010 after CPU at 97-99 % from 19:24 with about 3,000 context switches/s".into()),
        ],
        suspect: format!("WAS 5080 at {}", time::rfc3339_ms(at(ch, cm, cs))),
    }
}
