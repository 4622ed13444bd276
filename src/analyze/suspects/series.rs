//! A series of dumps of one worker (`procdump -n 3 -s 10`, DebugDiag's performance rule): the
//! thread whose CPU time grows by about the time between the dumps is spinning; when no thread
//! moves, the worker was waiting (`notes/outages.md` §7.3).

use super::*;
use crate::tables::{FileId, Millis, ThreadRow};

/// Dumps of the incident's worker this close to it belong to its series.
const SERIES_SPAN_MS: Millis = 15 * 60_000;
/// A thread using this share of one processor between the first and last dump is spinning.
const SPINNING: f64 = 0.8;
/// Below this share for every thread, the worker was waiting.
const IDLE: f64 = 0.1;
/// A thread cannot run longer than the time between the dumps (some slack for the clocks).
const MAX_SHARE: f64 = 1.2;

/// What the series says.
pub(super) enum Verdict {
    /// One thread spun: the sentence that decides a runaway thread.
    Spinning(String),
    /// No thread moved: a note.
    Waiting(String),
}

/// The incident's worker's dumps (same server and pid, within 15 minutes), oldest first, one
/// per dump time.
fn dumps_of(t: &Tables, inc: &Incident) -> Vec<(Millis, FileId)> {
    let (Some(pid), Some(Ts(t0))) = (inc.pid, inc.time) else {
        return Vec::new();
    };
    let mut v: Vec<(Millis, FileId)> = t
        .crashes
        .iter()
        .filter(|r| {
            r.source == Some(EvidenceSource::Dump)
                && r.pid == Some(pid)
                && crate::analyze::timeline::server_ok(r.server.as_deref(), inc.server.as_deref())
        })
        .filter_map(|r| r.ts.map(|ts| (ts, r.file)))
        .filter(|(ts, _)| (ts - t0).abs() <= SERIES_SPAN_MS)
        .collect();
    v.sort_unstable();
    v.dedup_by_key(|d| d.0);
    v
}

/// CPU time (user + kernel, 100 ns) of each thread of one dump.
fn cpu_by_thread(t: &Tables, file: FileId) -> HashMap<u32, (u64, &ThreadRow)> {
    t.threads
        .iter()
        .filter(|r| r.file == file)
        .filter_map(|r| {
            let cpu = r.user_time?.saturating_add(r.kernel_time.unwrap_or(0));
            Some((r.thread_id, (cpu, r)))
        })
        .collect()
}

/// Compares the first and the last dump of the series: the thread whose CPU time grew most,
/// as a share of the wall time between them.
pub(super) fn across_dumps(t: &Tables, inc: &Incident) -> Option<Verdict> {
    let dumps = dumps_of(t, inc);
    let (&(t_first, first), &(t_last, last)) = (dumps.first()?, dumps.last()?);
    let wall_ms = t_last - t_first;
    if dumps.len() < 2 || wall_ms < 1000 {
        return None;
    }
    let (before, after) = (cpu_by_thread(t, first), cpu_by_thread(t, last));
    // A thread id seen in both with less CPU in the later dump is a reused id: not compared.
    let (tid, grew, row) = after
        .iter()
        .filter_map(|(id, (cpu, row))| {
            let (old, _) = before.get(id)?;
            cpu.checked_sub(*old).map(|d| (*id, d, *row))
        })
        .max_by_key(|(id, d, _)| (*d, std::cmp::Reverse(*id)))?;
    let cpu_s = grew as f64 / 1e7;
    let wall_s = wall_ms as f64 / 1000.0;
    let share = cpu_s / wall_s;
    let head = format!(
        "across {} dumps of pid {} over {wall_s:.0} s",
        dumps.len(),
        inc.pid.unwrap_or_default()
    );
    if share > MAX_SHARE {
        // More CPU than time: not one process's clock (a reused pid, or a damaged dump).
        return None;
    }
    if share >= SPINNING {
        let module = row
            .top_module
            .as_deref()
            .map_or(String::new(), |m| format!(", in {}", cut(m, 100)));
        Some(Verdict::Spinning(format!(
            "{head}, thread 0x{tid:x} used {cpu_s:.1} s of CPU ({:.0} % of a processor){module}: it is spinning",
            share * 100.0
        )))
    } else if share < IDLE {
        Some(Verdict::Waiting(format!(
            "{head}, no thread used more than {:.0} % of a processor: the worker was waiting, not spinning",
            (share * 100.0).ceil()
        )))
    } else {
        None
    }
}
