//! The structural check of a minidump before rust-minidump reads it, and the repair of a damaged
//! module list.
//!
//! Nothing in a dump's header or directory is trusted: every size and offset is checked against
//! the file's length, so a truncated, zero-filled or still-being-written dump becomes a specific
//! `corrupt_dump` issue (with the byte where the file ends) instead of a confident verdict drawn
//! from half a dump. rust-minidump rejects a whole module list for one bad entry; that list is
//! what every verdict stands on, so [`module_repair`] recovers each entry that can be read.

pub use crate::knowledge::verdict::Damage;
use crate::tables::{FileCtx, IssueRow, Severity};
use minidump::format::{self as md, MINIDUMP_STREAM_TYPE};
use minidump::{Minidump, MinidumpModule, MinidumpModuleList};

/// Directory entries a sane dump has (MiniDumpWriteDump writes ~20; anything above is garbage).
const MAX_STREAMS: u32 = 4096;
/// `sizeof(MINIDUMP_EXCEPTION_STREAM)`: thread id, alignment, the 152-byte record, the context.
const EXCEPTION_STREAM_SIZE: u32 = 168;
/// `sizeof(MINIDUMP_MODULE)`.
const MODULE_SIZE: u64 = 108;
/// Where a `MINIDUMP_MODULE`'s fields sit.
const NAME_RVA_AT: usize = 20;
const CV_AT: usize = 76;
const RESERVED0_AT: usize = 92;

/// What the structural check found: a fatal problem stops the parse; the rest are issues
/// (errors: the dump is damaged) and damage the verdict must know of.
pub struct Precheck {
    pub fatal: Option<IssueRow>,
    pub issues: Vec<IssueRow>,
    pub damage: Damage,
    /// The module list's directory entry: (offset of the entry, stream size, stream offset).
    pub module_list: Option<(usize, u32, u32)>,
    /// 32-bit words to write into a private copy before rust-minidump reads it: the directory
    /// entries of streams w3triage does not read, marked unused (see [`KEEP`]).
    pub patches: Vec<(usize, u32)>,
}

/// The streams read (by us or by minidump-processor for us). Every other stream's directory
/// entry is marked unused before rust-minidump sees the dump: a hostile handle-data stream (a
/// descriptor size of 0 and a count of 2^28) made rust-minidump 0.27 allocate 60 GB and abort
/// the process (found by fuzzing), and streams we never read should cost no risk at all.
const KEEP: [u32; 15] = [
    MINIDUMP_STREAM_TYPE::ThreadListStream as u32,
    MINIDUMP_STREAM_TYPE::ModuleListStream as u32,
    MINIDUMP_STREAM_TYPE::MemoryListStream as u32,
    MINIDUMP_STREAM_TYPE::ExceptionStream as u32,
    MINIDUMP_STREAM_TYPE::SystemInfoStream as u32,
    MINIDUMP_STREAM_TYPE::Memory64ListStream as u32,
    MINIDUMP_STREAM_TYPE::CommentStreamA as u32,
    MINIDUMP_STREAM_TYPE::CommentStreamW as u32,
    MINIDUMP_STREAM_TYPE::UnloadedModuleListStream as u32,
    MINIDUMP_STREAM_TYPE::MiscInfoStream as u32,
    MINIDUMP_STREAM_TYPE::MemoryInfoListStream as u32,
    MINIDUMP_STREAM_TYPE::ThreadInfoListStream as u32,
    MINIDUMP_STREAM_TYPE::ThreadNamesStream as u32,
    MINIDUMP_STREAM_TYPE::BreakpadInfoStream as u32,
    MINIDUMP_STREAM_TYPE::AssertionInfoStream as u32,
];

pub fn corrupt(ctx: &FileCtx, msg: impl Into<String>, offset: Option<u64>) -> IssueRow {
    IssueRow::new(ctx.id, Severity::Error, "corrupt_dump", msg).at(None, offset)
}

