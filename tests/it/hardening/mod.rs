//! Issue 10's hostile inputs and failures mid-run, each built on the fly: damaged dumps,
//! special files, odd encodings and line ends, impossible numbers, partial writes and
//! interrupts, output injection, and many small files.

mod dumps;
mod outputs;
mod text;

use std::process::{Command, Stdio};

/// Runs the binary: (exit code, stdout, stderr).
pub fn w3triage(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_w3triage"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run w3triage");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary and measures it: (exit code, stdout, peak RSS in KiB of that process).
#[cfg(target_os = "linux")]
pub fn rusage_run(args: &[&str]) -> (i32, String, i64) {
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
