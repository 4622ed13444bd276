use super::*;
use crate::knowledge::modules::classify;

fn fr(m: &str, off: u64, trust: &str) -> FrameFact {
    let trust = FrameTrust::from_name(trust).expect("a frame trust name");
    FrameFact {
        module: Some(m.into()),
        offset: Some(off),
        class: Some(classify(m)),
        trust,
        ..Default::default()
    }
}
fn site(m: &str, off: u64) -> Option<FaultSite> {
    Some(FaultSite::Module {
        name: m.into(),
        offset: off,
        class: classify(m),
    })
}

#[test]
fn third_party_av_is_high() {
    let v = decide(&CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(0),
        fault: site("ISAPI_Rewrite.dll", 0x12345),
        frames: vec![
            fr("ISAPI_Rewrite.dll", 0x12345, "context"),
            fr("w3isapi.dll", 0x10, "frame_pointer"),
        ],
        ..Default::default()
    });
    assert_eq!(v.suspect_module.as_deref(), Some("ISAPI_Rewrite.dll"));
    assert_eq!(v.confidence, Confidence::High);
    assert_eq!(v.bucket, "c0000005_AV_READ_ISAPI_Rewrite.dll+0x12345");
    assert!(v.text.contains("Helicon Tech"), "{}", v.text);
}

#[test]
fn cpp_exception_walks_past_kernelbase() {
    let v = decide(&CrashFacts {
        code: Some(0xE06D_7363),
        fault: site("KERNELBASE.dll", 0x3a8c),
        frames: vec![
            fr("KERNELBASE.dll", 0x3a8c, "context"),
            fr("msvcr90.dll", 0x100, "frame_pointer"),
            fr("acme.dll", 0x2000, "frame_pointer"),
            fr("isapi.dll", 0x3000, "frame_pointer"),
        ],
        ..Default::default()
    });
    assert_eq!(v.suspect_module.as_deref(), Some("acme.dll"));
    assert_eq!(v.suspect_role, Some(SuspectRole::IsapiExtension));
    assert_eq!(v.confidence, Confidence::Medium);
    assert_eq!(v.bucket, "e06d7363_CPP_EXCEPTION_acme.dll+0x2000");
}

