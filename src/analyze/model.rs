//! The report model: what `report.json` is (`docs/report-schema.md`) and what every report
//! writer renders. Domain values are enums; their names appear only when serialized.

use super::{pattern, time};
use crate::knowledge::modules::{ModuleClass, SuspectRole};
use crate::knowledge::verdict::Confidence;
use crate::tables::{ArtifactKind, FileId, FileStatus, LineCounts, Millis, Severity};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

named_enum! {
    /// What kind of outage an incident is.
    #[derive(Default)]
    pub enum IncidentKind {
        /// The worker died.
        #[default]
        Crash = "crash",
        /// WAS found the worker unresponsive (5010 ping failure).
        Hang = "hang",
        /// A dump without an exception and no other evidence: a manual or hang dump.
        Dump = "dump",
        /// WAS recycled the worker on a memory limit (5077, 5117).
        Recycle = "recycle",
        /// A site's errors (5xx, or one status.substatus.win32) rose far above its baseline.
        ErrorBurst = "error_burst",
        /// Requests refused or queued for capacity: HTTP.sys `QueueFull`, `Timer_AppPool`,
        /// `ConnLimit`; W3C 503.2–503.4, 500.13.
        Overload = "overload",
        /// Sustained CPU saturation (Performance Monitor counters).
        Cpu = "cpu",
    }
}

named_enum! {
    /// What a suspect is: a module in one of its roles, a Windows module (usually the victim),
    /// or a request pattern.
    pub enum SuspectKind {
        /// An ISAPI filter.
        IsapiFilter = "isapi_filter",
        /// An ISAPI extension.
        IsapiExtension = "isapi_extension",
        /// A COM object (called through COM dispatch or classic ASP).
        ComObject = "com_object",
        /// A native IIS module (or a native module whose caller is unknown).
        NativeModule = "native_module",
        /// Native code called from managed code.
        ManagedPinvoke = "managed_pinvoke",
        /// Managed (.NET) code.
        ManagedCode = "managed_code",
        /// Hosted by the ASP.NET Core Module.
        Ancm = "ancm",
        /// A Windows module: usually the victim.
        SystemModule = "system_module",
        /// A shape of request over-represented among those in flight at the crashes.
        RequestPattern = "request_pattern",
        /// Requests that stand out (huge, slow) and completed shortly before the crashes.
        Precursor = "precursor",
        /// A configuration change (a pool's properties changed, a module failed to load)
        /// just before errors began. Since 2.0.
        Configuration = "configuration",
    }
}

impl From<SuspectRole> for SuspectKind {
    fn from(r: SuspectRole) -> Self {
        match r {
            SuspectRole::IsapiFilter => SuspectKind::IsapiFilter,
            SuspectRole::IsapiExtension => SuspectKind::IsapiExtension,
            SuspectRole::ComObject => SuspectKind::ComObject,
            SuspectRole::NativeModule => SuspectKind::NativeModule,
            SuspectRole::ManagedPinvoke => SuspectKind::ManagedPinvoke,
            SuspectRole::ManagedCode => SuspectKind::ManagedCode,
            SuspectRole::Ancm => SuspectKind::Ancm,
        }
    }
}

impl SuspectKind {
    /// A short human label ("ISAPI filter").
    pub fn label(self) -> &'static str {
        match self {
            SuspectKind::IsapiFilter => "ISAPI filter",
            SuspectKind::IsapiExtension => "ISAPI extension",
            SuspectKind::ComObject => "COM object",
            SuspectKind::NativeModule => "native module",
            SuspectKind::ManagedPinvoke => "native library called from managed code",
            SuspectKind::Ancm => "ASP.NET Core Module component",
            SuspectKind::ManagedCode => "managed code",
            SuspectKind::SystemModule => "Windows module",
            SuspectKind::RequestPattern => "request pattern",
            SuspectKind::Precursor => "precursor request",
            SuspectKind::Configuration => "configuration change",
        }
    }
    /// A module suspect (not a request pattern).
    pub fn is_module(self) -> bool {
        !matches!(
            self,
            SuspectKind::RequestPattern | SuspectKind::Precursor | SuspectKind::Configuration
        )
    }
}

