//! The parallel driver: discovered artifacts in, [`Tables`] out.
//!
//! Files are read in parallel (rayon); each format module turns one file's bytes into rows
//! ([`Parsed`]); the results are merged in file order so the output is the same for any number
//! of threads. Large text files are additionally split into chunks inside their format module.

pub mod dump;
pub mod events;
pub mod freb;
pub mod ftp;
pub mod httperr;
pub mod identity;
pub mod local_time;
pub mod native;
pub mod perf;
pub mod reread;
pub mod text;
pub mod w3c;
pub mod w3c_fields;

use crate::discover::{Artifact, Container, archive, discover};
use crate::error::ReadError;
use crate::tables::{
    ArtifactKind, FileCtx, FileRow, FileStatus, IssueRow, LineCounts, Parsed, Severity, Source,
    Tables,
};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// How dumps are read (symbols).
    pub dump: dump::DumpOptions,
    /// `--server NAME`: everything is from this one machine (see [`identity`]).
    pub server: Option<String>,
    /// `--tz`: the servers' offset from UTC, minutes east, for logs in local time without a
    /// zone when nothing else says (see [`local_time`]).
    pub tz_min: Option<i32>,
    /// Request rows are counted and dropped, not kept: the analysis reads the logs again
    /// ([`reread`]). Their files are read a wave of chunks at a time and their pages released.
    pub drop_requests: bool,
}

/// Discovers and ingests everything under `paths`.
pub fn ingest_paths(paths: &[PathBuf], opts: &IngestOptions) -> Tables {
    let artifacts = discover(paths);
    ingest_artifacts(artifacts, opts)
}

/// Where ingested files go: one at a time, in input order, each file's row of the `files`
/// table with what its parser read. [`Tables`] (in memory) is one sink; a partitioned dataset
/// or a progress display are others. [`ingest_into`] keeps at most a few (16) files
/// per thread in flight before handing them over.
pub trait Sink: Send {
    /// Takes one file's row of the `files` table and what its parser read.
    fn accept(&mut self, file: FileRow, parsed: Parsed);
}

impl Sink for Tables {
    fn accept(&mut self, row: FileRow, p: Parsed) {
        // The first non-empty table is moved, not copied: for a single large log the copy was a
        // second full table of fresh memory.
        if self.requests.is_empty() {
            self.requests = p.requests;
        } else {
            self.requests.append(&p.requests);
        }
        if self.httperr.is_empty() {
            self.httperr = p.httperr;
        } else {
            self.httperr.append(&p.httperr);
        }
        self.crashes.extend(p.crashes);
        self.modules.extend(p.modules);
        self.frames.extend(p.frames);
        self.threads.extend(p.threads);
        self.thread_frames.extend(p.thread_frames);
        self.ftp.extend(p.ftp);
        self.counters.append(p.counters);
        self.traces.extend(p.traces);
        self.issues.extend(p.issues);
        self.files.push(row);
    }
}

/// Ingests already-discovered artifacts (taken, so each one's memory goes as it is read) into
/// in-memory tables.
pub fn ingest_artifacts(artifacts: Vec<Artifact>, opts: &IngestOptions) -> Tables {
    let mut t = Tables::default();
    ingest_into(artifacts, opts, &mut t);
    finish(&mut t, opts);
    t
}

/// What is judged from all the files once they are in: one name per machine ([`identity`]),
/// then local times converted with what is known of each machine ([`local_time`]).
/// Returns what was done, for rows read again ([`reread`]).
pub fn finish(
    t: &mut Tables,
    opts: &IngestOptions,
) -> (
    identity::Names,
    std::collections::BTreeMap<crate::tables::FileId, i64>,
) {
    let names = identity::resolve(t, opts.server.as_deref());
    (names, local_time::resolve(t, opts.tz_min))
}

