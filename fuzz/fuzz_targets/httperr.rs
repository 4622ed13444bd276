#![no_main]
use libfuzzer_sys::fuzz_target;
use w3triage::ingest::httperr;
use w3triage::tables::FileCtx;

fuzz_target!(|data: &[u8]| {
    let ctx = FileCtx::default();
    let whole = httperr::parse(&ctx, data);
    assert!(whole.counts.balanced());
    let chunked = httperr::parse_chunked(&ctx, data, 7);
    assert_eq!(whole.counts, chunked.counts);
    assert_eq!(whole.httperr, chunked.httperr);
});