named_enum! {
    /// The cause class of an outage (the classic IIS stability taxonomy). Since 2.0.
    pub enum Category {
        /// Requests wait on one lock or one single-threaded component; CPU is low.
        ThreadLocking = "thread_locking",
        /// Too many threads contend: CPU high with heavy context switching.
        HighThreadCount = "high_thread_count",
        /// One thread loops: CPU high with few context switches.
        RunawayThread = "runaway_thread",
        /// Memory grows until a limit recycles or kills the worker.
        MemoryLeak = "memory_leak",
        /// A request kills or breaks the worker.
        BadRequest = "bad_request",
        /// A module faults (the crash's verdict names it).
        FaultingModule = "faulting_module",
        /// The configuration is broken (500.19, 500.21–24, a module that fails to load, a
        /// storm of 401/403 from many clients).
        Configuration = "configuration",
        /// Not decided; `missing` says what would decide it.
        Unknown = "unknown",
    }
}

/// An incident's category and the evidence that decided it. Since 2.0. The default is
/// `unknown` with nothing said, until the categorize pass decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryFinding {
    /// The category.
    pub name: Category,
    /// The facts that decided it, one sentence each.
    pub decided_by: Vec<String>,
    /// What would decide it (or confirm it) when it is weak: counters, dumps, traces.
    pub missing: Vec<String>,
}

impl Default for CategoryFinding {
    fn default() -> Self {
        CategoryFinding {
            name: Category::Unknown,
            decided_by: Vec::new(),
            missing: Vec::new(),
        }
    }
}

/// A count of one value (a status code, a reason, a URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counted {
    /// The value (`500.19.13`, `QueueFull`, a stem).
    pub value: String,
    /// How many.
    pub count: u64,
}

/// The facts of an error burst or an overload window. Since 2.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurstFacts {
    /// What was counted: `5xx`, one code (`500.19.13`), or `httperr` (capacity refusals).
    pub series: String,
    /// The site (W3C) or the queue (HTTPERR).
    pub site: Option<String>,
    /// The window's last error.
    pub end: Ts,
    /// `end − time`, seconds.
    pub duration_s: i64,
    /// Errors in the window.
    pub errors: u64,
    /// Requests of the site in the window (W3C only).
    pub requests: Option<u64>,
    /// The rate outside the window, smoothed: per request (W3C) or per minute (HTTPERR).
    pub baseline_rate: f64,
    /// The window's rate over `baseline_rate`.
    pub lift: f64,
    /// Exact one-sided test (binomial for W3C, Poisson for HTTPERR).
    pub p_value: f64,
    /// Bonferroni over `tests` windows.
    pub p_adjusted: f64,
    /// Windows tested in all.
    pub tests: usize,
    /// Less traffic outside the window than inside: the baseline is thin.
    pub thin_baseline: bool,
    /// The dominant code (`status.substatus.win32`) or reason.
    pub dominant: Option<String>,
    /// Codes or reasons in the window, most first.
    pub codes: Vec<Counted>,
    /// URLs most hit, most first.
    pub urls: Vec<Counted>,
    /// Classic ASP errors the failing requests logged in their query (`ASP_0115`,
    /// `800a01a8`), most first; absent when none. Since 2.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asp_errors: Vec<Counted>,
    /// Distinct clients among the errors.
    pub clients: usize,
}

named_enum! {
    /// Which input a piece of evidence or a request comes from.
    pub enum EvidenceKind {
        /// A minidump.
        Dump = "dump",
        /// A Windows event.
        Event = "event",
        /// An HTTP.sys error-log row.
        Httperr = "httperr",
        /// A W3C access-log row.
        W3c = "w3c",
        /// A Performance Monitor sample (a line of a counter log). Since 2.0.
        Counters = "counters",
        /// A Failed Request Tracing file. Since 2.0.
        Freb = "freb",
    }
}

/// A 32-bit code (exception code, exit code) shown and serialized as `0x%08x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex32(pub u32);

impl std::fmt::Display for Hex32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

impl Serialize for Hex32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hex32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .map(Hex32)
            .ok_or_else(|| serde::de::Error::custom(format!("not a 0x%08x code: {s:?}")))
    }
}

