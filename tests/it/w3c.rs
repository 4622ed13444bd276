//! W3C access-log parser on real fixtures: filebeat expected documents, plaso assertions, lnav files.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use w3triage::ingest::w3c::{parse, parse_chunked, parse_with};
use w3triage::tables::{FileCtx, Parsed, Severity, Source};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn parse_file(rel: &str) -> Parsed {
    let bytes = read(rel);
    let p = parse(&FileCtx::default(), &bytes);
    assert!(p.counts.balanced(), "{rel}: {:?}", p.counts);
    // Chunked at a tiny size, the result must not change.
    let c = parse_chunked(&FileCtx::default(), &bytes, 64);
    assert_eq!(c.requests, p.requests, "{rel}: chunked parse differs");
    assert_eq!(c.issues, p.issues, "{rel}: chunked issues differ");
    assert_eq!(c.counts, p.counts, "{rel}");
    p
}

/// Filebeat's query decoding (Go `url.QueryUnescape`: `%23` → `#`, `+` → space).
pub fn query_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// Filebeat's percent-decoding (`%23` → `#`), lossy on invalid UTF-8.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn expected(rel: &str) -> Vec<Map<String, Value>> {
    let v: Value = serde_json::from_slice(&read(&format!("{rel}-expected.json"))).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_object().unwrap().clone())
        .collect()
}

