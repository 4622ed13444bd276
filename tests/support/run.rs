//! Helpers shared by the tests that run the binary (the `it` binary's hardening tests and the
//! `memory` binary): run it, and write W3C lines.
#![allow(dead_code)]

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

/// A W3C header with the default IIS fields.
pub const HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-03-01 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";

/// Data line `i` (a second apart) with a status and a time-taken.
pub fn line(i: u32, status: &str, taken: &str) -> String {
    format!(
        "2024-03-01 00:{:02}:{:02} 10.0.0.5 GET /p{i}.aspx - 443 - 10.1.2.3 Mozilla/5.0 - {status} 0 0 {taken}\r\n",
        (i / 60) % 60,
        i % 60
    )
}
