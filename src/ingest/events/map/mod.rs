//! Which events are crash evidence, and what they say.
//!
//! Sources of the layouts: `notes/iis-logs.md` §3 of the project (WAS and W3SVC message tables from
//! learn.microsoft.com cc735151/dd364088/KB2634635/KB911816; Application Error 1000 and WER 1001
//! texts from public reports). Where a layout is only known from the rendered message, the
//! message is parsed too, so an export that carries `RenderingInfo` but odd `Data` still maps.
//!
//! Number bases differ by source and matter for joining: the WAS pid is **decimal**, the WAS
//! 5009 exit code is **hex without `0x`** (the message template is `'0x%3'`), the Application
//! Error pid, exception code and offset are **hex** (`0x` optional), its start time a FILETIME.

use super::{DataItem, MAX_TEXT, RawEvent, clip};
use crate::tables::{CrashKind, CrashRow, Millis, RecycleReason};

/// A mapped event: the row (if the event is crash evidence) and field-level warnings.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    pub row: Option<CrashRow>,
    pub warnings: Vec<(&'static str, String)>,
}

pub(crate) fn map(ev: &RawEvent) -> Mapped {
    let mut m = Mapped::default();
    let prov = ev.provider.to_ascii_lowercase();
    let src = ev.source_name.as_deref().unwrap_or("").to_ascii_lowercase();
    let was = prov == "microsoft-windows-was" || prov == "was" || src == "was";
    // IIS 6 logged the same worker events under the classic source `W3SVC`, IDs 1002–1013.
    let iis6 = prov == "w3svc";
    let wp = prov == "microsoft-windows-iis-w3svc-wp" || prov == "w3svc-wp" || src == "w3svc-wp";
    let id = ev.event_id;
    let row = match id {
        5002 if was => pool_event(ev, CrashKind::Disabled, false, &mut m.warnings),
        1002 if iis6 => pool_event(ev, CrashKind::Disabled, false, &mut m.warnings),
        5009 if was => exited(ev, &mut m.warnings),
        1009 if iis6 => exited(ev, &mut m.warnings),
        5010 if was => pool_event(ev, CrashKind::Hang, true, &mut m.warnings),
        1010 if iis6 => pool_event(ev, CrashKind::Hang, true, &mut m.warnings),
        5011 if was => comm_error(ev, &mut m.warnings),
        1011 if iis6 => comm_error(ev, &mut m.warnings),
        5013 if was => pool_event(ev, CrashKind::ShutdownTimeout, true, &mut m.warnings),
        5012 if was => pool_event(ev, CrashKind::StartupTimeout, true, &mut m.warnings),
        1012 if iis6 => pool_event(ev, CrashKind::StartupTimeout, true, &mut m.warnings),
        5074..=5081 | 5117 if was => recycle_reason(id).map(|why| {
            let mut r = worker_event(ev, CrashKind::Recycle, &mut m.warnings);
            r.recycle_reason = Some(why);
            r
        }),
        5186 if was => Some(worker_event(ev, CrashKind::IdleShutdown, &mut m.warnings)),
        5189 if was => pool_event(ev, CrashKind::ConfigFailure, false, &mut m.warnings),
        2269 | 2276..=2282 if wp => Some(module_load_failure(ev)),
        1013 if iis6 => pool_event(ev, CrashKind::ShutdownTimeout, true, &mut m.warnings),
        1000 if prov == "application error" => Some(app_error(ev, &mut m.warnings)),
        1002 if prov == "application hang" => Some(app_hang(ev, &mut m.warnings)),
        1001 if prov == "windows error reporting" => wer_report(ev, &mut m.warnings),
        1026 if prov == ".net runtime" => Some(clr_unhandled(ev)),
        1023 if prov == ".net runtime" => Some(clr_internal(ev, &mut m.warnings)),
        1309 | 1310 if prov.starts_with("asp.net") => Some(aspnet_web_event(ev, &mut m.warnings)),
        2299 | 2262 | 2263 if wp => Some(unhealthy(ev)),
        _ if prov == "active server pages" => asp_error(ev),
        _ if ev
            .message
            .as_deref()
            .is_some_and(|t| contains_ci(t, "reported itself as unhealthy")) =>
        {
            Some(unhealthy(ev))
        }
        _ => None,
    };
    m.row = row;
    m
}

type Warnings = Vec<(&'static str, String)>;

/// Looks up a `Data` item by name (case-insensitive), falling back to its position in the
/// message template (`%1` = index 0) for classic events whose items are unnamed (or named
/// `paramN`, as WAS names the ones without a manifest name).
fn field<'a>(data: &'a [DataItem], names: &[&str], pos: usize) -> Option<&'a str> {
    let nonempty = |s: &'a str| Some(s.trim()).filter(|s| !s.is_empty());
    if let Some(d) = data.iter().find(|d| {
        d.name
            .as_deref()
            .is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
    }) {
        return nonempty(&d.value);
    }
    let d = data.get(pos)?;
    match d.name.as_deref() {
        None => nonempty(&d.value),
        Some(n) if n.is_empty() || n.to_ascii_lowercase().starts_with("param") => {
            nonempty(&d.value)
        }
        Some(_) => None,
    }
}

