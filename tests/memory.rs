//! Peak memory of the binary on hostile inputs, measured with wait4(2).
//!
//! These tests live in their own test binary on purpose: on Linux a child started with
//! `vfork`/`posix_spawn` inherits its parent's peak RSS at `exec`, so measured from the big `it`
//! binary (whose other tests hold hundreds of MB) the child's peak is the parent's, and the
//! tests fail or pass by accident. This binary stays small.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};

#[path = "support/run.rs"]
mod run;
use run::{HEADER, line, w3triage};

/// Runs the binary and measures it: (exit code, stdout, peak RSS in KiB of that process).
fn rusage_run(args: &[&str]) -> (i32, String, i64) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("run w3triage");
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for this child, which we own and reap.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our own child; `status` and `usage` are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child); // reaped above
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let text = std::fs::read_to_string(out.path()).unwrap_or_default();
    (code, text, usage.ru_maxrss)
}

/// An 8 GiB sparse file with a minidump signature: read within a bounded memory and time.
#[test]
fn huge_sparse_dump_costs_little_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("z.dmp");
    {
        let file = std::fs::File::create(&f).unwrap();
        use std::io::Write;
        (&file).write_all(b"MDMP\x93\xa7\0\0").unwrap();
        file.set_len(8 << 30).unwrap();
    }
    for cmd in ["dump", "parse"] {
        let (code, out, max_rss_kb) = rusage_run(&[cmd, f.to_str().unwrap()]);
        assert_eq!(code, 1, "{out}");
        assert!(max_rss_kb < 256 * 1024, "{cmd}: {max_rss_kb} KiB");
    }
}

/// 20,000 small logs: bounded memory per file, and a report that counts them instead of listing.
#[test]
fn many_small_files_cost_little_memory_and_a_short_report() {
    let tmp = tempfile::tempdir().unwrap();
    let files = 20_000u32;
    for d in 0..20 {
        let dir = tmp.path().join(format!("WEB01/W3SVC1/d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..files / 20 {
            let text = HEADER.to_string() + &line(f, "200", "15");
            std::fs::write(dir.join(format!("u_ex{f:06}.log")), text).unwrap();
        }
    }
    let root = tmp.path().to_str().unwrap();
    let (code, out, rss_kb) = rusage_run(&["parse", "--summary", root]);
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(500)..]);
    assert!(
        out.contains("total: 20000 files (20000 parsed)"),
        "{}",
        &out[out.len() - 400..]
    );
    let (_, one_kb) = {
        let first = tmp.path().join("WEB01/W3SVC1/d00/u_ex000000.log");
        let (c, _, kb) = rusage_run(&["parse", "--summary", first.to_str().unwrap()]);
        (c, kb)
    };
    let per_file = (rss_kb - one_kb) * 1024 / files as i64;
    // 7,500 bytes a file before; the file's own text (330 bytes here) is kept for the table.
    assert!(per_file < 2048, "{per_file} bytes a file");
    let (code, json, _) = w3triage(&["analyze", "--format", "json", root]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["coverage"]["files_summary"]["total"], 20_000);
    assert_eq!(
        v["coverage"]["files_summary"]["by_kind"]["w3c"]["parsed"],
        20_000
    );
    assert_eq!(v["coverage"]["files"].as_array().unwrap().len(), 0);
    assert!(json.len() < 64 << 10, "{} bytes", json.len());
    let (_, md, _) = w3triage(&["analyze", "--format", "md", root]);
    assert!(
        md.contains("20,000 files in all (w3c: 20,000 parsed)"),
        "{}",
        &md[md.find("## Coverage").unwrap_or(0)..]
    );
}