pub fn rd32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn rd64(b: &[u8], at: usize) -> Option<u64> {
    let lo = rd32(b, at)? as u64;
    let hi = rd32(b, at.checked_add(4)?)? as u64;
    Some(lo | hi << 32)
}

/// Validates the header, the stream directory and every stream's bounds without trusting sizes.
pub fn precheck(ctx: &FileCtx, b: &[u8]) -> Precheck {
    let mut out = Precheck {
        fatal: None,
        issues: Vec::new(),
        damage: Damage::default(),
        module_list: None,
        patches: Vec::new(),
    };
    if let Some(f) = header_problem(ctx, b) {
        out.fatal = Some(f);
        return out;
    }
    if &b[0..4] == b"PMDM" {
        // Big-endian dumps exist only in tests; rust-minidump handles them, our bounds checks do not.
        return out;
    }
    let len = b.len() as u64;
    let count = rd32(b, 8).unwrap_or(0);
    let dir = rd32(b, 12).unwrap_or(0) as u64;
    let mut past_end = 0usize;
    for i in 0..count as u64 {
        let at = (dir + i * 12) as usize;
        let (Some(ty), Some(size), Some(rva)) = (rd32(b, at), rd32(b, at + 4), rd32(b, at + 8))
        else {
            break;
        };
        if ty == 0 {
            continue; // unused entry
        }
        let end = rva as u64 + size as u64;
        if end > len {
            past_end += 1;
            out.damage.truncated_at = Some(len);
            if out.issues.len() < 16 {
                out.issues.push(corrupt(
                    ctx,
                    format!(
                        "truncated: stream {} (type {ty}) at 0x{rva:x}, {size} bytes, runs to byte {end} but the file ends at byte {len} (a cut copy, or the dump is still being written); that stream is read only as far as it goes",
                        stream_name(ty)
                    ),
                    Some(at as u64),
                ));
            }
        }
        if !KEEP.contains(&ty) {
            out.patches.push((at, 0));
            continue;
        }
        match ty {
            t if t == MINIDUMP_STREAM_TYPE::ModuleListStream as u32 => {
                out.module_list.get_or_insert((at, size, rva));
            }
            t if t == MINIDUMP_STREAM_TYPE::ExceptionStream as u32 => {
                exception_check(ctx, (at, size, rva), len, &mut out);
            }
            t if t == MINIDUMP_STREAM_TYPE::MemoryListStream as u32 && end <= len => {
                memory_list_check(ctx, b, (at, size, rva), &mut out);
            }
            t if t == MINIDUMP_STREAM_TYPE::ThreadListStream as u32 && end <= len => {
                thread_list_check(ctx, b, (at, size, rva), &mut out);
            }
            t if t == MINIDUMP_STREAM_TYPE::Memory64ListStream as u32 && end <= len => {
                memory64_check(ctx, b, (at, size, rva), &mut out);
            }
            _ => {}
        }
    }
    if past_end > 16 {
        out.issues.push(corrupt(
            ctx,
            format!("{past_end} streams in all run past the end of the file (byte {len})"),
            None,
        ));
    }
    out
}

