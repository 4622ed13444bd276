//! Reports: escaping, CSP, JSON schema keys, Markdown and JSON snapshots.

use std::path::PathBuf;
use w3triage::analyze::testkit::*;
use w3triage::analyze::{AnalyzeOptions, analyze};
use w3triage::report::{Format, render};
use w3triage::tables::ArtifactKind;

/// Compares `actual` with `tests/snapshots/<name>`; `W3TRIAGE_UPDATE_SNAPSHOTS=1` rewrites it.
pub(crate) fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("W3TRIAGE_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}: run with W3TRIAGE_UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs at line {}:\nexpected: {:?}\nactual:   {:?}\n(W3TRIAGE_UPDATE_SNAPSHOTS=1 rewrites it)",
            name,
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn snapshot_options() -> AnalyzeOptions {
    AnalyzeOptions {
        last_n: 3,
        max_listed: 5,
        tz_offset_s: Some(3600),
        ..Default::default()
    }
}

#[test]
fn markdown_snapshot() {
    let a = analyze(&crate::analyze::outage(), &snapshot_options());
    snapshot("outage.md", &render(&a, Format::Markdown));
}

#[test]
fn json_snapshot() {
    let a = analyze(&crate::analyze::outage(), &snapshot_options());
    snapshot("outage.json", &render(&a, Format::Json));
}

#[test]
fn terminal_snapshot() {
    let a = analyze(&crate::analyze::outage(), &snapshot_options());
    snapshot("outage.txt", &render(&a, Format::Terminal));
}

#[test]
fn healthy_json_snapshot() {
    let mut b = TableBuilder::new();
    let log = b.file("WEB01/W3SVC1/u_ex240302.log", ArtifactKind::W3c);
    for i in 0..50 {
        b.request(log, at_min(i as f64), &Req::default());
    }
    let a = analyze(&b.build(), &snapshot_options());
    snapshot("healthy.json", &render(&a, Format::Json));
}

const XSS_UA: &str = "Mozilla/5.0 <script>alert(1)</script> \"quoted\" 'single'";
const XSS_URI: &str = "/search.aspx?q=\"><script>alert(1)</script>";

fn hostile() -> w3triage::analyze::Analysis {
    let mut b = TableBuilder::new();
    let log = b.file("W3SVC1/<img src=x onerror=alert(1)>.log", ArtifactKind::W3c);
    let herr = b.file("httperr1.log", ArtifactKind::HttpErr);
    let sys = b.file("System.xml", ArtifactKind::EventXml);
    let crash = at_min(30.0);
    b.crash(was_row(sys, crash, 5011, "Pool\"<b>x</b>", Some(7)));
    b.httperr(
        herr,
        crash,
        &Err {
            uri: XSS_URI,
            queue: "Pool\"<b>x</b>",
            ..Default::default()
        },
    );
    b.request(
        log,
        crash + 1000,
        &Req {
            stem: "/a\"b<script>alert(1)</script>",
            user_agent: Some(XSS_UA),
            time_taken_ms: 5000,
            ..Default::default()
        },
    );
    b.request(
        log,
        crash - 1000,
        &Req {
            stem: "/ok",
            user_agent: Some(XSS_UA),
            ..Default::default()
        },
    );
    let mut t = b.build();
    t.crashes[0].detail = Some("\u{1b}[31mred\u{1b}[0m </details><script>alert(2)</script>".into());
    analyze(&t, &AnalyzeOptions::default())
}

#[test]
fn html_escapes_everything_from_logs_and_has_csp() {
    let a = hostile();
    let html = render(&a, Format::Html);
    assert!(!html.contains("<script"), "raw script tag in HTML");
    assert!(!html.contains("<img"), "raw img tag in HTML");
    assert!(!html.contains("<b>x</b>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;quoted&quot;"));
    assert!(html.contains("&#39;single&#39;"));
    assert!(html.contains("/search.aspx?q=&quot;&gt;&lt;script&gt;"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    assert!(!html.contains("\u{1b}"));
    // Self-contained: no external reference of any kind (the SVG namespace is not a fetch).
    for bad in [
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
        "<link",
        "<script",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert!(html.contains("<svg"));
}

#[test]
fn markdown_and_terminal_neutralise_log_text() {
    let a = hostile();
    let md = render(&a, Format::Markdown);
    assert!(!md.contains("<script>"));
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!md.contains('\u{1b}'));
    let term = render(&a, Format::Terminal);
    assert!(
        !term.contains('\u{1b}'),
        "escape sequence reached the terminal"
    );
}

#[test]
fn json_has_the_documented_keys() {
    let a = analyze(&crate::analyze::outage(), &AnalyzeOptions::default());
    let v: serde_json::Value = serde_json::from_str(&render(&a, Format::Json)).unwrap();
    assert_eq!(v["schema_version"], "2.1");
    for k in [
        "schema_version",
        "inputs",
        "summary",
        "incidents",
        "rapid_fail",
        "suspects",
        "recommendations",
        "modules",
        "timeline",
        "coverage",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let inc = &v["incidents"][0];
    for k in [
        "id",
        "server",
        "app_pool",
        "pid",
        "time",
        "sources",
        "exception_code",
        "faulting_module",
        "verdict",
        "in_flight",
        "suspects",
    ] {
        assert!(inc.get(k).is_some(), "incident misses {k}");
    }
    assert!(inc["time"].as_str().unwrap().ends_with('Z'));
    let s = &v["suspects"][0];
    for k in ["id", "kind", "name", "confidence", "incidents", "evidence"] {
        assert!(s.get(k).is_some(), "suspect misses {k}");
    }
    let ev = &s["evidence"][0];
    assert!(ev["path"].is_string() && ev["offset"].is_u64());
    // 1.1: busy-time statistics of pattern suspects, pattern matches of in-flight requests.
    let p = v["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "request_pattern")
        .expect("a pattern suspect");
    for k in [
        "baseline",
        "baseline_total",
        "baseline_share",
        "baseline_busy_ms",
        "baseline_busy_total_ms",
        "baseline_busy_share",
        "baseline_untimed",
        "null_rate",
        "in_flight_w3c",
        "lift",
        "p_value",
        "p_adjusted",
    ] {
        assert!(p["pattern"].get(k).is_some(), "pattern misses {k}");
    }
    let first = &inc["in_flight"][0];
    assert_eq!(first["suspects"][0], p["id"], "{first}");
    assert!(
        inc["recent"][0]["suspects"]
            .as_array()
            .is_some_and(|v| v.is_empty())
    );
    assert!(v["coverage"]["files"].as_array().unwrap().len() >= 4);
}

#[test]
fn files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = analyze(&crate::analyze::outage(), &AnalyzeOptions::default());
    let files = w3triage::report::write_files(&a, dir.path()).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.md", "report.html", "report.json"]);
    assert!(
        files
            .iter()
            .all(|p| std::fs::metadata(p).unwrap().len() > 100)
    );
}

/// Writes the outage HTML report to `$W3TRIAGE_DUMP_HTML` for a human look (no-op otherwise).
#[test]
fn dump_html_for_review() {
    if let Ok(p) = std::env::var("W3TRIAGE_DUMP_HTML") {
        let a = analyze(&crate::analyze::outage(), &snapshot_options());
        std::fs::write(p, render(&a, Format::Html)).unwrap();
    }
}
