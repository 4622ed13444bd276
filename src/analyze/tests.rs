//! Stage tests on hand-built tables (see `testkit`).

use super::testkit::*;
use super::*;
use crate::tables::ArtifactKind;

fn opts() -> AnalyzeOptions {
    AnalyzeOptions::default()
}

/// Steady background traffic on site 1: `n` requests spread over `minutes`, half to the popular
/// `/default.aspx`, the rest to product pages, from 50 clients.
fn traffic(b: &mut TableBuilder, log: u32, n: usize, minutes: f64) {
    for i in 0..n {
        // Off the minute grid, so crash times (on whole minutes) do not coincide with requests.
        let ts = at_min(minutes * i as f64 / n as f64) + 3_300;
        let client = format!("192.0.2.{}", i % 50);
        let stem = if i % 2 == 0 {
            "/default.aspx".to_string()
        } else {
            format!("/products/{}", 1000 + i % 300)
        };
        let query = (i % 2 == 1).then(|| format!("ref={}", i % 7));
        b.request(
            log,
            ts,
            &Req {
                stem: &stem,
                query: query.as_deref(),
                client: &client,
                ..Default::default()
            },
        );
    }
}

#[test]
fn dump_event_and_httperr_of_one_pid_make_one_incident() {
    let mut b = TableBuilder::new();
    let dump = b.file("dumps/w3wp.exe_240301_120000.dmp", ArtifactKind::Minidump);
    let sys = b.file("events/System.xml", ArtifactKind::EventXml);
    let app = b.file("events/Application.xml", ArtifactKind::EventXml);
    let herr = b.file("HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    traffic(&mut b, log, 200, 60.0);
    let crash = at_min(30.0);
    b.crash(dump_row(dump, crash, 4242, "BadFilter.dll", "third_party"));
    b.stack(dump, "BadFilter.dll", "third_party", Some("filter.dll"));
    b.crash(was_row(
        sys,
        crash + 2_000,
        5011,
        "DefaultAppPool",
        Some(4242),
    ));
    b.crash(app_error_row(
        app,
        crash + 1_000,
        4242,
        "BadFilter.dll",
        0xC000_0005,
    ));
    for (k, uri) in ["/a.aspx", "/b.aspx?x=1", "/c.aspx"].iter().enumerate() {
        b.httperr(
            herr,
            crash + k as i64 * 400,
            &Err {
                uri,
                ..Default::default()
            },
        );
    }
    let t = b.build();
    let a = analyze(&t, &opts());
    assert_eq!(a.incidents.len(), 1, "{:#?}", a.incidents);
    let i = &a.incidents[0];
    assert_eq!(
        i.sources
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "dump",
            "event:Application Error/1000",
            "event:Microsoft-Windows-WAS/5011",
            "httperr"
        ]
    );
    assert_eq!(i.pid, Some(4242));
    assert_eq!(i.app_pool.as_deref(), Some("DefaultAppPool"));
    assert_eq!(i.time, Some(Ts(crash)));
    assert_eq!(i.time_source.name(), "dump");
    assert_eq!(
        i.exception_code.map(|c| c.to_string()).as_deref(),
        Some("0xc0000005")
    );
    assert_eq!(i.suspect_module.as_deref(), Some("BadFilter.dll"));
    assert_eq!(
        i.in_flight
            .iter()
            .filter(|r| r.source.name() == "httperr")
            .count(),
        3
    );
    assert_eq!(i.sites, ["W3SVC1"]);
    assert!(!i.recent.is_empty() && i.recent.len() <= 20);
    assert!(
        i.recent.windows(2).all(|w| w[0].time >= w[1].time),
        "newest first"
    );
    assert!(a.summary.crashed);
    assert!(
        a.summary
            .thin_evidence
            .iter()
            .any(|s| s.contains("only one crash"))
    );
}

