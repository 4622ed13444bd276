//! A builder of synthetic `w3wp.exe` minidumps (minidump-synth), shared by the integration tests,
//! the benches and the sample generator (which `#[path]`-includes this file).
//!
//! Kept dependency-light on purpose: only `minidump-synth`, `minidump-common`, `test-assembler`
//! (the byte-section type minidump-synth is built on) and std.
//!
//! The crashing thread gets a real frame-pointer chain (`[bp] = caller bp`, `[bp + ptr] = return
//! address`), so rust-minidump's walker finds the same frames a debugger would without symbols.
#![allow(dead_code)]

use minidump_common::format as md;
use minidump_synth::{
    DumpSection as _, DumpString, Exception, Memory, MemoryInfo, MiscFieldsProcessTimes,
    MiscStream, Module, SimpleStream, SynthMinidump, SystemInfo, Thread, UnloadedModule,
};
use test_assembler::{Endian, Section};

/// `PAGE_EXECUTE_READWRITE`, the protection JIT heaps use.
pub const PAGE_EXECUTE_READWRITE: u32 = 0x40;
/// `PAGE_READWRITE`.
pub const PAGE_READWRITE: u32 = 0x04;
/// `MEM_COMMIT`.
pub const MEM_COMMIT: u32 = 0x1000;
/// `MEM_RESERVE`.
pub const MEM_RESERVE: u32 = 0x2000;
/// `MEM_FREE`.
pub const MEM_FREE: u32 = 0x1_0000;
/// `MEM_PRIVATE`.
pub const MEM_PRIVATE: u32 = 0x2_0000;
/// `MEM_IMAGE`.
pub const MEM_IMAGE: u32 = 0x100_0000;

/// A loaded or unloaded module.
#[derive(Debug, Clone)]
pub struct ModSpec {
    pub path: String,
    pub base: u64,
    pub size: u32,
    /// PE link time stamp.
    pub timestamp: u32,
    /// File version `a.b.c.d`.
    pub version: [u16; 4],
}

/// One thread: where it is, the return addresses above it, and its ThreadInfo times.
#[derive(Debug, Clone)]
pub struct ThreadSpec {
    pub id: u32,
    /// Instruction pointer of frame 0.
    pub ip: u64,
    /// Return addresses of frames 1.. (the callers), innermost first.
    pub callers: Vec<u64>,
    /// Lowest address of the stack memory captured for this thread.
    pub stack_base: u64,
    /// ThreadInfoList times, 100 ns units.
    pub user_time: u64,
    pub kernel_time: u64,
    /// FILETIME of thread creation (0 = unknown).
    pub create_time: u64,
}

/// The exception record.
#[derive(Debug, Clone)]
pub struct ExcSpec {
    pub code: u32,
    pub address: u64,
    pub params: Vec<u64>,
    pub thread_id: u32,
}

/// A MemoryInfoList region.
#[derive(Debug, Clone, Copy)]
pub struct RegionSpec {
    pub base: u64,
    pub size: u64,
    pub state: u32,
    pub protect: u32,
    pub ty: u32,
}

/// A whole synthetic w3wp dump; fill the fields, then [`W3wpDump::build`].
#[derive(Debug, Clone)]
pub struct W3wpDump {
    /// `true`: amd64 dump (CONTEXT_AMD64, 8-byte stack words); `false`: x86.
    pub amd64: bool,
    /// OS major, minor, build (e.g. 10, 0, 17763 = Server 2019).
    pub os: (u32, u32, u32),
    pub modules: Vec<ModSpec>,
    pub unloaded: Vec<ModSpec>,
    pub threads: Vec<ThreadSpec>,
    pub exception: Option<ExcSpec>,
    pub pid: Option<u32>,
    /// Process create time, seconds since the Unix epoch (MiscInfo).
    pub process_create_time: Option<u32>,
    /// Dump time, seconds since the Unix epoch (header).
    pub dump_time: u32,
    /// A CommentStreamW (ProcDump `-dc`).
    pub comment: Option<String>,
    pub regions: Vec<RegionSpec>,
    /// Write a ThreadInfoList stream with each thread's times.
    pub thread_info: bool,
    /// Bytes of stack captured per thread.
    pub stack_size: usize,
}