/// Parses a number, warning (with the field and value) when the text is not one.
fn num<T>(
    w: &mut Warnings,
    what: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let v = v?;
    let r = parse(v);
    if r.is_none() {
        w.push((
            "bad_field",
            format!("{what} '{}' is not a valid number; left empty", clip(v, 60)),
        ));
    }
    r
}

fn strip_0x(s: &str) -> &str {
    let s = s.trim().trim_end_matches('.');
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

/// Decimal (the WAS pid); a `0x` prefix is honoured if someone exported it that way.
pub(crate) fn dec_u32(s: &str) -> Option<u32> {
    let t = s.trim();
    if t.starts_with("0x") || t.starts_with("0X") {
        return hex_u32(t);
    }
    t.parse().ok()
}

/// Hex with or without `0x` (exception codes, exit codes, Application Error pids).
pub(crate) fn hex_u32(s: &str) -> Option<u32> {
    let t = strip_0x(s);
    if t.is_empty() || t.len() > 8 + t.bytes().take_while(|&b| b == b'0').count() {
        return None;
    }
    u64::from_str_radix(t, 16)
        .ok()
        .and_then(|v| u32::try_from(v).ok())
}

pub(crate) fn hex_u64(s: &str) -> Option<u64> {
    let t = strip_0x(s);
    if t.is_empty() {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// A FILETIME in hex (100 ns since 1601-01-01 UTC) → UTC ms. Zero means "unknown".
pub(crate) fn filetime_ms(s: &str) -> Option<Millis> {
    let ft = hex_u64(s)?;
    if ft == 0 {
        return None;
    }
    let ms = (ft / 10_000) as i64 - 11_644_473_600_000;
    // Before 1990 or after 2200 is not a process start time.
    (631_152_000_000..7_258_118_400_000)
        .contains(&ms)
        .then_some(ms)
}

fn filetime_checked(s: &str) -> Option<Option<Millis>> {
    match hex_u64(s) {
        Some(0) => Some(None),
        Some(_) => filetime_ms(s).map(Some),
        None => None,
    }
}

/// The error number WAS puts in `<Binary>`: a little-endian DWORD (`6D000780` → 0x8007006D).
fn binary_dword(hex: &str) -> Option<u32> {
    let h: Vec<u8> = hex
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .take(8)
        .collect();
    if h.len() < 8 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, out) in b.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&h[i * 2..i * 2 + 2]).ok()?;
        *out = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(u32::from_le_bytes(b))
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    find_ci(hay, needle).is_some()
}

/// Byte index of `needle` (ASCII, any case) in `hay`. ASCII lowering keeps byte offsets.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.to_ascii_lowercase();
    h.find(&needle.to_ascii_lowercase())
}

/// The text between `prefix` (any case) and the next `'`: `application pool 'X'` → `X`.
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let i = find_ci(text, prefix)? + prefix.len();
    let rest = text.get(i..)?;
    let end = rest.find('\'')?;
    Some(rest[..end].trim()).filter(|s| !s.is_empty())
}

fn message_detail(ev: &RawEvent) -> Option<String> {
    ev.message.as_deref().map(|m| clip(m.trim(), MAX_TEXT))
}

fn base_row(kind: CrashKind) -> CrashRow {
    CrashRow {
        kind,
        ..Default::default()
    }
}

/// The application pool of a WAS/W3SVC event: `%1`, or from the rendered message.
fn pool_of(ev: &RawEvent) -> Option<String> {
    field(&ev.data, &["AppPoolID", "AppPool", "AppPoolName"], 0)
        .map(|s| clip(s, 256))
        .or_else(|| {
            ev.message
                .as_deref()
                .and_then(|m| quoted_after(m, "application pool '"))
                .map(|s| clip(s, 256))
        })
}

fn pid_of(ev: &RawEvent, w: &mut Warnings) -> Option<u32> {
    let v = field(&ev.data, &["ProcessID", "ProcessId", "PID"], 1).or_else(|| {
        ev.message
            .as_deref()
            .and_then(|m| quoted_after(m, "process id was '"))
    });
    num(w, "process id", v, dec_u32)
}

/// WAS 5002/5010/5013 and their IIS 6 twins: pool (+ decimal pid).
fn pool_event(
    ev: &RawEvent,
    kind: CrashKind,
    with_pid: bool,
    w: &mut Warnings,
) -> Option<CrashRow> {
    let mut r = base_row(kind);
    r.app_pool = pool_of(ev);
    if with_pid {
        r.pid = pid_of(ev, w);
        r.process_name = Some("w3wp.exe".into());
    }
    r.detail = message_detail(ev);
    Some(r)
}

