//! Analysis: from [`Tables`] to incidents, requests in flight, suspects and the report model.
//!
//! Stages (DESIGN.md data flow steps 4–6), each in its own module:
//! 1. [`timeline`]: merge crash evidence (dumps, WAS / Application Error / .NET events, HTTPERR
//!    abandonment bursts) into incidents per server and app pool; detect rapid-fail episodes.
//! 2. [`correlate`]: requests in flight at each crash and the last requests before it, from the
//!    rows around the incidents; the end of rapid-fail episodes and the requests/min chart, from
//!    folds over every row ([`rows`]: the table in memory, or the logs read again when they are
//!    larger than `--in-memory-limit`).
//! 3. [`suspects`]: modules that fault across incidents, request patterns over-represented among
//!    in-flight requests against the site's baseline ([`stats`], [`pattern`]), corroboration,
//!    and what to do next.
//!
//! [`Analysis`] is the report model: the JSON report is `serde_json` of it (see
//! `docs/report-schema.md`, version [`SCHEMA_VERSION`]); Markdown, HTML and the terminal summary
//! render it (`crate::report`). Output is deterministic: every list has a stable sort order.

pub mod aggregate;
pub mod bursts;
pub mod correlate;
pub mod judge;
pub mod model;
pub mod pattern;
pub mod perf;
pub mod rows;
pub mod stats;
pub mod suspects;
#[doc(hidden)]
pub mod testkit;
pub mod time;
pub mod timeline;

#[cfg(test)]
mod tests;

pub use model::*;

use crate::tables::{FileId, FileStatus, LineCounts, Millis, Tables};
use std::collections::BTreeMap;

/// Version of the JSON report schema (`docs/report-schema.md`).
pub const SCHEMA_VERSION: &str = "2.1";

/// Knobs of the analysis. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// How far back from a crash "the last requests before it" reach (`--window`, default 5 min).
    pub window_ms: i64,
    /// Evidence without a common pid joins an incident when its pool matches and it is this close
    /// in time (default 120 s).
    pub tolerance_ms: i64,
    /// Evidence with the same pid joins an incident when this close (default 10 min: a pid is
    /// unique while the process lives, but Windows reuses pids over a day).
    pub pid_tolerance_ms: i64,
    /// HTTPERR abandonment rows of one pool closer than this form one burst (default 5 s).
    pub burst_gap_ms: i64,
    /// Slack around a W3C request's `[time − time-taken, time]` when testing whether it spans a
    /// crash: W3C times have one-second resolution and dump / event clocks are seconds apart
    /// (default 2 s).
    pub in_flight_slack_ms: i64,
    /// How many requests before each crash to list (default 20).
    pub last_n: usize,
    /// Only look at evidence and requests in `[since, until]`.
    pub since: Option<Millis>,
    /// Only look at evidence and requests up to this instant.
    pub until: Option<Millis>,
    /// Local time offset for display (`--tz`), seconds east of UTC.
    pub tz_offset_s: Option<i32>,
    /// Evidence rows listed per suspect / in-flight requests listed per incident (the totals are
    /// always given).
    pub max_listed: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            window_ms: 5 * 60_000,
            tolerance_ms: 120_000,
            pid_tolerance_ms: 600_000,
            burst_gap_ms: 5_000,
            in_flight_slack_ms: 2_000,
            last_n: 20,
            since: None,
            until: None,
            tz_offset_s: None,
            max_listed: 50,
        }
    }
}

impl AnalyzeOptions {
    pub(crate) fn in_range(&self, ts: Millis) -> bool {
        self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts <= u)
    }
    pub(crate) fn local(&self, ts: Millis) -> Option<String> {
        self.tz_offset_s.map(|o| time::fmt_local(ts, o))
    }
}

/// Runs every stage.
pub fn analyze(tables: &Tables, opts: &AnalyzeOptions) -> Analysis {
    let facts = rows::RowFacts::of(tables, opts);
    let tl = timeline::build(tables, opts);
    if tables.reread.is_some() {
        // The rows around the incidents, in the table the stages read one by one.
        let fold = correlate::EveryFold::of(tables, opts, &tl, &facts);
        let (kept, every) = rows::gather(tables, opts, &tl, &facts, &fold);
        let mut t = tables.clone();
        t.requests = kept;
        return analyze_with(&t, opts, tl, &facts, Some(every));
    }
    analyze_with(tables, opts, tl, &facts, None)
}

fn analyze_with(
    tables: &Tables,
    opts: &AnalyzeOptions,
    tl: timeline::Timeline,
    facts: &rows::RowFacts,
    every: Option<correlate::Every>,
) -> Analysis {
    let corr = correlate::run(tables, opts, &tl, facts, every);
    let judged = judge::Judgments::of(&tables.crashes, &tables.frames, &tables.threads);
    let bursts = bursts::find(tables, opts, &facts.bursts);
    let perf = perf::Perf::of(&tables.counters);
    let found = suspects::find(tables, &judged, opts, &tl, &corr, &bursts, &perf);
    let mut corr = corr;
    if let Some(Ts(start)) = corr.chart.start {
        let c = &mut corr.chart;
        c.cpu = perf.cpu_buckets(start, c.bucket_s * 1000, c.requests.len());
        c.private_mb = perf.private_buckets(start, c.bucket_s * 1000, c.requests.len());
    }
    assemble(tables, opts, tl, corr, found, facts)
}