impl ModSpec {
    pub fn new(path: &str, base: u64, size: u32) -> ModSpec {
        ModSpec {
            path: path.to_string(),
            base,
            size,
            timestamp: 0x5c2f_1a2b,
            version: [10, 0, 17763, 1],
        }
    }
    pub fn version(mut self, v: [u16; 4]) -> ModSpec {
        self.version = v;
        self
    }
    pub fn timestamp(mut self, ts: u32) -> ModSpec {
        self.timestamp = ts;
        self
    }
}

impl ThreadSpec {
    pub fn new(id: u32, ip: u64, callers: &[u64], stack_base: u64) -> ThreadSpec {
        ThreadSpec {
            id,
            ip,
            callers: callers.to_vec(),
            stack_base,
            user_time: 0,
            kernel_time: 0,
            create_time: 0,
        }
    }
    pub fn times(mut self, user: u64, kernel: u64) -> ThreadSpec {
        self.user_time = user;
        self.kernel_time = kernel;
        self
    }
}

/// The usual modules of a 32-bit w3wp (IIS 10 on Server 2019, x86 addresses).
pub fn iis_modules_x86() -> Vec<ModSpec> {
    vec![
        ModSpec::new(r"C:\Windows\SysWOW64\inetsrv\w3wp.exe", 0x0040_0000, 0x8000),
        ModSpec::new(r"C:\Windows\SysWOW64\ntdll.dll", 0x7760_0000, 0x0019_a000),
        ModSpec::new(
            r"C:\Windows\SysWOW64\kernel32.dll",
            0x7550_0000,
            0x000e_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\KERNELBASE.dll",
            0x7580_0000,
            0x001f_c000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\iiscore.dll",
            0x6c00_0000,
            0x0008_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\w3dt.dll",
            0x6c10_0000,
            0x0004_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\w3isapi.dll",
            0x6c20_0000,
            0x0002_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\filter.dll",
            0x6c30_0000,
            0x0001_0000,
        ),
        ModSpec::new(r"C:\Windows\SysWOW64\combase.dll", 0x7600_0000, 0x0027_0000),
        ModSpec::new(
            r"C:\Windows\SysWOW64\oleaut32.dll",
            0x7630_0000,
            0x0009_0000,
        ),
    ]
}

/// Hosts that call add-ons in a 32-bit w3wp, beside [`iis_modules_x86`] (which has `filter.dll`,
/// `w3isapi.dll`, `iiscore.dll`, `combase.dll`, `oleaut32.dll`): the ISAPI extension host,
/// classic ASP and VBScript, COM+ services, the CLR, the ASP.NET Core Module and a C runtime.
pub fn host_modules_x86() -> Vec<ModSpec> {
    vec![
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\isapi.dll",
            0x6c40_0000,
            0x0001_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\inetsrv\asp.dll",
            0x6c50_0000,
            0x000c_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\vbscript.dll",
            0x6c60_0000,
            0x0008_0000,
        ),
        ModSpec::new(r"C:\Windows\SysWOW64\comsvcs.dll", 0x6c70_0000, 0x0018_0000),
        ModSpec::new(
            r"C:\Windows\Microsoft.NET\Framework\v4.0.30319\clr.dll",
            0x6d00_0000,
            0x0080_0000,
        ),
        ModSpec::new(
            r"C:\Program Files (x86)\IIS\Asp.Net Core Module\V2\aspnetcorev2.dll",
            0x6e00_0000,
            0x0004_0000,
        ),
        ModSpec::new(
            r"C:\Windows\SysWOW64\msvcr120.dll",
            0x6f00_0000,
            0x000e_0000,
        ),
    ]
}

