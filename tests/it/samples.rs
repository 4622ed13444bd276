//! The committed `samples/` are exactly what the generator writes, and their crash evidence agrees
//! across sources (dump, WAS events, Application Error, HTTPERR, W3C) as the README says.

#[path = "../../examples/gen_samples/generator.rs"]
pub(crate) mod generator;

use minidump::{Minidump, MinidumpException, MinidumpMiscInfo, MinidumpModuleList, Module};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk samples"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
        .collect()
}

#[test]
fn committed_samples_are_what_the_generator_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = generator::generate(tmp.path(), 1).expect("generate samples");
    let committed = samples();
    let mut drift = Vec::new();
    for (rel, _) in &summary.files {
        let fresh = std::fs::read(tmp.path().join(rel)).unwrap();
        match std::fs::read(committed.join(rel)) {
            Ok(old) if old == fresh => {}
            Ok(_) => drift.push(format!("differs: {}", rel.display())),
            Err(e) => drift.push(format!("missing: {} ({e})", rel.display())),
        }
    }
    let generated: BTreeSet<PathBuf> = summary.files.iter().map(|f| f.0.clone()).collect();
    for extra in files_under(&committed).difference(&generated) {
        drift.push(format!("not generated: {}", extra.display()));
    }
    assert!(
        drift.is_empty(),
        "samples/ and the generator disagree; run `{}`:\n{}",
        generator::REGENERATE,
        drift.join("\n")
    );
}

#[test]
fn generator_is_deterministic_and_seed_sensitive() {
    let a = generator::render_all(7);
    let b = generator::render_all(7);
    assert!(a == b, "same seed, different bytes");
    let c = generator::render_all(8);
    let log = |v: &[(PathBuf, Vec<u8>)]| {
        v.iter()
            .find(|f| f.0.ends_with("u_ex250314.log"))
            .unwrap()
            .1
            .clone()
    };
    assert_ne!(log(&a), log(&c));
}

