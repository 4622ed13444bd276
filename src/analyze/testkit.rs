//! Builds [`Tables`] by hand for tests, benches and examples: push requests, HTTPERR rows and
//! crash evidence without any input file. Not part of the stable API.

use crate::knowledge::modules::ModuleClass;
use crate::knowledge::modules::classify;
use crate::tables::{
    ArtifactKind, CrashKind, CrashRow, EvidenceSource, FaultKind, FileId, FileRow, FileStatus,
    FrameRow, FrameTrust, LineCounts, Millis, ModuleRow, Tables,
};
use std::path::PathBuf;

/// 2024-03-01T10:00:00Z: the default origin of test times.
pub const T0: Millis = 1_709_287_200_000;

/// Minutes after [`T0`].
pub fn at_min(m: f64) -> Millis {
    T0 + (m * 60_000.0) as Millis
}

/// One W3C request; `Default` is a fast `GET /` 200 from 10.0.0.1.
#[derive(Debug, Clone)]
pub struct Req<'a> {
    pub server: Option<&'a str>,
    pub site: Option<&'a str>,
    pub method: &'a str,
    pub stem: &'a str,
    pub query: Option<&'a str>,
    pub client: &'a str,
    pub user_agent: Option<&'a str>,
    pub status: u16,
    pub time_taken_ms: u64,
    pub bytes_in: Option<u64>,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Req {
            server: Some("WEB01"),
            site: Some("W3SVC1"),
            method: "GET",
            stem: "/",
            query: None,
            client: "10.0.0.1",
            user_agent: Some("Mozilla/5.0 (Windows NT 10.0)"),
            status: 200,
            time_taken_ms: 15,
            bytes_in: Some(400),
        }
    }
}

/// One HTTPERR row; `Default` is an abandonment of `/` in DefaultAppPool (site 1).
#[derive(Debug, Clone)]
pub struct Err<'a> {
    pub server: Option<&'a str>,
    pub method: &'a str,
    pub uri: &'a str,
    pub status: Option<u16>,
    pub site_id: Option<u32>,
    pub reason: &'a str,
    pub queue: &'a str,
    pub client: &'a str,
}

impl Default for Err<'_> {
    fn default() -> Self {
        Err {
            server: Some("WEB01"),
            method: "GET",
            uri: "/",
            status: None,
            site_id: Some(1),
            reason: "Connection_Abandoned_By_AppPool",
            queue: "DefaultAppPool",
            client: "10.0.0.1",
        }
    }
}

#[derive(Debug, Default)]
pub struct TableBuilder {
    pub t: Tables,
    next_offset: Vec<u64>,
}

impl TableBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an input file.
    pub fn file(&mut self, path: &str, kind: ArtifactKind) -> FileId {
        let id = self.t.files.len() as FileId;
        self.t.files.push(FileRow {
            id,
            key: format!("WEB01/-/{path}"),
            fingerprint: None,
            path: PathBuf::from(path),
            kind,
            status: FileStatus::Parsed,
            reason: None,
            bytes: 0,
            server: Some("WEB01".into()),
            host: None,
            site: None,
            counts: LineCounts::default(),
            rows: 0,
            elapsed_ms: 0.0,
        });
        self.next_offset.push(0);
        id
    }

    fn offset(&mut self, file: FileId, len: u64) -> u64 {
        let o = self.next_offset[file as usize];
        self.next_offset[file as usize] += len;
        let f = &mut self.t.files[file as usize];
        f.rows += 1;
        f.counts.lines += 1;
        f.counts.records += 1;
        f.bytes += len;
        o
    }

    pub fn request(&mut self, file: FileId, ts: Millis, q: &Req<'_>) -> &mut Self {
        let len = 100 + q.stem.len() as u64 + q.query.map_or(0, |s| s.len() as u64);
        let offset = self.offset(file, len);
        let r = &mut self.t.requests;
        r.ts.push(ts);
        r.server.push(q.server);
        r.site.push(q.site);
        r.s_ip.push(Some("10.0.0.10"));
        r.s_port.push(Some(443));
        r.method.push(Some(q.method));
        r.uri_stem.push(Some(q.stem));
        r.uri_query.push(q.query);
        r.username.push_null();
        r.c_ip.push(Some(q.client));
        r.user_agent.push(q.user_agent);
        r.referer.push_null();
        r.cookie.push_null();
        r.host.push_null();
        r.status.push(Some(q.status));
        r.substatus.push(Some(0));
        r.win32_status.push(Some(0));
        r.sc_bytes.push(Some(1000));
        r.cs_bytes.push(q.bytes_in);
        r.time_taken_ms.push(Some(q.time_taken_ms));
        r.file.push(file);
        r.offset.push(offset);
        r.extra.push_null();
        self
    }

    pub fn httperr(&mut self, file: FileId, ts: Millis, e: &Err<'_>) -> &mut Self {
        let offset = self.offset(file, 120 + e.uri.len() as u64);
        let h = &mut self.t.httperr;
        h.ts.push(ts);
        h.server.push(e.server);
        h.c_ip.push(Some(e.client));
        h.c_port.push(Some(50000));
        h.s_ip.push(Some("10.0.0.10"));
        h.s_port.push(Some(443));
        h.version.push(Some("HTTP/1.1"));
        h.method.push(Some(e.method));
        h.uri.push(Some(e.uri));
        h.status.push(e.status);
        h.site_id.push(e.site_id);
        h.reason.push(Some(e.reason));
        h.queue.push(Some(e.queue));
        h.stream_id.push_null();
        h.stream_id_ex.push_null();
        h.transport.push(None);
        h.fault_code.push_null();
        h.extended_fault_code.push_null();
        h.file.push(file);
        h.offset.push(offset);
        self
    }

    pub fn crash(&mut self, mut c: CrashRow) -> &mut Self {
        let f = c.file;
        if c.source == Some(EvidenceSource::Event) {
            c.offset = self.offset(f, 1);
        } else {
            self.t.files[f as usize].rows += 1;
        }
        self.t.crashes.push(c);
        self
    }

    pub fn module(
        &mut self,
        file: FileId,
        name: &str,
        class: &str,
        third_party: bool,
    ) -> &mut Self {
        self.t.modules.push(ModuleRow {
            file,
            pid: None,
            name: name.into(),
            path: format!(r"C:\Program Files\Vendor\{name}"),
            version: Some("1.2.3.4".into()),
            base: 0x1000_0000,
            size: 0x10000,
            timestamp: None,
            unloaded: false,
            class: class_named(class),
            third_party,
        });
        self
    }

    /// The crashing stack of dump `file`: frame 0 in `module` (`class`), then, when given, the
    /// module that called it (a host such as `filter.dll`, `isapi.dll`, `oleaut32.dll`,
    /// `iiscore.dll`: what the verdict reads the suspect's role from).
    pub fn stack(
        &mut self,
        file: FileId,
        module: &str,
        class: &str,
        caller: Option<&str>,
    ) -> &mut Self {
        let frame = |index: u32, m: &str, class: ModuleClass| FrameRow {
            file,
            index,
            instruction: 0x1000_1234 + u64::from(index) * 0x10_0000,
            module: Some(m.into()),
            module_offset: Some(0x1234),
            trust: if index == 0 {
                FrameTrust::Context
            } else {
                FrameTrust::FramePointer
            },
            class: Some(class),
            ..Default::default()
        };
        self.t.frames.push(frame(0, module, class_named(class)));
        if let Some(c) = caller {
            self.t.frames.push(frame(1, c, classify(c)));
        }
        self
    }

    pub fn build(self) -> Tables {
        self.t
    }
}

