//! `ingest --dataset`: every table as Hive-partitioned Parquet (server, then UTC day), read back
//! equal to the tables; a rerun skips unchanged servers and rewrites only a changed one.

use crate::farm::generate_seeded;
use polars::prelude::*;
use std::path::Path;
use w3triage::dataset::{MANIFEST, Outcome, farm_report, ingest};
use w3triage::farm::FarmOptions;
use w3triage::report::{Format, farm::render};

/// `ingest` of `roots` into `dir` with the defaults, told nothing per server (the engine
/// suite uses it too).
pub(crate) fn ingest_quietly(
    roots: &[std::path::PathBuf],
    dir: &Path,
) -> w3triage::dataset::Summary {
    ingest(roots, dir, &FarmOptions::default(), &mut |_, _, _| {}).unwrap()
}

fn rows_of(file: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(file).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn a_farm_becomes_a_partitioned_dataset_and_a_rerun_rewrites_only_what_changed() {
    let (farm, truth) = generate_seeded(3, 3, 1);
    let ds = tempfile::tempdir().unwrap();
    // A run that died before its renames two days ago left this: never part of the dataset.
    let stale = ds.path().join("_staging/server=WEB09");
    std::fs::create_dir_all(stale.join("requests")).unwrap();
    let two_days = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::open(&stale)
        .unwrap()
        .set_modified(two_days)
        .unwrap();
    // Another ingest into this shared dataset is writing WEB08 now: left alone.
    let busy = ds.path().join("_staging/server=WEB08/requests");
    std::fs::create_dir_all(&busy).unwrap();
    let roots = [farm.path().to_path_buf()];
    let first = ingest_quietly(&roots, ds.path());
    assert_eq!(first.servers.len(), 3);
    assert!(!stale.exists());
    assert!(busy.exists());
    // Each server's manifest entry is a file of its own (servers ingest concurrently).
    for s in ["WEB01", "WEB02", "WEB03"] {
        assert!(
            ds.path().join(format!("_manifest/{s}.json")).is_file(),
            "{s}"
        );
    }

    // Each server's requests, day by day, are its tables' requests.
    let web01 = w3triage::ingest_paths(&[farm.path().join("WEB01")], &Default::default());
    let mut total = 0;
    for day in &truth.days {
        let part = ds
            .path()
            .join(format!("requests/server=WEB01/date={day}/part-0.parquet"));
        let df = rows_of(&part);
        assert!(
            df.column("server").is_err(),
            "the partition is not repeated"
        );
        assert!(df.column("uri_stem").is_ok());
        total += df.height();
    }
    assert_eq!(total, web01.requests.len());
    // The per-minute counts add up to the same requests.
    let mut counted = 0;
    for day in &truth.days {
        let part = ds
            .path()
            .join(format!("minutes/server=WEB01/date={day}/part-0.parquet"));
        let df = rows_of(&part);
        counted += df.column("requests").unwrap().i64().unwrap().sum().unwrap();
    }
    assert_eq!(counted as usize, web01.requests.len());
    // So do the patterns of each kind every request has (its path), one site-day at a time.
    let mut paths = 0;
    for day in &truth.days {
        let part = ds
            .path()
            .join(format!("patterns/server=WEB01/date={day}/part-0.parquet"));
        let df = rows_of(&part);
        let kind = df.column("kind").unwrap().str().unwrap().clone();
        let n = df.column("requests").unwrap().i64().unwrap().clone();
        paths += kind
            .iter()
            .zip(n.iter())
            .filter(|(k, _)| *k == Some("path"))
            .map(|(_, n)| n.unwrap_or(0))
            .sum::<i64>();
    }
    assert_eq!(paths as usize, web01.requests.len());
    // The judgment as rows: WEB01's incidents, day by day, are its analysis's.
    let analysis = w3triage::analyze(&web01, &Default::default());
    let mut incidents = 0;
    let mut modules = Vec::new();
    for day in &truth.days {
        let part = ds
            .path()
            .join(format!("incidents/server=WEB01/date={day}/part-0.parquet"));
        if let Ok(f) = std::fs::File::open(&part) {
            let df = ParquetReader::new(f).finish().unwrap();
            incidents += df.height();
            let m = df.column("faulting_module").unwrap().str().unwrap().clone();
            modules.extend(m.iter().flatten().map(str::to_owned));
        }
    }
    assert_eq!(incidents, analysis.incidents.len());
    assert!(modules.iter().any(|m| m == &truth.module), "{modules:?}");
    let suspects = rows_of(&ds.path().join("suspects/server=WEB01/part-0.parquet"));
    assert_eq!(suspects.height(), analysis.suspects.len());
    let modules = rows_of(&ds.path().join("modules/server=WEB03/part-0.parquet"));
    let names = modules.column("name").unwrap().str().unwrap().clone();
    assert!(names.iter().any(|n| n == Some("ctsgate.dll")));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ds.path().join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["schema_version"], "1.2");
    assert_eq!(
        std::fs::read_dir(ds.path().join("_manifest"))
            .unwrap()
            .count(),
        3
    );

    let again = ingest_quietly(&roots, ds.path());
    assert!(
        again.servers.iter().all(|(_, o)| *o == Outcome::Unchanged),
        "{again:?}"
    );

    // One more request in WEB02's last log: WEB02 alone is written again.
    let last = truth.days.last().unwrap().replace('-', "");
    let log = farm.path().join(format!(
        "WEB02/inetpub/logs/LogFiles/W3SVC1/u_ex{}.log",
        &last[2..]
    ));
    let mut text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().last().unwrap().to_string();
    text.push_str(&line);
    text.push_str("\r\n");
    std::fs::write(&log, text).unwrap();
    let third = ingest_quietly(&roots, ds.path());
    for (server, outcome) in &third.servers {
        if server == "WEB02" {
            assert!(matches!(outcome, Outcome::Written { .. }), "{outcome:?}");
        } else {
            assert_eq!(*outcome, Outcome::Unchanged, "{server}");
        }
    }
    let day = truth.days.last().unwrap();
    let df = rows_of(
        &ds.path()
            .join(format!("requests/server=WEB02/date={day}/part-0.parquet")),
    );
    let plain = w3triage::ingest_paths(&[log], &Default::default());
    assert_eq!(df.height(), plain.requests.len());
}