/// Ingests artifacts into `sink`, in their order, whatever the number of threads.
pub fn ingest_into(artifacts: Vec<Artifact>, opts: &IngestOptions, sink: &mut dyn Sink) {
    let pool = opts.threads.and_then(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .ok()
    });
    let threads = pool
        .as_ref()
        .map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    // Files are read a window at a time, in parallel within the window, and handed over in file
    // order: what is in flight is one window's rows, not every file's (100,000 small logs held
    // their per-file tables at once: 7.5 KB a file).
    let window = threads.max(1) * FILES_PER_THREAD;
    // Taken from the back of the reversed list, which shrinks as it empties.
    let mut rest = artifacts;
    rest.reverse();
    while !rest.is_empty() {
        let mut group = rest.split_off(rest.len().saturating_sub(window));
        group.reverse();
        if rest.len() * 2 < rest.capacity() {
            rest.shrink_to_fit();
        }
        // Read and handed over inside the pool: a sink's merge may itself run in parallel, and
        // `--threads N` bounds it too.
        let mut step = || {
            let results: Vec<(FileRow, Parsed)> =
                group.par_iter().map(|a| ingest_one(a, opts)).collect();
            for (row, parsed) in results {
                sink.accept(row, parsed);
            }
        };
        match &pool {
            Some(p) => p.install(step),
            None => step(),
        }
    }
}

/// Files in flight per thread (see [`ingest_artifacts`]).
const FILES_PER_THREAD: usize = 16;

/// Reads one file with the stage for its kind. Never panics on input: a panic inside a parser
/// (a bug, not an input problem) becomes an `internal_error` issue for that file.
pub fn ingest_one(a: &Artifact, opts: &IngestOptions) -> (FileRow, Parsed) {
    if opts.drop_requests && reread::holds_requests(a.kind) {
        let mut drop = |_: Option<&mut [crate::tables::Requests]>| {};
        return ingest_one_with(a, opts, Some(&mut drop));
    }
    ingest_one_with(a, opts, None)
}

