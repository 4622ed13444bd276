//! Judgment over ingested facts: the verdict on every dump, drawn by [`verdict::decide`] from
//! what ingest stored — the crash row, its frames and its threads — and never stored itself. A
//! dataset ingested once is judged again by better rules.

use crate::ingest::dump::DETAIL_SEP;
use crate::knowledge::modules::{ModuleClass, SuspectRole};
use crate::knowledge::verdict::{
    self, Confidence, CrashFacts, Damage, FaultSite, FrameFact, MemoryStats, ThreadStats, Verdict,
};
use crate::tables::{CrashRow, EvidenceSource, FaultKind, FileId, FrameRow, ThreadRow};
use std::collections::HashMap;

/// Said of every 64-bit dump of a 32-bit process.
const WOW64_NOTE: &str = "64-bit dump of a 32-bit (WOW64) process: the stacks show the WOW64 layer, not the 32-bit code; capture 32-bit dumps (procdump without -64) for real stacks";

/// A dump's verdict, and its `detail` with the reasons for the verdict's confidence added.
#[derive(Debug, Clone)]
pub struct Judged {
    /// What the rules concluded.
    pub verdict: Verdict,
    /// The row's detail with `why: …` (the reasons for the verdict's confidence) added.
    pub detail: Option<String>,
}

/// The judgment of each crash row (in order); `None` for events.
pub fn judge_all(
    crashes: &[CrashRow],
    frames: &[FrameRow],
    threads: &[ThreadRow],
) -> Vec<Option<Judged>> {
    let mut frames_of: HashMap<FileId, Vec<&FrameRow>> = HashMap::new();
    for f in frames {
        frames_of.entry(f.file).or_default().push(f);
    }
    let mut threads_of: HashMap<FileId, Vec<&ThreadRow>> = HashMap::new();
    for t in threads {
        threads_of.entry(t.file).or_default().push(t);
    }
    crashes
        .iter()
        .map(|c| {
            (c.source == Some(EvidenceSource::Dump)).then(|| {
                let no_frames = Vec::new();
                let fr = frames_of.get(&c.file).unwrap_or(&no_frames);
                let no_threads = Vec::new();
                let th = threads_of.get(&c.file).unwrap_or(&no_threads);
                judge(c, fr, th)
            })
        })
        .collect()
}

/// The verdict on one dump.
pub fn judge(c: &CrashRow, frames: &[&FrameRow], threads: &[&ThreadRow]) -> Judged {
    let mut v = verdict::decide(&facts(c, frames, threads));
    if c.wow64_view {
        v.why.push(WOW64_NOTE.into());
        if v.confidence == Confidence::High && c.fault_kind != Some(FaultKind::Module) {
            v.confidence = Confidence::Medium;
        }
    }
    if !c.stacks_walked {
        // Without stacks nothing could be walked: never more than medium.
        v.confidence = v.confidence.min(Confidence::Medium);
    }
    let detail = if c.stacks_walked && !v.why.is_empty() {
        let why = format!("why: {}", v.why.join(" / ").replace(DETAIL_SEP, ", "));
        Some(match &c.detail {
            Some(d) => format!("{d}{DETAIL_SEP}{why}"),
            None => why,
        })
    } else {
        c.detail.clone()
    };
    Judged { verdict: v, detail }
}

/// The bucket of an event that names an exception and a module (Application Error 1000, WER
/// 1001): `c0000005_ntdll.dll+0x65553`, shorter when the offset is missing.
fn event_bucket(c: &CrashRow) -> Option<String> {
    if c.source != Some(EvidenceSource::Event) {
        return None;
    }
    let code = c.exception_code?;
    let module = c.faulting_module.as_deref()?.to_ascii_lowercase();
    Some(match c.fault_offset {
        Some(o) => format!("{code:08x}_{module}+0x{o:x}"),
        None => format!("{code:08x}_{module}"),
    })
}

