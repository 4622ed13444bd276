//! `analyze --in-memory-limit`: the request logs read again for every statistic, only the rows
//! around the incidents kept. The report must be the one the whole table gives.

use std::path::{Path, PathBuf};
use w3triage::analyze::{Analysis, AnalyzeOptions, analyze};
use w3triage::discover::discover;
use w3triage::ingest::reread::ingest_windowed;
use w3triage::ingest::{IngestOptions, ingest_paths};

/// Analyzes `paths` both ways, asserts the reports are equal, and returns it.
pub(crate) fn both_ways(paths: &[PathBuf], aopts: &AnalyzeOptions) -> Analysis {
    both_ways_with(paths, &IngestOptions::default(), aopts)
}

/// [`both_ways`] with ingest options.
fn both_ways_with(paths: &[PathBuf], opts: &IngestOptions, aopts: &AnalyzeOptions) -> Analysis {
    let opts = opts.clone();
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
        (
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ((whole, quiet), (again, told)) = (run("1G"), run("0"));
    assert!(!whole.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&again)
    );
    assert!(!quiet.contains("read again"), "{quiet}");
    assert!(
        told.contains("over --in-memory-limit (0.00 GiB): they are read again"),
        "{told}"
    );
    let (code, _, err) = crate::cli::w3triage(&["analyze", "--in-memory-limit", "12X", "."]);
    assert_eq!(code, 2);
    assert!(
        err.contains("a size is a number with K, M, G or T"),
        "{err}"
    );
}

/// This process's resident bytes of the mapping that holds `addr` (`/proc/self/smaps`): the
/// pages of one map, whatever the other tests running beside it do.
#[cfg(target_os = "linux")]
fn resident_of(addr: usize) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        let head = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = head.split_once('-')
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            inside = a <= addr && addr < b;
            continue;
        }
        if inside && let Some(kb) = line.strip_prefix("Rss:") {
            return kb
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .unwrap()
                * 1024;
        }
    }
    panic!("no mapping holds {addr:#x}");
}

/// A W3C log of `rows` requests, one minute apart every 60 rows.
fn log_of(rows: usize) -> String {
    let mut s = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-03-01 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n",
    );
    for i in 0..rows {
        let (h, m, sec) = (i / 216_000 % 24, i / 3_600 % 60, i / 60 % 60);
        s.push_str(&format!(
            "2024-03-01 {h:02}:{m:02}:{sec:02} 10.0.0.1 GET /shop/item{} id={i} 443 - 10.1.{}.{} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 {}\r\n",
            i % 97,
            i % 200,
            i % 250,
            i % 300
        ));
    }
    s
}

#[cfg(target_os = "linux")]
#[test]
fn a_streamed_parse_lets_the_logs_pages_go() {
    use w3triage::ingest::{read_source, w3c};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex240301.log");
    std::fs::write(&path, log_of(150_000)).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 16 << 20, "{len}");
    let ctx = w3triage::tables::FileCtx {
        id: 0,
        path: path.clone(),
        server: Some("WEB01".into()),
        site: Some("W3SVC1".into()),
    };
    // Read whole, the map is resident (it is populated when mapped).
    let src = read_source(std::fs::File::open(&path).unwrap()).unwrap();
    let addr = src.bytes().as_ptr() as usize;
    let whole = w3c::parse_source(&ctx, &src);
    assert_eq!(whole.requests.len(), 150_000);
    assert!(resident_of(addr) > len / 2, "{}", resident_of(addr));
    src.release(0..src.bytes().len());
    assert!(
        resident_of(addr) < 1 << 20,
        "released: {}",
        resident_of(addr)
    );
    // The text still reads (the pages come back from the page cache).
    assert_eq!(whole.requests.uri_query.get(149_999), Some("id=149999"));

    // Streamed: every row handed over, in order, and the map holds little when it is done.
    let src = read_source(std::fs::File::open(&path).unwrap()).unwrap();
    src.release(0..src.bytes().len());
    let addr = src.bytes().as_ptr() as usize;
    let (mut rows, mut last) = (0usize, None);
    let mut each = |t: Option<&mut [w3triage::tables::Requests]>| {
        for r in t.unwrap() {
            for i in 0..r.len() {
                let q = r.uri_query.get(i).unwrap().to_owned();
                assert_eq!(q, format!("id={rows}"));
                rows += 1;
                last = Some(q);
            }
        }
    };
    let parsed = w3c::stream(&ctx, &src, 1 << 20, &mut each);
    assert_eq!(rows, 150_000);
    assert_eq!(last.as_deref(), Some("id=149999"));
    assert!(parsed.requests.is_empty());
    assert_eq!(parsed.counts.records, 150_000);
    assert!(
        resident_of(addr) < 8 << 20,
        "after a streamed parse of {len} bytes: {} resident",
        resident_of(addr)
    );
}

