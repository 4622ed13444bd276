//! The self-contained HTML report: one file, no scripts, no external assets, readable offline.
//!
//! Safety: every string from a log or a dump goes through [`esc`] (text and attribute values
//! alike, so `"` and `'` are escaped too); the page carries a Content-Security-Policy that
//! forbids scripts and any network access (`default-src 'none'; style-src 'unsafe-inline';
//! img-src data:`), so even an escaping bug could not run code or leak data.

use super::{bytes, num, when};
use crate::analyze::time::{fmt_duration, fmt_hm, fmt_short, fmt_utc};
use crate::analyze::{
    Analysis, EvidenceRef, Incident, IncidentKind, RequestRef, Timeline, join_tags,
};
use std::fmt::Write;

/// The CSP of the page.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Escapes text for HTML text and (double- or single-quoted) attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c.is_control() && c != '\n' && c != '\t') || super::is_sneaky(c) => {
                o.push('\u{FFFD}')
            }
            c => o.push(c),
        }
    }
    o
}

fn opt<T: ToString>(s: &Option<T>) -> String {
    s.as_ref()
        .map_or_else(|| "–".into(), |v| esc(&v.to_string()))
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.headline{font-size:16px;background:#fff;border-left:4px solid #c0392b;padding:10px 14px;margin:8px 0}
.ok{border-left-color:#27ae60}.thin{background:#fff8e1;border:1px solid #f0d36b;padding:8px 14px;margin:8px 0}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #dde1e7;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td code{word-break:break-all}td.u{min-width:20em}td.t{white-space:nowrap}
th{background:#eef1f5}td.n{text-align:right;white-space:nowrap}td.hit{font-weight:bold;color:#a4000f;white-space:nowrap}
tr.tp td{background:#fff1e6}tr.sus td{background:#fde2e0;font-weight:600}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff}
.high{background:#c0392b}.medium{background:#d68910}.low{background:#7f8c8d}
details{background:#fff;border:1px solid #dde1e7;margin:8px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}
pre{background:#1d2330;color:#e8ecf1;padding:8px 10px;overflow-x:auto;font-size:12px}
code{font-family:ui-monospace,Consolas,monospace}
.muted{color:#6b7380}.ev{font-size:12px;overflow-wrap:anywhere}
svg{background:#fff;border:1px solid #dde1e7;max-width:100%;height:auto}
"#;

/// Escaped `s`, cut to `max` characters with the whole value in a tooltip: attack URLs run to
/// thousands of characters and would otherwise squeeze the table into an unreadable column.
fn shortened(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return esc(s);
    }
    let head: String = s.chars().take(max).collect();
    format!(
        "<span title=\"{}\">{}…</span> <small>({} characters)</small>",
        esc(s),
        esc(&head),
        num(n as u64)
    )
}

/// The file name, with the whole path in a tooltip.
fn shortened_path(p: &str) -> String {
    let name = p.rsplit(['/', '\\']).next().unwrap_or(p);
    if name.len() == p.len() {
        esc(p)
    } else {
        format!("<span title=\"{}\">{}</span>", esc(p), esc(name))
    }
}

fn request_table(o: &mut String, rows: &[RequestRef], marks: bool) {
    o.push_str("<table><tr>");
    if marks {
        o.push_str("<th>suspect</th>");
    }
    o.push_str("<th>time (UTC)</th><th>source</th><th>method</th><th>URI</th><th>status / reason</th><th>time-taken</th><th>client</th><th>user agent</th><th>file @ offset</th></tr>\n");
    for r in rows {
        let status = match (&r.reason, r.status) {
            (Some(reason), Some(s)) => format!("{s} {}", esc(reason)),
            (Some(reason), None) => esc(reason),
            (None, Some(s)) => format!("{s}.{}", r.substatus.unwrap_or(0)),
            (None, None) => "–".into(),
        };
        let _ = writeln!(
            o,
            "<tr>{}<td class=t>{}</td><td>{}</td><td>{}</td><td class=u><code>{}</code></td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td class=ev>{} @ {}</td></tr>",
            if !marks {
                String::new()
            } else if r.suspects.is_empty() {
                "<td></td>".into()
            } else {
                format!("<td class=hit>‼ {}</td>", esc(&r.suspects.join(", ")))
            },
            fmt_utc(r.time.0),
            r.source,
            opt(&r.method),
            shortened(&r.uri, 120),
            status,
            r.time_taken_ms
                .map_or_else(|| "–".into(), |t| format!("{} ms", num(t))),
            opt(&r.client),
            opt(&r.user_agent),
            shortened_path(&r.path),
            r.offset
        );
    }
    o.push_str("</table>\n");
}

fn evidence_list(o: &mut String, ev: &[EvidenceRef]) {
    o.push_str("<ul class=ev>\n");
    for e in ev {
        let _ = writeln!(
            o,
            "<li><code>{}</code> @ {} — {}</li>",
            esc(&e.path),
            e.offset,
            esc(&e.what)
        );
    }
    o.push_str("</ul>\n");
}

/// The inline SVG timeline: requests per bucket (line), 5xx (red bars), HTTPERR rows and
/// abandonments (lower band), crash markers, rapid-fail episodes (shaded).
pub fn chart(a: &Analysis) -> String {
    let tl = &a.timeline;
    let n = tl.requests.len();
    let Some(start) = tl.start.filter(|_| n > 0) else {
        return "<p class=muted>No timestamped rows to chart.</p>\n".into();
    };
    let p = Plot::new(tl, start.0, n);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" aria-label=\"requests per {} min, 5xx, HTTPERR and crashes\">",
        (tl.bucket_s / 60).max(1),
        w = p.w,
        h = p.h
    );
    plot_rapid_fail(&mut s, &p, a);
    plot_axes(&mut s, &p);
    plot_5xx(&mut s, &p, tl);
    plot_requests(&mut s, &p, tl);
    plot_httperr(&mut s, &p, tl);
    plot_incidents(&mut s, &p, a);
    plot_time_labels(&mut s, &p);
    s.push_str("</svg>\n");
    let _ = writeln!(
        s,
        "<p class=muted>Blue: requests per {} (W3C, completion time). Red bars: 5xx. Lower band: HTTPERR rows (purple: with abandonments). Dashed lines: incidents. Shaded: rapid-fail episodes.</p>",
        fmt_duration(tl.bucket_s * 1000)
    );
    s
}

/// The chart's geometry: the plot area, the HTTPERR band below it, and the scales.
#[derive(Clone, Copy)]
struct Plot {
    start: i64,
    step: f64,
    n: usize,
    w: f64,
    h: f64,
    left: f64,
    pw: f64,
    bw: f64,
    top: f64,
    plot_h: f64,
    base: f64,
    band_top: f64,
    band_h: f64,
    ymax: f64,
    hmax: f64,
}

impl Plot {
    fn new(tl: &Timeline, start: i64, n: usize) -> Plot {
        let step = (tl.bucket_s.max(1) * 1000) as f64;
        let (w, left, right, top, plot_h) = (960.0f64, 56.0f64, 12.0f64, 16.0f64, 170.0f64);
        let pw = w - left - right;
        let base = top + plot_h;
        let (band_top, band_h) = (base + 18.0, 30.0);
        Plot {
            start,
            step,
            n,
            w,
            h: band_top + band_h + 28.0,
            left,
            pw,
            bw: pw / n as f64,
            top,
            plot_h,
            base,
            band_top,
            band_h,
            ymax: tl.requests.iter().copied().max().unwrap_or(0).max(1) as f64,
            hmax: tl.httperr.iter().copied().max().unwrap_or(0).max(1) as f64,
        }
    }
    fn x_of(&self, ts: i64) -> f64 {
        self.left + ((ts - self.start) as f64 / self.step) * self.bw
    }
}

/// Rapid-fail episodes, shaded behind everything.
fn plot_rapid_fail(s: &mut String, p: &Plot, a: &Analysis) {
    let Plot {
        left,
        pw,
        top,
        plot_h,
        ..
    } = *p;
    let x_of = |ts: i64| p.x_of(ts);
    // Rapid-fail episodes first (behind everything).
    for r in &a.rapid_fail {
        let x0 = x_of(r.start.0).clamp(left, left + pw);
        let x1 = r
            .end
            .map_or(left + pw, |e| x_of(e.0))
            .clamp(left, left + pw);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{plot_h:.1}\" fill=\"#f5b041\" fill-opacity=\"0.25\"><title>{} rapid-fail: pool {} offline from {}</title></rect>",
            (x1 - x0).max(1.0),
            esc(&r.id),
            opt(&r.app_pool),
            fmt_utc(r.start.0)
        );
    }
}

/// The axes and the request scale.
fn plot_axes(s: &mut String, p: &Plot) {
    let Plot {
        left,
        pw,
        top,
        base,
        ymax,
        ..
    } = *p;
    // Axes.
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" stroke=\"#99a3b1\"/>",
        left + pw
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#99a3b1\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{}</text>",
        left - 4.0,
        top + 9.0,
        num(ymax as u64)
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{base:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">0</text>",
        left - 4.0
    );
}

/// 5xx responses as red bars.
fn plot_5xx(s: &mut String, p: &Plot, tl: &Timeline) {
    let Plot {
        start,
        step,
        left,
        bw,
        plot_h,
        base,
        ymax,
        ..
    } = *p;
    // 5xx bars.
    for (i, &v) in tl.status_5xx.iter().enumerate() {
        if v == 0 {
            continue;
        }
        let bh = (v as f64 / ymax * plot_h).max(1.0);
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"#e74c3c\"><title>{}: {} 5xx</title></rect>",
            left + i as f64 * bw,
            base - bh,
            bw.max(1.0),
            fmt_short(start + (i as f64 * step) as i64),
            v
        );
    }
}

/// Requests per bucket as a line (one bucket: a band).
fn plot_requests(s: &mut String, p: &Plot, tl: &Timeline) {
    let Plot {
        left,
        pw,
        bw,
        plot_h,
        base,
        ymax,
        ..
    } = *p;
    // Requests line.
    let pts: Vec<String> = tl
        .requests
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            format!(
                "{:.1},{:.1}",
                left + (i as f64 + 0.5) * bw,
                base - v as f64 / ymax * plot_h
            )
        })
        .collect();
    if pts.len() == 1 {
        let v = tl.requests[0] as f64 / ymax * plot_h;
        let _ = writeln!(
            s,
            "<rect x=\"{left}\" y=\"{:.1}\" width=\"{pw:.1}\" height=\"{v:.1}\" fill=\"#2e86c1\" fill-opacity=\"0.3\"/>",
            base - v
        );
    } else {
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2e86c1\" stroke-width=\"1.5\"/>",
            pts.join(" ")
        );
    }
}

/// The HTTPERR band (purple where rows are abandonments).
fn plot_httperr(s: &mut String, p: &Plot, tl: &Timeline) {
    let Plot {
        start,
        step,
        left,
        bw,
        band_top,
        band_h,
        hmax,
        ..
    } = *p;
    // HTTPERR band.
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">HTTPERR</text>",
        left - 4.0,
        band_top + band_h / 2.0 + 3.0
    );
    for (i, (&v, &ab)) in tl.httperr.iter().zip(&tl.abandoned).enumerate() {
        if v == 0 {
            continue;
        }
        let bh = (v as f64 / hmax * band_h).max(1.0);
        let color = if ab > 0 { "#8e44ad" } else { "#f39c12" };
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{}: {} HTTPERR rows, {} abandoned</title></rect>",
            left + i as f64 * bw,
            band_top + band_h - bh,
            bw.max(1.0),
            fmt_short(start + (i as f64 * step) as i64),
            v,
            ab
        );
    }
}

/// Incidents as dashed lines.
fn plot_incidents(s: &mut String, p: &Plot, a: &Analysis) {
    let Plot {
        left,
        pw,
        top,
        band_top,
        band_h,
        ..
    } = *p;
    let x_of = |ts: i64| p.x_of(ts);
    // Crash markers.
    for inc in &a.incidents {
        let Some(t) = inc.time else { continue };
        let x = x_of(t.0);
        if !(left - 1.0..=left + pw + 1.0).contains(&x) {
            continue;
        }
        let color = if inc.kind == IncidentKind::Crash {
            "#c0392b"
        } else {
            "#7f8c8d"
        };
        let _ = writeln!(
            s,
            "<g><title>{} {} at {}: pool {}, pid {}</title><line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{}</text></g>",
            esc(&inc.id),
            esc(inc.kind.name()),
            fmt_utc(t.0),
            opt(&inc.app_pool),
            inc.pid.map_or_else(|| "?".into(), |p| p.to_string()),
            band_top + band_h,
            x + 2.0,
            top + 8.0,
            esc(&inc.id)
        );
    }
}

/// The start, end and quarter times.
fn plot_time_labels(s: &mut String, p: &Plot) {
    let Plot {
        start,
        step,
        n,
        left,
        pw,
        band_top,
        band_h,
        ..
    } = *p;
    let x_of = |ts: i64| p.x_of(ts);
    // Time labels.
    let end = start + (n as f64 * step) as i64;
    let label_y = band_top + band_h + 16.0;
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{label_y:.1}\" font-size=\"11\" fill=\"#555\">{} UTC</text>",
        fmt_short(start)
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{label_y:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{} UTC</text>",
        left + pw,
        fmt_short(end)
    );
    for k in 1..4 {
        let ts = start + (end - start) * k / 4;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{label_y:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            x_of(ts),
            fmt_hm(ts)
        );
    }
}

/// The HTML report: one self-contained page.
pub fn render(a: &Analysis) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>w3triage incident report</title>\n<style>{STYLE}</style>\n</head><body><main>"
    );
    let _ = writeln!(o, "<h1>w3triage incident report</h1>");
    let _ = writeln!(
        o,
        "<p class=\"headline{}\">{}</p>",
        if a.summary.crashed { "" } else { " ok" },
        esc(&a.summary.headline)
    );
    if !a.summary.thin_evidence.is_empty() {
        o.push_str("<div class=thin><b>The evidence is thin:</b><ul>");
        for t in &a.summary.thin_evidence {
            let _ = write!(o, "<li>{}</li>", esc(t));
        }
        o.push_str("</ul></div>\n");
    }
    if !a.summary.notes.is_empty() {
        o.push_str("<ul class=muted>");
        for n in &a.summary.notes {
            let _ = write!(o, "<li>{}</li>", esc(n));
        }
        o.push_str("</ul>\n");
    }
    let i = &a.inputs;
    let kinds: Vec<String> = i
        .by_kind
        .iter()
        .map(|(k, v)| format!("{v} {}", esc(k)))
        .collect();
    let _ = writeln!(
        o,
        "<p class=muted>Inputs: {} files ({}), {} requests, {} HTTPERR rows, {} dumps, {} events, {} issues{}{}.</p>",
        num(i.files as u64),
        kinds.join(", "),
        num(i.requests as u64),
        num(i.httperr_rows as u64),
        i.dumps,
        i.events,
        num(i.issues as u64),
        match (i.first, i.last) {
            (Some(f), Some(l)) => format!("; {} to {}", fmt_utc(f.0), fmt_utc(l.0)),
            _ => String::new(),
        },
        a.options
            .tz
            .as_deref()
            .map(|z| format!("; local times at {}", esc(z)))
            .unwrap_or_default()
    );

    o.push_str("<h2 id=timeline>Timeline</h2>\n");
    o.push_str(&chart(a));

    section_incidents(&mut o, a);
    section_rapid_fail(&mut o, a);
    section_suspects(&mut o, a);
    section_recommendations(&mut o, a);
    section_other_evidence(&mut o, a);
    section_modules(&mut o, a);
    section_coverage(&mut o, a);
    section_footer(&mut o, a);
    o
}