fn truth() -> Value {
    let text = std::fs::read_to_string(samples().join("ground-truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn read(rel: &str) -> String {
    String::from_utf8(std::fs::read(samples().join(rel)).unwrap()).unwrap()
}

#[test]
fn crash_evidence_agrees_across_sources() {
    let t = truth();
    let o = &t["outage"];
    let system = read(o["events"]["system"].as_str().unwrap());
    let application = read(o["events"]["application"].as_str().unwrap());
    let httperr = read(o["httperr"]["file"].as_str().unwrap());
    let w3c = read(o["w3c"]["file"].as_str().unwrap());
    let folder = o["folder"].as_str().unwrap();
    assert!(w3c.lines().chain(httperr.lines()).all(|l| !l.is_empty()) && !w3c.contains("\n\n"));
    assert_eq!(
        w3c.matches("\r\n").count(),
        w3c.matches('\n').count(),
        "W3C is CRLF"
    );
    assert_eq!(
        httperr.matches("\r\n").count(),
        httperr.matches('\n').count(),
        "HTTPERR is CRLF"
    );

    let crashes = o["crashes"].as_array().unwrap();
    assert_eq!(crashes.len(), 10);
    let mut dumps = 0;
    for c in crashes {
        let pid = c["pid"].as_u64().unwrap();
        let was: Vec<&str> = system
            .lines()
            .filter(|l| l.contains(&format!("<Data Name='ProcessID'>{pid}</Data>")))
            .collect();
        assert!(
            was.iter().any(|l| l.contains(">5011</EventID>")),
            "5011 for {pid}"
        );
        assert!(
            was.iter()
                .any(|l| l.contains(">5009</EventID>") && l.contains("c0000005")),
            "5009 for {pid}"
        );
        let hex = c["pid_hex"].as_str().unwrap();
        let e1000: Vec<&str> = application
            .lines()
            .filter(|l| l.contains(&format!("<Data Name='ProcessId'>{hex}</Data>")))
            .collect();
        assert_eq!(e1000.len(), 1, "one Application Error for {hex}");
        assert!(e1000[0].contains("<Data Name='ModuleName'>ctsgate.dll</Data>"));
        assert!(e1000[0].contains(c["process_creation_filetime"].as_str().unwrap()));

        // HTTPERR: the killer and every ordinary in-flight request, in the crash second.
        let second = c["httperr_abandoned_at"].as_str().unwrap();
        assert_eq!(&c["time_utc"].as_str().unwrap()[11..19], &second[11..19]);
        let abandoned: Vec<&str> = httperr
            .lines()
            .filter(|l| {
                l.starts_with(second) && l.contains(" Connection_Abandoned_By_AppPool ShopAppPool")
            })
            .collect();
        let ordinary = c["in_flight_ordinary"].as_array().unwrap();
        assert!((3..=10).contains(&ordinary.len()));
        assert_eq!(abandoned.len(), ordinary.len() + 1, "crash {}", c["n"]);
        let killer = c["killer_uri"].as_str().unwrap();
        assert!(abandoned.iter().any(|l| l.contains(killer)));
        // …and never in W3C: the filter kills the worker before the request completes.
        let q = killer.split_once('?').unwrap().1;
        assert!(
            !w3c.contains(q),
            "killer query of crash {} is in W3C",
            c["n"]
        );
        assert!((400..=900).contains(&c["killer_query_chars"].as_u64().unwrap()));

        if let Some(name) = c["dump"].as_str() {
            dumps += 1;
            assert!(name.contains(&format!("__PID__{pid}__")));
            let bytes = std::fs::read(samples().join(folder).join("dumps").join(name)).unwrap();
            assert!(bytes.len() < 300_000, "{name} is {} bytes", bytes.len());
            let dump = Minidump::read(bytes).unwrap();
            let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
            assert_eq!(misc.raw.process_id().copied(), Some(pid as u32));
            let exc = dump.get_stream::<MinidumpException>().unwrap();
            assert_eq!(exc.raw.exception_record.exception_code, 0xC000_0005);
            assert_eq!(
                exc.get_crashing_thread_id(),
                c["thread_id"].as_u64().unwrap() as u32
            );
            let modules = dump.get_stream::<MinidumpModuleList>().unwrap();
            let ip = exc.raw.exception_record.exception_address;
            let m = modules
                .module_at_address(ip)
                .expect("fault inside a module");
            assert!(m.code_file().ends_with("ctsgate.dll"));
            assert_eq!(ip - m.raw.base_of_image, 0x1_b4c7);
            // Without symbols, the walk from the fault reaches the IIS pipeline.
            let provider =
                minidump_unwind::Symbolizer::new(minidump_unwind::simple_symbol_supplier(vec![]));
            let state =
                futures_executor::block_on(minidump_processor::process_minidump(&dump, &provider))
                    .unwrap();
            let crashing = &state.threads[state.requesting_thread.expect("requesting thread")];
            let names: Vec<String> = crashing
                .frames
                .iter()
                .filter_map(|f| {
                    f.module.as_ref().map(|m| {
                        m.code_file()
                            .rsplit('\\')
                            .next()
                            .unwrap()
                            .to_ascii_lowercase()
                    })
                })
                .collect();
            for want in [
                "ctsgate.dll",
                "filter.dll",
                "iiscore.dll",
                "w3dt.dll",
                "w3tp.dll",
                "ntdll.dll",
            ] {
                assert!(
                    names.iter().any(|n| n == want),
                    "{want} not on the stack: {names:?}"
                );
            }
            assert_eq!(state.process_id, Some(pid as u32));
            assert!(state.threads.len() >= 30);
            let secs = c["time_utc"].as_str().unwrap();
            let unix = dump.header.time_date_stamp as i64;
            assert_eq!(generator::time::rfc3339_ms(unix * 1000)[..19], secs[..19]);
        }
    }
    assert_eq!(dumps, 3);
    // Rapid-fail: 5002 once, and AppOffline lines only inside the window.
    assert_eq!(system.matches(">5002</EventID>").count(), 1);
    let rf = &o["rapid_fail"];
    assert_eq!(rf["crashes"].as_array().unwrap().len(), 5);
    let (from, to) = (
        &rf["pool_disabled_utc"].as_str().unwrap()[11..19],
        &rf["pool_started_by_admin_utc"].as_str().unwrap()[11..19],
    );
    let offline: Vec<&str> = httperr
        .lines()
        .filter(|l| l.contains(" 503 1 AppOffline ShopAppPool"))
        .collect();
    assert_eq!(
        offline.len() as u64,
        rf["app_offline_lines"].as_u64().unwrap()
    );
    assert!(
        offline
            .iter()
            .all(|l| &l[11..19] >= from && &l[11..19] < to)
    );
    assert!(offline.len() > 20);
    let e5002 = &rf["was_5002_utc"].as_str().unwrap()[..19];
    assert!(e5002 >= &rf["pool_disabled_utc"].as_str().unwrap()[..19] && &e5002[11..] < to);
}

#[test]
fn healthy_day_has_no_crash_evidence() {
    let t = truth();
    let h = &t["healthy"];
    let system = read(h["events"]["system"].as_str().unwrap());
    let application = read(h["events"]["application"].as_str().unwrap());
    let httperr = read(h["httperr"]["file"].as_str().unwrap());
    for id in [">5002<", ">5009<", ">5010<", ">5011<"] {
        assert!(!system.contains(id), "{id} on the healthy server");
    }
    assert!(system.contains(">5186<") && system.contains(">5074<"));
    assert!(!application.contains(">1000<"));
    assert!(!httperr.contains("Connection_Abandoned") && !httperr.contains("AppOffline"));
    assert!(h["crashes"].as_array().unwrap().is_empty());
    assert!(
        !samples()
            .join(h["folder"].as_str().unwrap())
            .join("dumps")
            .exists()
    );
}

/// The shipped outage, analysed: the killer query shape is the top request-pattern suspect; the
/// popular, slow pages that were also in flight (`/default.aspx`, `/api/cart/{n}`) are not blamed
/// once weighed by their busy time; the killer heads every incident's in-flight list.
#[test]
fn sample_outage_blames_the_killer_not_the_popular_pages() {
    use w3triage::analyze::{AnalyzeOptions, analyze};
    use w3triage::ingest::{IngestOptions, ingest_paths};
    let t = ingest_paths(&[samples().join("outage")], &IngestOptions::default());
    let a = analyze(&t, &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 10);
    let patterns: Vec<_> = a
        .suspects
        .iter()
        .filter(|s| s.kind.name() == "request_pattern")
        .collect();
    let top = patterns[0];
    assert_eq!(
        top.name,
        "query shape: /catalog/search.aspx?q={257-1024,%u}&lang={1-16}"
    );
    assert_eq!(top.confidence.name(), "high");
    assert_eq!(top.incidents.len(), 10);
    for s in &patterns {
        assert!(
            !s.name.contains("/default.aspx") && !s.name.contains("/api/cart/"),
            "popular page blamed: {} ({})",
            s.name,
            s.reason
        );
    }
    assert!(
        a.summary
            .notes
            .iter()
            .any(|n| n.contains("busy time") && n.contains("/default.aspx")),
        "{:?}",
        a.summary.notes
    );
    for inc in &a.incidents {
        let first = &inc.in_flight[0];
        assert!(
            first.uri.starts_with("/catalog/search.aspx?q=") && first.uri.contains("%u"),
            "{}: {}",
            inc.id,
            first.uri
        );
        assert_eq!(first.suspects[0], top.id);
        // One cause, one category: with a dump or without, the filter faulted, triggered by
        // the pattern.
        assert_eq!(inc.category.name.name(), "faulting_module", "{}", inc.id);
        assert!(
            inc.category.decided_by[0].contains("ctsgate.dll"),
            "{:?}",
            inc.category
        );
        assert!(
            inc.category.decided_by[1].starts_with("triggered by: query shape"),
            "{:?}",
            inc.category
        );
    }
}

/// The healthy day through the real pipeline and the real binary: every file read, no incident,
/// no suspect, and the report says so in words.
#[test]
fn healthy_day_analyzes_to_no_crash_found() {
    use w3triage::analyze::{AnalyzeOptions, analyze};
    use w3triage::ingest::{IngestOptions, ingest_paths};
    let t = ingest_paths(&[samples().join("healthy")], &IngestOptions::default());
    assert_eq!(t.files.len(), 4);
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert_eq!(t.requests.len(), 8660);
    let a = analyze(&t, &AnalyzeOptions::default());
    assert!(a.incidents.is_empty());
    assert!(a.suspects.is_empty());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .arg("analyze")
        .arg(samples().join("healthy"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No crash found in 4 input files"), "{text}");
}

/// Copies `from` into `to`, changing each file with `edit(relative path, bytes)`.
fn copy_tree(from: &Path, to: &Path, edit: &dyn Fn(&Path, Vec<u8>) -> Vec<u8>) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            let bytes = std::fs::read(e.path()).unwrap();
            std::fs::write(&dest, edit(rel, bytes)).unwrap();
        }
    }
}

/// A W3C log with `s-computername WEB01` inserted after the time.
fn with_computername(log: &str) -> Vec<u8> {
    let mut out = String::with_capacity(log.len() + log.len() / 10);
    for line in log.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("#Fields: date time ") {
            out.push_str("#Fields: date time s-computername ");
            out.push_str(rest);
        } else if line.starts_with('#') || line.trim().is_empty() {
            out.push_str(line);
        } else {
            let mut parts = line.splitn(3, ' ');
            let (d, t) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            out.push_str(&format!("{d} {t} WEB01 {}", parts.next().unwrap_or("")));
        }
    }
    out.into_bytes()
}

