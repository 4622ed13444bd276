//! Minidumps (`w3wp.exe` crash and hang dumps) into the `crashes`, `modules` and `frames` tables.
//!
//! rust-minidump reads and walks the dump offline: no symbol server, only Breakpad `.sym` trees
//! given with `--symbols DIR`. The faulting module comes from the exception record's *exception
//! address* (for an access violation `ExceptionInfo.address` is the data address, not the code),
//! or frame 0 when the record holds 0. Then [`crate::knowledge::verdict`] names a suspect.
//!
//! Everything in a dump is attacker-controlled: the file is checked structurally first (header,
//! directory and stream bounds) so a truncated, zero-filled or still-being-written dump becomes a
//! specific `corrupt_dump` issue, and every string taken from it is length-capped and cleaned.

mod check;
mod facts;
use facts::*;

use crate::error::ReadError;
use crate::knowledge::exceptions;
use crate::knowledge::modules::{basename, classify};
use crate::knowledge::verdict::{FaultSite, FrameFact, MemoryStats, ThreadStats};
use crate::tables::{
    CrashKind, CrashRow, EvidenceSource, FaultKind, FileCtx, FileId, FrameRow, FrameTrust,
    IssueRow, ModuleRow, Parsed, Severity, ThreadFrameRow, ThreadRow,
};
use check::{Damage, corrupt};
use minidump::format::MINIDUMP_STREAM_TYPE;
use minidump::system_info::Cpu;
use minidump::{
    Minidump, MinidumpException, MinidumpMemoryInfoList, MinidumpMiscInfo, MinidumpModuleList,
    MinidumpThreadInfoList, MinidumpUnloadedModuleList, Module,
};
use minidump_processor::{ProcessState, ProcessorOptions};
use minidump_unwind::{StackFrame, Symbolizer, simple_symbol_supplier};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How to read dumps.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`).
    pub symbols: Option<PathBuf>,
}

/// Most frames kept for the crashing thread (a stack overflow walks thousands).
pub const MAX_FRAMES: usize = 1024;
/// Longest string taken from a dump (module paths, comments).
const MAX_STR: usize = 1024;

const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_FREE: u32 = 0x1_0000;
const MEM_PRIVATE: u32 = 0x2_0000;

/// Keeps printable text only, capped: module names and comments come from the dump's writer.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .take(MAX_STR)
        .collect()
}

fn millis(t: SystemTime) -> Option<i64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis().min(i64::MAX as u128) as i64)
}

/// Facts the file name gives: DebugDiag `w3wp__<pool>__PID__<pid>__…__Second_Chance_Exception_…`,
/// ProcDump `w3wp.exe_YYMMDD_HHMMSS.dmp`, WER `w3wp.exe.<pid>.dmp`.
#[derive(Debug, Default, PartialEq)]
pub struct NameHints {
    /// The app pool (DebugDiag names).
    pub app_pool: Option<String>,
    /// The process id.
    pub pid: Option<u32>,
    /// `first` or `second` chance.
    pub chance: Option<&'static str>,
    /// The tool that wrote it (DebugDiag, ProcDump, WER).
    pub writer: Option<&'static str>,
}

/// Reads the writer's naming conventions; names are hints, the dump has the truth.
pub fn name_hints(file_name: &str) -> NameHints {
    let mut h = NameHints::default();
    let stem = file_name
        .strip_suffix(".dmp")
        .or_else(|| file_name.strip_suffix(".DMP"))
        .unwrap_or(file_name);
    let lower = stem.to_ascii_lowercase();
    let parts: Vec<&str> = stem.split("__").collect();
    if let Some(i) = parts.iter().position(|p| p.eq_ignore_ascii_case("PID")) {
        h.writer = Some("DebugDiag");
        if i == 2 && !parts[1].is_empty() {
            h.app_pool = Some(clean(parts[1]));
        }
        h.pid = parts.get(i + 1).and_then(|p| p.trim().parse().ok());
    }
    if lower.contains("first chance")
        || lower.contains("first_chance")
        || lower.contains("firstchance")
    {
        h.chance = Some("first");
    } else if lower.contains("second chance")
        || lower.contains("second_chance")
        || lower.contains("secondchance")
    {
        h.chance = Some("second");
    }
    if h.writer.is_none() {
        let l = lower.as_str();
        if let Some(rest) = l
            .strip_prefix("w3wp.exe_")
            .or_else(|| l.strip_prefix("w3wp_"))
        {
            let b = rest.as_bytes();
            if b.len() >= 13
                && b[..6].iter().all(u8::is_ascii_digit)
                && b[6] == b'_'
                && b[7..13].iter().all(u8::is_ascii_digit)
            {
                h.writer = Some("ProcDump");
            }
        } else if let Some(rest) = l.strip_prefix("w3wp.exe.")
            && let Ok(pid) = rest.parse()
        {
            h.writer = Some("WER");
            h.pid = Some(pid);
        }
    }
    h
}

/// ProcDump `-dc` comments and its own exception notes: chance and app pool, when present.
fn comment_hints(comment: &str, h: &mut NameHints) {
    let lower = comment.to_ascii_lowercase();
    if h.chance.is_none() {
        if lower.contains("first chance") || lower.contains("first-chance") {
            h.chance = Some("first");
        } else if lower.contains("second chance")
            || lower.contains("second-chance")
            || lower.contains("unhandled")
        {
            h.chance = Some("second");
        }
    }
    if h.app_pool.is_none() {
        // `-ap "Pool"` (w3wp's own command line pasted into the comment) or `AppPool: Pool`.
        let value_after = |key: &str| -> Option<String> {
            let at = lower.find(key)? + key.len();
            let rest = comment.get(at..)?.trim_start_matches([' ', ':', '=']);
            let v: String = if let Some(q) = rest.strip_prefix('"') {
                q.chars().take_while(|c| *c != '"').collect()
            } else {
                rest.chars()
                    .take_while(|c| !c.is_whitespace() && *c != ';' && *c != ',')
                    .collect()
            };
            (!v.is_empty()).then(|| clean(&v))
        };
        h.app_pool = value_after("-ap ")
            .or_else(|| value_after("apppool"))
            .or_else(|| value_after("app pool"));
    }
}

fn read_comment(dump: &Minidump<'_, &[u8]>) -> Option<String> {
    if let Ok(raw) = dump.get_raw_stream(MINIDUMP_STREAM_TYPE::CommentStreamW as u32) {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .take(MAX_STR * 4)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|u| *u != 0)
            .collect();
        let s = String::from_utf16_lossy(&units);
        if !s.trim().is_empty() {
            return Some(clean(s.trim()));
        }
    }
    if let Ok(raw) = dump.get_raw_stream(MINIDUMP_STREAM_TYPE::CommentStreamA as u32) {
        let end = raw
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(raw.len())
            .min(MAX_STR * 4);
        let mut s = String::new();
        crate::tables::push_cp1252(&mut s, &raw[..end]);
        if !s.trim().is_empty() {
            return Some(clean(s.trim()));
        }
    }
    None
}

/// Dumps up to this size are read into memory; larger ones are mapped copy-on-write, so a
/// multi-GiB full dump (or a sparse file claiming to be one) costs only the pages read.
const READ_ABOVE: u64 = 4 << 20;

/// A dump's bytes: borrowed from a caller, read, or mapped privately (a repair writes into the
/// private copy, never into the file).
enum Buf<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    Mapped(memmap2::MmapMut),
}

impl Buf<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Buf::Borrowed(b) => b,
            Buf::Owned(v) => v,
            Buf::Mapped(m) => m,
        }
    }
    fn make_mut(&mut self) -> &mut [u8] {
        if let Buf::Borrowed(b) = self {
            *self = Buf::Owned(b.to_vec());
        }
        match self {
            Buf::Borrowed(_) => unreachable!("replaced just above"),
            Buf::Owned(v) => v,
            Buf::Mapped(m) => m,
        }
    }
}

/// Why `path` is not a file a dump can be read from (a FIFO would block, a device never ends),
/// checked before it is opened.
pub fn not_regular(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) => Some(format!("cannot read: {e}")),
        Ok(m) if m.is_file() => None,
        Ok(m) => Some(format!(
            "{}: {}; not read",
            crate::discover::NOT_REGULAR,
            crate::discover::file_type_name(&m.file_type())
        )),
    }
}

fn read_file(path: &Path) -> Result<Buf<'static>, ReadError> {
    if let Some(why) = not_regular(path) {
        return Err(ReadError::NotRegular(why));
    }
    let mut file = std::fs::File::open(path).map_err(ReadError::Open)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len <= READ_ABOVE {
        use std::io::Read;
        let mut v = Vec::with_capacity(len as usize);
        // Bounded: a file that grows while it is read is read as far as it was.
        (&mut file)
            .take(READ_ABOVE)
            .read_to_end(&mut v)
            .map_err(ReadError::Read)?;
        return Ok(Buf::Owned(v));
    }
    // SAFETY: a private (copy-on-write) map: writes go to our pages, never to the file. A dump
    // truncated by another process while we read it could fault; dump writers only append.
    let map = unsafe { memmap2::MmapOptions::new().map_copy(&file) }.map_err(ReadError::Map)?;
    Ok(Buf::Mapped(map))
}

/// Reads the minidump at `path` into rows: the entry point of `dump`, `parse` and `analyze`.
/// Special files (FIFO, device, socket) are refused before they are opened.
pub fn parse_file(ctx: &FileCtx, path: &Path, opts: &DumpOptions) -> Parsed {
    match read_file(path) {
        Ok(buf) => parse_buf(ctx, buf, opts),
        Err(why) => {
            let mut p = Parsed::default();
            p.issues.push(IssueRow::new(
                ctx.id,
                Severity::Error,
                "unreadable",
                why.to_string(),
            ));
            p
        }
    }
}

/// Reads one minidump into rows. Never panics on input; every problem is an issue row.
pub fn parse(ctx: &FileCtx, bytes: &[u8], opts: &DumpOptions) -> Parsed {
    parse_buf(ctx, Buf::Borrowed(bytes), opts)
}

fn parse_buf(ctx: &FileCtx, mut buf: Buf<'_>, opts: &DumpOptions) -> Parsed {
    let mut p = Parsed::default();
    let check = check::precheck(ctx, buf.bytes());
    p.issues.extend(check.issues);
    if let Some(f) = check.fatal {
        p.issues.push(f);
        return p;
    }
    let mut damage = check.damage;
    if !check.patches.is_empty() {
        check::apply(buf.make_mut(), &check.patches);
    }
    if let Some(r) = check::module_repair(ctx, buf.bytes(), check.module_list) {
        check::apply(buf.make_mut(), &r.patches);
        p.issues.push(r.issue);
        damage.modules = Some(r.summary);
    }
    let bytes = buf.bytes();
    let dump = match Minidump::read(bytes) {
        Ok(d) => d,
        Err(e) => {
            p.issues.push(corrupt(
                ctx,
                format!("rust-minidump cannot read the dump: {e}"),
                Some(0),
            ));
            return p;
        }
    };
    let paths: Vec<PathBuf> = opts.symbols.iter().cloned().collect();
    let provider = Symbolizer::new(simple_symbol_supplier(paths));
    let processed = futures_executor::block_on(minidump_processor::process_minidump_with_options(
        &dump,
        &provider,
        ProcessorOptions::default(),
    ));
    match processed {
        Ok(state) => from_state(ctx, &dump, &state, &damage, &mut p),
        Err(e) => {
            // No thread list or system info: still report what the raw streams say.
            p.issues.push(
                IssueRow::new(
                    ctx.id,
                    Severity::Warning,
                    "corrupt_dump",
                    format!("the dump cannot be fully processed ({e}); reporting the exception and modules without stacks"),
                )
                .at(None, None),
            );
            from_raw(ctx, &dump, &damage, &mut p);
        }
    }
    p
}

/// Per-dump facts that go into `detail`: `key: value` parts joined by [`DETAIL_SEP`].
#[derive(Default)]
struct Detail {
    parts: Vec<String>,
}

/// Separates the parts of a dump's `detail`; `report::triage` splits on it, so no value may
/// contain it (values are rewritten with `, `).
pub const DETAIL_SEP: &str = "; ";

impl Detail {
    fn add(&mut self, k: &str, v: impl AsRef<str>) {
        let v = v.as_ref().replace(DETAIL_SEP, ", ");
        self.parts.push(format!("{k}: {v}"));
    }
    fn text(&self) -> Option<String> {
        (!self.parts.is_empty()).then(|| self.parts.join(DETAIL_SEP))
    }
}

/// A module's file name; a module whose name could not be read is named by its address.
fn module_name(path: &str, base: u64) -> String {
    if path.is_empty() {
        format!("(unnamed module at 0x{base:x})")
    } else {
        basename(path).to_string()
    }
}

/// The fault at `ip` inside loaded module `m`, noted in the crash row.
fn module_fault(row: &mut CrashRow, m: &minidump::MinidumpModule, ip: u64) -> FaultSite {
    let path = clean(&m.code_file());
    let name = module_name(&path, m.raw.base_of_image);
    let offset = ip.saturating_sub(m.raw.base_of_image);
    row.faulting_module = Some(name.clone());
    row.faulting_module_version = m.version().map(|v| clean(&v));
    row.fault_offset = Some(offset);
    FaultSite::Module {
        name,
        offset,
        class: classify(&path),
    }
}

fn module_rows(
    ctx: &FileCtx,
    pid: Option<u32>,
    modules: &MinidumpModuleList,
    unloaded: &MinidumpUnloadedModuleList,
    p: &mut Parsed,
) {
    for m in modules.by_addr() {
        let path = clean(&m.code_file());
        let class = classify(&path);
        p.modules.push(ModuleRow {
            file: ctx.id,
            pid,
            name: module_name(&path, m.raw.base_of_image),
            version: m.version().map(|v| clean(&v)),
            base: m.raw.base_of_image,
            size: m.raw.size_of_image as u64,
            timestamp: Some(m.raw.time_date_stamp),
            unloaded: false,
            class,
            third_party: class.is_third_party(),
            path,
        });
    }
    for m in unloaded.by_addr() {
        let path = clean(&m.code_file());
        let class = classify(&path);
        p.modules.push(ModuleRow {
            file: ctx.id,
            pid,
            name: basename(&path).to_string(),
            version: None,
            base: m.raw.base_of_image,
            size: m.raw.size_of_image as u64,
            timestamp: Some(m.raw.time_date_stamp),
            unloaded: true,
            class,
            third_party: class.is_third_party(),
            path,
        });
    }
}

fn from_state(
    ctx: &FileCtx,
    dump: &Minidump<'_, &[u8]>,
    state: &ProcessState,
    damage: &Damage,
    p: &mut Parsed,
) {
    let arch = state.system_info.cpu;
    let (is_wow64, wow64_view) = wow64(arch, &state.modules);
    let bits32 = arch == Cpu::X86 || is_wow64;
    let (mem, mem_list) = memory_stats(dump, bits32);
    let exc = dump.get_stream::<MinidumpException>().ok();
    let comment = read_comment(dump);
    let hints = dump_hints(ctx, comment.as_deref());
    let pid = state.process_id.or(hints.pid);
    let main = state.modules.main_module().map(|m| clean(&m.code_file()));
    let process_name = main.as_deref().map(|m| basename(m).to_string());

    module_rows(ctx, pid, &state.modules, &state.unloaded_modules, p);

    // Crashing thread: the exception's thread, else (manual dump) nothing.
    let crash_thread = state.requesting_thread.and_then(|i| state.threads.get(i));
    let frames: &[StackFrame] = crash_thread.map_or(&[], |t| &t.frames);
    frame_rows(ctx.id, frames, mem_list.as_ref(), p);
    let other_frames = thread_frame_rows(ctx.id, state, p);

    // The fault: exception address, or frame 0 when the record has none (invalid parameter).
    let rec = exc.as_ref().map(|e| &e.raw.exception_record);
    let code = rec.map(|r| r.exception_code);
    let info0 = rec
        .filter(|r| r.number_parameters > 0)
        .map(|r| r.exception_information[0]);
    let fault_ip = fault_ip(rec, arch, frames);
    let break_in = is_break_in(code, frames);
    let mut row = CrashRow {
        ts: millis(state.time),
        server: ctx.server.clone(),
        source: Some(EvidenceSource::Dump),
        kind: if (code.is_some() && !break_in) || damage.exception.is_some() {
            CrashKind::Crash
        } else {
            CrashKind::Dump
        },
        app_pool: hints.app_pool.clone(),
        pid,
        process_name: process_name.clone(),
        process_start: state.process_create_time.and_then(millis),
        exception_code: code,
        chance: hints.chance.map(str::to_string),
        file: ctx.id,
        offset: 0,
        ..Default::default()
    };
    let fault = fault_ip.map(|ip| fault_site(state, mem_list.as_ref(), ip, &mut row));
    row.exception_name = exception_name(state, code, damage);

    let threads = thread_stats(dump, state);
    thread_rows(
        ctx.id,
        &threads,
        &thread_details(state),
        &thread_created(dump),
        p,
    );
    set_facts(
        &mut row,
        info0,
        fault.as_ref(),
        fault_ip,
        Some(&threads),
        mem.as_ref(),
        damage,
    );
    row.wow64_view = wow64_view;
    row.utc_offset_min = utc_offset(dump);
    row.stacks_walked = true;

    let mut d = Detail::default();
    let bitness = bitness(arch, is_wow64, wow64_view);
    detail_process(
        &mut d,
        state,
        &row,
        bitness,
        hints.writer,
        fault_ip,
        fault.as_ref(),
    );
    let extra = Extras {
        frames: frames.len(),
        other_frames,
        comment: comment.as_deref(),
    };
    detail_resources(&mut d, dump, state, &threads, mem.as_ref(), damage, &extra);
    row.detail = d.text();
    p.crashes.push(row);
}

/// What the dump's file name and comment stream say (pool, pid, chance, writer).
fn dump_hints(ctx: &FileCtx, comment: Option<&str>) -> NameHints {
    let file_name = ctx
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut hints = name_hints(&file_name);
    if let Some(c) = comment {
        comment_hints(c, &mut hints);
    }
    hints
}

/// The machine's offset from UTC at the dump, minutes east: Windows' bias (`UTC = local +
/// bias`), with the daylight or standard bias in effect added.
fn utc_offset(dump: &Minidump<'_, &[u8]>) -> Option<i32> {
    let misc = dump.get_stream::<MinidumpMiscInfo>().ok()?;
    let tz = misc.raw.time_zone()?;
    let extra = match misc.raw.time_zone_id().copied() {
        Some(2) => tz.daylight_bias,
        Some(1) => tz.standard_bias,
        _ => 0,
    };
    let bias = tz.bias.checked_add(extra)?;
    // Real offsets lie within ±14 h; anything else is a damaged stream.
    (bias.abs() <= 14 * 60).then_some(-bias)
}