/// One kind of evidence merged into an incident: `dump`, `event:<provider>/<id>` or `httperr`.
/// Ordered as its name sorts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceTag {
    /// A minidump.
    Dump,
    /// The event's label after `event:` (`Microsoft-Windows-WAS/5011`).
    Event(String),
    /// HTTPERR abandonments (or, for an overload, refusals).
    Httperr,
    /// W3C rows (an error burst). Since 2.0.
    W3c,
    /// Performance Monitor samples (CPU saturation). Since 2.0.
    Counters,
}

impl std::fmt::Display for SourceTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceTag::Dump => f.write_str("dump"),
            SourceTag::Event(e) => write!(f, "event:{e}"),
            SourceTag::Httperr => f.write_str("httperr"),
            SourceTag::W3c => f.write_str("w3c"),
            SourceTag::Counters => f.write_str("counters"),
        }
    }
}

impl Serialize for SourceTag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "dump" => SourceTag::Dump,
            "httperr" => SourceTag::Httperr,
            "w3c" => SourceTag::W3c,
            "counters" => SourceTag::Counters,
            _ => match s.strip_prefix("event:") {
                Some(e) => SourceTag::Event(e.to_string()),
                None => return Err(serde::de::Error::custom(format!("unknown source {s:?}"))),
            },
        })
    }
}

/// The tags of an incident, joined for a table cell.
pub fn join_tags(tags: &[SourceTag]) -> String {
    tags.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

named_enum! {
    /// Which evidence gave an incident its time.
    #[derive(Default)]
    pub enum TimeSource {
        /// The dump header's time.
        Dump = "dump",
        /// An event's time.
        Event = "event",
        /// The first abandonment of the HTTPERR burst (or an overload's first refusal).
        Httperr = "httperr",
        /// The first error of a W3C burst. Since 2.0.
        W3c = "w3c",
        /// The first saturated sample of a counter log. Since 2.0.
        Counters = "counters",
        /// No evidence carried a time.
        #[default]
        None = "none",
    }
}

named_enum! {
    /// What a rapid-fail episode was found from.
    pub enum RapidFailSource {
        /// WAS 5002: the pool was disabled.
        Event5002 = "event_5002",
        /// Inferred from HTTPERR 503 `AppOffline` rows.
        HttperrAppOffline = "httperr_app_offline",
    }
}

named_enum! {
    /// How a rapid-fail episode ended.
    pub enum RapidFailEnd {
        /// The first 2xx/3xx request that started after the episode's start.
        FirstSuccess = "first_success",
        /// Later evidence of a running worker.
        WorkerStart = "worker_start",
        /// Still down when the logs end.
        EndOfData = "end_of_data",
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

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| Ts(t.timestamp_millis()))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 time {s:?}: {e}")))
    }
}

/// The whole analysis: what the reports render and what `report.json` is.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The version of this schema (`docs/report-schema.md`).
    pub schema_version: &'static str,
    /// The program that wrote the report.
    pub tool: ToolInfo,
    /// The options the analysis ran with.
    pub options: OptionsEcho,
    /// What was read.
    pub inputs: Inputs,
    /// The headline, and why the evidence is thin when it is.
    pub summary: Summary,
    /// Outages, in time order (`I1`, `I2`, …).
    pub incidents: Vec<Incident>,
    /// Rapid-fail episodes (`R1`, …).
    pub rapid_fail: Vec<RapidFail>,
    /// Suspects, best first (`S1`, …).
    pub suspects: Vec<Suspect>,
    /// What to do next, most specific first.
    pub recommendations: Vec<Recommendation>,
    /// The modules the dumps list, suspects and third-party first.
    pub modules: Vec<ModuleEntry>,
    /// Crash-related evidence that matched no incident (a 1309 whose process lived, a WER report…).
    pub other_evidence: Vec<EvidenceRef>,
    /// Crashes of processes that are not IIS workers (a desktop app, a service) on the same
    /// servers: context, never incidents. Since 1.3.
    pub other_crashes: Vec<EvidenceRef>,
    /// Requests, 5xx, HTTPERR rows and abandonments per time bucket.
    pub timeline: Timeline,
    /// Every input file and what became of it, and the issues.
    pub coverage: Coverage,
}

/// The program that wrote a report.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `w3triage`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

