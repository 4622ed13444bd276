//! The per-dump verdict: which module to blame, how sure we are, and what to do next.
//!
//! Modelled on WinDbg `!analyze` (walk down from the faulting frame past modules marked "ignore"
//! in triage.ini to the first owner that is not) and DebugDiag's crash rules (heap corruption →
//! PageHeap; unloaded module → name it; managed exception → SOS). The input is plain facts, not
//! rust-minidump types, so the rules are testable and reusable for event-log evidence.

use super::exceptions::{self, ExceptionKind};
use super::modules::{ModuleClass, SuspectRole, caller_role, is_transit, known_vendor};
use crate::tables::FrameTrust;
use serde::Serialize;

named_enum! {
    /// How sure the verdict is.
    pub enum Confidence {
        /// A guess: say so in the report.
        Low = "low",
        /// Likely, with a gap in the evidence.
        Medium = "medium",
        /// The evidence points one way.
        High = "high",
    }
}

impl Confidence {
    /// One step less sure.
    pub fn lower(self) -> Confidence {
        match self {
            Confidence::High => Confidence::Medium,
            _ => Confidence::Low,
        }
    }
}

/// Where the exception address (or frame 0's instruction) lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultSite {
    /// Inside a loaded module.
    Module {
        /// Its file name.
        name: String,
        /// Offset of the fault in it.
        offset: u64,
        /// Its class.
        class: ModuleClass,
    },
    /// Inside the old range of a module that was unloaded: a call into a freed DLL.
    Unloaded {
        /// Its file name.
        name: String,
        /// Offset of the fault in its old range.
        offset: u64,
    },
    /// Executable private memory that belongs to no module: JIT-compiled or generated code.
    Dynamic {
        /// The fault address.
        address: u64,
    },
    /// Memory that is not code (stack, heap) or not described by the dump.
    NoModule {
        /// The fault address.
        address: u64,
        /// Whether that memory is executable (null: not described by the dump).
        executable: Option<bool>,
    },
    /// No exception, or no address at all.
    Unknown,
}

/// One frame of the crashing stack as the verdict sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameFact {
    /// Module file name (basename), when the instruction lies in a loaded module.
    pub module: Option<String>,
    /// Offset in the module.
    pub offset: Option<u64>,
    /// The module's class.
    pub class: Option<ModuleClass>,
    /// Name of an unloaded module whose old range holds the instruction.
    pub unloaded: Option<String>,
    /// The instruction lies in executable private memory (JIT code).
    pub dynamic: bool,
    /// How the frame was found.
    pub trust: FrameTrust,
}

impl FrameFact {
    fn weak(&self) -> bool {
        self.trust.is_scan()
    }
}

/// Thread-level evidence (ThreadList / ThreadInfoList).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ThreadStats {
    /// Threads in the thread list.
    pub count: usize,
    /// Present when the dump has a ThreadInfoList: (thread id, user time, kernel time), 100 ns units.
    pub times: Vec<(u32, u64, u64)>,
    /// The module at the top of each thread's stack (first non-system module), by thread id.
    pub top_modules: Vec<(u32, Option<String>)>,
}

/// Address-space evidence (MemoryInfoList).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStats {
    /// Committed bytes.
    pub committed: u64,
    /// Reserved bytes.
    pub reserved: u64,
    /// Private committed memory (heaps, JIT, stacks).
    pub private_committed: u64,
    /// Largest free region, when the dump lists free regions.
    pub largest_free: Option<u64>,
    /// The process has a 32-bit address space (x86, or WOW64).
    pub bits32: bool,
}

/// What is wrong with a dump that still gets read: the verdict must not be drawn as if it were
/// whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Damage {
    /// The module list is damaged: what was lost (modules, names, debug records).
    pub modules: Option<String>,
    /// The exception stream is there but unreadable: a crash whose exception is unknown, never
    /// a "manual dump".
    pub exception: Option<String>,
    /// The file ends before data its directory points to: the byte where it ends.
    pub truncated_at: Option<u64>,
}

