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