#[test]
fn crash_without_dump_is_still_an_incident() {
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    b.crash(was_row(sys, at_min(10.0), 5009, "Shop", Some(77)));
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.incidents.len(), 1);
    assert_eq!(a.incidents[0].kind.name(), "crash");
    assert!(a.incidents[0].notes.iter().any(|n| n.contains("no dump")));
    assert!(
        a.summary
            .thin_evidence
            .iter()
            .any(|s| s.contains("have no dump"))
    );

    // HTTPERR abandonments alone are a crash too.
    let mut b = TableBuilder::new();
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    b.httperr(herr, at_min(5.0), &Err::default());
    b.httperr(herr, at_min(5.0) + 1000, &Err::default());
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.incidents.len(), 1);
    assert_eq!(a.incidents[0].sources, [crate::analyze::SourceTag::Httperr]);
    assert_eq!(a.incidents[0].in_flight_total, 2);
}

#[test]
fn two_pools_crashing_together_are_two_incidents() {
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    let t0 = at_min(10.0);
    b.crash(was_row(sys, t0 + 500, 5011, "PoolA", Some(1)));
    b.crash(was_row(sys, t0 + 800, 5011, "PoolB", Some(2)));
    b.httperr(
        herr,
        t0,
        &Err {
            queue: "PoolA",
            site_id: Some(1),
            uri: "/a",
            ..Default::default()
        },
    );
    b.httperr(
        herr,
        t0,
        &Err {
            queue: "PoolB",
            site_id: Some(2),
            uri: "/b",
            ..Default::default()
        },
    );
    b.httperr(
        herr,
        t0 + 1000,
        &Err {
            queue: "POOLB",
            site_id: Some(2),
            uri: "/b2",
            ..Default::default()
        },
    );
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.incidents.len(), 2);
    let pools: Vec<_> = a
        .incidents
        .iter()
        .map(|i| (i.app_pool.clone().unwrap(), i.pid, i.in_flight_total))
        .collect();
    assert!(pools.contains(&("PoolA".into(), Some(1), 1)), "{pools:?}");
    assert!(pools.contains(&("PoolB".into(), Some(2), 2)), "{pools:?}");
    // Different pids at the same time never merge, even in one pool.
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    b.crash(was_row(sys, t0, 5011, "PoolA", Some(1)));
    b.crash(was_row(sys, t0 + 1000, 5011, "PoolA", Some(2)));
    assert_eq!(analyze(&b.build(), &opts()).incidents.len(), 2);
}

#[test]
fn crash_loop_then_rapid_fail_episode() {
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    traffic(&mut b, log, 100, 4.0);
    for k in 0..5 {
        b.crash(was_row(
            sys,
            at_min(k as f64),
            5011,
            "DefaultAppPool",
            Some(100 + k),
        ));
        b.httperr(herr, at_min(k as f64), &Err::default());
    }
    let disabled = at_min(4.0) + 1000;
    b.crash(was_row(sys, disabled, 5002, "DefaultAppPool", None));
    for k in 0..20 {
        let ts = at_min(5.0 + k as f64 * 0.5);
        b.httperr(
            herr,
            ts,
            &Err {
                status: Some(503),
                reason: "AppOffline",
                uri: "/default.aspx",
                ..Default::default()
            },
        );
    }
    for k in 0..7 {
        b.request(
            log,
            at_min(6.0 + k as f64),
            &Req {
                status: 503,
                time_taken_ms: 0,
                ..Default::default()
            },
        );
    }
    b.request(log, at_min(20.0), &Req::default());
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.incidents.len(), 5);
    assert_eq!(a.rapid_fail.len(), 1);
    let r = &a.rapid_fail[0];
    assert_eq!(r.source.name(), "event_5002");
    assert_eq!(r.start, Ts(disabled));
    assert_eq!(r.end, Some(Ts(at_min(20.0))));
    assert_eq!(r.end_reason.name(), "first_success");
    assert_eq!(r.duration_s, Some((at_min(20.0) - disabled) / 1000));
    assert_eq!(r.refused_httperr, 20);
    assert_eq!(r.refused_w3c, 7);
    assert_eq!(r.incident.as_deref(), Some("I5"));
    assert_eq!(a.incidents[4].rapid_fail.as_deref(), Some("R1"));
    assert!(
        a.summary.headline.contains("Rapid-fail"),
        "{}",
        a.summary.headline
    );
    assert!(
        a.recommendations
            .iter()
            .any(|r| r.commands.iter().any(|c| c.contains("start apppool")))
    );
}

