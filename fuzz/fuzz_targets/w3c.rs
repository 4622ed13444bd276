#![no_main]
use libfuzzer_sys::fuzz_target;
use w3triage::ingest::w3c;
use w3triage::tables::{FileCtx, Source};

fuzz_target!(|data: &[u8]| {
    let ctx = FileCtx::default();
    let whole = w3c::parse(&ctx, data);
    assert!(whole.counts.balanced());
    // Tiny chunks exercise the backward directive search and the merge: same answer required.
    let chunked = w3c::parse_chunked(&ctx, data, 7);
    assert!(chunked.counts.balanced());
    assert_eq!(whole.counts, chunked.counts);
    assert_eq!(whole.requests, chunked.requests);
    // The one-pass path for plain data lines must agree with the general path.
    let general = w3c::parse_with(&ctx, &Source::copy_of(data), usize::MAX, false);
    assert_eq!(whole.counts, general.counts);
    assert_eq!(whole.requests, general.requests);
    assert_eq!(whole.issues, general.issues);
});
