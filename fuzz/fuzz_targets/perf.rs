#![no_main]
use libfuzzer_sys::fuzz_target;
use w3triage::ingest::perf;
use w3triage::tables::FileCtx;

// Counter logs: every line accounted for, every value indexes a sample and a series.
fuzz_target!(|data: &[u8]| {
    let p = perf::parse(&FileCtx::default(), data);
    assert!(p.counts.balanced());
    let c = &p.counters;
    assert!(c.values.iter().all(|v| (v.sample as usize) < c.samples.len()
        && (v.series as usize) < c.series.len()
        && v.value.is_finite()));
});
