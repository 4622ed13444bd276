//! The `dump` command's text: a short triage of one parsed dump (what crashed, where, why,
//! what to do), written for a terminal. Every log- and dump-derived string is escaped.

use crate::analyze::judge::{JudgedRow, judged_rows};
use crate::ingest::dump::DETAIL_SEP;
use crate::knowledge::modules::ModuleClass;
use crate::knowledge::verdict;
use crate::tables::{FrameRow, ModuleRow, Parsed};
use std::fmt::Write as _;
use std::path::Path;

/// A short text triage of one parsed dump: what crashed, where, why, what to do.
pub fn render_triage(parsed: &Parsed, path: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "== {}", crate::term::path(path));
    for i in &parsed.issues {
        let msg = crate::term::safe(&i.message);
        let _ = writeln!(s, "  {:?} {}: {msg}", i.severity, i.code);
    }
    for c in judged_rows(&parsed.crashes, &parsed.frames, &parsed.threads) {
        crash_lines(&mut s, &c);
    }
    if !parsed.frames.is_empty() {
        stack_lines(&mut s, &parsed.frames);
    }
    let third: Vec<&ModuleRow> = parsed.modules.iter().filter(|m| m.third_party).collect();
    if !third.is_empty() {
        let _ = writeln!(s, "  third-party modules:");
        for m in third.iter().take(40) {
            let _ = writeln!(
                s,
                "    {}{} {} {}",
                m.name,
                if m.unloaded { " (unloaded)" } else { "" },
                m.version.as_deref().unwrap_or("-"),
                m.path
            );
        }
    }
    s
}

/// What crashed, where, and the verdict.
fn crash_lines(s: &mut String, c: &JudgedRow) {
    let what = match (c.exception_code, &c.exception_name) {
        (Some(code), Some(n)) => format!("0x{code:08x} {n}"),
        (None, Some(n)) => n.clone(),
        _ => "no exception (manual or hang dump)".into(),
    };
    // An app pool only for a process IIS serves from.
    let pool = if crate::knowledge::modules::is_iis_process(c.process_name.as_deref()) {
        format!(" pool {}", c.app_pool.as_deref().unwrap_or("?"))
    } else {
        " (not an IIS worker process)".into()
    };
    let _ = writeln!(
        s,
        "  process : {} pid {}{pool}",
        c.process_name.as_deref().unwrap_or("?"),
        c.pid.map_or("?".into(), |p| p.to_string()),
    );
    let _ = writeln!(
        s,
        "  what    : {what}{}",
        c.chance
            .as_deref()
            .map(|x| format!(" ({x} chance)"))
            .unwrap_or_default()
    );
    if let Some(m) = &c.faulting_module {
        let _ = writeln!(
            s,
            "  where   : {m}{}{}",
            c.fault_offset
                .map(|o| format!("+0x{o:x}"))
                .unwrap_or_default(),
            c.faulting_module_version
                .as_deref()
                .map(|v| format!(" (version {v})"))
                .unwrap_or_default()
        );
    }
    if let Some(m) = &c.suspect_module {
        let _ = writeln!(
            s,
            "  suspect : {m} [{}] confidence {}",
            c.suspect_class.map_or("?", ModuleClass::name),
            c.confidence.map_or("?", verdict::Confidence::name)
        );
    }
    if let Some(r) = c.suspect_role {
        let _ = writeln!(s, "  role    : {} [{r}]", r.label());
    }
    if let Some(b) = &c.bucket {
        let _ = writeln!(s, "  bucket  : {b}");
    }
    if let Some(v) = &c.verdict {
        let _ = writeln!(s, "  verdict : {v}");
    }
    if let Some(d) = &c.detail {
        for part in d.split(DETAIL_SEP) {
            let _ = writeln!(s, "    {part}");
        }
    }
}

/// The crashing stack, runs of one frame (recursion) printed once with a count.
fn stack_lines(s: &mut String, frames: &[FrameRow]) {
    let _ = writeln!(s, "  crashing stack:");
    // Runs of the same frame (recursion) print once with a count.
    let mut shown = 0;
    let mut i = 0;
    while i < frames.len() && shown < 24 {
        let f = &frames[i];
        let mut run = 1;
        while i + run < frames.len()
            && frames[i + run].module == f.module
            && frames[i + run].module_offset == f.module_offset
            && frames[i + run].instruction == f.instruction
        {
            run += 1;
        }
        let loc = match (&f.module, f.module_offset) {
            (Some(m), Some(o)) => format!("{m}+0x{o:x}"),
            (Some(m), None) => m.clone(),
            _ => format!("0x{:x}", f.instruction),
        };
        let func = match (&f.function, &f.source_file, f.source_line) {
            (Some(fun), Some(file), Some(line)) => format!("  {fun} [{file}:{line}]"),
            (Some(fun), _, _) => format!("  {fun}"),
            _ => String::new(),
        };
        let times = if run > 1 {
            format!(" x{run}")
        } else {
            String::new()
        };
        let _ = writeln!(s, "    {:>3} {loc}{func} ({}){times}", f.index, f.trust);
        shown += 1;
        i += run;
    }
    if i < frames.len() {
        let _ = writeln!(s, "    … {} more frames", frames.len() - i);
    }
}
