//! Text logs as admins hand them over: NUL blocks near the start, CR-only line ends, UTF-16,
//! impossible numbers, special and pseudo files. Nothing is lost silently.

use super::w3triage;
use std::path::Path;

use super::run::{HEADER, line};

fn lines(n: u32) -> String {
    (0..n).map(|i| line(i, "200", "15")).collect()
}

/// `parse --format jsonl` of one file: (exit code, rows, issues as `code: message`).
fn parse_one(path: &Path) -> (i32, Vec<serde_json::Value>, Vec<String>) {
    let p = path.to_str().unwrap();
    let (code, out, err) = w3triage(&["parse", "--format", "jsonl", p]);
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (_, issues, _) = w3triage(&["parse", "--table", "issues", "--format", "jsonl", p]);
    let issues = issues
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}: {}",
                v["code"].as_str().unwrap(),
                v["message"].as_str().unwrap()
            )
        })
        .collect();
    let _ = err;
    (code, rows, issues)
}

#[test]
fn a_nul_block_near_the_start_hides_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for before in 0..3 {
        let f = tmp.path().join(format!("u_ex24030{before}.log"));
        let mut b = HEADER.as_bytes().to_vec();
        b.extend(lines(before).into_bytes());
        b.extend(std::iter::repeat_n(0u8, 4096));
        b.extend(HEADER.as_bytes());
        b.extend(lines(1000).into_bytes());
        std::fs::write(&f, &b).unwrap();
        let (code, rows, issues) = parse_one(&f);
        assert_eq!(rows.len(), 1000 + before as usize, "{before}: {issues:?}");
        assert!(
            issues.iter().any(|i| i.starts_with("nul_padding")),
            "{before}: {issues:?}"
        );
        assert_eq!(code, 0, "{issues:?}");
    }
    // A file that starts with the NUL block (a power loss before the first flush).
    let f = tmp.path().join("u_ex240310.log");
    let mut b = vec![0u8; 64 << 10];
    b.extend(HEADER.as_bytes());
    b.extend(lines(10).into_bytes());
    std::fs::write(&f, &b).unwrap();
    let (_, rows, issues) = parse_one(&f);
    assert_eq!(rows.len(), 10, "{issues:?}");
}

#[test]
fn cr_only_line_ends_lose_no_record() {
    let tmp = tempfile::tempdir().unwrap();
    let cr = |s: String| s.replace("\r\n", "\r");
    let f = tmp.path().join("u_ex240301.log");
    std::fs::write(&f, cr(HEADER.to_string()) + &cr(lines(10))).unwrap();
    let (_, rows, issues) = parse_one(&f);
    assert_eq!(rows.len(), 10, "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("cr_line_ends: 14 lines")),
        "{issues:?}"
    );
    // A CR-only header over CRLF data: the first record is not swallowed.
    let f = tmp.path().join("u_ex240302.log");
    std::fs::write(&f, cr(HEADER.to_string()) + &lines(10)).unwrap();
    let (_, rows, issues) = parse_one(&f);
    assert_eq!(rows.len(), 10, "{issues:?}");
    assert_eq!(rows[0]["uri_stem"], "/p0.aspx");
}

#[test]
fn utf16_logs_are_decoded() {
    let tmp = tempfile::tempdir().unwrap();
    let text = HEADER.to_string() + &lines(15);
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let with_bom: Vec<u8> = b"\xff\xfe"
        .iter()
        .copied()
        .chain(le.iter().copied())
        .collect();
    for (name, bytes) in [("u_ex240301.log", with_bom), ("u_ex240302.log", le)] {
        let f = tmp.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let (code, rows, issues) = parse_one(&f);
        assert_eq!(rows.len(), 15, "{name}: {issues:?}");
        assert_eq!(rows[14]["uri_stem"], "/p14.aspx");
        assert!(
            issues.iter().any(|i| i.starts_with("utf16_text")),
            "{issues:?}"
        );
        assert!(!issues.iter().any(|i| i.contains("nul")), "{issues:?}");
        assert_eq!(code, 0, "{issues:?}");
    }
}

