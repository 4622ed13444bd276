//! Archives read in place: the members of a `.zip` (as `Compress-Archive` writes them, with
//! backslashes) and `.zst` files are the same sources as the files they hold; unsafe and
//! encrypted members, 7-Zip archives and corrupt archives are listed with a reason.

use std::io::Write;
use std::path::Path;
use w3triage::discover::{Container, discover};
use w3triage::ingest::ingest_artifacts;
use w3triage::tables::{ArtifactKind, FileStatus};

const LOG: &str = "samples/outage/WEB01/inetpub/logs/LogFiles/W3SVC1/u_ex250314.log";
const EVENTS: &str = "samples/outage/WEB01/events/System.xml";

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A zip of `(name, bytes, deflate?)` members, names stored as given.
fn zip_of(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, deflate) in members {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_members_are_the_files_they_hold_and_take_their_place_from_the_archive() {
    let log = std::fs::read(LOG).unwrap();
    let events = std::fs::read(EVENTS).unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    put(plain_dir.path(), "WEB01/W3SVC1/u_ex250314.log", &log);
    put(plain_dir.path(), "WEB01/events/System.xml", &events);
    let plain = ingest_artifacts(discover(&[plain_dir.path().into()]), &Default::default());

    // Windows PowerShell 5.1 stores `W3SVC1\u_ex250314.log`; the month's archive is named after
    // the period, so the server comes from the folder above it.
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_of(&[
        ("W3SVC1\\u_ex250314.log", &log, true),
        ("events/System.xml", &events, false),
        ("W3SVC1/", b"", false),
    ]);
    put(dir.path(), "WEB01/logs-2025-03.zip", &zip);
    let arts = discover(&[dir.path().into()]);
    assert_eq!(arts.len(), 2, "the folder entry is not a source: {arts:?}");
    let log_art = arts.iter().find(|a| a.kind == ArtifactKind::W3c).unwrap();
    assert_eq!(log_art.container, Container::Zip);
    assert_eq!(log_art.key, "WEB01/W3SVC1/u_ex250314.log", "{log_art:?}");
    assert!(plain.files.iter().any(|f| f.key == log_art.key));
    assert!(
        log_art
            .source_path()
            .ends_with("logs-2025-03.zip/W3SVC1/u_ex250314.log")
    );

    let t = ingest_artifacts(arts, &Default::default());
    assert!(
        t.files.iter().all(|f| f.status == FileStatus::Parsed),
        "{:?}",
        t.files
    );
    assert_eq!(t.requests.len(), plain.requests.len());
    assert_eq!(t.requests.len(), 25_709);
    for i in [0, 9_999, 25_708] {
        assert_eq!(t.requests.ts[i], plain.requests.ts[i]);
        assert_eq!(t.requests.uri_stem.get(i), plain.requests.uri_stem.get(i));
    }
    assert_eq!(t.crashes.len(), plain.crashes.len());
    // 24 worker events and the 11 header blocks the log writes again after requests.
    assert_eq!(t.crashes.len(), 24 + 11);
    // The archive named after its server places members without folders.
    let dir2 = tempfile::tempdir().unwrap();
    put(
        dir2.path(),
        "farm/WEB07.zip",
        &zip_of(&[("u_ex250314.log", &log[..4096], true)]),
    );
    let a = discover(&[dir2.path().join("farm")]);
    assert_eq!(a[0].server.as_deref(), Some("WEB07"), "{a:?}");
}

#[test]
fn zstd_logs_are_read_like_gzip_ones() {
    let log = std::fs::read(LOG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "WEB01/W3SVC1/u_ex250314.log.zst",
        &zstd::encode_all(&log[..], 3).unwrap(),
    );
    let arts = discover(&[dir.path().into()]);
    assert_eq!(arts[0].container, Container::Zstd);
    assert_eq!(arts[0].key, "WEB01/W3SVC1/u_ex250314.log");
    let t = ingest_artifacts(arts, &Default::default());
    assert_eq!(t.requests.len(), 25_709);

    // Cut in half: what decoded is kept, with a warning.
    let z = zstd::encode_all(&log[..], 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "WEB01/W3SVC1/u_ex250314.log.zst",
        &z[..z.len() / 2],
    );
    let t = ingest_artifacts(discover(&[dir.path().into()]), &Default::default());
    assert!(t.requests.len() > 1_000 && t.requests.len() < 25_709);
    assert!(
        t.issues.iter().any(|i| i.code == "truncated_zstd"),
        "{:?}",
        t.issues
    );
}

#[test]
fn hostile_and_unreadable_archives_are_listed_with_a_reason() {
    let log = std::fs::read(LOG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_of(&[("u_ex250315.log", &log[..2048], true)]);
    let zip = zip_of(&[
        ("old/logs-2025-02.zip", &inner, true),
        ("../../etc/cron.d/evil.log", &log[..2048], true),
        ("..\\..\\evil2.log", &log[..2048], true),
        ("W3SVC1/empty.log", b"", true),
        ("W3SVC1/u_ex250314.log", &log[..100_000], true),
    ]);
    put(dir.path(), "WEB01/a.zip", &zip);
    // Cut off: no central directory.
    put(dir.path(), "WEB02/b.zip", &zip[..zip.len() / 2]);
    put(
        dir.path(),
        "WEB03/c.7z",
        b"7z\xbc\xaf\x27\x1c\x00\x04 and the rest",
    );
    let t = ingest_artifacts(discover(&[dir.path().into()]), &Default::default());
    let by = |needle: &str| {
        t.files
            .iter()
            .find(|f| f.path.to_string_lossy().contains(needle))
            .unwrap_or_else(|| panic!("{needle} not listed: {:?}", t.files))
    };
    for evil in ["evil.log", "evil2.log"] {
        let f = by(evil);
        assert_eq!(f.status, FileStatus::Failed, "{f:?}");
        assert!(f.reason.as_deref().unwrap().contains("leaves the archive"));
    }
    assert_eq!(by("empty.log").status, FileStatus::Skipped);
    let nested = by("logs-2025-02.zip");
    assert_eq!(nested.status, FileStatus::Skipped, "{nested:?}");
    assert!(
        nested
            .reason
            .as_deref()
            .unwrap()
            .contains("extract the outer archive")
    );
    assert_eq!(by("u_ex250314.log").status, FileStatus::Parsed);
    let cut = by("b.zip");
    assert_eq!(cut.status, FileStatus::Failed);
    assert!(
        cut.reason
            .as_deref()
            .unwrap()
            .contains("zip archive that cannot be read")
    );
    let seven = by("c.7z");
    assert_eq!(seven.kind, ArtifactKind::SevenZip);
    assert_eq!(seven.status, FileStatus::Skipped);
    assert!(seven.reason.as_deref().unwrap().contains("7z x"));
    assert_eq!(t.files.len(), 7);
    // Read again (`--in-memory-limit`), the members that failed or were skipped the first time
    // fail or are skipped again: not a change, the same report.
    let a = crate::windowed::both_ways(&[dir.path().into()], &Default::default());
    assert!(!a.coverage.issues_by_code.contains_key("changed_while_read"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// A zip with bytes overwritten anywhere (headers, names, sizes, data) is read without a
    /// panic, and every file found is listed with a status.
    #[test]
    fn a_damaged_zip_never_panics(
        hits in proptest::collection::vec((0.0f64..1.0, proptest::num::u8::ANY), 1..12),
    ) {
        let log = std::fs::read(LOG).unwrap();
        let mut zip = zip_of(&[
            ("W3SVC1\\u_ex250314.log", &log[..60_000], true),
            ("events/System.xml", b"<Event xmlns='x'><System></System></Event>", false),
        ]);
        for (at, byte) in hits {
            let i = ((zip.len() - 1) as f64 * at) as usize;
            zip[i] = byte;
        }
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), "WEB01/logs.zip", &zip);
        let arts = discover(&[dir.path().into()]);
        let n = arts.len();
        let t = ingest_artifacts(arts, &Default::default());
        proptest::prop_assert_eq!(t.files.len(), n);
        proptest::prop_assert!(n >= 1);
    }
}
