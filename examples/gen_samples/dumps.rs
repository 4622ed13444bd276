//! The DebugDiag full dumps of three crashes, built with the shared synthetic-w3wp builder.
//!
//! A 64-bit w3wp on Server 2019 (build 17763) with the module list a real one has (IIS core,
//! the native modules of the default install, ASP.NET 4 and the CLR, and the third-party ISAPI
//! filter), a few dozen threads, MiscInfo with pid and process start, the exception stream, and
//! the crashing thread's context and stack: a frame-pointer chain whose return addresses lead
//! from `ctsgate.dll` through `filter.dll`, `iiscore.dll`, `w3dt.dll` and `w3tp.dll` down to
//! `RtlUserThreadStart`, so a symbol-less walk (frame pointer, or scan) names those modules.

#[path = "../../tests/support/w3wp_dump.rs"]
mod w3wp_dump;

use super::model::Day;
use super::render::{CTSGATE, FAULT_OFFSET, FaultFacts, W3WP};
use super::rng::Rng;
use super::time::FILETIME_UNIX_OFFSET;
use w3wp_dump::{ExcSpec, ModSpec, ThreadSpec, W3wpDump};

/// OS files carry the cumulative update's build; IIS binaries mostly the RTM one.
const OS: [u16; 4] = [10, 0, 17763, 6893];
const IIS: [u16; 4] = [10, 0, 17763, 1];
const IIS_CU: [u16; 4] = [10, 0, 17763, 5830];
const NET: [u16; 4] = [4, 8, 4718, 0];