/// Everything the rules look at.
#[derive(Debug, Clone, Default)]
pub struct CrashFacts {
    /// None: the dump has no exception stream (manual or hang dump).
    pub code: Option<u32>,
    /// `exception_information[0]` (AV access kind, fast-fail subcode).
    pub info0: Option<u64>,
    /// Where the exception address lies.
    pub fault: Option<FaultSite>,
    /// Crashing thread, frame 0 first.
    pub frames: Vec<FrameFact>,
    /// Threads (null: none read).
    pub threads: Option<ThreadStats>,
    /// Address space (null: no MemoryInfoList).
    pub memory: Option<MemoryStats>,
    /// The process's main module (`w3wp.exe`), for buckets of dumps without a fault.
    pub process: Option<String>,
    /// What of the dump could not be read.
    pub damage: Damage,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The module to blame.
    pub suspect_module: Option<String>,
    /// Its class.
    pub suspect_class: Option<ModuleClass>,
    /// What the suspect is to IIS (third-party and JIT suspects only), see [`infer_role`].
    pub suspect_role: Option<SuspectRole>,
    /// The failure bucket: `CODE_module+offset`, like WinDbg's.
    pub bucket: String,
    /// One or two sentences: what happened and what to do.
    pub text: String,
    /// How sure.
    pub confidence: Confidence,
    /// Why this confidence (each reason that raised or lowered it).
    pub why: Vec<String>,
    /// Server failure modes seen in the dump (threads, CPU, memory), each one sentence.
    pub findings: Vec<String>,
}

/// Thread count above which a w3wp is in trouble (healthy pools run tens of threads; thread
/// pool starvation and blocked requests pile them up into the hundreds).
pub const HIGH_THREAD_COUNT: usize = 250;
/// One thread owning at least this share of all user CPU time is a runaway.
pub const RUNAWAY_SHARE: f64 = 0.5;
/// …and it must have burned at least this much (100 ns units = 10 s), or it is noise.
pub const RUNAWAY_MIN_USER: u64 = 100_000_000;
/// A 32-bit process using this much of its (2 GiB default) address space is near exhaustion.
pub const ADDRESS_SPACE_32_LIMIT: u64 = 1_700 * 1024 * 1024;

const PAGEHEAP: &str = "enable full PageHeap for w3wp.exe (gflags /p /enable w3wp.exe /full) and capture the next crash with procdump -ma -e w3wp.exe";

fn describe(name: &str, class: ModuleClass) -> String {
    match known_vendor(name) {
        Some(k) => format!("{name} ({} {}, {})", k.vendor, k.product, k.role),
        None => format!("{name} ({})", class.label()),
    }
}

fn who_to_contact(name: &str, class: ModuleClass) -> String {
    if let Some(k) = known_vendor(name) {
        return format!(
            "send the dump to {} ({} support) and check for an update of {name}",
            k.vendor, k.product
        );
    }
    match class {
        ModuleClass::ThirdParty => format!("send the dump to the vendor of {name} (the team that ships it) and check for an update"),
        ModuleClass::DynamicCode => "inspect the managed side with SOS (!pe, !clrstack) and the .NET Runtime 1026 event at the same time".into(),
        ModuleClass::AspnetHost | ModuleClass::Clr => {
            format!("check the installed .NET / ASP.NET Core Module version and known issues of {name}; open a Microsoft support case with the full dump")
        }
        _ => format!("check configuration and updates of {name}; open a Microsoft support case with a full dump if it repeats"),
    }
}

