//! The timeline chart of the HTML report: an inline SVG (no script), its labels escaped like
//! the rest of the page.

use super::doc::Chart;
use super::html::esc;
use super::num;
use crate::analyze::time::{fmt_duration, fmt_hm, fmt_short, fmt_utc};
use crate::analyze::{Incident, IncidentKind, RapidFail, Timeline};
use std::fmt::Write;

fn opt<T: ToString>(s: &Option<T>) -> String {
    s.as_ref()
        .map_or_else(|| "–".into(), |v| esc(&v.to_string()))
}

/// The inline SVG timeline: requests per bucket (line), 5xx (red bars), HTTPERR rows and
/// abandonments (lower band), crash markers, rapid-fail episodes (shaded).
pub fn svg(c: Chart) -> String {
    let tl = c.timeline;
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
    plot_rapid_fail(&mut s, &p, c.rapid_fail);
    plot_axes(&mut s, &p);
    plot_5xx(&mut s, &p, tl);
    plot_requests(&mut s, &p, tl);
    plot_cpu(&mut s, &p, tl);
    let private_max = plot_private(&mut s, &p, tl);
    plot_httperr(&mut s, &p, tl);
    plot_incidents(&mut s, &p, c.incidents);
    plot_time_labels(&mut s, &p);
    s.push_str("</svg>\n");
    let _ = writeln!(
        s,
        "<p class=muted>Blue: requests per {} (W3C, completion time). Red bars: 5xx.{}{} Lower band: HTTPERR rows (purple: with abandonments). Dashed lines: incidents, coloured by kind (crash red, hang purple, recycle orange, error burst ochre, overload blue, CPU green, dump grey), shaded over their span when it is known. Shaded grey: rapid-fail episodes.</p>",
        fmt_duration(tl.bucket_s * 1000),
        if tl.cpu.is_empty() {
            ""
        } else {
            " Green: machine CPU from the counter logs (0–100 %, right)."
        },
        private_max.map_or(String::new(), |m| format!(
            " Brown, dotted: the largest worker's Private Bytes (0–{m:.0} MB; a fall is a new worker)."
        ))
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
fn plot_rapid_fail(s: &mut String, p: &Plot, episodes: &[RapidFail]) {
    let Plot {
        left,
        pw,
        top,
        plot_h,
        ..
    } = *p;
    let x_of = |ts: i64| p.x_of(ts);
    // Rapid-fail episodes first (behind everything).
    for r in episodes {
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

/// A counter's line as polyline point lists, one per run of buckets with a sample (a gap
/// breaks the line); `height` maps a value to 0–1 of the plot's height.
fn runs(p: &Plot, values: &[Option<f64>], height: impl Fn(f64) -> f64) -> Vec<String> {
    let mut runs: Vec<Vec<String>> = vec![Vec::new()];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => runs.last_mut().expect("one run").push(format!(
                "{:.1},{:.1}",
                p.left + (i as f64 + 0.5) * p.bw,
                p.base - height(*v) * p.plot_h
            )),
            None if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(Vec::new()),
            None => {}
        }
    }
    runs.into_iter()
        .filter(|r| r.len() > 1)
        .map(|r| r.join(" "))
        .collect()
}

/// Machine CPU from the counter logs: a green line on a 0–100 % scale (right axis).
fn plot_cpu(s: &mut String, p: &Plot, tl: &Timeline) {
    if tl.cpu.is_empty() {
        return;
    }
    let Plot { left, pw, top, .. } = *p;
    for r in runs(p, &tl.cpu, |v| v.clamp(0.0, 100.0) / 100.0) {
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#148f77\" stroke-width=\"1.2\" stroke-opacity=\"0.8\"/>",
            r
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#148f77\" text-anchor=\"end\">CPU 100 %</text>",
        left + pw - 2.0,
        top + 18.0
    );
}

/// The largest worker's Private Bytes: a dotted brown line on its own scale (0 – its peak);
/// returns the peak, MB, when drawn.
fn plot_private(s: &mut String, p: &Plot, tl: &Timeline) -> Option<f64> {
    let max = tl.private_mb.iter().flatten().copied().fold(0.0, f64::max);
    if !(max > 0.0 && max.is_finite()) {
        return None;
    }
    for r in runs(p, &tl.private_mb, |v| (v / max).clamp(0.0, 1.0)) {
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#935116\" stroke-width=\"1.2\" stroke-dasharray=\"2 2\"/>",
            r
        );
    }
    Some(max)
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
fn plot_incidents(s: &mut String, p: &Plot, incidents: &[Incident]) {
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
    for inc in incidents {
        let Some(t) = inc.time else { continue };
        let x = x_of(t.0);
        if !(left - 1.0..=left + pw + 1.0).contains(&x) {
            continue;
        }
        let color = kind_color(inc.kind);
        // An outage with a known end (a burst, a CPU run) is shaded over its span.
        if let Some(end) = inc.end {
            let x1 = x_of(end.0).clamp(left, left + pw);
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"0.15\"/>",
                (x1 - x).max(1.5),
                band_top + band_h - top
            );
        }
        let _ = writeln!(
            s,
            "<g><title>{} {} at {}: pool {}, pid {}</title><line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{} {}</text></g>",
            esc(&inc.id),
            esc(inc.kind.name()),
            fmt_utc(t.0),
            opt(&inc.app_pool),
            inc.pid.map_or_else(|| "?".into(), |p| p.to_string()),
            band_top + band_h,
            x + 2.0,
            top + 8.0,
            esc(&inc.id),
            esc(inc.kind.name())
        );
    }
}

/// One colour per incident kind (the legend under the chart names them).
fn kind_color(k: IncidentKind) -> &'static str {
    match k {
        IncidentKind::Crash => "#c0392b",
        IncidentKind::Hang => "#8e44ad",
        IncidentKind::Recycle => "#d35400",
        IncidentKind::ErrorBurst => "#b7950b",
        IncidentKind::Overload => "#2471a3",
        IncidentKind::Cpu => "#148f77",
        IncidentKind::Dump => "#7f8c8d",
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