fn section_incidents(o: &mut String, a: &Analysis) {
    o.push_str("<h2 id=incidents>Incidents</h2>\n");
    if a.incidents.is_empty() {
        o.push_str("<p>No crash found.</p>\n");
    } else {
        o.push_str("<table><tr><th>id</th><th>kind</th><th>time (UTC)</th><th>server</th><th>app pool</th><th>pid</th><th>sources</th><th>exception</th><th>module</th><th>in flight</th><th>suspects</th></tr>\n");
        for inc in &a.incidents {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=t>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td></tr>",
                esc(&inc.id),
                esc(inc.kind.name()),
                when(inc.time),
                opt(&inc.server),
                opt(&inc.app_pool),
                inc.pid.map_or_else(|| "–".into(), |p| p.to_string()),
                esc(&join_tags(&inc.sources)),
                opt(&inc.exception_code),
                opt(&inc
                    .suspect_module
                    .clone()
                    .or_else(|| inc.faulting_module.clone())),
                inc.in_flight_total,
                esc(&inc.suspects.join(", "))
            );
        }
        o.push_str("</table>\n");
        for inc in &a.incidents {
            incident_detail(o, inc);
        }
    }
}

/// One incident: its facts, evidence, requests in flight and the last requests before it.
fn incident_detail(o: &mut String, inc: &Incident) {
    let _ = writeln!(
        o,
        "<details open><summary>{} — {} of {} at {}</summary>\n<ul>",
        esc(&inc.id),
        esc(inc.kind.name()),
        opt(&inc.app_pool),
        when(inc.time)
    );
    let mut li = |k: &str, v: String| {
        let _ = writeln!(o, "<li>{k}: {v}</li>");
    };
    if let Some(l) = &inc.time_local {
        li("local time", esc(l));
    }
    li("time from", esc(inc.time_source.name()));
    if !inc.sites.is_empty() {
        li("sites", esc(&inc.sites.join(", ")));
    }
    if inc.exception_code.is_some() {
        li(
            "exception",
            format!("{} {}", opt(&inc.exception_code), opt(&inc.exception_name)),
        );
    }
    if inc.faulting_module.is_some() {
        li(
            "faulting module",
            format!(
                "{} {}",
                opt(&inc.faulting_module),
                opt(&inc.faulting_module_version)
            ),
        );
    }
    if inc.suspect_module.is_some() {
        li(
            "dump verdict module",
            format!("{} ({})", opt(&inc.suspect_module), opt(&inc.suspect_class)),
        );
    }
    if inc.bucket.is_some() {
        li("bucket", opt(&inc.bucket));
    }
    if inc.verdict.is_some() {
        li(
            "verdict",
            format!(
                "{} ({} confidence)",
                opt(&inc.verdict),
                opt(&inc.confidence)
            ),
        );
    }
    if inc.exit_code.is_some() {
        li("exit code", opt(&inc.exit_code));
    }
    if inc.detail.is_some() {
        li("detail", opt(&inc.detail));
    }
    if let Some(r) = &inc.rapid_fail {
        li("started rapid-fail episode", esc(r));
    }
    for n in &inc.notes {
        li("note", esc(n));
    }
    o.push_str("</ul>\n<b>Evidence</b>\n");
    evidence_list(o, &inc.evidence);
    if inc.in_flight_total > 0 {
        let _ = writeln!(
            o,
            "<b>Requests in flight ({})</b>{}",
            inc.in_flight_total,
            if inc.in_flight.iter().any(|r| !r.suspects.is_empty()) {
                " <span class=muted>those matching a suspect request pattern first (‼)</span>"
            } else {
                ""
            }
        );
        request_table(o, &inc.in_flight, true);
    }
    if !inc.recent.is_empty() {
        let _ = writeln!(
            o,
            "<b>Last {} requests before the crash</b> (newest first)",
            inc.recent.len()
        );
        request_table(o, &inc.recent, false);
    }
    o.push_str("</details>\n");
}