/// One machine is one server whatever its folder is called and however its events name it: the
/// outage sample, moved into a folder named after the date, with events naming the machine by
/// its FQDN, gives the same incidents on the same server.
#[test]
fn one_server_whatever_the_folder_is_called() {
    use w3triage::analyze::{AnalyzeOptions, analyze};
    use w3triage::ingest::{IngestOptions, ingest_paths};
    let key = |a: &w3triage::analyze::Analysis| {
        let incidents: Vec<_> = a
            .incidents
            .iter()
            .map(|i| {
                (
                    i.time,
                    i.pid,
                    i.server.clone(),
                    i.sources.len(),
                    i.in_flight_total,
                )
            })
            .collect();
        (incidents, a.suspects.len(), a.rapid_fail.len())
    };
    let opts = IngestOptions::default();
    let base = analyze(
        &ingest_paths(&["samples/outage".into()], &opts),
        &AnalyzeOptions::default(),
    );
    assert_eq!(base.incidents.len(), 10);

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("outage-2025-03-14");
    copy_tree(Path::new("samples/outage/WEB01"), &root, &|rel, bytes| {
        let text = || String::from_utf8(bytes.clone()).unwrap();
        match rel.extension().and_then(|e| e.to_str()) {
            Some("xml") => text()
                .replace(
                    "<Computer>WEB01</Computer>",
                    "<Computer>web01.contoso.local</Computer>",
                )
                .into_bytes(),
            // The W3C log also logs s-computername.
            Some("log") if rel.to_string_lossy().contains("W3SVC") => with_computername(&text()),
            _ => bytes,
        }
    });
    let t = ingest_paths(std::slice::from_ref(&root), &opts);
    assert_eq!(t.servers.len(), 1, "{:?}", t.servers);
    assert_eq!(t.servers[0].name, "WEB01");
    assert_eq!(
        t.servers[0].evidence,
        [
            "s-computername WEB01",
            "events Computer web01.contoso.local",
            "folder outage-2025-03-14"
        ]
    );
    let moved = analyze(&t, &AnalyzeOptions::default());
    // The same incidents, each once, with every source merged, on the same server.
    assert!(
        base.incidents
            .iter()
            .all(|i| i.server.as_deref() == Some("WEB01"))
    );
    assert_eq!(key(&moved), key(&base));

    // `--server` names it whatever the evidence says.
    let forced = IngestOptions {
        server: Some("PORTAL-IIS01".into()),
        ..Default::default()
    };
    let t = ingest_paths(&[root], &forced);
    let a = analyze(&t, &AnalyzeOptions::default());
    assert!(
        a.incidents
            .iter()
            .all(|i| i.server.as_deref() == Some("PORTAL-IIS01"))
    );
    assert_eq!(a.incidents.len(), 10);
}