/// (path, base, size, timestamp, version). The bases are ASLR's for this boot: the same in every
/// worker process of the day, so the fault offset and the callers' offsets repeat across dumps.
const MODULES: &[(&str, u64, u32, u32, [u16; 4])] = &[
    (
        r"c:\windows\system32\inetsrv\w3wp.exe",
        0x7ff7_2a1b_0000,
        0x0000_9000,
        W3WP.timestamp,
        IIS,
    ),
    (
        r"C:\Windows\SYSTEM32\ntdll.dll",
        0x7ffd_3e6e_0000,
        0x001e_d000,
        0x9bd4_c3e1,
        OS,
    ),
    (
        r"C:\Windows\System32\KERNEL32.DLL",
        0x7ffd_3dc8_0000,
        0x000b_2000,
        0x6bf8_0a7d,
        OS,
    ),
    (
        r"C:\Windows\System32\KERNELBASE.dll",
        0x7ffd_3b1f_0000,
        0x0029_a000,
        0x2f5e_9a40,
        OS,
    ),
    (
        r"C:\Windows\System32\msvcrt.dll",
        0x7ffd_3d4a_0000,
        0x0009_e000,
        0x8e3c_5b27,
        [7, 0, 17763, 1],
    ),
    (
        r"C:\Windows\System32\ucrtbase.dll",
        0x7ffd_3ac5_0000,
        0x000f_a000,
        0x5a31_7c90,
        OS,
    ),
    (
        r"C:\Windows\System32\ADVAPI32.dll",
        0x7ffd_3d6f_0000,
        0x000a_3000,
        0x1c8d_e06f,
        OS,
    ),
    (
        r"C:\Windows\System32\sechost.dll",
        0x7ffd_3e3b_0000,
        0x000a_4000,
        0x4b0f_2d1e,
        OS,
    ),
    (
        r"C:\Windows\System32\RPCRT4.dll",
        0x7ffd_3e4f_0000,
        0x0011_f000,
        0xd2a6_13b8,
        OS,
    ),
    (
        r"C:\Windows\System32\combase.dll",
        0x7ffd_3d83_0000,
        0x0032_e000,
        0x7e11_94c5,
        OS,
    ),
    (
        r"C:\Windows\System32\OLEAUT32.dll",
        0x7ffd_3d34_0000,
        0x000c_2000,
        0x35a7_f8d2,
        OS,
    ),
    (
        r"C:\Windows\System32\WS2_32.dll",
        0x7ffd_3e07_0000,
        0x0006_d000,
        0xe24f_6a19,
        OS,
    ),
    (
        r"C:\Windows\system32\mswsock.dll",
        0x7ffd_3a45_0000,
        0x0006_7000,
        0x0c93_be58,
        OS,
    ),
    (
        r"C:\Windows\System32\bcrypt.dll",
        0x7ffd_3ab0_0000,
        0x0002_6000,
        0x6f2a_41c3,
        OS,
    ),
    (
        r"C:\Windows\System32\CRYPT32.dll",
        0x7ffd_3b54_0000,
        0x0016_1000,
        0xa8e0_7d4f,
        OS,
    ),
    (
        r"C:\Windows\SYSTEM32\HTTPAPI.dll",
        0x7ffd_2f8a_0000,
        0x0001_4000,
        0x53dc_29b1,
        OS,
    ),
    (
        r"C:\Windows\system32\inetsrv\IISUTIL.dll",
        0x7ffd_2f6c_0000,
        0x0004_c000,
        0xc417_e25a,
        IIS_CU,
    ),
    (
        r"C:\Windows\system32\inetsrv\w3tp.dll",
        0x7ffd_2f8c_0000,
        0x0001_3000,
        0x27b9_5c06,
        IIS,
    ),
    (
        r"C:\Windows\system32\inetsrv\w3dt.dll",
        0x7ffd_2f4e_0000,
        0x0004_5000,
        0x8a60_3f7d,
        IIS_CU,
    ),
    (
        r"C:\Windows\system32\inetsrv\iiscore.dll",
        0x7ffd_2eb1_0000,
        0x000b_a000,
        0x59fe_d810,
        IIS_CU,
    ),
    (
        r"C:\Windows\system32\inetsrv\nativerd.dll",
        0x7ffd_2e5d_0000,
        0x0010_7000,
        0xf03b_6c44,
        IIS_CU,
    ),
    (
        r"C:\Windows\system32\inetsrv\IISRES.DLL",
        0x7ffd_2f4c_0000,
        0x0001_0000,
        0x3e72_a195,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\cachuri.dll",
        0x7ffd_2ff3_0000,
        0x0001_1000,
        0x91c5_0e3a,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\cachfile.dll",
        0x7ffd_2ff1_0000,
        0x0001_2000,
        0x2b8d_76f1,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\cachtokn.dll",
        0x7ffd_2fef_0000,
        0x0000_f000,
        0x7d40_c92e,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\cachhttp.dll",
        0x7ffd_2fed_0000,
        0x0001_9000,
        0x0e6f_b35c,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\static.dll",
        0x7ffd_2fe7_0000,
        0x0001_5000,
        0x6a19_e803,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\defdoc.dll",
        0x7ffd_2fe5_0000,
        0x0000_c000,
        0xb3f2_5d17,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\dirlist.dll",
        0x7ffd_2fe3_0000,
        0x0000_e000,
        0x48ca_1b96,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\protsup.dll",
        0x7ffd_2fe1_0000,
        0x0000_c000,
        0xd5a3_8f60,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\redirect.dll",
        0x7ffd_2fdf_0000,
        0x0000_b000,
        0x1f0e_47ab,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\compstat.dll",
        0x7ffd_2fdd_0000,
        0x0001_0000,
        0x84b7_d239,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\authanon.dll",
        0x7ffd_2fdb_0000,
        0x0000_c000,
        0x5c61_0ad4,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\authsspi.dll",
        0x7ffd_2fd8_0000,
        0x0001_9000,
        0xe9d8_6c72,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\modrqflt.dll",
        0x7ffd_2fd6_0000,
        0x0001_3000,
        0x3a2c_f518,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\custerr.dll",
        0x7ffd_2fd4_0000,
        0x0001_2000,
        0xa7e5_3b8f,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\loghttp.dll",
        0x7ffd_2fd2_0000,
        0x0000_d000,
        0x6d93_2e01,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\iisetw.dll",
        0x7ffd_2fd0_0000,
        0x0001_1000,
        0x0b57_c96e,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\iisfreb.dll",
        0x7ffd_2fcd_0000,
        0x0002_2000,
        0xc2f8_04b3,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\iisreqs.dll",
        0x7ffd_2fcb_0000,
        0x0000_e000,
        0x7f31_a85c,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\isapi.dll",
        0x7ffd_2fc9_0000,
        0x0001_0000,
        0x2ea4_6d97,
        IIS,
    ),
    (
        r"C:\Windows\System32\inetsrv\filter.dll",
        0x7ffd_2fc6_0000,
        0x0001_d000,
        0x95c0_1f2a,
        IIS_CU,
    ),
    (
        r"C:\Windows\System32\inetsrv\w3isapi.dll",
        0x7ffd_2fc3_0000,
        0x0002_4000,
        0x40d7_b6e5,
        IIS_CU,
    ),
    (
        CTSGATE.path,
        0x7ffd_1a2c_0000,
        0x0004_6000,
        CTSGATE.timestamp,
        [4, 2, 1, 733],
    ),
    (
        r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\webengine4.dll",
        0x7ffd_1e7b_0000,
        0x0007_4000,
        0x5e3b_9c21,
        NET,
    ),
    (
        r"C:\Windows\SYSTEM32\mscoree.dll",
        0x7ffd_2c3f_0000,
        0x0006_7000,
        0xb8a1_5f0c,
        [10, 0, 17763, 1],
    ),
    (
        r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\mscoreei.dll",
        0x7ffd_1e6f_0000,
        0x000b_2000,
        0x5e3b_8d47,
        NET,
    ),
    (
        r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll",
        0x7ffd_1d1f_0000,
        0x009e_e000,
        0x5e3b_a5f6,
        NET,
    ),
    (
        r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clrjit.dll",
        0x7ffd_1cfb_0000,
        0x0013_6000,
        0x5e3b_a8b0,
        NET,
    ),
];