#[test]
fn bad_numbers_are_issues_not_silent_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("u_ex240301.log");
    let cases = [
        ("-200", "15"),
        ("200000000000000000000000000000", "15"),
        ("4294967296", "15"),
        ("2e3", "15"),
        ("200", "-1"),
        ("200", "100000000000000000000000000000"),
        ("200", "18446744073709551615"),
    ];
    let mut text = HEADER.to_string() + &lines(3);
    for (i, (status, taken)) in cases.iter().enumerate() {
        text.push_str(&line(100 + i as u32, status, taken));
    }
    text.push_str(&lines(3));
    std::fs::write(&f, text).unwrap();
    let (code, rows, issues) = parse_one(&f);
    assert_eq!(code, 1, "{issues:?}");
    assert_eq!(rows.len(), 3 + cases.len() + 3, "rows are kept");
    let bad: Vec<&String> = issues
        .iter()
        .filter(|i| i.starts_with("bad_number"))
        .collect();
    assert_eq!(bad.len(), cases.len(), "{issues:?}");
    assert!(bad[0].contains("sc-status \"-200\""), "{bad:?}");
    assert!(bad[2].contains("sc-status \"4294967296\""), "{bad:?}");
    assert!(bad[6].contains("impossible"), "{bad:?}");
    for (i, (status, _)) in cases.iter().enumerate() {
        let r = &rows[3 + i];
        if *status != "200" {
            assert!(r["status"].is_null(), "{r}");
        } else {
            assert!(r["time_taken_ms"].is_null(), "{r}");
        }
    }
    // Line numbers and offsets: the first bad line is line 8 (4 directives, 3 lines before).
    let (_, issues, _) = w3triage(&[
        "parse",
        "--table",
        "issues",
        "--format",
        "jsonl",
        f.to_str().unwrap(),
    ]);
    let first: serde_json::Value = serde_json::from_str(issues.lines().next().unwrap()).unwrap();
    assert_eq!(first["line"], 8);
    let offset = (HEADER.len() + lines(3).len()) as u64;
    assert_eq!(first["offset"], offset);
}

#[test]
fn an_impossible_time_taken_never_reaches_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let web = tmp.path().join("WEB01");
    std::fs::create_dir_all(&web).unwrap();
    let text = HEADER.to_string() + &line(1, "500", "18446744073709551615") + &lines(5);
    std::fs::write(web.join("u_ex240301.log"), text).unwrap();
    // A worker crash just before it completed: the request was "in flight" for any window.
    std::fs::write(
        web.join("system.xml"),
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WAS' EventSourceName='WAS'/><EventID Qualifiers='32768'>5011</EventID><Level>3</Level><TimeCreated SystemTime='2024-03-01T00:00:00.5000000Z'/><Channel>System</Channel><Computer>WEB01</Computer></System><EventData><Data Name='AppPoolID'>ShopPool</Data><Data Name='ProcessID'>7024</Data></EventData></Event>",
    )
    .unwrap();
    let (code, out, _) = w3triage(&["analyze", "--format", "json", web.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("\"incidents\""), "{out}");
    assert!(!out.contains("@-"), "{out}");
    assert!(!out.contains("\"@"), "a time that is not RFC 3339");
}

#[cfg(unix)]
#[test]
fn special_and_pseudo_files_in_a_folder_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("WEB01");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("u_ex240301.log"), HEADER.to_string() + &lines(2)).unwrap();
    let fifo = dir.join("u_ex240302.log");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (code, out, _) = w3triage(&["parse", "--summary", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("u_ex240302.log  [unknown skipped]"), "{out}");
    assert!(
        out.contains("reason: not a regular file: a FIFO (named pipe)"),
        "{out}"
    );
    assert!(
        out.contains("total: 2 files (1 parsed, 1 skipped)"),
        "{out}"
    );
    #[cfg(target_os = "linux")]
    {
        let (_, out, _) = w3triage(&["parse", "--summary", "/proc/self/status"]);
        assert!(out.contains("pseudo-file"), "{out}");
        assert!(!out.contains("empty file"), "{out}");
    }
}

/// A UTF-16 event whose provider name has a broken surrogate: not recognised, and said to be
/// dropped — not "kept without a time".
#[test]
fn an_event_with_an_undecodable_provider_says_it_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-W#AS'/><EventID>5011</EventID><Computer>WEB01</Computer></System><EventData><Data Name='AppPoolID'>Shop</Data><Data Name='ProcessID'>7</Data></EventData></Event>";
    let mut units: Vec<u16> = xml.encode_utf16().collect();
    let at = units.iter().position(|&u| u == u16::from(b'#')).unwrap();
    units[at] = 0xD800; // a high surrogate with no low one after it
    let bytes: Vec<u8> = [0xFEFFu16]
        .into_iter()
        .chain(units)
        .flat_map(u16::to_le_bytes)
        .collect();
    let f = tmp.path().join("system.xml");
    std::fs::write(&f, bytes).unwrap();
    let (_, rows, issues) = parse_one(&f);
    let _ = rows;
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("undecodable_text") && i.contains("not used")),
        "{issues:?}"
    );
    assert!(
        !issues.iter().any(|i| i.contains("kept without a time")),
        "{issues:?}"
    );
}