impl ToolInfo {
    /// This program.
    pub fn this() -> ToolInfo {
        ToolInfo {
            name: "w3triage",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The options of an analysis, as given or defaulted.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsEcho {
    /// How far back "the last requests before a crash" reach.
    pub window_s: i64,
    /// How close in time evidence without a common pid must be to join an incident.
    pub tolerance_s: i64,
    /// How close in time evidence with the same pid must be.
    pub pid_tolerance_s: i64,
    /// Slack around a W3C request when testing whether it spans a crash.
    pub in_flight_slack_s: i64,
    /// How many requests before each crash are listed.
    pub last_n: usize,
    /// `--since`.
    pub since: Option<Ts>,
    /// `--until`.
    pub until: Option<Ts>,
    /// `--tz` as a fixed offset (`+02:00`), when given.
    pub tz: Option<String>,
}

/// What was read.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    /// Input files in all.
    pub files: usize,
    /// Files per artifact kind (`w3c`, `httperr`, `minidump`, …).
    pub by_kind: BTreeMap<String, usize>,
    /// W3C rows.
    pub requests: usize,
    /// HTTPERR rows.
    pub httperr_rows: usize,
    /// Rows of the `crashes` table (dumps, events and log restarts).
    pub crash_rows: usize,
    /// Dumps.
    pub dumps: usize,
    /// Crash-related events.
    pub events: usize,
    /// W3C header blocks written again after requests (`log_restart` rows). Since 2.1.
    #[serde(default)]
    pub log_restarts: usize,
    /// Issues while reading.
    pub issues: usize,
    /// The servers seen, sorted.
    pub servers: Vec<String>,
    /// Each machine and the evidence that named it (events `Computer`, `s-computername`,
    /// folders), sorted by name. Since 1.3.
    pub identities: Vec<crate::tables::ServerIdentity>,
    /// Earliest and latest timestamp seen in any table (within `--since` / `--until`).
    pub first: Option<Ts>,
    /// The latest timestamp.
    pub last: Option<Ts>,
}

/// The outcome in a few sentences.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// True when at least one incident of kind `crash` was found.
    pub crashed: bool,
    /// One paragraph: what happened, when, which module, which requests.
    pub headline: String,
    /// Incidents of any kind.
    pub incidents: usize,
    /// Incidents of kind `crash`.
    pub crashes: usize,
    /// Rapid-fail episodes.
    pub rapid_fail_episodes: usize,
    /// Why the conclusions are weak, when they are (one incident, no dump, no baseline …).
    pub thin_evidence: Vec<String>,
    /// Other things worth knowing (untested patterns, unattached evidence, input issues).
    pub notes: Vec<String>,
}

/// Where a fact comes from: an input file and a byte offset (record number for evtx).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// The input file.
    pub file: FileId,
    /// Its path.
    pub path: String,
    /// Byte offset (record number for evtx).
    pub offset: u64,
    /// Which kind of input.
    pub source: EvidenceKind,
    /// What this row says, in a few words.
    pub what: String,
}

/// One request, from the W3C log or from HTTPERR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRef {
    /// `w3c` or `httperr`.
    pub source: EvidenceKind,
    /// W3C: when the request completed; HTTPERR: when HTTP.sys logged it.
    pub time: Ts,
    /// W3C only: `time − time-taken`.
    pub start: Option<Ts>,
    /// The HTTP method.
    pub method: Option<String>,
    /// Stem and query as logged (cut at 2,000 characters).
    pub uri: String,
    /// HTTP status.
    pub status: Option<u16>,
    /// IIS substatus.
    pub substatus: Option<u32>,
    /// Win32 status.
    pub win32_status: Option<u64>,
    /// Time taken, ms.
    pub time_taken_ms: Option<u64>,
    /// Bytes received (`cs-bytes`).
    pub bytes_in: Option<u64>,
    /// Client address.
    pub client: Option<String>,
    /// User agent (`+` decoded).
    pub user_agent: Option<String>,
    /// HTTPERR `s-reason`.
    pub reason: Option<String>,
    /// The site (`W3SVC<id>`).
    pub site: Option<String>,
    /// The input file.
    pub file: FileId,
    /// Its path.
    pub path: String,
    /// Byte offset of the line.
    pub offset: u64,
    /// In `Incident::in_flight`: ids of the request-pattern suspects this request matches, best
    /// rank first (such requests are listed first). Empty elsewhere. Since 1.1.
    pub suspects: Vec<String>,
}

