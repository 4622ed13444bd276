//! The tables every stage reads and writes: their columns, their types, their names.
//!
//! This module is the single source of truth for the schema. The two large tables
//! (`requests`, `httperr`) are columnar, built without an allocation per line; the small ones
//! (crash evidence, modules, frames, issues, files) are vectors of rows. Every row carries its
//! source: a file id (index into [`Tables::files`]) and a byte offset (or record number).
//! All times are UTC milliseconds since the Unix epoch.
//!
//! The column names here are the JSON-lines keys and the Parquet column names (see README).

use crate::knowledge::modules::ModuleClass;
use serde::Serialize;
use std::path::PathBuf;

#[macro_use]
mod column;
mod columns;
mod counters;
pub use column::*;
pub use columns::*;
pub use counters::*;

/// Index of a file in [`Tables::files`].
pub type FileId = u32;

/// UTC milliseconds since the Unix epoch.
pub type Millis = i64;

columnar_table! {
    /// `requests`: one row per W3C access-log line (a request that completed).
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct Requests {
        /// When the request completed (W3C `date` + `time`, UTC).
        ts: Vec<Millis>,
        /// The server (from the folder layout, `s-computername` or the event's `Computer`).
        server: CatCol,
        /// The site (`W3SVC<id>`), from the folder layout or `s-sitename`.
        site: CatCol,
        /// Server address.
        s_ip: CatCol,
        /// Server port.
        s_port: NumCol<u16>,
        /// HTTP method.
        method: CatCol,
        /// Raw, as logged (not percent-decoded).
        uri_stem: StrCol,
        /// Raw, as logged (not percent-decoded); null for `-`.
        uri_query: StrCol,
        /// Authenticated user.
        username: StrCol,
        /// Client address.
        c_ip: StrCol,
        /// `+` decoded to space (when read).
        user_agent: PlusCol,
        /// `+` decoded to space (when read).
        referer: PlusCol,
        /// `+` decoded to space (when read).
        cookie: PlusCol,
        /// `Host` header.
        host: StrCol,
        /// HTTP status.
        status: NumCol<u16>,
        /// IIS substatus.
        substatus: NumCol<u32>,
        /// u64: broken logs hold values over u32 (plaso `iis10_edge_cases.log`).
        win32_status: U64Col,
        /// Bytes sent.
        sc_bytes: U64Col,
        /// Bytes received.
        cs_bytes: U64Col,
        /// Time taken, ms.
        time_taken_ms: U64Col,
        /// The input file (index into `files`).
        file: FileCol,
        /// Byte offset of the line start in its file.
        offset: OffsetCol,
        /// Custom and unknown fields as a JSON object text (`{"X-Forwarded-For":"1.2.3.4"}`), or null.
        extra: JsonCol,
    }
}

/// Column names of `requests`, in order (the JSON-lines keys and Parquet columns).
pub const REQUEST_COLUMNS: &[&str] = Requests::COLUMNS;

impl Requests {
    /// Bytes of the sources the text columns point into (part of the table's memory, though
    /// mapped from the page cache rather than allocated). [`Requests::bind`] binds every text
    /// column alike, so one column's sources are all of them.
    pub fn source_bytes(&self) -> usize {
        self.uri_stem.sources().map(|s| s.bytes().len()).sum()
    }
}

columnar_table! {
    /// `httperr`: one row per HTTP.sys error-log line.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct HttpErr {
        /// When (UTC).
        ts: Vec<Millis>,
        /// The server (from the folder layout, `s-computername` or the event's `Computer`).
        server: CatCol,
        /// Client address.
        c_ip: StrCol,
        /// Client port.
        c_port: NumCol<u16>,
        /// Server address.
        s_ip: StrCol,
        /// Server port.
        s_port: NumCol<u16>,
        /// HTTP version.
        version: CatCol,
        /// HTTP method.
        method: CatCol,
        /// Raw URL + query as HTTP.sys wrote it.
        uri: StrCol,
        /// HTTP status.
        status: NumCol<u16>,
        /// Site id.
        site_id: NumCol<u32>,
        /// `s-reason`, e.g. `Connection_Abandoned_By_AppPool` (see `knowledge::httperr_reasons`).
        reason: CatCol,
        /// `s-queuename`: the application pool.
        queue: CatCol,
        /// Newer layouts only; null where the file has no such column.
        stream_id: StrCol,
        /// Extended stream id.
        stream_id_ex: StrCol,
        /// Transport (`HTTP/1.1`, `HTTP/2`, QUIC).
        transport: CatCol,
        /// Fault code.
        fault_code: StrCol,
        /// Extended fault code.
        extended_fault_code: StrCol,
        /// The input file (index into `files`).
        file: FileCol,
        /// Byte offset of the line in its file.
        offset: Vec<u64>,
    }
}

