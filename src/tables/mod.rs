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
pub use column::*;
pub use columns::*;

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
        server: CatCol,
        site: CatCol,
        s_ip: CatCol,
        s_port: NumCol<u16>,
        method: CatCol,
        /// Raw, as logged (not percent-decoded).
        uri_stem: StrCol,
        /// Raw, as logged (not percent-decoded); null for `-`.
        uri_query: StrCol,
        username: StrCol,
        c_ip: StrCol,
        /// `+` decoded to space (when read).
        user_agent: PlusCol,
        /// `+` decoded to space (when read).
        referer: PlusCol,
        /// `+` decoded to space (when read).
        cookie: PlusCol,
        host: StrCol,
        status: NumCol<u16>,
        substatus: NumCol<u32>,
        /// u64: broken logs hold values over u32 (plaso `iis10_edge_cases.log`).
        win32_status: U64Col,
        sc_bytes: U64Col,
        cs_bytes: U64Col,
        time_taken_ms: U64Col,
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
        ts: Vec<Millis>,
        server: CatCol,
        c_ip: StrCol,
        c_port: NumCol<u16>,
        s_ip: StrCol,
        s_port: NumCol<u16>,
        version: CatCol,
        method: CatCol,
        /// Raw URL + query as HTTP.sys wrote it.
        uri: StrCol,
        status: NumCol<u16>,
        site_id: NumCol<u32>,
        /// `s-reason`, e.g. `Connection_Abandoned_By_AppPool` (see `knowledge::httperr_reasons`).
        reason: CatCol,
        /// `s-queuename`: the application pool.
        queue: CatCol,
        /// Newer layouts only; null where the file has no such column.
        stream_id: StrCol,
        stream_id_ex: StrCol,
        transport: CatCol,
        fault_code: StrCol,
        extended_fault_code: StrCol,
        file: FileCol,
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

/// `crashes`: one row per piece of crash evidence (a dump, or one event).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CrashRow {
    /// When it happened: dump time from the dump header, or the event's `TimeCreated` (UTC).
    pub ts: Option<Millis>,
    pub server: Option<String>,
    pub source: Option<EvidenceSource>,
    /// Event provider (`Microsoft-Windows-WAS`, `Application Error`, …); null for dumps.
    pub provider: Option<String>,
    pub event_id: Option<u32>,
    /// What the evidence says happened.
    pub kind: CrashKind,
    pub app_pool: Option<String>,
    pub pid: Option<u32>,
    pub process_name: Option<String>,
    pub process_start: Option<Millis>,
    pub exception_code: Option<u32>,
    pub exception_name: Option<String>,
    /// `first` or `second` chance, when known.
    pub chance: Option<String>,
    /// The module the exception address lies in (null when it lies in none).
    pub faulting_module: Option<String>,
    pub faulting_module_version: Option<String>,
    pub fault_offset: Option<u64>,
    /// Process exit code (WAS 5009) or the error number (5011).
    pub exit_code: Option<u32>,
    /// `exception_information[0]` (the access kind of an access violation, a fast-fail code).
    pub info0: Option<u64>,
    /// Where the exception address lies (dumps).
    pub fault_kind: Option<FaultKind>,
    /// The exception address (or frame 0's instruction when the record has none).
    pub fault_address: Option<u64>,
    /// Class of the module the fault lies in.
    pub fault_class: Option<ModuleClass>,
    /// For a fault in no module: whether that memory is executable (null: not described).
    pub fault_executable: Option<bool>,
    /// Threads in the dump's thread list (null: no thread list read).
    pub threads: Option<u32>,
    /// Address space (from MemoryInfoList): committed, reserved and private committed bytes,
    /// the largest free region, and whether the process is 32-bit.
    pub memory_committed: Option<u64>,
    pub memory_reserved: Option<u64>,
    pub memory_private: Option<u64>,
    pub memory_largest_free: Option<u64>,
    pub memory_32bit: Option<bool>,
    /// A 64-bit dump of a 32-bit (WOW64) process: its stacks show the WOW64 layer.
    pub wow64_view: bool,
    /// The stacks were walked (false when the dump could only be read partly).
    pub stacks_walked: bool,
    /// What of the module list was lost, when it was damaged.
    pub damaged_modules: Option<String>,
    /// Why the exception stream could not be read, when it is there but damaged.
    pub damaged_exception: Option<String>,
    /// The byte where a truncated dump ends.
    pub truncated_at: Option<u64>,
    /// Free text the source carried (event message, exception type, CLR stack head …).
    pub detail: Option<String>,
    pub file: FileId,
    /// Byte offset (XML, JSON lines) or record number (evtx); 0 for a dump.
    pub offset: u64,
}