/// The WAS recycle events by id (`notes/outages.md` §1.1).
fn recycle_reason(id: u32) -> Option<RecycleReason> {
    Some(match id {
        5074 => RecycleReason::Time,
        5075 => RecycleReason::Requests,
        5076 => RecycleReason::Schedule,
        5077 => RecycleReason::VirtualMemory,
        5078 => RecycleReason::IsapiUnhealthy,
        5079 => RecycleReason::OnDemand,
        5080 => RecycleReason::ConfigChange,
        5081 => RecycleReason::ConfigStore,
        5117 => RecycleReason::PrivateMemory,
        _ => return None,
    })
}

/// WAS events of the "worker process with process id of '%1' serving application pool '%2'"
/// family (recycles, 5186): the pid comes first, unlike 5002–5013. 5080 and 5081 name only the
/// pool. Unnamed items are told apart by content (a pid is all digits), since exports name and
/// order them differently; the rendered message is the fallback.
fn worker_event(ev: &RawEvent, kind: CrashKind, w: &mut Warnings) -> CrashRow {
    let mut r = base_row(kind);
    let unnamed: Vec<&str> = ev
        .data
        .iter()
        .filter(|d| {
            d.name
                .as_deref()
                .is_none_or(|n| n.is_empty() || n.to_ascii_lowercase().starts_with("param"))
        })
        .map(|d| d.value.trim())
        .filter(|v| !v.is_empty())
        .take(2)
        .collect();
    let is_pid = |v: &&str| v.bytes().all(|b| b.is_ascii_digit());
    let msg = ev.message.as_deref();
    let pid = field(&ev.data, &["ProcessID", "ProcessId", "PID"], usize::MAX)
        .or_else(|| unnamed.iter().copied().find(is_pid))
        .or_else(|| msg.and_then(|m| quoted_after(m, "process id of '")));
    r.pid = num(w, "process id", pid, dec_u32);
    r.app_pool = field(
        &ev.data,
        &["AppPoolID", "AppPool", "AppPoolName"],
        usize::MAX,
    )
    .or_else(|| unnamed.iter().copied().find(|v| !is_pid(v)))
    .or_else(|| msg.and_then(|m| quoted_after(m, "application pool '")))
    .map(|s| clip(s, 256));
    r.process_name = r.pid.map(|_| "w3wp.exe".into());
    r.detail = message_detail(ev);
    r
}

/// W3SVC-WP 2269 and 2276–2282: a module DLL (`%1`) failed to load or initialize.
fn module_load_failure(ev: &RawEvent) -> CrashRow {
    let mut r = base_row(CrashKind::ConfigFailure);
    r.faulting_module = field(&ev.data, &["ModuleDll", "ModuleName"], 0).map(|s| clip(s, 260));
    r.process_name = Some("w3wp.exe".into());
    r.detail = message_detail(ev);
    r
}

/// WAS 5009 / W3SVC 1009: the worker exited; `%3` is the exit code in hex (`'0x%3'`).
fn exited(ev: &RawEvent, w: &mut Warnings) -> Option<CrashRow> {
    let mut r = pool_event(ev, CrashKind::Crash, true, w)?;
    let v = field(&ev.data, &["param3", "ExitCode", "ProcessExitCode"], 2).or_else(|| {
        ev.message
            .as_deref()
            .and_then(|m| quoted_after(m, "exit code was '"))
    });
    r.exit_code = num(w, "exit code", v, hex_u32);
    Some(r)
}

/// WAS 5011 / W3SVC 1011: fatal communication error; the error number is in `<Binary>`.
fn comm_error(ev: &RawEvent, w: &mut Warnings) -> Option<CrashRow> {
    let mut r = pool_event(ev, CrashKind::Crash, true, w)?;
    if let Some(b) = ev.binary.as_deref().filter(|b| !b.is_empty()) {
        r.exit_code = binary_dword(b);
        if r.exit_code.is_none() {
            w.push((
                "bad_field",
                format!(
                    "Binary '{}' does not hold a 4-byte error number",
                    clip(b, 60)
                ),
            ));
        }
    }
    Some(r)
}

/// The fields of an Application Error 1000 (or the crash part of a WER report), as text.
#[derive(Debug, Default, PartialEq)]
struct Fault {
    app: Option<String>,
    app_version: Option<String>,
    module: Option<String>,
    module_version: Option<String>,
    code: Option<String>,
    offset: Option<String>,
    pid: Option<String>,
    start: Option<String>,
    app_path: Option<String>,
    module_path: Option<String>,
    report_id: Option<String>,
}