#[test]
fn app_offline_without_5002_is_an_inferred_episode_still_open() {
    let mut b = TableBuilder::new();
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    b.httperr(herr, at_min(1.0), &Err::default());
    for k in 0..3 {
        b.httperr(
            herr,
            at_min(2.0 + k as f64),
            &Err {
                status: Some(503),
                reason: "AppOffline",
                ..Default::default()
            },
        );
    }
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.rapid_fail.len(), 1);
    assert_eq!(a.rapid_fail[0].source.name(), "httperr_app_offline");
    assert_eq!(a.rapid_fail[0].end, None);
    assert_eq!(a.rapid_fail[0].end_reason.name(), "end_of_data");
    assert_eq!(a.rapid_fail[0].refused_httperr, 3);
}

/// Three crashes with the same ISAPI filter; each has the bad search request and a popular
/// page in flight.
pub(crate) fn bad_pattern_tables() -> crate::tables::Tables {
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let herr = b.file("HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    let sys = b.file("events/System.xml", ArtifactKind::EventXml);
    traffic(&mut b, log, 3000, 300.0);
    // Two harmless searches in the baseline.
    b.request(
        log,
        at_min(10.0),
        &Req {
            stem: "/search.aspx",
            query: Some("q=shoes"),
            ..Default::default()
        },
    );
    b.request(
        log,
        at_min(20.0),
        &Req {
            stem: "/search.aspx",
            query: Some("q=red+shoes"),
            ..Default::default()
        },
    );
    let bad = format!("q={}", "%u0041%u0042".repeat(30));
    let bad_uri = format!("/search.aspx?{bad}");
    for (k, m) in [60.0, 120.0, 180.0].into_iter().enumerate() {
        let crash = at_min(m);
        let dump = b.file(
            &format!("dumps/w3wp.exe.{}.dmp", 900 + k),
            ArtifactKind::Minidump,
        );
        b.crash(dump_row(
            dump,
            crash,
            900 + k as u32,
            "BadFilter.dll",
            "third_party",
        ));
        b.stack(dump, "BadFilter.dll", "third_party", Some("filter.dll"));
        b.module(dump, "BadFilter.dll", "third_party", true);
        b.module(dump, "ntdll.dll", "os_core", false);
        b.crash(was_row(
            sys,
            crash + 1500,
            5011,
            "DefaultAppPool",
            Some(900 + k as u32),
        ));
        b.httperr(
            herr,
            crash,
            &Err {
                uri: &bad_uri,
                client: "203.0.113.66",
                ..Default::default()
            },
        );
        b.httperr(
            herr,
            crash,
            &Err {
                uri: "/default.aspx",
                client: "192.0.2.7",
                ..Default::default()
            },
        );
    }
    b.build()
}

#[test]
fn bad_pattern_is_blamed_popular_url_is_not() {
    let t = bad_pattern_tables();
    let a = analyze(&t, &opts());
    assert_eq!(a.incidents.len(), 3);
    let patterns: Vec<&Suspect> = a
        .suspects
        .iter()
        .filter(|s| s.kind.name() == "request_pattern")
        .collect();
    let top = patterns.first().expect("a pattern suspect");
    assert!(
        top.name.contains("/search.aspx?q={257-1024,%u}"),
        "{}",
        top.name
    );
    let st = top.pattern.as_ref().unwrap();
    assert!(st.p_value < 0.01 && st.p_adjusted < 0.01, "{st:?}");
    assert!(st.lift > 10.0);
    assert_eq!(st.in_flight, 3);
    assert_eq!(top.incidents, ["I1", "I2", "I3"]);
    assert_eq!(top.confidence.name(), "high");
    assert!(
        !a.suspects.iter().any(|s| s.name.contains("default.aspx")),
        "popular URL blamed: {:#?}",
        a.suspects.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    // The module suspect and the pattern corroborate each other.
    let m = a
        .suspects
        .iter()
        .find(|s| s.kind.name() == "isapi_filter")
        .expect("module suspect");
    assert_eq!(m.confidence.name(), "high");
    assert_eq!(m.incidents.len(), 3);
    assert!(m.corroborated_by.contains(&top.id));
    assert!(top.corroborated_by.contains(&m.id));
    // A request-filtering rule that denies %u is recommended.
    let rec = a
        .recommendations
        .iter()
        .find(|r| r.suspect.as_deref() == Some(top.id.as_str()))
        .expect("rule");
    assert!(
        rec.commands
            .iter()
            .any(|c| c.contains("<add string=\"%u\" />")),
        "{rec:#?}"
    );
    assert!(rec.commands.iter().any(|c| c.contains("appcmd.exe set config") && c.contains("denyStrings.[string='%u']")));
    // Inventory: the suspect module first, third-party highlighted.
    assert_eq!(a.modules[0].name, "BadFilter.dll");
    assert_eq!(a.modules[0].dumps, 3);
    assert_eq!(a.modules[0].suspect.as_deref(), Some(m.id.as_str()));
}

#[test]
fn same_isapi_filter_in_three_dumps_is_high_confidence() {
    let mut b = TableBuilder::new();
    for k in 0..3u32 {
        let f = b.file(&format!("d{k}.dmp"), ArtifactKind::Minidump);
        b.crash(dump_row(
            f,
            at_min(10.0 * k as f64),
            10 + k,
            "ISAPI_Rewrite.dll",
            "third_party_known",
        ));
        b.stack(
            f,
            "ISAPI_Rewrite.dll",
            "third_party_known",
            Some("filter.dll"),
        );
    }
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.suspects.len(), 1);
    let s = &a.suspects[0];
    assert_eq!(
        (s.kind.name(), s.confidence.name(), s.incidents.len()),
        ("isapi_filter", "high", 3)
    );
    assert_eq!(s.evidence.len(), 3);
    assert!(
        s.evidence
            .iter()
            .all(|e| e.source.name() == "dump" && e.path.ends_with(".dmp"))
    );
    assert!(
        a.recommendations
            .iter()
            .any(|r| r.action.contains("vendor of ISAPI_Rewrite.dll")
                && r.action.contains("Helicon Tech"))
    );
}

#[test]
fn module_kinds() {
    use crate::analyze::testkit::class_named;
    use suspects::module_kind;
    assert_eq!(
        module_kind("myfilter.dll", Some(class_named("third_party")), None).name(),
        "isapi_filter"
    );
    assert_eq!(
        module_kind("x.dll", Some(class_named("third_party")), Some(0xE043_4352)).name(),
        "managed_code"
    );
    assert_eq!(
        module_kind(
            "ISAPI_Rewrite.dll",
            Some(class_named("third_party_known")),
            None
        )
        .name(),
        "isapi_filter"
    );
    assert_eq!(
        module_kind("php5isapi.dll", None, None).name(),
        "isapi_extension"
    );
    assert_eq!(
        module_kind("coreclr.dll", None, None).name(),
        "managed_code"
    );
    assert_eq!(
        module_kind("kernelbase.dll", Some(class_named("os_core")), None).name(),
        "system_module"
    );
    assert_eq!(
        module_kind(r"C:\Windows\System32\ntdll.dll", None, None).name(),
        "system_module"
    );
    assert_eq!(module_kind("clr.dll", None, None).name(), "managed_code");
    assert_eq!(
        module_kind("vbscript.dll", Some(class_named("classic_asp")), None).name(),
        "com_object"
    );
    assert_eq!(
        module_kind(
            "vendor.dll",
            Some(class_named("third_party")),
            Some(0xC000_0005)
        )
        .name(),
        "native_module"
    );
}

#[test]
fn healthy_day_reports_no_crash() {
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    traffic(&mut b, log, 500, 600.0);
    b.request(
        log,
        at_min(30.0),
        &Req {
            status: 404,
            stem: "/wp-login.php",
            ..Default::default()
        },
    );
    b.httperr(
        herr,
        at_min(40.0),
        &Err {
            reason: "Timer_ConnectionIdle",
            ..Default::default()
        },
    );
    let a = analyze(&b.build(), &opts());
    assert!(a.incidents.is_empty());
    assert!(a.suspects.is_empty());
    assert!(a.rapid_fail.is_empty());
    assert!(!a.summary.crashed);
    assert!(
        a.summary.headline.starts_with("No crash found"),
        "{}",
        a.summary.headline
    );
    assert!(a.recommendations.is_empty());
    assert_eq!(a.timeline.requests.iter().sum::<u64>(), 501);
}

#[test]
fn w3c_requests_spanning_the_crash_are_in_flight() {
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    let crash = at_min(30.0);
    b.crash(was_row(sys, crash, 5011, "DefaultAppPool", Some(5)));
    // Started 10 s before, ended 5 s after: in flight.
    b.request(
        log,
        crash + 5_000,
        &Req {
            stem: "/slow.aspx",
            time_taken_ms: 15_000,
            ..Default::default()
        },
    );
    // Ended 10 s before: not in flight, but recent.
    b.request(
        log,
        crash - 10_000,
        &Req {
            stem: "/done.aspx",
            ..Default::default()
        },
    );
    // Started after: neither.
    b.request(
        log,
        crash + 60_000,
        &Req {
            stem: "/later.aspx",
            time_taken_ms: 1_000,
            ..Default::default()
        },
    );
    // Other server: never.
    b.request(
        log,
        crash + 1_000,
        &Req {
            server: Some("WEB02"),
            stem: "/other.aspx",
            time_taken_ms: 5_000,
            ..Default::default()
        },
    );
    let a = analyze(&b.build(), &opts());
    let i = &a.incidents[0];
    let uris: Vec<&str> = i.in_flight.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["/slow.aspx"]);
    assert_eq!(
        i.recent.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>(),
        ["/done.aspx"]
    );
    assert_eq!(i.in_flight[0].start, Some(Ts(crash - 10_000)));
}