/// What the verdict rules read, rebuilt from the tables.
pub fn facts(c: &CrashRow, frames: &[&FrameRow], threads: &[&ThreadRow]) -> CrashFacts {
    // A hang dump whose exception is the dumper's own break-in is judged as a dump without one.
    let manual = c.kind == crate::tables::CrashKind::Dump;
    CrashFacts {
        code: c.exception_code.filter(|_| !manual),
        info0: c.info0,
        fault: fault_site(c).filter(|_| !manual),
        frames: frames.iter().map(|f| frame_fact(f)).collect(),
        threads: c.threads.map(|n| ThreadStats {
            count: n as usize,
            times: threads
                .iter()
                .filter_map(|t| Some((t.thread_id, t.user_time?, t.kernel_time.unwrap_or(0))))
                .collect(),
            top_modules: threads
                .iter()
                .map(|t| (t.thread_id, t.top_module.clone()))
                .collect(),
        }),
        memory: c.memory_committed.map(|committed| MemoryStats {
            committed,
            reserved: c.memory_reserved.unwrap_or(0),
            private_committed: c.memory_private.unwrap_or(0),
            largest_free: c.memory_largest_free,
            bits32: c.memory_32bit.unwrap_or(false),
        }),
        process: c.process_name.clone(),
        damage: Damage {
            modules: c.damaged_modules.clone(),
            exception: c.damaged_exception.clone(),
            truncated_at: c.truncated_at,
        },
    }
}

fn fault_site(c: &CrashRow) -> Option<FaultSite> {
    let address = c.fault_address?;
    Some(match c.fault_kind? {
        FaultKind::Module => FaultSite::Module {
            name: c.faulting_module.clone().unwrap_or_default(),
            offset: c.fault_offset.unwrap_or(0),
            class: c.fault_class.unwrap_or_default(),
        },
        FaultKind::Unloaded => FaultSite::Unloaded {
            // The row names it "x.dll (unloaded)" for people; the rules want the file name.
            name: c
                .faulting_module
                .as_deref()
                .map(|m| m.strip_suffix(" (unloaded)").unwrap_or(m).to_string())
                .unwrap_or_default(),
            offset: c.fault_offset.unwrap_or(0),
        },
        FaultKind::Dynamic => FaultSite::Dynamic { address },
        FaultKind::NoModule => FaultSite::NoModule {
            address,
            executable: c.fault_executable,
        },
    })
}

fn frame_fact(f: &FrameRow) -> FrameFact {
    let loaded = f.unloaded_module.is_none() && !f.dynamic;
    FrameFact {
        module: f.module.clone().filter(|_| loaded),
        offset: f.module_offset.filter(|_| loaded),
        class: f.class,
        unloaded: f.unloaded_module.clone(),
        dynamic: f.dynamic,
        trust: f.trust,
    }
}

/// The judgments of a table's crash rows, by row index: a verdict for each dump, a failure
/// bucket for each dump and Application Error event.
#[derive(Debug, Clone, Default)]
pub struct Judgments {
    dumps: Vec<Option<Judged>>,
    buckets: Vec<Option<String>>,
}