fn section_rapid_fail(o: &mut String, a: &Analysis) {
    if !a.rapid_fail.is_empty() {
        o.push_str("<h2 id=rapid-fail>Rapid-fail protection</h2>\n<table><tr><th>id</th><th>app pool</th><th>server</th><th>from</th><th>start (UTC)</th><th>end (UTC)</th><th>duration</th><th>refused HTTPERR 503</th><th>refused W3C 503</th><th>after</th></tr>\n");
        for r in &a.rapid_fail {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
                esc(&r.id),
                opt(&r.app_pool),
                opt(&r.server),
                esc(r.source.name()),
                fmt_utc(r.start.0),
                r.end.map_or_else(
                    || "still down at end of logs".into(),
                    |e| format!("{} ({})", fmt_utc(e.0), esc(r.end_reason.name()))
                ),
                r.duration_s
                    .map_or_else(|| "–".into(), |d| fmt_duration(d * 1000)),
                r.refused_httperr,
                r.refused_w3c,
                r.incident.as_deref().map_or_else(|| "–".into(), esc)
            );
        }
        o.push_str("</table>\n");
    }
}

fn section_suspects(o: &mut String, a: &Analysis) {
    o.push_str("<h2 id=suspects>Suspects</h2>\n");
    if a.suspects.is_empty() {
        o.push_str("<p>None.</p>\n");
    }
    for s in &a.suspects {
        let _ = writeln!(
            o,
            "<details open><summary>{} — {} <code>{}</code> <span class=\"badge {}\">{}</span></summary>\n<p>{}</p>\n<ul>",
            esc(&s.id),
            s.kind.label(),
            esc(&s.name),
            esc(s.confidence.name()),
            esc(s.confidence.name()),
            esc(&s.reason)
        );
        for f in super::suspect_facts(s) {
            let _ = writeln!(o, "<li>{}</li>", esc(&f));
        }
        let _ = writeln!(o, "</ul><b>Evidence ({})</b>", s.evidence_total);
        evidence_list(o, &s.evidence);
        o.push_str("</details>\n");
    }
}