/// Column names of `httperr`, in order.
pub const HTTPERR_COLUMNS: &[&str] = HttpErr::COLUMNS;

named_enum! {
    /// Where a piece of crash evidence came from.
    pub enum EvidenceSource {
        /// A minidump (`.dmp`).
        Dump = "dump",
        /// A Windows event (evtx, XML or JSON export).
        Event = "event",
        /// A W3C log's own directives (a header block written again).
        Log = "log",
    }
}

named_enum! {
    /// Where a dump's exception address lies.
    pub enum FaultKind {
        /// In a loaded module.
        Module = "module",
        /// In the old range of an unloaded module.
        Unloaded = "unloaded",
        /// In executable private memory: JIT-compiled or generated code.
        Dynamic = "dynamic",
        /// In no module (stack, heap, or memory the dump does not describe).
        NoModule = "no_module",
    }
}

named_enum! {
    /// What a piece of crash evidence says happened to the worker (`crashes.kind`).
    #[derive(Default)]
    pub enum CrashKind {
        /// The worker died (WAS 5009/5011, Application Error 1000, a dump with an exception).
        #[default]
        Crash = "crash",
        /// Rapid-fail protection disabled the pool (WAS 5002).
        Disabled = "disabled",
        /// The worker failed to answer a ping (WAS 5010).
        Hang = "hang",
        /// The worker exceeded its shutdown time limit (WAS 5013).
        ShutdownTimeout = "shutdown_timeout",
        /// A request failed with an unhandled exception and the process lived (ASP.NET 1309).
        UnhandledException = "unhandled_exception",
        /// A Windows Error Reporting report (WER 1001).
        Report = "report",
        /// A dump without an exception stream (manual or hang dump).
        Dump = "dump",
        /// An ISAPI or application health report: WAS recycles the worker (`detail` names it).
        Unhealthy = "unhealthy",
        /// WAS recycled the worker (WAS 5074–5081, 5117; `recycle_reason` says why).
        Recycle = "recycle",
        /// The worker shut down for inactivity (WAS 5186).
        IdleShutdown = "idle_shutdown",
        /// The worker exceeded its startup time limit (WAS 5012).
        StartupTimeout = "startup_timeout",
        /// The pool or a module could not be configured or loaded (WAS 5189, W3SVC-WP 2269 and
        /// 2276–2282): requests fail until the configuration is fixed.
        ConfigFailure = "config_failure",
        /// A W3C log's header block written again after requests, not after an idle spell:
        /// IIS or the site restarted, or its logging changed (`detail` says which). Since 0.2.
        LogRestart = "log_restart",
    }
}

named_enum! {
    /// Why WAS recycled a worker (the `recycling/@logEventOnRecycle` flags).
    pub enum RecycleReason {
        /// `periodicRestart/@time` elapsed (5074).
        Time = "time",
        /// `periodicRestart/@requests` reached (5075).
        Requests = "requests",
        /// A scheduled time (5076).
        Schedule = "schedule",
        /// `periodicRestart/@memory`: the virtual memory limit (5077).
        VirtualMemory = "virtual_memory",
        /// `periodicRestart/@privateMemory`: the private bytes limit (5117).
        PrivateMemory = "private_memory",
        /// An ISAPI reported itself unhealthy (5078).
        IsapiUnhealthy = "isapi_unhealthy",
        /// An administrator asked for it (5079).
        OnDemand = "on_demand",
        /// The pool's properties changed (5080).
        ConfigChange = "config_change",
        /// WAS found problems with the configuration store (5081).
        ConfigStore = "config_store",
    }
}