fn modules() -> Vec<ModSpec> {
    MODULES
        .iter()
        .map(|&(path, base, size, ts, v)| ModSpec::new(path, base, size).timestamp(ts).version(v))
        .collect()
}

/// The version of `ctsgate.dll` a worker loads: the one that crashes, or the release before it
/// (the farm's servers not yet updated).
pub const CTSGATE_OLD: [u16; 4] = [4, 2, 0, 610];

/// A full dump of a healthy worker, taken by hand for comparison (DebugDiag "Create Full
/// Userdump"): no exception stream, every thread waiting for work, the module list of the day
/// with `ctsgate.dll` at `ctsgate` version.
#[allow(dead_code)]
pub fn reference_dump(day: &Day, at: i64, ctsgate: [u16; 4], seed: u64) -> Vec<u8> {
    let worker = day
        .workers
        .iter()
        .rev()
        .find(|w| w.created_ms() < at)
        .unwrap_or(&day.workers[0]);
    let mut rng = Rng::new(seed ^ day.plan.salt).fork(300);
    let mut d = W3wpDump::new(true);
    d.modules = MODULES
        .iter()
        .map(|&(path, base, size, ts, v)| {
            let v = if path == CTSGATE.path { ctsgate } else { v };
            ModSpec::new(path, base, size).timestamp(ts).version(v)
        })
        .collect();
    d.stack_size = 0x1000;
    d.thread_info = true;
    d.pid = Some(worker.pid);
    d.process_create_time = Some((worker.created_ms() / 1000) as u32);
    d.dump_time = (at / 1000) as u32;
    let created = worker.created_ticks + FILETIME_UNIX_OFFSET;
    let callers = [
        d.addr("KERNELBASE.dll", 0x3_c1e2),
        d.addr("w3tp.dll", 0x4d1a),
        d.addr("KERNEL32.DLL", 0x1_7bd4),
        d.addr("ntdll.dll", 0x6_ced1),
    ];
    for i in 0..rng.int(24, 32) as u32 {
        let ip = d.addr("ntdll.dll", 0x9_f0a4);
        let mut t = ThreadSpec::new(
            4 * (400 + i),
            ip,
            &callers,
            0x0000_00d4_9000_0000 + u64::from(i) * 0x8_0000,
        );
        t.create_time = (created + rng.int(1_000_000, 80_000_000)) as u64;
        t = t.times(rng.int(0, 3_000_000) as u64, rng.int(0, 1_000_000) as u64);
        d.threads.push(t);
    }
    d.build()
}