/// Application Error 1000, named-`Data` form (Windows 7 / 2008 R2 and later) or the positional
/// unnamed form (same order); an event with only one text item (Vista/2008 and 2003 one-line
/// form) or only a message is parsed as text.
fn app_error(ev: &RawEvent, w: &mut Warnings) -> CrashRow {
    // The data items by name when they have names (some exports keep only a few), else by
    // position when there are enough of them, else the rendered text.
    let named = ev.data.iter().any(|d| {
        d.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case("AppName"))
    });
    let f = if ev.data.len() >= 8 || named {
        let g = |names: &[&str], pos| field(&ev.data, names, pos).map(|s| clip(s, 1024));
        Fault {
            app: g(&["AppName"], 0),
            app_version: g(&["AppVersion"], 1),
            module: g(&["ModuleName"], 3),
            module_version: g(&["ModuleVersion"], 4),
            code: g(&["ExceptionCode"], 6),
            offset: g(&["FaultingOffset", "FaultOffset"], 7),
            pid: g(&["ProcessId"], 8),
            start: g(&["ProcessCreationTime"], 9),
            app_path: g(&["AppPath"], 10),
            module_path: g(&["ModulePath"], 11),
            report_id: g(&["IntegratorReportId", "ReportId"], 12),
        }
    } else {
        parse_fault_text(&event_text(ev))
    };
    let mut r = base_row(CrashKind::Crash);
    r.process_name = f.app.clone();
    r.pid = num(w, "faulting process id", f.pid.as_deref(), hex_u32);
    r.process_start = f.start.as_deref().and_then(|s| {
        let v = filetime_checked(s);
        if v.is_none() {
            w.push((
                "bad_field",
                format!("application start time '{}' is not a FILETIME", clip(s, 60)),
            ));
        }
        v.flatten()
    });
    r.exception_code = num(w, "exception code", f.code.as_deref(), hex_u32);
    r.faulting_module = f.module.clone();
    r.faulting_module_version = f.module_version.clone();
    r.fault_offset = num(w, "fault offset", f.offset.as_deref(), hex_u64);
    let mut d = Vec::new();
    if let Some(v) = &f.app_version {
        d.push(format!("app version {v}"));
    }
    if let Some(p) = &f.app_path {
        d.push(format!("app path {p}"));
    }
    if let Some(p) = &f.module_path {
        d.push(format!("module path {p}"));
    }
    if let Some(p) = &f.report_id {
        d.push(format!("report id {p}"));
    }
    r.detail = (!d.is_empty()).then(|| clip(&d.join("; "), MAX_TEXT));
    r
}

/// All the text an event carries: its `Data` items, else the rendered message.
fn event_text(ev: &RawEvent) -> String {
    let data: Vec<&str> = ev
        .data
        .iter()
        .map(|d| d.value.as_str())
        .filter(|v| !v.trim().is_empty())
        .collect();
    if data.is_empty() {
        ev.message.clone().unwrap_or_default()
    } else {
        data.join("\n")
    }
}

/// Parses the rendered 1000 text, multi-line (`Faulting application name: w3wp.exe, version: …`)
/// or one-line (`Faulting application w3wp.exe, version …, faulting module …, exception code …,
/// fault offset …`, and the 2003 `… stamp …, debug? 0, fault address 0x…`).
fn parse_fault_text(t: &str) -> Fault {
    #[derive(PartialEq)]
    enum Subject {
        App,
        Module,
    }
    let mut f = Fault::default();
    let mut subject = Subject::App;
    let val = |rest: &str| -> Option<String> {
        let v = rest
            .trim_start_matches([':', ' ', '\t'])
            .trim()
            .trim_end_matches('.')
            .trim();
        (!v.is_empty()).then(|| clip(v, 1024))
    };
    for line in t.lines() {
        let l = line.trim();
        let ll = l.to_ascii_lowercase();
        // Paths may hold ", ": take the whole line.
        if ll.starts_with("faulting application path") {
            f.app_path = val(&l["faulting application path".len()..]);
            continue;
        }
        if ll.starts_with("faulting module path") {
            f.module_path = val(&l["faulting module path".len()..]);
            continue;
        }
        let mut start = 0;
        for part in l.split(',') {
            let p = part.trim();
            let pl = ll[start..start + part.len()].trim();
            start += part.len() + 1;
            let take = |prefix: &str| -> Option<Option<String>> {
                pl.starts_with(prefix).then(|| val(&p[prefix.len()..]))
            };
            if let Some(v) =
                take("faulting application start time").or_else(|| take("application start time"))
            {
                f.start = v;
            } else if let Some(v) =
                take("faulting application name").or_else(|| take("faulting application"))
            {
                subject = Subject::App;
                f.app = v;
            } else if let Some(v) = take("faulting module name").or_else(|| take("faulting module"))
            {
                subject = Subject::Module;
                f.module = v;
            } else if let Some(v) = take("faulting process id").or_else(|| take("process id")) {
                f.pid = v;
            } else if let Some(v) = take("version") {
                match subject {
                    Subject::App => f.app_version = v,
                    Subject::Module => f.module_version = v,
                }
            } else if let Some(v) = take("exception code") {
                f.code = v;
            } else if let Some(v) = take("fault offset").or_else(|| take("fault address")) {
                f.offset = v;
            } else if let Some(v) = take("report id") {
                f.report_id = v;
            }
        }
    }
    f
}

