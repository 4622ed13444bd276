//! Output files are complete or absent: a full disk, an error or Ctrl-C never leaves a cut-off
//! file under the final name; and log-derived text cannot inject formulas or terminal escapes.

use super::w3triage;
use std::path::Path;
use std::process::{Command, Stdio};

fn samples() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/outage")
        .to_string_lossy()
        .into_owned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs the binary with files limited to `max_bytes` (a full disk, as the process sees it:
/// writes past it fail with EFBIG instead of killing the process).
#[cfg(target_os = "linux")]
fn with_file_limit(args: &[&str], max_bytes: u64) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_w3triage"));
    cmd.args(args).stdin(Stdio::null());
    // SAFETY: setrlimit and signal are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: max_bytes,
                rlim_max: max_bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_leaves_no_partial_report_or_table() {
    let tmp = tempfile::tempdir().unwrap();
    let rep = tmp.path().join("rep");
    let (code, err) = with_file_limit(
        &["analyze", &samples(), "--out", rep.to_str().unwrap()],
        20_000,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot write the reports into"), "{err}");
    assert!(names(&rep).is_empty(), "{:?}", names(&rep));
    // The same command with room to write: all three reports.
    let (code, err) = with_file_limit(
        &["analyze", &samples(), "--out", rep.to_str().unwrap()],
        64 << 20,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&rep), ["report.html", "report.json", "report.md"]);
    let csv = tmp.path().join("t.csv");
    let (code, err) = with_file_limit(
        &[
            "parse",
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
            &samples(),
        ],
        20_000,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("cannot write {}", csv.display())),
        "{err}"
    );
    assert_eq!(names(tmp.path()), ["rep"]);
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_while_writing_removes_the_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("u_ex240301.log");
    let mut text = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n",
    );
    for i in 0..400_000u32 {
        text.push_str(&format!(
            "2024-03-01 00:{:02}:{:02} 10.0.0.5 GET /p/{i}.aspx q={i} 443 - 10.1.2.3 Mozilla/5.0 - 200 0 0 {}\r\n",
            (i / 60) % 60,
            i % 60,
            i % 977
        ));
    }
    std::fs::write(&log, text).unwrap();
    let csv = tmp.path().join("out.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(["parse", "--format", "csv", "--out"])
        .arg(&csv)
        .arg(&log)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let tmp_name = format!(".out.csv.w3triage-{}.tmp", child.id());
    let start = std::time::Instant::now();
    while !tmp.path().join(&tmp_name).exists() {
        assert!(start.elapsed().as_secs() < 60, "no temporary file appeared");
        assert!(child.try_wait().unwrap().is_none(), "exited before writing");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: sends SIGINT to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted; partial output files removed"),
        "{err}"
    );
    assert_eq!(names(tmp.path()), ["u_ex240301.log"]);
}

const HOSTILE: &str = "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n\
2024-03-01 00:00:01 10.0.0.5 GET /a =1+1 443 - 10.1.2.3 @SUM(1+1) - 200 0 0 15\r\n\
2024-03-01 00:00:02 10.0.0.5 GET /b =cmd|'/C+calc'!A0 443 +1 10.1.2.3 -2+3 - 200 0 0 15\r\n\
2024-03-01 00:00:03 10.0.0.5 GET /c%1b[31m \x1b[31mred\x1b]0;T\x07 443 - 10.1.2.3 ok - 200 0 0 15\r\n";

#[test]
fn csv_cells_cannot_start_a_formula_unless_raw_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("u_ex240301.log");
    std::fs::write(&log, HOSTILE).unwrap();
    let (code, out, err) = w3triage(&["parse", "--format", "csv", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // (User agents are read `+`-decoded.)
    for cell in ["'=1+1", "'@SUM(1 1)", "'=cmd|'/C+calc'!A0", "'-2 3", "'+1"] {
        assert!(out.contains(cell), "{cell} in {out}");
    }
    for line in out.lines() {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(
                !c.starts_with(['=', '+', '@']),
                "a formula cell {cell:?} in {line}"
            );
        }
    }
    let (_, raw, _) = w3triage(&[
        "parse",
        "--format",
        "csv",
        "--csv-raw",
        log.to_str().unwrap(),
    ]);
    assert!(
        raw.contains(",=1+1,") && raw.contains(",@SUM(1 1),"),
        "{raw}"
    );
}

#[cfg(unix)]
#[test]
fn control_characters_never_reach_a_terminal_raw() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("WEB\x1b[31mX\x1b]0;T\x07").join("W3SVC1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("u_ex240301.log"), HOSTILE).unwrap();
    let root = tmp.path().to_str().unwrap();
    let (_, summary, _) = w3triage(&["parse", "--summary", root]);
    assert!(
        !summary.contains('\x1b') && !summary.contains('\x07'),
        "{summary:?}"
    );
    assert!(summary.contains("WEB\\x1b[31mX\\x1b]0;T\\x07"), "{summary}");
    let (_, report, _) = w3triage(&["analyze", root]);
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report:?}"
    );
    // A table printed for a person (the text format) escapes log fields too.
    let (_, table, _) = w3triage(&["parse", "--format", "table", root]);
    assert!(
        !table.contains('\x1b') && !table.contains('\x07'),
        "{table:?}"
    );
}

/// CSV written to a terminal shows the escape sequences logged in its fields, never sends them.
#[cfg(target_os = "linux")]
#[test]
fn csv_to_a_terminal_escapes_control_characters() {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("u_ex240301.log");
    std::fs::write(&log, HOSTILE).unwrap();
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own; the name and settings are not asked for.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0);
    // SAFETY: both descriptors are open and owned from here on.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let status = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(["parse", "--format", "csv"])
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(slave)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut master = master;
    // The child has exited; read what the terminal holds (EIO once it is drained).
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(5).any(|w| w == b"ok,,,") && out.ends_with(b"\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\\x1b[31mred\\x1b]0;T\\x07"), "{text:?}");
    assert!(!out.contains(&0x1b) && !out.contains(&0x07), "{text:?}");
}
