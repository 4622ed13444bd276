//! Any file through the command line's path: discover (classification past NUL runs, UTF-16,
//! special cases), text normalisation (UTF-16, lone CRs) and the parser its content picks. The
//! first byte picks the file name (names only break ties). Lines must balance and every file must
//! be listed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use w3triage::ingest::{IngestOptions, ingest_paths};

const NAMES: [&str; 4] = ["u_ex240301.log", "httperr1.log", "w3wp.dmp", "events.xml"];

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("w3triage-fuzz-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let d = dir();
    for n in NAMES {
        let _ = std::fs::remove_file(d.join(n));
    }
    let p = d.join(NAMES[sel as usize % NAMES.len()]);
    std::fs::write(&p, body).expect("write the input");
    let opts = IngestOptions {
        threads: Some(1),
        ..Default::default()
    };
    let t = ingest_paths(std::slice::from_ref(&p), &opts);
    assert_eq!(t.files.len(), 1);
    assert!(t.files[0].counts.balanced());
});
