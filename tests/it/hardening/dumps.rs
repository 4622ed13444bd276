//! Damaged dumps: a damaged stream is an issue (exit 1) and the verdict says what was lost,
//! never a confident story drawn from half a dump.

use super::w3triage;
use crate::w3wp_dump::*;
use std::path::{Path, PathBuf};
use w3triage::analyze::judge::{JudgedRow, judged_rows};
use w3triage::ingest::dump::{DumpOptions, parse};
use w3triage::report::triage::render_triage;
use w3triage::tables::{FileCtx, Parsed, Severity};

fn ctx() -> FileCtx {
    FileCtx {
        id: 1,
        path: PathBuf::from("w3wp.dmp"),
        server: None,
        site: None,
    }
}

fn parse_bytes(b: &[u8]) -> Parsed {
    parse(&ctx(), b, &DumpOptions::default())
}

/// The ISAPI filter crash of the dump tests: an AV in ISAPI_Rewrite.dll called by filter.dll.
fn isapi_crash() -> Vec<u8> {
    let mut d = W3wpDump::new(false);
    d.modules.push(ModSpec::new(
        r"C:\Program Files\Helicon\ISAPI_Rewrite3\ISAPI_Rewrite.dll",
        0x1000_0000,
        0x6_0000,
    ));
    let ip = d.addr("ISAPI_Rewrite.dll", 0x1_2345);
    let callers = [
        d.addr("filter.dll", 0x21a4),
        d.addr("w3dt.dll", 0x5b20),
        d.addr("iiscore.dll", 0x1_7d40),
        d.addr("ntdll.dll", 0x6_7a2b),
    ];
    d.crash(0xC000_0005, ip, &[0, 0x10], &callers).build()
}

fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn wr32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// (directory entry offset, size, offset) of the stream of type `ty`.
fn stream(b: &[u8], ty: u32) -> (usize, u32, u32) {
    let (count, dir) = (rd32(b, 8) as usize, rd32(b, 12) as usize);
    (0..count)
        .map(|i| dir + i * 12)
        .find(|&at| rd32(b, at) == ty)
        .map(|at| (at, rd32(b, at + 4), rd32(b, at + 8)))
        .expect("stream present")
}

const MODULE_LIST: u32 = 4;
const EXCEPTION: u32 = 6;

fn errors(p: &Parsed) -> Vec<String> {
    p.issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect()
}

/// The crash rows of a parse, judged.
fn judged(p: &Parsed) -> Vec<JudgedRow> {
    judged_rows(&p.crashes, &p.frames, &p.threads)
}

fn verdict(p: &Parsed) -> String {
    assert_eq!(p.crashes.len(), 1, "{:?}", p.issues);
    judged(p)[0].verdict.clone().unwrap_or_default()
}

#[test]
fn whole_dump_has_no_damage() {
    let p = parse_bytes(&isapi_crash());
    assert!(errors(&p).is_empty(), "{:?}", errors(&p));
    assert_eq!(
        judged(&p)[0].suspect_module.as_deref(),
        Some("ISAPI_Rewrite.dll")
    );
}