/// The fault address: the exception's (32 bits of it on x86), or frame 0 when the record has
/// none (an invalid-parameter report).
fn fault_ip(
    rec: Option<&minidump::format::MINIDUMP_EXCEPTION>,
    arch: Cpu,
    frames: &[StackFrame],
) -> Option<u64> {
    let ip = rec.map(|r| {
        if arch == Cpu::X86 {
            r.exception_address & 0xffff_ffff
        } else {
            r.exception_address
        }
    });
    if ip == Some(0) {
        return frames.first().map(|f| f.instruction);
    }
    ip
}

/// The exception's name: the processor's reading of it, else the code's known name; a
/// damaged exception stream says so.
fn exception_name(state: &ProcessState, code: Option<u32>, damage: &Damage) -> Option<String> {
    let Some(c) = code else {
        return damage.exception.is_some().then(|| DAMAGED_EXCEPTION.into());
    };
    let rm = state.exception_info.as_ref().map(|e| e.reason.to_string());
    Some(match rm {
        Some(n) if !n.starts_with("unknown") && !n.is_empty() => clean(&n),
        _ => exceptions::name(c),
    })
}

fn bitness(arch: Cpu, is_wow64: bool, wow64_view: bool) -> &'static str {
    if wow64_view {
        "32-bit process (WOW64), 64-bit dump"
    } else if is_wow64 {
        "32-bit process on 64-bit Windows (WOW64)"
    } else if arch == Cpu::X86 {
        "32-bit process"
    } else {
        "64-bit process"
    }
}

