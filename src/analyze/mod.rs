//! Analysis: from [`Tables`] to incidents, requests in flight, suspects and the report model.
//!
//! Stages (DESIGN.md data flow steps 4–6), each in its own module:
//! 1. [`timeline`]: merge crash evidence (dumps, WAS / Application Error / .NET events, HTTPERR
//!    abandonment bursts) into incidents per server and app pool; detect rapid-fail episodes.
//! 2. [`correlate`]: one O(n) pass over the requests: requests in flight at each crash, the last
//!    requests before it, the end of rapid-fail episodes, the requests/min chart.
//! 3. [`suspects`]: modules that fault across incidents, request patterns over-represented among
//!    in-flight requests against the site's baseline ([`stats`], [`pattern`]), corroboration,
//!    and what to do next.
//!
//! [`Analysis`] is the report model: the JSON report is `serde_json` of it (see
//! `docs/report-schema.md`, version [`SCHEMA_VERSION`]); Markdown, HTML and the terminal summary
//! render it (`crate::report`). Output is deterministic: every list has a stable sort order.

pub mod correlate;
pub mod pattern;
pub mod stats;
pub mod suspects;
#[doc(hidden)]
pub mod testkit;
pub mod time;
pub mod timeline;

#[cfg(test)]
mod tests;

use crate::tables::{FileId, FileStatus, LineCounts, Millis, Tables};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Version of the JSON report schema (`docs/report-schema.md`).
pub const SCHEMA_VERSION: &str = "1.2";

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

/// A UTC instant; serialized as RFC 3339 with `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub Millis);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time::fmt_utc(self.0))
    }
}

/// The whole analysis: what the reports render and what `report.json` is.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub schema_version: &'static str,
    pub tool: ToolInfo,
    pub options: OptionsEcho,
    pub inputs: Inputs,
    pub summary: Summary,
    pub incidents: Vec<Incident>,
    pub rapid_fail: Vec<RapidFail>,
    pub suspects: Vec<Suspect>,
    pub recommendations: Vec<Recommendation>,
    pub modules: Vec<ModuleEntry>,
    /// Crash-related evidence that matched no incident (a 1309 whose process lived, a WER report…).
    pub other_evidence: Vec<EvidenceRef>,
    pub timeline: Timeline,
    pub coverage: Coverage,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct OptionsEcho {
    pub window_s: i64,
    pub tolerance_s: i64,
    pub pid_tolerance_s: i64,
    pub in_flight_slack_s: i64,
    pub last_n: usize,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
    /// `--tz` as a fixed offset (`+02:00`), when given.
    pub tz: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub files: usize,
    /// Files per artifact kind (`w3c`, `httperr`, `minidump`, …).
    pub by_kind: BTreeMap<String, usize>,
    pub requests: usize,
    pub httperr_rows: usize,
    pub crash_rows: usize,
    pub dumps: usize,
    pub events: usize,
    pub issues: usize,
    pub servers: Vec<String>,
    /// Earliest and latest timestamp seen in any table (within `--since` / `--until`).
    pub first: Option<Ts>,
    pub last: Option<Ts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// True when at least one incident of kind `crash` was found.
    pub crashed: bool,
    /// One paragraph: what happened, when, which module, which requests.
    pub headline: String,
    pub incidents: usize,
    pub crashes: usize,
    pub rapid_fail_episodes: usize,
    /// Why the conclusions are weak, when they are (one incident, no dump, no baseline …).
    pub thin_evidence: Vec<String>,
    pub notes: Vec<String>,
}

/// Where a fact comes from: an input file and a byte offset (record number for evtx).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EvidenceRef {
    pub file: FileId,
    pub path: String,
    pub offset: u64,
    /// `dump`, `event`, `httperr`, `w3c`.
    pub source: String,
    /// What this row says, in a few words.
    pub what: String,
}

