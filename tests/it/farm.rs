//! The farm on a generated web farm (`examples/gen_samples/farm.rs`): the crashing module is
//! named across the servers that have it, the distractor stays its server's own, the module
//! inventories tell the crashing servers apart, and each server's analysis is exactly
//! `analyze` on that server's folder.

use crate::cli::w3triage;
use crate::samples::generator::farm::{FarmTruth, farm_files};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use w3triage::farm::{FarmOptions, FarmReport, FindingKind, ServerRun, run};

/// A temporary folder's path as an argument (temporary folders are UTF-8 here).
fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn generate(servers: usize, days: usize) -> (tempfile::TempDir, FarmTruth) {
    generate_seeded(servers, days, 1)
}

/// The generated farm of `servers` × `days` from `seed`, written into a temporary folder (the
/// other suites use it too).
pub(crate) fn generate_seeded(
    servers: usize,
    days: usize,
    seed: u64,
) -> (tempfile::TempDir, FarmTruth) {
    let dir = tempfile::tempdir().unwrap();
    let (files, truth) = farm_files(servers, days, seed);
    for (rel, bytes) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    (dir, truth)
}

/// The farm's report and each server's `report.json` as the farm wrote it.
fn farm_of(root: &Path) -> (FarmReport, BTreeMap<String, String>) {
    let mut reports = BTreeMap::new();
    let mut each = |s: &ServerRun<'_>| {
        reports.insert(
            s.name.to_string(),
            w3triage::report::json::render(s.analysis),
        );
    };
    let farm = run(&[root.to_path_buf()], &FarmOptions::default(), &mut each);
    (farm, reports)
}

#[test]
fn the_generated_farm_names_its_module_across_servers_and_keeps_the_distractor_apart() {
    let (dir, truth) = generate(6, 3);
    std::fs::write(
        dir.path().join("README.txt"),
        "collected 2025-03-13 by ops\n",
    )
    .unwrap();
    let (farm, reports) = farm_of(dir.path());
    let names: Vec<&str> = farm.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, truth.servers, "{:?}", farm.other_files);
    assert_eq!(farm.days, truth.days);

    let shared = farm
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SharedFaultingModule)
        .expect("a shared faulting module");
    assert!(shared.title.contains(&truth.module), "{}", shared.title);
    assert!(shared.title.contains("ISAPI filter"), "{}", shared.title);
    assert_eq!(shared.servers, truth.crashing);
    assert_eq!(
        shared.incidents.len(),
        truth.crashing.len() * truth.crashes_per_server
    );

    let inv = farm
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::InventoryDifference)
        .expect("an inventory difference");
    assert!(inv.title.contains(&truth.new_version), "{}", inv.title);
    assert!(inv.title.contains(&truth.old_version), "{}", inv.title);
    assert_eq!(inv.servers, truth.crashing);
    let healthy: Vec<&String> = truth
        .servers
        .iter()
        .filter(|s| !truth.crashing.contains(s))
        .collect();
    assert_eq!(inv.compared_with.iter().collect::<Vec<_>>(), healthy);
    // 4 crashing servers of 6 with dumps: 1 in 15 by chance, said to be thin.
    assert!(inv.thin);

    let pattern = farm
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SharedRequestPattern)
        .expect("a shared request pattern");
    assert!(
        pattern.title.contains("/catalog/search.aspx?q="),
        "{}",
        pattern.title
    );
    assert_eq!(pattern.servers, truth.crashing);

    // The distractor crashed in another module: its server's own finding only.
    let distractor = truth.distractor.as_deref().unwrap();
    for f in &farm.findings {
        assert!(!f.title.contains(&truth.distractor_module), "{f:?}");
        assert!(!f.servers.iter().any(|s| s == distractor), "{f:?}");
    }
    let d = farm.servers.iter().find(|s| s.name == distractor).unwrap();
    assert!(
        d.incidents
            .iter()
            .any(|i| i.faulting_module.as_deref() == Some(truth.distractor_module.as_str()))
    );
    // Notes beside the servers' folders are no server, and are listed.
    assert_eq!(farm.other_files.len(), 1, "{:?}", farm.other_files);
    assert!(farm.other_files[0].path.ends_with("README.txt"));
    assert_eq!(reports.len(), truth.servers.len());
}