/// The module class named `name` (`third_party`, `os_core` …).
pub fn class_named(name: &str) -> ModuleClass {
    ModuleClass::from_name(name).unwrap_or_else(|| panic!("no module class {name:?}"))
}

/// A dump's crash row: a read access violation at `module`+0x1234 (`class`), in a process of
/// 40 threads. Its verdict is drawn in analysis from these facts and the dump's frames (see
/// [`TableBuilder::stack`]).
pub fn dump_row(file: FileId, ts: Millis, pid: u32, module: &str, class: &str) -> CrashRow {
    CrashRow {
        ts: Some(ts),
        server: Some("WEB01".into()),
        source: Some(EvidenceSource::Dump),
        kind: CrashKind::Crash,
        pid: Some(pid),
        process_name: Some("w3wp.exe".into()),
        exception_code: Some(0xC000_0005),
        exception_name: Some("EXCEPTION_ACCESS_VIOLATION_READ".into()),
        chance: Some("second".into()),
        faulting_module: Some(module.into()),
        fault_offset: Some(0x1234),
        info0: Some(0),
        fault_kind: Some(FaultKind::Module),
        fault_address: Some(0x1000_1234),
        fault_class: Some(class_named(class)),
        threads: Some(40),
        stacks_walked: true,
        file,
        ..Default::default()
    }
}

/// A WAS event (`5009`/`5011` crash, `5010` hang, `5002` disabled).
pub fn was_row(file: FileId, ts: Millis, id: u32, pool: &str, pid: Option<u32>) -> CrashRow {
    let kind = match id {
        5002 => CrashKind::Disabled,
        5010 => CrashKind::Hang,
        5013 => CrashKind::ShutdownTimeout,
        _ => CrashKind::Crash,
    };
    CrashRow {
        ts: Some(ts),
        server: Some("WEB01".into()),
        source: Some(EvidenceSource::Event),
        provider: Some("Microsoft-Windows-WAS".into()),
        event_id: Some(id),
        kind,
        app_pool: Some(pool.into()),
        pid,
        file,
        ..Default::default()
    }
}

/// Application Error 1000 for `pid`, faulting in `module`.
pub fn app_error_row(file: FileId, ts: Millis, pid: u32, module: &str, code: u32) -> CrashRow {
    CrashRow {
        ts: Some(ts),
        server: Some("WEB01".into()),
        source: Some(EvidenceSource::Event),
        provider: Some("Application Error".into()),
        event_id: Some(1000),
        kind: CrashKind::Crash,
        pid: Some(pid),
        process_name: Some("w3wp.exe".into()),
        exception_code: Some(code),
        faulting_module: Some(module.into()),
        faulting_module_version: Some("1.2.3.4".into()),
        fault_offset: Some(0x1234),
        file,
        ..Default::default()
    }
}