/// The crashing thread's frames (the first [`MAX_FRAMES`]) as `frames` rows, with their facts.
fn frame_rows(
    file: FileId,
    frames: &[StackFrame],
    mem: Option<&MinidumpMemoryInfoList<'_>>,
    p: &mut Parsed,
) {
    for (i, (f, fact)) in frames.iter().zip(frame_facts(frames, mem)).enumerate() {
        let (module, module_offset) = match &f.module {
            Some(m) => (
                Some(basename(&clean(&m.code_file())).to_string()),
                f.instruction.checked_sub(m.raw.base_of_image),
            ),
            None => match f.unloaded_modules.iter().next() {
                Some((n, offs)) => (
                    Some(format!("{} (unloaded)", basename(&clean(n)))),
                    offs.iter().next().copied(),
                ),
                None => (None, None),
            },
        };
        p.frames.push(FrameRow {
            file,
            index: i as u32,
            instruction: f.instruction,
            module,
            module_offset,
            function: f.function_name.as_deref().map(clean),
            function_offset: f.function_base.and_then(|b| f.instruction.checked_sub(b)),
            source_file: f.source_file_name.as_deref().map(clean),
            source_line: f.source_line,
            trust: frame_trust(f.trust),
            class: fact.class,
            unloaded_module: fact.unloaded,
            dynamic: fact.dynamic,
        });
    }
}