#[test]
fn module_count_one_too_many_keeps_every_module() {
    let good = isapi_crash();
    let whole = parse_bytes(&good).modules.len();
    let mut b = good.clone();
    let (_, _, rva) = stream(&b, MODULE_LIST);
    let n = rd32(&b, rva as usize);
    wr32(&mut b, rva as usize, n + 1);
    let p = parse_bytes(&b);
    assert_eq!(
        p.modules.len(),
        whole,
        "every entry that can be read is kept"
    );
    let e = errors(&p);
    assert!(
        e.iter().any(|m| m.contains("damaged module list")
            && m.contains(&format!("claims {} modules", n + 1))
            && m.contains(&format!("{n} of {} modules recovered", n + 1))),
        "{e:?}"
    );
    // The verdict stands on the recovered list: the filter is still named, with low confidence.
    let c = &judged(&p)[0];
    assert_eq!(c.faulting_module.as_deref(), Some("ISAPI_Rewrite.dll"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("low"));
    assert!(c.detail.as_deref().unwrap().contains("module list damaged"));
}

#[test]
fn unreadable_name_or_debug_record_loses_only_that() {
    let good = isapi_crash();
    let (_, _, rva) = stream(&good, MODULE_LIST);
    let n = rd32(&good, rva as usize) as usize;
    let last = rva as usize + 4 + (n - 1) * 108;
    // The last module (ISAPI_Rewrite.dll) with its name past the end of the file.
    let mut b = good.clone();
    wr32(&mut b, last + 20, good.len() as u32 + 100);
    let p = parse_bytes(&b);
    assert_eq!(p.modules.iter().filter(|m| !m.unloaded).count(), n);
    assert!(
        p.modules
            .iter()
            .any(|m| m.name == "(unnamed module at 0x10000000)"),
        "{:?}",
        p.modules.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    assert!(p.modules.iter().any(|m| m.name == "filter.dll"));
    assert!(
        errors(&p)
            .iter()
            .any(|m| m.contains("module 20 at 0x10000000: name unreadable")
                || m.contains("at 0x10000000: name")),
        "{:?}",
        errors(&p)
    );
    assert_eq!(
        p.crashes[0].faulting_module.as_deref(),
        Some("(unnamed module at 0x10000000)")
    );
    // Its CodeView record past the end: the name stays.
    let mut b = good.clone();
    wr32(&mut b, last + 76, 64);
    wr32(&mut b, last + 80, good.len() as u32 - 8);
    let p = parse_bytes(&b);
    assert!(p.modules.iter().any(|m| m.name == "ISAPI_Rewrite.dll"));
    assert!(
        errors(&p)
            .iter()
            .any(|m| m.contains("debug (CodeView) record unreadable")),
        "{:?}",
        errors(&p)
    );
}

#[test]
fn module_stream_of_size_zero_is_recovered_and_offset_zero_is_named() {
    let good = isapi_crash();
    let whole = parse_bytes(&good).modules.len();
    let (at, _, _) = stream(&good, MODULE_LIST);
    let mut b = good.clone();
    wr32(&mut b, at + 4, 0);
    let p = parse_bytes(&b);
    assert_eq!(p.modules.len(), whole);
    assert!(
        errors(&p).iter().any(|m| m.contains("0 bytes")),
        "{:?}",
        errors(&p)
    );
    // Offset 0: nothing to recover, and the verdict says why it cannot place the fault.
    let mut b = good.clone();
    wr32(&mut b, at + 8, 0);
    let p = parse_bytes(&b);
    assert!(p.modules.iter().all(|m| m.unloaded));
    assert!(
        errors(&p).iter().any(|m| m.contains("points at no list")),
        "{:?}",
        errors(&p)
    );
    let v = verdict(&p);
    assert!(v.contains("module list is damaged"), "{v}");
    assert!(!v.contains("corrupt return address"), "{v}");
    let c = &judged(&p)[0];
    let why = c.detail.clone().unwrap();
    assert!(!why.contains("corrupt return address"), "{why}");
    assert_eq!(c.confidence.map(|v| v.name()), Some("low"));
}

#[test]
fn exception_stream_of_size_zero_is_a_damaged_crash_not_a_manual_dump() {
    let mut b = isapi_crash();
    let (at, _, _) = stream(&b, EXCEPTION);
    wr32(&mut b, at + 4, 0);
    let p = parse_bytes(&b);
    assert!(
        errors(&p)
            .iter()
            .any(|m| m.contains("exception stream") && m.contains("0 bytes")),
        "{:?}",
        errors(&p)
    );
    let c = &p.crashes[0];
    assert_eq!(c.kind.name(), "crash");
    let v = verdict(&p);
    assert!(v.contains("exception stream is damaged"), "{v}");
    assert!(!v.to_lowercase().contains("manual"), "{v}");
    let text = render_triage(&p, Path::new("w3wp.dmp"));
    assert!(
        text.contains("what    : unknown exception (the exception stream is damaged)"),
        "{text}"
    );
    assert!(!text.contains("manual or hang dump"), "{text}");
}

#[test]
fn truncated_dump_says_where_it_ends_and_that_the_stack_is_cut_short() {
    let good = isapi_crash();
    let frames = parse_bytes(&good).frames.len();
    assert!(frames >= 5);
    // Writers put the directory first and memory last: move the crashing thread's stack to
    // the end of the file, then cut the file in the middle of it.
    let (_, _, rva) = stream(&good, 5);
    let desc = rva as usize + 4;
    let (size, at) = (
        rd32(&good, desc + 8) as usize,
        rd32(&good, desc + 12) as usize,
    );
    let mut b = good.clone();
    b.extend_from_slice(&good[at..at + size]);
    wr32(&mut b, desc + 12, good.len() as u32);
    // (The thread list holds its own descriptor of the same stack: the first thread's.)
    let (_, _, threads) = stream(&good, 3);
    wr32(&mut b, threads as usize + 4 + 36, good.len() as u32);
    assert_eq!(parse_bytes(&b).frames.len(), frames);
    let cut = good.len() + size / 2;
    let p = parse_bytes(&b[..cut]);
    let e = errors(&p);
    assert!(
        e.iter().any(|m| m.contains("1 of 1 memory ranges")
            && m.contains(&format!("end of the file at byte {cut}"))),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("stack memory of 1 thread(s) (0x1a2c)")),
        "{e:?}"
    );
    assert!(p.frames.len() < frames);
    let c = &p.crashes[0];
    assert!(
        c.detail.as_deref().unwrap().contains(&format!(
            "truncated: the file ends at byte {cut}: the crashing stack"
        )),
        "{:?}",
        c.detail
    );
    assert!(verdict(&p).contains("truncated"), "{}", verdict(&p));
    // A cut in the header area: an error, nothing invented.
    let p = parse_bytes(&good[..600]);
    assert!(!errors(&p).is_empty());
}

#[test]
fn damaged_dumps_exit_1_from_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let good = isapi_crash();
    let cut = tmp.path().join("w3wp_cut.dmp");
    std::fs::write(&cut, &good[..good.len() - 600]).unwrap();
    let cut600 = tmp.path().join("w3wp_600.dmp");
    std::fs::write(&cut600, &good[..600]).unwrap();
    let mut b = good.clone();
    let (at, _, _) = stream(&b, EXCEPTION);
    wr32(&mut b, at + 4, 0);
    let noexc = tmp.path().join("w3wp_noexc.dmp");
    std::fs::write(&noexc, &b).unwrap();
    for f in [&cut, &cut600, &noexc] {
        let f = f.to_str().unwrap();
        for args in [
            vec!["dump", f],
            vec!["parse", "--table", "crashes", "--format", "jsonl", f],
            vec!["analyze", f],
        ] {
            let (code, out, err) = w3triage(&args);
            assert_eq!(code, 1, "{args:?}\n{out}\n{err}");
        }
    }
}