pub fn ts_of(doc: &Map<String, Value>) -> i64 {
    let s = doc["@timestamp"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

/// The expected string, with older ECS's `"-"` read as absent.
pub fn s<'a>(doc: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    doc.get(k).and_then(Value::as_str).filter(|v| *v != "-")
}

pub fn n(doc: &Map<String, Value>, k: &str) -> Option<u64> {
    doc.get(k).and_then(Value::as_u64)
}

pub fn strip_zone(a: &str) -> &str {
    a.split('%').next().unwrap_or(a)
}

fn extra_key(extra: Option<&str>, key: &str) -> Option<String> {
    let v: Value = serde_json::from_str(extra?).expect("extra is a JSON object");
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn check_access(rel: &str) {
    let p = parse_file(rel);
    let docs = expected(rel);
    let q = &p.requests;
    assert_eq!(q.len(), docs.len(), "{rel}: records vs documents");
    assert_eq!(p.counts.records as usize, docs.len());
    assert!(
        p.issues.iter().all(|i| i.severity != Severity::Error),
        "{rel}: {:?}",
        p.issues
    );
    for (i, d) in docs.iter().enumerate() {
        let ctx = format!("{rel} doc {i}");
        assert_eq!(q.ts[i], ts_of(d), "{ctx} ts");
        assert_eq!(q.offset.get(i), n(d, "log.offset").unwrap(), "{ctx} offset");
        assert_eq!(q.s_ip.get(i), s(d, "destination.address"), "{ctx} s_ip");
        assert_eq!(
            q.s_ip.get(i).map(strip_zone),
            s(d, "destination.ip"),
            "{ctx} s_ip ip"
        );
        assert_eq!(q.c_ip.get(i), s(d, "source.address"), "{ctx} c_ip");
        assert_eq!(
            q.c_ip.get(i).map(strip_zone),
            s(d, "source.ip"),
            "{ctx} c_ip ip"
        );
        assert_eq!(
            q.s_port.get(i).map(u64::from),
            n(d, "destination.port"),
            "{ctx} port"
        );
        assert_eq!(q.method.get(i), s(d, "http.request.method"), "{ctx} method");
        if let Some(orig) = s(d, "url.original") {
            assert_eq!(q.uri_stem.get(i), Some(orig), "{ctx} url.original");
        }
        if let Some(path) = s(d, "url.path") {
            assert_eq!(q.uri_stem.get(i), Some(path), "{ctx} url.path");
        }
        assert_eq!(
            q.uri_query.get(i).map(query_decode).as_deref(),
            s(d, "url.query"),
            "{ctx} query"
        );
        assert_eq!(q.username.get(i), s(d, "user.name"), "{ctx} user");
        assert_eq!(
            q.user_agent
                .get(i)
                .as_deref()
                .map(percent_decode)
                .as_deref(),
            s(d, "user_agent.original"),
            "{ctx} user agent"
        );
        // filebeat keeps the referer raw; we decode `+` (notes §0 rule 5).
        assert_eq!(
            q.referer.get(i).as_deref(),
            s(d, "http.request.referrer")
                .map(|r| r.replace('+', " "))
                .as_deref(),
            "{ctx} referer"
        );
        assert_eq!(
            q.cookie.get(i).as_deref(),
            s(d, "iis.access.cookie")
                .map(|r| r.replace('+', " "))
                .as_deref(),
            "{ctx} cookie"
        );
        assert_eq!(
            q.status.get(i).map(u64::from),
            n(d, "http.response.status_code"),
            "{ctx} status"
        );
        assert_eq!(
            q.substatus.get(i).map(u64::from),
            n(d, "iis.access.sub_status"),
            "{ctx} substatus"
        );
        assert_eq!(
            q.win32_status.get(i),
            n(d, "iis.access.win32_status"),
            "{ctx} win32"
        );
        assert_eq!(
            q.time_taken_ms.get(i).map(|t| t * 1_000_000),
            n(d, "event.duration"),
            "{ctx} duration"
        );
        assert_eq!(q.site.get(i), s(d, "iis.access.site_name"), "{ctx} site");
        assert_eq!(
            q.server.get(i),
            s(d, "iis.access.server_name"),
            "{ctx} server"
        );
        assert_eq!(q.host.get(i), s(d, "destination.domain"), "{ctx} host");
        if let Some(dom) = s(d, "url.domain") {
            assert_eq!(q.host.get(i), Some(dom), "{ctx} url.domain");
        }
        assert_eq!(
            q.sc_bytes.get(i),
            n(d, "http.response.body.bytes"),
            "{ctx} sc_bytes"
        );
        assert_eq!(
            q.cs_bytes.get(i),
            n(d, "http.request.body.bytes"),
            "{ctx} cs_bytes"
        );
        let version = extra_key(q.extra.get(i), "cs-version");
        assert_eq!(
            version.as_deref().map(|v| v.trim_start_matches("HTTP/")),
            s(d, "http.version"),
            "{ctx} version"
        );
        assert_eq!(
            extra_key(q.extra.get(i), "X-Forwarded-For").as_deref(),
            s(d, "network.forwarded_ip"),
            "{ctx} forwarded ip"
        );
        if let Some(orig) = s(d, "event.original") {
            let line_end = orig.len() as u64;
            let bytes = read(rel);
            let at = q.offset.get(i) as usize;
            assert_eq!(
                &bytes[at..at + line_end as usize],
                orig.as_bytes(),
                "{ctx} event.original at offset"
            );
        }
    }
}

#[test]
fn w3c_filebeat_access_test_log() {
    check_access("filebeat/access/test.log");
    let p = parse_file("filebeat/access/test.log");
    // The last 2 lines have 15 values under the 22-name #Fields: one fallback warning.
    let codes: Vec<_> = p.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, vec!["layout_mismatch"]);
    assert_eq!(p.issues[0].line, Some(16));
}

#[test]
fn w3c_filebeat_iis_7_2() {
    check_access("filebeat/access/test-iis-7.2.log");
}

#[test]
fn w3c_filebeat_iis_7_5_markdown_and_old_ecs() {
    check_access("filebeat/access/test-iis-7.5.log");
}

#[test]
fn w3c_filebeat_ipv6_zone() {
    check_access("filebeat/access/test-ipv6zone.log");
    let p = parse_file("filebeat/access/test-ipv6zone.log");
    assert!(p.requests.c_ip.iter().any(|c| c == Some("::1%0")));
}

#[test]
fn w3c_filebeat_x_forward_for() {
    check_access("filebeat/access/test-x-forward-for.log");
}

#[test]
fn w3c_filebeat_x_forward_for_extended_crlf() {
    check_access("filebeat/access/test-x-forward-for-extended.log");
    let p = parse_file("filebeat/access/test-x-forward-for-extended.log");
    assert_eq!(
        p.requests.offset.iter().collect::<Vec<_>>(),
        [0, 385, 562, 1035, 1510, 2265]
    );
}

#[test]
fn w3c_filebeat_input_only_files() {
    for (rel, records) in [
        ("filebeat/access/access.log", 1),
        ("filebeat/access/access-full.log", 1),
        ("filebeat/access/access-azure.log", 1),
        ("filebeat/w3svc/test.log", 2),
    ] {
        let p = parse_file(rel);
        assert_eq!(p.counts.records, records, "{rel}: {:?}", p.issues);
        assert!(p.issues.is_empty(), "{rel}: {:?}", p.issues);
    }
    let p = parse_file("filebeat/access/access-full.log");
    assert!(p.server.is_some() && p.site.is_some());
}

fn iso(p: &Parsed, i: usize) -> String {
    chrono::DateTime::from_timestamp_millis(p.requests.ts[i])
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[test]
fn w3c_plaso_counts_and_no_errors() {
    for (f, events) in [
        ("iis6.log", 12),
        ("iis7_sqli.log", 2),
        ("iis7_owa.log", 3),
        ("iis_without_date.log", 11),
        ("iis10.log", 1),
        ("iis10_edge_cases.log", 15),
        ("iis10_cookies.log", 3),
    ] {
        let p = parse_file(&format!("plaso/{f}"));
        assert_eq!(p.requests.len(), events, "{f}");
        assert!(p.issues.is_empty(), "{f}: {:?}", p.issues);
    }
}

/// plaso's `CheckEventData` values (user agents are raw there; we decode `+`).
#[test]
fn w3c_plaso_event_values() {
    struct E {
        file: &'static str,
        idx: usize,
        dest: &'static str,
        port: u16,
        method: &'static str,
        status: u16,
        time: &'static str,
        stem: &'static str,
        src: &'static str,
        ua: &'static str,
    }
    let cases = [
        E {
            file: "iis6.log",
            idx: 0,
            dest: "10.10.10.100",
            port: 80,
            method: "GET",
            status: 200,
            time: "2013-07-30T00:00:00+00:00",
            stem: "/some/image/path/something.jpg",
            src: "10.10.10.100",
            ua: "Mozilla/4.0+(compatible;+Win32;+WinHttp.WinHttpRequest.5)",
        },
        E {
            file: "iis7_sqli.log",
            idx: 0,
            dest: "111.111.111.111",
            port: 443,
            method: "GET",
            status: 500,
            time: "2015-10-16T13:01:02+00:00",
            stem: "/foo/bar/baz.asp",
            src: "222.222.222.222",
            ua: "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_9_2)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/34.0.1847.131+Safari/537.36",
        },
        E {
            file: "iis7_owa.log",
            idx: 0,
            dest: "10.11.2.3",
            port: 443,
            method: "GET",
            status: 200,
            time: "2015-12-31T00:19:48+00:00",
            stem: "/owa/",
            src: "77.123.22.98",
            ua: "Mozilla/5.0+(Windows+NT+6.1;+WOW64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/39.0.2171.95+Safari/537.36",
        },
        E {
            file: "iis10.log",
            idx: 0,
            dest: "111.111.111.111",
            port: 80,
            method: "GET",
            status: 200,
            time: "2021-04-01T00:00:21+00:00",
            stem: "/foo/bar/baz.asp",
            src: "222.222.222.222",
            ua: "Mozilla/5.0+(Windows+NT+5.1)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/35.0.2309.372+Safari/537.36",
        },
    ];
    for e in cases {
        let p = parse_file(&format!("plaso/{}", e.file));
        let q = &p.requests;
        let i = e.idx;
        assert_eq!(q.s_ip.get(i), Some(e.dest), "{}", e.file);
        assert_eq!(q.s_port.get(i), Some(e.port), "{}", e.file);
        assert_eq!(q.method.get(i), Some(e.method), "{}", e.file);
        assert_eq!(q.status.get(i), Some(e.status), "{}", e.file);
        assert_eq!(iso(&p, i), e.time, "{}", e.file);
        assert_eq!(q.uri_stem.get(i), Some(e.stem), "{}", e.file);
        assert_eq!(q.c_ip.get(i), Some(e.src), "{}", e.file);
        assert_eq!(
            q.user_agent.get(i).as_deref(),
            Some(e.ua.replace('+', " ").as_str()),
            "{}",
            e.file
        );
    }
    let p = parse_file("plaso/iis_without_date.log");
    assert_eq!(iso(&p, 1), "2013-07-30T00:00:03+00:00");
    assert_eq!(
        extra_key(p.requests.extra.get(1), "cs-version").as_deref(),
        Some("HTTP/1.1")
    );
    let p = parse_file("plaso/iis10_edge_cases.log");
    assert!(
        p.requests
            .win32_status
            .iter()
            .any(|v| v == Some(214_784_354_254))
    );
    assert!(p.requests.time_taken_ms.iter().any(|v| v == Some(886_786)));
    assert!(p.requests.method.iter().any(|m| m == Some("RPC_IN_DATA")));
}

#[test]
fn w3c_lnav_every_line_accounted() {
    for f in [
        "logfile_w3c.0",
        "logfile_w3c.1",
        "logfile_w3c.2",
        "logfile_w3c.3",
        "logfile_w3c.4",
        "logfile_w3c.5",
        "logfile_w3c.6",
        "logfile_w3c_big.0",
    ] {
        let bytes = read(&format!("lnav/{f}"));
        let p = parse_file(&format!("lnav/{f}"));
        let nl = bytes.iter().filter(|&&b| b == b'\n').count() as u64
            + u64::from(!bytes.ends_with(b"\n"));
        assert_eq!(p.counts.lines, nl, "{f}");
        assert!(p.counts.records > 0, "{f}");
        assert_eq!(p.counts.rejected, 0, "{f}: {:?}", p.issues);
        // lnav's .3 has a quoted garbage substatus: its row is kept, the value is null and said
        // to be; nothing else is an error.
        let errors: Vec<(u64, &str)> = p
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| (i.line.unwrap_or(0), i.code))
            .collect();
        let expected: &[(u64, &str)] = if f == "logfile_w3c.3" {
            &[(10, "bad_number")]
        } else {
            &[]
        };
        assert_eq!(errors, expected, "{f}: {:?}", p.issues);
    }
}

#[test]
fn w3c_lnav_3_substatus_and_quoted() {
    let p = parse_file("lnav/logfile_w3c.3");
    let exp: Value =
        serde_json::from_slice(&read("lnav/logfile_w3c.3.sc_substatus-expected.json")).unwrap();
    let exp: Vec<Option<u32>> = exp
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sc_substatus"].as_u64().map(|v| v as u32))
        .collect();
    assert_eq!(p.requests.substatus, exp);
    assert_eq!(p.requests.c_ip.get(0), Some("70.95.0.0"));
    assert_eq!(p.requests.host.get(0), Some("xzy.example.com"));
    assert_eq!(
        p.requests.time_taken_ms,
        vec![Some(109), Some(0), Some(359)]
    );
    assert_eq!(iso(&p, 0), "2012-08-15T17:00:00+00:00");
    assert_eq!(p.requests.ts[0] % 1000, 363);
}

/// The `.2` and `.4` timestamps of lnav's `test_logfile.sh` (excerpts file).
#[test]
fn w3c_lnav_2_and_4_timestamps() {
    let excerpts = String::from_utf8(read("lnav/test_logfile.sh.w3c-excerpts.expected")).unwrap();
    let block = |after: &str| -> Vec<String> {
        let start = excerpts.find(after).unwrap();
        let body = &excerpts[start..];
        let body = &body[body.find("<<EOF\n").unwrap() + 6..];
        body[..body.find("\nEOF").unwrap()]
            .lines()
            .map(|l| l.trim_end_matches(" -- 000").to_owned())
            .collect()
    };
    for (file, anchor) in [
        (
            "lnav/logfile_w3c.2",
            "w3c timestamp interpreted incorrectly?",
        ),
        (
            "lnav/logfile_w3c.4",
            "quoted w3c timestamp interpreted incorrectly?",
        ),
    ] {
        let want = block(anchor);
        let p = parse_file(file);
        let got: Vec<String> = p
            .requests
            .ts
            .iter()
            .map(|&t| {
                chrono::DateTime::from_timestamp_millis(t)
                    .unwrap()
                    .format("%b %d %H:%M:%S %Y")
                    .to_string()
            })
            .collect();
        assert_eq!(got, want, "{file}");
    }
    let p = parse_file("lnav/logfile_w3c.4");
    assert_eq!(p.requests.status, vec![Some(200), None]);
    assert_eq!(p.requests.uri_query.get(0), Some("variable=test"));
    let x: Value = serde_json::from_str(p.requests.extra.get(0).unwrap()).unwrap();
    assert_eq!(x["s-xff"], "123.123.123.123");
    assert_eq!(x["cs-uri"], "www.example.com/page.php");
}

#[test]
fn w3c_lnav_6_unicode() {
    let p = parse_file("lnav/logfile_w3c.6");
    assert!(
        p.requests
            .user_agent
            .iter()
            .any(|u| u.is_some_and(|u| u.starts_with("ÄÖÜäöü\\ßßßMözillä/5.0 (compatible;")))
    );
}

#[test]
fn w3c_lnav_fuzz_inputs_do_not_crash() {
    let inputs: [&[u8]; 7] = [
        b"#Date:\t20\x800-2-02\n0\n",
        b"000\n000\n#Fields: 0\n0\n#Fields: 0\n0",
        b"#Date:\t3/9/3/0\x85 2\n0\n",
        b"#Fields: date time 0 date\n2000/2 00:00 0 2000/80",
        b"#Fields: 0\tcs-bytes\n#Fields: 0\n\t0 #\n0",
        b"#Fields: \xf9\t)\n0\n",
        b"#Fields: 0 time\n 00:00\n#Date:\n",
    ];
    for b in inputs {
        for chunk in [1, 3, 1 << 20] {
            let p = parse_chunked(&FileCtx::default(), b, chunk);
            assert!(p.counts.balanced(), "{:?}", String::from_utf8_lossy(b));
            assert_eq!(p.requests.len(), 0, "{:?}", String::from_utf8_lossy(b));
            assert_eq!(
                p.counts.rejected as usize,
                p.issues
                    .iter()
                    .filter(|i| i.severity == Severity::Error)
                    .count()
            );
        }
    }
}

/// Throughput on an IIS 10 default-layout log, one thread (GB per CPU-second).
/// `cargo test --release --test it -- --ignored w3c_throughput --nocapture`
#[test]
#[ignore]
fn w3c_throughput() {
    let header = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-05-01 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";
    let mut log = String::from(header);
    let mut i = 0u64;
    while log.len() < 128 << 20 {
        log.push_str(&format!(
            "2024-05-01 {:02}:{:02}:{:02} 10.0.0.5 GET /api/orders/{} id={}&x=1 443 - 203.0.113.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/124.0+Safari/537.36 https://shop.example.com/cart 200 0 0 {}\r\n",
            (i / 3600) % 24, (i / 60) % 60, i % 60, i % 977, i, i % 250, i % 900
        ));
        i += 1;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // Process CPU time (utime + stime from /proc, in clock ticks of 10 ms): the machine is shared.
    let cpu = || -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        // Fields after the command name: state, ppid, …; utime and stime are the 12th and 13th.
        let f: Vec<&str> = after.split_whitespace().collect();
        let tick = |k: usize| f.get(k).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
        (tick(11) + tick(12)) / 100.0
    };
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    for _ in 0..5 {
        let (t, c) = (std::time::Instant::now(), cpu());
        let p = pool.install(|| parse(&FileCtx::default(), log.as_bytes()));
        let (dt, dc) = (t.elapsed().as_secs_f64(), cpu() - c);
        assert_eq!(p.requests.len() as u64, i);
        best = best.min(dt);
        best_cpu = best_cpu.min(dc);
    }
    let mb = log.len() as f64;
    println!(
        "w3c: {} MB, {i} lines, 1 thread: wall {best:.3} s = {:.2} GB/s; cpu {best_cpu:.2} s = {:.2} GB/cpu-s",
        log.len() >> 20,
        mb / best / 1e9,
        mb / best_cpu.max(0.01) / 1e9
    );
    let t = std::time::Instant::now();
    let one = parse_chunked(&FileCtx::default(), log.as_bytes(), usize::MAX);
    println!(
        "w3c: same log as one chunk: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(one.requests.len() as u64, i);
}

/// Values are kept where they stand in the file, `+`-encoded ones too (they are decoded when
/// read), and a line longer than a value may be is rejected, not cut.
#[test]
fn text_stays_in_the_file_and_agents_are_decoded_when_read() {
    let mut log = String::from(
        "#Fields: date time cs-method cs-uri-stem c-ip cs(User-Agent) cs(Referer) sc-status\n",
    );
    let agents: Vec<String> = (0..3000)
        .map(|i| format!("Agent/{i}+(X11;+Linux)"))
        .collect();
    for round in 0..3 {
        for (i, a) in agents.iter().enumerate() {
            log.push_str(&format!(
                "2024-03-01 10:00:0{round} GET /p{i}.aspx 10.0.0.{} {a} https://x.test/a+b 200\n",
                i % 250
            ));
        }
    }
    let p = parse(&FileCtx::default(), log.as_bytes());
    let r = &p.requests;
    assert_eq!(r.len(), 9000);
    for (k, a) in agents.iter().enumerate().step_by(7) {
        for round in 0..3 {
            let row = round * 3000 + k;
            assert_eq!(
                r.user_agent.get(row).as_deref(),
                Some(a.replace('+', " ").as_str())
            );
            assert_eq!(r.uri_stem.get(row), Some(format!("/p{k}.aspx").as_str()));
            assert_eq!(r.referer.get(row).as_deref(), Some("https://x.test/a b"));
        }
    }
    // Nothing is copied: stems, client IPs, agents and referers all stay in the file, as
    // logged.
    for c in [&r.uri_stem, &r.c_ip, &r.user_agent, &r.referer] {
        assert_eq!(c.data_len(), 0);
    }
    assert_eq!(r.user_agent.get_logged(7), Some(agents[7].as_str()));
    // The same whatever the split, the one-pass path or the general one.
    let src = Source::copy_of(log.as_bytes());
    for (chunk, fast) in [(usize::MAX, false), (97, true), (4096, false)] {
        let q = parse_with(&FileCtx::default(), &src, chunk, fast).requests;
        assert_eq!(q.user_agent, r.user_agent, "chunk {chunk}, fast {fast}");
        assert_eq!(q.referer, r.referer, "chunk {chunk}, fast {fast}");
        assert_eq!(q.user_agent.data_len(), 0, "chunk {chunk}, fast {fast}");
    }
}

#[test]
fn a_line_longer_than_any_value_may_be_is_rejected_with_its_length() {
    let long = "a".repeat(w3triage::tables::MAX_VALUE_LEN + 1);
    let log = format!(
        "#Fields: date time cs-uri-stem sc-status\n2024-03-01 10:00:00 /{long} 200\n2024-03-01 10:00:01 /ok 200\n"
    );
    let p = parse(&FileCtx::default(), log.as_bytes());
    assert_eq!(p.requests.len(), 1);
    assert_eq!(p.requests.uri_stem.get(0), Some("/ok"));
    assert_eq!(p.counts.rejected, 1);
    assert!(p.counts.balanced());
    let i = p
        .issues
        .iter()
        .find(|i| i.code == "line_too_long")
        .expect("issue");
    assert_eq!(i.line, Some(2));
    assert!(
        i.message.contains(&format!("{} bytes", long.len() + 25)),
        "{}",
        i.message
    );
}

/// The one-pass path for plain data lines (`fast_line`) gives exactly what the general path
/// (line split, classify, tokenize) gives, on logs full of the odd cases: CR, CRLF, blank and
/// CR-only lines, NUL padding, quotes, a BOM, directives, non-ASCII, no final newline.
#[test]
fn one_pass_data_lines_match_the_general_path() {
    use proptest::prelude::*;
    let header = "#Fields: date time cs-method cs-uri-stem c-ip cs(User-Agent) sc-status\n";
    let row = "2024-03-01 10:00:00 GET /a.aspx 10.0.0.1 Mozilla/5.0+(X) 200";
    const WIDE: &str = "#Fields: date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken";
    let wide_row = "2024-03-01 10:00:05 W3SVC1 WEB01 10.0.0.9 POST /b.aspx q=1 443 CONTOSO\\u1 10.0.0.1 Mozilla/5.0+(Y) a=b+c https://r.test/+x www.x.test 500 19 64 5120 310 15";
    let piece = prop_oneof![
        4 => Just(row.to_string()),
        1 => Just(format!("{row}\r")),
        1 => Just(format!("{row} \r")),
        1 => Just("2024-03-01 10:00:01 GET /\"q u\" 10.0.0.2 \"A B\" 500".to_string()),
        1 => Just("2024-03-01 10:00:02 GET /caf\u{e9} 10.0.0.3 - 404".to_string()),
        1 => Just("2024-03-01 10:00:03 GET /x 10.0.0.4 - 200 extra".to_string()),
        1 => Just(String::new()),
        1 => Just("\r".to_string()),
        1 => Just(" \t \r \r".to_string()),
        1 => Just(format!("{row}\0\0")),
        1 => Just("\0\0\0".to_string()),
        1 => Just(header.trim_end().to_string()),
        1 => Just("#Date: 2024-03-01 00:00:00".to_string()),
        1 => Just(format!("{}  {}", &row[..30], &row[31..])),
        1 => Just("a\tb".repeat(40)),
        // A wider layout (server, site, port, cookie, host, byte counts) and rows for it.
        1 => Just(WIDE.to_string()),
        3 => Just(wide_row.to_string()),
        1 => Just(wide_row.replace("W3SVC1 WEB01", "- -").replace("10.0.0.1 ", "[10.0.0.7](http://10.0.0.7) ")),
        1 => Just(wide_row.replace(" 5120 310 ", " - 99999999999 ").replace(" 443 ", " 70000 ")),
    ];
    let cases = (
        any::<bool>(),
        proptest::collection::vec(piece, 0..40),
        any::<bool>(),
        prop_oneof![Just(usize::MAX), Just(7usize), Just(100), Just(333)],
    );
    proptest!(ProptestConfig::with_cases(300), |((bom, lines, final_nl, chunk) in cases)| {
        let mut log = String::new();
        if bom {
            log.push('\u{feff}');
        }
        log.push_str(header);
        log.push_str(&lines.join("\n"));
        if final_nl {
            log.push('\n');
        }
        let src = Source::copy_of(log.as_bytes());
        let fast = parse_with(&FileCtx::default(), &src, chunk, true);
        let slow = parse_with(&FileCtx::default(), &src, chunk, false);
        prop_assert_eq!(&fast.requests, &slow.requests);
        prop_assert_eq!(&fast.issues, &slow.issues);
        prop_assert_eq!(fast.counts, slow.counts);
        prop_assert_eq!((&fast.server, &fast.site), (&slow.server, &slow.site));
        prop_assert!(fast.counts.balanced());
    });
}

#[test]
fn minute_times_and_two_digit_years_are_read_not_rejected() {
    // A header block with minutes-only times, then a header-less block of an IIS 4/5-era
    // writer with two-digit years; the last line has no final newline.
    let log = b"#Fields: date time c-ip cs-method cs-uri-stem sc-status\n\
2024-03-01 08:35 192.0.2.1 GET /a.aspx 200\n\
2024-03-01 08:36 192.0.2.2 GET /b.aspx 500\n\
#Fields: date time c-ip cs-method cs-uri-stem sc-status\n\
98-05-03 23:59:59 192.0.2.3 GET /c.htm 404";
    let p = parse(&FileCtx::default(), log);
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!(p.counts.records, 3);
    let r = &p.requests;
    let ts: Vec<String> = (0..r.len()).map(|i| iso(&p, i)).collect();
    assert_eq!(
        ts,
        [
            "2024-03-01T08:35:00+00:00",
            "2024-03-01T08:36:00+00:00",
            "1998-05-03T23:59:59+00:00"
        ]
    );
    assert_eq!(r.status.get(2), Some(404));
    assert_eq!(r.uri_stem.get(2), Some("/c.htm"));
}

#[test]
fn header_less_blocks_of_unknown_layouts_are_inferred_not_rejected() {
    // An Exchange front end's log cut from the middle of a day: s-computername, Exchange's
    // `&k=v;` query, DOMAIN\user, a trailing X-Forwarded-For list and the client port (18
    // values: no known layout). Then a block with cookie, referer, host and byte counts.
    let ex = |i: u32| {
        format!(
            "2024-01-11 08:35:{i:02} EXCH01 10.0.1.5 POST /owa/service.svc action=GetItem&CorrelationID=<empty>;&cafeReqId=4f2a-{i};&encoding=; 443 CONTOSO\\jdoe 10.0.61.{i} Mozilla/5.0+(Windows+NT+10.0) https://mail.contoso.com/owa/ 200 0 0 3{i} 10.0.61.69,10.93.4.75 515{i:02}\n"
        )
    };
    let shop = |i: u32| {
        format!(
            "2024-01-11 09:00:{i:02} W3SVC2 10.0.0.5 GET /cart.aspx id={i} 443 - 192.0.2.{i} Mozilla/5.0 ASP.NET_SessionId=abc{i} https://shop.example.com/ shop.example.com 200 0 0 5120 830 4{i}\n"
        )
    };
    let mut log = String::new();
    (1..=20).for_each(|i| log.push_str(&ex(i)));
    (1..=20).for_each(|i| log.push_str(&shop(i)));
    let p = parse(&FileCtx::default(), log.as_bytes());
    assert_eq!(p.counts.records, 40);
    assert_eq!(p.counts.rejected, 0);
    let codes: Vec<&str> = p.issues.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        ["inferred_layout", "inferred_layout"],
        "{:?}",
        p.issues
    );
    assert!(
        p.issues[0].message.ends_with("date time s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken X-Forwarded-For x-value-2"),
        "{}",
        p.issues[0].message
    );
    let r = &p.requests;
    assert_eq!(r.server.get(0), Some("EXCH01"));
    assert_eq!(r.username.get(0), Some("CONTOSO\\jdoe"));
    assert_eq!(r.c_ip.get(4), Some("10.0.61.5"));
    assert_eq!(r.time_taken_ms.get(4), Some(35));
    let extra = r.extra.get(0).unwrap_or_default();
    assert!(
        extra.contains("\"X-Forwarded-For\":\"10.0.61.69,10.93.4.75\""),
        "{extra}"
    );
    assert!(extra.contains("\"x-value-2\":\"51501\""), "{extra}");
    assert_eq!(r.site.get(20), Some("W3SVC2"));
    assert_eq!(r.cookie.get(21).as_deref(), Some("ASP.NET_SessionId=abc2"));
    assert_eq!(r.host.get(21), Some("shop.example.com"));
    assert_eq!(
        (
            r.sc_bytes.get(21),
            r.cs_bytes.get(21),
            r.time_taken_ms.get(21)
        ),
        (Some(5120), Some(830), Some(42))
    );
    // The same, parsed in small chunks.
    let c = parse_chunked(&FileCtx::default(), log.as_bytes(), 700);
    assert_eq!(c.requests, p.requests);
    assert_eq!(c.issues, p.issues);
}

#[test]
fn a_header_less_block_is_read_in_batches_by_its_inferred_layout_and_checked_line_by_line() {
    // No s-port: 1,100 lines whose user name is `-` (the sample cannot tell user from port),
    // then one with a user name. Every line is read, the last by a layout that fits it.
    let line = |i: u32, user: &str| {
        format!(
            "2024-03-01 10:{:02}:{:02} 10.0.0.5 GET /p{i}.aspx - {user} 192.0.2.{} Mozilla/5.0+(X11) - 200 0 0 {i}\n",
            i / 60 % 60,
            i % 60,
            i % 250
        )
    };
    let mut log = String::new();
    (0..1100).for_each(|i| log.push_str(&line(i, "-")));
    log.push_str(&line(1100, "CONTOSO\\ann"));
    let p = parse(&FileCtx::default(), log.as_bytes());
    assert_eq!((p.counts.records, p.counts.rejected), (1101, 0));
    assert!(
        p.issues.iter().all(|i| i.code != "bad_number"),
        "{:?}",
        p.issues
    );
    let r = &p.requests;
    assert_eq!(r.username.get(1100), Some("CONTOSO\\ann"));
    assert_eq!(r.c_ip.get(1100), Some("192.0.2.100"));
    assert_eq!(r.time_taken_ms.get(1099), Some(1099));
    assert_eq!(r.uri_stem.get(7), Some("/p7.aspx"));
    let codes: Vec<&str> = p.issues.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        ["inferred_layout", "inferred_layout"],
        "{:?}",
        p.issues
    );
}