impl RecycleReason {
    /// A memory limit: the signature of a leak, not routine.
    pub fn is_memory(self) -> bool {
        matches!(
            self,
            RecycleReason::VirtualMemory | RecycleReason::PrivateMemory
        )
    }
}

named_enum! {
    /// How a stack frame was found (rust-minidump's frame trust), strongest first.
    #[derive(Default)]
    pub enum FrameTrust {
        /// From the thread's context: the instruction pointer itself.
        Context = "context",
        /// Unwound with pre-recovered data.
        PreWalked = "prewalked",
        /// Unwound with call-frame information.
        Cfi = "cfi",
        /// Followed the frame pointer chain.
        FramePointer = "frame_pointer",
        /// Found by scanning the stack, checked against call-frame information.
        CfiScan = "cfi_scan",
        /// Found by scanning the stack for return addresses: may be stale.
        Scan = "scan",
        /// Not said.
        #[default]
        None = "none",
    }
}

impl FrameTrust {
    /// Found by stack scanning: the frame may not be a real caller.
    pub fn is_scan(self) -> bool {
        matches!(self, FrameTrust::Scan | FrameTrust::CfiScan)
    }
}

row_table! {
    /// `crashes`: one row per piece of crash evidence (a dump, or one event).
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct CrashRow {
        /// When it happened: dump time from the dump header, or the event's `TimeCreated` (UTC).
        ts: Option<Millis> => Ts,
        /// The server (from the folder layout, `s-computername` or the event's `Computer`).
        server: Option<String>,
        /// Whether a dump or an event says it.
        source: Option<EvidenceSource>,
        /// Event provider (`Microsoft-Windows-WAS`, `Application Error`, …); null for dumps.
        provider: Option<String>,
        /// Event id.
        event_id: Option<u32>,
        /// What the evidence says happened.
        kind: CrashKind,
        /// Why WAS recycled the worker (`kind` = `recycle`).
        recycle_reason: Option<RecycleReason>,
        /// The application pool.
        app_pool: Option<String>,
        /// Process id.
        pid: Option<u32>,
        /// Process image name.
        process_name: Option<String>,
        /// When the process started (UTC).
        process_start: Option<Millis> => Ts,
        /// Exception code.
        exception_code: Option<u32>,
        /// Its name.
        exception_name: Option<String>,
        /// `first` or `second` chance, when known.
        chance: Option<String>,
        /// The module the exception address lies in (null when it lies in none).
        faulting_module: Option<String>,
        /// Its version.
        faulting_module_version: Option<String>,
        /// Offset of the fault in that module.
        fault_offset: Option<u64>,
        /// Process exit code (WAS 5009) or the error number (5011).
        exit_code: Option<u32>,
        /// `exception_information[0]` (the access kind of an access violation, a fast-fail code).
        info0: Option<u64>,
        /// Where the exception address lies (dumps).
        fault_kind: Option<FaultKind>,
        /// The exception address (or frame 0's instruction when the record has none).
        fault_address: Option<u64>,
        /// Class of the module the fault lies in.
        fault_class: Option<ModuleClass>,
        /// For a fault in no module: whether that memory is executable (null: not described).
        fault_executable: Option<bool>,
        /// Threads in the dump's thread list (null: no thread list read).
        threads: Option<u32>,
        /// Address space (from MemoryInfoList): committed, reserved and private committed bytes,
        /// the largest free region, and whether the process is 32-bit.
        memory_committed: Option<u64>,
        /// Reserved bytes.
        memory_reserved: Option<u64>,
        /// Private committed bytes.
        memory_private: Option<u64>,
        /// Largest free region.
        memory_largest_free: Option<u64>,
        /// A 32-bit process.
        memory_32bit: Option<bool>,
        /// A 64-bit dump of a 32-bit (WOW64) process: its stacks show the WOW64 layer.
        wow64_view: bool,
        /// The stacks were walked (false when the dump could only be read partly).
        stacks_walked: bool,
        /// What of the module list was lost, when it was damaged.
        damaged_modules: Option<String>,
        /// Why the exception stream could not be read, when it is there but damaged.
        damaged_exception: Option<String>,
        /// The byte where a truncated dump ends.
        truncated_at: Option<u64>,
        /// The dumped machine's offset from UTC when the dump was written, minutes east
        /// (MiscInfo's time zone and whether daylight time was in effect).
        utc_offset_min: Option<i32>,
        /// A managed exception's message, first line (.NET Runtime 1026, ASP.NET 1309).
        managed_message: Option<String>,
        /// Where a managed exception was thrown: the top frame's method (1026), or the
        /// assembly and method token (WER CLR20r3).
        managed_method: Option<String>,
        /// Free text the source carried (event message, exception type, CLR stack head …).
        detail: Option<String>,
        /// The input file (index into `files`).
        file: FileId,
        /// Byte offset (XML, JSON lines) or record number (evtx); 0 for a dump.
        offset: u64,
    }
}