/// Cuts a log-derived string for the report (characters, not bytes).
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn files_summary(t: &Tables) -> FilesSummary {
    let mut s = FilesSummary {
        total: t.files.len(),
        by_kind: BTreeMap::new(),
        bytes: 0,
        counts: LineCounts::default(),
        rows: 0,
    };
    for f in &t.files {
        *s.by_kind
            .entry(f.kind.name().to_string())
            .or_default()
            .entry(f.status.name().to_string())
            .or_insert(0) += 1;
        s.bytes += f.bytes;
        s.counts.add(&f.counts);
        s.rows += f.rows;
    }
    s
}

pub(crate) fn path_of(t: &Tables, file: FileId) -> String {
    t.files
        .get(file as usize)
        .map_or_else(|| format!("file#{file}"), |f| f.path.display().to_string())
}

fn assemble(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: timeline::Timeline,
    corr: correlate::Correlation,
    found: suspects::Found,
    facts: &rows::RowFacts,
) -> Analysis {
    let mut by_kind = BTreeMap::new();
    for f in &t.files {
        *by_kind.entry(f.kind.name().to_string()).or_insert(0) += 1;
    }
    let mut servers: Vec<String> = t.files.iter().filter_map(|f| f.server.clone()).collect();
    servers.extend(t.crashes.iter().filter_map(|c| c.server.clone()));
    servers.extend(facts.servers.iter().cloned());
    servers.extend(t.httperr.server.categories().iter().cloned());
    servers.sort_by_key(|s| s.to_ascii_lowercase());
    servers.dedup_by(|a, b| a.eq_ignore_ascii_case(b));

    // What the ingest found, and files a later read found changed (logs read again).
    let changed = t.reread.as_ref().map(|r| r.changed()).unwrap_or_default();
    let all_issues: Vec<&crate::tables::IssueRow> = t.issues.iter().chain(&changed).collect();
    let mut issue_counts = vec![0usize; t.files.len()];
    let mut issues_by_code = BTreeMap::new();
    for i in all_issues.iter().copied() {
        if let Some(c) = issue_counts.get_mut(i.file as usize) {
            *c += 1;
        }
        *issues_by_code.entry(i.code.to_string()).or_insert(0) += 1;
    }
    let summarise = t.files.len() > COVERAGE_LIST_MAX;
    let coverage = Coverage {
        files_summary: summarise.then(|| files_summary(t)),
        files: t
            .files
            .iter()
            .filter(|f| {
                !summarise
                    || f.status != FileStatus::Parsed
                    || issue_counts.get(f.id as usize).is_some_and(|&n| n > 0)
            })
            .map(|f| FileCoverage {
                id: f.id,
                path: f.path.display().to_string(),
                kind: f.kind,
                status: f.status,
                reason: f.reason.clone(),
                bytes: f.bytes,
                server: f.server.clone(),
                site: f.site.clone(),
                counts: f.counts,
                rows: f.rows,
                issues: issue_counts.get(f.id as usize).copied().unwrap_or(0),
            })
            .collect(),
        issues_total: all_issues.len(),
        issues_by_code,
        issues: all_issues
            .iter()
            .take(200)
            .map(|i| IssueOut {
                file: i.file,
                path: path_of(t, i.file),
                line: i.line,
                offset: i.offset,
                severity: i.severity,
                code: i.code.to_string(),
                message: cut(&i.message, 500),
            })
            .collect(),
    };

    let inputs = Inputs {
        files: t.files.len(),
        by_kind,
        requests: facts.rows,
        httperr_rows: t.httperr.len(),
        crash_rows: t.crashes.len(),
        dumps: t
            .crashes
            .iter()
            .filter(|c| c.source == Some(crate::tables::EvidenceSource::Dump))
            .count(),
        events: t
            .crashes
            .iter()
            .filter(|c| c.source == Some(crate::tables::EvidenceSource::Event))
            .count(),
        log_restarts: t
            .crashes
            .iter()
            .filter(|c| c.source == Some(crate::tables::EvidenceSource::Log))
            .count(),
        issues: all_issues.len(),
        servers,
        identities: t.servers.clone(),
        first: corr.first.map(Ts),
        last: corr.last.map(Ts),
    };

    let suspects::Found {
        incidents,
        rapid_fail,
        suspects,
        recommendations,
        modules,
        summary,
    } = found;
    let other_evidence = tl
        .unattached
        .iter()
        .map(|&i| timeline::crash_evidence(t, i))
        .collect();
    let other_crashes = tl
        .other_processes
        .iter()
        .map(|&i| timeline::crash_evidence(t, i))
        .collect();

    Analysis {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::this(),
        options: OptionsEcho {
            window_s: opts.window_ms / 1000,
            tolerance_s: opts.tolerance_ms / 1000,
            pid_tolerance_s: opts.pid_tolerance_ms / 1000,
            in_flight_slack_s: opts.in_flight_slack_ms / 1000,
            last_n: opts.last_n,
            since: opts.since.map(Ts),
            until: opts.until.map(Ts),
            tz: opts.tz_offset_s.map(time::fmt_offset),
        },
        inputs,
        summary,
        incidents,
        rapid_fail,
        suspects,
        recommendations,
        modules,
        other_evidence,
        other_crashes,
        timeline: corr.chart,
        coverage,
    }
}