/// Application Hang 1002 (unnamed: app, version, pid hex, start FILETIME, termination, path, report id).
fn app_hang(ev: &RawEvent, w: &mut Warnings) -> CrashRow {
    let mut r = base_row(CrashKind::Hang);
    r.process_name = field(&ev.data, &["AppName"], 0).map(|s| clip(s, 1024));
    r.pid = num(w, "process id", field(&ev.data, &["ProcessId"], 2), hex_u32);
    r.process_start =
        field(&ev.data, &["StartTime", "ProcessCreationTime"], 3).and_then(filetime_ms);
    r.detail = message_detail(ev).or_else(|| {
        field(&ev.data, &["AppPath"], 5).map(|p| format!("app path {}", clip(p, 1024)))
    });
    r
}

/// WER 1001 crash-type buckets (others, e.g. `WindowsUpdateFailure3`, are not about processes).
const WER_CRASH_EVENTS: &[&str] = &[
    "appcrash",
    "bex",
    "bex64",
    "clr20r3",
    "moappcrash",
    "apphang",
    "apphangb1",
    "apphangxproc",
];

/// Windows Error Reporting 1001: P1–P10, bucket, attached files (the dump), archive path.
fn wer_report(ev: &RawEvent, w: &mut Warnings) -> Option<CrashRow> {
    let wr = if ev.data.len() >= 15 {
        wer_from_data(&ev.data)
    } else {
        wer_from_text(&event_text(ev))
    };
    let name = wr.event_name.clone().unwrap_or_default();
    let lname = name.to_ascii_lowercase();
    let p = |i: usize| wr.p.get(i).and_then(|v| v.as_deref());
    let process_is_exe = p(0).is_some_and(|a| a.to_ascii_lowercase().ends_with(".exe"));
    // Crash-type buckets, or any named report about an executable (kept, filtered later).
    let relevant =
        WER_CRASH_EVENTS.contains(&lname.as_str()) || (process_is_exe && !lname.is_empty());
    if !relevant {
        return None;
    }
    let mut r = base_row(CrashKind::Report);
    r.process_name = p(0).map(str::to_string);
    match lname.as_str() {
        "appcrash" | "moappcrash" => {
            r.faulting_module = p(3).map(str::to_string);
            r.faulting_module_version = p(4).map(str::to_string);
            r.exception_code = num(w, "P7 exception code", p(6), hex_u32);
            r.fault_offset = num(w, "P8 fault offset", p(7), hex_u64);
        }
        // BEX (DEP / /GS failures) swaps them: P7 is the offset, P8 the code.
        "bex" | "bex64" => {
            r.faulting_module = p(3).map(str::to_string);
            r.faulting_module_version = p(4).map(str::to_string);
            r.fault_offset = num(w, "P7 fault offset", p(6), hex_u64);
            r.exception_code = num(w, "P8 exception code", p(7), hex_u32);
        }
        // CLR20r3: P4 assembly, P7 method token, P8 IL offset, P9 exception type.
        "clr20r3" => {
            r.exception_name = p(8).map(str::to_string);
            // P4 the faulting assembly, P7 the method's metadata token, P8 the IL offset.
            r.managed_method = p(3).map(|asm| match (p(6), p(7)) {
                (Some(tok), Some(il)) => format!("{asm} (method token 0x{tok}, IL offset 0x{il})"),
                (Some(tok), None) => format!("{asm} (method token 0x{tok})"),
                _ => asm.to_string(),
            });
        }
        _ => {}
    }
    let mut d = vec![format!("WER {name}")];
    if let Some(b) = &wr.fault_bucket {
        d.push(format!("fault bucket {b}"));
    }
    let sig: Vec<String> =
        wr.p.iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| format!("P{}={}", i + 1, v)))
            .collect();
    if !sig.is_empty() {
        d.push(sig.join(" "));
    }
    let dumps: Vec<&String> = wr.attached.iter().filter(|a| is_dump_path(a)).collect();
    if let Some(dump) = dumps.first() {
        d.push(format!("dump {dump}"));
    }
    if !wr.attached.is_empty() {
        d.push(format!("attached {}", wr.attached.join(" | ")));
    }
    if let Some(a) = &wr.archive {
        d.push(format!("archive {a}"));
    }
    if let Some(id) = &wr.report_id {
        d.push(format!("report id {id}"));
    }
    r.detail = Some(clip(&d.join("; "), MAX_TEXT));
    Some(r)
}

fn is_dump_path(p: &str) -> bool {
    let l = p.to_ascii_lowercase();
    l.ends_with(".dmp") || l.ends_with(".mdmp") || l.ends_with(".hdmp")
}

#[derive(Debug, Default)]
struct WerReport {
    fault_bucket: Option<String>,
    event_name: Option<String>,
    p: Vec<Option<String>>,
    attached: Vec<String>,
    archive: Option<String>,
    report_id: Option<String>,
}

