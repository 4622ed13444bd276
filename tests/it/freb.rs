//! Failed Request Tracing files: the real shared-host trace, a cut-off copy, hostile ones.

use std::path::{Path, PathBuf};
use w3triage::ingest::freb::parse;
use w3triage::ingest::{IngestOptions, ingest_paths};
use w3triage::tables::{ArtifactKind, FileCtx, Severity};

const REAL: &str = "tests/fixtures/freb/implicatex-sharedhost-fr000001.xml";

fn real() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(REAL)).unwrap()
}

#[test]
fn the_real_trace_names_the_module_that_set_the_error() {
    let p = parse(&FileCtx::default(), &real());
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!(p.traces.len(), 1);
    let t = &p.traces[0];
    assert_eq!(
        t.url.as_deref(),
        Some("https://alu.homelabs.one:443/coi-serviceworker.js")
    );
    assert_eq!(t.verb.as_deref(), Some("GET"));
    assert_eq!(t.site.as_deref(), Some("W3SVC179"));
    assert_eq!(
        t.app_pool.as_deref(),
        Some("alu.homelabs.one(domain)(4.0)(pool)")
    );
    assert_eq!(t.pid, Some(18568));
    assert_eq!((t.status, t.substatus), (Some(404), None));
    assert_eq!(t.failure_reason.as_deref(), Some("STATUS_CODE"));
    assert_eq!(t.time_taken_ms, Some(16));
    assert_eq!(t.events, 150);
    assert_eq!(t.error_module.as_deref(), Some("IIS Web Core"));
    assert_eq!(t.error_notification.as_deref(), Some("MAP_REQUEST_HANDLER"));
    assert_eq!(t.error_code.as_deref(), Some("0x80070002"));
    assert_eq!(
        t.error_text.as_deref(),
        Some("The system cannot find the file specified. (0x80070002)")
    );
    assert!(!t.truncated);
    assert_eq!(t.running_module, None, "every module that started ended");
    assert_eq!(t.server.as_deref(), Some("ASPHOST920"));
    assert_eq!(p.server.as_deref(), Some("ASPHOST920"));
    // 2026-02-08T20:59:16.465Z.
    assert_eq!(t.start, Some(1_770_584_356_465));
    assert!(t.end >= t.start);
}

#[test]
fn a_cut_trace_keeps_its_whole_events_and_names_the_module_still_running() {
    let text = String::from_utf8(real()).unwrap();
    // Cut inside the event after the 21st NOTIFY_MODULE_START: that start is the last whole
    // event, and its module never ended.
    let starts: Vec<usize> = text
        .match_indices("<Opcode>NOTIFY_MODULE_START</Opcode>")
        .map(|(i, _)| i)
        .collect();
    let end_of_start = starts[20] + text[starts[20]..].find("</Event>").unwrap() + 8;
    let cut = &text[..end_of_start + 120];
    let p = parse(&FileCtx::default(), cut.as_bytes());
    let t = &p.traces[0];
    assert!(t.truncated);
    assert!(t.events > 20 && t.events < 150, "{}", t.events);
    // The module of that last start, as the file names it.
    let ev_start = text[..starts[20]].rfind("<Event").unwrap();
    let name_at = ev_start + text[ev_start..].find("<Data Name=\"ModuleName\">").unwrap() + 24;
    let module = &text[name_at..name_at + text[name_at..].find('<').unwrap()];
    assert_eq!(t.running_module.as_deref(), Some(module), "{t:?}");
    let codes: Vec<&str> = p.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, ["truncated_trace"]);
    assert_eq!(p.issues[0].severity, Severity::Warning);
}

#[test]
fn hostile_traces_are_issues_not_panics() {
    for bad in [
        &b""[..],
        b"<failedRequest",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><failedRequest url='&a;'></failedRequest>",
        b"<other/>",
        b"\xff\xfe<\x00f\x00",
    ] {
        let p = parse(&FileCtx::default(), bad);
        assert!(p.traces.is_empty(), "{:?}", String::from_utf8_lossy(bad));
        assert!(p.issues.iter().any(|i| i.severity == Severity::Error));
        assert!(p.counts.balanced());
    }
}

#[test]
fn a_trace_folder_is_read_as_traces() {
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir
        .path()
        .join("WEB01/FailedReqLogFiles/W3SVC179/fr000001.xml");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, real()).unwrap();
    let t = ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default());
    assert_eq!(t.files[0].kind, ArtifactKind::Freb);
    assert_eq!(t.files[0].rows, 1);
    assert_eq!(t.traces.len(), 1);
}

mod hostile {
    use proptest::prelude::*;
    use w3triage::ingest::freb::parse;
    use w3triage::tables::FileCtx;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// The real trace cut anywhere and with a byte changed: one row or one issue, never a
        /// panic, the file accounted for.
        #[test]
        fn mutated_traces_never_panic(cut in 0usize..250_000, flip in 0usize..250_000, byte in any::<u8>()) {
            let mut b = super::real();
            let f = flip % b.len();
            b[f] = byte;
            b.truncate(cut.min(b.len()));
            let p = parse(&FileCtx::default(), &b);
            prop_assert!(p.counts.balanced());
            prop_assert!(p.traces.len() + p.issues.len() >= 1);
        }
    }
}