fn section_recommendations(o: &mut String, a: &Analysis) {
    if !a.recommendations.is_empty() {
        o.push_str("<h2 id=next>What to do next</h2>\n<ol>\n");
        for r in &a.recommendations {
            let _ = write!(
                o,
                "<li>{}{}",
                r.suspect
                    .as_deref()
                    .map(|s| format!("<b>{}</b> ", esc(s)))
                    .unwrap_or_default(),
                esc(&r.action)
            );
            for c in &r.commands {
                let _ = write!(o, "<pre><code>{}</code></pre>", esc(c));
            }
            o.push_str("</li>\n");
        }
        o.push_str("</ol>\n");
    }
}

fn section_other_evidence(o: &mut String, a: &Analysis) {
    if !a.other_evidence.is_empty() {
        o.push_str("<h2>Other crash-related evidence</h2>\n");
        evidence_list(o, &a.other_evidence);
    }
}

fn section_modules(o: &mut String, a: &Analysis) {
    o.push_str("<h2 id=modules>Modules in the dumps</h2>\n");
    if a.modules.is_empty() {
        o.push_str("<p class=muted>No dump module list.</p>\n");
    } else {
        o.push_str("<p class=muted>Third-party modules are highlighted; suspects in bold.</p><table><tr><th>module</th><th>version</th><th>class</th><th>third party</th><th>dumps</th><th>suspect</th><th>path</th></tr>\n");
        for m in &a.modules {
            let class = if m.suspect.is_some() {
                " class=sus"
            } else if m.third_party {
                " class=tp"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "<tr{class}><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&m.name),
                if m.unloaded { " (unloaded)" } else { "" },
                opt(&m.version),
                esc(m.class.name()),
                if m.third_party { "yes" } else { "no" },
                m.dumps,
                m.suspect.as_deref().map_or_else(String::new, esc),
                esc(&m.path)
            );
        }
        o.push_str("</table>\n");
    }
}

