//! Module suspects: which module each incident blames (the dump verdict, else the faulting
//! module), what it is to IIS, and the module inventory.

use super::*;

/// A CLR exception code (`0xE0434352`, `0xE0434F4D`): the module that raised it is only the
/// messenger.
pub(super) fn is_clr(code: Option<u32>) -> bool {
    code.is_some_and(|c| exceptions::kind(c) == ExceptionKind::ClrException)
}

/// Suspect kind of a module, from (in order) the known third-party table
/// (`knowledge::modules::known_vendor`: its role), the module class the dump gave or, for
/// event-only evidence, the class of the name, and the exception code (CLR codes mean managed
/// code).
pub fn module_kind(name: &str, class: Option<ModuleClass>, code: Option<u32>) -> SuspectKind {
    use crate::knowledge::modules::{classify, known_vendor};
    if let Some(k) = known_vendor(basename(name)) {
        return k.kind.into();
    }
    let class = class
        .filter(|c| *c != ModuleClass::Unknown)
        .unwrap_or_else(|| classify(name));
    if is_clr(code) {
        return SuspectKind::ManagedCode;
    }
    match class {
        ModuleClass::ClassicAsp => SuspectKind::ComObject,
        ModuleClass::Clr | ModuleClass::AspnetHost | ModuleClass::DynamicCode => {
            SuspectKind::ManagedCode
        }
        ModuleClass::OsCore
        | ModuleClass::ComRuntime
        | ModuleClass::IisCore
        | ModuleClass::IsapiHost
        | ModuleClass::WindowsOther => SuspectKind::SystemModule,
        ModuleClass::IisBuiltin
        | ModuleClass::ThirdPartyKnown
        | ModuleClass::ThirdParty
        | ModuleClass::Unknown => {
            let n = basename(name).to_ascii_lowercase();
            if n.ends_with(".ni.dll") {
                SuspectKind::ManagedCode
            } else if n.contains("filter") {
                SuspectKind::IsapiFilter
            } else if n.contains("isapi") {
                SuspectKind::IsapiExtension
            } else {
                SuspectKind::NativeModule
            }
        }
    }
}

/// Crash rows of an incident in order of preference for exception facts: dumps, Application
/// Error, other events; then by time, file, offset.
pub(super) fn ranked_rows<'a>(t: &'a Tables, rows: &[usize]) -> Vec<(usize, &'a CrashRow)> {
    let mut v: Vec<(usize, &CrashRow)> = rows.iter().map(|&i| (i, &t.crashes[i])).collect();
    v.sort_by_key(|(i, r)| {
        let rank = match r.source {
            Some(EvidenceSource::Dump) => 0,
            _ if r.event_id == Some(1000) => 1,
            _ => 2,
        };
        (rank, r.ts, r.file, r.offset, *i)
    });
    v
}

pub(super) struct ModuleHit {
    pub(super) name: String,
    pub(super) class: Option<ModuleClass>,
    pub(super) version: Option<String>,
    pub(super) code: Option<u32>,
    pub(super) bucket: Option<String>,
    pub(super) from_dump: bool,
    pub(super) dump_confidence: Option<Confidence>,
    pub(super) rows: Vec<usize>,
    /// `suspect_role` of the dumps naming the module, in rank order.
    pub(super) roles: Vec<SuspectRole>,
}

/// The suspect kind the dumps' roles give (`CrashRow.suspect_role`): the most frequent; on a tie
/// a specific role beats `native_module` (also the "stack does not say" answer), then first seen.
pub(super) fn role_kind(roles: &[SuspectRole]) -> Option<SuspectKind> {
    let mut best: Option<(usize, bool, usize, SuspectRole)> = None;
    for (i, r) in roles.iter().enumerate() {
        let n = roles.iter().filter(|x| *x == r).count();
        let key = (n, *r != SuspectRole::NativeModule, usize::MAX - i, *r);
        if best.is_none_or(|b| (key.0, key.1, key.2) > (b.0, b.1, b.2)) {
            best = Some(key);
        }
    }
    Some(best?.3.into())
}

