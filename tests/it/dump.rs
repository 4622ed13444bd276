//! Dumps: real fixtures (breakpad, rust-minidump) and synthetic w3wp layouts.

use crate::w3wp_dump::*;
use std::path::{Path, PathBuf};
use w3triage::analyze::judge::{JudgedRow, judged_rows};
use w3triage::ingest::dump::{DumpOptions, parse};
use w3triage::report::triage::render_triage;
use w3triage::tables::{FileCtx, Parsed};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dumps")
}

fn ctx(name: &str) -> FileCtx {
    FileCtx {
        id: 7,
        path: PathBuf::from(name),
        server: Some("WEB01".into()),
        site: None,
    }
}

fn parse_fixture(name: &str, symbols: bool) -> Parsed {
    let bytes = std::fs::read(fixtures().join(name)).unwrap();
    let opts = DumpOptions {
        symbols: symbols.then(|| fixtures().join("symbols")),
    };
    parse(&ctx(name), &bytes, &opts)
}

fn parse_bytes(name: &str, bytes: &[u8]) -> Parsed {
    parse(&ctx(name), bytes, &DumpOptions::default())
}

/// The one crash row of a parsed dump, judged (its facts and the verdict drawn from them).
fn one_crash(p: &Parsed) -> JudgedRow {
    assert_eq!(p.crashes.len(), 1, "issues: {:?}", p.issues);
    judged_rows(&p.crashes, &p.frames, &p.threads).remove(0)
}

fn detail_has(c: &JudgedRow, needle: &str) -> bool {
    c.detail.as_deref().is_some_and(|d| d.contains(needle))
}

/// (file, process, cpu, code, faulting module, offset) from tests/fixtures/NOTICE.md's source table.
const FIXTURES: &[(&str, &str, &str, u32, &str, u64)] = &[
    (
        "breakpad_ascii_read_av.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_read_av_block_write.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_read_av_clobber_write.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_read_av_conditional.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa80d,
    ),
    (
        "breakpad_ascii_read_av_then_jmp.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_read_av_xchg_write.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_write_av.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_ascii_write_av_arg_to_call.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_minidump2.dmp",
        "test_app.exe",
        "x86",
        0xC000_0005,
        "test_app.exe",
        0x429e,
    ),
    (
        "breakpad_minidump_32bit_crash_addr.dmp",
        "test_app.exe",
        "x86",
        0xC000_0005,
        "test_app.exe",
        0x429e,
    ),
    (
        "breakpad_null_read_av.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_null_write_av.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0xa6cd,
    ),
    (
        "breakpad_read_av_clobber_write.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0x1098,
    ),
    (
        "breakpad_read_av_conditional.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0x109e,
    ),
    (
        "breakpad_read_av_non_null.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0x1098,
    ),
    (
        "breakpad_stack_exhaustion.dmp",
        "crashme.exe",
        "x86",
        0xC000_00FD,
        "crashme.exe",
        0xa637,
    ),
    (
        "breakpad_thread_name_list.dmp",
        "allocer32.exe",
        "x86",
        0xC000_0005,
        "allocer32.exe",
        0x15fd,
    ),
    (
        "breakpad_tiny-exe-fastfail.dmp",
        "tiny.exe",
        "amd64",
        0xC000_0409,
        "tiny.exe",
        0x1af42,
    ),
    (
        "breakpad_write_av_non_canonical.dmp",
        "crash.exe",
        "amd64",
        0xC000_0005,
        "crash.exe",
        0x1331,
    ),
    (
        "breakpad_write_av_non_null.dmp",
        "crashme.exe",
        "x86",
        0xC000_0005,
        "crashme.exe",
        0x1097,
    ),
    (
        "rust-minidump_invalid-parameter.dmp",
        "CrashTest.exe",
        "amd64",
        0xC000_000D,
        "CrashTest.exe",
        0x7a9a3,
    ),
    (
        "rust-minidump_test.dmp",
        "test_app.exe",
        "x86",
        0xC000_0005,
        "test_app.exe",
        0x429e,
    ),
];

#[test]
fn fixtures_yield_the_documented_facts() {
    for &(file, process, cpu, code, module, offset) in FIXTURES {
        let p = parse_fixture(file, false);
        assert!(p.issues.is_empty(), "{file}: {:?}", p.issues);
        let c = one_crash(&p);
        assert_eq!(c.kind.name(), "crash", "{file}");
        assert_eq!(c.process_name.as_deref(), Some(process), "{file}");
        assert!(
            detail_has(&c, &format!("cpu: {cpu}")),
            "{file}: {:?}",
            c.detail
        );
        assert_eq!(c.exception_code, Some(code), "{file}");
        assert_eq!(c.faulting_module.as_deref(), Some(module), "{file}");
        assert_eq!(c.fault_offset, Some(offset), "{file}");
        assert!(
            c.bucket.is_some() && c.verdict.is_some() && c.confidence.is_some(),
            "{file}"
        );
        assert!(!p.modules.is_empty() && !p.frames.is_empty(), "{file}");
        assert_eq!(p.frames[0].index, 0);
        assert!(c.ts.is_some(), "{file}");
    }
}

#[test]
fn exception_names_and_os() {
    let p = parse_fixture("breakpad_ascii_write_av.dmp", false);
    let c = one_crash(&p);
    assert_eq!(
        c.exception_name.as_deref(),
        Some("EXCEPTION_ACCESS_VIOLATION_WRITE")
    );
    assert!(detail_has(&c, "os: Windows NT 6.1.7600"), "{:?}", c.detail);
    // crashme dumps are 32-bit processes on 64-bit Windows (SysWOW64 paths).
    assert!(
        detail_has(&c, "32-bit process on 64-bit Windows (WOW64)"),
        "{:?}",
        c.detail
    );
    let ff = parse_fixture("breakpad_tiny-exe-fastfail.dmp", false);
    let c = one_crash(&ff);
    assert_eq!(
        c.exception_name.as_deref(),
        Some("EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT")
    );
    assert!(
        c.verdict
            .as_deref()
            .unwrap()
            .contains("FAST_FAIL_FATAL_APP_EXIT"),
        "{:?}",
        c.verdict
    );
    assert!(detail_has(&c, "64-bit process"));
    assert_eq!(
        c.bucket.as_deref(),
        Some("c0000409_FATAL_APP_EXIT_tiny.exe+0x1af42")
    );
}

#[test]
fn invalid_parameter_uses_frame_zero() {
    let p = parse_fixture("rust-minidump_invalid-parameter.dmp", false);
    let c = one_crash(&p);
    assert_eq!(
        c.exception_name.as_deref(),
        Some("STATUS_INVALID_PARAMETER")
    );
    assert_eq!(p.frames[0].module.as_deref(), Some("CrashTest.exe"));
    assert_eq!(p.frames[0].module_offset, Some(0x7a9a3));
    assert!(detail_has(&c, "assertion:"), "{:?}", c.detail);
}