fn section_coverage(o: &mut String, a: &Analysis) {
    o.push_str("<h2 id=coverage>Coverage</h2>\n");
    if let Some(sum) = &a.coverage.files_summary {
        let text = super::files_summary_text(sum, a.coverage.files.len());
        let _ = writeln!(o, "<p>{}</p>", esc(&text));
    }
    o.push_str("<table><tr><th>file</th><th>kind</th><th>status</th><th>size</th><th>lines</th><th>records</th><th>directives</th><th>blank</th><th>rejected</th><th>rows</th><th>issues</th></tr>\n");
    for f in &a.coverage.files {
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{:?}{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&f.path),
            esc(f.kind.name()),
            f.status,
            f.reason
                .as_deref()
                .map(|r| format!(": {}", esc(r)))
                .unwrap_or_default(),
            bytes(f.bytes),
            num(f.counts.lines),
            num(f.counts.records),
            num(f.counts.directives),
            num(f.counts.blank),
            num(f.counts.rejected),
            num(f.rows),
            f.issues
        );
    }
    o.push_str("</table>\n");
    if a.coverage.issues_total > 0 {
        let _ = writeln!(
            o,
            "<p>Issues: {} in all ({}).</p>",
            a.coverage.issues_total,
            esc(&a
                .coverage
                .issues_by_code
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "))
        );
        o.push_str("<table><tr><th>severity</th><th>file</th><th>line</th><th>offset</th><th>code</th><th>message</th></tr>\n");
        for i in &a.coverage.issues {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
                esc(i.severity.name()),
                esc(&i.path),
                i.line.map_or_else(String::new, |l| l.to_string()),
                i.offset.map_or_else(String::new, |l| l.to_string()),
                esc(&i.code),
                esc(&i.message)
            );
        }
        o.push_str("</table>\n");
    }
}

fn section_footer(o: &mut String, a: &Analysis) {
    let _ = writeln!(
        o,
        "<p class=muted>{} {} · report schema {}</p>\n</main></body></html>",
        esc(a.tool.name),
        esc(a.tool.version),
        esc(a.schema_version)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uris_are_cut_and_stay_escaped() {
        let uri = format!("/s.aspx?q=<script>\"{}", "A".repeat(500));
        let cell = shortened(&uri, 120);
        assert!(!cell.contains("<script>"), "{cell}");
        assert!(
            cell.contains("title=\"/s.aspx?q=&lt;script&gt;&quot;AAAA"),
            "{cell}"
        );
        assert!(cell.contains("(519 characters)"), "{cell}");
        assert_eq!(
            cell.matches('A').count(),
            500 + (120 - 19),
            "whole value in the title, 120 characters shown"
        );
        assert_eq!(shortened("/short", 120), "/short");
        assert_eq!(
            shortened_path("samples/outage/WEB01/httperr1.log"),
            "<span title=\"samples/outage/WEB01/httperr1.log\">httperr1.log</span>"
        );
    }
}
