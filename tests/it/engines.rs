//! The farm's reduce as SQL on an engine (`--features distributed`): on a generated farm's
//! dataset, DataFusion in-process and a Ballista cluster with two executors on loopback give
//! the same `farm.json` as the servers' summaries, byte for byte.

use crate::cli::w3triage;
use crate::samples::generator::farm::farm_files;
use std::path::Path;
use w3triage::dataset::reduce::Engine;
use w3triage::dataset::{farm_report, farm_report_on, ingest};
use w3triage::farm::{FarmOptions, FindingKind};

/// The generated farm of `servers` × `days`, ingested into a dataset.
fn dataset(servers: usize, days: usize) -> (tempfile::TempDir, tempfile::TempDir) {
    let farm = tempfile::tempdir().unwrap();
    let (files, _) = farm_files(servers, days, 1);
    for (rel, bytes) in files {
        let p = farm.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let ds = tempfile::tempdir().unwrap();
    let roots = [farm.path().to_path_buf()];
    ingest(
        &roots,
        ds.path(),
        &FarmOptions::default(),
        &mut |_, _, _| {},
    )
    .unwrap();
    (farm, ds)
}

fn json(dir: &Path, engine: Option<&Engine>) -> String {
    let farm = match engine {
        None => farm_report(dir).unwrap(),
        Some(e) => {
            let (farm, timing) = farm_report_on(dir, e).unwrap();
            assert_eq!(timing.queries.len(), 4, "{e:?}: one query per table");
            farm
        }
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