/// One outage: the evidence merged into it, its requests and its suspects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Incident {
    /// `I1`, `I2`, … in time order.
    pub id: String,
    /// `crash` (the worker died), `hang` (WAS 5010 ping failure), `dump` (a dump without an
    /// exception and no other evidence: a manual or hang dump), `recycle` (a memory limit),
    /// `error_burst`, `overload`, `cpu` (since 2.0).
    pub kind: IncidentKind,
    /// The server.
    pub server: Option<String>,
    /// The application pool.
    pub app_pool: Option<String>,
    /// Sites served by the pool (from HTTPERR `s-siteid` ↔ `s-queuename`, or the server's only site).
    pub sites: Vec<String>,
    /// The worker process id.
    pub pid: Option<u32>,
    /// When it happened: the worker died, was found hung or recycled; the first error of a
    /// burst (null only when no piece of evidence carried a time).
    pub time: Option<Ts>,
    /// When it ended, where known: a burst's last error, a CPU run's last saturated sample.
    /// Since 2.0.
    pub end: Option<Ts>,
    /// `time` at `--tz`, when given.
    pub time_local: Option<String>,
    /// Which evidence gave `time`: `dump`, `event`, `httperr`.
    pub time_source: TimeSource,
    /// Kinds of evidence merged into this incident, e.g. `dump`, `event:Microsoft-Windows-WAS/5011`,
    /// `event:Application Error/1000`, `httperr`.
    pub sources: Vec<SourceTag>,
    /// Every piece of evidence, dumps first.
    pub evidence: Vec<EvidenceRef>,
    /// The exception code.
    pub exception_code: Option<Hex32>,
    /// Its name.
    pub exception_name: Option<String>,
    /// The unhandled .NET exception the events name (.NET Runtime 1026, WER CLR20r3, ASP.NET
    /// 1309), when they name one. Since 1.3.
    pub managed_exception: Option<ManagedException>,
    /// The module the exception address lies in.
    pub faulting_module: Option<String>,
    /// Its version.
    pub faulting_module_version: Option<String>,
    /// The module the dump verdict blames.
    pub suspect_module: Option<String>,
    /// Its class.
    pub suspect_class: Option<ModuleClass>,
    /// The failure bucket (like WinDbg's).
    pub bucket: Option<String>,
    /// The dump verdict's sentence.
    pub verdict: Option<String>,
    /// How sure the verdict is.
    pub confidence: Option<Confidence>,
    /// The process exit code (WAS 5009) or error (5011).
    pub exit_code: Option<Hex32>,
    /// Facts of the dump or event (OS, threads, memory, why …).
    pub detail: Option<String>,
    /// The cause class and what decided it. Since 2.0.
    pub category: CategoryFinding,
    /// For `error_burst` and `overload`: the window and its test. Since 2.0.
    pub burst: Option<BurstFacts>,
    /// Requests in flight at the crash: HTTPERR abandonments, then W3C requests spanning it.
    pub in_flight: Vec<RequestRef>,
    /// Requests in flight in all (`in_flight` lists the first).
    pub in_flight_total: usize,
    /// The last requests of the pool's sites that completed before the crash (newest first).
    pub recent: Vec<RequestRef>,
    /// Ids of the suspects this incident supports.
    pub suspects: Vec<String>,
    /// Id of the rapid-fail episode this incident started, if any.
    pub rapid_fail: Option<String>,
    /// What is missing or uncertain about this incident.
    pub notes: Vec<String>,
}

/// An unhandled .NET exception, as the events of an incident name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedException {
    /// Its type (`System.OutOfMemoryException`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its message, first line.
    pub message: Option<String>,
    /// Where it was thrown: the top frame's method, or the assembly and method token.
    pub method: Option<String>,
    /// The process ended of it (1026, WER), not only the request (1309).
    pub terminated: bool,
}

impl ManagedException {
    /// `System.OutOfMemoryException in Contoso.Files.Upload.Save — unhandled, process terminated`.
    pub fn sentence(&self) -> String {
        format!(
            "{}{} — unhandled, {}",
            self.type_name,
            self.method
                .as_deref()
                .map(|m| format!(" in {m}"))
                .unwrap_or_default(),
            if self.terminated {
                "process terminated"
            } else {
                "the request failed"
            }
        )
    }
}

