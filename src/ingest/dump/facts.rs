//! What the dump reader stores for the verdict rules: the crashing frames' facts, every
//! thread's CPU time and top module, address-space totals, and the fault site on the crash row.

use super::*;
use crate::tables::Millis;

/// Threads: count, CPU times, and what each thread is running (for a runaway thread).
pub(super) fn thread_stats(dump: &Minidump<'_, &[u8]>, state: &ProcessState) -> ThreadStats {
    let thread_infos = dump.get_stream::<MinidumpThreadInfoList>().ok();
    let times: Vec<(u32, u64, u64)> = thread_infos
        .as_ref()
        .map(|l| {
            l.thread_infos
                .iter()
                .map(|t| (t.raw.thread_id, t.raw.user_time, t.raw.kernel_time))
                .collect()
        })
        .unwrap_or_default();
    let top_modules = if times.is_empty() {
        Vec::new()
    } else {
        state
            .threads
            .iter()
            .map(|t| (t.thread_id, top_module(&t.frames)))
            .collect()
    };
    ThreadStats {
        count: state.threads.len(),
        times,
        top_modules,
    }
}

/// The first module on a stack that is not Windows, COM, IIS core or CLR plumbing, else the
/// top frame's module (the first 64 frames).
fn top_module(frames: &[StackFrame]) -> Option<String> {
    let facts: Vec<FrameFact> = frames
        .iter()
        .take(64)
        .map(|f| frame_fact(f, None))
        .collect();
    facts
        .iter()
        .find(|f| f.class.is_some_and(|c| !c.is_skipped_by_verdict()))
        .or(facts.first())
        .and_then(|f| f.module.clone())
}

/// Frames of a thread's stack kept as its signature.
const SIGNATURE_FRAMES: usize = 8;

/// What the threads table keeps of each thread beyond the verdict's facts: its stack's depth
/// and top frames, and its creation time.
pub(super) struct ThreadDetail {
    id: u32,
    depth: u32,
    top_frames: Option<String>,
    top_module: Option<String>,
}

pub(super) fn thread_details(state: &ProcessState) -> Vec<ThreadDetail> {
    state
        .threads
        .iter()
        .map(|t| {
            let sig: Vec<String> = t
                .frames
                .iter()
                .take(SIGNATURE_FRAMES)
                .map(|f| match &f.module {
                    Some(m) => format!(
                        "{}+0x{:x}",
                        basename(&clean(&m.code_file())),
                        f.instruction.saturating_sub(m.raw.base_of_image)
                    ),
                    None => format!("0x{:x}", f.instruction),
                })
                .collect();
            let facts: Vec<FrameFact> = t
                .frames
                .iter()
                .take(64)
                .map(|f| frame_fact(f, None))
                .collect();
            let top_module = facts
                .iter()
                .find(|f| f.class.is_some_and(|c| !c.is_skipped_by_verdict()))
                .or(facts.first())
                .and_then(|f| f.module.clone());
            ThreadDetail {
                id: t.thread_id,
                depth: t.frames.len().min(256) as u32,
                top_frames: (!sig.is_empty()).then(|| sig.join(" < ")),
                top_module,
            }
        })
        .collect()
}

/// The `threads` rows: the ThreadInfoList's threads in its order (with the module each runs and
/// its stack, looked up by id in the ThreadList), then ThreadList threads it does not have.
pub(super) fn thread_rows(
    file: FileId,
    t: &ThreadStats,
    details: &[ThreadDetail],
    created: &[(u32, Option<Millis>)],
    p: &mut Parsed,
) {
    let top = |id: u32| {
        t.top_modules
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, m)| m.clone())
    };
    let detail = |id: u32| details.iter().find(|d| d.id == id);
    let row = |id: u32, times: Option<(u64, u64)>| ThreadRow {
        file,
        thread_id: id,
        user_time: times.map(|x| x.0),
        kernel_time: times.map(|x| x.1),
        top_module: top(id).or_else(|| detail(id).and_then(|d| d.top_module.clone())),
        create_time: created.iter().find(|c| c.0 == id).and_then(|c| c.1),
        depth: detail(id).map(|d| d.depth),
        top_frames: detail(id).and_then(|d| d.top_frames.clone()),
    };
    for &(id, user, kernel) in &t.times {
        p.threads.push(row(id, Some((user, kernel))));
    }
    for d in details {
        if !t.times.iter().any(|x| x.0 == d.id) {
            p.threads.push(row(d.id, None));
        }
    }
}