row_table! {
    /// `traces`: one row per Failed Request Tracing (FREB) file: the request, its outcome, the
    /// module that set the error status and the module still running when a trace was cut.
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct TraceRow {
        /// The first event's time (UTC), else null.
        start: Option<Millis> => Ts,
        /// The last event's time (`GENERAL_REQUEST_END` when the trace is whole).
        end: Option<Millis> => Ts,
        /// The server (the events' `Computer`, else the folder).
        server: Option<String>,
        /// The site id (`W3SVC<id>`).
        site: Option<String>,
        /// The application pool.
        app_pool: Option<String>,
        /// The worker process id.
        pid: Option<u32>,
        /// The request URL as traced (scheme, host, port, path).
        url: Option<String>,
        /// The HTTP method.
        verb: Option<String>,
        /// The request's activity id (`{GUID}`).
        activity_id: Option<String>,
        /// Why IIS wrote the trace: `STATUS_CODE`, `TIME_TAKEN`, …
        failure_reason: Option<String>,
        /// Final HTTP status.
        status: Option<u16>,
        /// Its substatus.
        substatus: Option<u32>,
        /// The status that triggered the rule.
        trigger_status: Option<String>,
        /// Time taken, ms, as the trace says.
        time_taken_ms: Option<u64>,
        /// The module whose `MODULE_SET_RESPONSE_ERROR_STATUS` set the error (the last one).
        error_module: Option<String>,
        /// The notification it ran in (`MAP_REQUEST_HANDLER`).
        error_notification: Option<String>,
        /// Its error code, `0x%08x` (an HRESULT: `0x80070002` is Win32 error 2).
        error_code: Option<String>,
        /// The error code's description as rendered.
        error_text: Option<String>,
        /// The last module started and not ended in its notification: where a slow or cut
        /// request was.
        running_module: Option<String>,
        /// Its notification.
        running_notification: Option<String>,
        /// The trace lacks `GENERAL_REQUEST_END` (cut at `maxLogFileSizeKB`, or written by a
        /// time-taken rule while the request ran).
        truncated: bool,
        /// Events read.
        events: u32,
        /// The input file.
        file: FileId,
        /// Byte offset of the `<failedRequest>` element.
        offset: u64,
    }
}

row_table! {
    /// `ftp`: one row per FTP log line (sessions' commands), never mixed with web requests.
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct FtpRow {
        /// When (UTC as logged).
        ts: Option<Millis> => Ts,
        /// The server.
        server: Option<String>,
        /// The FTP site (`FTPSVC<id>`).
        site: Option<String>,
        /// The session (`x-session`, or IIS 4/5's `[n]` before the command).
        session: Option<String>,
        /// Client address.
        c_ip: Option<String>,
        /// User name.
        username: Option<String>,
        /// Server address.
        s_ip: Option<String>,
        /// Server port.
        s_port: Option<u16>,
        /// The command (`USER`, `RETR`, `ControlChannelOpened`, IIS 4/5's `sent` / `created` …).
        command: Option<String>,
        /// Its argument or path.
        path: Option<String>,
        /// FTP status (`230`, `550` …).
        status: Option<u16>,
        /// Win32 status.
        win32_status: Option<u64>,
        /// FTP substatus.
        substatus: Option<u32>,
        /// `x-fullpath`.
        full_path: Option<String>,
        /// `x-debug`.
        debug: Option<String>,
        /// The input file.
        file: FileId,
        /// Byte offset of the line.
        offset: u64,
    }
}