/// [`ingest_one`], handing the request rows of a request log to `each` (see [`w3c::stream`])
/// instead of keeping them; the file's row still counts them.
pub fn ingest_one_with(
    a: &Artifact,
    opts: &IngestOptions,
    each: Option<&mut w3c::EachFn<'_>>,
) -> (FileRow, Parsed) {
    let start = Instant::now();
    let mut row = FileRow {
        id: a.id,
        key: a.key.clone(),
        fingerprint: a.fingerprint.clone(),
        path: a.source_path(),
        kind: a.kind,
        status: FileStatus::Parsed,
        reason: None,
        bytes: a.bytes,
        server: a.server.clone(),
        host: None,
        site: a.site.clone(),
        counts: LineCounts::default(),
        rows: 0,
        elapsed_ms: 0.0,
    };
    if let Some(skipped) = not_read(a, &mut row) {
        return (row, skipped);
    }
    let parsed = Parsed::default();
    let ctx = FileCtx {
        id: a.id,
        path: a.source_path(),
        server: a.server.clone(),
        site: a.site.clone(),
    };
    let (src, notes) = match load(a, each.is_none()) {
        // Read again, a log IIS is still appending to must give the rows it gave the first
        // time: read to the length it had when found.
        Ok((src, notes)) if each.is_some() && a.container == Container::Plain => (
            src.prefix(usize::try_from(a.bytes).unwrap_or(usize::MAX)),
            notes,
        ),
        Ok(loaded) => loaded,
        Err(why) => return failed(row, parsed, why),
    };
    let bytes: &[u8] = src.bytes();
    let mut streamed = 0usize;
    let counter = &mut streamed;
    let mut each = each.map(|e| {
        move |t: Option<&mut [crate::tables::Requests]>| {
            *counter = t.as_ref().map_or(0, |t| {
                *counter + t.iter().map(crate::tables::Requests::len).sum::<usize>()
            });
            e(t)
        }
    });
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match (a.kind, &mut each) {
            (ArtifactKind::W3c, Some(e)) => w3c::stream(&ctx, &src, w3c_fields::DEFAULT_CHUNK, e),
            (ArtifactKind::W3c, _) => w3c::parse_source(&ctx, &src),
            (ArtifactKind::HttpErr, _) => httperr::parse(&ctx, bytes),
            (ArtifactKind::IisNative, _) => native::parse_native(&ctx, bytes),
            (ArtifactKind::Ftp, _) => ftp::parse(&ctx, &src),
            (ArtifactKind::Ncsa, _) => native::parse_ncsa(&ctx, bytes),
            (ArtifactKind::Minidump, _) if a.container == Container::Plain => {
                dump::parse_file(&ctx, &a.path, &opts.dump)
            }
            (ArtifactKind::Minidump, _) => dump::parse(&ctx, bytes, &opts.dump),
            (ArtifactKind::Evtx | ArtifactKind::EventXml | ArtifactKind::EventJson, _) => {
                events::parse(&ctx, a.kind, bytes)
            }
            (ArtifactKind::PerfCsv, _) => perf::parse(&ctx, bytes),
            (ArtifactKind::Freb, _) => freb::parse(&ctx, bytes),
            _ => Parsed::default(),
        }));
    let mut parsed = match result {
        Ok(p) => p,
        Err(_) => {
            return failed(row, parsed, ReadError::ParserPanicked);
        }
    };
    // Native and NCSA logs are not chunked: handed over whole.
    if let Some(e) = each.as_mut()
        && !parsed.requests.is_empty()
    {
        e(Some(std::slice::from_mut(&mut parsed.requests)));
        parsed.requests = Default::default();
    }
    parsed.issues.splice(0..0, notes);
    row.host = parsed.server.clone();
    if parsed.server.is_some() && row.server.is_none() {
        row.server = parsed.server.clone();
    }
    if parsed.site.is_some() && row.site.is_none() {
        row.site = parsed.site.clone();
    }
    row.counts = parsed.counts;
    row.rows = (parsed.requests.len()
        + streamed
        + parsed.httperr.len()
        + parsed.crashes.len()
        + parsed.ftp.len()
        + parsed.counters.len()
        + parsed.traces.len()) as u64;
    row.elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    if row.rows == 0
        && parsed.issues.iter().any(|i| i.severity == Severity::Error)
        && row.counts.lines == 0
    {
        row.status = FileStatus::Failed;
        row.reason = parsed
            .issues
            .iter()
            .find(|i| i.severity == Severity::Error)
            .map(|i| i.message.clone());
    }
    (row, parsed)
}

/// A file not read at all (a problem found by discover, or a kind no stage reads yet): its row
/// says why and its issue is returned.
fn not_read(a: &Artifact, row: &mut FileRow) -> Option<Parsed> {
    let mut parsed = Parsed::default();
    if let Some(problem) = &a.problem {
        use crate::discover::Problem;
        let (status, code, sev) = match problem {
            Problem::Empty => (FileStatus::Skipped, "empty_file", Severity::Warning),
            Problem::NotRegular(_) => (FileStatus::Skipped, "special_file", Severity::Warning),
            Problem::Unreadable(_) => (FileStatus::Failed, "unreadable", Severity::Error),
            Problem::Unsupported(_) => {
                (FileStatus::Skipped, "unsupported_format", Severity::Warning)
            }
        };
        let why = problem.to_string();
        row.status = status;
        row.reason = Some(why.clone());
        parsed.issues.push(IssueRow::new(a.id, sev, code, why));
        return Some(parsed);
    }
    let why = match a.kind {
        ArtifactKind::PerfBlg => {
            "binary Performance Monitor log (.blg), which only Windows can read: convert it with `relog <file>.blg -f csv -o <file>.csv` and add the CSV"
        }
        ArtifactKind::SevenZip => {
            "a 7-Zip archive, which w3triage does not read in place: extract it first (`7z x <file>.7z`) and point w3triage at the folder; .zip, .gz and .zst are read as they are"
        }
        ArtifactKind::Unknown => {
            "not an artifact w3triage knows (no W3C/HTTPERR header, dump or event signature)"
        }
        _ => return None,
    };
    row.status = FileStatus::Skipped;
    row.reason = Some(why.into());
    parsed.issues.push(IssueRow::new(
        a.id,
        Severity::Warning,
        "unsupported_format",
        why,
    ));
    Some(parsed)
}