#[test]
fn the_farm_of_a_dataset_is_the_farm_of_its_folders_and_refuses_another_versions() {
    let (farm, _) = generate_seeded(4, 2, 3);
    let roots = [farm.path().to_path_buf()];
    let ds = tempfile::tempdir().unwrap();
    let mut analysed = Vec::new();
    ingest(
        &roots,
        ds.path(),
        &FarmOptions::default(),
        &mut |name, _, run| {
            analysed.push((name.to_string(), run.is_some()));
        },
    )
    .unwrap();
    assert!(analysed.iter().all(|(_, run)| *run), "{analysed:?}");
    let raw = w3triage::farm::run(&roots, &FarmOptions::default(), &mut |_| {});
    let from_dataset = farm_report(ds.path()).unwrap();
    assert!(!raw.findings.is_empty());
    assert_eq!(
        render(&from_dataset, Format::Json),
        render(&raw, Format::Json),
        "the same report, to the last digit, without reading a table"
    );

    // A summary another version wrote is not trusted.
    let summary = ds.path().join("_summaries/WEB01.json");
    let text = std::fs::read_to_string(&summary).unwrap();
    let version = format!("\"tool_version\":\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&version));
    std::fs::write(
        &summary,
        text.replace(&version, "\"tool_version\":\"0.0.1\""),
    )
    .unwrap();
    let err = farm_report(ds.path()).unwrap_err().to_string();
    assert!(
        err.contains("written by w3triage 0.0.1") && err.contains("ingest"),
        "{err}"
    );

    // Nor a server's partitions another version wrote: named; `ingest` reads both servers
    // again.
    let entry = ds.path().join("_manifest/WEB02.json");
    let text = std::fs::read_to_string(&entry).unwrap();
    let version = format!("\"tool_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&version), "{text}");
    std::fs::write(
        &entry,
        text.replace(&version, "\"tool_version\": \"0.0.2\""),
    )
    .unwrap();
    let err = farm_report(ds.path()).unwrap_err().to_string();
    assert!(err.contains("servers WEB02 (0.0.2)"), "{err}");
    let again = ingest_quietly(&roots, ds.path());
    let written: Vec<&str> = again
        .servers
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Written { .. }))
        .map(|(s, _)| s.as_str())
        .collect();
    assert_eq!(written, ["WEB01", "WEB02"]);
    assert_eq!(
        render(&farm_report(ds.path()).unwrap(), Format::Json),
        render(&raw, Format::Json)
    );
}

/// Every Parquet file under `root`, by path below it.
fn parquet_files(root: &Path) -> std::collections::BTreeMap<String, DataFrame> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap();
            (rel.display().to_string(), rows_of(e.path()))
        })
        .collect()
}

#[test]
fn a_server_read_again_makes_the_same_dataset() {
    // Over the limit, every server's requests are written a chunk at a time as its logs are
    // read again, and its statistics folded over them: the same files, rows and summaries.
    let (farm, _) = generate_seeded(3, 3, 2);
    let roots = [farm.path().to_path_buf()];
    let (held, again) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ingest_quietly(&roots, held.path());
    let opts = FarmOptions {
        in_memory_limit: Some(0),
        ..Default::default()
    };
    let mut read_again = 0;
    ingest(&roots, again.path(), &opts, &mut |_, _, run| {
        if let Some(run) = run {
            assert!(run.tables.requests.is_empty(), "{}", run.name);
            read_again += 1;
        }
    })
    .unwrap();
    assert_eq!(read_again, 3);
    let (a, b) = (parquet_files(held.path()), parquet_files(again.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(
        a.keys()
            .any(|k| k.starts_with("requests/server=WEB01/date="))
    );
    // (How long each file took to read is not the same twice.)
    let timeless = |df: &DataFrame| df.drop("elapsed_ms").unwrap_or_else(|_| df.clone());
    for (k, df) in &a {
        assert!(timeless(df).equals_missing(&timeless(&b[k])), "{k} differs");
    }
    let rendered = |dir: &Path| render(&farm_report(dir).unwrap(), Format::Json);
    assert_eq!(rendered(held.path()), rendered(again.path()));
}