/// The first frame (from `start`) worth blaming: third party first, then IIS/ASP add-ons, then
/// other Windows components; dynamic (JIT) frames count as managed code.
fn walk(frames: &[FrameFact], start: usize) -> Option<(usize, String, ModuleClass)> {
    let candidates = frames.iter().enumerate().skip(start).filter_map(|(i, f)| {
        if let Some(u) = &f.unloaded {
            return Some((i, u.clone(), ModuleClass::ThirdParty));
        }
        if f.dynamic {
            return Some((i, "JIT/dynamic code".to_string(), ModuleClass::DynamicCode));
        }
        Some((i, f.module.clone()?, f.class?))
    });
    let all: Vec<_> = candidates.collect();
    for min in [5u8, 2, 1] {
        if let Some(c) = all
            .iter()
            .find(|(_, _, class)| class.suspect_weight() >= min)
        {
            return Some(c.clone());
        }
    }
    None
}

fn bucket(code: u32, info0: Option<u64>, module: Option<&str>, offset: Option<u64>) -> String {
    let token = exceptions::bucket_token(code, info0);
    match (module, offset) {
        (Some(m), Some(o)) => format!("{code:08x}_{token}_{m}+0x{o:x}"),
        (Some(m), None) => format!("{code:08x}_{token}_{m}"),
        _ => format!("{code:08x}_{token}_unknown"),
    }
}

fn server_findings(f: &CrashFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = &f.threads {
        if t.count >= HIGH_THREAD_COUNT {
            out.push(format!(
                "very high thread count ({} threads): requests were piling up (blocked on a lock, a slow back end or thread-pool starvation)",
                t.count
            ));
        }
        let total: u64 = t.times.iter().map(|x| x.1).sum();
        if t.times.len() >= 2
            && total > 0
            && let Some(top) = t.times.iter().max_by_key(|x| x.1)
        {
            let share = top.1 as f64 / total as f64;
            if share >= RUNAWAY_SHARE && top.1 >= RUNAWAY_MIN_USER {
                let module = t
                    .top_modules
                    .iter()
                    .find(|(id, _)| *id == top.0)
                    .and_then(|(_, m)| m.clone())
                    .map(|m| format!(", running in {m}"))
                    .unwrap_or_default();
                out.push(format!(
                    "runaway thread 0x{:x}: {:.0}% of all user CPU time ({:.1} s){module}",
                    top.0,
                    share * 100.0,
                    top.1 as f64 / 1e7
                ));
            }
        }
    }
    if let Some(m) = &f.memory {
        let used = m.committed + m.reserved;
        if m.bits32 && used >= ADDRESS_SPACE_32_LIMIT {
            out.push(format!(
                "32-bit address space nearly exhausted ({} MiB reserved+committed): allocations fail; move the pool to 64-bit or find the leak",
                used >> 20
            ));
        } else if m.bits32 && m.largest_free.is_some_and(|l| l < 64 << 20) {
            out.push(format!(
                "32-bit address space fragmented: largest free block {} MiB",
                m.largest_free.unwrap_or(0) >> 20
            ));
        }
    }
    out
}

/// Decides the verdict for one dump.
pub fn decide(f: &CrashFacts) -> Verdict {
    if f.code.is_none()
        && let Some(why) = &f.damage.exception
    {
        return damaged_exception(f, why);
    }
    let mut v = decide_whole(f);
    if let Some(lost) = &f.damage.modules {
        let no_module = matches!(f.fault, Some(FaultSite::NoModule { .. }));
        if no_module {
            // Not a corrupt return address: the list that would place the address is broken.
            v.why
                .retain(|w| !w.starts_with("the instruction pointer is in no module"));
        }
        v.why
            .push(format!("the dump's module list is damaged ({lost})"));
        if no_module {
            v.text.push_str(" The dump's module list is damaged, so the address cannot be placed in a module: this is no evidence of stack corruption.");
        }
        v.confidence = Confidence::Low;
    }
    if let Some(end) = f.damage.truncated_at {
        v.why.push(format!(
            "the dump is truncated (the file ends at byte {end}): stacks may be cut short"
        ));
        v.text.push_str(&format!(
            " The dump is truncated at byte {end}: its stacks may be cut short; capture a complete dump."
        ));
        v.confidence = v.confidence.lower();
    }
    v
}

