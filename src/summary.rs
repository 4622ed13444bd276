//! The `parse --summary` text: per file and in total, what was read, what was not and why,
//! how many bytes and how fast. Every input file appears, whatever became of it.

use crate::tables::{FileRow, LineCounts, Tables};
use crate::term::{path as safe_path, safe};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Writes the summary. `wall` is the whole ingest's elapsed time.
pub fn write_summary(t: &Tables, wall: Duration, out: &mut dyn Write) -> io::Result<()> {
    // Issues per file and code, with the first message as the example.
    let mut by_file: BTreeMap<u32, BTreeMap<&str, (u64, &str)>> = BTreeMap::new();
    for i in &t.issues {
        let e = by_file
            .entry(i.file)
            .or_default()
            .entry(i.code)
            .or_insert((0, &i.message));
        e.0 += 1;
    }
    let mut total = LineCounts::default();
    let mut bytes = 0u64;
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &t.files {
        total.add(&f.counts);
        bytes += f.bytes;
        let status = f.status.name();
        *by_status.entry(status).or_default() += 1;
        write_file(out, f, by_file.get(&f.id))?;
    }
    let secs = wall.as_secs_f64();
    writeln!(out)?;
    writeln!(
        out,
        "total: {} files ({}), {:.2} MB",
        t.files.len(),
        by_status
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        mb(bytes)
    )?;
    writeln!(
        out,
        "total: {} lines: {} records, {} directives, {} blank, {} rejected{}",
        total.lines,
        total.records,
        total.directives,
        total.blank,
        total.rejected,
        if total.balanced() {
            ""
        } else {
            " (UNBALANCED: a bug, please report)"
        }
    )?;
    writeln!(
        out,
        "total: tables: {} requests, {} httperr, {} crash evidence, {} modules, {} frames, {} issues",
        t.requests.len(),
        t.httperr.len(),
        t.crashes.len(),
        t.modules.len(),
        t.frames.len(),
        t.issues.len()
    )?;
    writeln!(
        out,
        "total: {:.3} s wall, {:.0} MB/s, {:.2} M records/s",
        secs,
        if secs > 0.0 { mb(bytes) / secs } else { 0.0 },
        if secs > 0.0 {
            total.records as f64 / secs / 1e6
        } else {
            0.0
        }
    )?;
    Ok(())
}

/// One file's lines of the summary: kind and status, where it is from, why it was not read,
/// its line accounting and speed, and its issues by code (with the first message).
fn write_file(
    out: &mut dyn Write,
    f: &FileRow,
    issues: Option<&BTreeMap<&str, (u64, &str)>>,
) -> io::Result<()> {
    let status = f.status.name();
    let secs = f.elapsed_ms / 1000.0;
    let speed = if secs > 0.0 {
        format!("{:.0} MB/s", mb(f.bytes) / secs)
    } else {
        "-".into()
    };
    // Paths, folder-derived names and messages are shown, never obeyed (see `term`).
    writeln!(
        out,
        "{}  [{} {}]",
        safe_path(&f.path),
        f.kind.name(),
        status
    )?;
    let (server, site) = (f.server.as_deref().map(safe), f.site.as_deref().map(safe));
    let who = match (&server, &site) {
        (Some(s), Some(w)) => format!("  server {s}, site {w}\n"),
        (Some(s), None) => format!("  server {s}\n"),
        (None, Some(w)) => format!("  site {w}\n"),
        (None, None) => String::new(),
    };
    write!(out, "{who}")?;
    if let Some(r) = &f.reason {
        writeln!(out, "  reason: {}", safe(r))?;
    }
    let c = &f.counts;
    if c.lines > 0 {
        writeln!(
            out,
            "  {} lines: {} records, {} directives, {} blank, {} rejected",
            c.lines, c.records, c.directives, c.blank, c.rejected
        )?;
    }
    writeln!(
        out,
        "  {} rows, {:.2} MB in {:.1} ms ({speed})",
        f.rows,
        mb(f.bytes),
        f.elapsed_ms
    )?;
    if let Some(codes) = issues {
        for (code, (n, example)) in codes {
            writeln!(out, "  issue {code} ×{n}: {}", safe(example))?;
        }
    }
    Ok(())
}