/// Thread creation times from the ThreadInfoList (FILETIME, UTC).
pub(super) fn thread_created(dump: &Minidump<'_, &[u8]>) -> Vec<(u32, Option<Millis>)> {
    dump.get_stream::<MinidumpThreadInfoList>()
        .ok()
        .map(|l| {
            l.thread_infos
                .iter()
                .map(|t| (t.raw.thread_id, filetime(t.raw.create_time)))
                .collect()
        })
        .unwrap_or_default()
}

/// A FILETIME (100 ns since 1601) → UTC ms; zero or out of range is unknown.
fn filetime(ft: u64) -> Option<Millis> {
    let ms = (ft / 10_000) as i64 - 11_644_473_600_000;
    (ft != 0 && (631_152_000_000..7_258_118_400_000).contains(&ms)).then_some(ms)
}

/// Writes what the verdict rules read into the crash row: the fault, threads, memory, damage.
pub(super) fn set_facts(
    row: &mut CrashRow,
    info0: Option<u64>,
    fault: Option<&FaultSite>,
    fault_ip: Option<u64>,
    threads: Option<&ThreadStats>,
    mem: Option<&MemoryStats>,
    damage: &Damage,
) {
    row.info0 = info0;
    row.fault_address = fault_ip;
    (row.fault_kind, row.fault_class, row.fault_executable) = match fault {
        Some(FaultSite::Module { class, .. }) => (Some(FaultKind::Module), Some(*class), None),
        Some(FaultSite::Unloaded { .. }) => (Some(FaultKind::Unloaded), None, None),
        Some(FaultSite::Dynamic { .. }) => (Some(FaultKind::Dynamic), None, None),
        Some(FaultSite::NoModule { executable, .. }) => {
            (Some(FaultKind::NoModule), None, *executable)
        }
        Some(FaultSite::Unknown) | None => (None, None, None),
    };
    row.threads = threads.and_then(|t| u32::try_from(t.count).ok());
    if let Some(m) = mem {
        row.memory_committed = Some(m.committed);
        row.memory_reserved = Some(m.reserved);
        row.memory_private = Some(m.private_committed);
        row.memory_largest_free = m.largest_free;
        row.memory_32bit = Some(m.bits32);
    }
    row.damaged_modules = damage.modules.clone();
    row.damaged_exception = damage.exception.clone();
    row.truncated_at = damage.truncated_at;
}

pub(super) fn wow64(cpu: Cpu, modules: &MinidumpModuleList) -> (bool, bool) {
    // (process is 32-bit on 64-bit Windows, dump is the 64-bit view of it)
    let mut syswow = false;
    let mut wow64cpu = false;
    for m in modules.iter() {
        let f = m.code_file().to_ascii_lowercase();
        if f.contains(r"\syswow64\") {
            syswow = true;
        }
        let b = basename(&f);
        if b == "wow64cpu.dll" || b == "wow64.dll" || b == "wow64win.dll" {
            wow64cpu = true;
        }
    }
    match cpu {
        Cpu::X86_64 => (wow64cpu, wow64cpu),
        Cpu::X86 => (syswow || wow64cpu, false),
        _ => (false, false),
    }
}