#[test]
fn since_until_and_tz() {
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    b.crash(was_row(sys, at_min(10.0), 5011, "P", Some(1)));
    b.crash(was_row(sys, at_min(100.0), 5011, "P", Some(2)));
    let t = b.build();
    let o = AnalyzeOptions {
        since: Some(at_min(50.0)),
        tz_offset_s: Some(7200),
        ..opts()
    };
    let a = analyze(&t, &o);
    assert_eq!(a.incidents.len(), 1);
    assert_eq!(a.incidents[0].pid, Some(2));
    assert_eq!(
        a.incidents[0].time_local.as_deref(),
        Some("2024-03-01T13:40:00+02:00")
    );
    assert_eq!(a.options.tz.as_deref(), Some("+02:00"));
}

#[test]
fn hostile_rows_do_not_panic() {
    let mut b = TableBuilder::new();
    let log = b.file("x.log", ArtifactKind::W3c);
    let herr = b.file("h.log", ArtifactKind::HttpErr);
    b.request(
        log,
        i64::MIN / 2,
        &Req {
            time_taken_ms: u64::MAX,
            stem: "",
            ..Default::default()
        },
    );
    b.request(
        log,
        i64::MAX / 2,
        &Req {
            server: None,
            site: None,
            stem: "%u%",
            query: Some("&&=="),
            ..Default::default()
        },
    );
    b.httperr(
        herr,
        at_min(1.0),
        &Err {
            queue: "-",
            site_id: None,
            uri: "http://x",
            server: None,
            ..Default::default()
        },
    );
    let mut t = b.build();
    t.crashes.push(crate::tables::CrashRow {
        // A join-only kind with nothing to join, from a file that does not exist.
        kind: crate::tables::CrashKind::Report,
        file: 99,
        ..Default::default()
    });
    let a = analyze(&t, &opts());
    assert!(a.timeline.requests.len() <= 100_000);
    let _ = serde_json::to_string(&a).unwrap();
}