/// The dump was written at an exception, but its record cannot be read: a crash of unknown
/// cause, never a manual dump.
fn damaged_exception(f: &CrashFacts, why: &str) -> Verdict {
    let process = f.process.clone().unwrap_or_else(|| "process".into());
    Verdict {
        suspect_module: None,
        suspect_class: None,
        suspect_role: None,
        bucket: format!("DAMAGED_EXCEPTION_STREAM_{process}"),
        text: format!(
            "A crash dump of {process} whose exception stream is damaged: what ended the process cannot be read from it. Find the exception in the Application Error 1000 / WER 1001 events of the same time, and capture the next crash with procdump -ma -e w3wp.exe."
        ),
        confidence: Confidence::Low,
        why: vec![why.to_string()],
        findings: Vec::new(),
    }
}

fn decide_whole(f: &CrashFacts) -> Verdict {
    let findings = server_findings(f);
    let Some(code) = f.code else {
        return no_exception(f, findings);
    };
    let kind = exceptions::kind(code);
    let fault = f.fault.clone().unwrap_or(FaultSite::Unknown);
    let (m0, off0, class0) = match &fault {
        FaultSite::Module {
            name,
            offset,
            class,
        } => (Some(name.clone()), Some(*offset), Some(*class)),
        _ => (None, None, None),
    };
    let access = f.info0.map(exceptions::access_kind);
    let what = match kind {
        ExceptionKind::AccessViolation => format!(
            "an access violation ({})",
            access.unwrap_or("unknown access")
        ),
        _ => exceptions::lookup(code)
            .map_or_else(|| format!("exception 0x{code:08x}"), |e| e.name.to_string()),
    };
    let finish = |mut v: Verdict| {
        if !v.findings.is_empty() {
            v.text.push_str(" Also: ");
            v.text.push_str(&v.findings.join("; "));
            v.text.push('.');
        }
        v
    };
    let c = Ctx {
        f,
        code,
        kind,
        fault,
        m0,
        off0,
        class0,
        what,
    };
    let mut v = rule_unloaded(&c)
        .or_else(|| rule_heap(&c))
        .or_else(|| rule_stack_overflow(&c))
        .or_else(|| rule_jit(&c))
        .unwrap_or_else(|| rule_module(&c));
    v.findings = findings;
    finish(v)
}

/// What every rule reads: the facts and the exception, where it lies, and how to name it.
struct Ctx<'a> {
    f: &'a CrashFacts,
    code: u32,
    kind: ExceptionKind,
    fault: FaultSite,
    m0: Option<String>,
    off0: Option<u64>,
    class0: Option<ModuleClass>,
    what: String,
}