row_table! {
    /// `modules`: every module loaded in (or unloaded from) a dumped process.
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct ModuleRow {
        /// The dump file.
        file: FileId,
        /// Process id.
        pid: Option<u32>,
        /// File name.
        name: String,
        /// Full path.
        path: String,
        /// File version.
        version: Option<String>,
        /// Load address.
        base: u64,
        /// Image size.
        size: u64,
        /// PE `TimeDateStamp` (seconds since epoch, as in the image header).
        timestamp: Option<u32>,
        /// In the unloaded-module list.
        unloaded: bool,
        /// What the module is (`os_core`, `iis_core`, `third_party` …).
        class: ModuleClass,
        /// Not Microsoft's.
        third_party: bool,
    }
}

row_table! {
    /// `frames`: the crashing thread's stack, frame 0 first.
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct FrameRow {
        /// The input file (index into `files`).
        file: FileId,
        /// Frame number, 0 at the top.
        index: u32,
        /// Instruction address.
        instruction: u64,
        /// The module the instruction lies in.
        module: Option<String>,
        /// Offset in that module.
        module_offset: Option<u64>,
        /// Function name (with symbols).
        function: Option<String>,
        /// Offset in that function.
        function_offset: Option<u64>,
        /// Source file (with symbols).
        source_file: Option<String>,
        /// Source line.
        source_line: Option<u32>,
        /// How the frame was found.
        trust: FrameTrust,
        /// Class of the module the instruction lies in.
        class: Option<ModuleClass>,
        /// The unloaded module whose old range holds the instruction (a call into a freed DLL).
        unloaded_module: Option<String>,
        /// The instruction lies in executable private memory: JIT-compiled or generated code.
        dynamic: bool,
    }
}

row_table! {
    /// `thread_frames`: the stacks of a dump's other threads (the crashing thread's are in
    /// `frames`), the first 64 frames of each and 16,384 per dump.
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct ThreadFrameRow {
        /// The dump file.
        file: FileId,
        /// Thread id.
        thread_id: u32,
        /// Frame number, 0 at the top.
        index: u32,
        /// Instruction address.
        instruction: u64,
        /// The module the instruction lies in.
        module: Option<String>,
        /// Offset in that module.
        module_offset: Option<u64>,
        /// Class of that module.
        class: Option<ModuleClass>,
    }
}

row_table! {
    /// `threads`: every thread of a dump with CPU times (ThreadInfoList) or a stack (ThreadList).
    #[derive(Debug, Clone, PartialEq, Default, Serialize)]
    pub struct ThreadRow {
        /// The dump file.
        file: FileId,
        /// Thread id.
        thread_id: u32,
        /// User and kernel CPU time, 100 ns units (null: not in the ThreadInfoList).
        user_time: Option<u64>,
        /// Kernel CPU time, 100 ns units.
        kernel_time: Option<u64>,
        /// The first module on its stack that is not Windows, COM, IIS core or CLR plumbing, else
        /// the top frame's module.
        top_module: Option<String>,
        /// When the thread was created (UTC; ThreadInfoList).
        create_time: Option<Millis> => Ts,
        /// Frames walked (up to 256).
        depth: Option<u32>,
        /// Its top frames, `module+0xoffset` from the top, joined by ` < ` (at most 8): threads
        /// with the same text wait in the same place.
        top_frames: Option<String>,
    }
}

named_enum! {
    /// How bad an issue is.
    pub enum Severity {
        /// Input we read but had to guess about (inferred layout, re-encoded bytes).
        Warning = "warning",
        /// Input we could not use (a line rejected, a file unreadable).
        Error = "error",
    }
}