/// The unnamed 1001 layout: bucket, bucket type, event name, response, cab id, P1–P10,
/// attached files, archive path, analysis symbol, rechecking, report id, status, hashed bucket.
fn wer_from_data(data: &[DataItem]) -> WerReport {
    let g = |names: &[&str], pos| field(data, names, pos).map(|s| clip(s, 1024));
    let mut wr = WerReport {
        fault_bucket: g(&["Bucket", "FaultBucket"], 0),
        event_name: g(&["EventName"], 2),
        archive: g(&["StorePath", "ReportArchivePath", "ArchivePath"], 16),
        report_id: g(&["ReportId", "ReportID"], 19),
        ..Default::default()
    };
    for i in 0..10 {
        let name = format!("P{}", i + 1);
        wr.p.push(g(&[name.as_str()], 5 + i));
    }
    if let Some(files) = g(&["AttachedFiles"], 15) {
        wr.attached = files
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(32)
            .map(str::to_string)
            .collect();
    }
    wr
}

/// The rendered 1001 message (`Fault bucket …, type …` / `Event Name:` / `P1: …` / `Attached
/// files:` … / `These files may be available here:` …).
fn wer_from_text(t: &str) -> WerReport {
    let mut wr = WerReport {
        p: vec![None; 10],
        ..Default::default()
    };
    #[derive(PartialEq)]
    enum Section {
        Head,
        Attached,
        Archive,
    }
    let mut section = Section::Head;
    for line in t.lines() {
        let l = line.trim();
        let ll = l.to_ascii_lowercase();
        if l.is_empty() {
            if section != Section::Head {
                section = Section::Head;
            }
            continue;
        }
        let after = |k: &str| {
            l.get(k.len()..)
                .map(|s| s.trim_start_matches([':', ' ']).trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if ll.starts_with("attached files") {
            section = Section::Attached;
        } else if ll.starts_with("these files may be available here") {
            section = Section::Archive;
        } else if ll.starts_with("fault bucket") {
            wr.fault_bucket = after("fault bucket").map(|s| clip(&s, 1024));
        } else if ll.starts_with("event name") {
            wr.event_name = after("event name");
        } else if ll.starts_with("report id") {
            wr.report_id = after("report id");
        } else if ll.starts_with('p')
            && let Some((n, v)) = l[1..].split_once(':')
            && let Ok(i) = n.trim().parse::<usize>()
            && (1..=10).contains(&i)
        {
            let v = v.trim();
            wr.p[i - 1] = (!v.is_empty()).then(|| clip(v, 1024));
        } else if section == Section::Attached && wr.attached.len() < 32 {
            wr.attached.push(clip(l, 1024));
        } else if section == Section::Archive && wr.archive.is_none() {
            wr.archive = Some(clip(l, 1024));
        }
    }
    wr
}

/// Lines `Key: value` of a rendered text, first match (key any case).
fn text_value<'a>(t: &'a str, key: &str) -> Option<&'a str> {
    t.lines().find_map(|l| {
        let l = l.trim();
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(key))
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// .NET Runtime 1026: `Application:` / `Framework Version:` / `Description:` / `Exception Info:`
/// and the stack, in the language of the machine (`Anwendung:` … `Ausnahmeinformationen:` …
/// `bei`). Read by structure, not by English words: the first line's value is the process; the first
/// value shaped like a .NET exception type names the exception (its message follows a `: `);
/// indented lines `<word> Namespace.Type.Method(…)` are the stack; the first frame of the
/// application's own code (not `System.`/`Microsoft.`) names the method.
fn clr_unhandled(ev: &RawEvent) -> CrashRow {
    let t = event_text(ev);
    let mut r = base_row(CrashKind::Crash);
    let m = managed_of_1026(&t);
    r.process_name = m.process.map(|s| clip(s, 1024));
    r.exception_name = m.exception.map(|s| clip(s, 512));
    r.managed_message = m.message.map(|s| clip(s, 1024));
    // The first frame of the application's own code names where it failed; the framework's
    // frames above it are where the exception surfaced.
    let own = m
        .frames
        .iter()
        .find(|f| !f.starts_with("System.") && !f.starts_with("Microsoft."));
    r.managed_method = own.or(m.frames.first()).map(|f| clip(f, 512));
    let mut d: Vec<String> = m.header.iter().map(|l| clip(l, 256)).collect();
    if let Some(line) = m.exception_line {
        d.push(clip(line, 1024));
    }
    if !m.stack.is_empty() {
        d.push(m.stack.join(" | "));
    }
    r.detail = (!d.is_empty())
        .then(|| clip(&d.join("; "), MAX_TEXT))
        .or_else(|| Some(clip(t.trim(), MAX_TEXT)));
    r
}

/// What a 1026 text says, by structure.
#[derive(Debug, Default, PartialEq)]
struct Managed1026<'a> {
    process: Option<&'a str>,
    exception: Option<&'a str>,
    message: Option<&'a str>,
    /// The line that named the exception.
    exception_line: Option<&'a str>,
    /// `key: value` lines before it (versions, description), as written.
    header: Vec<&'a str>,
    /// The first stack lines, as written (trimmed).
    stack: Vec<&'a str>,
    /// Their methods (`Namespace.Type.Method`).
    frames: Vec<&'a str>,
}

/// A .NET type name that is an exception: dotted identifiers, the last ending in `Exception`
/// (or a `System.` type, which covers the runtime's own).
fn exception_type(v: &str) -> Option<&str> {
    let ty = v.split([':', ' ']).next()?.trim();
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '`' | '+'))
    };
    let dotted = ty.contains('.') && ty.split('.').all(ident);
    (dotted && (ty.ends_with("Exception") || ty.starts_with("System."))).then_some(ty)
}