/// Crashes of processes IIS does not serve from are context, not incidents: a desktop app's
/// crash event and a non-IIS dump beside the outage sample leave its incidents as they were.
#[test]
fn other_processes_crashes_are_listed_apart() {
    use w3triage::analyze::{AnalyzeOptions, analyze};
    use w3triage::ingest::ingest_paths;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("WEB01");
    copy_tree(Path::new("samples/outage/WEB01"), &root, &|_, b| b);
    std::fs::copy(
        "tests/fixtures/dumps/breakpad_ascii_read_av.dmp",
        root.join("dumps/crashme.dmp"),
    )
    .unwrap();
    let event = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Application Error'/><EventID Qualifiers='0'>1000</EventID><Level>2</Level><TimeCreated SystemTime='2025-03-14T12:00:00.0000000Z'/><Channel>Application</Channel><Computer>WEB01</Computer></System><EventData><Data Name='AppName'>Contoso.Desktop.exe</Data><Data Name='AppVersion'>1.0.0.0</Data><Data Name='ModuleName'>KERNELBASE.dll</Data><Data Name='ModuleVersion'>10.0.17763.1</Data><Data Name='ExceptionCode'>e0434352</Data><Data Name='FaultingOffset'>0000000000039319</Data><Data Name='ProcessId'>0x1f40</Data><Data Name='AppPath'>C:\\Program Files\\Contoso\\Contoso.Desktop.exe</Data></EventData></Event>\n";
    std::fs::write(root.join("events/Desktop.xml"), event).unwrap();

    let a = analyze(
        &ingest_paths(&[root], &Default::default()),
        &AnalyzeOptions::default(),
    );
    assert_eq!(a.incidents.len(), 10);
    assert!(
        a.incidents
            .iter()
            .all(|i| i.pid != Some(8000) && i.pid != Some(5376))
    );
    let what: Vec<&str> = a.other_crashes.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(what.len(), 2, "{what:?}");
    assert!(
        what.iter().any(|w| w.contains("process crashme.exe")),
        "{what:?}"
    );
    assert!(
        what.iter()
            .any(|w| w.contains("process Contoso.Desktop.exe")),
        "{what:?}"
    );
    let note = a
        .summary
        .notes
        .iter()
        .find(|n| n.contains("IIS does not serve"));
    assert!(
        note.is_some_and(|n| n.starts_with("2 crash(es)") && n.contains("crashme.exe")),
        "{:?}",
        a.summary.notes
    );
    // No module of those processes is a suspect.
    assert!(
        a.suspects.iter().all(|s| !s.name.contains("crashme")),
        "{:?}",
        a.suspects
    );
}