/// Frames kept of each other thread, and of all of them in one dump (a dump of 2,000 threads
/// in deep stacks stays bounded).
pub const THREAD_FRAMES: usize = 64;
/// See [`THREAD_FRAMES`].
pub const THREAD_FRAMES_PER_DUMP: usize = 16_384;

/// Every thread's stack but the crashing thread's as `thread_frames` rows, bounded; returns
/// (frames walked, frames kept).
fn thread_frame_rows(file: FileId, state: &ProcessState, p: &mut Parsed) -> (usize, usize) {
    let (mut walked, mut kept) = (0, 0);
    for (i, t) in state.threads.iter().enumerate() {
        if Some(i) == state.requesting_thread {
            continue;
        }
        walked += t.frames.len();
        let room = THREAD_FRAMES.min(THREAD_FRAMES_PER_DUMP - kept);
        for (k, f) in t.frames.iter().take(room).enumerate() {
            let fact = facts::frame_fact(f, None);
            p.thread_frames.push(ThreadFrameRow {
                file,
                thread_id: t.thread_id,
                index: k as u32,
                instruction: f.instruction,
                module: fact.module,
                module_offset: fact.offset,
                class: fact.class,
            });
            kept += 1;
        }
    }
    (walked, kept)
}

/// Where the exception address `ip` lies, noted in the crash row (faulting module and offset).
fn fault_site(
    state: &ProcessState,
    mem: Option<&MinidumpMemoryInfoList<'_>>,
    ip: u64,
    row: &mut CrashRow,
) -> FaultSite {
    if let Some(m) = state.modules.module_at_address(ip) {
        module_fault(row, m, ip)
    } else if let Some(u) = state.unloaded_modules.modules_at_address(ip).next() {
        let name = basename(&clean(&u.code_file())).to_string();
        row.faulting_module = Some(format!("{name} (unloaded)"));
        row.fault_offset = ip.checked_sub(u.raw.base_of_image);
        FaultSite::Unloaded {
            name,
            offset: ip.saturating_sub(u.raw.base_of_image),
        }
    } else {
        match mem.and_then(|l| l.memory_info_at_address(ip)) {
            Some(r) if r.is_executable() && r.raw._type == MEM_PRIVATE => {
                row.faulting_module = Some("JIT/dynamic code".into());
                FaultSite::Dynamic { address: ip }
            }
            Some(r) => FaultSite::NoModule {
                address: ip,
                executable: Some(r.is_executable()),
            },
            None => FaultSite::NoModule {
                address: ip,
                executable: None,
            },
        }
    }
}