/// A call into an unloaded module: name it, whatever the code.
fn rule_unloaded(c: &Ctx) -> Option<Verdict> {
    let f = c.f;
    let code = c.code;
    let fault = &c.fault;
    let what = &c.what;
    let mut why: Vec<String> = Vec::new();
    let unloaded = match &fault {
        FaultSite::Unloaded { name, offset } => Some((name.clone(), Some(*offset))),
        _ => f
            .frames
            .first()
            .and_then(|fr| fr.unloaded.clone())
            .map(|n| (n, None)),
    };
    if let Some((name, off)) = unloaded {
        why.push(format!(
            "the faulting instruction lies in the old range of unloaded {name}"
        ));
        let role = role_for(f, Some(&name), Some(ModuleClass::ThirdParty)).map(|r| {
            // No host on the stack: being unloaded at all says COM in-process server.
            match r.source {
                RoleSource::Unknown { .. } if r.role == SuspectRole::NativeModule => RoleFinding {
                    role: SuspectRole::ComObject,
                    source: RoleSource::Unloaded,
                },
                _ => r,
            }
        });
        let mut conf = Confidence::High;
        let what_it_was = match role.as_ref().map(|r| (r.role, &r.source)) {
            Some((r, RoleSource::Caller { who, .. })) => {
                format!("{} {}, called by {who}", article(r.label()), r.label())
            }
            Some((r, RoleSource::KnownName { .. })) => {
                format!("{} {}", article(r.label()), r.label())
            }
            Some((r, RoleSource::Unloaded)) => format!(
                "{} {}, unloaded by COM (CoFreeUnusedLibraries) while something still held a pointer into it",
                article(r.label()),
                r.label()
            ),
            _ => "ISAPI filter/extension or COM component".to_string(),
        };
        if let Some(r) = &role {
            why.push(role_why(&name, r));
            if matches!(r.source, RoleSource::Unknown { on_stack: true, .. }) {
                conf = conf.lower();
            }
        }
        return Some(Verdict {
            suspect_module: Some(name.clone()),
            suspect_class: Some(ModuleClass::ThirdParty),
            suspect_role: role.map(|r| r.role),
            bucket: bucket(code, f.info0, Some(&format!("unloaded_{name}")), off),
            text: format!(
                "{what} calling into {name} after it was unloaded: something kept a pointer (callback, COM object, filter) into the DLL. \
                 Find who loads and frees {name} ({what_it_was}) and send the dump to its vendor."
            ),
            confidence: conf,
            why,
            findings: Vec::new(),
        });
    }
    None
}

/// Heap corruption: the stack is a victim.
fn rule_heap(c: &Ctx) -> Option<Verdict> {
    let f = c.f;
    let code = c.code;
    let kind = c.kind;
    let m0 = &c.m0;
    let mut why: Vec<String> = Vec::new();
    let heap = kind == ExceptionKind::HeapCorruption
        || (kind == ExceptionKind::FailFast && matches!(f.info0, Some(3 | 35 | 50)));
    if heap {
        let cand = walk(&f.frames, 0);
        let others: Vec<String> = {
            let mut v: Vec<String> = f
                .frames
                .iter()
                .filter_map(|fr| {
                    fr.module
                        .clone()
                        .filter(|_| fr.class.is_some_and(|c| c.suspect_weight() >= 2))
                })
                .collect();
            v.dedup();
            v
        };
        why.push(
            "heap corruption is detected long after it happens: the crashing stack is a victim"
                .into(),
        );
        let (sm, sc) = cand
            .as_ref()
            .map_or((None, None), |c| (Some(c.1.clone()), Some(c.2)));
        let on_stack = if others.is_empty() {
            String::new()
        } else {
            format!(
                " Non-system code on the crashing stack: {}.",
                others.join(", ")
            )
        };
        let role = role_for(f, sm.as_deref(), sc);
        if let (Some(r), Some(s)) = (&role, &sm) {
            why.push(role_why(s, r));
        }
        return Some(Verdict {
            bucket: bucket(code, f.info0, sm.as_deref().or(m0.as_deref()), None),
            suspect_module: sm,
            suspect_class: sc,
            suspect_role: role.map(|r| r.role),
            text: format!(
                "Heap corruption detected{}; the crashing stack only shows the victim.{on_stack} To catch the code that corrupts the heap, {PAGEHEAP}.",
                m0.as_deref()
                    .map(|m| format!(" in {m}"))
                    .unwrap_or_default()
            ),
            confidence: Confidence::Low,
            why,
            findings: Vec::new(),
        });
    }
    None
}