#[test]
fn clr_exception_blames_managed_code_not_kernelbase() {
    let mut b = TableBuilder::new();
    let app = b.file("Application.xml", ArtifactKind::EventXml);
    for k in 0..2u32 {
        b.crash(app_error_row(
            app,
            at_min(10.0 * k as f64),
            50 + k,
            "KERNELBASE.dll",
            0xE043_4352,
        ));
    }
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.suspects.len(), 1);
    assert_eq!(a.suspects[0].kind.name(), "managed_code");
    assert_eq!(a.suspects[0].name, suspects::MANAGED);
    assert_eq!(a.suspects[0].incidents.len(), 2);
}

/// Scale check (run with `--ignored --nocapture`): analysis time on 1 M requests with crashes,
/// so that the baseline pass runs over every row.
#[test]
#[ignore]
fn scale_one_million_requests() {
    let mut t = bad_pattern_tables();
    let base = t.requests.clone();
    while t.requests.len() < 1_000_000 {
        t.requests.append(&base);
    }
    let start = std::time::Instant::now();
    let a = analyze(&t, &opts());
    let el = start.elapsed();
    eprintln!(
        "{} requests: analyze {:?} ({:.0} ns/row)",
        t.requests.len(),
        el,
        el.as_nanos() as f64 / t.requests.len() as f64
    );
    assert_eq!(a.incidents.len(), 3);
}