/// Header and directory problems that leave nothing to read.
fn header_problem(ctx: &FileCtx, b: &[u8]) -> Option<IssueRow> {
    let len = b.len() as u64;
    if b.is_empty() {
        return Some(corrupt(
            ctx,
            "empty file (0 bytes): not a minidump; the dump writer may have failed or still be starting",
            Some(0),
        ));
    }
    if b.len() < 32 {
        return Some(corrupt(
            ctx,
            format!("truncated: {len} bytes, shorter than the 32-byte minidump header"),
            Some(0),
        ));
    }
    let sig = &b[0..4];
    if sig != b"MDMP" && sig != b"PMDM" {
        return Some(corrupt(
            ctx,
            format!(
                "wrong magic {:02x} {:02x} {:02x} {:02x}: not a minidump (expected \"MDMP\")",
                sig[0], sig[1], sig[2], sig[3]
            ),
            Some(0),
        ));
    }
    if sig == b"PMDM" {
        return None;
    }
    let version = rd32(b, 4).unwrap_or(0);
    if version & 0xffff != 0xa793 {
        return Some(corrupt(
            ctx,
            format!(
                "unknown minidump version 0x{:04x} (expected 0xa793)",
                version & 0xffff
            ),
            Some(4),
        ));
    }
    let count = rd32(b, 8).unwrap_or(0);
    let dir = rd32(b, 12).unwrap_or(0) as u64;
    if count == 0 {
        return Some(corrupt(
            ctx,
            "the stream directory is empty (0 streams): the dump was not finished",
            Some(8),
        ));
    }
    let dir_end = dir + count as u64 * 12;
    if dir_end > len {
        let why = if count > MAX_STREAMS {
            format!("an absurd stream count ({count})")
        } else {
            format!("{count} entries")
        };
        return Some(corrupt(
            ctx,
            format!(
                "truncated: stream directory at 0x{dir:x} with {why} ends at 0x{dir_end:x}, past the end of the file ({len} bytes): a cut copy, or the dump is still being written"
            ),
            Some(12),
        ));
    }
    None
}

/// An exception stream too short for its record: the dump was taken at an exception, but which
/// one cannot be read.
fn exception_check(
    ctx: &FileCtx,
    (at, size, rva): (usize, u32, u32),
    len: u64,
    out: &mut Precheck,
) {
    let why = if size < EXCEPTION_STREAM_SIZE {
        format!(
            "the exception stream at 0x{rva:x} is {size} bytes, shorter than the {EXCEPTION_STREAM_SIZE}-byte exception record"
        )
    } else if rva as u64 + size as u64 > len {
        format!("the exception stream at 0x{rva:x} runs past the end of the file (byte {len})")
    } else {
        return;
    };
    out.issues.push(corrupt(
        ctx,
        format!("{why}: the exception that ended the process cannot be read"),
        Some(at as u64),
    ));
    out.damage.exception = Some(why);
}

/// Memory ranges (thread stacks above all) whose bytes lie past the end of the file: the stacks
/// that need them are walked only as far as the file goes.
fn memory_list_check(
    ctx: &FileCtx,
    b: &[u8],
    (at, size, rva): (usize, u32, u32),
    out: &mut Precheck,
) {
    let len = b.len() as u64;
    let count = rd32(b, rva as usize).unwrap_or(0) as u64;
    let fit = (size as u64).saturating_sub(4) / 16;
    let mut lost = 0u64;
    for i in 0..count.min(fit) {
        let e = rva as usize + 4 + (i as usize) * 16;
        let (Some(data_size), Some(data_rva)) = (rd32(b, e + 8), rd32(b, e + 12)) else {
            break;
        };
        if data_rva as u64 + data_size as u64 > len {
            lost += 1;
        }
    }
    if lost > 0 {
        out.damage.truncated_at = Some(len);
        out.issues.push(corrupt(
            ctx,
            format!(
                "truncated: {lost} of {} memory ranges (thread stacks among them) lie past the end of the file at byte {len}: stacks that need them are cut short",
                count.min(fit)
            ),
            Some(at as u64),
        ));
    }
}

