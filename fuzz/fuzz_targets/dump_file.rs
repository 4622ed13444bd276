//! The minidump reader through the entry point of `w3triage dump` and of ingest: a file on disk
//! (bounded reads, or a private map above 4 MiB, then the structural check and the module-list
//! repair). Must never panic and must account for the file (a crash row or an issue row).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use w3triage::analyze::judge::judged_rows;
use w3triage::ingest::dump::{DumpOptions, parse_file};
use w3triage::tables::FileCtx;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("w3triage-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("w3wp__DefaultAppPool__PID__1__fuzz.dmp")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    std::fs::write(p, data).expect("write the input");
    let ctx = FileCtx {
        id: 0,
        path: p.clone(),
        server: None,
        site: None,
    };
    let parsed = parse_file(&ctx, p, &DumpOptions::default());
    assert!(!parsed.crashes.is_empty() || !parsed.issues.is_empty());
    // The verdict rules run on what ingest stored (as `analyze` and `dump` run them).
    let judged = judged_rows(&parsed.crashes, &parsed.frames, &parsed.threads);
    assert_eq!(judged.len(), parsed.crashes.len());
});