/// The usual modules of a 64-bit w3wp (IIS 10 on Server 2019) with ASP.NET 4 loaded.
pub fn iis_modules_amd64() -> Vec<ModSpec> {
    vec![
        ModSpec::new(
            r"C:\Windows\System32\inetsrv\w3wp.exe",
            0x7ff6_1000_0000,
            0x8000,
        ),
        ModSpec::new(
            r"C:\Windows\System32\ntdll.dll",
            0x7ffc_5000_0000,
            0x001f_0000,
        ),
        ModSpec::new(
            r"C:\Windows\System32\kernel32.dll",
            0x7ffc_4f00_0000,
            0x000b_0000,
        ),
        ModSpec::new(
            r"C:\Windows\System32\KERNELBASE.dll",
            0x7ffc_4c00_0000,
            0x002a_0000,
        ),
        ModSpec::new(
            r"C:\Windows\System32\inetsrv\iiscore.dll",
            0x7ffc_3000_0000,
            0x000a_0000,
        ),
        ModSpec::new(
            r"C:\Windows\System32\inetsrv\w3dt.dll",
            0x7ffc_3100_0000,
            0x0005_0000,
        ),
        ModSpec::new(
            r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\webengine4.dll",
            0x7ffc_3200_0000,
            0x0008_0000,
        ),
        ModSpec::new(
            r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll",
            0x7ffc_2000_0000,
            0x009e_0000,
        ),
        ModSpec::new(
            r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clrjit.dll",
            0x7ffc_2100_0000,
            0x0013_0000,
        ),
    ]
}

impl W3wpDump {
    /// An empty x86 (`amd64 == false`) or amd64 dump on Windows Server 2019.
    pub fn new(amd64: bool) -> W3wpDump {
        W3wpDump {
            amd64,
            os: (10, 0, 17763),
            modules: if amd64 {
                iis_modules_amd64()
            } else {
                iis_modules_x86()
            },
            unloaded: Vec::new(),
            threads: Vec::new(),
            exception: None,
            pid: Some(4242),
            process_create_time: Some(1_700_000_000),
            dump_time: 1_700_003_600,
            comment: None,
            regions: Vec::new(),
            thread_info: false,
            stack_size: 0x400,
        }
    }

