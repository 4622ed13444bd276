#![no_main]
//! Event exports: the first byte picks the reader (XML, JSON lines, evtx), the rest is the file.
//! Every reader must keep its counts balanced and emit exactly one row per counted record.
use libfuzzer_sys::fuzz_target;
use w3triage::ingest::events;
use w3triage::tables::{ArtifactKind, FileCtx};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let kind = match sel % 3 {
        0 => ArtifactKind::EventXml,
        1 => ArtifactKind::EventJson,
        _ => ArtifactKind::Evtx,
    };
    let p = events::parse(&FileCtx::default(), kind, body);
    assert!(p.counts.balanced());
    assert_eq!(p.crashes.len() as u64, p.counts.records);
});
