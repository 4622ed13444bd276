#![no_main]
use libfuzzer_sys::fuzz_target;
use w3triage::ingest::freb;
use w3triage::tables::FileCtx;

// FREB traces: at most one row, every file accounted for, never a panic.
fuzz_target!(|data: &[u8]| {
    let p = freb::parse(&FileCtx::default(), data);
    assert!(p.counts.balanced());
    assert!(p.traces.len() <= 1);
});