/// One request, from the W3C log or from HTTPERR.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRef {
    /// `w3c` or `httperr`.
    pub source: &'static str,
    /// W3C: when the request completed; HTTPERR: when HTTP.sys logged it.
    pub time: Ts,
    /// W3C only: `time − time-taken`.
    pub start: Option<Ts>,
    pub method: Option<String>,
    /// Stem and query as logged (cut at 2,000 characters).
    pub uri: String,
    pub status: Option<u16>,
    pub substatus: Option<u32>,
    pub win32_status: Option<u64>,
    pub time_taken_ms: Option<u64>,
    pub bytes_in: Option<u64>,
    pub client: Option<String>,
    pub user_agent: Option<String>,
    /// HTTPERR `s-reason`.
    pub reason: Option<String>,
    pub site: Option<String>,
    pub file: FileId,
    pub path: String,
    pub offset: u64,
    /// In `Incident::in_flight`: ids of the request-pattern suspects this request matches, best
    /// rank first (such requests are listed first). Empty elsewhere. Since 1.1.
    pub suspects: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// `I1`, `I2`, … in time order.
    pub id: String,
    /// `crash` (the worker died), `hang` (WAS 5010 ping failure), `dump` (a dump without an
    /// exception and no other evidence: a manual or hang dump).
    pub kind: String,
    pub server: Option<String>,
    pub app_pool: Option<String>,
    /// Sites served by the pool (from HTTPERR `s-siteid` ↔ `s-queuename`, or the server's only site).
    pub sites: Vec<String>,
    pub pid: Option<u32>,
    /// When the worker died (null only when no piece of evidence carried a time).
    pub time: Option<Ts>,
    pub time_local: Option<String>,
    /// Which evidence gave `time`: `dump`, `event`, `httperr`.
    pub time_source: String,
    /// Kinds of evidence merged into this incident, e.g. `dump`, `event:Microsoft-Windows-WAS/5011`,
    /// `event:Application Error/1000`, `httperr`.
    pub sources: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
    pub exception_code: Option<String>,
    pub exception_name: Option<String>,
    pub faulting_module: Option<String>,
    pub faulting_module_version: Option<String>,
    pub suspect_module: Option<String>,
    pub suspect_class: Option<String>,
    pub bucket: Option<String>,
    pub verdict: Option<String>,
    pub confidence: Option<String>,
    pub exit_code: Option<String>,
    pub detail: Option<String>,
    /// Requests in flight at the crash: HTTPERR abandonments, then W3C requests spanning it.
    pub in_flight: Vec<RequestRef>,
    pub in_flight_total: usize,
    /// The last requests of the pool's sites that completed before the crash (newest first).
    pub recent: Vec<RequestRef>,
    /// Ids of the suspects this incident supports.
    pub suspects: Vec<String>,
    /// Id of the rapid-fail episode this incident started, if any.
    pub rapid_fail: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RapidFail {
    /// `R1`, `R2`, …
    pub id: String,
    pub server: Option<String>,
    pub app_pool: Option<String>,
    /// `event_5002` (WAS disabled the pool) or `httperr_app_offline` (inferred from 503 AppOffline).
    pub source: String,
    pub start: Ts,
    pub start_local: Option<String>,
    pub end: Option<Ts>,
    pub end_local: Option<String>,
    /// `first_success` (first 2xx/3xx request started after the start), `worker_start` (later
    /// evidence of a running worker), or `end_of_data` (still down when the logs end; `end` null).
    pub end_reason: String,
    pub duration_s: Option<i64>,
    /// HTTPERR 503 `AppOffline` rows of the pool in the episode.
    pub refused_httperr: u64,
    /// W3C 503 rows of the pool's sites in the episode.
    pub refused_w3c: u64,
    /// The incident whose crash series triggered it.
    pub incident: Option<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// Statistics of a request-pattern suspect.
#[derive(Debug, Clone, Serialize)]
pub struct PatternStats {
    pub feature: pattern::FeatureKind,
    /// In-flight requests with the pattern / in-flight requests where the feature is defined.
    pub in_flight: u64,
    pub in_flight_total: u64,
    /// Baseline requests (same sites, whole input, in-flight excluded) with the pattern / in all.
    pub baseline: u64,
    pub baseline_total: u64,
    /// `baseline / baseline_total` (the request-count share; not what is tested). Since 1.1.
    pub baseline_share: f64,
    /// Busy time of the baseline requests with the pattern / of all of them, in ms: each request
    /// weighs its `time-taken` + 1 ms; one without a `time-taken` weighs the group's mean
    /// `time-taken` + 1 ms. Since 1.1.
    pub baseline_busy_ms: f64,
    pub baseline_busy_total_ms: f64,
    /// `baseline_busy_ms / baseline_busy_total_ms`: the chance that a request caught in flight at
    /// a random instant has the pattern. Since 1.1.
    pub baseline_busy_share: f64,
    /// Baseline requests with the pattern that logged no `time-taken` (weighed at the mean).
    /// Since 1.1.
    pub baseline_untimed: u64,
    /// The rate tested against: the smoothed busy-time share, mixed with the slack-widened share
    /// for the in-flight W3C rows (`suspects::null_rate`). Since 1.1.
    pub null_rate: f64,
    /// In-flight W3C rows among `in_flight_total` (the rest are HTTPERR abandonments). Since 1.1.
    pub in_flight_w3c: u64,
    /// `(in_flight / in_flight_total) / null_rate`.
    pub lift: f64,
    /// One-sided exact binomial test of `in_flight` against `null_rate`.
    pub p_value: f64,
    /// Bonferroni-corrected for `tests` patterns tested.
    pub p_adjusted: f64,
    pub tests: usize,
    /// Other features shared by exactly the same in-flight requests (e.g. the same client).
    pub same_requests: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleFacts {
    /// Vendor and product, when the module is in the known third-party table.
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub path: Option<String>,
    pub class: Option<String>,
    pub third_party: Option<bool>,
    /// Exception codes seen with it.
    pub exception_codes: Vec<String>,
    pub buckets: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suspect {
    /// `S1`, `S2`, … in rank order.
    pub id: String,
    /// `isapi_filter`, `isapi_extension`, `com_object`, `native_module`, `managed_code`,
    /// `managed_pinvoke` (native code called from managed code), `ancm` (hosted by the ASP.NET
    /// Core Module), `system_module` (a Windows module: usually the victim), `request_pattern`.
    pub kind: String,
    pub name: String,
    /// `high`, `medium`, `low`.
    pub confidence: String,
    /// Incidents it is seen in.
    pub incidents: Vec<String>,
    /// Incidents it could have been seen in (same pool group).
    pub incidents_considered: usize,
    /// One or two sentences: why it is a suspect.
    pub reason: String,
    pub evidence: Vec<EvidenceRef>,
    pub evidence_total: usize,
    pub module: Option<ModuleFacts>,
    pub pattern: Option<PatternStats>,
    /// Ids of suspects that corroborate this one.
    pub corroborated_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// The suspect it addresses, if any.
    pub suspect: Option<String>,
    pub action: String,
    /// Commands or configuration to apply, verbatim.
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleEntry {
    pub name: String,
    pub version: Option<String>,
    pub path: String,
    pub class: String,
    pub third_party: bool,
    pub unloaded: bool,
    /// Dumps that list it.
    pub dumps: usize,
    /// Suspect id when this module is a suspect.
    pub suspect: Option<String>,
}

/// Per-bucket counts for the chart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub start: Option<Ts>,
    pub bucket_s: i64,
    pub requests: Vec<u64>,
    pub status_5xx: Vec<u64>,
    pub httperr: Vec<u64>,
    pub abandoned: Vec<u64>,
}

/// Above this many input files the report lists only the files with issues or not parsed, and
/// counts the rest (a day of 100,000 small logs would otherwise be a 40 MB report).
pub const COVERAGE_LIST_MAX: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Every input file; past [`COVERAGE_LIST_MAX`] files, only those with issues or not parsed
    /// (see `files_summary`).
    pub files: Vec<FileCoverage>,
    /// Present when `files` is not every file: the counts of all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_summary: Option<FilesSummary>,
    pub issues_total: usize,
    pub issues_by_code: BTreeMap<String, usize>,
    /// The first issues (at most 200), in input order.
    pub issues: Vec<IssueOut>,
}

/// All input files counted, for a report that lists only some.
#[derive(Debug, Clone, Serialize)]
pub struct FilesSummary {
    pub total: usize,
    /// Files by kind, then status: kind → status → files.
    pub by_kind: BTreeMap<String, BTreeMap<String, usize>>,
    pub bytes: u64,
    pub counts: LineCounts,
    pub rows: u64,
}

impl Coverage {
    /// Input files in all, listed or not.
    pub fn total_files(&self) -> usize {
        self.files_summary
            .as_ref()
            .map_or(self.files.len(), |s| s.total)
    }
    /// Input files read (status parsed), listed or not.
    pub fn parsed_files(&self) -> usize {
        match &self.files_summary {
            Some(s) => s.by_kind.values().filter_map(|st| st.get("parsed")).sum(),
            None => self
                .files
                .iter()
                .filter(|f| f.status == FileStatus::Parsed)
                .count(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    pub id: FileId,
    pub path: String,
    pub kind: String,
    pub status: FileStatus,
    pub reason: Option<String>,
    pub bytes: u64,
    pub server: Option<String>,
    pub site: Option<String>,
    pub counts: LineCounts,
    pub rows: u64,
    pub issues: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueOut {
    pub file: FileId,
    pub path: String,
    pub line: Option<u64>,
    pub offset: Option<u64>,
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// Runs every stage.
pub fn analyze(tables: &Tables, opts: &AnalyzeOptions) -> Analysis {
    let tl = timeline::build(tables, opts);
    let corr = correlate::run(tables, opts, &tl);
    let found = suspects::find(tables, opts, &tl, &corr);
    assemble(tables, opts, tl, corr, found)
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
) -> Analysis {
    let mut by_kind = BTreeMap::new();
    for f in &t.files {
        *by_kind.entry(f.kind.name().to_string()).or_insert(0) += 1;
    }
    let mut servers: Vec<String> = t.files.iter().filter_map(|f| f.server.clone()).collect();
    servers.extend(t.crashes.iter().filter_map(|c| c.server.clone()));
    servers.extend(t.requests.server.categories().iter().cloned());
    servers.extend(t.httperr.server.categories().iter().cloned());
    servers.sort_by_key(|s| s.to_ascii_lowercase());
    servers.dedup_by(|a, b| a.eq_ignore_ascii_case(b));

    let mut issue_counts = vec![0usize; t.files.len()];
    let mut issues_by_code = BTreeMap::new();
    for i in &t.issues {
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
                kind: f.kind.name().to_string(),
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
        issues_total: t.issues.len(),
        issues_by_code,
        issues: t
            .issues
            .iter()
            .take(200)
            .map(|i| IssueOut {
                file: i.file,
                path: path_of(t, i.file),
                line: i.line,
                offset: i.offset,
                severity: format!("{:?}", i.severity).to_ascii_lowercase(),
                code: i.code.to_string(),
                message: cut(&i.message, 500),
            })
            .collect(),
    };

    let inputs = Inputs {
        files: t.files.len(),
        by_kind,
        requests: t.requests.len(),
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
        issues: t.issues.len(),
        servers,
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

    Analysis {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "w3triage",
            version: env!("CARGO_PKG_VERSION"),
        },
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
        timeline: corr.chart,
        coverage,
    }
}
