use crate::w3wp_dump::*;

#[test]
fn synthetic_builder_reads_back() {
    let d = W3wpDump::new(false);
    let ip = d.addr("w3isapi.dll", 0x1234);
    let callers = [d.addr("iiscore.dll", 0x2000), d.addr("ntdll.dll", 0x3000)];
    let bytes = d.crash(0xC000_0005, ip, &[0, 0x10], &callers).build();
    let dump = minidump::Minidump::read(bytes.as_slice()).unwrap();
    assert_eq!(dump.header.time_date_stamp, 1_700_003_600);
}