#[test]
fn stack_exhaustion_names_the_repeating_frame() {
    let p = parse_fixture("breakpad_stack_exhaustion.dmp", false);
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("crashme.exe"));
    assert_eq!(
        c.bucket.as_deref(),
        Some("c00000fd_STACK_OVERFLOW_crashme.exe+0xa6a6")
    );
    assert!(
        c.verdict.as_deref().unwrap().contains("repeats 239 times"),
        "{:?}",
        c.verdict
    );
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert_eq!(p.frames.len(), 246);
}

#[test]
fn exec_on_stack_has_no_faulting_module() {
    let p = parse_fixture("breakpad_exec_av_on_stack.dmp", false);
    let c = one_crash(&p);
    assert_eq!(c.process_name.as_deref(), Some("crashme1.exe"));
    assert_eq!(
        c.exception_name.as_deref(),
        Some("EXCEPTION_ACCESS_VIOLATION_EXEC")
    );
    assert_eq!(c.faulting_module, None);
    assert_eq!(c.fault_offset, None);
    assert_eq!(c.confidence.map(|v| v.name()), Some("low"));
    assert!(
        p.frames.iter().any(
            |f| f.module.as_deref() == Some("kernel32.dll") && f.module_offset == Some(0x13676)
        )
    );
}

#[test]
fn dumps_without_exception_stream() {
    for (file, cpu) in [
        ("breakpad_tiny-exe-with-cet-xsave-x86.dmp", "x86"),
        ("breakpad_tiny-exe-with-cet-xsave.dmp", "amd64"),
    ] {
        let p = parse_fixture(file, false);
        assert!(p.issues.is_empty(), "{file}: {:?}", p.issues);
        let c = one_crash(&p);
        assert_eq!(c.kind.name(), "dump", "{file}");
        assert_eq!(c.process_name.as_deref(), Some("tiny.exe"));
        assert_eq!(c.exception_code, None);
        assert_eq!(c.faulting_module, None);
        assert!(detail_has(&c, &format!("cpu: {cpu}")));
        assert_eq!(c.bucket.as_deref(), Some("NO_EXCEPTION_tiny.exe"));
        assert!(p.frames.is_empty(), "no crashing thread in a manual dump");
    }
    let p = parse_fixture("breakpad_tiny-exe-with-cet-xsave.dmp", false);
    let unloaded: Vec<_> = p
        .modules
        .iter()
        .filter(|m| m.unloaded)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(unloaded, ["shcore.dll"]);
    assert!(detail_has(&one_crash(&p), "memory: committed"));
}

#[test]
fn symbols_give_function_and_line() {
    let p = parse_fixture("rust-minidump_test.dmp", true);
    let f = &p.frames[0];
    assert_eq!(f.module.as_deref(), Some("test_app.exe"));
    assert_eq!(
        f.function.as_deref(),
        Some("`anonymous namespace'::CrashFunction")
    );
    assert_eq!(f.source_line, Some(58));
    assert!(
        f.source_file.as_deref().unwrap().ends_with("test_app.cc"),
        "{:?}",
        f.source_file
    );
    // Without symbols: no function names.
    let bare = parse_fixture("rust-minidump_test.dmp", false);
    assert_eq!(bare.frames[0].function, None);
}

#[test]
fn module_rows() {
    let p = parse_fixture("breakpad_thread_name_list.dmp", false);
    let ntdll = p
        .modules
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case("ntdll.dll"));
    if let Some(m) = ntdll {
        assert_eq!(m.class.name(), "os_core");
    }
    let main = p
        .modules
        .iter()
        .find(|m| m.name == "allocer32.exe")
        .unwrap();
    assert!(main.third_party);
    assert_eq!(main.class.name(), "third_party");
    assert!(main.timestamp.is_some() && main.size > 0 && !main.unloaded);
}

// ---- synthetic w3wp dumps, one per verdict rule ----