/// The method of a stack line (`at Contoso.A.B(System.String)`, `bei …`, `à …`): the dotted
/// name before `(`, after the first word.
fn frame_method(line: &str) -> Option<&str> {
    let (_word, rest) = line.trim().split_once(' ')?;
    let name = rest.split('(').next()?.trim();
    (rest.contains('(') && name.contains('.') && !name.contains(' ')).then_some(name)
}

fn managed_of_1026(t: &str) -> Managed1026<'_> {
    let mut m = Managed1026::default();
    let mut lines = t.lines();
    for l in lines.by_ref() {
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        let (k, v) = l.split_once(':').map_or(("", l), |(k, v)| (k, v.trim()));
        if m.process.is_none() && !k.is_empty() {
            m.process = Some(v).filter(|v| !v.is_empty());
            continue;
        }
        // `Exception Info: System.X: message`, or the type alone on its own line.
        if let Some(ty) = exception_type(v).or_else(|| exception_type(l)) {
            m.exception = Some(ty);
            let after = l[l.find(ty).unwrap_or(0) + ty.len()..].trim_start();
            // .NET Core puts the HRESULT between: `System.X (0x80131904): message`.
            let after = match after.strip_prefix('(') {
                Some(h) => h.split_once(')').map_or(after, |x| x.1.trim_start()),
                None => after,
            };
            m.message = after
                .strip_prefix(':')
                .map(str::trim)
                .filter(|s| !s.is_empty());
            m.exception_line = Some(l);
            break;
        }
        m.header.push(l);
    }
    for l in lines {
        if let Some(f) = frame_method(l) {
            m.frames.push(f);
            m.stack.push(l.trim());
            if m.stack.len() == 5 {
                break;
            }
        }
    }
    m
}