/// Rapid-fail protection took an application pool offline.
#[derive(Debug, Clone, Serialize)]
pub struct RapidFail {
    /// `R1`, `R2`, …
    pub id: String,
    /// The server.
    pub server: Option<String>,
    /// The application pool.
    pub app_pool: Option<String>,
    /// What the episode was found from.
    pub source: RapidFailSource,
    /// When the pool was disabled.
    pub start: Ts,
    /// `start` at `--tz`.
    pub start_local: Option<String>,
    /// When it served again (null: still down when the logs end).
    pub end: Option<Ts>,
    /// `end` at `--tz`.
    pub end_local: Option<String>,
    /// `first_success` (first 2xx/3xx request started after the start), `worker_start` (later
    /// evidence of a running worker), or `end_of_data` (still down when the logs end; `end` null).
    pub end_reason: RapidFailEnd,
    /// `end − start`, seconds.
    pub duration_s: Option<i64>,
    /// HTTPERR 503 `AppOffline` rows of the pool in the episode.
    pub refused_httperr: u64,
    /// W3C 503 rows of the pool's sites in the episode.
    pub refused_w3c: u64,
    /// The incident whose crash series triggered it.
    pub incident: Option<String>,
    /// The 5002 event or the first `AppOffline` row.
    pub evidence: Vec<EvidenceRef>,
}

/// Statistics of a request-pattern suspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatternStats {
    /// What feature of the requests the pattern is.
    pub feature: pattern::FeatureKind,
    /// In-flight requests with the pattern / in-flight requests where the feature is defined.
    pub in_flight: u64,
    /// In-flight requests where the feature is defined.
    pub in_flight_total: u64,
    /// Baseline requests (same sites, whole input, in-flight excluded) with the pattern / in all.
    pub baseline: u64,
    /// Baseline requests in all.
    pub baseline_total: u64,
    /// `baseline / baseline_total` (the request-count share; not what is tested). Since 1.1.
    pub baseline_share: f64,
    /// Busy time of the baseline requests with the pattern / of all of them, in ms: each request
    /// weighs its `time-taken` + 1 ms; one without a `time-taken` weighs the group's mean
    /// `time-taken` + 1 ms. Since 1.1.
    pub baseline_busy_ms: f64,
    /// Busy time of all baseline requests, ms.
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
    /// Patterns tested in the pool (the Bonferroni factor).
    pub tests: usize,
    /// Other features shared by exactly the same in-flight requests (e.g. the same client).
    pub same_requests: Vec<String>,
}

/// What is known of a module suspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleFacts {
    /// Vendor and product, when the module is in the known third-party table.
    pub vendor: Option<String>,
    /// Its file version.
    pub version: Option<String>,
    /// Where it was loaded from.
    pub path: Option<String>,
    /// Its class.
    pub class: Option<ModuleClass>,
    /// Not Microsoft's.
    pub third_party: Option<bool>,
    /// Exception codes seen with it.
    pub exception_codes: Vec<String>,
    /// Failure buckets seen with it.
    pub buckets: Vec<String>,
}

/// A module or a request pattern to blame, with its evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suspect {
    /// `S1`, `S2`, … in rank order.
    pub id: String,
    /// `isapi_filter`, `isapi_extension`, `com_object`, `native_module`, `managed_code`,
    /// `managed_pinvoke` (native code called from managed code), `ancm` (hosted by the ASP.NET
    /// Core Module), `system_module` (a Windows module: usually the victim), `request_pattern`.
    pub kind: SuspectKind,
    /// The module or the pattern.
    pub name: String,
    /// How sure.
    pub confidence: Confidence,
    /// Why it got that level (the rules are in `docs/report-schema.md`). Since 1.3.
    pub confidence_why: String,
    /// Incidents it is seen in.
    pub incidents: Vec<String>,
    /// Incidents it could have been seen in (same pool group).
    pub incidents_considered: usize,
    /// One or two sentences: why it is a suspect.
    pub reason: String,
    /// The first pieces of evidence.
    pub evidence: Vec<EvidenceRef>,
    /// Pieces of evidence in all.
    pub evidence_total: usize,
    /// For a module: what is known of it.
    pub module: Option<ModuleFacts>,
    /// For a request pattern: its statistics.
    pub pattern: Option<PatternStats>,
    /// Ids of suspects that corroborate this one.
    pub corroborated_by: Vec<String>,
}