#[test]
fn third_party_isapi_filter_av() {
    let mut d = W3wpDump::new(false);
    d.modules.push(
        ModSpec::new(
            r"C:\Program Files\Helicon\ISAPI_Rewrite3\ISAPI_Rewrite.dll",
            0x1000_0000,
            0x6_0000,
        )
        .version([3, 1, 0, 112]),
    );
    d.pid = Some(5120);
    let ip = d.addr("ISAPI_Rewrite.dll", 0x1_2345);
    let callers = [
        d.addr("filter.dll", 0x21a4),
        d.addr("w3dt.dll", 0x5b20),
        d.addr("iiscore.dll", 0x1_7d40),
        d.addr("ntdll.dll", 0x6_7a2b),
    ];
    let bytes = d.crash(0xC000_0005, ip, &[0, 0x10], &callers).build();
    let name = "w3wp__DefaultAppPool__PID__5120__Date__03_14_2025__Time_02_15_09PM__611__Second_Chance_Exception_C0000005.dmp";
    let p = parse_bytes(name, &bytes);
    let c = one_crash(&p);
    assert_eq!(c.pid, Some(5120));
    assert_eq!(c.process_name.as_deref(), Some("w3wp.exe"));
    assert_eq!(c.app_pool.as_deref(), Some("DefaultAppPool"));
    assert_eq!(c.chance.as_deref(), Some("second"));
    assert_eq!(c.ts, Some(1_700_003_600_000));
    assert_eq!(c.process_start, Some(1_700_000_000_000));
    assert_eq!(
        c.exception_name.as_deref(),
        Some("EXCEPTION_ACCESS_VIOLATION_READ")
    );
    assert_eq!(c.faulting_module.as_deref(), Some("ISAPI_Rewrite.dll"));
    assert_eq!(c.faulting_module_version.as_deref(), Some("3.1.0.112"));
    assert_eq!(c.fault_offset, Some(0x1_2345));
    assert_eq!(c.suspect_module.as_deref(), Some("ISAPI_Rewrite.dll"));
    assert_eq!(c.suspect_class.map(|v| v.name()), Some("third_party_known"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("isapi_filter"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert_eq!(
        c.bucket.as_deref(),
        Some("c0000005_AV_READ_ISAPI_Rewrite.dll+0x12345")
    );
    assert!(
        c.verdict.as_deref().unwrap().contains("Helicon Tech"),
        "{:?}",
        c.verdict
    );
    assert!(detail_has(&c, "data address 0x10"), "{:?}", c.detail);
    let mods: Vec<_> = p
        .frames
        .iter()
        .map(|f| f.module.as_deref().unwrap_or("?"))
        .collect();
    assert_eq!(
        mods[..5],
        [
            "ISAPI_Rewrite.dll",
            "filter.dll",
            "w3dt.dll",
            "iiscore.dll",
            "ntdll.dll"
        ],
        "{:?}",
        p.frames
    );
    assert_eq!(p.frames[0].trust.name(), "context");
    assert_eq!(p.frames[1].trust.name(), "frame_pointer");
    let m = p
        .modules
        .iter()
        .find(|m| m.name == "ISAPI_Rewrite.dll")
        .unwrap();
    assert!(m.third_party && m.class.name() == "third_party_known" && m.pid == Some(5120));
    let text = render_triage(&p, Path::new(name));
    assert!(
        text.contains("suspect : ISAPI_Rewrite.dll [third_party_known] confidence high\n  role    : ISAPI filter [isapi_filter]\n"),
        "{text}"
    );
    assert!(
        text.contains("in ISAPI_Rewrite.dll (Helicon Tech ISAPI_Rewrite), a third-party ISAPI filter (called by IIS's ISAPI filter host filter.dll)."),
        "{text}"
    );
    assert!(text.contains("third-party modules:"), "{text}");
}

#[test]
fn heap_corruption_is_a_victim_stack() {
    let mut d = W3wpDump::new(false);
    d.modules.push(ModSpec::new(
        r"C:\inetpub\components\LegacyCart.dll",
        0x1100_0000,
        0x4_0000,
    ));
    let ip = d.addr("ntdll.dll", 0xe_1f3a);
    let callers = [
        d.addr("ntdll.dll", 0x7_0c21),
        d.addr("oleaut32.dll", 0x4a10),
        d.addr("LegacyCart.dll", 0x2b7c),
        d.addr("combase.dll", 0x1_1220),
        d.addr("w3isapi.dll", 0x3000),
    ];
    let bytes = d.crash(0xC000_0374, ip, &[], &callers).build();
    let p = parse_bytes("w3wp.exe_250314_141509.dmp", &bytes);
    let c = one_crash(&p);
    assert_eq!(c.exception_name.as_deref(), Some("STATUS_HEAP_CORRUPTION"));
    assert_eq!(c.faulting_module.as_deref(), Some("ntdll.dll"));
    assert_eq!(c.suspect_module.as_deref(), Some("LegacyCart.dll"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("low"));
    let v = c.verdict.as_deref().unwrap();
    assert!(v.contains("gflags /p /enable w3wp.exe /full"), "{v}");
    assert!(v.contains("victim"), "{v}");
    assert_eq!(
        c.bucket.as_deref(),
        Some("c0000374_HEAP_CORRUPTION_LegacyCart.dll")
    );
    assert!(detail_has(&c, "writer: ProcDump"));
}

#[test]
fn stack_overflow_most_repeated_frame() {
    let mut d = W3wpDump::new(false);
    d.modules.push(ModSpec::new(
        r"D:\sites\shop\bin\native\XmlWalker.dll",
        0x1200_0000,
        0x2_0000,
    ));
    d.stack_size = 0x2000;
    let rec = d.addr("XmlWalker.dll", 0x1a2b);
    let mut callers = vec![d.addr("ntdll.dll", 0x1000)];
    callers.extend(std::iter::repeat_n(rec, 60));
    callers.push(d.addr("w3isapi.dll", 0x3000));
    let ip = d.addr("ntdll.dll", 0x2000);
    let bytes = d
        .crash(0xC000_00FD, ip, &[1, 0x0018_f000], &callers)
        .build();
    let p = parse_bytes("w3wp.dmp", &bytes);
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("XmlWalker.dll"));
    assert_eq!(
        c.bucket.as_deref(),
        Some("c00000fd_STACK_OVERFLOW_XmlWalker.dll+0x1a2a")
    );
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert!(
        c.verdict.as_deref().unwrap().contains("repeats 60 times"),
        "{:?}",
        c.verdict
    );
}

#[test]
fn call_into_unloaded_dll() {
    let mut d = W3wpDump::new(false);
    d.unloaded.push(ModSpec::new(
        r"C:\Filters\OldAuthFilter.dll",
        0x1300_0000,
        0x1_0000,
    ));
    let ip = d.addr("OldAuthFilter.dll", 0x1234);
    let callers = [
        d.addr("filter.dll", 0x21a4),
        d.addr("iiscore.dll", 0x1_7d40),
    ];
    let bytes = d.crash(0xC000_0005, ip, &[8, ip], &callers).build();
    let p = parse_bytes("w3wp.dmp", &bytes);
    let c = one_crash(&p);
    assert_eq!(
        c.exception_name.as_deref(),
        Some("EXCEPTION_ACCESS_VIOLATION_EXEC")
    );
    assert_eq!(
        c.faulting_module.as_deref(),
        Some("OldAuthFilter.dll (unloaded)")
    );
    assert_eq!(c.fault_offset, Some(0x1234));
    assert_eq!(c.suspect_module.as_deref(), Some("OldAuthFilter.dll"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("isapi_filter"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert!(
        c.verdict.as_deref().unwrap().contains(
            "Find who loads and frees OldAuthFilter.dll (an ISAPI filter, called by IIS's ISAPI filter host filter.dll)"
        ),
        "{:?}",
        c.verdict
    );
    assert_eq!(
        c.bucket.as_deref(),
        Some("c0000005_AV_EXEC_unloaded_OldAuthFilter.dll+0x1234")
    );
    assert!(
        c.verdict
            .as_deref()
            .unwrap()
            .contains("after it was unloaded")
    );
    let m = p.modules.iter().find(|m| m.unloaded).unwrap();
    assert_eq!(
        (m.name.as_str(), m.third_party),
        ("OldAuthFilter.dll", true)
    );
    assert!(detail_has(&c, "unloaded: OldAuthFilter.dll"));
}

#[test]
fn clr_exception_through_jit_code() {
    let mut d = W3wpDump::new(true);
    // JIT heap: executable private memory owned by no module.
    let jit = 0x7ffc_0010_0000u64;
    d.regions.push(RegionSpec {
        base: jit,
        size: 0x10_0000,
        state: MEM_COMMIT,
        protect: PAGE_EXECUTE_READWRITE,
        ty: MEM_PRIVATE,
    });
    let raise = d.addr("KERNELBASE.dll", 0x3_a799);
    let callers = [
        d.addr("clr.dll", 0x1_0f2c),
        jit + 0x1234,
        d.addr("clr.dll", 0x2_0100),
        d.addr("webengine4.dll", 0x1_1d0c),
    ];
    let bytes = d
        .crash(
            0xE043_4352,
            raise,
            &[0x8013_1500, 0, 0, 0, 0x7ffc_2000_0000],
            &callers,
        )
        .build();
    let p = parse_bytes(
        "w3wp__ShopPool__PID__4242__Date__01_02_2025__Time_10_00_00AM__1__Second_Chance_Exception_E0434352.dmp",
        &bytes,
    );
    let c = one_crash(&p);
    assert_eq!(c.exception_code, Some(0xE043_4352));
    assert_eq!(c.app_pool.as_deref(), Some("ShopPool"));
    assert_eq!(c.faulting_module.as_deref(), Some("KERNELBASE.dll"));
    assert_eq!(
        c.suspect_class.map(|v| v.name()),
        Some("dynamic_code"),
        "{c:?} frames {:?}",
        p.frames
    );
    assert_eq!(c.suspect_module.as_deref(), Some("JIT/dynamic code"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("managed_code"));
    assert!(
        c.verdict.as_deref().unwrap().contains("SOS"),
        "{:?}",
        c.verdict
    );
    assert!(detail_has(&c, "cpu: amd64"));
}

#[test]
fn wow64_view_of_a_32bit_w3wp() {
    let mut d = W3wpDump::new(true);
    d.modules = vec![
        ModSpec::new(r"C:\Windows\SysWOW64\inetsrv\w3wp.exe", 0x0040_0000, 0x8000),
        ModSpec::new(
            r"C:\Windows\System32\ntdll.dll",
            0x7ffc_5000_0000,
            0x001f_0000,
        ),
        ModSpec::new(r"C:\Windows\System32\wow64.dll", 0x7ffc_4e00_0000, 0x5_0000),
        ModSpec::new(r"C:\Windows\System32\wow64cpu.dll", 0x7700_0000, 0x1_0000),
        ModSpec::new(r"C:\Windows\SysWOW64\ntdll.dll", 0x7760_0000, 0x0019_a000),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\iiscore.dll",
            0x6c00_0000,
            0x0008_0000,
        ),
        ModSpec::new(
            r"C:\Program Files (x86)\Acme\AcmeSso.dll",
            0x1000_0000,
            0x5_0000,
        ),
    ];
    // The 64-bit view: the thread sits in wow64cpu; the exception address is the 32-bit fault.
    let wow = d.addr("wow64cpu.dll", 0x1cf3);
    let callers = [d.addr("wow64.dll", 0x7e63), d.addr("ntdll.dll", 0x4_1b56)];
    let mut dd = d.crash(0xC000_0005, wow, &[1, 0x0], &callers);
    let fault = dd.addr("AcmeSso.dll", 0x4_0c0d);
    dd.exception.as_mut().unwrap().address = fault;
    let p = parse_bytes("w3wp.dmp", &dd.build());
    let c = one_crash(&p);
    assert_eq!(c.faulting_module.as_deref(), Some("AcmeSso.dll"));
    assert_eq!(c.fault_offset, Some(0x4_0c0d));
    assert_eq!(c.suspect_module.as_deref(), Some("AcmeSso.dll"));
    assert!(
        detail_has(&c, "32-bit process (WOW64), 64-bit dump"),
        "{:?}",
        c.detail
    );
    assert!(detail_has(&c, "WOW64 layer"), "{:?}", c.detail);
}

/// A 32-bit w3wp with `idle` idle threads and thread 0x9999 spinning in the ISAPI filter
/// `RegexFilter.dll` (400 s of user time), with a ThreadInfoList.
pub fn spinning_filter(idle: usize) -> W3wpDump {
    let mut d = W3wpDump::new(false).idle_threads(idle);
    d.modules.push(ModSpec::new(
        r"C:\inetpub\bin\RegexFilter.dll",
        0x1400_0000,
        0x1_0000,
    ));
    let spin = d.addr("RegexFilter.dll", 0x444);
    let caller = d.addr("w3isapi.dll", 0x3000);
    d.threads
        .push(ThreadSpec::new(0x9999, spin, &[caller], 0x0900_0000).times(4_000_000_000, 10_000));
    d.thread_info = true;
    d
}

#[test]
fn hang_dump_with_runaway_thread_and_many_threads() {
    let mut d = spinning_filter(299);
    d.comment = Some("procdump -ma w3wp.exe AppPool: Reports".into());
    let p = parse_bytes("w3wp.exe_250101_101010.dmp", &d.build());
    let c = one_crash(&p);
    assert_eq!(c.kind.name(), "dump");
    assert_eq!(c.app_pool.as_deref(), Some("Reports"));
    assert_eq!(c.suspect_module.as_deref(), Some("RegexFilter.dll"));
    assert_eq!(c.bucket.as_deref(), Some("RUNAWAY_THREAD_RegexFilter.dll"));
    let v = c.verdict.as_deref().unwrap();
    assert!(v.contains("very high thread count (300 threads)"), "{v}");
    assert!(v.contains("runaway thread 0x9999"), "{v}");
    assert!(detail_has(&c, "threads: 300"));
}

/// ProcDump or DebugDiag attached to a hung worker: the exception stream records the dumper's
/// own break-in (0x80000003 on its injected thread, only ntdll and kernel32 frames). A hang
/// dump, not a crash; the runaway thread still names its module.
#[test]
fn the_dumpers_own_break_in_is_a_hang_dump_not_a_crash() {
    let d = spinning_filter(20);
    let brk = d.addr("ntdll.dll", 0x2_1a30);
    let callers = [
        d.addr("ntdll.dll", 0x5_0f10),
        d.addr("kernel32.dll", 0x1_8c34),
    ];
    let p = parse_bytes(
        "w3wp.exe_250101_101010.dmp",
        &d.crash(0x8000_0003, brk, &[], &callers).build(),
    );
    let c = one_crash(&p);
    assert_eq!(c.kind.name(), "dump", "the break-in is not a crash");
    assert_eq!(c.exception_code, Some(0x8000_0003));
    assert_eq!(c.bucket.as_deref(), Some("RUNAWAY_THREAD_RegexFilter.dll"));

    // A DebugBreak in the filter's own code is a crash.
    let mut d = W3wpDump::new(false).idle_threads(2);
    d.modules.push(ModSpec::new(
        r"C:\inetpub\bin\RegexFilter.dll",
        0x1400_0000,
        0x1_0000,
    ));
    let ip = d.addr("ntdll.dll", 0x2_1a30);
    let callers = [
        d.addr("RegexFilter.dll", 0x500),
        d.addr("w3isapi.dll", 0x3000),
    ];
    let p = parse_bytes("w3wp.dmp", &d.crash(0x8000_0003, ip, &[], &callers).build());
    assert_eq!(one_crash(&p).kind.name(), "crash");
}

#[test]
fn address_space_exhaustion_in_32bit_pool() {
    let mut d = W3wpDump::new(false);
    d.regions.push(RegionSpec {
        base: 0x0100_0000,
        size: 1_500 << 20,
        state: MEM_COMMIT,
        protect: PAGE_READWRITE,
        ty: MEM_PRIVATE,
    });
    d.regions.push(RegionSpec {
        base: 0x6000_0000,
        size: 300 << 20,
        state: MEM_RESERVE,
        protect: PAGE_READWRITE,
        ty: MEM_PRIVATE,
    });
    let ip = d.addr("KERNELBASE.dll", 0x1_2345);
    let callers = [d.addr("iiscore.dll", 0x100)];
    let p = parse_bytes("w3wp.dmp", &d.crash(0xC000_0017, ip, &[], &callers).build());
    let c = one_crash(&p);
    assert!(
        c.verdict
            .as_deref()
            .unwrap()
            .contains("address space nearly exhausted"),
        "{:?}",
        c.verdict
    );
    assert!(
        detail_has(&c, "memory: committed 1500 MiB, reserved 300 MiB"),
        "{:?}",
        c.detail
    );
}

// ---- bad input ----

fn issue_messages(p: &Parsed) -> Vec<String> {
    p.issues
        .iter()
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect()
}

#[test]
fn bad_input_becomes_issues() {
    let good = std::fs::read(fixtures().join("breakpad_minidump2.dmp")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty file"),
        (
            "short",
            good[..20].to_vec(),
            "shorter than the 32-byte minidump header",
        ),
        (
            "magic",
            b"MZ\x90\x00"
                .iter()
                .copied()
                .chain(good[4..].iter().copied())
                .collect(),
            "wrong magic",
        ),
        ("directory", good[..40].to_vec(), "past the end of the file"),
        (
            "version",
            {
                let mut b = good.clone();
                b[4] = 0;
                b[5] = 0;
                b
            },
            "unknown minidump version",
        ),
        (
            "no streams",
            {
                let mut b = good.clone();
                b[8..12].copy_from_slice(&0u32.to_le_bytes());
                b
            },
            "0 streams",
        ),
        (
            "absurd count",
            {
                let mut b = good.clone();
                b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
                b
            },
            "absurd stream count",
        ),
    ];
    for (what, bytes, needle) in cases {
        let p = parse_bytes("bad.dmp", &bytes);
        assert!(p.crashes.is_empty(), "{what}");
        assert_eq!(p.issues.len(), 1, "{what}: {:?}", issue_messages(&p));
        assert_eq!(p.issues[0].code, "corrupt_dump");
        assert!(
            p.issues[0].message.contains(needle),
            "{what}: {:?}",
            issue_messages(&p)
        );
    }
}

#[test]
fn truncated_dump_still_being_written() {
    let good = std::fs::read(fixtures().join("breakpad_ascii_read_av.dmp")).unwrap();
    // Cut at several points; never panic, always an issue or a (partial) crash row.
    for cut in [33, 100, 1000, good.len() / 2] {
        let p = parse_bytes("w3wp.dmp", &good[..cut]);
        assert!(!p.issues.is_empty(), "cut {cut}: no issue");
        assert!(
            p.issues.iter().all(|i| i.code == "corrupt_dump"),
            "cut {cut}"
        );
        assert!(p.crashes.len() <= 1);
    }
    let p = parse_bytes("w3wp.dmp", &good[..good.len() / 2]);
    assert!(
        issue_messages(&p)
            .iter()
            .any(|m| m.contains("the file ends at byte")),
        "{:?}",
        issue_messages(&p)
    );
}

#[test]
fn absurd_stream_sizes_are_not_trusted() {
    let mut b = std::fs::read(fixtures().join("breakpad_minidump2.dmp")).unwrap();
    let count = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
    let dir = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    for i in 0..count {
        let at = dir + i * 12 + 4;
        b[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    }
    let p = parse_bytes("w3wp.dmp", &b);
    assert!(!p.issues.is_empty());
    assert!(
        issue_messages(&p)
            .iter()
            .any(|m| m.contains("4294967280 bytes")),
        "{:?}",
        issue_messages(&p)
    );
}

#[test]
fn zero_filled_tail_and_garbage_do_not_panic() {
    let good = std::fs::read(fixtures().join("breakpad_tiny-exe-fastfail.dmp")).unwrap();
    let mut state = 0x1234_5678u32;
    for round in 0..64 {
        let mut b = good.clone();
        // Flip bytes in the first 4 KiB (header, directory, small streams): xorshift, deterministic.
        for _ in 0..16 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let at = (state as usize) % 4096.min(b.len());
            b[at] = (state >> 8) as u8;
        }
        if round % 4 == 0 {
            let half = b.len() / 2;
            b[half..].fill(0);
        }
        let p = parse_bytes("fuzz.dmp", &b);
        assert!(
            p.crashes.len() + p.issues.len() >= 1,
            "round {round}: file not accounted for"
        );
    }
}

#[test]
fn cli_dump_text_and_json() {
    let exe = env!("CARGO_BIN_EXE_w3triage");
    let f = fixtures().join("breakpad_stack_exhaustion.dmp");
    let out = std::process::Command::new(exe)
        .arg("dump")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("bucket  : c00000fd_STACK_OVERFLOW_crashme.exe+0xa6a6"),
        "{text}"
    );
    assert!(
        text.contains("crashme.exe+0xa6a6 (frame_pointer) x239"),
        "{text}"
    );
    // crashme.exe is not an IIS worker: no app pool is asked for.
    assert!(
        text.contains("process : crashme.exe pid 5416 (not an IIS worker process)"),
        "{text}"
    );
    let sym = fixtures().join("symbols");
    let g = fixtures().join("rust-minidump_test.dmp");
    let out = std::process::Command::new(exe)
        .args(["dump", "--format", "json", "--symbols"])
        .arg(&sym)
        .arg(&g)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["crashes"][0]["faulting_module"], "test_app.exe");
    assert_eq!(v[0]["crashes"][0]["fault_offset"], 0x429e);
    assert_eq!(v[0]["frames"][0]["source_line"], 58);
    // A bad file: exit code 1 and an issue, the other file still triaged.
    let bad = std::env::temp_dir().join(format!("w3triage-bad-{}.dmp", std::process::id()));
    std::fs::write(&bad, b"MDMP").unwrap();
    let out = std::process::Command::new(exe)
        .arg("dump")
        .arg(&bad)
        .arg(&g)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("corrupt_dump: truncated: 4 bytes"), "{text}");
    assert!(
        text.contains("c0000005_AV_WRITE_test_app.exe+0x429e"),
        "{text}"
    );
}

// ---- the suspect's role, from its caller on the crashing stack ----

/// A read AV in third-party `C:\Program Files\Vendor\Vendor.dll` (x86), two frames of its own,
/// then `callers`; the dump also has the hosts of [`host_modules_x86`] and the `extra` modules.
fn vendor_crash(extra: Vec<ModSpec>, callers: impl Fn(&W3wpDump) -> Vec<u64>) -> Parsed {
    let mut d = W3wpDump::new(false);
    d.modules.extend(host_modules_x86());
    d.modules.push(ModSpec::new(
        r"C:\Program Files\Vendor\Vendor.dll",
        0x1000_0000,
        0x5_0000,
    ));
    d.modules.extend(extra);
    let ip = d.addr("Vendor.dll", 0x1_b4c7);
    let mut all = vec![d.addr("Vendor.dll", 0x9e16)];
    all.extend(callers(&d));
    let bytes = d.crash(0xC000_0005, ip, &[0, 0x4e_004e], &all).build();
    parse_bytes("w3wp.dmp", &bytes)
}

fn why(c: &JudgedRow) -> &str {
    c.detail
        .as_deref()
        .and_then(|d| d.split("; ").find(|p| p.starts_with("why: ")))
        .unwrap_or("")
}

#[test]
fn role_from_the_caller_of_a_third_party_dll() {
    // (caller, offset in it, role, how the verdict names the caller)
    let cases: &[(&str, u64, &str, &str)] = &[
        (
            "filter.dll",
            0x3b1d,
            "isapi_filter",
            "a third-party ISAPI filter (called by IIS's ISAPI filter host filter.dll)",
        ),
        (
            "isapi.dll",
            0x2a10,
            "isapi_extension",
            "a third-party ISAPI extension (called by IIS's ISAPI extension host isapi.dll)",
        ),
        (
            "w3isapi.dll",
            0x3000,
            "isapi_extension",
            "(called by IIS's ISAPI extension host w3isapi.dll)",
        ),
        (
            "oleaut32.dll",
            0x4a10,
            "com_object",
            "a third-party COM object (called by COM dispatch in oleaut32.dll)",
        ),
        (
            "combase.dll",
            0x1_1220,
            "com_object",
            "(called by COM dispatch in combase.dll)",
        ),
        (
            "comsvcs.dll",
            0x2_0400,
            "com_object",
            "(called by COM dispatch in comsvcs.dll)",
        ),
        (
            "asp.dll",
            0x1_2000,
            "com_object",
            "(called by classic ASP asp.dll)",
        ),
        (
            "vbscript.dll",
            0x2_1000,
            "com_object",
            "(called by the classic ASP script engine vbscript.dll)",
        ),
        (
            "clr.dll",
            0x1_0f2c,
            "managed_pinvoke",
            "a third-party native library called from managed code (P/Invoke) (called by the .NET runtime clr.dll)",
        ),
        (
            "iiscore.dll",
            0x2_a6f0,
            "native_module",
            "a third-party native IIS module (called by the IIS pipeline iiscore.dll)",
        ),
        (
            "aspnetcorev2.dll",
            0x1_1000,
            "ancm",
            "(called by the ASP.NET Core Module aspnetcorev2.dll)",
        ),
    ];
    for &(caller, off, role, said) in cases {
        let p = vendor_crash(Vec::new(), |d| {
            vec![d.addr(caller, off), d.addr("ntdll.dll", 0x6_7a2b)]
        });
        let c = one_crash(&p);
        assert_eq!(c.suspect_module.as_deref(), Some("Vendor.dll"), "{caller}");
        assert_eq!(
            c.suspect_class.map(|v| v.name()),
            Some("third_party"),
            "{caller}"
        );
        assert_eq!(
            c.suspect_role.map(|v| v.name()),
            Some(role),
            "{caller}: {c:?}"
        );
        assert_eq!(c.confidence.map(|v| v.name()), Some("high"), "{caller}");
        let v = c.verdict.as_deref().unwrap();
        assert!(
            v.starts_with("An access violation (read) at Vendor.dll+0x1b4c7 in Vendor.dll, "),
            "{v}"
        );
        assert!(v.contains(said), "{caller}: {v}");
        assert!(
            why(&c).contains(&format!("role {role}: frame 2 (")),
            "{caller}: {}",
            why(&c)
        );
        let text = render_triage(&p, Path::new("w3wp.dmp"));
        assert!(text.contains("  role    : "), "{text}");
        assert!(text.contains(&format!(" [{role}]\n")), "{text}");
    }
}

#[test]
fn role_from_jit_caller_is_pinvoke_not_managed_code() {
    let mut d = W3wpDump::new(true);
    let jit = 0x7ffc_0010_0000u64;
    d.regions.push(RegionSpec {
        base: jit,
        size: 0x10_0000,
        state: MEM_COMMIT,
        protect: PAGE_EXECUTE_READWRITE,
        ty: MEM_PRIVATE,
    });
    d.modules.push(ModSpec::new(
        r"D:\sites\shop\bin\x64\libsodium.dll",
        0x7ffc_1000_0000,
        0x6_0000,
    ));
    let ip = d.addr("libsodium.dll", 0x2_0a10);
    let callers = [
        jit + 0x1234,
        d.addr("clr.dll", 0x2_0100),
        d.addr("webengine4.dll", 0x1_1d0c),
    ];
    let p = parse_bytes(
        "w3wp.dmp",
        &d.crash(0xC000_0005, ip, &[1, 0x18], &callers).build(),
    );
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("libsodium.dll"));
    assert_eq!(
        c.suspect_role.map(|v| v.name()),
        Some("managed_pinvoke"),
        "{c:?}"
    );
    let v = c.verdict.as_deref().unwrap();
    assert!(
        v.contains("(called by JIT-compiled managed code)"),
        "{v} {:?}",
        p.frames
    );
}

#[test]
fn role_unknown_without_a_host_caller_lowers_confidence() {
    // Its own thread: kernel32!BaseThreadInitThunk → ntdll.
    let p = vendor_crash(Vec::new(), |d| {
        vec![
            d.addr("kernel32.dll", 0x1_8c34),
            d.addr("ntdll.dll", 0x6_7a2b),
        ]
    });
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("Vendor.dll"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("native_module"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("medium"), "{c:?}");
    let v = c.verdict.as_deref().unwrap();
    assert!(
        v.contains("in Vendor.dll, a third-party native module (the crashing stack does not show which host calls it)"),
        "{v}"
    );
    assert!(why(&c).contains("role unknown, native_module assumed: the frame below Vendor.dll is kernel32.dll (Windows core)"), "{}", why(&c));

    // The stack ends in the DLL: nothing below it.
    let p = vendor_crash(Vec::new(), |_| Vec::new());
    let c = one_crash(&p);
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("native_module"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("medium"));
    assert!(
        why(&c).contains("its caller is not in the dump"),
        "{}",
        why(&c)
    );

    // A known filter keeps its role by name, at full confidence.
    let mut d = W3wpDump::new(false);
    d.modules.push(ModSpec::new(
        r"C:\Program Files\Helicon\ISAPI_Rewrite3\ISAPI_Rewrite.dll",
        0x1200_0000,
        0x6_0000,
    ));
    let ip = d.addr("ISAPI_Rewrite.dll", 0x1_2345);
    let callers = [
        d.addr("kernel32.dll", 0x1_8c34),
        d.addr("ntdll.dll", 0x6_7a2b),
    ];
    let p = parse_bytes(
        "w3wp.dmp",
        &d.crash(0xC000_0005, ip, &[0, 0x10], &callers).build(),
    );
    let c = one_crash(&p);
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("isapi_filter"));
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert!(
        why(&c).contains("role isapi_filter from the known-module table"),
        "{}",
        why(&c)
    );
    assert!(
        c.verdict.as_deref().unwrap().contains(
            "in ISAPI_Rewrite.dll (Helicon Tech ISAPI_Rewrite), a third-party ISAPI filter."
        ),
        "{:?}",
        c.verdict
    );
}

#[test]
fn role_through_runtimes_and_add_ons_and_not_by_a_decoy_name() {
    // Vendor.dll ← the CRT ← VendorCore.dll ← filter.dll: still an ISAPI filter.
    let p = vendor_crash(
        vec![ModSpec::new(
            r"C:\Program Files\Vendor\VendorCore.dll",
            0x1100_0000,
            0x3_0000,
        )],
        |d| {
            vec![
                d.addr("msvcr120.dll", 0x2_3456),
                d.addr("VendorCore.dll", 0x1a40),
                d.addr("filter.dll", 0x3b1d),
                d.addr("iiscore.dll", 0x2_a6f0),
            ]
        },
    );
    let c = one_crash(&p);
    assert_eq!(
        c.suspect_role.map(|v| v.name()),
        Some("isapi_filter"),
        "{c:?}"
    );
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert!(
        c.verdict.as_deref().unwrap().contains(
            "(called through msvcr120.dll, VendorCore.dll by IIS's ISAPI filter host filter.dll)"
        ),
        "{:?}",
        c.verdict
    );
    // A third-party DLL named filter.dll outside Windows is no ISAPI filter host.
    let decoy = ModSpec::new(r"C:\inetpub\wwwroot\bin\filter.dll", 0x1300_0000, 0x1_0000);
    let p = vendor_crash(vec![decoy], |d| {
        vec![0x1300_0000 + 0x120, d.addr("iiscore.dll", 0x2_a6f0)]
    });
    let c = one_crash(&p);
    assert_eq!(
        c.suspect_role.map(|v| v.name()),
        Some("native_module"),
        "{c:?}"
    );
    assert_eq!(c.confidence.map(|v| v.name()), Some("high"));
    assert!(
        c.verdict
            .as_deref()
            .unwrap()
            .contains("(called through filter.dll by the IIS pipeline iiscore.dll)"),
        "{:?}",
        c.verdict
    );
}

#[test]
fn role_of_a_suspect_reached_by_walking_past_windows() {
    // The AV is in ntdll; the first non-system frame is Vendor.dll, called by COM dispatch.
    let mut d = W3wpDump::new(false);
    d.modules.push(ModSpec::new(
        r"C:\Program Files\Vendor\Vendor.dll",
        0x1000_0000,
        0x5_0000,
    ));
    let ip = d.addr("ntdll.dll", 0x4_5a10);
    let callers = [
        d.addr("Vendor.dll", 0x2b7c),
        d.addr("oleaut32.dll", 0x4a10),
        d.addr("w3isapi.dll", 0x3000),
    ];
    let p = parse_bytes(
        "w3wp.dmp",
        &d.crash(0xC000_0005, ip, &[1, 0x0], &callers).build(),
    );
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("Vendor.dll"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("com_object"));
    assert!(
        c.verdict.as_deref().unwrap().contains(
            ", reached from frame 1: Vendor.dll, a third-party COM object (called by COM dispatch in oleaut32.dll)."
        ),
        "{:?}",
        c.verdict
    );
    // Microsoft suspects have no role.
    let mut d = W3wpDump::new(true);
    let ip = d.addr("webengine4.dll", 0x1_1d0c);
    let callers = [d.addr("iiscore.dll", 0x2_a6f0)];
    d = d.crash(0xC000_0005, ip, &[0, 0x0], &callers);
    let p = parse_bytes("w3wp.dmp", &d.build());
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("webengine4.dll"));
    assert_eq!(c.suspect_role, None);
}

#[test]
fn detail_parts_never_split_inside_a_value() {
    let mut d = W3wpDump::new(false).idle_threads(3);
    d.thread_info = true;
    d.comment = Some("procdump -ma w3wp.exe; taken by ops; AppPool: Reports".into());
    let ip = d.addr("ntdll.dll", 0x4_5a10);
    let callers = [d.addr("iiscore.dll", 0x2_a6f0)];
    let d = d.crash(0xC000_0005, ip, &[0, 0x0], &callers);
    let p = parse_bytes("w3wp.dmp", &d.build());
    let c = one_crash(&p);
    assert!(
        detail_has(&c, "threads: 4 (user CPU 0.0 s in all, top thread 0x"),
        "{:?}",
        c.detail
    );
    assert!(
        detail_has(
            &c,
            "comment: procdump -ma w3wp.exe, taken by ops, AppPool: Reports"
        ),
        "{:?}",
        c.detail
    );
    let text = render_triage(&p, Path::new("w3wp.dmp"));
    for line in text.lines() {
        let l = line.trim_start();
        assert!(
            !l.starts_with("top thread") && !l.starts_with("taken by") && !l.starts_with("walked"),
            "broken detail line {line:?} in\n{text}"
        );
    }
}

#[test]
fn sample_outage_names_an_isapi_filter() {
    let exe = env!("CARGO_BIN_EXE_w3triage");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/outage");
    let dumps = root.join("WEB01/dumps");
    let d7344 = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("__PID__7344__"))
        .unwrap();
    let out = std::process::Command::new(exe)
        .arg("dump")
        .arg(&d7344)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  role    : ISAPI filter [isapi_filter]\n"),
        "{text}"
    );
    assert!(
        text.contains("verdict : An access violation (read) at ctsgate.dll+0x1b4c7 in ctsgate.dll, a third-party ISAPI filter (called by IIS's ISAPI filter host filter.dll)."),
        "{text}"
    );
    assert!(
        text.contains("    threads: 43 (user CPU 6.6 s in all, top thread 0x10e0 0.6 s, 10%)\n"),
        "{text}"
    );
    let out = std::process::Command::new(exe)
        .args(["analyze", "--format", "json"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s1 = &v["suspects"][0];
    assert_eq!(
        (s1["kind"].as_str(), s1["name"].as_str()),
        (Some("isapi_filter"), Some("ctsgate.dll")),
        "{s1}"
    );
    let out = std::process::Command::new(exe)
        .arg("analyze")
        .arg(&root)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("] ISAPI filter: ctsgate.dll  (incidents I1 "),
        "{text}"
    );
}

