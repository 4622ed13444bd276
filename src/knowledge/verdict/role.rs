//! What a suspect is to IIS, read from who calls it on the crashing stack — the way an admin
//! reads `kb` — else from the known-module table by name.

use super::*;

/// How the suspect's role was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// The first host frame below the suspect's own frames (`frame`), described by `who`
    /// ("IIS's ISAPI filter host filter.dll"); `via` lists third-party / runtime modules passed on
    /// the way; `weak` when that frame was found by stack scanning.
    Caller {
        /// The caller's frame number.
        frame: usize,
        /// Who calls it.
        who: String,
        /// Third-party or runtime modules passed on the way.
        via: Vec<String>,
        /// That frame was found by stack scanning.
        weak: bool,
    },
    /// The fault is in JIT-compiled code.
    Jit,
    /// The module was unloaded while the process ran and no host on the stack says otherwise:
    /// what Windows unloads in a worker are COM in-process servers (`CoFreeUnusedLibraries`,
    /// which classic ASP and COM+ call); ISAPI filters, extensions and IIS modules stay loaded
    /// for the worker's life.
    Unloaded,
    /// Known by name ([`KNOWN_THIRD_PARTY`](crate::knowledge::modules::KNOWN_THIRD_PARTY)); `note` says why the stack did not tell.
    KnownName {
        /// Why the stack did not tell.
        note: String,
    },
    /// Nothing tells: `native_module` by default. `on_stack`: a stack was there but shows no host
    /// (the verdict is less sure); otherwise the dump has no crashing stack at all.
    Unknown {
        /// What the stack showed instead.
        note: String,
        /// A stack was there (it shows no host).
        on_stack: bool,
    },
}

/// The suspect's role and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFinding {
    /// What the suspect is to IIS.
    pub role: SuspectRole,
    /// How that was found.
    pub source: RoleSource,
}

/// Frames searched below the suspect for a host, past runtimes and other add-ons.
const MAX_ROLE_HOPS: usize = 8;

pub(super) fn is_suspect_frame(fr: &FrameFact, suspect: &str) -> bool {
    fr.module
        .as_deref()
        .or(fr.unloaded.as_deref())
        .is_some_and(|m| m.eq_ignore_ascii_case(suspect))
}

/// Infers what `suspect` (a third-party or unknown module) is to IIS from who calls it on the
/// crashing stack: the first frame below its own frames, read like an admin reads `kb` —
/// `filter.dll` → ISAPI filter, `isapi.dll` → ISAPI extension, COM dispatch or a classic ASP
/// engine → COM object, the CLR or JIT code → P/Invoke from managed code, `iiscore.dll` → native
/// module, ANCM → ANCM-hosted. C runtimes, RPC stubs and other add-ons between are passed. Without
/// a host on the stack, the known-module table decides by name, else `native_module`.
pub fn infer_role(frames: &[FrameFact], suspect: &str) -> RoleFinding {
    let fallback = |note: String, on_stack: bool| match SuspectRole::from_known(suspect) {
        Some(role) => RoleFinding {
            role,
            source: RoleSource::KnownName { note },
        },
        None => RoleFinding {
            role: SuspectRole::NativeModule,
            source: RoleSource::Unknown { note, on_stack },
        },
    };
    if frames.is_empty() {
        return fallback("the dump has no crashing stack".into(), false);
    }
    let Some(first) = frames.iter().position(|fr| is_suspect_frame(fr, suspect)) else {
        return fallback(format!("{suspect} is not on the crashing stack"), true);
    };
    let mut below = first;
    while below < frames.len() && is_suspect_frame(&frames[below], suspect) {
        below += 1;
    }
    if below == frames.len() {
        return fallback(
            format!("the crashing stack ends inside {suspect}: its caller is not in the dump"),
            true,
        );
    }
    let mut via: Vec<String> = Vec::new();
    for (j, fr) in frames.iter().enumerate().skip(below).take(MAX_ROLE_HOPS) {
        if is_suspect_frame(fr, suspect) {
            continue; // re-entered through a runtime (callbacks, C++ EH)
        }
        if fr.dynamic {
            return RoleFinding {
                role: SuspectRole::ManagedPinvoke,
                source: RoleSource::Caller {
                    frame: j,
                    who: "JIT-compiled managed code".into(),
                    via,
                    weak: fr.weak(),
                },
            };
        }
        let (Some(m), Some(c)) = (fr.module.as_deref(), fr.class) else {
            break;
        };
        if let Some((role, who)) = caller_role(m, c) {
            return RoleFinding {
                role,
                source: RoleSource::Caller {
                    frame: j,
                    who,
                    via,
                    weak: fr.weak(),
                },
            };
        }
        if !is_transit(m, c) {
            break;
        }
        if !via.iter().any(|v| v.eq_ignore_ascii_case(m)) {
            via.push(m.to_string());
        }
    }
    let caller = &frames[below];
    let note = match (caller.module.as_deref(), caller.class) {
        _ if !via.is_empty() => format!(
            "{suspect} is called through {}, and no IIS, COM or .NET host follows on the stack",
            via.join(", ")
        ),
        (Some(m), Some(ModuleClass::OsCore)) => format!(
            "the frame below {suspect} is {m} (Windows core): {suspect} runs on a thread it started or a Windows callback, which does not show how IIS loaded it"
        ),
        (Some(m), Some(c)) => format!(
            "the frame below {suspect} is {m} ({}), not an IIS, COM or .NET host that calls add-ons",
            c.label()
        ),
        _ => format!("the frame below {suspect} lies in no module"),
    };
    fallback(note, true)
}

