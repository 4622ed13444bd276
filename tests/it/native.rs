//! IIS native and NCSA logs reach the requests table; their lines are all accounted for.

use w3triage::ingest::ingest_paths;
use w3triage::tables::{ArtifactKind, FileStatus};

#[test]
fn native_and_ncsa_logs_are_read_into_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("outage/W3SVC2");
    std::fs::create_dir_all(&site).unwrap();
    // The IIS 6 documentation's example, two more lines, and one cut short.
    let native = "192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,\r\n\
192.168.114.201, -, 03/20/01, 7:55:21, W3SVC2, SALES1, 172.21.13.45, 15, 300, 99, 500, 0, POST, /order.asp, id=7,\r\n\
10.0.0.9, CONTOSO\\ann, 03/20/01, 7:56:00, W3SVC2, SALES1, 172.21.13.45, 0, 120, 0, 401, 2148074254, GET, /secure/, -,\r\n\
10.0.0.9, -, 03/20/01, 7:56\r\n";
    std::fs::write(site.join("in010320.log"), native).unwrap();
    let ncsa = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?x=1 HTTP/1.0\" 200 2326\n\
192.0.2.4 - - [10/Oct/2000:13:56:00 -0700] \"POST /login HTTP/1.1\" 302 -\n";
    std::fs::write(site.join("nc001010.log"), ncsa).unwrap();

    let t = ingest_paths(&[tmp.path().join("outage")], &Default::default());
    let kinds: Vec<(ArtifactKind, FileStatus, u64, u64)> = t
        .files
        .iter()
        .map(|f| (f.kind, f.status, f.counts.records, f.counts.rejected))
        .collect();
    assert_eq!(
        kinds,
        [
            (ArtifactKind::IisNative, FileStatus::Parsed, 3, 1),
            (ArtifactKind::Ncsa, FileStatus::Parsed, 2, 0)
        ]
    );
    let r = &t.requests;
    assert_eq!(r.len(), 5);
    assert_eq!(r.uri_stem.get(1), Some("/order.asp"));
    assert_eq!(r.uri_query.get(1), Some("id=7"));
    assert_eq!(r.status.get(1), Some(500));
    assert_eq!(r.time_taken_ms.get(0), Some(4502));
    assert_eq!(r.username.get(2), Some("CONTOSO\\ann"));
    assert_eq!(r.site.get(0), Some("W3SVC2"));
    // The native log names its machine: the folder `outage` is SALES1.
    assert_eq!(r.server.get(0), Some("SALES1"));
    assert_eq!(
        r.server.get(3),
        Some("SALES1"),
        "the NCSA log's folder is the same machine"
    );
    assert_eq!(t.servers.len(), 1, "{:?}", t.servers);
    // NCSA times are converted to UTC with their written offset.
    assert_eq!(r.ts[3], 971_211_336_000);
    assert_eq!(r.status.get(4), Some(302));
    let codes: Vec<&str> = t.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, ["local_time", "bad_line"], "{:?}", t.issues);
}