/// Stack overflow: the most repeated frame.
fn rule_stack_overflow(c: &Ctx) -> Option<Verdict> {
    let f = c.f;
    let code = c.code;
    let kind = c.kind;
    let m0 = &c.m0;
    let off0 = c.off0;
    let class0 = c.class0;
    let mut why: Vec<String> = Vec::new();
    if kind == ExceptionKind::StackOverflow {
        let mut counts: Vec<((String, u64), usize, ModuleClass, bool)> = Vec::new();
        for fr in &f.frames {
            if let (Some(m), Some(o), Some(c)) = (&fr.module, fr.offset, fr.class) {
                match counts.iter_mut().find(|x| x.0.0 == *m && x.0.1 == o) {
                    Some(x) => x.1 += 1,
                    None => counts.push(((m.clone(), o), 1, c, fr.weak())),
                }
            }
        }
        // Prefer non-system code among the repeated frames; ties go to the innermost.
        let best = counts
            .iter()
            .filter(|x| x.1 > 1)
            .max_by_key(|x| (!x.2.is_skipped_by_verdict(), x.1))
            .or_else(|| counts.iter().max_by_key(|x| x.1));
        let (sm, so, sc, n) = match best {
            Some(b) => (Some(b.0.0.clone()), Some(b.0.1), Some(b.2), b.1),
            None => (m0.clone(), off0, class0, 0),
        };
        let mut conf = if n >= 10 {
            Confidence::High
        } else if n >= 3 {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        if sc.is_some_and(|c| c.is_skipped_by_verdict()) {
            conf = conf.lower();
            why.push(
                "the repeating frame is system code; the recursion's owner may be further down"
                    .into(),
            );
        }
        why.push(format!(
            "{} repeats {n} times on the crashing stack",
            sm.as_deref().unwrap_or("no frame")
        ));
        // The recursion's caller is often cut off (MAX_FRAMES): an unknown role lowers nothing here.
        let role = role_for(f, sm.as_deref(), sc);
        if let (Some(r), Some(s)) = (&role, &sm) {
            why.push(role_why(s, r));
        }
        let name = sm.clone().unwrap_or_else(|| "an unknown module".into());
        return Some(Verdict {
            bucket: bucket(code, f.info0, sm.as_deref(), so),
            suspect_class: sc,
            suspect_role: role.map(|r| r.role),
            text: format!(
                "Stack overflow: {} repeats {n} times on the crashing stack (unbounded recursion or large stack buffers). {}.",
                sm.as_deref()
                    .zip(so)
                    .map_or(name.clone(), |(m, o)| format!("{m}+0x{o:x}")),
                capitalise(&who_to_contact(&name, sc.unwrap_or(ModuleClass::Unknown)))
            ),
            suspect_module: sm,
            confidence: conf,
            why,
            findings: Vec::new(),
        });
    }
    None
}

/// JIT / dynamic code at the fault.
fn rule_jit(c: &Ctx) -> Option<Verdict> {
    let f = c.f;
    let code = c.code;
    let fault = &c.fault;
    let what = &c.what;
    let mut why: Vec<String> = Vec::new();
    if let FaultSite::Dynamic { address } = fault {
        why.push(format!("the fault address 0x{address:x} is executable private memory owned by no module (JIT code)"));
        return Some(Verdict {
            suspect_module: Some("JIT/dynamic code".into()),
            suspect_class: Some(ModuleClass::DynamicCode),
            suspect_role: Some(SuspectRole::ManagedCode),
            bucket: bucket(code, f.info0, Some("JIT"), None),
            text: format!(
                "{} in JIT-compiled (managed) or generated code. Inspect the managed stack with SOS (!pe, !clrstack) on a full dump (procdump -ma -e w3wp.exe) and check the .NET Runtime 1026 event at the same time.",
                capitalise(what)
            ),
            confidence: Confidence::Medium,
            why,
            findings: Vec::new(),
        });
    }
    None
}

/// The faulting module, or the first one past system code.
fn rule_module(c: &Ctx) -> Verdict {
    let f = c.f;
    let code = c.code;
    let kind = c.kind;
    let fault = &c.fault;
    let m0 = &c.m0;
    let what = &c.what;
    let mut why: Vec<String> = Vec::new();
    let (sm, so, sc, frame_used, mut conf) = pick_suspect(c, &mut why);
    let off0 = c.off0;
    if matches!(fault, FaultSite::NoModule { .. }) {
        why.push("the instruction pointer is in no module (stack or heap): a corrupt return address or function pointer".into());
        conf = conf.min(Confidence::Low);
    }
    if kind == ExceptionKind::FailFast && conf == Confidence::High {
        conf = Confidence::Medium;
    }
    let role = role_for(f, sm.as_deref(), sc);
    if let (Some(r), Some(s)) = (&role, &sm) {
        why.push(role_why(s, r));
        if matches!(r.source, RoleSource::Unknown { on_stack: true, .. }) {
            conf = conf.lower();
        }
    }
    let name = sm.clone().unwrap_or_else(|| "an unknown module".into());
    let class = sc.unwrap_or(ModuleClass::Unknown);
    let described = |s: &str| match &role {
        Some(r) => describe_role(s, class, r),
        None => describe(s, class),
    };
    let place = match (&m0, off0) {
        (Some(m), Some(o)) => format!("{m}+0x{o:x}"),
        _ => match &fault {
            FaultSite::NoModule { address, .. } => format!("0x{address:x} (no module)"),
            _ => "an unknown address".into(),
        },
    };
    let mut text = format!("{} at {place}", capitalise(what));
    match (frame_used, &sm) {
        (Some(i), Some(s)) if Some(s) != m0.as_ref() => {
            text.push_str(&format!(", reached from frame {i}: {}", described(s)));
        }
        (None, Some(s)) => text.push_str(&format!(" in {}", described(s))),
        _ => {}
    }
    text.push('.');
    if let Some(sub) = f
        .info0
        .filter(|_| kind == ExceptionKind::FailFast)
        .and_then(exceptions::fast_fail)
    {
        text.push_str(&format!(" Fail-fast reason: {} ({}).", sub.0, sub.1));
    }
    let advice = match kind {
        ExceptionKind::InPageError => exceptions::lookup(code).map_or_else(String::new, |e| e.advice.to_string()),
        ExceptionKind::OutOfMemory => exceptions::lookup(code).map_or_else(String::new, |e| e.advice.to_string()),
        ExceptionKind::ClrException if class == ModuleClass::DynamicCode || class.is_skipped_by_verdict() => {
            "find the exception type and stack in the .NET Runtime 1026 event or with SOS (!pe) on a full dump".into()
        }
        _ => who_to_contact(&name, class),
    };
    if !advice.is_empty() {
        text.push(' ');
        text.push_str(&capitalise(&advice));
        text.push('.');
    }
    Verdict {
        bucket: bucket(code, f.info0, sm.as_deref(), so),
        suspect_module: sm,
        suspect_class: sc,
        suspect_role: role.map(|r| r.role),
        text,
        confidence: conf,
        why,
        findings: Vec::new(),
    }
}

/// The suspect of the faulting-module rule: the faulting module itself when it is one to blame
/// (third-party code at an access violation and the like), else the first module past system
/// code on the stack, else the faulting module with low confidence. Returns (module, offset,
/// class, the frame it was found at, confidence).
type Pick = (
    Option<String>,
    Option<u64>,
    Option<ModuleClass>,
    Option<usize>,
    Confidence,
);

fn pick_suspect(c: &Ctx, why: &mut Vec<String>) -> Pick {
    let (f, kind, m0, off0, class0) = (c.f, c.kind, &c.m0, c.off0, c.class0);
    let must_walk = matches!(
        kind,
        ExceptionKind::CppException
            | ExceptionKind::ClrException
            | ExceptionKind::Breakpoint
            | ExceptionKind::Rpc
    ) || class0.is_none_or(|c| c.is_skipped_by_verdict() || c.suspect_weight() < 5);
    let mut conf;
    let (sm, so, sc, frame_used) = if !must_walk {
        why.push(format!(
            "the exception address lies in {} itself",
            m0.as_deref().unwrap_or("?")
        ));
        conf = match kind {
            ExceptionKind::AccessViolation
            | ExceptionKind::InPageError
            | ExceptionKind::DivideByZero
            | ExceptionKind::IllegalInstruction
            | ExceptionKind::InvalidParameter => Confidence::High,
            _ => Confidence::Medium,
        };
        (m0.clone(), off0, class0, None)
    } else {
        match walk(&f.frames, 0) {
            Some((i, name, class)) if class.suspect_weight() >= 2 || class0.is_none() => {
                let fr = &f.frames[i];
                if Some(&name) != m0.as_ref() && m0.is_some() {
                    why.push(format!(
                        "the fault is in {} ({}); walked the stack to frame {i}, the first non-system module",
                        m0.as_deref().unwrap_or("?"),
                        class0.map_or("?", |c| c.label())
                    ));
                } else {
                    why.push(format!(
                        "frame {i} is the first non-system module on the stack"
                    ));
                }
                conf = if class.is_third_party() {
                    Confidence::Medium
                } else {
                    Confidence::Low
                };
                if fr.weak() {
                    conf = conf.lower();
                    why.push(format!(
                        "frame {i} was found by stack scanning (weak evidence)"
                    ));
                }
                (Some(name), fr.offset, Some(class), Some(i))
            }
            _ => {
                // Only system code on the stack: blame the faulting module, with low confidence.
                why.push("no non-system module on the crashing stack".into());
                conf = if class0.is_some_and(|c| c.suspect_weight() >= 2) {
                    Confidence::Medium
                } else {
                    Confidence::Low
                };
                (m0.clone(), off0, class0, None)
            }
        }
    };
    (sm, so, sc, frame_used, conf)
}

fn no_exception(f: &CrashFacts, findings: Vec<String>) -> Verdict {
    let process = f.process.clone().unwrap_or_else(|| "process".into());
    let mut why = vec!["the dump has no exception stream: it was taken on demand (hang or manual dump), not at a crash".into()];
    // A runaway thread names a module when we know what it was running.
    let runaway_module = f.threads.as_ref().and_then(|t| {
        let top = t.times.iter().max_by_key(|x| x.1)?;
        let total: u64 = t.times.iter().map(|x| x.1).sum();
        (total > 0 && top.1 as f64 / total as f64 >= RUNAWAY_SHARE && top.1 >= RUNAWAY_MIN_USER)
            .then(|| {
                t.top_modules
                    .iter()
                    .find(|(id, _)| *id == top.0)
                    .and_then(|(_, m)| m.clone())
            })
            .flatten()
    });
    let (text, conf, tag) = if findings.is_empty() {
        (
            format!(
                "No exception: a manual or hang dump of {process}. Nothing crashed in it; look at the thread stacks for what they wait on, or capture crash dumps with procdump -ma -e w3wp.exe."
            ),
            Confidence::Low,
            "NO_EXCEPTION",
        )
    } else {
        why.push("server failure evidence in the dump".into());
        (
            format!(
                "No exception (hang or manual dump of {process}), but: {}.",
                findings.join("; ")
            ),
            Confidence::Medium,
            if runaway_module.is_some() {
                "RUNAWAY_THREAD"
            } else {
                "HANG"
            },
        )
    };
    let suspect = runaway_module.clone();
    let class = suspect.as_deref().map(super::modules::classify);
    // No crashing stack: the role comes from the module's name, if anything.
    let role = role_for(f, suspect.as_deref(), class);
    if let (Some(r), Some(s)) = (&role, &suspect) {
        why.push(role_why(s, r));
    }
    Verdict {
        suspect_class: class,
        suspect_role: role.map(|r| r.role),
        bucket: format!("{tag}_{}", suspect.as_deref().unwrap_or(&process)),
        suspect_module: suspect,
        text,
        confidence: conf,
        why,
        findings,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

mod role;
pub use role::*;

#[cfg(test)]
mod tests;