/// A header block written again after requests is a `log_restart` row, read the same in any
/// chunk size: after 40 s of traffic (a restart), and with other fields (a logging change); not
/// after 20 idle minutes (IIS closes an idle log and reopens it with a header).
#[test]
fn a_header_written_again_after_requests_is_a_log_restart() {
    use w3triage::tables::{CrashKind, EvidenceSource};
    let head = |date: &str, fields: &str| {
        format!(
            "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {date}\r\n#Fields: {fields}\r\n"
        )
    };
    let f1 = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip sc-status sc-substatus sc-win32-status time-taken";
    let f2 = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-host sc-status sc-substatus sc-win32-status time-taken";
    let row =
        |t: &str| format!("2024-03-01 {t} 10.0.0.5 GET /a.aspx - 80 - 192.0.2.1 200 0 0 15\r\n");
    let row2 = |t: &str| {
        format!("2024-03-01 {t} 10.0.0.5 GET /a.aspx - 80 - 192.0.2.1 shop 200 0 0 15\r\n")
    };
    let mut log = head("2024-03-01 09:00:00", f1);
    for s in 0..40 {
        log.push_str(&row(&format!("09:00:{s:02}")));
    }
    // iisreset at 09:01:20, 41 s after the last request.
    log.push_str(&head("2024-03-01 09:01:20", f1));
    log.push_str(&row("09:01:21"));
    // Idle from 09:01:21 until 09:25:00: a reopen, not a restart.
    log.push_str(&head("2024-03-01 09:25:00", f1));
    log.push_str(&row("09:25:01"));
    // The logging configuration changed at 09:26:00 (cs-host added).
    log.push_str(&head("2024-03-01 09:26:00", f2));
    log.push_str(&row2("09:26:01"));
    let whole = parse_chunked(&FileCtx::default(), log.as_bytes(), usize::MAX);
    assert_eq!(whole.requests.len(), 43);
    let rows: Vec<(Option<i64>, bool)> = whole
        .crashes
        .iter()
        .map(|c| {
            assert_eq!(c.kind, CrashKind::LogRestart);
            assert_eq!(c.source, Some(EvidenceSource::Log));
            (
                c.ts,
                c.detail.as_deref().unwrap().contains("with other fields"),
            )
        })
        .collect();
    let at = |h: i64, m: i64| Some(1_709_251_200_000 + (h * 60 + m) * 60_000);
    assert_eq!(
        rows,
        [(at(9, 1).map(|t| t + 20_000), false), (at(9, 26), true)]
    );
    assert_eq!(
        whole.crashes[0].detail.as_deref(),
        Some(
            "the W3C log of the site was begun again, 41 s after the request before it, IIS or the site restarted, or the site's logging configuration changed"
        )
    );
    assert_eq!(&log[whole.crashes[0].offset as usize..][..6], "#Date:");
    for chunk in [64, 300, 1000, 4096] {
        let c = parse_chunked(&FileCtx::default(), log.as_bytes(), chunk);
        assert_eq!(c.crashes, whole.crashes, "chunk {chunk}");
        assert_eq!(c.requests, whole.requests, "chunk {chunk}");
    }
}