pub(super) fn memory_stats<'a>(
    dump: &'a Minidump<'a, &'a [u8]>,
    bits32: bool,
) -> (Option<MemoryStats>, Option<MinidumpMemoryInfoList<'a>>) {
    let Ok(list) = dump.get_stream::<MinidumpMemoryInfoList>() else {
        return (None, None);
    };
    let mut s = MemoryStats {
        bits32,
        ..Default::default()
    };
    let mut any_free = false;
    let mut largest_free = 0u64;
    for r in list.iter() {
        let size = r.raw.region_size;
        match r.raw.state {
            MEM_COMMIT => {
                s.committed = s.committed.saturating_add(size);
                if r.raw._type == MEM_PRIVATE {
                    s.private_committed = s.private_committed.saturating_add(size);
                }
            }
            MEM_RESERVE => s.reserved = s.reserved.saturating_add(size),
            // In a 32-bit process only the low 4 GiB are usable.
            MEM_FREE if !bits32 || r.raw.base_address < 1 << 32 => {
                any_free = true;
                largest_free = largest_free.max(size);
            }
            _ => {}
        }
    }
    if any_free {
        s.largest_free = Some(largest_free);
    }
    (Some(s), Some(list))
}

/// The facts of the frames kept (the first [`MAX_FRAMES`]).
pub(super) fn frame_facts<'a>(
    frames: &'a [StackFrame],
    mem: Option<&'a MinidumpMemoryInfoList<'_>>,
) -> impl Iterator<Item = FrameFact> + 'a {
    frames
        .iter()
        .take(MAX_FRAMES)
        .map(move |f| frame_fact(f, mem))
}

pub(super) fn frame_fact(f: &StackFrame, mem: Option<&MinidumpMemoryInfoList<'_>>) -> FrameFact {
    let (module, offset, class) = match &f.module {
        Some(m) => {
            let path = clean(&m.code_file());
            let c = classify(&path);
            (
                Some(basename(&path).to_string()),
                f.instruction.checked_sub(m.raw.base_of_image),
                Some(c),
            )
        }
        None => (None, None, None),
    };
    let unloaded = if module.is_none() {
        f.unloaded_modules
            .keys()
            .next()
            .map(|n| basename(&clean(n)).to_string())
    } else {
        None
    };
    let dynamic = module.is_none()
        && unloaded.is_none()
        && mem
            .and_then(|l| l.memory_info_at_address(f.instruction))
            .is_some_and(|r| {
                r.is_executable() && r.raw._type == MEM_PRIVATE && r.raw.state == MEM_COMMIT
            });
    FrameFact {
        module,
        offset,
        class,
        unloaded,
        dynamic,
        trust: frame_trust(f.trust),
    }
}

/// Our name for rust-minidump's frame trust.
pub(super) fn frame_trust(t: minidump_unwind::FrameTrust) -> FrameTrust {
    use minidump_unwind::FrameTrust as T;
    match t {
        T::None => FrameTrust::None,
        T::Scan => FrameTrust::Scan,
        T::CfiScan => FrameTrust::CfiScan,
        T::FramePointer => FrameTrust::FramePointer,
        T::CallFrameInfo => FrameTrust::Cfi,
        T::PreWalked => FrameTrust::PreWalked,
        T::Context => FrameTrust::Context,
    }
}

/// A dumper's own break-in, not a crash: a breakpoint (`0x80000003`) on a thread with only a
/// few frames, all in Windows core modules (`DbgUiRemoteBreakin` → `DbgBreakPoint` on the
/// thread the dumper injected; `notes/outages.md` §7.3). A `DebugBreak` in code has the code's
/// own modules on its stack.
pub(super) fn is_break_in(code: Option<u32>, frames: &[StackFrame]) -> bool {
    code == Some(0x8000_0003)
        && !frames.is_empty()
        && frames.len() <= 6
        && frames.iter().all(|f| {
            frame_fact(f, None).class == Some(crate::knowledge::modules::ModuleClass::OsCore)
        })
}
