//! The real binary on real files: bad input, exit codes, accounting, the JSON-lines contract.

use std::path::Path;
use std::process::Command;

/// Runs the binary: exit code, standard output, standard error (the other suites use it too).
pub(crate) fn w3triage(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(args)
        .output()
        .expect("run w3triage");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-03-01 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n2024-03-01 00:00:01 10.0.0.5 GET /default.aspx - 443 - 10.1.2.3 Mozilla/5.0+(Windows) - 200 0 0 15\r\n2024-03-01 00:00:02 10.0.0.5 GET /a.aspx id=1 443 - 10.1.2.4 curl/8.4.0 - 500 0 0 120\r\n";

fn bad_input_tree(dir: &Path) {
    let web = dir.join("WEB01/W3SVC1");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("u_ex240301.log"), GOOD).unwrap();
    std::fs::write(web.join("u_ex240302.log"), b"").unwrap();
    std::fs::write(
        web.join("u_ex240303.log"),
        [0u8, 1, 2, 3, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9].repeat(64),
    )
    .unwrap();
    // A 10 MB line with no newline, after a valid header.
    let mut huge = GOOD.as_bytes().to_vec();
    huge.extend(std::iter::repeat_n(b'A', 10 << 20));
    std::fs::write(web.join("u_ex240304.log"), huge).unwrap();
    // Invalid UTF-8 in a URL: kept (Windows-1252), not dropped.
    let mut latin = GOOD.as_bytes().to_vec();
    latin.extend_from_slice(
        b"2024-03-01 00:00:03 10.0.0.5 GET /caf\xe9.aspx - 443 - 10.1.2.5 - - 200 0 0 9\r\n",
    );
    std::fs::write(web.join("u_ex240305.log"), latin).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("does-not-exist.log"), web.join("u_ex240306.log"))
            .unwrap();
        std::os::unix::fs::symlink(dir.join("WEB01"), web.join("loop")).unwrap();
    }
}

#[test]
fn bad_input_is_reported_per_file_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    bad_input_tree(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let (code, out, _err) = w3triage(&["parse", "--summary", root]);
    assert_eq!(code, 1, "completed with issues:\n{out}");
    assert!(
        out.contains("u_ex240302.log  [w3c skipped]") && out.contains("empty file"),
        "{out}"
    );
    assert!(out.contains("u_ex240303.log  [unknown skipped]"), "{out}");
    assert!(out.contains("u_ex240304.log  [w3c parsed]"), "{out}");
    #[cfg(unix)]
    {
        assert!(
            out.contains("u_ex240306.log") && out.contains("cannot read"),
            "{out}"
        );
        assert!(out.contains("symbolic link loop"), "{out}");
    }
    assert!(!out.contains("UNBALANCED"), "{out}");
    // Files 01, 04, 05: 12 directive lines, 2 + 2 + 3 records; the 10 MB line is rejected.
    assert!(
        out.contains("total: 20 lines: 7 records, 12 directives, 0 blank, 1 rejected"),
        "{out}"
    );
    let (_, jsonl, _) = w3triage(&["parse", "--format", "jsonl", root]);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 7, "{jsonl}");
    assert!(rows.iter().any(|r| r["uri_stem"] == "/café.aspx"));
    assert!(
        rows.iter()
            .all(|r| r["server"] == "WEB01" && r["site"] == "W3SVC1")
    );
}

#[test]
fn jsonl_rows_follow_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("u_ex240301.log");
    std::fs::write(&p, GOOD).unwrap();
    let (code, out, _) = w3triage(&["parse", "--format", "jsonl", p.to_str().unwrap()]);
    assert_eq!(code, 0);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["ts"], "2024-03-01T00:00:01Z");
    assert_eq!(first["user_agent"], "Mozilla/5.0 (Windows)");
    assert_eq!(first["uri_query"], serde_json::Value::Null);
    assert_eq!(first["status"], 200);
    assert_eq!(first["time_taken_ms"], 15);
    assert_eq!(first["offset"], GOOD.find("2024-03-01 00:00:01").unwrap());
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), w3triage::tables::REQUEST_COLUMNS.len());
}

#[test]
fn same_output_for_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    bad_input_tree(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let one = w3triage(&["parse", "--format", "jsonl", "--threads", "1", root]).1;
    let two = w3triage(&["parse", "--format", "jsonl", "--threads", "2", root]).1;
    let eight = w3triage(&["parse", "--format", "jsonl", "--threads", "8", root]).1;
    assert!(!one.is_empty());
    assert_eq!(one, two);
    assert_eq!(one, eight);
}

#[test]
fn parquet_export_writes_a_parquet_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("u_ex240301.log");
    std::fs::write(&p, GOOD).unwrap();
    let out = tmp.path().join("requests.parquet");
    let (code, _, err) = w3triage(&[
        "parse",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

#[test]
fn no_files_is_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = w3triage(&["parse", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no files found"), "{err}");
}

#[test]
fn a_missing_path_is_fatal_not_an_empty_report() {
    let (code, out, err) = w3triage(&["analyze", "/nonexistent/w3triage-test-path"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("cannot read /nonexistent/w3triage-test-path"),
        "{err}"
    );
    assert!(!out.contains("No crash found"));
}

#[test]
fn a_closed_output_pipe_stops_quietly() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("u_ex240301.log");
    let mut log = GOOD.to_string();
    let line = "2024-03-01 00:00:03 10.0.0.5 GET /x.aspx - 443 - 10.1.2.5 - - 200 0 0 9\r\n";
    log.push_str(&line.repeat(200_000));
    std::fs::write(&p, log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(["parse", "--format", "jsonl", p.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line's worth, then hang up, like `| head -1`.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command line as a user meets it: every command's `--help`, held to a reviewed snapshot so
/// a flag cannot change or vanish unnoticed (`W3TRIAGE_UPDATE_SNAPSHOTS=1` rewrites it).
#[test]
fn help_text_is_the_reviewed_one() {
    let mut all = String::new();
    for args in [
        vec!["--help"],
        vec!["parse", "--help"],
        vec!["dump", "--help"],
        vec!["analyze", "--help"],
    ] {
        let (code, out, _) = w3triage(&args);
        assert_eq!(code, 0, "{args:?}");
        all.push_str(&format!("$ w3triage {}\n{out}\n", args.join(" ")));
    }
    crate::report::snapshot("help.txt", &all);
}