#[test]
fn analysis_kind_is_the_majority_role_of_the_dumps() {
    use w3triage::analyze::testkit::*;
    use w3triage::analyze::{AnalyzeOptions, analyze};
    use w3triage::tables::ArtifactKind;
    let kind_of = |roles: &[Option<&str>], events_only: &[&str]| {
        let mut b = TableBuilder::new();
        let app = b.file("Application.xml", ArtifactKind::EventXml);
        for (k, r) in roles.iter().enumerate() {
            let f = b.file(&format!("w3wp.exe.{k}.dmp"), ArtifactKind::Minidump);
            let row = dump_row(
                f,
                at_min(20.0 * k as f64),
                100 + k as u32,
                "Vendor.dll",
                "third_party",
            );
            b.crash(row);
            // The role each dump's verdict reads from the module calling Vendor.dll.
            let caller = r.map(|r| match r {
                "com_object" => "oleaut32.dll",
                "native_module" => "iiscore.dll",
                "isapi_extension" => "isapi.dll",
                "managed_pinvoke" => "clr.dll",
                other => panic!("no caller for role {other}"),
            });
            b.stack(f, "Vendor.dll", "third_party", caller);
        }
        for (k, m) in events_only.iter().enumerate() {
            b.crash(app_error_row(
                app,
                at_min(500.0 + 20.0 * k as f64),
                900 + k as u32,
                m,
                0xC000_0005,
            ));
        }
        let a = analyze(&b.build(), &AnalyzeOptions::default());
        a.suspects
            .iter()
            .filter(|s| s.kind.name() != "request_pattern")
            .map(|s| (s.name.clone(), s.kind.name().to_string()))
            .collect::<Vec<_>>()
    };
    let vendor = |k: &str| vec![("Vendor.dll".to_string(), k.to_string())];
    assert_eq!(
        kind_of(
            &[
                Some("com_object"),
                Some("native_module"),
                Some("com_object")
            ],
            &[]
        ),
        vendor("com_object")
    );
    // A tie: the specific role beats native_module (also the "stack does not say" answer).
    assert_eq!(
        kind_of(&[Some("native_module"), Some("isapi_extension")], &[]),
        vendor("isapi_extension")
    );
    assert_eq!(
        kind_of(&[Some("managed_pinvoke")], &[]),
        vendor("managed_pinvoke")
    );
    // Dumps without a role: the name decides, as for events-only crashes.
    assert_eq!(kind_of(&[None], &[]), vendor("native_module"));
    // Events only: known filters by name, else native module.
    let mut ev = kind_of(&[], &["ISAPI_Rewrite.dll", "ctsgate.dll"]);
    ev.sort();
    assert_eq!(
        ev,
        [
            ("ISAPI_Rewrite.dll".to_string(), "isapi_filter".to_string()),
            ("ctsgate.dll".to_string(), "native_module".to_string())
        ]
    );
}