/// The file's bytes in the shape its parser reads (text normalised), with a warning for each
/// change made. Dumps are read their own way (bounded, mapped copy-on-write for repairs): an
/// empty source here.
fn load(a: &Artifact, populate: bool) -> Result<(Source, Vec<IssueRow>), ReadError> {
    let plain = a.container == Container::Plain;
    if a.kind == ArtifactKind::Minidump && plain {
        return Ok((Source::new(Vec::new()), Vec::new()));
    }
    let file = std::fs::File::open(&a.path).map_err(ReadError::Open)?;
    // A compressed source read a wave at a time (not `populate`d) is inflated to disk and
    // mapped, so that its pages go as read; otherwise into memory.
    let (src, mut notes) = match (a.container, &a.member) {
        (Container::Plain, _) => (map_source(file, populate)?, Vec::new()),
        (Container::Zip, Some(m)) => {
            let mut zip = archive::open_member(&a.path, m.index).map_err(ReadError::Inflate)?;
            let entry = zip.entry().map_err(ReadError::Inflate)?;
            inflate(a.id, "zip member", entry, !populate)?
        }
        (c, _) => {
            let r = crate::discover::decoder_of(file, c).map_err(ReadError::Inflate)?;
            let what = if c == Container::Zstd { "zstd" } else { "gzip" };
            inflate(a.id, what, r, !populate)?
        }
    };
    if matches!(
        a.kind,
        ArtifactKind::W3c
            | ArtifactKind::HttpErr
            | ArtifactKind::IisNative
            | ArtifactKind::Ncsa
            | ArtifactKind::Ftp
            | ArtifactKind::PerfCsv
    ) {
        let (src, more) = text::normalize(a.id, src)?;
        notes.extend(more);
        Ok((src, notes))
    } else {
        Ok((src, notes))
    }
}

/// The inflated bytes of a compressed file or archive member (`what`), in memory (the tables
/// point into them as into a mapped log), or on disk ([`spill`]). A stream cut short (a copy
/// interrupted, a disk full) keeps what inflated, with a warning; more than [`inflate_limit`]
/// bytes is refused (a decompression bomb, or a log too large to hold: extract it first).
fn inflate(
    id: crate::tables::FileId,
    what: &str,
    r: impl std::io::Read,
    to_disk: bool,
) -> Result<(Source, Vec<IssueRow>), ReadError> {
    use std::io::Read;
    let limit = inflate_limit();
    if to_disk {
        return spill(id, what, r, limit);
    }
    let mut v = Vec::new();
    let result = r.take(limit + 1).read_to_end(&mut v).map(drop);
    let notes = inflated(id, what, result, v.len() as u64, limit)?;
    Ok((Source::new(v), notes))
}

/// What inflating `n` bytes and ending with `result` says: an error when nothing inflated or
/// too much did, a warning when the stream was cut short after some.
fn inflated(
    id: crate::tables::FileId,
    what: &str,
    result: std::io::Result<()>,
    n: u64,
    limit: u64,
) -> Result<Vec<IssueRow>, ReadError> {
    let mut notes = Vec::new();
    if let Err(e) = result {
        if n == 0 {
            return Err(ReadError::Inflate(e));
        }
        let msg = format!(
            "{what} stream cut short or damaged after {n} inflated bytes ({e}): what follows is lost"
        );
        let code = match what {
            "gzip" => "truncated_gzip",
            "zstd" => "truncated_zstd",
            _ => "truncated_member",
        };
        notes.push(IssueRow::new(id, Severity::Warning, code, msg));
    }
    if n > limit {
        return Err(ReadError::TooLargeToInflate { max: limit });
    }
    Ok(notes)
}

/// A writer that counts what it wrote and keeps its own error apart from the reader's.
struct Spilled<W> {
    inner: W,
    n: u64,
    failed: Option<std::io::Error>,
}