/// The full dump DebugDiag wrote at the second-chance access violation of crash `k`.
pub fn w3wp_crash_dump(day: &Day, k: usize, f: &FaultFacts, seed: u64) -> Vec<u8> {
    let crash = &day.crashes[k];
    let worker = &day.workers[crash.worker];
    let mut rng = Rng::new(seed ^ day.plan.salt).fork(100 + k as u64);
    let mut d = W3wpDump::new(true);
    d.modules = modules();
    d.stack_size = 0x1000;
    d.thread_info = true;
    d.pid = Some(worker.pid);
    d.process_create_time = Some((worker.created_ms() / 1000) as u32);
    d.dump_time = (crash.spec.at / 1000) as u32;

    let fault = d.addr("ctsgate.dll", FAULT_OFFSET);
    // ctsgate's own caller, then the ISAPI filter module's notification dispatch, the IIS
    // pipeline, the dispatcher and the IIS thread pool.
    let callers = [
        d.addr("ctsgate.dll", 0x1_2a04),
        d.addr("ctsgate.dll", 0x0_9e17),
        d.addr("filter.dll", 0x3b1e),
        d.addr("iiscore.dll", 0x2_a6f1),
        d.addr("iiscore.dll", 0x1_f0c2),
        d.addr("w3dt.dll", 0x8e43),
        d.addr("w3tp.dll", 0x3c2b),
        d.addr("KERNEL32.DLL", 0x1_7bd4),
        d.addr("ntdll.dll", 0x6_ced1),
    ];
    // Thread creation times: FILETIME, shortly after the process started.
    let created = worker.created_ticks + FILETIME_UNIX_OFFSET;
    let mut crashing = ThreadSpec::new(f.thread_id, fault, &callers, 0x0000_00d4_8f3f_d000);
    crashing.create_time = (created + rng.int(20_000_000, 60_000_000)) as u64;
    crashing = crashing.times(
        rng.int(2_000_000, 9_000_000) as u64,
        rng.int(500_000, 3_000_000) as u64,
    );
    d.threads.push(crashing);

    // The rest of a busy w3wp: IIS thread-pool workers waiting for completions, CLR and
    // ntdll worker-factory threads, a timer thread. Ids are unique multiples of 4.
    let wait_iocp = [
        d.addr("KERNELBASE.dll", 0x3_c1e2),
        d.addr("w3tp.dll", 0x4d1a),
    ];
    let worker_factory = [d.addr("ntdll.dll", 0x2_f4a0)];
    let clr = [
        d.addr("KERNELBASE.dll", 0x3_a8f1),
        d.addr("clr.dll", 0x1_c3e6),
        d.addr("clr.dll", 0x1_c2d1),
    ];
    let tail = [
        d.addr("KERNEL32.DLL", 0x1_7bd4),
        d.addr("ntdll.dll", 0x6_ced1),
    ];
    let mut ids = vec![f.thread_id];
    let n = rng.int(34, 44) as usize;
    for i in 0..n {
        let id = loop {
            let id = 4 * rng.int(400, 4_000) as u32;
            if !ids.contains(&id) {
                break id;
            }
        };
        ids.push(id);
        let (ip, mid): (u64, &[u64]) = match i % 4 {
            0 | 1 => (d.addr("ntdll.dll", 0x9_f0a4), &wait_iocp),
            2 => (d.addr("ntdll.dll", 0x9_f3cc), &worker_factory),
            _ => (d.addr("ntdll.dll", 0x9_c104), &clr),
        };
        let callers: Vec<u64> = mid.iter().chain(tail.iter()).copied().collect();
        let base = 0x0000_00d4_9000_0000 + i as u64 * 0x8_0000;
        let mut t = ThreadSpec::new(id, ip, &callers, base);
        t.create_time = (created + rng.int(1_000_000, 80_000_000)) as u64;
        t = t.times(rng.int(0, 3_000_000) as u64, rng.int(0, 1_000_000) as u64);
        d.threads.push(t);
    }
    d.stack_size = 0x1000;
    // A read through a saved pointer whose low half the decoded "NN…" overwrote.
    d.exception = Some(ExcSpec {
        code: 0xC000_0005,
        address: fault,
        params: vec![0, 0x004e_004e],
        thread_id: f.thread_id,
    });
    d.build()
}