#[cfg(unix)]
#[test]
fn special_files_are_refused_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("w3wp.dmp");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for f in [fifo.to_str().unwrap(), "/dev/zero"] {
        let start = std::time::Instant::now();
        let (code, out, _) = w3triage(&["dump", f]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("not a regular file"), "{out}");
        assert!(start.elapsed().as_secs() < 20);
    }
    let (_, out, _) = w3triage(&["dump", fifo.to_str().unwrap()]);
    assert!(out.contains("a FIFO (named pipe)"), "{out}");
}

/// Found by fuzzing `dump_file`: a handle-data stream with a descriptor size of 0 and a huge count
/// made rust-minidump allocate for every "descriptor" (hundreds of GB) and abort the process.
/// Streams w3triage does not read are now never handed to it.
#[test]
fn a_hostile_stream_we_do_not_read_cannot_abort_the_process() {
    let good = isapi_crash();
    let whole = parse_bytes(&good);
    let mut b = good.clone();
    // The misc-info entry becomes a handle-data stream (type 12) at the end of the file.
    let (at, _, _) = stream(&b, 15);
    let header_at = b.len() as u32;
    for v in [16u32, 0, u32::MAX, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    wr32(&mut b, at, 12);
    wr32(&mut b, at + 4, 16);
    wr32(&mut b, at + 8, header_at);
    let p = parse_bytes(&b);
    assert_eq!(p.crashes.len(), 1, "{:?}", p.issues);
    assert_eq!(
        p.crashes[0].faulting_module,
        whole.crashes[0].faulting_module
    );
    assert_eq!(p.frames.len(), whole.frames.len());
}