/// Threads whose stack memory lies past the end of the file: their stacks are walked only as
/// far as the file goes (often one frame, from the thread's context).
fn thread_list_check(
    ctx: &FileCtx,
    b: &[u8],
    (at, size, rva): (usize, u32, u32),
    out: &mut Precheck,
) {
    const THREAD_SIZE: usize = 48;
    let len = b.len() as u64;
    let count = rd32(b, rva as usize).unwrap_or(0) as u64;
    let fit = (size as u64).saturating_sub(4) / THREAD_SIZE as u64;
    let mut cut = Vec::new();
    for i in 0..count.min(fit) as usize {
        let t = rva as usize + 4 + i * THREAD_SIZE;
        let (Some(id), Some(data_size), Some(data_rva)) =
            (rd32(b, t), rd32(b, t + 32), rd32(b, t + 36))
        else {
            break;
        };
        if data_rva as u64 + data_size as u64 > len {
            cut.push(format!("0x{id:x}"));
        }
    }
    if !cut.is_empty() {
        out.damage.truncated_at = Some(len);
        let n = cut.len();
        cut.truncate(8);
        out.issues.push(corrupt(
            ctx,
            format!(
                "truncated: the stack memory of {n} thread(s) ({}) lies past the end of the file at byte {len}: those stacks are cut short",
                cut.join(", ")
            ),
            Some(at as u64),
        ));
    }
}

/// A full-memory dump's ranges are stored back to back from one offset: where they end.
fn memory64_check(ctx: &FileCtx, b: &[u8], (at, size, rva): (usize, u32, u32), out: &mut Precheck) {
    let len = b.len() as u64;
    let (Some(count), Some(base)) = (rd64(b, rva as usize), rd64(b, rva as usize + 8)) else {
        return;
    };
    let fit = (size as u64).saturating_sub(16) / 16;
    let mut end = base;
    for i in 0..count.min(fit) {
        let Some(n) = rd64(b, rva as usize + 16 + (i as usize) * 16 + 8) else {
            break;
        };
        end = end.saturating_add(n);
    }
    if end > len {
        out.damage.truncated_at = Some(len);
        out.issues.push(corrupt(
            ctx,
            format!(
                "truncated: the full-memory ranges run from byte {base} to byte {end}, but the file ends at byte {len}: memory past it (and stacks in it) is missing"
            ),
            Some(at as u64),
        ));
    }
}

pub fn stream_name(ty: u32) -> String {
    use MINIDUMP_STREAM_TYPE as T;
    let known = [
        T::ThreadListStream,
        T::ModuleListStream,
        T::MemoryListStream,
        T::ExceptionStream,
        T::SystemInfoStream,
        T::Memory64ListStream,
        T::CommentStreamA,
        T::CommentStreamW,
        T::HandleDataStream,
        T::UnloadedModuleListStream,
        T::MiscInfoStream,
        T::MemoryInfoListStream,
        T::ThreadInfoListStream,
        T::ThreadNamesStream,
    ];
    match known.iter().find(|k| **k as u32 == ty) {
        Some(t) => format!("{t:?}"),
        None => format!("0x{ty:x}"),
    }
}

/// How to make a damaged module list readable: 32-bit words to write (offset, value), what was
/// lost, and the issue that says so.
pub struct ModuleRepair {
    pub patches: Vec<(usize, u32)>,
    pub summary: String,
    pub issue: IssueRow,
}