#[test]
fn the_machines_utc_offset_comes_from_misc_info() {
    // Breakpad's Windows 7 test machine wrote its dumps at UTC-07:00 (Pacific daylight time).
    let c = &parse_fixture("breakpad_ascii_read_av.dmp", false).crashes[0];
    assert_eq!(c.utc_offset_min, Some(-420));
    // An XP-era dump without the time zone part of MiscInfo says nothing.
    let c = &parse_fixture("breakpad_minidump2.dmp", false).crashes[0];
    assert_eq!(c.utc_offset_min, None);
}

/// A thread-pool timer fires into a DLL that COM has already unloaded: no IIS host on the
/// stack (ntdll's thread pool calls it), so the DLL is named a COM object, and the crash is
/// one no request drove.
#[test]
fn timer_call_into_an_unloaded_com_dll() {
    let mut d = W3wpDump::new(false);
    d.unloaded.push(ModSpec::new(
        r"C:\Program Files\Contoso\LegacyReports.dll",
        0x1300_0000,
        0x1_0000,
    ));
    let ip = d.addr("LegacyReports.dll", 0x4410);
    let callers = [d.addr("ntdll.dll", 0x3_1f20), d.addr("ntdll.dll", 0x3_0ab0)];
    let bytes = d.crash(0xC000_0005, ip, &[8, ip], &callers).build();
    let p = parse_bytes("w3wp.dmp", &bytes);
    let c = one_crash(&p);
    assert_eq!(c.suspect_module.as_deref(), Some("LegacyReports.dll"));
    assert_eq!(c.suspect_role.map(|v| v.name()), Some("com_object"));
    let verdict = c.verdict.as_deref().unwrap_or_default();
    assert!(
        verdict.contains("unloaded by COM (CoFreeUnusedLibraries)"),
        "{verdict}"
    );
    // Nothing of the request path on the crashing stack.
    assert!(p.frames.iter().all(|f| f.class.is_none_or(|k| !matches!(
        k.name(),
        "iis_core" | "isapi_host" | "iis_builtin_module" | "aspnet_host" | "classic_asp"
    ))));
}