impl Judgments {
    /// Judges every row of `crashes`.
    pub fn of(crashes: &[CrashRow], frames: &[FrameRow], threads: &[ThreadRow]) -> Self {
        let dumps = judge_all(crashes, frames, threads);
        let buckets = crashes
            .iter()
            .zip(&dumps)
            .map(|(c, d)| match d {
                Some(j) => Some(j.verdict.bucket.clone()),
                None => event_bucket(c),
            })
            .collect();
        Judgments { dumps, buckets }
    }
    /// The judgment of dump row `i`.
    pub fn dump(&self, i: usize) -> Option<&Judged> {
        self.dumps.get(i)?.as_ref()
    }
    fn v(&self, i: usize) -> Option<&Verdict> {
        self.dump(i).map(|j| &j.verdict)
    }
    /// The module the verdict blames (after walking past system code).
    pub fn suspect_module(&self, i: usize) -> Option<&str> {
        self.v(i)?.suspect_module.as_deref()
    }
    /// The suspect module's class.
    pub fn suspect_class(&self, i: usize) -> Option<ModuleClass> {
        self.v(i)?.suspect_class
    }
    /// What the suspect module is to IIS.
    pub fn suspect_role(&self, i: usize) -> Option<SuspectRole> {
        self.v(i)?.suspect_role
    }
    /// The failure bucket (like WinDbg's): `CODE_module+offset`.
    pub fn bucket(&self, i: usize) -> Option<&str> {
        self.buckets.get(i)?.as_deref()
    }
    /// The verdict's sentence: what happened and what to do.
    pub fn text(&self, i: usize) -> Option<&str> {
        self.v(i).map(|v| v.text.as_str())
    }
    /// How sure the verdict is.
    pub fn confidence(&self, i: usize) -> Option<Confidence> {
        self.v(i).map(|v| v.confidence)
    }
    /// The row's detail, with the verdict's reasons when it has a verdict.
    pub fn detail<'a>(&'a self, i: usize, row: &'a CrashRow) -> Option<&'a str> {
        match self.dump(i) {
            Some(j) => j.detail.as_deref(),
            None => row.detail.as_deref(),
        }
    }
}

/// A crash row with its judgment, as the `dump` command and tests read it: the row's facts (by
/// `Deref`) and what the rules concluded. `detail` is the row's, with the verdict's reasons.
#[derive(Debug, Clone)]
pub struct JudgedRow {
    row: CrashRow,
    /// The module the verdict blames.
    pub suspect_module: Option<String>,
    /// Its class.
    pub suspect_class: Option<ModuleClass>,
    /// What it is to IIS.
    pub suspect_role: Option<SuspectRole>,
    /// The failure bucket.
    pub bucket: Option<String>,
    /// The verdict's sentence.
    pub verdict: Option<String>,
    /// How sure the verdict is.
    pub confidence: Option<Confidence>,
    /// The row's detail, with the verdict's reasons.
    pub detail: Option<String>,
}

impl std::ops::Deref for JudgedRow {
    type Target = CrashRow;
    fn deref(&self) -> &CrashRow {
        &self.row
    }
}

/// Every crash row of one parse (or table set), judged.
pub fn judged_rows(
    crashes: &[CrashRow],
    frames: &[FrameRow],
    threads: &[ThreadRow],
) -> Vec<JudgedRow> {
    let j = Judgments::of(crashes, frames, threads);
    crashes
        .iter()
        .enumerate()
        .map(|(i, c)| JudgedRow {
            row: c.clone(),
            suspect_module: j.suspect_module(i).map(str::to_string),
            suspect_class: j.suspect_class(i),
            suspect_role: j.suspect_role(i),
            bucket: j.bucket(i).map(str::to_string),
            verdict: j.text(i).map(str::to_string),
            confidence: j.confidence(i),
            detail: j.detail(i, c).map(str::to_string),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_with_a_code_and_a_module_get_a_bucket() {
        let mut c = CrashRow {
            source: Some(EvidenceSource::Event),
            exception_code: Some(0xc000_0409),
            faulting_module: Some("Foo.dll".into()),
            fault_offset: Some(0x2c5b5),
            ..Default::default()
        };
        let j = Judgments::of(std::slice::from_ref(&c), &[], &[]);
        assert_eq!(j.bucket(0), Some("c0000409_foo.dll+0x2c5b5"));
        assert!(j.dump(0).is_none());
        c.fault_offset = None;
        let j = Judgments::of(std::slice::from_ref(&c), &[], &[]);
        assert_eq!(j.bucket(0), Some("c0000409_foo.dll"));
        c.faulting_module = None;
        assert_eq!(Judgments::of(&[c], &[], &[]).bucket(0), None);
    }
}