#[test]
fn hang_dump_with_many_threads() {
    let v = decide(&CrashFacts {
        threads: Some(ThreadStats {
            count: 400,
            ..Default::default()
        }),
        process: Some("w3wp.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.bucket, "HANG_w3wp.exe");
    assert!(v.text.contains("400 threads"));
    assert_eq!(v.confidence, Confidence::Medium);
}

#[test]
fn runaway_thread_named() {
    let v = decide(&CrashFacts {
        threads: Some(ThreadStats {
            count: 3,
            times: vec![(1, 10_000, 0), (2, 900_000_000, 0), (3, 20_000, 0)],
            top_modules: vec![(2, Some("regexlib.dll".into()))],
        }),
        process: Some("w3wp.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.suspect_module.as_deref(), Some("regexlib.dll"));
    assert_eq!(v.bucket, "RUNAWAY_THREAD_regexlib.dll");
    assert!(
        v.findings[0].contains("runaway thread 0x2"),
        "{:?}",
        v.findings
    );
}

#[test]
fn address_space_exhaustion() {
    let v = decide(&CrashFacts {
        code: Some(0xC000_0017),
        fault: site("KERNELBASE.dll", 0x10),
        frames: vec![fr("KERNELBASE.dll", 0x10, "context")],
        memory: Some(MemoryStats {
            committed: 1_500 << 20,
            reserved: 400 << 20,
            bits32: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(
        v.findings
            .iter()
            .any(|f| f.contains("address space nearly exhausted")),
        "{:?}",
        v.findings
    );
    assert!(v.text.contains("Also:"));
}

fn unloaded(m: &str) -> FrameFact {
    FrameFact {
        unloaded: Some(m.into()),
        trust: FrameTrust::Context,
        ..Default::default()
    }
}

#[test]
fn role_from_the_first_host_below_the_suspect() {
    let role = |frames: Vec<FrameFact>| infer_role(&frames, "acme.dll");
    let r = role(vec![
        fr("acme.dll", 0x10, "context"),
        fr("ACME.DLL", 0x20, "frame_pointer"),
        fr("filter.dll", 0x3b1d, "scan"),
        fr("iiscore.dll", 0x10, "scan"),
    ]);
    assert_eq!(r.role, SuspectRole::IsapiFilter);
    assert_eq!(
        r.source,
        RoleSource::Caller {
            frame: 2,
            who: "IIS's ISAPI filter host filter.dll".into(),
            via: vec![],
            weak: true
        }
    );
    assert!(role_why("acme.dll", &r).contains("weak evidence"));
    // Unloaded suspects are matched by their old name.
    let r = infer_role(
        &[
            unloaded("acme.dll"),
            fr("w3isapi.dll", 0x10, "frame_pointer"),
        ],
        "acme.dll",
    );
    assert_eq!(r.role, SuspectRole::IsapiExtension);
    // JIT code calling native code is a P/Invoke.
    let jit = FrameFact {
        dynamic: true,
        trust: FrameTrust::FramePointer,
        ..Default::default()
    };
    let r = role(vec![fr("acme.dll", 0x10, "context"), jit]);
    assert_eq!(r.role, SuspectRole::ManagedPinvoke);
    // A frame in no module stops the search.
    let r = role(vec![
        fr("acme.dll", 0x10, "context"),
        FrameFact::default(),
        fr("filter.dll", 0x10, "scan"),
    ]);
    assert_eq!(r.role, SuspectRole::NativeModule);
    assert!(matches!(
        r.source,
        RoleSource::Unknown { on_stack: true, .. }
    ));
    // No stack at all: by name.
    assert_eq!(
        infer_role(&[], "isapi_redirect.dll").source,
        RoleSource::KnownName {
            note: "the dump has no crashing stack".into()
        }
    );
    assert!(matches!(
        infer_role(&[], "acme.dll").source,
        RoleSource::Unknown {
            on_stack: false,
            ..
        }
    ));
}

#[test]
fn role_only_for_third_party_suspects_and_not_the_process_image() {
    // The process's own image (a non-IIS host like crashme.exe) gets no role.
    let v = decide(&CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(0),
        fault: site("crashme.exe", 0x10),
        frames: vec![
            fr("crashme.exe", 0x10, "context"),
            fr("kernel32.dll", 0x10, "frame_pointer"),
        ],
        process: Some("crashme.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.suspect_role, None);
    assert_eq!(v.confidence, Confidence::High);
    // Third party with no host below: native module, one step less sure.
    let v = decide(&CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(0),
        fault: site("acme.dll", 0x10),
        frames: vec![
            fr("acme.dll", 0x10, "context"),
            fr("kernel32.dll", 0x10, "frame_pointer"),
        ],
        process: Some("w3wp.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.suspect_role, Some(SuspectRole::NativeModule));
    assert_eq!(v.confidence, Confidence::Medium);
    // Stack overflows keep their confidence (the caller is often cut off).
    let mut frames = vec![fr("acme.dll", 0x1a2b, "frame_pointer"); 20];
    frames.insert(0, fr("ntdll.dll", 0x10, "context"));
    let v = decide(&CrashFacts {
        code: Some(0xC000_00FD),
        fault: site("ntdll.dll", 0x10),
        frames,
        ..Default::default()
    });
    assert_eq!(v.suspect_role, Some(SuspectRole::NativeModule));
    assert_eq!(v.confidence, Confidence::High);
}

#[test]
fn a_process_iis_does_not_serve_from_gets_no_iis_role() {
    let facts = |process: &str| CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(0),
        fault: site("acme.dll", 0x10),
        frames: vec![
            fr("acme.dll", 0x10, "context"),
            fr("filter.dll", 0x20, "frame_pointer"),
        ],
        process: Some(process.into()),
        ..Default::default()
    };
    // In a worker, the caller makes it an ISAPI filter; in a desktop app it is just a module.
    let v = decide(&facts("w3wp.exe"));
    assert_eq!(v.suspect_role, Some(SuspectRole::IsapiFilter));
    let v = decide(&facts("Contoso.Desktop.exe"));
    assert_eq!(v.suspect_role, None);
    assert!(!v.text.contains("ISAPI"), "{}", v.text);
    assert_eq!(v.suspect_module.as_deref(), Some("acme.dll"));
    for p in [
        "W3WP.EXE",
        "inetinfo.exe",
        "C:\\Windows\\System32\\dllhost.exe",
        "iisexpress",
    ] {
        assert!(crate::knowledge::modules::is_iis_process(Some(p)), "{p}");
    }
    assert!(crate::knowledge::modules::is_iis_process(None));
    assert!(!crate::knowledge::modules::is_iis_process(Some(
        "w3wp2.exe"
    )));
}

#[test]
fn a_dll_unloaded_under_a_timer_is_a_com_object() {
    // A thread-pool timer fires into the old range of a DLL COM already unloaded: no host on
    // the stack, so being unloaded at all names it a COM in-process server.
    let v = decide(&CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(8),
        fault: Some(FaultSite::Unloaded {
            name: "oldcom.dll".into(),
            offset: 0x1a2b,
        }),
        frames: vec![
            unloaded("oldcom.dll"),
            fr("ntdll.dll", 0x10, "frame_pointer"),
            fr("kernel32.dll", 0x20, "frame_pointer"),
        ],
        process: Some("w3wp.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.suspect_module.as_deref(), Some("oldcom.dll"));
    assert_eq!(v.suspect_role, Some(SuspectRole::ComObject));
    assert!(v.text.contains("CoFreeUnusedLibraries"), "{}", v.text);
    assert!(
        v.why.iter().any(|w| w.contains("role com_object")),
        "{:?}",
        v.why
    );
    // Called from an ISAPI host, the same unloaded DLL is what the host says it is.
    let v = decide(&CrashFacts {
        code: Some(0xC000_0005),
        info0: Some(8),
        fault: Some(FaultSite::Unloaded {
            name: "oldcom.dll".into(),
            offset: 0x1a2b,
        }),
        frames: vec![
            unloaded("oldcom.dll"),
            fr("filter.dll", 0x10, "frame_pointer"),
        ],
        process: Some("w3wp.exe".into()),
        ..Default::default()
    });
    assert_eq!(v.suspect_role, Some(SuspectRole::IsapiFilter));
}
