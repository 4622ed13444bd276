//! Compressed sources: a `.gz` log is read through inflate as the same source as the log it
//! holds; a cut-off stream keeps what inflated, with a warning; a corrupt one is reported.

use flate2::{Compression, write::GzEncoder};
use std::io::Write;
use std::path::Path;
use w3triage::discover::{Container, discover};
use w3triage::ingest::{IngestOptions, ingest_artifacts};
use w3triage::tables::{ArtifactKind, CrashKind, FileStatus, Tables};

const LOG: &str = "samples/outage/WEB01/inetpub/logs/LogFiles/W3SVC1/u_ex250314.log";
const EVENTS: &str = "samples/outage/WEB01/events/System.xml";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn a_gzip_log_is_the_log_it_holds() {
    let log = std::fs::read(LOG).unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    let gz_dir = tempfile::tempdir().unwrap();
    put(plain_dir.path(), "WEB01/W3SVC1/u_ex250314.log", &log);
    put(
        plain_dir.path(),
        "WEB01/events/System.xml",
        &std::fs::read(EVENTS).unwrap(),
    );
    put(gz_dir.path(), "WEB01/W3SVC1/u_ex250314.log.gz", &gzip(&log));
    // Two members in one file (`cat a.gz b.gz`), as log rotation can leave them.
    let events = std::fs::read(EVENTS).unwrap();
    let (first, second) = events.split_at(events.len() / 2);
    let two = [gzip(first), gzip(second)].concat();
    put(gz_dir.path(), "WEB01/events/System.xml.gz", &two);

    let plain = ingest_artifacts(discover(&[plain_dir.path().into()]), &Default::default());
    let arts = discover(&[gz_dir.path().into()]);
    let gz_log = arts.iter().find(|a| a.kind == ArtifactKind::W3c).unwrap();
    assert_eq!(gz_log.container, Container::Gzip);
    assert_eq!(
        gz_log.key, "WEB01/W3SVC1/u_ex250314.log",
        "same source as the plain log"
    );
    assert!(plain.files.iter().any(|f| f.key == gz_log.key));
    let xml = arts.iter().find(|a| a.key.ends_with("System.xml"));
    assert_eq!(xml.map(|a| a.kind), Some(ArtifactKind::EventXml));

    let t = ingest_artifacts(arts, &IngestOptions::default());
    assert_eq!(t.requests.len(), 25_709);
    assert_eq!(t.requests.len(), plain.requests.len());
    for i in [0, 12_345, 25_708] {
        assert_eq!(t.requests.ts[i], plain.requests.ts[i]);
        assert_eq!(t.requests.uri_stem.get(i), plain.requests.uri_stem.get(i));
        assert_eq!(t.requests.c_ip.get(i), plain.requests.c_ip.get(i));
    }
    assert!(
        t.files.iter().all(|f| f.status == FileStatus::Parsed),
        "{:?}",
        t.files
    );
    // Both members of the event export were read: all 24 of its worker events
    // (21 of crashes, a time recycle and two idle shutdowns).
    // Besides them, the 11 header blocks the log writes again after requests.
    let restarts = |t: &Tables| {
        t.crashes
            .iter()
            .filter(|c| c.kind == CrashKind::LogRestart)
            .count()
    };
    assert_eq!(restarts(&plain), 11);
    assert_eq!(restarts(&t), 11);
    assert_eq!(plain.crashes.len() - restarts(&plain), 24);
    assert_eq!(t.crashes.len() - restarts(&t), 24, "{:?}", t.issues);
}

#[test]
fn a_cut_off_gzip_keeps_what_inflated_and_a_corrupt_one_is_reported() {
    let log = std::fs::read(LOG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(&log);
    put(
        dir.path(),
        "WEB01/W3SVC1/u_ex250314.log.gz",
        &gz[..gz.len() / 2],
    );
    let mut bad = gz[..64].to_vec();
    bad.extend(std::iter::repeat_n(0xA5, 4096));
    put(dir.path(), "WEB02/W3SVC1/u_ex250315.log.gz", &bad);
    // Sound at the start (found as a W3C log), damaged in the middle: read with rejections.
    let mut hurt = gz.clone();
    let mid = hurt.len() / 2;
    hurt[mid..mid + 4096].fill(0xA5);
    put(dir.path(), "WEB03/W3SVC1/u_ex250316.log.gz", &hurt);

    let t = ingest_artifacts(discover(&[dir.path().into()]), &Default::default());
    let cut = t.files.iter().find(|f| f.key.starts_with("WEB01")).unwrap();
    assert_eq!(cut.status, FileStatus::Parsed);
    assert!(cut.rows > 5_000 && cut.rows < 25_709, "{}", cut.rows);
    let warn = t.issues.iter().find(|i| i.code == "truncated_gzip");
    let warn = warn.unwrap_or_else(|| panic!("{:?}", t.issues));
    assert_eq!(warn.file, cut.id);
    assert!(warn.message.contains("cut short"), "{}", warn.message);

    let corrupt = t.files.iter().find(|f| f.key.starts_with("WEB02")).unwrap();
    assert_eq!(corrupt.status, FileStatus::Failed, "{corrupt:?}");
    let why = corrupt.reason.as_deref().unwrap_or_default();
    assert!(why.contains("inflate"), "{why}");
    let hurt = t.files.iter().find(|f| f.key.starts_with("WEB03")).unwrap();
    assert!(hurt.counts.rejected > 1_000, "{hurt:?}");
    // Read again (`--in-memory-limit`): the damaged log rejects the same lines and the cut-off
    // one keeps the same rows, which is no change; the same report.
    let a = crate::windowed::both_ways(&[dir.path().into()], &Default::default());
    assert!(!a.coverage.issues_by_code.contains_key("changed_while_read"));
}