/// Writes 32-bit words (offset, value) into the dump's bytes: a private copy, never the file.
pub fn apply(b: &mut [u8], patches: &[(usize, u32)]) {
    for &(at, v) in patches {
        if let Some(s) = b.get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// When rust-minidump cannot read the module list (`module_list` from [`precheck`]), the
/// repair that recovers every entry that can be read: the count cut to the entries the stream
/// holds, an unreadable name pointed at an empty string (the module is then named by its
/// address), an unreadable debug record dropped. `None` when the list reads as it is.
pub fn module_repair(
    ctx: &FileCtx,
    b: &[u8],
    module_list: Option<(usize, u32, u32)>,
) -> Option<ModuleRepair> {
    let (dir_at, size, rva) = module_list?;
    if Minidump::read(b)
        .ok()?
        .get_stream::<MinidumpModuleList>()
        .is_ok()
    {
        return None;
    }
    let len = b.len() as u64;
    let mut patches = Vec::new();
    let mut notes = Vec::new();
    let count = rd32(b, rva as usize).filter(|_| rva != 0);
    let Some(count) = count else {
        let why = format!(
            "the module list stream's offset (0x{rva:x}) points at no list: no module can be read"
        );
        return Some(ModuleRepair {
            patches,
            issue: corrupt(
                ctx,
                format!("damaged module list: {why}"),
                Some(dir_at as u64),
            ),
            summary: why,
        });
    };
    let room = if size == 0 || rva as u64 + size as u64 > len {
        notes.push(if size == 0 {
            "its directory entry gives it 0 bytes".to_string()
        } else {
            format!("it runs past the end of the file (byte {len})")
        });
        len - rva as u64
    } else {
        size as u64
    };
    let fit = room.saturating_sub(4) / MODULE_SIZE;
    let n = (count as u64).min(fit);
    if n < count as u64 {
        notes.push(format!(
            "it claims {count} modules but its {room} bytes hold {n}"
        ));
        patches.push((rva as usize, n as u32));
    }
    let want = 4 + n * MODULE_SIZE;
    if size as u64 != want && size as u64 != want + 4 {
        patches.push((dir_at + 4, want as u32));
    }
    let mut bad = Vec::new();
    let zero = zero_word(b);
    for i in 0..n as usize {
        let e = rva as usize + 4 + i * MODULE_SIZE as usize;
        if let Some(what) = entry_repair(b, e, zero, &mut patches) {
            let base = rd64(b, e).unwrap_or(0);
            bad.push(format!("module {i} at 0x{base:x}: {what}"));
        }
    }
    if !bad.is_empty() {
        let shown: Vec<&str> = bad.iter().take(4).map(String::as_str).collect();
        let more = bad.len().saturating_sub(4);
        notes.push(format!(
            "{}{}",
            shown.join("; "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let summary = format!("{}; {n} of {count} modules recovered", notes.join("; "));
    Some(ModuleRepair {
        patches,
        issue: corrupt(
            ctx,
            format!("damaged module list: {summary}"),
            Some(rva as u64),
        ),
        summary,
    })
}

/// Makes the entry at `e` readable by rust-minidump's own rules; says what was lost. `zero`:
/// an offset in the file holding a zero word, which reads as an empty name.
fn entry_repair(
    b: &[u8],
    e: usize,
    zero: Option<u32>,
    patches: &mut Vec<(usize, u32)>,
) -> Option<&'static str> {
    let name = rd32(b, e + NAME_RVA_AT)?;
    let cv = (rd32(b, e + CV_AT)?, rd32(b, e + CV_AT + 4)?);
    if readable(b, name, cv) {
        return None;
    }
    if readable(b, name, (0, 0)) {
        patches.push((e + CV_AT, 0));
        return Some("debug (CodeView) record unreadable, dropped");
    }
    let (empty, cv_ok) = match zero {
        Some(z) => (z, readable(b, z, cv)),
        None => {
            // No zero word anywhere near the start: the entry's own reserved field, zeroed.
            patches.push((e + RESERVED0_AT, 0));
            ((e + RESERVED0_AT) as u32, false)
        }
    };
    patches.push((e + NAME_RVA_AT, empty));
    if cv_ok {
        return Some("name unreadable");
    }
    patches.push((e + CV_AT, 0));
    Some("name and debug record unreadable")
}

/// Whether rust-minidump reads a module whose name is at `name` and debug record at `cv`.
fn readable(b: &[u8], name: u32, cv: (u32, u32)) -> bool {
    let raw = md::MINIDUMP_MODULE {
        size_of_image: 1,
        module_name_rva: name,
        cv_record: md::MINIDUMP_LOCATION_DESCRIPTOR {
            data_size: cv.0,
            rva: cv.1,
        },
        ..Default::default()
    };
    MinidumpModule::read(raw, b, minidump::Endian::Little, None).is_ok()
}

/// The first aligned zero word in the first 64 KiB (dumps are full of them).
fn zero_word(b: &[u8]) -> Option<u32> {
    b.chunks_exact(4)
        .take(16 * 1024)
        .position(|c| c == [0; 4])
        .map(|i| (i * 4) as u32)
}