/// .NET Runtime 1023: internal runtime error `… at IP <ip> (<base>) with exit code <hex>.`
fn clr_internal(ev: &RawEvent, w: &mut Warnings) -> CrashRow {
    let t = event_text(ev);
    let mut r = base_row(CrashKind::Crash);
    r.process_name = text_value(&t, "Application").map(|s| clip(s, 1024));
    if let Some(i) = find_ci(&t, "exit code") {
        let v = t[i + "exit code".len()..]
            .split_whitespace()
            .next()
            .map(|s| s.trim_end_matches('.'));
        r.exit_code = num(w, "exit code", v, hex_u32);
    }
    r.detail = text_value(&t, "Description")
        .map(|d| clip(d, MAX_TEXT))
        .or_else(|| Some(clip(t.trim(), MAX_TEXT)));
    r
}

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// `/LM/W3SVC/2/ROOT-1-1319…` → `W3SVC2`.
fn site_of(app_domain: &str) -> Option<String> {
    let i = find_ci(app_domain, "/LM/W3SVC/")? + "/LM/W3SVC/".len();
    let digits: String = app_domain[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(10)
        .collect();
    (!digits.is_empty()).then(|| format!("W3SVC{digits}"))
}

/// ASP.NET 1309 "Web Event" (event code 3005: unhandled exception in a request). The process
/// lived; the request got a 500. The unnamed items are anchored on the app domain
/// (`/LM/W3SVC/…`) and the process name (`w3wp.exe`) rather than on fixed indices, which differ
/// by one between framework versions *(design choice; layout from public reports)*; the rendered
/// message is used when the items do not fit.
fn aspnet_web_event(ev: &RawEvent, w: &mut Warnings) -> CrashRow {
    let mut r = base_row(CrashKind::UnhandledException);
    let vals: Vec<&str> = ev.data.iter().map(|d| d.value.trim()).collect();
    let dom_idx = vals.iter().position(|v| {
        v.get(..10)
            .is_some_and(|h| h.eq_ignore_ascii_case("/LM/W3SVC/"))
    });
    let exe_idx = dom_idx.and_then(|d| {
        vals.iter()
            .skip(d)
            .position(|v| v.to_ascii_lowercase().ends_with(".exe"))
            .map(|i| d + i)
    });
    let (mut code, mut domain, mut pid, mut pname, mut ty, mut msg, mut url) =
        (None, None, None, None, None, None, None);
    if let (Some(d), Some(x)) = (dom_idx, exe_idx) {
        code = vals.first().copied();
        domain = Some(vals[d]);
        pname = Some(vals[x]);
        pid = x.checked_sub(1).and_then(|i| vals.get(i)).copied();
        ty = vals.get(x + 2).copied();
        msg = vals.get(x + 3).copied();
        url = vals.get(x + 4).copied();
    } else if let Some(m) = ev.message.as_deref() {
        code = text_value(m, "Event code");
        domain = text_value(m, "Application domain");
        pid = text_value(m, "Process ID");
        pname = text_value(m, "Process name");
        ty = text_value(m, "Exception type");
        msg = text_value(m, "Exception message");
        url = text_value(m, "Request URL");
    }
    r.process_name = nonempty(pname).map(|s| clip(s, 1024));
    r.pid = num(w, "process id", nonempty(pid), dec_u32);
    r.exception_name = nonempty(ty).map(|s| clip(s, 512));
    r.managed_message = nonempty(msg).map(|m| clip(m.lines().next().unwrap_or(m), 1024));
    let mut d = Vec::new();
    if let Some(site) = domain.and_then(site_of) {
        d.push(format!("site {site}"));
    }
    if let Some(u) = nonempty(url) {
        d.push(format!("url {}", clip(u, 2048)));
    }
    match (nonempty(ty), nonempty(msg)) {
        (Some(t), Some(m)) => d.push(format!("{t}: {}", clip(m, 1024))),
        (Some(t), None) => d.push(t.to_string()),
        (None, Some(m)) => d.push(clip(m, 1024)),
        (None, None) => {}
    }
    if let Some(dom) = nonempty(domain) {
        d.push(format!("app domain {}", clip(dom, 512)));
    }
    if let Some(c) = nonempty(code) {
        d.push(format!("event code {c}"));
    }
    // Web event 3008 (logged as 1310) is a configuration error: every request of the
    // application fails until it is fixed (`notes/outages.md` §2.2).
    if ev.event_id == 1310 || nonempty(code) == Some("3008") {
        r.kind = CrashKind::ConfigFailure;
    }
    r.detail = if d.is_empty() {
        message_detail(ev)
    } else {
        Some(clip(&d.join("; "), MAX_TEXT))
    };
    r
}

/// The worker's health reports: `ISAPI '%1' reported itself as unhealthy for the following
/// reason: '%2'.` (names the ISAPI) and W3SVC-WP 2299 `An application has reported as being
/// unhealthy … Reason given: %1`. Kind `unhealthy`: WAS recycles the worker after it.
/// Classic ASP's own error events (source `Active Server Pages`): with the defaults ASP logs
/// its serious errors there beside the IIS log, among them ASP 0115, a component's fault that
/// ASP's exception handler caught (`notes/outages.md` §2.1). The process lived.
fn asp_error(ev: &RawEvent) -> Option<CrashRow> {
    let text = event_text(ev);
    let code = asp_code_in(&text)?;
    let mut r = base_row(CrashKind::UnhandledException);
    r.process_name = Some("w3wp.exe".into());
    let page = find_ci(&text, "File ")
        .and_then(|i| text[i + 5..].split_whitespace().next())
        .filter(|p| p.starts_with('/'));
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    r.detail = Some(clip(
        &match page {
            Some(p) => format!("{code} on {p}: {first}"),
            None => format!("{code}: {first}"),
        },
        MAX_TEXT,
    ));
    r.exception_name = Some(code);
    Some(r)
}

/// `ASP 0115` (or `ASP_0115`) in an event's text; the English text of 0115 without its number
/// counts as 0115.
fn asp_code_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let numbered = (0..b.len().saturating_sub(7)).find_map(|i| {
        let head = b[i..i + 3].eq_ignore_ascii_case(b"ASP") && matches!(b[i + 3], b' ' | b'_');
        let digits = b[i + 4..i + 8].iter().all(u8::is_ascii_digit);
        let alone = b.get(i + 8).is_none_or(|c| !c.is_ascii_digit());
        (head && digits && alone).then(|| format!("ASP {}", &text[i + 4..i + 8]))
    });
    numbered.or_else(|| {
        (contains_ci(text, "trappable error") && contains_ci(text, "external object"))
            .then(|| "ASP 0115".to_string())
    })
}

fn unhealthy(ev: &RawEvent) -> CrashRow {
    let mut r = base_row(CrashKind::Unhealthy);
    r.process_name = Some("w3wp.exe".into());
    let msg = ev.message.as_deref().unwrap_or("");
    let isapi = quoted_after(msg, "ISAPI '")
        .map(str::to_string)
        .or_else(|| {
            (ev.event_id != 2299)
                .then(|| field(&ev.data, &["ISAPI", "IsapiName"], 0).map(str::to_string))
                .flatten()
        });
    let reason = quoted_after(msg, "reason: '")
        .map(str::to_string)
        .or_else(|| {
            let pos = if ev.event_id == 2299 { 0 } else { 1 };
            field(&ev.data, &["Reason"], pos).map(str::to_string)
        });
    r.detail = Some(clip(
        &match (isapi, reason) {
            (Some(i), Some(re)) => format!("ISAPI {i} reported itself unhealthy: {re}"),
            (Some(i), None) => format!("ISAPI {i} reported itself unhealthy"),
            (None, Some(re)) => format!("application reported unhealthy: {re}"),
            (None, None) => {
                message_detail(ev).unwrap_or_else(|| "worker reported unhealthy".into())
            }
        },
        MAX_TEXT,
    ));
    r
}

#[cfg(test)]
mod tests;