/// The dump's process: OS, CPU, bitness, uptime, writer, the exception and where it points.
fn detail_process(
    d: &mut Detail,
    state: &ProcessState,
    row: &CrashRow,
    bitness: &str,
    writer: Option<&str>,
    fault_ip: Option<u64>,
    fault: Option<&FaultSite>,
) {
    let os = format!(
        "{} {}",
        state.system_info.os.long_name(),
        state
            .system_info
            .format_os_version()
            .map(|s| clean(&s))
            .unwrap_or_default()
    );
    d.add("os", os.trim());
    d.add("cpu", state.system_info.cpu.to_string());
    d.add("bitness", bitness);
    if let (Some(start), Some(ts)) = (row.process_start, row.ts) {
        d.add("uptime", format!("{} s", (ts - start) / 1000));
    }
    if let Some(w) = writer {
        d.add("writer", w);
    }
    if let (Some(c), Some(name)) = (row.exception_code, &row.exception_name) {
        let mut e = format!("0x{c:08x} {name}");
        if let Some(x) = state.exception_info.as_ref()
            && exceptions::kind(c) == exceptions::ExceptionKind::AccessViolation
        {
            let _ = write!(e, " at data address 0x{:x}", x.address.0);
        }
        if let Some(ip) = fault_ip {
            let _ = write!(e, ", exception address 0x{ip:x}");
        }
        d.add("exception", e);
    }
    if let Some(FaultSite::NoModule { executable, .. }) = fault {
        d.add(
            "fault memory",
            match executable {
                Some(true) => "executable memory in no module",
                Some(false) => "non-executable memory (stack or heap)",
                None => "not described by the dump",
            },
        );
    }
}