#[test]
fn each_server_is_exactly_what_analyze_reports_for_its_folder() {
    let (dir, truth) = generate(4, 3);
    let (farm, reports) = farm_of(dir.path());
    // WEB01 keeps its old day in .gz files, WEB02 in .zip archives, WEB03 is the distractor.
    for name in &truth.servers[..3] {
        let folder: PathBuf = dir.path().join(name);
        let tables = w3triage::ingest_paths(&[folder], &Default::default());
        let alone = w3triage::analyze(&tables, &Default::default());
        assert_eq!(
            reports[name],
            w3triage::report::json::render(&alone),
            "{name}: the farm's analysis differs from analyze on its folder"
        );
        let summary = farm.servers.iter().find(|s| &s.name == name).unwrap();
        assert_eq!(
            serde_json::to_value(&summary.incidents).unwrap(),
            serde_json::to_value(&alone.incidents).unwrap()
        );
        assert!(!alone.incidents.is_empty(), "{name}");
    }
}

#[test]
fn a_farm_read_again_server_by_server_reports_the_same() {
    // Every server over the limit: its logs (plain, .gz and .zip members) read again for every
    // statistic instead of held, and the farm's report and each server's the same.
    let (dir, _) = generate(5, 3);
    let (farm, reports) = farm_of(dir.path());
    let mut again = BTreeMap::new();
    let opts = FarmOptions {
        in_memory_limit: Some(0),
        ..Default::default()
    };
    let mut each = |s: &ServerRun<'_>| {
        assert!(
            s.tables.requests.len() < s.analysis.inputs.requests,
            "{}",
            s.name
        );
        again.insert(
            s.name.to_string(),
            w3triage::report::json::render(s.analysis),
        );
    };
    let farm_again = run(&[dir.path().to_path_buf()], &opts, &mut each);
    assert_eq!(again, reports);
    assert_eq!(
        serde_json::to_value(&farm_again).unwrap(),
        serde_json::to_value(&farm).unwrap()
    );
}

#[test]
fn a_farm_with_one_crashing_server_has_no_cross_server_finding() {
    let (dir, _) = generate(1, 2);
    let (farm, _) = farm_of(dir.path());
    assert_eq!(farm.servers.len(), 1);
    assert!(farm.findings.is_empty(), "{:?}", farm.findings);
}