#[test]
fn ftp_logs_go_to_their_own_table_never_to_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let ftp = tmp.path().join("WEB01/FTPSVC2");
    std::fs::create_dir_all(&ftp).unwrap();
    // IIS 7.5+ FTP: x-session, x-fullpath, x-debug.
    let log = "#Software: Microsoft Internet Information Services 7.5\n\
#Version: 1.0\n\
#Date: 2024-03-01 10:00:00\n\
#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath x-debug\n\
2024-03-01 10:00:00 192.0.2.5 - 10.0.0.5 21 ControlChannelOpened - - 0 0 3a1f2b6e-aaaa - -\n\
2024-03-01 10:00:01 192.0.2.5 - 10.0.0.5 21 USER deploy 331 0 0 3a1f2b6e-aaaa - -\n\
2024-03-01 10:00:02 192.0.2.5 CONTOSO\\deploy 10.0.0.5 21 PASS *** 230 0 0 3a1f2b6e-aaaa / -\n\
2024-03-01 10:00:05 192.0.2.5 CONTOSO\\deploy 10.0.0.5 21 STOR /site/web.config 550 5 1 3a1f2b6e-aaaa /site/web.config Access+is+denied.\n";
    std::fs::write(ftp.join("u_ex240301.log"), log).unwrap();
    // IIS 4's FTP service: `[session]COMMAND`, no date field.
    std::fs::copy(
        crate::w3c::fixture("lnav/logfile_w3c.2"),
        tmp.path().join("WEB01/ftp-iis4.log"),
    )
    .unwrap();

    let t = ingest_paths(&[tmp.path().into()], &Default::default());
    assert_eq!(t.requests.len(), 0, "FTP commands are not web requests");
    let kinds: Vec<ArtifactKind> = t.files.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [ArtifactKind::Ftp, ArtifactKind::Ftp]);
    let modern: Vec<_> = t
        .ftp
        .iter()
        .filter(|r| r.session.as_deref() == Some("3a1f2b6e-aaaa"))
        .collect();
    assert_eq!(modern.len(), 4);
    let stor = modern[3];
    assert_eq!(stor.command.as_deref(), Some("STOR"));
    assert_eq!(
        (stor.status, stor.win32_status, stor.substatus),
        (Some(550), Some(5), Some(1))
    );
    assert_eq!(stor.full_path.as_deref(), Some("/site/web.config"));
    assert_eq!(stor.username.as_deref(), Some("CONTOSO\\deploy"));
    assert_eq!(stor.server.as_deref(), Some("WEB01"));
    let old: Vec<_> = t.ftp.iter().filter(|r| r.file != stor.file).collect();
    assert!(old.len() > 10, "{}", old.len());
    assert_eq!(
        (old[0].session.as_deref(), old[0].command.as_deref()),
        (Some("2"), Some("USER"))
    );
    assert_eq!(old[0].path.as_deref(), Some("anonymous"));
    assert!(
        t.files
            .iter()
            .all(|f| f.rows == f.counts.records && f.counts.rejected == 0)
    );
}

#[test]
fn native_local_times_are_converted_with_the_servers_offset() {
    use w3triage::discover::discover;
    use w3triage::ingest::{IngestOptions, finish, ingest_into};
    use w3triage::tables::{CrashRow, EvidenceSource, Tables};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("WEB01");
    std::fs::create_dir_all(&dir).unwrap();
    let line = "10.0.0.9, -, 03/20/2001, 7:55:20, W3SVC2, WEB01, 172.21.13.45, 15, 300, 99, 200, 0, GET, /a.htm, -,\n";
    std::fs::write(dir.join("in010320.log"), line).unwrap();
    let as_written = 985_074_920_000; // 2001-03-20T07:55:20 read as UTC
    let run = |opts: &IngestOptions, dump_offset: Option<i32>| {
        let mut t = Tables::default();
        ingest_into(discover(std::slice::from_ref(&dir)), opts, &mut t);
        if let Some(o) = dump_offset {
            t.crashes.push(CrashRow {
                server: Some("WEB01".into()),
                source: Some(EvidenceSource::Dump),
                utc_offset_min: Some(o),
                ..Default::default()
            });
        }
        finish(&mut t, opts);
        let msg = t
            .issues
            .iter()
            .find(|i| i.code == "local_time")
            .unwrap()
            .message
            .clone();
        (t.requests.ts[0], msg)
    };
    // Nothing says the offset: as written, and said.
    let (ts, msg) = run(&IngestOptions::default(), None);
    assert_eq!(ts, as_written);
    assert!(msg.contains("stored as written"), "{msg}");
    // --tz +01:00: 07:55:20 local is 06:55:20 UTC.
    let tz = IngestOptions {
        tz_min: Some(60),
        ..Default::default()
    };
    let (ts, msg) = run(&tz, None);
    assert_eq!(ts, as_written - 3_600_000);
    assert!(msg.ends_with("at UTC+01:00 from --tz"), "{msg}");
    // A dump of the same server written at UTC-05:00 wins over --tz.
    let (ts, msg) = run(&tz, Some(-300));
    assert_eq!(ts, as_written + 5 * 3_600_000);
    assert!(
        msg.contains("UTC-05:00 from the time zone of the dumps of the same server (WEB01)"),
        "{msg}"
    );
}