row_table! {
    /// `issues`: anything we could not read, or read with a guess. Never silent.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct IssueRow {
        /// The input file (index into `files`).
        file: FileId,
        /// 1-based line number, for text inputs.
        line: Option<u64>,
        /// Byte offset in the file, where known.
        offset: Option<u64>,
        /// How bad.
        severity: Severity,
        /// A stable short code: `field_count`, `no_header`, `truncated_line`, `nul_padding`,
        /// `bad_timestamp`, `unreadable`, `corrupt_dump` …
        code: &'static str,
        /// What was wrong, specifically.
        message: String,
    }
}

impl IssueRow {
    /// An issue about file `file`, at no particular line.
    pub fn new(
        file: FileId,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        IssueRow {
            file,
            line: None,
            offset: None,
            severity,
            code,
            message: message.into(),
        }
    }
    /// The same issue, at a line and byte offset.
    pub fn at(mut self, line: Option<u64>, offset: Option<u64>) -> Self {
        self.line = line;
        self.offset = offset;
        self
    }
}

named_enum! {
    /// What kind of artifact a file is, decided by its content.
    pub enum ArtifactKind {
        /// A W3C extended access log.
        W3c = "w3c",
        /// An HTTP.sys error log.
        HttpErr = "httperr",
        /// An IIS native (comma-separated) log.
        IisNative = "iis_native",
        /// An NCSA common log.
        Ncsa = "ncsa",
        /// An IIS FTP log (W3C format with `x-session`, or IIS 4/5 `[session]COMMAND` lines).
        Ftp = "ftp",
        /// A minidump.
        Minidump = "minidump",
        /// A binary Windows event log.
        Evtx = "evtx",
        /// Events exported as XML (`wevtutil qe /f:xml`, `Get-WinEvent … ToXml()`).
        EventXml = "event_xml",
        /// evtx_dump-style JSON lines of events.
        EventJson = "event_json",
        /// A Failed Request Tracing (FREB) trace.
        Freb = "freb",
        /// A Performance Monitor counter log as CSV or TSV (relog, typeperf, Data Collector
        /// Sets: `"(PDH-CSV 4.0) (<zone>)(<bias>)"`).
        PerfCsv = "perf_csv",
        /// A binary Performance Monitor log (`.blg`): listed with the command that converts it.
        PerfBlg = "perf_blg",
        /// A 7-Zip archive: listed with the command that extracts it (no maintained crate
        /// decodes LZMA2 at a useful speed on the minimum Rust this crate supports).
        SevenZip = "7z",
        /// Not an artifact w3triage knows.
        Unknown = "unknown",
    }
}

named_enum! {
    /// What happened to a file as a whole.
    pub enum FileStatus {
        /// Read; per-line problems are in `issues`.
        Parsed = "parsed",
        /// Recognised but no stage reads this kind yet, or not an artifact we know (listed,
        /// never dropped).
        Skipped = "skipped",
        /// Could not be read at all (see `issues`).
        Failed = "failed",
    }
}

/// Line accounting of a text file: `records + rejected + directives + blank == lines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LineCounts {
    /// Lines in all.
    pub lines: u64,
    /// Lines that became rows.
    pub records: u64,
    /// `#` directive lines.
    pub directives: u64,
    /// Empty lines.
    pub blank: u64,
    /// Lines rejected (each with an issue).
    pub rejected: u64,
}

impl LineCounts {
    /// Adds another file's counts.
    pub fn add(&mut self, o: &LineCounts) {
        self.lines += o.lines;
        self.records += o.records;
        self.directives += o.directives;
        self.blank += o.blank;
        self.rejected += o.rejected;
    }
    /// Every line is accounted for.
    pub fn balanced(&self) -> bool {
        self.records + self.rejected + self.directives + self.blank == self.lines
    }
}