/// One thing to do next.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// The suspect it addresses, if any.
    pub suspect: Option<String>,
    /// What to do, in a sentence.
    pub action: String,
    /// Commands or configuration to apply, verbatim.
    pub commands: Vec<String>,
}

/// One module of the dumps' inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleEntry {
    /// File name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
    /// Where it was loaded from.
    pub path: String,
    /// Its class.
    pub class: ModuleClass,
    /// Not Microsoft's.
    pub third_party: bool,
    /// In the unloaded-module list.
    pub unloaded: bool,
    /// Dumps that list it.
    pub dumps: usize,
    /// Suspect id when this module is a suspect.
    pub suspect: Option<String>,
}

/// Per-bucket counts for the chart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Start of the first bucket.
    pub start: Option<Ts>,
    /// Bucket width, seconds.
    pub bucket_s: i64,
    /// W3C requests per bucket.
    pub requests: Vec<u64>,
    /// 5xx responses per bucket.
    pub status_5xx: Vec<u64>,
    /// HTTPERR rows per bucket.
    pub httperr: Vec<u64>,
    /// Abandonments per bucket.
    pub abandoned: Vec<u64>,
    /// Machine CPU per bucket, % (mean of `Processor(_Total)\% Processor Time` over the
    /// servers' counter logs); empty without counters, null where no sample fell. Since 2.0.
    pub cpu: Vec<Option<f64>>,
    /// The largest worker's Private Bytes per bucket, MB (`Process(w3wp*)\Private Bytes`);
    /// absent without that counter, null where no sample fell. Since 2.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_mb: Vec<Option<f64>>,
}

/// Above this many input files the report lists only the files with issues or not parsed, and
/// counts the rest (a day of 100,000 small logs would otherwise be a 40 MB report).
pub const COVERAGE_LIST_MAX: usize = 1000;

/// What was read, file by file, and the issues.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Every input file; past [`COVERAGE_LIST_MAX`] files, only those with issues or not parsed
    /// (see `files_summary`).
    pub files: Vec<FileCoverage>,
    /// Present when `files` is not every file: the counts of all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_summary: Option<FilesSummary>,
    /// Issues in all.
    pub issues_total: usize,
    /// Issues per code.
    pub issues_by_code: BTreeMap<String, usize>,
    /// The first issues (at most 200), in input order.
    pub issues: Vec<IssueOut>,
}

/// All input files counted, for a report that lists only some.
#[derive(Debug, Clone, Serialize)]
pub struct FilesSummary {
    /// Files in all.
    pub total: usize,
    /// Files by kind, then status: kind → status → files.
    pub by_kind: BTreeMap<String, BTreeMap<String, usize>>,
    /// Bytes in all.
    pub bytes: u64,
    /// Line counts in all.
    pub counts: LineCounts,
    /// Rows in all.
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
            Some(s) => s
                .by_kind
                .values()
                .filter_map(|st| st.get(FileStatus::Parsed.name()))
                .sum(),
            None => self
                .files
                .iter()
                .filter(|f| f.status == FileStatus::Parsed)
                .count(),
        }
    }
}

/// One input file and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    /// Its id.
    pub id: FileId,
    /// Its path.
    pub path: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// Read, skipped or failed.
    pub status: FileStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// Its size.
    pub bytes: u64,
    /// Its server.
    pub server: Option<String>,
    /// Its site.
    pub site: Option<String>,
    /// Its line counts.
    pub counts: LineCounts,
    /// Rows it contributed.
    pub rows: u64,
    /// Issues in it.
    pub issues: usize,
}

/// One issue while reading.
#[derive(Debug, Clone, Serialize)]
pub struct IssueOut {
    /// The file.
    pub file: FileId,
    /// Its path.
    pub path: String,
    /// 1-based line, for text.
    pub line: Option<u64>,
    /// Byte offset.
    pub offset: Option<u64>,
    /// Warning or error.
    pub severity: Severity,
    /// A stable short code.
    pub code: String,
    /// What was wrong.
    pub message: String,
}