    /// The address of `offset` inside the module whose file name is `name` (case-insensitive).
    /// Panics when there is no such module: a test-builder bug, not input.
    pub fn addr(&self, name: &str, offset: u64) -> u64 {
        let m = self
            .modules
            .iter()
            .chain(self.unloaded.iter())
            .find(|m| {
                m.path
                    .rsplit('\\')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .unwrap_or_else(|| panic!("no module {name} in the synthetic dump"));
        m.base + offset
    }

    /// Adds a crashing thread with `code` at `ip` and its callers; the exception names it.
    pub fn crash(mut self, code: u32, ip: u64, params: &[u64], callers: &[u64]) -> W3wpDump {
        let tid = 0x1a2c;
        let base = if self.amd64 {
            0x0000_00a1_b2c0_0000
        } else {
            0x0019_0000
        };
        self.threads
            .insert(0, ThreadSpec::new(tid, ip, callers, base));
        self.exception = Some(ExcSpec {
            code,
            address: ip,
            params: params.to_vec(),
            thread_id: tid,
        });
        self
    }

    /// Adds `n` idle threads (waiting in ntdll, called from w3tp-style code) with small stacks.
    pub fn idle_threads(mut self, n: usize) -> W3wpDump {
        let ntdll = self.addr("ntdll.dll", 0x9_f3cc);
        let k32 = self.addr("kernel32.dll", 0x1_8c34);
        let start = self.threads.len() as u64;
        for i in 0..n as u64 {
            let base = if self.amd64 {
                0x0000_00a2_0000_0000 + (start + i) * 0x10_0000
            } else {
                0x0200_0000 + (start + i) * 0x1_0000
            };
            self.threads.push(
                ThreadSpec::new(0x2000 + (start + i) as u32, ntdll, &[k32], base)
                    .times(10_000, 5_000),
            );
        }
        self
    }

    fn ptr(&self) -> u64 {
        if self.amd64 { 8 } else { 4 }
    }

    /// The stack bytes of `t` with a frame-pointer chain; returns (section, sp, bp).
    fn stack(&self, e: Endian, t: &ThreadSpec) -> (Section, u64, u64) {
        let p = self.ptr();
        // Each frame record: [bp] = caller bp, [bp + p] = return address, then two spare words.
        let stride = 4 * p;
        let first_bp = t.stack_base + stride;
        let need = (first_bp - t.stack_base) + stride * (t.callers.len() as u64 + 1);
        let size = (self.stack_size as u64).max(need);
        let words = size / p;
        let mut vals = vec![0u64; words as usize];
        for (k, ret) in t.callers.iter().enumerate() {
            let bp = first_bp + k as u64 * stride;
            let idx = ((bp - t.stack_base) / p) as usize;
            vals[idx] = bp + stride;
            vals[idx + 1] = *ret;
        }
        let mut s = Section::with_endian(e);
        for v in vals {
            s = if self.amd64 {
                s.D64(v)
            } else {
                s.D32(v as u32)
            };
        }
        (s, t.stack_base, first_bp)
    }

    fn context(&self, e: Endian, ip: u64, sp: u64, bp: u64) -> Section {
        if self.amd64 {
            Section::with_endian(e)
                .append_repeated(0, 8 * 6) // p1..p6 home
                .D32(0x10_001f) // CONTEXT_AMD64 | control | integer | segments | float | debug
                .D32(0) // mx_csr
                .append_repeated(0, 2 * 6) // cs ds es fs gs ss
                .D32(0) // eflags
                .append_repeated(0, 8 * 6) // dr0..dr7
                .append_repeated(0, 8 * 4) // rax rcx rdx rbx
                .D64(sp)
                .D64(bp)
                .append_repeated(0, 8 * 10) // rsi rdi r8..r15
                .D64(ip)
                .append_repeated(0, 512) // float save
                .append_repeated(0, 16 * 26) // vector registers
                .append_repeated(0, 8 * 6) // vector control, debug control, branch/exception records
        } else {
            Section::with_endian(e)
                .D32(0x1_003f) // CONTEXT_X86_ALL
                .append_repeated(0, 4 * 6) // dr0..dr7
                .append_repeated(0, 112) // FLOATING_SAVE_AREA
                .append_repeated(0, 4 * 10) // gs fs es ds edi esi ebx edx ecx eax
                .D32(bp as u32)
                .D32(ip as u32)
                .D32(0) // cs
                .D32(0) // eflags
                .D32(sp as u32)
                .D32(0) // ss
                .append_repeated(0, 512) // extended registers
        }
    }

    /// Serialises the dump.
    pub fn build(&self) -> Vec<u8> {
        let e = Endian::Little;
        let csd = DumpString::new("", e);
        let csd_off = csd.file_offset();
        let mut d = SynthMinidump::with_endian(e).add(csd);

        // Thread contexts and stacks. The exception names the crashing thread's context directly.
        let mut exc_ctx: Option<(u32, u32)> = None;
        let mut pending = Vec::new();
        for t in &self.threads {
            let (stack, sp, bp) = self.stack(e, t);
            let ctx = self.context(e, t.ip, sp, bp);
            let mem = Memory::with_section(stack, t.stack_base);
            let thread = Thread::new(e, t.id, &mem, &ctx);
            let (off, len) = (ctx.file_offset(), ctx.file_size());
            d = d.add(ctx);
            if self.exception.as_ref().is_some_and(|x| x.thread_id == t.id) {
                exc_ctx = Some((
                    len.value().unwrap_or(0) as u32,
                    off.value().unwrap_or(0) as u32,
                ));
            }
            pending.push((thread, mem));
        }
        for (thread, mem) in pending {
            d = d.add_thread(thread).add_memory(mem);
        }

        for m in &self.modules {
            let name = DumpString::new(&m.path, e);
            let file = m.path.rsplit('\\').next().unwrap_or(&m.path);
            let pdb = format!(
                "{}.pdb",
                file.rsplit_once('.').map_or(file, |(stem, _)| stem)
            );
            let cv = Section::with_endian(e)
                .D32(0x5344_5352) // 'RSDS'
                .append_bytes(&m.base.to_le_bytes())
                .append_bytes(&(m.size as u64).to_le_bytes())
                .D32(1) // age
                .append_bytes(pdb.as_bytes())
                .D8(0);
            let v = &m.version;
            let ffi = md::VS_FIXEDFILEINFO {
                signature: md::VS_FFI_SIGNATURE,
                struct_version: md::VS_FFI_STRUCVERSION,
                file_version_hi: ((v[0] as u32) << 16) | v[1] as u32,
                file_version_lo: ((v[2] as u32) << 16) | v[3] as u32,
                product_version_hi: ((v[0] as u32) << 16) | v[1] as u32,
                product_version_lo: ((v[2] as u32) << 16) | v[3] as u32,
                file_flags_mask: 0x3f,
                file_flags: 0,
                file_os: 0x40004,
                file_type: 2,
                file_subtype: 0,
                file_date_hi: 0,
                file_date_lo: 0,
            };
            let module =
                Module::new(e, m.base, m.size, &name, m.timestamp, 0, Some(&ffi)).cv_record(&cv);
            d = d.add_module(module).add(name).add(cv);
        }
        for m in &self.unloaded {
            let name = DumpString::new(&m.path, e);
            d = d
                .add_unloaded_module(UnloadedModule::new(
                    e,
                    m.base,
                    m.size,
                    &name,
                    m.timestamp,
                    0,
                ))
                .add(name);
        }
        for r in &self.regions {
            d = d.add_memory_info(MemoryInfo::new(
                e, r.base, r.base, r.protect, r.size, r.state, r.protect, r.ty,
            ));
        }

        let mut si = SystemInfo::new(e)
            .set_processor_architecture(if self.amd64 { 9 } else { 0 })
            .set_platform_id(2);
        si.major_version = self.os.0;
        si.minor_version = self.os.1;
        si.build_number = self.os.2;
        si.number_of_processors = 4;
        si.product_type = 3; // server
        si.csd_version_rva = csd_off.value().unwrap_or(0) as u32;
        d = d.add_system_info(si);

        if let Some(x) = &self.exception {
            let mut ex = Exception::new(e);
            ex.thread_id = x.thread_id;
            ex.exception_record.exception_code = x.code;
            ex.exception_record.exception_address = x.address;
            ex.exception_record.number_parameters = x.params.len().min(15) as u32;
            for (i, p) in x.params.iter().take(15).enumerate() {
                ex.exception_record.exception_information[i] = *p;
            }
            if let Some(c) = exc_ctx {
                ex.thread_context = c;
            }
            d = d.add_exception(ex);
        }

        if self.pid.is_some() || self.process_create_time.is_some() {
            let mut misc = MiscStream::new(e);
            misc.process_id = self.pid;
            misc.process_times = self.process_create_time.map(|t| MiscFieldsProcessTimes {
                process_create_time: t,
                process_user_time: 0,
                process_kernel_time: 0,
            });
            d = d.add_stream(misc);
        }

        if let Some(c) = &self.comment {
            let mut bytes = Vec::new();
            for u in c.encode_utf16().chain(std::iter::once(0)) {
                bytes.extend_from_slice(&u.to_le_bytes());
            }
            d = d.add_stream(SimpleStream {
                stream_type: md::MINIDUMP_STREAM_TYPE::CommentStreamW as u32,
                section: Section::with_endian(e).append_bytes(&bytes),
            });
        }

        if self.thread_info && !self.threads.is_empty() {
            // MINIDUMP_THREAD_INFO_LIST: header (12 bytes) then 64-byte entries.
            let mut s = Section::with_endian(e)
                .D32(12)
                .D32(64)
                .D32(self.threads.len() as u32);
            for t in &self.threads {
                s = s
                    .D32(t.id)
                    .D32(0) // dump flags
                    .D32(0) // dump error
                    .D32(0x103) // exit status: STILL_ACTIVE
                    .D64(t.create_time)
                    .D64(0) // exit time
                    .D64(t.kernel_time)
                    .D64(t.user_time)
                    .D64(t.ip) // start address (any code address will do)
                    .D64(0xf); // affinity
            }
            d = d.add_stream(SimpleStream {
                stream_type: md::MINIDUMP_STREAM_TYPE::ThreadInfoListStream as u32,
                section: s,
            });
        }

        let mut bytes = d.finish().unwrap_or_default();
        // minidump-synth hard-codes the header time stamp; patch it (offset 20: after signature,
        // version, stream count, directory RVA and checksum).
        if bytes.len() >= 24 {
            bytes[20..24].copy_from_slice(&self.dump_time.to_le_bytes());
        }
        bytes
    }
}