/// `modules`: every module loaded in (or unloaded from) a dumped process.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ModuleRow {
    /// The dump file.
    pub file: FileId,
    pub pid: Option<u32>,
    pub name: String,
    pub path: String,
    pub version: Option<String>,
    pub base: u64,
    pub size: u64,
    /// PE `TimeDateStamp` (seconds since epoch, as in the image header).
    pub timestamp: Option<u32>,
    pub unloaded: bool,
    /// What the module is (`os_core`, `iis_core`, `third_party` …).
    pub class: ModuleClass,
    pub third_party: bool,
}

/// `frames`: the crashing thread's stack, frame 0 first.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FrameRow {
    pub file: FileId,
    pub index: u32,
    pub instruction: u64,
    pub module: Option<String>,
    pub module_offset: Option<u64>,
    pub function: Option<String>,
    pub function_offset: Option<u64>,
    pub source_file: Option<String>,
    pub source_line: Option<u32>,
    /// How the frame was found.
    pub trust: FrameTrust,
    /// Class of the module the instruction lies in.
    pub class: Option<ModuleClass>,
    /// The unloaded module whose old range holds the instruction (a call into a freed DLL).
    pub unloaded_module: Option<String>,
    /// The instruction lies in executable private memory: JIT-compiled or generated code.
    pub dynamic: bool,
}

/// `threads`: every thread of a dump with CPU times (ThreadInfoList) or a stack (ThreadList).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ThreadRow {
    /// The dump file.
    pub file: FileId,
    pub thread_id: u32,
    /// User and kernel CPU time, 100 ns units (null: not in the ThreadInfoList).
    pub user_time: Option<u64>,
    pub kernel_time: Option<u64>,
    /// The first module on its stack that is not Windows, COM, IIS core or CLR plumbing, else
    /// the top frame's module.
    pub top_module: Option<String>,
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

/// `issues`: anything we could not read, or read with a guess. Never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueRow {
    pub file: FileId,
    /// 1-based line number, for text inputs.
    pub line: Option<u64>,
    /// Byte offset in the file, where known.
    pub offset: Option<u64>,
    pub severity: Severity,
    /// A stable short code: `field_count`, `no_header`, `truncated_line`, `nul_padding`,
    /// `bad_timestamp`, `unreadable`, `corrupt_dump` …
    pub code: &'static str,
    /// What was wrong, specifically.
    pub message: String,
}

impl IssueRow {
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
    pub fn at(mut self, line: Option<u64>, offset: Option<u64>) -> Self {
        self.line = line;
        self.offset = offset;
        self
    }
}

named_enum! {
    /// What kind of artifact a file is, decided by its content.
    pub enum ArtifactKind {
        W3c = "w3c",
        HttpErr = "httperr",
        IisNative = "iis_native",
        Ncsa = "ncsa",
        Minidump = "minidump",
        Evtx = "evtx",
        EventXml = "event_xml",
        /// evtx_dump-style JSON lines of events.
        EventJson = "event_json",
        Freb = "freb",
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
    pub lines: u64,
    pub records: u64,
    pub directives: u64,
    pub blank: u64,
    pub rejected: u64,
}

impl LineCounts {
    pub fn add(&mut self, o: &LineCounts) {
        self.lines += o.lines;
        self.records += o.records;
        self.directives += o.directives;
        self.blank += o.blank;
        self.rejected += o.rejected;
    }
    pub fn balanced(&self) -> bool {
        self.records + self.rejected + self.directives + self.blank == self.lines
    }
}

/// `files`: every input file, whatever became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRow {
    pub id: FileId,
    pub path: PathBuf,
    pub kind: ArtifactKind,
    pub status: FileStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    pub bytes: u64,
    pub server: Option<String>,
    pub site: Option<String>,
    pub counts: LineCounts,
    /// Rows this file contributed to its table (requests, httperr, crashes …).
    pub rows: u64,
    pub elapsed_ms: f64,
}

/// Everything ingested: the one contract between ingest and the later stages.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub files: Vec<FileRow>,
    pub requests: Requests,
    pub httperr: HttpErr,
    pub crashes: Vec<CrashRow>,
    pub modules: Vec<ModuleRow>,
    pub frames: Vec<FrameRow>,
    pub threads: Vec<ThreadRow>,
    pub issues: Vec<IssueRow>,
}

/// What a stage knows about the file it reads.
#[derive(Debug, Clone, Default)]
pub struct FileCtx {
    pub id: FileId,
    pub path: PathBuf,
    /// Server inferred by discover (folder layout, host name); a parser may refine it from content.
    pub server: Option<String>,
    /// Site inferred from a `W3SVC<id>` folder.
    pub site: Option<String>,
}

/// What a format parser returns for one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub requests: Requests,
    pub httperr: HttpErr,
    pub crashes: Vec<CrashRow>,
    pub modules: Vec<ModuleRow>,
    pub frames: Vec<FrameRow>,
    pub threads: Vec<ThreadRow>,
    pub issues: Vec<IssueRow>,
    pub counts: LineCounts,
    /// Server / site learned from the content (`s-computername`, `s-sitename`), if any.
    pub server: Option<String>,
    pub site: Option<String>,
}