impl<W: std::io::Write> std::io::Write for Spilled<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.inner.write(buf) {
            Ok(k) => {
                self.n += k as u64;
                Ok(k)
            }
            Err(e) => {
                let kind = e.kind();
                self.failed = Some(e);
                Err(std::io::Error::new(kind, "temporary file"))
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// [`inflate`] into an unnamed temporary file, mapped (the same warnings and limit): a log read
/// a wave at a time releases its pages behind the parse, so memory stays bounded whatever the
/// member's size; the disk holds it until the read is done.
fn spill(
    id: crate::tables::FileId,
    what: &str,
    r: impl std::io::Read,
    limit: u64,
) -> Result<(Source, Vec<IssueRow>), ReadError> {
    use std::io::Write;
    let file = tempfile::tempfile().map_err(ReadError::Spill)?;
    let mut out = Spilled {
        inner: std::io::BufWriter::with_capacity(1 << 20, &file),
        n: 0,
        failed: None,
    };
    let result = std::io::copy(&mut r.take(limit + 1), &mut out).map(drop);
    let flushed = out.flush();
    if let Some(e) = out.failed.take() {
        return Err(ReadError::Spill(e));
    }
    flushed.map_err(ReadError::Spill)?;
    let n = out.n;
    drop(out);
    let notes = inflated(id, what, result, n, limit)?;
    if n == 0 {
        return Ok((Source::new(Vec::new()), notes));
    }
    // SAFETY: the file is this process's own, unnamed: nothing else can change it.
    let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(ReadError::Map)?;
    Ok((Source::mapped(map), notes))
}

/// The most a compressed file may inflate to: an eighth of the memory, at least 256 MiB.
fn inflate_limit() -> u64 {
    (populate_limit() / 2).max(256 << 20)
}

/// Files up to this size are read into memory, larger ones mapped: a web farm's archive can
/// hold more small logs than a process may have maps (65,530 by default on Linux).
const MAP_ABOVE: u64 = 4 << 20;

/// The file's bytes, which the tables may keep pointing into (see [`Source`]).
pub fn read_source(file: std::fs::File) -> Result<Source, ReadError> {
    map_source(file, true)
}

/// [`read_source`]; `populate` false maps a file of any size page by page as read (a streamed
/// parse releases its pages behind it).
fn map_source(mut file: std::fs::File, populate: bool) -> Result<Source, ReadError> {
    use std::io::Read;
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len <= MAP_ABOVE {
        let mut v = Vec::with_capacity(len as usize);
        return match file.read_to_end(&mut v) {
            Ok(_) => Ok(Source::new(v)),
            Err(e) => Err(ReadError::Read(e)),
        };
    }
    let mut options = memmap2::MmapOptions::new();
    if populate && len <= populate_limit() {
        options.populate();
    }
    // SAFETY: the map is read-only; a log being appended to while we read is tolerated by the
    // parsers, which bound every access by the slice length taken at map time. Text the tables
    // keep pointing into is re-checked when read (`StrCol::get`).
    match unsafe { options.map(&file) } {
        Ok(m) => Ok(Source::mapped(m)),
        Err(e) => Err(ReadError::Map(e)),
    }
}

/// Files up to this size are mapped with all their pages at once (MAP_POPULATE): one system
/// call instead of a page fault every 16 pages as the parser reaches them, 5–7 % less CPU in
/// all on the 1 GiB benchmark log. A quarter of the memory, so that a log larger than the page
/// cache can hold is not read in whole ahead of the parse, only to be evicted before it.
fn populate_limit() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads system configuration.
        let (pages, page) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        (pages.max(0) as u64).saturating_mul(page.max(0) as u64) / 4
    }
    #[cfg(not(target_os = "linux"))]
    0
}

fn failed(mut row: FileRow, mut parsed: Parsed, why: ReadError) -> (FileRow, Parsed) {
    let why = why.to_string();
    row.status = FileStatus::Failed;
    parsed.issues.push(IssueRow::new(
        row.id,
        Severity::Error,
        "unreadable",
        why.clone(),
    ));
    row.reason = Some(why);
    (row, parsed)
}