/// `files`: every input file, whatever became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRow {
    /// This run's id of the file (rows refer to it).
    pub id: FileId,
    /// The same source in every run: `server/site/file name` (see `discover::Artifact::key`).
    pub key: String,
    /// The version of its content: `size:hash` (see `discover::Artifact::fingerprint`).
    pub fingerprint: Option<String>,
    /// Full path.
    pub path: PathBuf,
    /// What it is.
    pub kind: ArtifactKind,
    /// Read, skipped or failed.
    pub status: FileStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// Size in bytes.
    pub bytes: u64,
    /// The server: the machine identity resolved from all the evidence (see
    /// `ingest::identity`); before that, the folder's name.
    pub server: Option<String>,
    /// The machine the content names, if it names one: the events' `Computer`, the first
    /// `s-computername` of a W3C log.
    pub host: Option<String>,
    /// The site (`W3SVC<id>`), from the folder layout or `s-sitename`.
    pub site: Option<String>,
    /// Line accounting.
    pub counts: LineCounts,
    /// Rows this file contributed to its table (requests, httperr, crashes …).
    pub rows: u64,
    /// Time spent reading it, ms.
    pub elapsed_ms: f64,
}

/// The `files` table's columns: the row's fields with the line counts flattened, and the time
/// rounded to microseconds for people.
impl Row for FileRow {
    const KINDS: &'static [(&'static str, ColKind)] = &[
        ("id", ColKind::Int),
        ("key", ColKind::Str),
        ("fingerprint", ColKind::Str),
        ("path", ColKind::Str),
        ("kind", ColKind::Str),
        ("status", ColKind::Str),
        ("reason", ColKind::Str),
        ("bytes", ColKind::Int),
        ("server", ColKind::Str),
        ("host", ColKind::Str),
        ("site", ColKind::Str),
        ("lines", ColKind::Int),
        ("records", ColKind::Int),
        ("directives", ColKind::Int),
        ("blank", ColKind::Int),
        ("rejected", ColKind::Int),
        ("rows", ColKind::Int),
        ("elapsed_ms", ColKind::Str),
    ];
    fn cell(&self, c: usize) -> Cell<'_> {
        let n = &self.counts;
        match c {
            0 => self.id.cell(),
            1 => self.key.cell(),
            2 => self.fingerprint.cell(),
            3 => Cell::Owned(self.path.to_string_lossy().into_owned()),
            4 => self.kind.cell(),
            5 => self.status.cell(),
            6 => self.reason.cell(),
            7 => self.bytes.cell(),
            8 => self.server.cell(),
            9 => self.host.cell(),
            10 => self.site.cell(),
            11 => n.lines.cell(),
            12 => n.records.cell(),
            13 => n.directives.cell(),
            14 => n.blank.cell(),
            15 => n.rejected.cell(),
            16 => self.rows.cell(),
            // As JSON prints a number (`0.32`, `1.0`), kept as text.
            _ => serde_json::to_string(&((self.elapsed_ms * 1000.0).round() / 1000.0))
                .map_or(Cell::Null, Cell::Owned),
        }
    }
}

/// Everything ingested: the one contract between ingest and the later stages.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    /// Every input file.
    pub files: Vec<FileRow>,
    /// W3C rows.
    pub requests: Requests,
    /// HTTP.sys error-log rows.
    pub httperr: HttpErr,
    /// Crash evidence.
    pub crashes: Vec<CrashRow>,
    /// Modules of the dumps.
    pub modules: Vec<ModuleRow>,
    /// Crashing stacks.
    pub frames: Vec<FrameRow>,
    /// Threads of the dumps.
    pub threads: Vec<ThreadRow>,
    /// The other threads' stacks.
    pub thread_frames: Vec<ThreadFrameRow>,
    /// FTP log lines.
    pub ftp: Vec<FtpRow>,
    /// Performance Monitor samples.
    pub counters: Counters,
    /// Failed Request Tracing files.
    pub traces: Vec<TraceRow>,
    /// What could not be read, or was read with a guess.
    pub issues: Vec<IssueRow>,
    /// The machines the evidence is from, and how each was told (see `ingest::identity`).
    pub servers: Vec<ServerIdentity>,
    /// Set when `requests` holds only the rows of the incidents' windows: the logs to read again
    /// for every row (see `analyze::rows`).
    pub reread: Option<std::sync::Arc<crate::ingest::reread::Reread>>,
}

