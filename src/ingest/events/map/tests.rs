use super::*;

fn named(pairs: &[(&str, &str)]) -> Vec<DataItem> {
    pairs
        .iter()
        .map(|(n, v)| DataItem {
            name: Some(n.to_string()),
            value: v.to_string(),
        })
        .collect()
}
fn unnamed(vals: &[&str]) -> Vec<DataItem> {
    vals.iter()
        .map(|v| DataItem {
            name: None,
            value: v.to_string(),
        })
        .collect()
}
fn ev(provider: &str, id: u32, data: Vec<DataItem>) -> RawEvent {
    RawEvent {
        provider: provider.into(),
        event_id: id,
        data,
        ..Default::default()
    }
}

#[test]
fn number_bases() {
    assert_eq!(dec_u32("4242"), Some(4242));
    assert_eq!(dec_u32("0x10"), Some(16));
    assert_eq!(hex_u32("c0000005"), Some(0xc000_0005));
    assert_eq!(hex_u32("0x1d340"), Some(0x1d340));
    assert_eq!(hex_u32("0x0000374"), Some(0x374));
    assert_eq!(hex_u32("00000000c0000005"), Some(0xc000_0005));
    assert_eq!(hex_u32("1c0000005"), None);
    assert_eq!(hex_u64("0x0000000000065553"), Some(0x65553));
    // 0x01d4bc5822d0f30f / 10^4 - 11644473600000 = 1549263982784 = 2019-02-04T07:06:22.784Z.
    assert_eq!(filetime_ms("0x01d4bc5822d0f30f"), Some(1_549_263_982_784));
    assert_eq!(filetime_ms("0"), None);
    assert_eq!(binary_dword("6D000780"), Some(0x8007_006D));
    assert_eq!(binary_dword("6D00"), None);
}

#[test]
fn was_5009_named() {
    let e = ev(
        "Microsoft-Windows-WAS",
        5009,
        named(&[
            ("AppPoolID", "Shop"),
            ("ProcessID", "4242"),
            ("param3", "c0000005"),
        ]),
    );
    let r = map(&e).row.unwrap();
    assert_eq!(
        (r.kind.name(), r.app_pool.as_deref(), r.pid, r.exit_code),
        ("crash", Some("Shop"), Some(4242), Some(0xc0000005))
    );
}

#[test]
fn was_from_message_only() {
    let mut e = ev("Microsoft-Windows-WAS", 5009, vec![]);
    e.message = Some("A process serving application pool 'Shop' terminated unexpectedly. The process id was '708'. The process exit code was '0xe0434f4d'.".into());
    let r = map(&e).row.unwrap();
    assert_eq!(
        (r.app_pool.as_deref(), r.pid, r.exit_code),
        (Some("Shop"), Some(708), Some(0xe0434f4d))
    );
}

#[test]
fn bad_pid_warns_and_keeps_row() {
    let e = ev(
        "Microsoft-Windows-WAS",
        5010,
        named(&[("AppPoolID", "Shop"), ("ProcessID", "zz")]),
    );
    let m = map(&e);
    let r = m.row.unwrap();
    assert_eq!((r.kind, r.pid), (CrashKind::Hang, None));
    assert_eq!(m.warnings[0].0, "bad_field");
}

#[test]
fn one_line_fault_text_2008_and_2003() {
    let f = parse_fault_text(
        "Faulting application w3wp.exe, version 7.0.6001.18000, time stamp 0x47919413, faulting module kernel32.dll, version 6.0.6001.18000, time stamp 0x4791a7a6, exception code 0xe053534f, fault offset 0x000442eb, process id 0x%9, application start time 0x%10.",
    );
    assert_eq!(f.app.as_deref(), Some("w3wp.exe"));
    assert_eq!(f.app_version.as_deref(), Some("7.0.6001.18000"));
    assert_eq!(f.module.as_deref(), Some("kernel32.dll"));
    assert_eq!(f.module_version.as_deref(), Some("6.0.6001.18000"));
    assert_eq!(f.code.as_deref(), Some("0xe053534f"));
    assert_eq!(f.offset.as_deref(), Some("0x000442eb"));
    let g = parse_fault_text(
        "Faulting application w3wp.exe, version 6.0.3790.1830, stamp 424377a8, faulting module kernel32.dll, version 5.2.3790.4062, stamp 46264680, debug? 0, fault address 0x0000bee7.",
    );
    assert_eq!(g.offset.as_deref(), Some("0x0000bee7"));
    assert_eq!(g.module_version.as_deref(), Some("5.2.3790.4062"));
}