/// The module an incident blames, if any.
pub(super) fn module_hit(t: &Tables, j: &Judgments, rows: &[usize]) -> Option<ModuleHit> {
    let ranked = ranked_rows(t, rows);
    let pick = ranked
        .iter()
        .find_map(|(i, r)| norm(j.suspect_module(*i)).map(|m| (m, j.suspect_class(*i), *i, r)))
        .or_else(|| {
            ranked
                .iter()
                .find_map(|(i, r)| norm(r.faulting_module.as_deref()).map(|m| (m, None, *i, r)))
        })?;
    let (name, class, src, _) = pick;
    let code = ranked.iter().find_map(|(_, r)| r.exception_code);
    // A CLR exception is raised through KERNELBASE!RaiseException: the module is the messenger,
    // the suspect is the managed code (its type and stack are in .NET 1026 / ASP.NET 1309).
    if is_clr(code)
        && matches!(
            module_kind(name, class, None),
            SuspectKind::SystemModule | SuspectKind::ManagedCode
        )
    {
        // The events name the exception type: that is the suspect's name.
        let managed = ranked
            .iter()
            .filter(|(_, r)| r.source == Some(EvidenceSource::Event))
            .find_map(|(_, r)| r.exception_name.as_deref().filter(|n| is_dotnet_type(n)));
        return Some(ModuleHit {
            name: managed.map_or_else(|| MANAGED.to_string(), |t| cut(t, 200)),
            class: Some(ModuleClass::Clr),
            version: None,
            code,
            bucket: ranked
                .iter()
                .find_map(|(i, _)| j.bucket(*i))
                .map(str::to_string),
            from_dump: ranked
                .iter()
                .any(|(_, r)| r.source == Some(EvidenceSource::Dump)),
            dump_confidence: j.confidence(src),
            rows: ranked.iter().map(|(i, _)| *i).collect(),
            roles: Vec::new(),
        });
    }
    let lname = basename(name).to_ascii_lowercase();
    let naming: Vec<usize> = ranked
        .iter()
        .filter(|(i, r)| {
            [j.suspect_module(*i), r.faulting_module.as_deref()]
                .into_iter()
                .flatten()
                .any(|m| basename(m).eq_ignore_ascii_case(&lname))
        })
        .map(|(i, _)| *i)
        .collect();
    Some(ModuleHit {
        name: basename(name).to_string(),
        class,
        version: ranked.iter().find_map(|(_, r)| {
            norm(r.faulting_module.as_deref())
                .filter(|m| basename(m).eq_ignore_ascii_case(&lname))
                .and(r.faulting_module_version.clone())
        }),
        code: ranked.iter().find_map(|(_, r)| r.exception_code),
        bucket: ranked
            .iter()
            .find_map(|(i, _)| j.bucket(*i))
            .map(str::to_string),
        from_dump: naming
            .iter()
            .any(|&i| t.crashes[i].source == Some(EvidenceSource::Dump)),
        dump_confidence: j.confidence(src),
        roles: naming
            .iter()
            .filter(|&&i| t.crashes[i].source == Some(EvidenceSource::Dump))
            .filter(|&&i| {
                norm(j.suspect_module(i)).is_some_and(|m| basename(m).eq_ignore_ascii_case(&lname))
            })
            .filter_map(|&i| j.suspect_role(i))
            .collect(),
        rows: naming,
    })
}

/// The suspect name of crashes that are unhandled .NET exceptions.
pub const MANAGED: &str = "unhandled .NET exception";

pub(super) fn inventory(t: &Tables, suspects: &[Suspect]) -> Vec<ModuleEntry> {
    // (lowercase name, version, unloaded) → entry and the dumps listing it.
    type Key = (String, Option<String>, bool);
    let mut map: BTreeMap<Key, (ModuleEntry, BTreeSet<u32>)> = BTreeMap::new();
    for m in &t.modules {
        let name = basename(&m.name).to_string();
        let key = (name.to_ascii_lowercase(), m.version.clone(), m.unloaded);
        let e = map.entry(key).or_insert_with(|| {
            (
                ModuleEntry {
                    name: cut(&name, 260),
                    version: m.version.as_deref().map(|v| cut(v, 64)),
                    path: cut(&m.path, 400),
                    class: m.class,
                    third_party: m.third_party,
                    unloaded: m.unloaded,
                    dumps: 0,
                    suspect: None,
                },
                BTreeSet::new(),
            )
        });
        e.1.insert(m.file);
    }
    let mut v: Vec<ModuleEntry> = map
        .into_values()
        .map(|(mut e, files)| {
            e.dumps = files.len();
            e.suspect = suspects
                .iter()
                .find(|s| s.kind.is_module() && s.name.eq_ignore_ascii_case(&e.name))
                .map(|s| s.id.clone());
            e
        })
        .collect();
    v.sort_by(|a, b| {
        (
            b.suspect.is_some(),
            b.third_party,
            a.name.to_ascii_lowercase(),
            &a.version,
        )
            .cmp(&(
                a.suspect.is_some(),
                a.third_party,
                b.name.to_ascii_lowercase(),
                &b.version,
            ))
    });
    v
}
