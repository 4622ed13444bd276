//! The farm's reduce as SQL on an engine (`--features distributed`): on a generated farm's
//! dataset, DataFusion in-process and a Ballista cluster with two executors on loopback give
//! the same `farm.json` as the servers' summaries, byte for byte.

use crate::cli::w3triage;
use crate::dataset::ingest_quietly;
use crate::farm::generate_seeded;
use std::path::Path;
use w3triage::dataset::reduce::Engine;
use w3triage::dataset::{farm_report, farm_report_on};
use w3triage::farm::FindingKind;

/// The generated farm of `servers` × `days`, ingested into a dataset.
fn dataset(servers: usize, days: usize) -> (tempfile::TempDir, tempfile::TempDir) {
    let (farm, _) = generate_seeded(servers, days, 1);
    let ds = tempfile::tempdir().unwrap();
    let roots = [farm.path().to_path_buf()];
    ingest_quietly(&roots, ds.path());
    (farm, ds)
}

fn json(dir: &Path, engine: Option<&Engine>) -> String {
    let farm = match engine {
        None => farm_report(dir).unwrap(),
        Some(e) => farm_report_on(dir, e, &Default::default()).unwrap().0,
    };
    w3triage::report::farm::render(&farm, w3triage::report::Format::Json)
}

#[test]
fn the_reduce_on_datafusion_and_on_ballista_equals_the_summaries_one() {
    let (_farm, ds) = dataset(30, 7);
    let builtin = json(ds.path(), None);
    let report: serde_json::Value = serde_json::from_str(&builtin).unwrap();
    // Not an empty report that would equal any other: the farm's module and its numbers.
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&FindingKind::SharedFaultingModule.name()),
        "{kinds:?}"
    );
    assert_eq!(report["servers"].as_array().unwrap().len(), 30);
    assert_eq!(report["days"].as_array().unwrap().len(), 7);
    let requests: u64 = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert!(requests > 100_000, "{requests}");

    let (_, timing) = farm_report_on(ds.path(), &Engine::Local, &Default::default()).unwrap();
    assert_eq!(timing.queries.len(), 4, "one query per table");
    let local = json(ds.path(), Some(&Engine::Local));
    assert_eq!(local, builtin, "DataFusion in-process");
    let cluster = json(ds.path(), Some(&Engine::Standalone { executors: 2 }));
    assert_eq!(cluster, builtin, "Ballista, two executors");

    // The command line says the same, and tells what the engine took.
    let d = ds.path().to_str().unwrap();
    let (code, out, err) = w3triage(&[
        "farm",
        d,
        "--engine",
        "ballista-standalone",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the reduce ran on ballista-standalone"),
        "{err}"
    );
    let (_, plain, _) = w3triage(&["farm", d, "--format", "json"]);
    assert_eq!(out, plain);
}

#[test]
fn the_samples_dataset_gives_the_same_report_on_datafusion() {
    // Real-world-shaped input: incidents without an end in some files and with one in others
    // (their files' schemas must agree for an engine to read the table at all).
    let ds = tempfile::tempdir().unwrap();
    ingest_quietly(&["samples".into()], ds.path());
    let builtin = json(ds.path(), None);
    assert!(builtin.contains("\"kind\": \"crash\""), "{builtin}");
    assert_eq!(json(ds.path(), Some(&Engine::Local)), builtin);
}

