//! Windows event exports → `crashes` rows, on the fixtures in `tests/fixtures/events/`
//! (hand-written from the documented formats, plus one `.evtx` sample from the evtx crate; see
//! `tests/fixtures/NOTICE.md`).

use proptest::prelude::*;
use std::path::PathBuf;
use w3triage::ingest::events::parse;
use w3triage::tables::{ArtifactKind, CrashRow, EvidenceSource, FileCtx, Parsed, Severity};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

fn ctx(name: &str) -> FileCtx {
    FileCtx {
        id: 7,
        path: fixture(name),
        server: Some("from-folder".into()),
        site: None,
    }
}

fn load(name: &str, kind: ArtifactKind) -> Parsed {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    parse(&ctx(name), kind, &bytes)
}

fn parse_str(kind: ArtifactKind, text: &str) -> Parsed {
    parse(&ctx("inline"), kind, text.as_bytes())
}

/// UTC ms of an RFC 3339 time.
fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn codes(p: &Parsed) -> Vec<&'static str> {
    p.issues.iter().map(|i| i.code).collect()
}

fn by_id(p: &Parsed, id: u32) -> Vec<&CrashRow> {
    p.crashes
        .iter()
        .filter(|r| r.event_id == Some(id))
        .collect()
}

#[test]
fn wevtutil_system_export_was_sequence() {
    let p = load("system-was-wevtutil.xml", ArtifactKind::EventXml);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    // 6 events: 7036 (SCM) is valid noise; 5186 (idle shutdown) is a lifecycle row.
    assert_eq!(
        (
            p.counts.lines,
            p.counts.records,
            p.counts.directives,
            p.counts.rejected
        ),
        (6, 5, 1, 0)
    );
    assert!(p.counts.balanced());
    assert_eq!(p.server.as_deref(), Some("WEB01.contoso.local"));
    let kinds: Vec<(&str, Option<u32>)> = p
        .crashes
        .iter()
        .map(|r| (r.kind.name(), r.event_id))
        .collect();
    assert_eq!(
        kinds,
        [
            ("idle_shutdown", Some(5186)),
            ("crash", Some(5011)),
            ("crash", Some(5009)),
            ("crash", Some(5009)),
            ("disabled", Some(5002))
        ]
    );
    // The worker family names the pid first.
    let idle = &p.crashes[0];
    assert_eq!(
        (idle.pid, idle.app_pool.as_deref()),
        (Some(6120), Some("ReportsPool"))
    );

    let comm = &p.crashes[1];
    assert_eq!(comm.app_pool.as_deref(), Some("ShopPool"));
    assert_eq!(comm.pid, Some(7024), "WAS pids are decimal");
    assert_eq!(
        comm.exit_code,
        Some(0x8007_006D),
        "5011 error number is the LE DWORD in <Binary>"
    );
    assert_eq!(comm.ts, Some(utc("2024-03-05T10:15:30.123Z")));
    assert_eq!(comm.provider.as_deref(), Some("Microsoft-Windows-WAS"));
    assert_eq!(comm.source, Some(EvidenceSource::Event));
    assert_eq!(
        comm.server.as_deref(),
        Some("WEB01.contoso.local"),
        "Computer wins over the folder guess"
    );
    assert_eq!(comm.file, 7);
    assert_eq!(comm.process_name.as_deref(), Some("w3wp.exe"));

    let exit = &p.crashes[2];
    assert_eq!((exit.pid, exit.exit_code), (Some(7024), Some(0xc000_0005)));
    assert_eq!(exit.ts, Some(utc("2024-03-05T10:15:30.500Z")));
    assert_eq!(
        exit.detail.as_deref(),
        Some(
            "A process serving application pool 'ShopPool' terminated unexpectedly. The process id was '7024'. The process exit code was '0xc0000005'."
        )
    );
    // The second 5009's exit code `ff` is hex (the template is '0x%3').
    assert_eq!(
        (p.crashes[3].pid, p.crashes[3].exit_code),
        (Some(7311), Some(0xff))
    );
    let disabled = &p.crashes[4];
    assert_eq!(
        (disabled.app_pool.as_deref(), disabled.pid),
        (Some("ShopPool"), None)
    );
    assert_eq!(disabled.ts, Some(utc("2024-03-05T10:18:02.999Z")));

    // Offsets are byte offsets of each `<Event`; the file is one line (wevtutil writes no newlines).
    let text = std::fs::read_to_string(fixture("system-was-wevtutil.xml")).unwrap();
    for r in &p.crashes {
        assert!(
            text[r.offset as usize..].starts_with("<Event "),
            "offset {}",
            r.offset
        );
    }
    assert!(p.crashes.windows(2).all(|w| w[0].offset < w[1].offset));
}

