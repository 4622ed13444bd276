//! Minidump reader on arbitrary bytes: must never panic, and must account for every input
//! (a crash row or an issue row).
#![no_main]

use libfuzzer_sys::fuzz_target;
use w3triage::analyze::judge::judged_rows;
use w3triage::ingest::dump::{DumpOptions, parse};
use w3triage::tables::FileCtx;

fuzz_target!(|data: &[u8]| {
    let ctx = FileCtx {
        id: 0,
        path: "w3wp__DefaultAppPool__PID__1__fuzz.dmp".into(),
        server: None,
        site: None,
    };
    let p = parse(&ctx, data, &DumpOptions::default());
    assert!(!p.crashes.is_empty() || !p.issues.is_empty());
    // The verdict rules run on what ingest stored (as `analyze` and `dump` run them).
    let judged = judged_rows(&p.crashes, &p.frames, &p.threads);
    assert_eq!(judged.len(), p.crashes.len());
});