impl Tables {
    /// Anything was rejected, skipped or failed (warnings about guesses alone do not count):
    /// what makes a run exit 1.
    pub fn read_badly(&self) -> bool {
        self.files.iter().any(|f| f.status != FileStatus::Parsed)
            || self.issues.iter().any(|i| i.severity == Severity::Error)
            || self.reread.as_ref().is_some_and(|r| r.changed_any())
    }
}

/// One machine, and the evidence that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerIdentity {
    /// The name the tables and the report use for it.
    pub name: String,
    /// How it was told, e.g. `events Computer web01.contoso.local`, `s-computername WEB01`,
    /// `folder 2024-01-11-outage`.
    pub evidence: Vec<String>,
}

/// What a stage knows about the file it reads.
#[derive(Debug, Clone, Default)]
pub struct FileCtx {
    /// Its id.
    pub id: FileId,
    /// Full path.
    pub path: PathBuf,
    /// Server inferred by discover (folder layout, host name); a parser may refine it from content.
    pub server: Option<String>,
    /// Site inferred from a `W3SVC<id>` folder.
    pub site: Option<String>,
}

/// What a format parser returns for one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// W3C rows.
    pub requests: Requests,
    /// HTTP.sys error-log rows.
    pub httperr: HttpErr,
    /// Crash evidence.
    pub crashes: Vec<CrashRow>,
    /// Modules of the dumps.
    pub modules: Vec<ModuleRow>,
    /// Crashing stacks.
    pub frames: Vec<FrameRow>,
    /// Threads of the dumps.
    pub threads: Vec<ThreadRow>,
    /// The other threads' stacks.
    pub thread_frames: Vec<ThreadFrameRow>,
    /// FTP log lines.
    pub ftp: Vec<FtpRow>,
    /// Performance Monitor samples.
    pub counters: Counters,
    /// Failed Request Tracing files.
    pub traces: Vec<TraceRow>,
    /// What could not be read, or was read with a guess.
    pub issues: Vec<IssueRow>,
    /// Line accounting.
    pub counts: LineCounts,
    /// Server / site learned from the content (`s-computername`, `s-sitename`), if any.
    pub server: Option<String>,
    /// The site (`W3SVC<id>`), from the folder layout or `s-sitename`.
    pub site: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON of a row (the `dump` command) and the table's columns list the same fields.
    fn same_fields<T: Row + Serialize + Default>(columns: &[&str]) {
        let v = serde_json::to_value(T::default()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = columns.to_vec();
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(T::KINDS.len(), columns.len());
    }

    #[test]
    fn row_tables_declare_every_field_once() {
        same_fields::<CrashRow>(CrashRow::COLUMNS);
        same_fields::<ModuleRow>(ModuleRow::COLUMNS);
        same_fields::<FrameRow>(FrameRow::COLUMNS);
        same_fields::<ThreadRow>(ThreadRow::COLUMNS);
    }

    #[test]
    fn column_kinds_come_from_the_declaration_not_the_data() {
        let kind = |name: &str| {
            CrashRow::KINDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| *k)
        };
        assert_eq!(kind("ts"), Some(ColKind::Ts));
        assert_eq!(kind("process_start"), Some(ColKind::Ts));
        assert_eq!(kind("pid"), Some(ColKind::Int));
        assert_eq!(kind("kind"), Some(ColKind::Str));
        assert_eq!(kind("wow64_view"), Some(ColKind::Bool));
        let c = CrashRow {
            ts: Some(1_000),
            pid: Some(7),
            kind: CrashKind::Hang,
            ..Default::default()
        };
        let col = |name: &str| CrashRow::COLUMNS.iter().position(|n| *n == name).unwrap();
        assert_eq!(c.cell(col("ts")), Cell::Ts(1_000));
        assert_eq!(c.cell(col("pid")), Cell::Int(7));
        assert_eq!(c.cell(col("kind")), Cell::Str("hang"));
        assert_eq!(c.cell(col("exit_code")), Cell::Null);
        assert_eq!(Requests::COLUMNS.len(), Requests::KINDS.len());
        assert_eq!(Requests::KINDS[0], ("ts", ColKind::Ts));
        assert_eq!(Requests::KINDS.last(), Some(&("extra", ColKind::Json)));
    }
}
