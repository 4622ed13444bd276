//! HTTPERR parser on real fixtures: filebeat expected documents and plaso assertions.

use crate::w3c::{expected, n, read, s, strip_zone, ts_of};
use w3triage::ingest::httperr::{parse, parse_chunked};
use w3triage::tables::{FileCtx, Parsed, Severity};

fn parse_file(rel: &str) -> Parsed {
    let bytes = read(rel);
    let p = parse(&FileCtx::default(), &bytes);
    assert!(p.counts.balanced(), "{rel}: {:?}", p.counts);
    let c = parse_chunked(&FileCtx::default(), &bytes, 50);
    assert_eq!(c.httperr, p.httperr, "{rel}: chunked parse differs");
    assert_eq!(c.issues, p.issues, "{rel}");
    p
}

fn check_error(rel: &str) {
    let p = parse_file(rel);
    let docs = expected(rel);
    let h = &p.httperr;
    assert_eq!(h.len(), docs.len(), "{rel}");
    assert!(
        p.issues.iter().all(|i| i.severity != Severity::Error),
        "{rel}: {:?}",
        p.issues
    );
    for (i, d) in docs.iter().enumerate() {
        let ctx = format!("{rel} doc {i}");
        assert_eq!(h.ts[i], ts_of(d), "{ctx} ts");
        assert_eq!(h.offset[i], n(d, "log.offset").unwrap(), "{ctx} offset");
        assert_eq!(h.c_ip.get(i), s(d, "source.address"), "{ctx}");
        assert_eq!(h.c_ip.get(i).map(strip_zone), s(d, "source.ip"), "{ctx}");
        assert_eq!(h.c_port.get(i).map(u64::from), n(d, "source.port"), "{ctx}");
        assert_eq!(h.s_ip.get(i), s(d, "destination.address"), "{ctx}");
        assert_eq!(
            h.s_ip.get(i).map(strip_zone),
            s(d, "destination.ip"),
            "{ctx}"
        );
        assert_eq!(
            h.s_port.get(i).map(u64::from),
            n(d, "destination.port"),
            "{ctx}"
        );
        assert_eq!(
            h.version.get(i).map(|v| v.trim_start_matches("HTTP/")),
            s(d, "http.version"),
            "{ctx} version"
        );
        assert_eq!(h.method.get(i), s(d, "http.request.method"), "{ctx} method");
        assert_eq!(h.uri.get(i), s(d, "url.original"), "{ctx} uri");
        assert_eq!(
            h.status.get(i).map(u64::from),
            n(d, "http.response.status_code"),
            "{ctx} status"
        );
        assert_eq!(
            h.reason.get(i),
            s(d, "iis.error.reason_phrase"),
            "{ctx} reason"
        );
        assert_eq!(h.queue.get(i), s(d, "iis.error.queue_name"), "{ctx} queue");
    }
}

#[test]
fn httperr_filebeat_test_log() {
    check_error("filebeat/error/test.log");
}

#[test]
fn httperr_filebeat_url_oddities() {
    check_error("filebeat/error/iis_error_url.log");
}

#[test]
fn httperr_filebeat_ipv6_zone_streamid() {
    check_error("filebeat/error/ipv6_zone_id.log");
}

#[test]
fn httperr_filebeat_doc_sample() {
    let p = parse_file("filebeat/error/error.log");
    assert!(p.counts.records > 0);
    assert!(
        p.issues.iter().all(|i| i.severity != Severity::Error),
        "{:?}",
        p.issues
    );
}

fn iso(p: &Parsed, i: usize) -> String {
    chrono::DateTime::from_timestamp_millis(p.httperr.ts[i])
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[test]
fn httperr_plaso_newest_fields() {
    let p = parse_file("plaso/httperr/httperr.log");
    assert_eq!(p.httperr.len(), 5);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    let h = &p.httperr;
    assert_eq!(h.s_ip.get(0), Some("127.0.0.1"));
    assert_eq!(h.s_port.get(0), Some(8123));
    assert_eq!(h.extended_fault_code.get(0), None);
    assert_eq!(h.fault_code.get(0), None);
    assert_eq!(h.method.get(0), Some("GET"));
    assert_eq!(h.status.get(0), Some(400));
    assert_eq!(iso(&p, 0), "2026-10-07T12:24:54+00:00");
    assert_eq!(h.version.get(0), Some("HTTP/1.1"));
    assert_eq!(h.queue.get(0), None);
    assert_eq!(h.reason.get(0), Some("Hostname"));
    assert_eq!(h.uri.get(0), Some("/test'XOR(1)*!"));
    assert_eq!(h.site_id.get(0), None);
    assert_eq!(h.c_ip.get(0), Some("127.0.0.1"));
    assert_eq!(h.c_port.get(0), Some(54517));
    assert_eq!(h.stream_id.get(0), None);
    assert_eq!(h.transport.get(0), Some("TCP"));
    // A request rejected before method, URI and version could be parsed.
    assert_eq!(
        (
            h.method.get(2),
            h.status.get(2),
            h.version.get(2),
            h.uri.get(2)
        ),
        (None, Some(400), None, None)
    );
    assert_eq!(iso(&p, 2), "2026-10-07T12:24:55+00:00");
    assert_eq!(
        (h.reason.get(2), h.c_port.get(2)),
        (Some("Verb"), Some(54519))
    );
}

#[test]
fn httperr_plaso_restart() {
    let p = parse_file("plaso/httperr/httperr_restart.log");
    assert_eq!(p.httperr.len(), 6);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    let h = &p.httperr;
    assert_eq!(
        (h.status.get(1), iso(&p, 1).as_str()),
        (None, "2025-03-14T08:02:15+00:00")
    );
    assert_eq!(
        (
            h.reason.get(1),
            h.uri.get(1),
            h.c_ip.get(1),
            h.transport.get(1)
        ),
        (Some("Timer_ConnectionIdle"), None, Some("192.0.2.11"), None)
    );
    assert_eq!(
        h.uri.get(3),
        Some("/(select+198766*667891)/index.js#frag{}|^~[]`<>@$")
    );
    assert_eq!(h.s_ip.get(4), Some("2001:db8::1"));
    assert_eq!(
        (h.method.get(4), h.status.get(4), iso(&p, 4).as_str()),
        (Some("POST"), Some(413), "2025-03-14T09:15:02+00:00")
    );
    assert_eq!(
        (h.version.get(4), h.queue.get(4), h.reason.get(4)),
        (
            Some("HTTP/2.0"),
            Some("MyAppPool"),
            Some("Request_Too_Large")
        )
    );
    assert_eq!(
        (
            h.site_id.get(4),
            h.c_ip.get(4),
            h.stream_id.get(4),
            h.transport.get(4)
        ),
        (Some(2), Some("2001:db8::5%12"), Some("3"), Some("TCP"))
    );
    assert_eq!(
        (
            h.extended_fault_code.get(5),
            h.fault_code.get(5),
            h.reason.get(5),
            h.transport.get(5)
        ),
        (
            Some("0x1"),
            Some("0x80070008"),
            Some("QueueFull"),
            Some("QUIC")
        )
    );
    assert_eq!(h.site_id.get(0), Some(1));
    assert_eq!(h.queue.get(0), Some("DefaultAppPool"));
}