#[test]
fn the_farm_command_writes_its_reports_and_each_servers_own() {
    let (dir, truth) = generate(3, 2);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = w3triage(&[
        "farm",
        path(dir.path()),
        "--format",
        "json",
        "--out",
        path(out.path()),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["schema_version"], "1.0");
    assert_eq!(json["servers"].as_array().unwrap().len(), 3);
    assert_eq!(json["findings"][0]["kind"], "shared_faulting_module");
    let html = std::fs::read_to_string(out.path().join("farm.html")).unwrap();
    assert!(html.contains("<table class=\"heat sortable\">"));
    assert!(
        html.contains("<table class=sortable>"),
        "the servers table sorts"
    );
    assert!(html.contains(&truth.module));
    for s in &truth.servers {
        let own = out.path().join("servers").join(s).join("report.json");
        let own: serde_json::Value = serde_json::from_slice(&std::fs::read(&own).unwrap()).unwrap();
        assert_eq!(own["inputs"]["servers"][0], s.as_str());
    }
    let md = std::fs::read_to_string(out.path().join("farm.md")).unwrap();
    assert!(md.contains("## ACROSS SERVERS"), "{md}");
}

#[test]
fn the_farm_can_be_narrowed_to_a_time_and_a_dataset_says_it_cannot() {
    let (dir, truth) = generate(3, 2);
    let root = path(dir.path());
    // WEB01 crashes on the first day, WEB02 on the second and WEB03 (the distractor) on the
    // last: from the second day on, WEB01 has no crash.
    let second = format!("{}T00:00:00Z", truth.days[1]);
    let (code, stdout, _) = w3triage(&["farm", root, "--format", "json", "--since", &second]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let crashed: Vec<&str> = json["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "crash")
        })
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(crashed, ["WEB02", "WEB03"]);
    assert_eq!(truth.distractor.as_deref(), Some("WEB03"));

    let ds = tempfile::tempdir().unwrap();
    let (code, _, err) = w3triage(&[
        "farm",
        root,
        "--dataset",
        path(ds.path()),
        "--since",
        &second,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not to a dataset"), "{err}");
}

#[test]
fn a_rerun_on_a_dataset_still_writes_every_servers_own_reports() {
    let (dir, truth) = generate(3, 2);
    let ds = tempfile::tempdir().unwrap();
    let farm = |out: &Path| {
        let (code, _, stderr) = w3triage(&[
            "farm",
            path(dir.path()),
            "--dataset",
            path(ds.path()),
            "--out",
            path(out),
        ]);
        assert_eq!(code, 0, "{stderr}");
    };
    let first = tempfile::tempdir().unwrap();
    farm(first.path());
    // Nothing changed: no server is read again, and its reports come from the dataset.
    let second = tempfile::tempdir().unwrap();
    farm(second.path());
    for s in &truth.servers {
        let a = std::fs::read(first.path().join("servers").join(s).join("report.json")).unwrap();
        let b = std::fs::read(second.path().join("servers").join(s).join("report.json")).unwrap();
        assert_eq!(a, b, "{s}");
        assert!(
            second
                .path()
                .join("servers")
                .join(s)
                .join("report.html")
                .is_file()
        );
    }
    assert!(second.path().join("farm.html").is_file());
}

#[test]
fn an_engine_is_for_a_dataset_and_needs_the_distributed_build() {
    let (dir, _) = generate(3, 1);
    let root = path(dir.path());
    let (code, _, err) = w3triage(&["farm", root, "--engine", "datafusion"]);
    assert_eq!(code, 2);
    assert!(err.contains("--engine datafusion reads a dataset"), "{err}");
    let ds = tempfile::tempdir().unwrap();
    let (code, _, err) = w3triage(&["ingest", root, "--dataset", path(ds.path())]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = w3triage(&["farm", path(ds.path()), "--scheduler", "df://h:1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--scheduler is for --engine ballista"),
        "{err}"
    );
    if cfg!(feature = "distributed") {
        return;
    }
    let (code, out, err) = w3triage(&["farm", path(ds.path()), "--engine", "datafusion"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("needs a w3triage built with the `distributed` feature"),
        "{err}"
    );
}

#[test]
fn servers_ingesting_their_own_logs_at_once_make_the_farms_dataset() {
    let (dir, truth) = generate(3, 2);
    let ds = tempfile::tempdir().unwrap();
    // Each server, at the same time, its own folder (no server name in it) into one dataset.
    let runs: Vec<std::process::Child> = truth
        .servers
        .iter()
        .map(|s| {
            std::process::Command::new(env!("CARGO_BIN_EXE_w3triage"))
                .args(["ingest", path(&dir.path().join(s)), "--server", s])
                .args(["--dataset", path(ds.path())])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    let (code, from_dataset, err) = w3triage(&["farm", path(ds.path()), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (_, from_folders, _) = w3triage(&["farm", path(dir.path()), "--format", "json"]);
    assert_eq!(from_dataset, from_folders);
    assert!(from_dataset.contains(&truth.module));
    let (code, _, err) = w3triage(&[
        "ingest",
        path(dir.path()),
        "--server",
        " ",
        "--dataset",
        path(ds.path()),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("a server needs a name"), "{err}");
}

#[test]
fn a_dataset_is_given_by_path_or_file_url_and_an_object_store_url_is_refused_with_why() {
    let (dir, _) = generate(2, 1);
    let root = tempfile::tempdir().unwrap();
    let ds = root.path().join("farm data");
    let url = format!("file://{}", path(&ds).replace(' ', "%20"));
    let (code, _, err) = w3triage(&["ingest", path(dir.path()), "--dataset", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        ds.join("_manifest.json").is_file(),
        "the URL named {}",
        ds.display()
    );
    let (_, by_path, _) = w3triage(&["farm", path(&ds), "--format", "json"]);
    let (code, by_url, err) = w3triage(&["farm", &url, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(by_url, by_path);
    let (code, _, err) = w3triage(&["farm", "s3://bucket/w3triage"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("s3:// URLs are not read; mount the store"),
        "{err}"
    );
    let (code, _, err) = w3triage(&["farm", "file://fs01/share/w3triage"]);
    assert_eq!(code, 2);
    assert!(err.contains("names another machine"), "{err}");
}