/// A copy of the sample outage under `dir`.
fn outage_copy(dir: &Path) -> PathBuf {
    let root = dir.join("outage");
    for e in walkdir::WalkDir::new(samples("outage"))
        .into_iter()
        .flatten()
    {
        let rel = e.path().strip_prefix(samples("outage")).unwrap();
        let to = root.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
    root
}

#[test]
fn a_log_cut_short_before_it_is_read_again_is_an_error_the_report_shows() {
    let dir = tempfile::tempdir().unwrap();
    let root = outage_copy(dir.path());
    let again = ingest_windowed(
        discover(std::slice::from_ref(&root)),
        &IngestOptions::default(),
    );
    assert!(!again.read_badly());
    let log = root.join("WEB01/inetpub/logs/LogFiles/W3SVC1/u_ex250314.log");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let a = analyze(&again, &AnalyzeOptions::default());
    let issue = a
        .coverage
        .issues
        .iter()
        .find(|i| i.code == "changed_while_read")
        .expect("the change is an issue of the report");
    assert!(issue.path.ends_with("u_ex250314.log"), "{}", issue.path);
    assert!(
        issue.message.contains("when read again"),
        "{}",
        issue.message
    );
    assert_eq!(a.coverage.issues_by_code["changed_while_read"], 1);
    assert!(again.read_badly(), "exit code 1");
}

#[test]
fn a_log_still_being_written_is_read_again_to_the_length_it_had() {
    // The logs are found, read once, and IIS writes a burst of 500s to today's log before
    // the analysis reads it again: the report is the one of the log as it was found.
    let dir = tempfile::tempdir().unwrap();
    let root = outage_copy(dir.path());
    let before = both_ways(std::slice::from_ref(&root), &AnalyzeOptions::default());
    let again = ingest_windowed(
        discover(std::slice::from_ref(&root)),
        &IngestOptions::default(),
    );
    let log = root.join("WEB01/inetpub/logs/LogFiles/W3SVC1/u_ex250314.log");
    let mut more = String::new();
    for s in 0..600 {
        more.push_str(&format!(
            "2025-03-14 23:58:{:02} 10.20.1.11 GET /api/cart/{s} - 443 - 198.51.100.{} Mozilla/5.0 - 500 0 0 15\r\n",
            s % 60,
            s % 200
        ));
    }
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(more.as_bytes())
        .unwrap();
    let after = analyze(&again, &AnalyzeOptions::default());
    assert_eq!(after.inputs.requests, before.inputs.requests);
    assert!(!again.read_badly(), "appending is not a change");
    assert_eq!(
        serde_json::to_value(&after).unwrap(),
        serde_json::to_value(&before).unwrap()
    );
    // Read from the start, the new errors are a burst.
    let now = analyze(
        &ingest_paths(&[root], &IngestOptions::default()),
        &AnalyzeOptions::default(),
    );
    assert_eq!(now.inputs.requests, before.inputs.requests + 600);
    assert!(now.incidents.len() > before.incidents.len());
}

#[test]
fn native_logs_read_again_are_converted_to_utc_as_when_held() {
    // A native log in local time, --tz +01:00: the rows read again are shifted as `finish`
    // shifted the held ones (the chart and the time range say so).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("WEB01");
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = String::new();
    for s in 0..50 {
        log.push_str(&format!(
            "10.0.0.9, -, 03/20/2001, 7:55:{s:02}, W3SVC2, WEB01, 172.21.13.45, 15, 300, 99, 200, 0, GET, /a.htm, -,\n"
        ));
    }
    std::fs::write(dir.join("in010320.log"), log).unwrap();
    let tz = IngestOptions {
        tz_min: Some(60),
        ..Default::default()
    };
    let a = both_ways_with(&[dir], &tz, &AnalyzeOptions::default());
    assert_eq!(a.inputs.requests, 50);
    // 2001-03-20T07:55 local at UTC+01:00 is 06:55 UTC.
    let start = a.timeline.start.expect("a chart").0;
    assert_eq!(start, 985_074_900_000 - 3_600_000);
}

#[cfg(target_os = "linux")]
#[test]
fn a_compressed_log_read_again_is_inflated_to_disk_not_held() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("WEB01/W3SVC1");
    std::fs::create_dir_all(&folder).unwrap();
    let log = log_of(300_000);
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(folder.join("u_ex240301.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(log.as_bytes()).unwrap();
    gz.finish().unwrap();
    let found = discover(&[dir.path().to_path_buf()]);
    let a = found
        .iter()
        .find(|a| a.key.ends_with("u_ex240301.log"))
        .unwrap();
    // Whether to read it again is judged on what it inflates to (the gzip trailer), not on its
    // size on disk.
    assert!(a.bytes < log.len() as u64 / 4, "{}", a.bytes);
    assert_eq!(w3triage::ingest::reread::inflated_size(a), log.len() as u64);
    // Read a wave at a time, the rows' text lies in a map of the inflated log (a temporary
    // file) that holds about a wave of its pages, not the log: in memory it would be all of it.
    let (mut rows, mut most) = (0usize, 0u64);
    let mut each = |t: Option<&mut [w3triage::tables::Requests]>| {
        for r in t.unwrap().iter() {
            rows += r.len();
            let text = r.uri_stem.get(r.len() - 1).unwrap();
            most = most.max(resident_of(text.as_ptr() as usize));
        }
    };
    let (row, _) = w3triage::ingest::ingest_one_with(a, &IngestOptions::default(), Some(&mut each));
    assert_eq!((rows, row.counts.records), (300_000, 300_000));
    assert!(log.len() > 32 << 20, "{}", log.len());
    assert!(
        most < 24 << 20,
        "{most} bytes of the inflated {} resident",
        log.len()
    );
}