#[test]
fn wrapped_application_export() {
    let p = load("application-events.xml", ArtifactKind::EventXml);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!(
        (p.counts.lines, p.counts.records, p.counts.directives),
        (7, 6, 1)
    );
    assert!(p.counts.balanced());

    let errs = by_id(&p, 1000);
    assert_eq!(errs.len(), 3);
    // Named-Data form (Windows Server 2016).
    let a = errs[0];
    assert_eq!(a.kind.name(), "crash");
    assert_eq!(a.provider.as_deref(), Some("Application Error"));
    assert_eq!(a.process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(
        a.pid,
        Some(0x1b70),
        "Application Error pids are hex: 0x1b70 = 7024, the WAS pid"
    );
    assert_eq!(a.pid, Some(7024));
    assert_eq!(a.faulting_module.as_deref(), Some("ntdll.dll"));
    assert_eq!(
        a.faulting_module_version.as_deref(),
        Some("10.0.14393.2608")
    );
    assert_eq!(a.exception_code, Some(0xc000_0005));
    assert_eq!(a.fault_offset, Some(0x65553));
    assert_eq!(
        a.process_start,
        Some(utc("2024-03-05T08:00:00Z")),
        "FILETIME start time"
    );
    assert_eq!(a.ts, Some(utc("2024-03-05T10:15:29.887Z")));
    assert_eq!(bucket_of(&p, a), Some("c0000005_ntdll.dll+0x65553".into()));
    let d = a.detail.as_deref().unwrap();
    assert!(
        d.contains("app path c:\\windows\\system32\\inetsrv\\w3wp.exe"),
        "{d}"
    );
    assert!(
        d.contains("report id a671f20d-940a-4890-aae0-598f854e0c9f"),
        "{d}"
    );

    // Unnamed positional form (2008 R2): same order, hex without 0x.
    let b = errs[1];
    assert_eq!(b.pid, Some(0x1c8f));
    assert_eq!(b.faulting_module.as_deref(), Some("LegacyFilter.dll"));
    assert_eq!(b.faulting_module_version.as_deref(), Some("2.1.0.7"));
    assert_eq!(b.exception_code, Some(0xc000_0374));
    assert_eq!(b.fault_offset, Some(0xc40f2));
    assert_eq!(b.process_start, Some(utc("2024-03-05T09:12:34.567Z")));

    // One-line text form (Vista / 2008).
    let c = errs[2];
    assert_eq!(c.process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(c.faulting_module.as_deref(), Some("kernel32.dll"));
    assert_eq!(c.faulting_module_version.as_deref(), Some("6.0.6001.18000"));
    assert_eq!(c.exception_code, Some(0xe053_534f));
    assert_eq!(c.fault_offset, Some(0x442eb));
    assert_eq!(c.pid, Some(0xd54));
    assert_eq!(c.process_start, Some(utc("2024-03-05T08:00:00Z")));

    let wer = by_id(&p, 1001);
    assert_eq!(wer.len(), 1);
    let w = wer[0];
    assert_eq!(w.kind.name(), "report");
    assert_eq!(w.process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(w.faulting_module.as_deref(), Some("ntdll.dll"));
    assert_eq!(
        (w.exception_code, w.fault_offset),
        (Some(0xc000_0005), Some(0x65553))
    );
    assert_eq!(
        bucket_of(&p, w),
        bucket_of(&p, a),
        "WER 1001 and Application Error 1000 group together"
    );
    let d = w.detail.as_deref().unwrap();
    assert!(
        d.contains("dump C:\\inetpub\\dumps\\w3wp.exe.7024.dmp"),
        "{d}"
    );
    assert!(d.contains("fault bucket 1583049188932141337"), "{d}");
    assert!(d.contains("archive C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportArchive\\AppCrash_w3wp.exe_9f3e2a1b_cab_0b5e3c7d"), "{d}");

    let clr = by_id(&p, 1026);
    assert_eq!(clr.len(), 1);
    assert_eq!(clr[0].kind.name(), "crash");
    assert_eq!(clr[0].process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(
        clr[0].exception_name.as_deref(),
        Some("System.StackOverflowException")
    );
    let d = clr[0].detail.as_deref().unwrap();
    assert!(d.contains("Framework Version: v4.0.30319"), "{d}");
    assert!(
        d.contains("at Contoso.Shop.Pricing.Rules.Evaluate(Contoso.Shop.Cart)"),
        "{d}"
    );
    assert_eq!(
        d.matches("at Contoso").count(),
        5,
        "stack head is capped at 5 frames: {d}"
    );

    let web = by_id(&p, 1309);
    assert_eq!(web.len(), 1);
    let e = web[0];
    assert_eq!(e.kind.name(), "unhandled_exception");
    assert_eq!(e.provider.as_deref(), Some("ASP.NET 4.0.30319.0"));
    assert_eq!(e.pid, Some(7024), "1309 pid is decimal");
    assert_eq!(e.process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(e.exception_name.as_deref(), Some("HttpException"));
    assert_eq!(
        e.detail.as_deref(),
        Some(
            "site W3SVC2; url https://shop.contoso.com/cart/checkout?step=3; HttpException: Request timed out.; app domain /LM/W3SVC/2/ROOT-1-133540212345678901; event code 3005"
        )
    );
    // Rows come in file order, with the line of each event.
    let lines: Vec<u64> = p.crashes.iter().map(|r| r.offset).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn get_winevent_one_per_line_and_iis6() {
    let p = load("getwinevent-toxml.xml", ArtifactKind::EventXml);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!((p.counts.lines, p.counts.records), (4, 4));
    assert_eq!(p.server.as_deref(), Some("WEB02"));
    let k: Vec<&str> = p.crashes.iter().map(|r| r.kind.name()).collect();
    assert_eq!(k, ["hang", "shutdown_timeout", "crash", "unhealthy"]);
    assert_eq!(
        (p.crashes[0].app_pool.as_deref(), p.crashes[0].pid),
        (Some("ApiPool"), Some(9920))
    );
    assert_eq!(p.crashes[1].ts, Some(utc("2024-03-06T02:01:41.300Z")));
    // IIS 6 W3SVC 1009, unnamed Data: pool, decimal pid, hex exit code (CLR 1.x–3.5 unhandled).
    let iis6 = &p.crashes[2];
    assert_eq!(iis6.provider.as_deref(), Some("W3SVC"));
    assert_eq!(
        (iis6.app_pool.as_deref(), iis6.pid, iis6.exit_code),
        (Some("DefaultAppPool"), Some(3908), Some(0xe043_4f4d))
    );
    assert_eq!(
        p.crashes[3].detail.as_deref(),
        Some("ISAPI C:\\isapi\\Gateway.dll reported itself unhealthy: backend pool exhausted")
    );
    // Line numbers: one event per line.
    let text = std::fs::read_to_string(fixture("getwinevent-toxml.xml")).unwrap();
    let line_starts: Vec<u64> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i as u64 + 1))
        .take(4)
        .collect();
    assert_eq!(
        p.crashes.iter().map(|r| r.offset).collect::<Vec<_>>(),
        line_starts
    );
}

#[test]
fn evtx_dump_json_lines() {
    let p = load("evtx_dump.jsonl", ArtifactKind::EventJson);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!(
        (
            p.counts.lines,
            p.counts.records,
            p.counts.directives,
            p.counts.blank
        ),
        (5, 3, 1, 1)
    );
    assert!(p.counts.balanced());
    assert_eq!(p.server.as_deref(), Some("APP03"));
    let was = &by_id(&p, 5009)[0];
    assert_eq!(
        (was.app_pool.as_deref(), was.pid, was.exit_code),
        (Some("BillingPool"), Some(5376), Some(0xe043_4352))
    );
    assert_eq!(was.ts, Some(utc("2024-03-07T14:02:03.250Z")));
    assert_eq!(was.offset, 0);
    let app = &by_id(&p, 1000)[0];
    assert_eq!(app.pid, Some(0x1500));
    assert_eq!(app.pid, was.pid, "0x1500 = 5376: the same worker");
    assert_eq!(app.faulting_module.as_deref(), Some("KERNELBASE.dll"));
    assert_eq!(app.fault_offset, Some(0x3b699));
    assert_eq!(
        bucket_of(&p, app),
        Some("e0434352_kernelbase.dll+0x3b699".into())
    );
    let clr = &by_id(&p, 1026)[0];
    assert_eq!(
        clr.exception_name.as_deref(),
        Some("System.InvalidOperationException")
    );
    assert!(
        clr.detail
            .as_deref()
            .unwrap()
            .contains("at Billing.Invoices.Build(Order o)")
    );
    // The 1026 line is the 4th line, after a blank one.
    let text = std::fs::read_to_string(fixture("evtx_dump.jsonl")).unwrap();
    assert!(text[clr.offset as usize..].starts_with("{\"Event\""));
    assert_eq!(text[..clr.offset as usize].matches('\n').count(), 3);
}

#[test]
fn malformed_xml_issues_and_valid_events_still_read() {
    let p = load("malformed.xml", ArtifactKind::EventXml);
    assert!(p.counts.balanced(), "{:?}", p.counts);
    // garbage, 5010, 5009 (foreign ns), 5002 (no time), broken XML, no EventID, truncated.
    assert_eq!(
        (p.counts.lines, p.counts.records, p.counts.rejected),
        (7, 3, 4),
        "{:?}",
        p.counts
    );
    let kinds: Vec<(&str, Option<u32>)> =
        p.crashes.iter().map(|r| (r.kind.name(), r.pid)).collect();
    assert_eq!(
        kinds,
        [
            ("hang", Some(4100)),
            ("crash", Some(4101)),
            ("disabled", None)
        ]
    );
    assert_eq!(p.crashes[1].exit_code, Some(0xc000_00fd));
    assert_eq!(
        p.crashes[2].ts, None,
        "no TimeCreated: row kept without a time"
    );
    let mut c = codes(&p);
    c.sort();
    assert_eq!(
        c,
        [
            "event_namespace",
            "incomplete_event",
            "no_timestamp",
            "not_an_event",
            "truncated_event",
            "xml_syntax"
        ]
    );
    let issue = |code: &str| p.issues.iter().find(|i| i.code == code).unwrap();
    assert_eq!(issue("not_an_event").line, Some(1));
    assert_eq!(issue("not_an_event").offset, Some(0));
    assert_eq!(issue("no_timestamp").line, Some(4));
    assert_eq!(issue("no_timestamp").severity, Severity::Warning);
    assert_eq!(issue("xml_syntax").line, Some(5));
    assert_eq!(issue("xml_syntax").severity, Severity::Error);
    assert_eq!(issue("incomplete_event").line, Some(6));
    assert!(issue("incomplete_event").message.contains("EventID"));
    assert_eq!(issue("truncated_event").line, Some(7));
    assert!(
        issue("event_namespace")
            .message
            .contains("urn:example:not-the-event-schema")
    );
}

#[test]
fn truncated_in_the_middle_and_garbage_between() {
    let good = std::fs::read_to_string(fixture("getwinevent-toxml.xml")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    // The first event loses its tail; the next starts on the following line.
    let cut = format!(
        "{}\n{}\n#garbage#\n{}",
        &lines[0][..200],
        lines[1],
        lines[2]
    );
    let p = parse_str(ArtifactKind::EventXml, &cut);
    assert_eq!(
        (p.counts.lines, p.counts.records, p.counts.rejected),
        (4, 2, 2),
        "{:?}",
        p.issues
    );
    assert_eq!(codes(&p), ["truncated_event", "not_an_event"]);
    assert_eq!(p.issues[1].line, Some(3));
    assert!(p.issues[1].message.contains("#garbage#"));
}

#[test]
fn utf16_export_is_read() {
    let text = std::fs::read_to_string(fixture("getwinevent-toxml.xml")).unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let p = parse(&ctx("utf16"), ArtifactKind::EventXml, &bytes);
    assert_eq!(p.crashes.len(), 4);
    assert_eq!(codes(&p), ["transcoded"]);
}

#[test]
fn empty_and_non_event_inputs() {
    let p = parse_str(ArtifactKind::EventXml, "");
    assert_eq!(codes(&p), ["no_events"]);
    assert!(p.counts.balanced());
    let p = parse_str(ArtifactKind::EventXml, "<Events>\n</Events>\n");
    assert_eq!(codes(&p), ["no_events"]);
    let p = parse_str(ArtifactKind::EventJson, "{\"Event\": 3}\nnot json\n\n");
    assert_eq!(codes(&p), ["incomplete_event", "json_syntax"]);
    assert_eq!(
        (p.counts.lines, p.counts.rejected, p.counts.blank),
        (3, 2, 1)
    );
    let p = parse(
        &ctx("x.evtx"),
        ArtifactKind::Evtx,
        b"ElfFile\0 but nothing else",
    );
    assert!(codes(&p).contains(&"unreadable"), "{:?}", p.issues);
    assert!(p.counts.balanced());
}

#[test]
fn no_computer_falls_back_to_folder_server() {
    let x = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WAS'/><EventID>5002</EventID><TimeCreated SystemTime='2024-03-05T10:18:02Z'/></System><EventData><Data Name='AppPoolID'>P</Data></EventData></Event>";
    let p = parse_str(ArtifactKind::EventXml, x);
    assert_eq!(p.crashes[0].server.as_deref(), Some("from-folder"));
    assert_eq!(p.server, None);
}

#[test]
fn oversized_event_is_rejected_not_parsed() {
    let big = "x".repeat(600 * 1024);
    let x = format!(
        "<Event><System><Provider Name='A'/><EventID>1</EventID></System><EventData><Data>{big}</Data></EventData></Event>"
    );
    let p = parse_str(ArtifactKind::EventXml, &x);
    assert_eq!(codes(&p), ["event_too_large"]);
    assert_eq!(p.counts.rejected, 1);
}

#[test]
fn evtx_sample_from_the_evtx_crate() {
    let p = load("Application_no_crc32.evtx", ArtifactKind::Evtx);
    // evtx_dump reads 17 records from this file (notes §3.3); so do we, all well-formed.
    assert_eq!(p.counts.lines, 17, "{:?}", p.issues);
    assert_eq!(p.counts.rejected, 0, "{:?}", p.issues);
    assert!(p.counts.balanced());
    // No IIS / crash events in this Application log sample.
    assert_eq!(p.crashes.len(), 0);
    assert_eq!(p.counts.directives, 17);
    assert_eq!(
        p.server.as_deref(),
        Some("DESKTOP-0HIJB49"),
        "one Computer in the whole file"
    );
    assert!(p.issues.is_empty(), "{:?}", p.issues);
}

#[test]
fn evtx_truncated_file_keeps_issues_specific() {
    let bytes = std::fs::read(fixture("Application_no_crc32.evtx")).unwrap();
    // Header + half of the first chunk: the chunk cannot be read.
    let p = parse(
        &ctx("cut.evtx"),
        ArtifactKind::Evtx,
        &bytes[..4096 + 32 * 1024],
    );
    assert!(p.counts.balanced());
    assert_eq!(p.crashes.len(), 0);
    assert_eq!(codes(&p), ["truncated_chunk"]);
    assert_eq!(p.issues[0].offset, Some(4096));
    // Corrupt the middle of the first chunk's records.
    let mut bad = bytes.clone();
    for b in &mut bad[4096 + 0x200 + 3000..4096 + 0x200 + 9000] {
        *b = 0xA5;
    }
    let p = parse(&ctx("bad.evtx"), ArtifactKind::Evtx, &bad);
    assert!(p.counts.balanced());
    // Records 429, 436, 437, 442 and one whose header is gone fail; the other 7 of chunk 0 are read.
    assert_eq!(
        (p.counts.lines, p.counts.directives, p.counts.rejected),
        (12, 7, 5),
        "{:?}",
        p.counts
    );
    assert!(
        p.issues.iter().all(|i| i.code == "corrupt_record"),
        "{:?}",
        p.issues
    );
    assert!(
        p.issues[0].message.contains("record number 429"),
        "{:?}",
        p.issues[0]
    );
}

#[test]
fn fixtures_are_classified_as_event_exports() {
    use w3triage::discover::classify;
    for (name, kind) in [
        ("system-was-wevtutil.xml", ArtifactKind::EventXml),
        ("application-events.xml", ArtifactKind::EventXml),
        ("getwinevent-toxml.xml", ArtifactKind::EventXml),
        ("malformed.xml", ArtifactKind::Unknown),
        ("evtx_dump.jsonl", ArtifactKind::EventJson),
        ("Application_no_crc32.evtx", ArtifactKind::Evtx),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let head = &bytes[..bytes.len().min(4096)];
        assert_eq!(classify(head, &fixture(name)), kind, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), k in 0usize..3) {
        let kind = [ArtifactKind::EventXml, ArtifactKind::EventJson, ArtifactKind::Evtx][k];
        let p = parse(&FileCtx::default(), kind, &bytes);
        prop_assert!(p.counts.balanced());
    }

    #[test]
    fn mutated_exports_never_panic(cut in 0usize..4522, flip in 0usize..4522, byte in any::<u8>()) {
        let mut b = std::fs::read(fixture("system-was-wevtutil.xml")).unwrap();
        let f = flip % b.len();
        b[f] = byte;
        b.truncate(cut.min(b.len()));
        let p = parse(&FileCtx::default(), ArtifactKind::EventXml, &b);
        prop_assert!(p.counts.balanced());
        prop_assert!(p.crashes.len() as u64 == p.counts.records);
    }
}

#[test]
fn many_unclosed_events_stay_linear() {
    // 100k starts, no `</Event>` and no `>`: a per-event search to EOF would be quadratic.
    let x = "<Event a".repeat(100_000);
    let t = std::time::Instant::now();
    let p = parse_str(ArtifactKind::EventXml, &x);
    assert_eq!((p.counts.lines, p.counts.rejected), (100_000, 100_000));
    assert!(p.issues.iter().all(|i| i.code == "truncated_event"));
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
}

/// The failure bucket analysis gives crash row `row` of `p` (a row of `p.crashes`).
fn bucket_of(p: &w3triage::tables::Parsed, row: &w3triage::tables::CrashRow) -> Option<String> {
    let i = p
        .crashes
        .iter()
        .position(|c| std::ptr::eq(c, row))
        .expect("a row of p");
    let j = w3triage::analyze::judge::Judgments::of(&p.crashes, &p.frames, &p.threads);
    j.bucket(i).map(str::to_string)
}

/// A managed crash named from its events: the WAS 5011, the Application Error 1000 (CLR
/// exception code, pid in hex) and the .NET Runtime 1026 (here in German) make one incident
/// whose verdict names the exception type and method, with advice that fits the type.
#[test]
fn a_managed_crash_is_named_by_its_exception_type_and_method() {
    use w3triage::analyze::{AnalyzeOptions, analyze};
    let ev = |provider: &str, id: u32, time: &str, data: &str| {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{provider}'/><EventID Qualifiers='0'>{id}</EventID><Level>2</Level><TimeCreated SystemTime='{time}'/><Channel>x</Channel><Computer>WEB01</Computer></System><EventData>{data}</EventData></Event>\n"
        )
    };
    let was = ev(
        "Microsoft-Windows-WAS",
        5011,
        "2024-03-05T10:21:13.0000000Z",
        "<Data Name='AppPoolID'>FilesPool</Data><Data Name='ProcessID'>4100</Data>",
    );
    let app_error = ev(
        "Application Error",
        1000,
        "2024-03-05T10:21:12.8000000Z",
        "<Data Name='AppName'>w3wp.exe</Data><Data Name='AppVersion'>10.0.17763.1</Data><Data Name='ModuleName'>KERNELBASE.dll</Data><Data Name='ModuleVersion'>10.0.17763.1</Data><Data Name='ExceptionCode'>e0434352</Data><Data Name='FaultingOffset'>0000000000039319</Data><Data Name='ProcessId'>0x1004</Data>",
    );
    let clr = ev(
        ".NET Runtime",
        1026,
        "2024-03-05T10:21:12.7000000Z",
        "<Data>Anwendung: w3wp.exe\nFrameworkversion: v4.0.30319\nBeschreibung: Der Prozess wurde aufgrund einer unbehandelten Ausnahme beendet.\nAusnahmeinformationen: System.OutOfMemoryException\n   bei System.IO.MemoryStream.set_Capacity(Int32)\n   bei Contoso.Files.Upload.Save(System.Web.HttpPostedFile)\n</Data>",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("WEB01/events");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("System.xml"), was).unwrap();
    std::fs::write(dir.join("Application.xml"), format!("{app_error}{clr}")).unwrap();

    let t = w3triage::ingest::ingest_paths(&[tmp.path().into()], &Default::default());
    let a = analyze(&t, &AnalyzeOptions::default());
    assert_eq!(a.incidents.len(), 1, "{:?}", a.incidents);
    let inc = &a.incidents[0];
    let m = inc
        .managed_exception
        .as_ref()
        .expect("managed exception named");
    assert_eq!(m.type_name, "System.OutOfMemoryException");
    // The application's own frame, not the framework's above it.
    assert_eq!(m.method.as_deref(), Some("Contoso.Files.Upload.Save"));
    assert!(m.terminated);
    // The managed suspect is named by its type, not as "unhandled .NET exception".
    let s = a
        .suspects
        .iter()
        .find(|s| s.kind == w3triage::analyze::SuspectKind::ManagedCode);
    assert_eq!(
        s.map(|s| s.name.as_str()),
        Some("System.OutOfMemoryException"),
        "{:?}",
        a.suspects
    );
    let reason = s.map(|s| s.reason.as_str()).unwrap_or_default();
    assert!(
        reason.starts_with(
            "System.OutOfMemoryException (an unhandled .NET exception) ended 1 of 1 crash"
        ),
        "{reason}"
    );
    let verdict = inc.verdict.as_deref().unwrap_or_default();
    assert!(
        verdict.starts_with("System.OutOfMemoryException in Contoso.Files.Upload.Save — unhandled, process terminated."),
        "{verdict}"
    );
    assert!(
        a.summary
            .headline
            .contains("1 of 1 crashes: System.OutOfMemoryException in Contoso.Files.Upload.Save"),
        "{}",
        a.summary.headline
    );
    let advice = a
        .recommendations
        .iter()
        .find(|r| r.action.starts_with("System.OutOfMemoryException (I1)"));
    let advice = advice.unwrap_or_else(|| panic!("{:?}", a.recommendations));
    assert!(advice.action.contains("request sizes"), "{}", advice.action);
    assert!(
        advice
            .commands
            .iter()
            .any(|c| c.contains("maxAllowedContentLength"))
    );
}