#[test]
fn escaped_server_names_and_a_path_with_a_space_are_read_back_by_the_engine() {
    let farm = tempfile::tempdir().unwrap();
    let log = "#Fields: date time cs-uri-stem sc-status time-taken\n\
               2025-03-01 00:00:01 /a 200 5\n2025-03-01 00:00:02 /b 500 6\n";
    for server in ["WEB 01", "W\u{e9}b%02"] {
        let dir = farm.path().join(server).join("W3SVC1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("u_ex250301.log"), log).unwrap();
    }
    let root = tempfile::tempdir().unwrap();
    let ds = root.path().join("my data");
    let roots = [farm.path().to_path_buf()];
    ingest_quietly(&roots, &ds);
    // The partitions are escaped (`server=WEB%2001`); the engine's rows find their servers.
    assert!(ds.join("minutes/server=WEB%2001").is_dir());
    let builtin = json(&ds, None);
    assert!(builtin.contains("\"errors_5xx\": 1"), "{builtin}");
    assert_eq!(json(&ds, Some(&Engine::Local)), builtin);
}

#[test]
fn a_scheduler_that_does_not_answer_is_said_and_no_report_is_written() {
    let (_farm, ds) = dataset(3, 1);
    let out = tempfile::tempdir().unwrap();
    let d = ds.path().to_str().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let (code, _, err) = w3triage(&[
        "farm",
        d,
        "--engine",
        "ballista",
        "--scheduler",
        "df://127.0.0.1:9",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not answer"), "{err}");
    assert!(!out.path().join("farm.json").exists());
    let (code, _, err) = w3triage(&["farm", d, "--engine", "ballista"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --scheduler"), "{err}");
}

/// A `w3triage-ballista` process, stopped when dropped.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_w3triage-ballista"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start w3triage-ballista");
    Served(child)
}

/// A loopback port nothing listens on now, with the next one free too (an executor's gRPC).
fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

/// Waits until `child` exits, at most `limit`.
fn wait(child: &mut std::process::Child, limit: std::time::Duration) -> Option<i32> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn an_executor_killed_mid_run_is_replaced_or_the_run_fails_whole() {
    let (_farm, ds) = dataset(30, 7);
    let builtin = json(ds.path(), None);
    let port = free_port().to_string();
    // Executors silent for 3 s are dead; they beat every second.
    let _scheduler = serve(&[
        "scheduler",
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--executor-timeout",
        "3",
    ]);
    let executor = |p: &str| {
        serve(&[
            "executor",
            "--scheduler",
            &format!("127.0.0.1:{port}"),
            "--bind",
            "127.0.0.1",
            "--port",
            p,
            "--vcores",
            "1",
            "--heartbeat",
            "1",
        ])
    };
    let (pa, pb) = (free_port().to_string(), free_port().to_string());
    let _a = executor(&pa);
    let mut b = executor(&pb);
    std::thread::sleep(std::time::Duration::from_secs(3));

    let out = tempfile::tempdir().unwrap();
    // Files, not pipes: a report bigger than a pipe's buffer would block the run unread.
    let logs = tempfile::tempdir().unwrap();
    let (stdout_file, stderr_file) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut farm = std::process::Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(["farm", ds.path().to_str().unwrap(), "--engine", "ballista"])
        .args(["--scheduler", &format!("df://127.0.0.1:{port}")])
        .args(["--format", "json", "--out", out.path().to_str().unwrap()])
        .args(["--query-timeout", "15"])
        .stdout(std::fs::File::create(&stdout_file).unwrap())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert!(
        farm.try_wait().unwrap().is_none(),
        "the run ended before the executor was stopped: nothing was tested"
    );
    b.0.kill().unwrap();
    let code = wait(&mut farm, std::time::Duration::from_secs(180));
    let Some(code) = code else {
        let _ = farm.kill();
        panic!("the run did not end within 3 minutes of losing an executor");
    };
    let stdout = std::fs::read_to_string(&stdout_file).unwrap();
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    match code {
        // Ballista ran the lost tasks again on the other executor: the same report.
        0 => {
            assert_eq!(stdout, builtin, "{stderr}");
            let written = std::fs::read_to_string(out.path().join("farm.json")).unwrap();
            assert_eq!(written, builtin);
        }
        // Or the run failed: said, and no report at all.
        2 => {
            assert!(stderr.contains("cannot read the dataset"), "{stderr}");
            assert!(stdout.is_empty() && std::fs::read_dir(out.path()).unwrap().count() == 0);
        }
        c => panic!("exit {c}: {stderr}"),
    }
    eprintln!("after losing an executor: exit {code}; {stderr}");
}