/// A log that writes its header again after every request keeps 1,000 `log_restart` rows and
/// says how many more there were; every request is still read.
#[test]
fn header_blocks_after_every_request_are_capped() {
    let mut log = String::from("#Fields: date time cs-method cs-uri-stem sc-status\n");
    for i in 0..1_500u32 {
        log.push_str(&format!(
            "2024-03-01 09:{:02}:{:02} GET /a 200\n#Date: 2024-03-01 09:{:02}:{:02}\n",
            i / 60 % 60,
            i % 60,
            i / 60 % 60,
            i % 60
        ));
    }
    for chunk in [4096, usize::MAX] {
        let p = parse_chunked(&FileCtx::default(), log.as_bytes(), chunk);
        assert_eq!(p.requests.len(), 1_500);
        assert_eq!(p.crashes.len(), 1_000, "chunk {chunk}");
        let i = p
            .issues
            .iter()
            .find(|i| i.code == "header_repeats")
            .expect("the cap is reported");
        assert!(
            i.message
                .starts_with("the header block is written again 500 more times"),
            "{}",
            i.message
        );
        assert!(p.counts.balanced());
    }
    // A file of nothing but `#Date` lines: directives, none after a request, nothing kept.
    let dates = "#Date: 2024-03-01 09:00:00\n".repeat(5_000);
    for chunk in [4096, usize::MAX] {
        let p = parse_chunked(&FileCtx::default(), dates.as_bytes(), chunk);
        assert!(p.crashes.is_empty());
        assert_eq!(p.counts.directives, 5_000);
        assert!(
            p.issues.iter().all(|i| i.code != "header_repeats"),
            "chunk {chunk}"
        );
    }
    // After one request they are all restarts: 1,000 kept, the rest counted, in any chunk size.
    let after = format!("{}2024-03-01 08:59:59 GET /a 200\n{dates}", &log[..51]);
    for chunk in [4096, usize::MAX] {
        let p = parse_chunked(&FileCtx::default(), after.as_bytes(), chunk);
        assert_eq!(p.crashes.len(), 1_000, "chunk {chunk}");
        let i = p
            .issues
            .iter()
            .find(|i| i.code == "header_repeats")
            .unwrap();
        assert!(i.message.contains("4000 more times"), "{}", i.message);
    }
}