/// Five crashes of DefaultAppPool over five hours. Baseline: 9,000 fast static files (5 ms),
/// 1,000 slow report pages (400 ms, 10 % of the requests but 88 % of the busy time) and 40 fast
/// `/ping.aspx` calls (2 ms). At every crash HTTP.sys abandons four report pages, one static file
/// (the mix a random instant catches) and one `/ping.aspx`.
fn busy_time_tables() -> crate::tables::Tables {
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let herr = b.file("HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    let sys = b.file("events/System.xml", ArtifactKind::EventXml);
    let crashes = [40.0, 95.0, 150.0, 205.0, 260.0];
    let n = 10_040usize;
    for i in 0..n {
        let mut ts = at_min(300.0 * i as f64 / n as f64) + 7_300;
        // No W3C row in flight at a crash: only the HTTPERR abandonments are.
        if crashes.iter().any(|&m| (ts - at_min(m)).abs() < 10_000) {
            ts += 20_000;
        }
        let (stem, tt) = match i % 251 {
            0 => ("/ping.aspx".to_string(), 2),
            k if k % 10 == 1 => ("/report.aspx".to_string(), 400),
            k => (format!("/img/{}.jpg", k % 40), 5),
        };
        b.request(
            log,
            ts,
            &Req {
                stem: &stem,
                time_taken_ms: tt,
                ..Default::default()
            },
        );
    }
    for (k, m) in crashes.into_iter().enumerate() {
        let crash = at_min(m);
        b.crash(was_row(
            sys,
            crash + 500,
            5011,
            "DefaultAppPool",
            Some(700 + k as u32),
        ));
        for uri in [
            "/report.aspx",
            "/report.aspx",
            "/report.aspx",
            "/report.aspx",
            "/img/7.jpg",
            "/ping.aspx",
        ] {
            b.httperr(
                herr,
                crash,
                &Err {
                    uri,
                    ..Default::default()
                },
            );
        }
    }
    b.build()
}

#[test]
fn slow_popular_page_in_flight_as_often_as_its_busy_time_is_not_blamed() {
    let a = analyze(&busy_time_tables(), &opts());
    assert_eq!(a.incidents.len(), 5);
    let names: Vec<&str> = a.suspects.iter().map(|s| s.name.as_str()).collect();
    // 20 of 30 in flight against 10 % of the requests would be a lift of 6.7; against 88 % of
    // the busy time it is below 1.
    assert!(
        !names.iter().any(|n| n.contains("report.aspx")),
        "slow popular page blamed: {names:?}"
    );
    assert!(!names.iter().any(|n| n.contains(".jpg")), "{names:?}");
    // The report says why it is not blamed.
    assert!(
        a.summary
            .notes
            .iter()
            .any(|n| n.contains("busy time") && n.contains("/report.aspx")),
        "{:?}",
        a.summary.notes
    );
}

#[test]
fn rare_fast_request_in_flight_at_every_crash_is_blamed() {
    let a = analyze(&busy_time_tables(), &opts());
    let s = a
        .suspects
        .iter()
        .find(|s| s.kind.name() == "request_pattern" && s.name.contains("/ping.aspx"))
        .unwrap_or_else(|| panic!("{:#?}", a.suspects));
    assert_eq!(s.confidence.name(), "high");
    assert_eq!(s.incidents, ["I1", "I2", "I3", "I4", "I5"]);
    let p = s.pattern.as_ref().unwrap();
    assert_eq!((p.in_flight, p.in_flight_total), (5, 30));
    assert_eq!(p.baseline, 40);
    assert_eq!(p.baseline_untimed, 0);
    // 40 requests of 2 (+1) ms out of 9,000 × 6 + 1,000 × 401 + 40 × 3 ms.
    assert_eq!(p.baseline_busy_ms, 120.0);
    assert_eq!(
        p.baseline_busy_total_ms,
        9_000.0 * 6.0 + 1_000.0 * 401.0 + 120.0
    );
    assert!((p.baseline_share - 40.0 / 10_040.0).abs() < 1e-12);
    assert!(p.baseline_busy_share < p.baseline_share / 10.0);
    assert!(p.p_adjusted < 1e-6 && p.lift > 100.0, "{p:?}");
    assert!(s.reason.contains("of baseline busy time"), "{}", s.reason);
    // It is listed first among the requests in flight, marked with its suspect id.
    for inc in &a.incidents {
        let first = &inc.in_flight[0];
        assert_eq!(first.uri, "/ping.aspx");
        assert_eq!(first.suspects, std::slice::from_ref(&s.id));
        assert!(inc.in_flight[1..].iter().all(|r| r.suspects.is_empty()));
    }
}

#[test]
fn fast_requests_matched_by_the_slack_window_are_not_blamed() {
    // W3C rows are matched in flight within ±2 s of the crash: a 5 ms static file is caught by
    // that window about as often as a 400 ms page, so for them the null is close to the count share.
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("events/System.xml", ArtifactKind::EventXml);
    for i in 0..6_000usize {
        let ts = at_min(300.0 * i as f64 / 6_000.0) + 1_300;
        let (stem, tt) = if i % 10 == 0 {
            ("/report.aspx".to_string(), 400)
        } else {
            (format!("/img/{}.jpg", i % 40), 5)
        };
        b.request(
            log,
            ts,
            &Req {
                stem: &stem,
                time_taken_ms: tt,
                ..Default::default()
            },
        );
    }
    for (k, m) in [40.0, 95.0, 150.0, 205.0, 260.0].into_iter().enumerate() {
        let crash = at_min(m);
        b.crash(was_row(
            sys,
            crash,
            5011,
            "DefaultAppPool",
            Some(700 + k as u32),
        ));
        // Two fast image requests completing just after the crash.
        for d in [300, 900] {
            b.request(
                log,
                crash + d,
                &Req {
                    stem: "/img/3.jpg",
                    time_taken_ms: 5,
                    ..Default::default()
                },
            );
        }
    }
    let a = analyze(&b.build(), &opts());
    assert_eq!(a.incidents.len(), 5);
    assert!(a.incidents.iter().all(|i| i.in_flight_total >= 2));
    let names: Vec<&str> = a.suspects.iter().map(|s| s.name.as_str()).collect();
    assert!(
        !names.iter().any(|n| n.contains(".jpg")),
        "fast requests caught by the slack window blamed: {names:?}"
    );
}

#[test]
fn null_rate_mixes_httperr_and_w3c_rows() {
    use super::suspects::requests::null_rate;
    assert_eq!(null_rate(0.1, 0.3, 0, 0), 0.1);
    assert!((null_rate(0.1, 0.3, 4, 0) - 0.1).abs() < 1e-12);
    assert!((null_rate(0.1, 0.3, 4, 4) - 0.3).abs() < 1e-12);
    assert!((null_rate(0.1, 0.3, 4, 1) - 0.15).abs() < 1e-12);
}
