//! `analyze --in-memory-limit`: the request logs read again for every statistic, only the rows
//! around the incidents kept. The report must be the one the whole table gives.

use std::path::{Path, PathBuf};
use w3triage::analyze::{Analysis, AnalyzeOptions, analyze};
use w3triage::discover::discover;
use w3triage::ingest::reread::ingest_windowed;
use w3triage::ingest::{IngestOptions, ingest_paths};

/// Analyzes `paths` both ways, asserts the reports are equal, and returns it.
pub(crate) fn both_ways(paths: &[PathBuf], aopts: &AnalyzeOptions) -> Analysis {
    let opts = IngestOptions::default();
    let whole = ingest_paths(paths, &opts);
    let a = analyze(&whole, aopts);
    let again = ingest_windowed(discover(paths), &opts);
    assert!(
        again.requests.is_empty(),
        "no request row is kept at ingest"
    );
    let files = |t: &w3triage::tables::Tables| {
        let mut f = t.files.clone();
        f.iter_mut().for_each(|f| f.elapsed_ms = 0.0);
        f
    };
    assert_eq!(files(&again), files(&whole), "the same files, rows counted");
    assert_eq!(again.issues, whole.issues);
    let b = analyze(&again, aopts);
    let (ja, jb) = (
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(&b).unwrap(),
    );
    if ja != jb {
        let (sa, sb) = (
            serde_json::to_string_pretty(&ja).unwrap(),
            serde_json::to_string_pretty(&jb).unwrap(),
        );
        let line = sa
            .lines()
            .zip(sb.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let around = |s: &str| {
            s.lines()
                .skip(line.saturating_sub(5))
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "the report read again differs at line {line}:\nwhole:\n{}\nread again:\n{}",
            around(&sa),
            around(&sb)
        );
    }
    a
}

fn samples(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

#[test]
fn the_samples_report_the_same_read_again() {
    for name in ["outage", "slow", "healthy"] {
        let a = both_ways(&[samples(name)], &AnalyzeOptions::default());
        if name == "healthy" {
            assert!(a.incidents.is_empty());
        } else {
            assert!(!a.incidents.is_empty(), "{name}");
        }
    }
}

#[test]
fn a_narrow_window_reports_the_same_read_again() {
    // --window 30s and --since: the kept rows follow the options.
    let mut o = AnalyzeOptions {
        window_ms: 30_000,
        ..Default::default()
    };
    let a = both_ways(&[samples("outage")], &o);
    let first = a
        .incidents
        .first()
        .and_then(|i| i.time)
        .expect("an incident");
    o.since = Some(first.0 - 60_000);
    both_ways(&[samples("outage")], &o);
}

#[test]
fn the_cli_reads_large_logs_again_with_the_same_report() {
    let dir = samples("slow");
    let run = |limit: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_w3triage"))
            .args(["analyze", "--format", "json", "--in-memory-limit", limit])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
        out.stdout
    };
    let (whole, again) = (run("1G"), run("0"));
    assert!(!whole.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&again)
    );
    let (code, _, err) = crate::cli::w3triage(&["analyze", "--in-memory-limit", "12X", "."]);
    assert_eq!(code, 2);
    assert!(
        err.contains("a size is a number with K, M, G or T"),
        "{err}"
    );
}