/// What the dump was taken with beside the process: the stack length and the dumper's comment.
struct Extras<'a> {
    frames: usize,
    /// The other threads' frames: (walked, kept).
    other_frames: (usize, usize),
    comment: Option<&'a str>,
}

/// The dump's resources: threads and their CPU time, memory, unloaded modules, the stack
/// length, damage, the dumper's comment and any assertion.
fn detail_resources(
    d: &mut Detail,
    dump: &Minidump<'_, &[u8]>,
    state: &ProcessState,
    threads: &ThreadStats,
    mem: Option<&MemoryStats>,
    damage: &Damage,
    extra: &Extras,
) {
    let mut t = format!("{}", threads.count);
    if !threads.times.is_empty() {
        let total: u64 = threads.times.iter().map(|x| x.1).sum();
        if let Some(top) = threads.times.iter().max_by_key(|x| x.1) {
            let share = if total > 0 {
                top.1 as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            let _ = write!(
                t,
                " (user CPU {:.1} s in all, top thread 0x{:x} {:.1} s, {share:.0}%)",
                total as f64 / 1e7,
                top.0,
                top.1 as f64 / 1e7
            );
        }
    }
    d.add("threads", t);
    if let Some(m) = mem {
        let mut s = format!(
            "committed {} MiB, reserved {} MiB, private {} MiB",
            m.committed >> 20,
            m.reserved >> 20,
            m.private_committed >> 20
        );
        if let Some(l) = m.largest_free {
            let _ = write!(s, ", largest free {} MiB", l >> 20);
        }
        d.add("memory", s);
    }
    let unloaded: Vec<String> = state
        .unloaded_modules
        .iter()
        .take(32)
        .map(|u| basename(&clean(&u.code_file())).to_string())
        .collect();
    if !unloaded.is_empty() {
        d.add("unloaded", unloaded.join(", "));
    }
    if extra.frames > MAX_FRAMES {
        d.add(
            "frames",
            format!("{} (first {MAX_FRAMES} kept)", extra.frames),
        );
    }
    if extra.other_frames.0 > extra.other_frames.1 {
        d.add(
            "thread frames",
            format!(
                "{} of the other threads (first {} kept: {THREAD_FRAMES} a thread, {THREAD_FRAMES_PER_DUMP} a dump)",
                extra.other_frames.0, extra.other_frames.1
            ),
        );
    }
    add_damage(d, damage, extra.frames);
    if let Some(c) = extra.comment {
        d.add("comment", c);
    }
    // Breakpad's assertion stream (CRT invalid-parameter / assert handlers); the processor
    // does not surface it, so read it here.
    if let Ok(a) = dump.get_stream::<minidump::MinidumpAssertion>() {
        let parts: Vec<String> = [a.expression(), a.function(), a.file()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .map(|s| clean(&s))
            .collect();
        d.add(
            "assertion",
            if parts.is_empty() {
                "present (empty)".to_string()
            } else {
                parts.join(" | ")
            },
        );
    }
}

/// The triage's "what" of a dump whose exception stream is there but unreadable.
pub const DAMAGED_EXCEPTION: &str = "unknown exception (the exception stream is damaged)";

/// What of the dump was lost, in its `detail`.
fn add_damage(d: &mut Detail, damage: &Damage, frames: usize) {
    if let Some(end) = damage.truncated_at {
        d.add(
            "truncated",
            format!(
                "the file ends at byte {end}: the crashing stack ({frames} frames) may be cut short"
            ),
        );
    }
    if let Some(m) = &damage.modules {
        d.add("module list damaged", m);
    }
    if let Some(e) = &damage.exception {
        d.add("exception stream damaged", e);
    }
}

/// When processing fails (no thread list or system info), the exception and module streams
/// still say where it crashed.
fn from_raw(ctx: &FileCtx, dump: &Minidump<'_, &[u8]>, damage: &Damage, p: &mut Parsed) {
    let modules = dump.get_stream::<MinidumpModuleList>().unwrap_or_default();
    let unloaded = dump
        .get_stream::<MinidumpUnloadedModuleList>()
        .unwrap_or_default();
    let misc = dump.get_stream::<MinidumpMiscInfo>().ok();
    let pid = misc.as_ref().and_then(|m| m.raw.process_id().copied());
    module_rows(ctx, pid, &modules, &unloaded, p);
    let exc = dump.get_stream::<MinidumpException>().ok();
    let rec = exc.as_ref().map(|e| &e.raw.exception_record);
    let code = rec.map(|r| r.exception_code);
    let mut row = CrashRow {
        ts: Some(dump.header.time_date_stamp as i64 * 1000),
        server: ctx.server.clone(),
        source: Some(EvidenceSource::Dump),
        kind: if code.is_some() || damage.exception.is_some() {
            CrashKind::Crash
        } else {
            CrashKind::Dump
        },
        pid,
        process_name: modules
            .main_module()
            .map(|m| basename(&clean(&m.code_file())).to_string()),
        process_start: misc
            .as_ref()
            .and_then(|m| m.process_create_time())
            .and_then(millis),
        exception_code: code,
        exception_name: code
            .map(exceptions::name)
            .or_else(|| damage.exception.as_ref().map(|_| DAMAGED_EXCEPTION.into())),
        file: ctx.id,
        ..Default::default()
    };
    let file_name = ctx
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hints = name_hints(&file_name);
    row.app_pool = hints.app_pool;
    row.chance = hints.chance.map(str::to_string);
    let info0 = rec
        .filter(|r| r.number_parameters > 0)
        .map(|r| r.exception_information[0]);
    let fault_ip = rec.map(|r| r.exception_address).filter(|a| *a != 0);
    let fault = fault_ip.map(|ip| match modules.module_at_address(ip) {
        Some(m) => module_fault(&mut row, m, ip),
        None => FaultSite::NoModule {
            address: ip,
            executable: None,
        },
    });
    // Without stacks nothing was walked (`stacks_walked` stays false).
    set_facts(
        &mut row,
        info0,
        fault.as_ref(),
        fault_ip,
        None,
        None,
        damage,
    );
    let mut d = Detail::default();
    d.add(
        "partial",
        "no thread list or system info, stacks not walked",
    );
    add_damage(&mut d, damage, 0);
    row.detail = d.text();
    p.crashes.push(row);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debugdiag_names() {
        let h = name_hints(
            "w3wp__DefaultAppPool__PID__4672__Date__04_06_2026__Time_06_43_20PM__186__Second_Chance_Exception_C0000005.dmp",
        );
        assert_eq!(h.app_pool.as_deref(), Some("DefaultAppPool"));
        assert_eq!(h.pid, Some(4672));
        assert_eq!(h.chance, Some("second"));
        let h = name_hints(
            "w3wp__.NET Core__PID__29112__Date__10_14_2022__Time_01_50_40PM__45__First chance exception 0XE06D7363.dmp",
        );
        assert_eq!(h.app_pool.as_deref(), Some(".NET Core"));
        assert_eq!(h.chance, Some("first"));
        let h = name_hints("w3wp.exe_230715_115759.dmp");
        assert_eq!(h.writer, Some("ProcDump"));
        assert_eq!(h.app_pool, None);
        let h = name_hints("w3wp.exe.5120.dmp");
        assert_eq!((h.writer, h.pid), (Some("WER"), Some(5120)));
        assert_eq!(name_hints("crash.dmp"), NameHints::default());
    }

    #[test]
    fn procdump_comment() {
        let mut h = NameHints::default();
        comment_hints(
            "*** procdump -ma -e w3wp.exe\n*** Unhandled exception: C0000005 AppPool: \"Shop Pool\"",
            &mut h,
        );
        assert_eq!(h.chance, Some("second"));
        assert_eq!(h.app_pool.as_deref(), Some("Shop Pool"));
        let mut h = NameHints::default();
        comment_hints(
            r#"c:\windows\system32\inetsrv\w3wp.exe -ap "DefaultAppPool" -v "v4.0""#,
            &mut h,
        );
        assert_eq!(h.app_pool.as_deref(), Some("DefaultAppPool"));
    }

    #[test]
    fn clean_strips_controls_and_caps() {
        assert_eq!(clean("a\u{1b}[31mb\n"), "a[31mb");
        assert_eq!(clean(&"x".repeat(5000)).len(), MAX_STR);
    }
}