/// Every thread's stack but the crashing thread's is in `thread_frames`, bounded at 64 frames a
/// thread (the crashing thread's stack stays in `frames`).
#[test]
fn the_other_threads_stacks_are_thread_frames() {
    let mut d = spinning_filter(3);
    // A recursive request thread: 100 return addresses into the filter.
    let deep: Vec<u64> = (0..100)
        .map(|k| d.addr("RegexFilter.dll", 0x500 + k * 4))
        .collect();
    let ip = d.addr("RegexFilter.dll", 0x4f0);
    d.stack_size = 0x1000;
    d.threads
        .push(ThreadSpec::new(0x7777, ip, &deep, 0x0a00_0000));
    let brk = d.addr("ntdll.dll", 0x2_1a30);
    let callers = [d.addr("kernel32.dll", 0x1_8c34)];
    let p = parse_bytes(
        "w3wp.exe_250101_101010.dmp",
        &d.crash(0x8000_0003, brk, &[], &callers).build(),
    );
    let of = |tid: u32| -> Vec<(Option<&str>, Option<u64>)> {
        p.thread_frames
            .iter()
            .filter(|f| f.thread_id == tid)
            .map(|f| (f.module.as_deref(), f.module_offset))
            .collect()
    };
    assert_eq!(
        of(0x9999),
        [
            (Some("RegexFilter.dll"), Some(0x444)),
            // (A caller's frame is the instruction before its return address.)
            (Some("w3isapi.dll"), Some(0x2fff))
        ]
    );
    assert_eq!(
        of(0x2000),
        [
            (Some("ntdll.dll"), Some(0x9_f3cc)),
            (Some("kernel32.dll"), Some(0x1_8c33))
        ]
    );
    assert!(
        of(0x1a2c).is_empty(),
        "the break-in thread's stack is in frames"
    );
    assert_eq!(p.frames[0].module.as_deref(), Some("ntdll.dll"));
    let deep_rows = of(0x7777);
    assert_eq!(deep_rows.len(), 64, "{deep_rows:?}");
    assert_eq!(deep_rows[1], (Some("RegexFilter.dll"), Some(0x4ff)));
    let idx: Vec<u32> = p
        .thread_frames
        .iter()
        .filter(|f| f.thread_id == 0x7777)
        .map(|f| f.index)
        .collect();
    assert_eq!(idx, (0..64).collect::<Vec<u32>>());
    let detail = p.crashes[0].detail.as_deref().unwrap();
    assert!(detail.contains("thread frames: "), "{detail}");
}