#[test]
fn wer_bex_swaps_p7_p8() {
    let mut vals = vec![
        "1",
        "4",
        "BEX",
        "Not available",
        "0",
        "w3wp.exe",
        "7.5.7601.17514",
        "4ce7afa2",
        "foo.dll",
        "1.0.0.0",
        "4d5e6f70",
        "0002c5b5",
        "c0000409",
        "00000000",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    vals.truncate(21);
    let r = map(&ev("Windows Error Reporting", 1001, unnamed(&vals)))
        .row
        .unwrap();
    assert_eq!(
        (r.fault_offset, r.exception_code),
        (Some(0x2c5b5), Some(0xc0000409))
    );
    assert_eq!(r.faulting_module.as_deref(), Some("foo.dll"));
}

#[test]
fn wer_non_crash_is_noise() {
    let vals = [
        "1",
        "4",
        "WindowsUpdateFailure3",
        "Not available",
        "0",
        "10.0.14393.0",
        "8024402c",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    assert!(
        map(&ev("Windows Error Reporting", 1001, unnamed(&vals)))
            .row
            .is_none()
    );
}

#[test]
fn site_from_app_domain() {
    assert_eq!(
        site_of("/LM/W3SVC/2/ROOT-1-131945").as_deref(),
        Some("W3SVC2")
    );
    assert_eq!(site_of("/lm/w3svc/17/ROOT").as_deref(), Some("W3SVC17"));
    assert_eq!(site_of("/LM/W3SVC/ROOT"), None);
}

#[test]
fn isapi_unhealthy_from_message() {
    let mut e = ev("Microsoft-Windows-IIS-W3SVC-WP", 2262, vec![]);
    e.message = Some("ISAPI 'C:\\app\\bad.dll' reported itself as unhealthy for the following reason: 'out of sessions'.".into());
    let r = map(&e).row.unwrap();
    assert_eq!(r.kind, CrashKind::Unhealthy);
    assert_eq!(
        r.detail.as_deref(),
        Some("ISAPI C:\\app\\bad.dll reported itself unhealthy: out of sessions")
    );
}

#[test]
fn a_1026_is_read_by_structure_in_any_language() {
    let en = "Application: w3wp.exe\nFramework Version: v4.0.30319\nDescription: The process was terminated due to an unhandled exception.\nException Info: System.OutOfMemoryException\n   at System.IO.MemoryStream.set_Capacity(Int32)\n   at Contoso.Files.Upload.Save(System.Web.HttpPostedFile)\n";
    let de = "Anwendung: w3wp.exe\nFrameworkversion: v4.0.30319\nBeschreibung: Der Prozess wurde aufgrund einer unbehandelten Ausnahme beendet.\nAusnahmeinformationen: System.OutOfMemoryException\n   bei System.IO.MemoryStream.set_Capacity(Int32)\n   bei Contoso.Files.Upload.Save(System.Web.HttpPostedFile)\n";
    let (a, b) = (managed_of_1026(en), managed_of_1026(de));
    for m in [&a, &b] {
        assert_eq!(m.process, Some("w3wp.exe"));
        assert_eq!(m.exception, Some("System.OutOfMemoryException"));
        assert_eq!(m.message, None);
        assert_eq!(
            m.frames,
            [
                "System.IO.MemoryStream.set_Capacity",
                "Contoso.Files.Upload.Save"
            ]
        );
    }
    assert_eq!(b.header.len(), 2, "{:?}", b.header);
    // .NET Core writes the message after the type; a French stack says `à`.
    let core = "Application: dotnet.exe\nCoreCLR Version: 6.0.1\nDescription: The process was terminated due to an unhandled exception.\nException Info: System.Data.SqlClient.SqlException (0x80131904): Timeout expired.\n   à Contoso.Data.Orders.Load(Int32)\n";
    let c = managed_of_1026(core);
    assert_eq!(c.exception, Some("System.Data.SqlClient.SqlException"));
    assert_eq!(c.message, Some("Timeout expired."), "past the HRESULT");
    assert_eq!(c.frames, ["Contoso.Data.Orders.Load"]);
    let core2 =
        "Application: w3wp.exe\nException Info: Contoso.Billing.LedgerException: Ledger closed\n";
    let d = managed_of_1026(core2);
    assert_eq!(
        (d.exception, d.message),
        (
            Some("Contoso.Billing.LedgerException"),
            Some("Ledger closed")
        )
    );
    // No exception type at all: nothing invented.
    assert_eq!(
        managed_of_1026("Application: w3wp.exe\nDescription: something\n").exception,
        None
    );
}

#[test]
fn an_application_error_with_few_named_items_is_read_by_name() {
    // Some exports keep only a few of the twelve-odd data items, but with their names.
    let e = ev(
        "Application Error",
        1000,
        named(&[
            ("AppName", "w3wp.exe"),
            ("ModuleName", "KERNELBASE.dll"),
            ("ExceptionCode", "e0434352"),
            ("ProcessId", "0x1004"),
        ]),
    );
    let r = map(&e).row.unwrap();
    assert_eq!(r.faulting_module.as_deref(), Some("KERNELBASE.dll"));
    assert_eq!((r.pid, r.exception_code), (Some(4100), Some(0xe043_4352)));
}

#[test]
fn classic_asp_errors_are_read_from_their_text() {
    let m = map(&ev(
        "Active Server Pages",
        5,
        unnamed(&[
            "File /shop/order.asp Line 41 Error 'ASP 0115' Unexpected error. A trappable error (C0000005) occurred in an external object.",
        ]),
    ));
    let r = m.row.expect("an ASP 0115 event is a row");
    assert_eq!(r.kind, CrashKind::UnhandledException);
    assert_eq!(r.exception_name.as_deref(), Some("ASP 0115"));
    assert!(
        r.detail
            .as_deref()
            .unwrap()
            .starts_with("ASP 0115 on /shop/order.asp: File"),
        "{:?}",
        r.detail
    );
    // Without the number, the English text of 0115 is recognised; ASP_0147 by its number.
    let m = map(&ev(
        "Active Server Pages",
        5,
        unnamed(&["A trappable error occurred in an external object."]),
    ));
    assert_eq!(m.row.unwrap().exception_name.as_deref(), Some("ASP 0115"));
    let m = map(&ev(
        "Active Server Pages",
        9,
        unnamed(&["Error: ASP_0147 on /a.asp"]),
    ));
    assert_eq!(m.row.unwrap().exception_name.as_deref(), Some("ASP 0147"));
    // ASP's informational events (no error code) and five-digit numbers make no row.
    assert!(
        map(&ev("Active Server Pages", 3, unnamed(&["ASP started."])))
            .row
            .is_none()
    );
    assert!(
        map(&ev("Active Server Pages", 3, unnamed(&["ASP 01150 x"])))
            .row
            .is_none()
    );
    assert!(
        map(&ev("Active Server Pages", 3, unnamed(&["ASP"])))
            .row
            .is_none()
    );
}