/// The role of the verdict's suspect: none for Microsoft code and for the process's own image.
pub(super) fn role_for(
    f: &CrashFacts,
    suspect: Option<&str>,
    class: Option<ModuleClass>,
) -> Option<RoleFinding> {
    let (suspect, class) = (suspect?, class?);
    // A process IIS does not serve from has no IIS roles: its modules are what they are.
    if !crate::knowledge::modules::is_iis_process(f.process.as_deref()) {
        return None;
    }
    if class == ModuleClass::DynamicCode {
        return Some(RoleFinding {
            role: SuspectRole::ManagedCode,
            source: RoleSource::Jit,
        });
    }
    if !(class.is_third_party() || class == ModuleClass::Unknown)
        || f.process
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(suspect))
    {
        return None;
    }
    Some(infer_role(&f.frames, suspect))
}

/// The `why` entry for a role finding.
pub(super) fn role_why(name: &str, r: &RoleFinding) -> String {
    match &r.source {
        RoleSource::Caller {
            frame,
            who,
            via,
            weak,
        } => format!(
            "role {}: frame {frame} ({who}) calls {name}{}{}",
            r.role.name(),
            if via.is_empty() {
                String::new()
            } else {
                format!(" through {}", via.join(", "))
            },
            if *weak {
                " (that frame was found by stack scanning: weak evidence)"
            } else {
                ""
            }
        ),
        RoleSource::Jit => format!("role {}: the fault is in JIT code", r.role.name()),
        RoleSource::Unloaded => format!(
            "role {}: {name} was unloaded while the process ran, as Windows unloads COM in-process servers (CoFreeUnusedLibraries); ISAPI filters, extensions and IIS modules stay loaded",
            r.role.name()
        ),
        RoleSource::KnownName { note } => format!(
            "role {} from the known-module table ({note})",
            r.role.name()
        ),
        RoleSource::Unknown { note, .. } => {
            format!("role unknown, native_module assumed: {note}")
        }
    }
}

pub(super) fn article(label: &str) -> &'static str {
    if label.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "ctsgate.dll, a third-party ISAPI filter (called by IIS's ISAPI filter host filter.dll)".
pub(super) fn describe_role(name: &str, class: ModuleClass, r: &RoleFinding) -> String {
    let base = match known_vendor(name) {
        Some(k) => format!("{name} ({} {})", k.vendor, k.product),
        None => name.to_string(),
    };
    let a = if class.is_third_party() {
        "a third-party"
    } else {
        article(r.role.label())
    };
    match &r.source {
        RoleSource::Caller { who, via, .. } => format!(
            "{base}, {a} {} (called {}by {who})",
            r.role.label(),
            if via.is_empty() {
                String::new()
            } else {
                format!("through {} ", via.join(", "))
            }
        ),
        RoleSource::Jit | RoleSource::KnownName { .. } => format!("{base}, {a} {}", r.role.label()),
        RoleSource::Unloaded => format!(
            "{base}, {a} {} (unloaded while the process ran, as COM unloads its servers)",
            r.role.label()
        ),
        RoleSource::Unknown { .. } => format!(
            "{base}, {a} native module (the crashing stack does not show which host calls it)"
        ),
    }
}