/// The slow day: no crash, and each of its three outages found with the kind, category and
/// time the ground truth states; the configuration change is the burst's suspect.
#[test]
fn slow_day_finds_its_three_outages() {
    use w3triage::analyze::{AnalyzeOptions, analyze, time::fmt_utc};
    use w3triage::ingest::{IngestOptions, ingest_paths};
    let truth = &truth()["slow"];
    let t = ingest_paths(&[samples().join("slow")], &IngestOptions::default());
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert_eq!(t.traces.len(), 4);
    assert_eq!(t.counters.samples.len(), 5760);
    assert_eq!(t.servers.len(), 1, "{:?}", t.servers);
    let a = analyze(&t, &AnalyzeOptions::default());
    assert!(!a.summary.crashed);
    // Requests in flight at a hang or a recycle are not tested as crash patterns.
    assert!(
        a.summary.notes.iter().all(|n| !n.contains("in flight at")),
        "{:?}",
        a.summary.notes
    );
    let want = truth["incidents"].as_array().unwrap();
    assert_eq!(a.incidents.len(), want.len(), "{:#?}", a.incidents);
    for (inc, w) in a.incidents.iter().zip(want) {
        assert_eq!(inc.kind.name(), w["kind"], "{}", inc.id);
        assert_eq!(
            inc.category.name.name(),
            w["category"],
            "{}: {:?}",
            inc.id,
            inc.category
        );
        let at = fmt_utc(inc.time.unwrap().0);
        assert_eq!(
            w["time"].as_str().unwrap().replace(".000Z", "Z"),
            at,
            "{}",
            inc.id
        );
        assert_eq!(inc.server.as_deref(), truth["server"].as_str());
    }
    assert_eq!(a.suspects.len(), 1);
    let suspect = truth["suspect"].as_str().unwrap().replace(".000Z", "Z");
    assert!(
        a.suspects[0].name.starts_with(&suspect),
        "{} / {suspect}",
        a.suspects[0].name
    );
    // The evidence each category rests on.
    let by = |i: usize| a.incidents[i].category.decided_by.join(" | ");
    assert!(by(0).contains("Private Bytes of w3wp grew"), "{}", by(0));
    assert!(
        by(1).contains("traces name module IIS Web Core"),
        "{}",
        by(1)
    );
    assert!(by(2).starts_with("CPU 98 % with"), "{}", by(2));
}
