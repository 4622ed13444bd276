//! The analysis through the public API, on hand-built tables.

use crate::cli::w3triage;
use w3triage::analyze::testkit::*;
use w3triage::analyze::{AnalyzeOptions, analyze};
use w3triage::tables::{ArtifactKind, Tables};

/// An outage: three crashes of DefaultAppPool with the same ISAPI filter, the same bad search
/// request in flight each time (next to a popular page), then rapid-fail protection and recovery.
pub fn outage() -> Tables {
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let herr = b.file("WEB01/HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    let sys = b.file("WEB01/events/System.xml", ArtifactKind::EventXml);
    let app = b.file("WEB01/events/Application.xml", ArtifactKind::EventXml);
    for i in 0..600usize {
        let ts = at_min(240.0 * i as f64 / 600.0) + 3_300;
        // While rapid-fail protection holds the pool down, HTTP.sys answers 503 itself.
        if (at_min(90.0)..at_min(103.0)).contains(&ts) {
            continue;
        }
        let client = format!("198.51.100.{}", i % 40);
        let stem = if i % 2 == 0 {
            "/default.aspx".to_string()
        } else {
            format!("/products/{}", 2000 + i % 90)
        };
        b.request(
            log,
            ts,
            &Req {
                stem: &stem,
                client: &client,
                ..Default::default()
            },
        );
    }
    b.request(
        log,
        at_min(15.0),
        &Req {
            stem: "/search.aspx",
            query: Some("q=tea"),
            ..Default::default()
        },
    );
    let bad_uri = format!("/search.aspx?q={}", "%u0041%u0042".repeat(26));
    let crashes = [60.0, 75.0, 90.0];
    for (k, m) in crashes.into_iter().enumerate() {
        let pid = 4100 + k as u32;
        let crash = at_min(m);
        let dump = b.file(
            &format!("WEB01/dumps/w3wp.exe.{pid}.dmp"),
            ArtifactKind::Minidump,
        );
        b.crash(dump_row(dump, crash, pid, "BadFilter.dll", "third_party"));
        b.stack(dump, "BadFilter.dll", "third_party", Some("filter.dll"));
        b.module(dump, "BadFilter.dll", "third_party", true);
        b.module(dump, "ntdll.dll", "os_core", false);
        b.crash(app_error_row(
            app,
            crash + 1_000,
            pid,
            "BadFilter.dll",
            0xC000_0005,
        ));
        b.crash(was_row(
            sys,
            crash + 2_000,
            5011,
            "DefaultAppPool",
            Some(pid),
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
        let client = format!("198.51.100.{}", 3 + 11 * k);
        b.httperr(
            herr,
            crash,
            &Err {
                uri: "/default.aspx",
                client: &client,
                ..Default::default()
            },
        );
    }
    let disabled = at_min(90.0) + 3_000;
    b.crash(was_row(sys, disabled, 5002, "DefaultAppPool", None));
    for k in 0..12 {
        b.httperr(
            herr,
            at_min(91.0 + k as f64),
            &Err {
                status: Some(503),
                reason: "AppOffline",
                uri: "/default.aspx",
                ..Default::default()
            },
        );
    }
    b.build()
}

#[test]
fn outage_is_explained() {
    let a = analyze(&outage(), &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3);
    for inc in &a.incidents {
        assert_eq!(
            inc.sources
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
        assert_eq!(inc.app_pool.as_deref(), Some("DefaultAppPool"));
        assert_eq!(
            inc.in_flight
                .iter()
                .filter(|r| r.source.name() == "httperr")
                .count(),
            2
        );
    }
    let s1 = &a.suspects[0];
    assert_eq!(
        (s1.kind.name(), s1.name.as_str(), s1.confidence.name()),
        ("isapi_filter", "BadFilter.dll", "high")
    );
    let p = a
        .suspects
        .iter()
        .find(|s| s.kind.name() == "request_pattern")
        .unwrap();
    assert!(
        p.name.contains("/search.aspx?q={257-1024,%u}"),
        "{}",
        p.name
    );
    assert!(p.pattern.as_ref().unwrap().p_adjusted < 0.01);
    assert!(!a.suspects.iter().any(|s| s.name.contains("default.aspx")));
    assert_eq!(a.rapid_fail.len(), 1);
    let r = &a.rapid_fail[0];
    assert_eq!(r.incident.as_deref(), Some("I3"));
    assert_eq!(r.refused_httperr, 12);
    // The first successful request that started after the pool was disabled ends the episode.
    assert!(
        r.end
            .is_some_and(|e| e.0 >= at_min(103.0) && e.0 < at_min(104.0)),
        "{r:?}"
    );
    assert_eq!(r.end_reason.name(), "first_success");
    assert!(a.summary.crashed);
    assert!(
        a.summary
            .headline
            .contains("3 crashes of app pool DefaultAppPool"),
        "{}",
        a.summary.headline
    );
}

#[test]
fn output_is_deterministic() {
    let t = outage();
    let o = AnalyzeOptions::default();
    let a = serde_json::to_string(&analyze(&t, &o)).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| serde_json::to_string(&analyze(&t, &o)).unwrap());
    assert_eq!(a, b);
}

#[test]
fn empty_input_is_no_crash() {
    let a = analyze(&Tables::default(), &AnalyzeOptions::default());
    assert!(a.incidents.is_empty());
    assert!(!a.summary.crashed);
    assert!(a.summary.headline.starts_with("No crash found"));
    assert!(a.timeline.requests.is_empty());
}

#[test]
fn one_crash_without_dump_says_evidence_is_thin() {
    let mut b = TableBuilder::new();
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    b.crash(was_row(sys, at_min(1.0), 5011, "Shop", Some(9)));
    let a = analyze(&b.build(), &AnalyzeOptions::default());
    let thin = a.summary.thin_evidence.join("\n");
    assert!(thin.contains("only one crash"), "{thin}");
    assert!(thin.contains("no dump"), "{thin}");
    assert!(thin.contains("no faulting module known"), "{thin}");
}

#[test]
fn cli_analyze_writes_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events");
    let (code, stdout, stderr) = w3triage(&[
        "analyze",
        fixtures,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
        "--tz",
        "+02:00",
    ]);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(v["schema_version"], "2.1");
    assert_eq!(v["options"]["tz"], "+02:00");
    assert!(
        v["summary"]["crashed"].as_bool().unwrap(),
        "the event fixtures hold WAS 5009/5011 crashes"
    );
    for f in ["report.md", "report.html", "report.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    // The terminal summary is the default.
    let (_, text, _) = w3triage(&["analyze", fixtures]);
    assert!(text.contains("WHAT HAPPENED"), "{text}");
}

#[test]
fn cli_analyze_rejects_bad_options() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events");
    let (code, _, stderr) = w3triage(&["analyze", fixtures, "--tz", "Europe/Paris"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("fixed offset"), "{stderr}");
    let (code, _, _) = w3triage(&["analyze", fixtures, "--window", "5 parsecs"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = w3triage(&[
        "analyze",
        fixtures,
        "--since",
        "2024-03-02",
        "--until",
        "2024-03-01",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

/// When the `i`th of 600 ordinary requests over four hours completes: off the minute grid, so
/// that crash times (whole minutes) never coincide with one.
fn ordinary_ts(i: usize) -> i64 {
    at_min(240.0 * i as f64 / 600.0) + 3_300
}

/// Four hours of ordinary traffic: 600 quick GETs from one client to 90 pages under `prefix`.
fn ordinary_day(b: &mut TableBuilder, log: u32, prefix: &str) {
    for i in 0..600usize {
        let stem = format!("{prefix}/{}", 2000 + i % 90);
        b.request(
            log,
            ordinary_ts(i),
            &Req {
                stem: &stem,
                ..Default::default()
            },
        );
    }
}

/// Three crashes of DefaultAppPool, each dump's stack given by `stack`, with `in_flight` (a
/// request spanning each crash) among 600 ordinary requests.
fn crashes_with(stack: &[(&str, &str)], in_flight: &dyn Fn(usize) -> Req<'static>) -> Tables {
    use w3triage::tables::{FrameRow, FrameTrust};
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("WEB01/events/System.xml", ArtifactKind::EventXml);
    for i in 0..600usize {
        let stem = format!("/products/{}", 2000 + i % 90);
        let client = format!("198.51.100.{}", i % 40);
        // The crawler is busy all day: one request in fifty.
        let crawler = i % 50 == 0;
        b.request(
            log,
            ordinary_ts(i),
            &Req {
                stem: &stem,
                client: if crawler { "66.249.66.1" } else { &client },
                user_agent: Some(if crawler {
                    GOOGLEBOT
                } else {
                    "Mozilla/5.0 (Windows NT 10.0)"
                }),
                ..Default::default()
            },
        );
    }
    for (k, m) in [60.0, 75.0, 90.0].into_iter().enumerate() {
        let pid = 4100 + k as u32;
        let crash = at_min(m);
        let dump = b.file(
            &format!("WEB01/dumps/w3wp.exe.{pid}.dmp"),
            ArtifactKind::Minidump,
        );
        b.crash(dump_row(dump, crash, pid, stack[0].0, stack[0].1));
        for (index, (module, class)) in stack.iter().enumerate() {
            b.t.frames.push(FrameRow {
                file: dump,
                index: index as u32,
                module: Some(module.to_string()),
                module_offset: Some(0x1234),
                trust: if index == 0 {
                    FrameTrust::Context
                } else {
                    FrameTrust::FramePointer
                },
                class: Some(class_named(class)),
                ..Default::default()
            });
        }
        b.crash(was_row(
            sys,
            crash + 2_000,
            5011,
            "DefaultAppPool",
            Some(pid),
        ));
        b.request(
            log,
            crash + 2_000,
            &Req {
                time_taken_ms: 30_000,
                ..in_flight(k)
            },
        );
    }
    b.build()
}

const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

#[test]
fn a_crawler_busy_at_every_crash_is_not_accused() {
    let t = crashes_with(
        &[
            ("acme.dll", "third_party"),
            ("iiscore.dll", "iis_core"),
            ("w3dt.dll", "iis_core"),
        ],
        &|k| Req {
            stem: ["/a.aspx", "/b/list", "/c/item/7"][k],
            client: "66.249.66.1",
            user_agent: Some(GOOGLEBOT),
            ..Default::default()
        },
    );
    let a = analyze(&t, &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3);
    let accused: Vec<&str> = a
        .suspects
        .iter()
        .filter(|s| s.name.starts_with("client") || s.name.starts_with("user agent"))
        .map(|s| s.name.as_str())
        .collect();
    assert!(accused.is_empty(), "{accused:?}");
    assert!(
        a.summary
            .notes
            .iter()
            .any(|n| n.contains("the Googlebot crawler, busy at any time: discounted")),
        "{:?}",
        a.summary.notes
    );
    // The module is still the suspect.
    assert!(
        a.suspects.iter().any(|s| s.name == "acme.dll"),
        "{:?}",
        a.suspects
    );
}

#[test]
fn a_timer_crash_accuses_no_request_pattern() {
    // The crashing thread is a thread-pool timer in a COM DLL: nothing of the request path on it.
    let t = crashes_with(
        &[
            ("oldcom.dll", "third_party"),
            ("ntdll.dll", "os_core"),
            ("kernel32.dll", "os_core"),
        ],
        &|_| Req {
            stem: "/reports/export.aspx",
            query: Some("format=xlsx"),
            client: "203.0.113.9",
            ..Default::default()
        },
    );
    let a = analyze(&t, &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3);
    let patterns: Vec<&str> = a
        .suspects
        .iter()
        .filter(|s| s.kind == w3triage::analyze::SuspectKind::RequestPattern)
        .map(|s| s.name.as_str())
        .collect();
    assert!(patterns.is_empty(), "{patterns:?}");
    assert!(
        a.summary
            .notes
            .iter()
            .any(|n| n.contains("not request-driven")),
        "{:?}",
        a.summary.notes
    );
}

/// A managed out-of-memory crash after huge uploads: the uploads had completed before each
/// crash (not in flight), and the events name the exception. The report names both.
#[test]
fn huge_uploads_before_out_of_memory_crashes_are_named() {
    use w3triage::analyze::SuspectKind;
    use w3triage::tables::{CrashKind, CrashRow, EvidenceSource};
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("WEB01/events/System.xml", ArtifactKind::EventXml);
    let app = b.file("WEB01/events/Application.xml", ArtifactKind::EventXml);
    ordinary_day(&mut b, log, "/files");
    let upload = |b: &mut TableBuilder, ts| {
        b.request(
            log,
            ts,
            &Req {
                method: "POST",
                stem: "/files/upload.aspx",
                client: "203.0.113.50",
                time_taken_ms: 240_000,
                bytes_in: Some(300 << 20),
                ..Default::default()
            },
        );
    };
    // Two huge uploads that did no harm, hours apart.
    upload(&mut b, at_min(10.0));
    upload(&mut b, at_min(200.0));
    let herr = b.file("WEB01/HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    for (k, m) in [60.0, 100.0, 140.0].into_iter().enumerate() {
        let pid = 4100 + k as u32;
        let crash = at_min(m);
        upload(&mut b, crash - 30_000);
        if k == 0 {
            // The same client's next upload, abandoned by the crash.
            let e = Err {
                method: "POST",
                uri: "/files/upload.aspx",
                client: "203.0.113.50",
                ..Default::default()
            };
            b.httperr(herr, crash, &e);
        }
        b.crash(was_row(
            sys,
            crash + 2_000,
            5011,
            "DefaultAppPool",
            Some(pid),
        ));
        b.crash(CrashRow {
            ts: Some(crash),
            source: Some(EvidenceSource::Event),
            provider: Some(".NET Runtime".into()),
            event_id: Some(1026),
            kind: CrashKind::Crash,
            process_name: Some("w3wp.exe".into()),
            exception_name: Some("System.OutOfMemoryException".into()),
            managed_method: Some("Contoso.Files.Upload.Save".into()),
            file: app,
            ..Default::default()
        });
    }
    let a = analyze(&b.build(), &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3, "{:?}", a.incidents);
    assert!(a.incidents.iter().all(|i| {
        i.managed_exception
            .as_ref()
            .is_some_and(|m| m.type_name == "System.OutOfMemoryException")
    }));
    let pre = a.suspects.iter().find(|s| s.kind == SuspectKind::Precursor);
    let pre = pre.unwrap_or_else(|| panic!("{:#?}", a.suspects));
    assert_eq!(pre.name, "POST /files/upload.aspx (cs-bytes ≥ 10 MB)");
    assert_eq!(pre.incidents, ["I1", "I2", "I3"]);
    assert_eq!(
        pre.confidence,
        w3triage::knowledge::verdict::Confidence::High
    );
    assert!(pre.reason.contains("out of memory"), "{}", pre.reason);
    assert!(
        pre.reason
            .contains("at I1 the same client also had a request abandoned by the crash"),
        "{}",
        pre.reason
    );
    assert_eq!(pre.evidence_total, 3);
    let h = &a.summary.headline;
    assert!(
        h.contains(
            "3 of 3 crashes: System.OutOfMemoryException in Contoso.Files.Upload.Save — unhandled, process terminated."
        ),
        "{h}"
    );
    assert!(
        h.contains("Before 3 of 3 crashes: POST /files/upload.aspx"),
        "{h}"
    );
    assert!(
        a.recommendations
            .iter()
            .any(|r| r.suspect.as_deref() == Some(pre.id.as_str())
                && r.action.contains("cap the request size")),
        "{:?}",
        a.recommendations
    );
}

/// One crash seen by two sources is one incident, for every pair of sources: a dump, WAS 5011
/// (pid in decimal), Application Error 1000 (pid read from hex at ingest), .NET Runtime 1026
/// (no pid), WER 1001 (no pid) and an HTTPERR abandonment (pool, no pid).
#[test]
fn one_crash_seen_by_any_two_sources_is_one_incident() {
    use w3triage::tables::{CrashKind, CrashRow, EvidenceSource};
    let crash = at_min(60.0);
    let pid = 4100;
    let sources = ["dump", "was", "app_error", "clr", "wer", "httperr"];
    for (x, a) in sources.iter().enumerate() {
        for b in &sources[x + 1..] {
            let mut t = TableBuilder::new();
            let log = t.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
            for i in 0..50 {
                t.request(log, at_min(i as f64), &Req::default());
            }
            for (k, which) in [a, b].into_iter().enumerate() {
                // Each source a little later than the one before, as events follow the crash.
                let ts = crash + 700 * k as i64;
                let file = t.file(&format!("WEB01/src{k}"), ArtifactKind::EventXml);
                let event = |provider: &str, id: u32, kind| CrashRow {
                    ts: Some(ts),
                    server: Some("WEB01".into()),
                    source: Some(EvidenceSource::Event),
                    provider: Some(provider.into()),
                    event_id: Some(id),
                    kind,
                    process_name: Some("w3wp.exe".into()),
                    file,
                    ..Default::default()
                };
                match *which {
                    "dump" => {
                        t.crash(dump_row(file, ts, pid, "acme.dll", "third_party"));
                    }
                    "was" => {
                        t.crash(was_row(file, ts, 5011, "DefaultAppPool", Some(pid)));
                    }
                    "app_error" => {
                        t.crash(app_error_row(file, ts, pid, "acme.dll", 0xC000_0005));
                    }
                    "clr" => {
                        t.crash(CrashRow {
                            exception_name: Some("System.InvalidOperationException".into()),
                            ..event(".NET Runtime", 1026, CrashKind::Crash)
                        });
                    }
                    "wer" => {
                        t.crash(event("Windows Error Reporting", 1001, CrashKind::Report));
                    }
                    _ => {
                        let herr = t.file("WEB01/httperr1.log", ArtifactKind::HttpErr);
                        t.httperr(herr, ts, &Err::default());
                    }
                }
            }
            let an = analyze(&t.build(), &AnalyzeOptions::default());
            let summary: Vec<String> = an
                .incidents
                .iter()
                .map(|i| format!("{} {:?} {:?}", i.id, i.pid, i.sources))
                .collect();
            assert_eq!(an.incidents.len(), 1, "{a} + {b}: {summary:?}");
            assert!(an.incidents[0].sources.len() >= 2, "{a} + {b}: {summary:?}");
        }
    }
}

/// Crashes known from events only (no dump, no request abandoned): a client whose requests
/// happen to be in flight at each of them is not accused, for nothing shows the crashes were
/// request-driven.
#[test]
fn no_request_is_accused_without_a_sign_the_crash_was_request_driven() {
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("WEB01/events/System.xml", ArtifactKind::EventXml);
    for i in 0..600usize {
        let client = format!("198.51.100.{}", i % 40);
        b.request(
            log,
            ordinary_ts(i),
            &Req {
                client: &client,
                ..Default::default()
            },
        );
    }
    for (k, m) in [60.0, 100.0, 140.0].into_iter().enumerate() {
        let crash = at_min(m);
        b.crash(was_row(
            sys,
            crash,
            5011,
            "DefaultAppPool",
            Some(4100 + k as u32),
        ));
        b.request(
            log,
            crash + 1_000,
            &Req {
                client: "203.0.113.77",
                time_taken_ms: 20_000,
                ..Default::default()
            },
        );
    }
    let a = analyze(&b.build(), &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3);
    assert!(a.incidents.iter().all(|i| i.in_flight_total >= 1));
    assert!(a.suspects.is_empty(), "{:?}", a.suspects);
    assert!(
        a.summary
            .notes
            .iter()
            .any(|n| n.contains("nothing shows the crashes were request-driven")),
        "{:?}",
        a.summary.notes
    );
}

/// The same request as one abandoned at each crash, completed just before it: a precursor by
/// its shape alone (it is neither huge nor slow), rare in the rest of the log.
#[test]
fn the_shape_of_an_abandoned_request_completed_just_before_is_a_precursor() {
    use w3triage::analyze::SuspectKind;
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240301.log", ArtifactKind::W3c);
    let sys = b.file("WEB01/events/System.xml", ArtifactKind::EventXml);
    let herr = b.file("WEB01/HTTPERR/httperr1.log", ArtifactKind::HttpErr);
    ordinary_day(&mut b, log, "/catalog");
    let import = Req {
        method: "POST",
        stem: "/api/import",
        client: "192.0.2.80",
        ..Default::default()
    };
    b.request(log, at_min(5.0), &import);
    for (k, m) in [60.0, 100.0, 140.0].into_iter().enumerate() {
        let crash = at_min(m);
        b.request(log, crash - 20_000, &import);
        b.httperr(
            herr,
            crash,
            &Err {
                method: "POST",
                uri: "/api/import",
                client: "192.0.2.80",
                ..Default::default()
            },
        );
        b.crash(was_row(
            sys,
            crash + 2_000,
            5011,
            "DefaultAppPool",
            Some(4100 + k as u32),
        ));
    }
    let a = analyze(&b.build(), &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 3);
    let pre = a.suspects.iter().find(|s| s.kind == SuspectKind::Precursor);
    let pre = pre.unwrap_or_else(|| panic!("{:#?}", a.suspects));
    assert_eq!(
        pre.name,
        "POST /api/import (as a request abandoned at a crash)"
    );
    assert_eq!(pre.incidents, ["I1", "I2", "I3"]);
    assert!(
        pre.reason
            .contains("the same client also had a request abandoned"),
        "{}",
        pre.reason
    );
}
