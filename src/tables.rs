//! The tables every stage reads and writes: their columns, their types, their names.
//!
//! This module is the single source of truth for the schema. The two large tables
//! (`requests`, `httperr`) are columnar, built without an allocation per line; the small ones
//! (crash evidence, modules, frames, issues, files) are vectors of rows. Every row carries its
//! source: a file id (index into [`Tables::files`]) and a byte offset (or record number).
//! All times are UTC milliseconds since the Unix epoch.
//!
//! The column names here are the JSON-lines keys and the Parquet column names (see README).

use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// Index of a file in [`Tables::files`].
pub type FileId = u32;

/// UTC milliseconds since the Unix epoch.
pub type Millis = i64;

/// A nullable UTF-8 string column: one byte buffer and end offsets, no allocation per value.
///
/// A null is an end offset with [`NULL_END`] set; the nulls before the first value are only
/// counted (`lead`), so a column that is null throughout (cookie, host, extra in most IIS
/// layouts) holds no memory per row. The representation is canonical (`lead` is exactly the
/// number of leading nulls), so the derived `PartialEq` compares values.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StrCol {
    data: String,
    ends: Vec<u64>,
    lead: usize,
}

/// Marks a null in [`StrCol`]'s end offsets (the data of one column stays below 2^63 bytes).
const NULL_END: u64 = 1 << 63;

impl StrCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        StrCol {
            data: String::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
            lead: 0,
        }
    }
    pub fn len(&self) -> usize {
        self.lead + self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    pub fn push(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.data.push_str(s);
                self.ends.push(self.data.len() as u64);
            }
            None => self.push_null(),
        }
    }
    #[inline]
    pub fn push_null(&mut self) {
        if self.ends.is_empty() {
            self.lead += 1;
        } else {
            self.ends.push(self.data.len() as u64 | NULL_END);
        }
    }
    /// Pushes raw log bytes: UTF-8 when valid, else decoded as Windows-1252 (never dropped).
    pub fn push_bytes(&mut self, v: &[u8]) {
        match std::str::from_utf8(v) {
            Ok(s) => self.data.push_str(s),
            Err(_) => push_cp1252(&mut self.data, v),
        }
        self.ends.push(self.data.len() as u64);
    }
    /// Pushes raw bytes with `+` turned into spaces (user agent, referer, cookie), decoded like
    /// [`StrCol::push_bytes`].
    pub fn push_bytes_plus_decoded(&mut self, v: &[u8]) {
        match std::str::from_utf8(v) {
            Ok(s) => self.push_plus_decoded(s),
            Err(_) => {
                // Windows-1252 maps every ASCII byte to itself, so `+` can be swapped after decoding.
                let mut s = String::new();
                push_cp1252(&mut s, v);
                self.push_plus_decoded(&s);
            }
        }
    }
    /// Pushes text with `+` turned into spaces, copying it once.
    pub fn push_plus_decoded(&mut self, v: &str) {
        // SAFETY: `+` and space are both one-byte ASCII, so swapping one for the other in
        // valid UTF-8 leaves it valid UTF-8 (one pass: copy and replace together).
        let data = unsafe { self.data.as_mut_vec() };
        data.extend(v.bytes().map(|b| if b == b'+' { b' ' } else { b }));
        self.ends.push(self.data.len() as u64);
    }
    pub fn get(&self, i: usize) -> Option<&str> {
        let j = i.checked_sub(self.lead)?;
        let end = self.ends[j];
        if end & NULL_END != 0 {
            return None;
        }
        let start = if j == 0 {
            0
        } else {
            (self.ends[j - 1] & !NULL_END) as usize
        };
        Some(&self.data[start..end as usize])
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Appends another column (chunk results are concatenated in input order).
    pub fn append(&mut self, other: &StrCol) {
        let base = self.data.len() as u64;
        if self.ends.is_empty() {
            self.lead += other.lead;
        } else {
            self.ends
                .extend(std::iter::repeat_n(base | NULL_END, other.lead));
        }
        self.data.push_str(&other.data);
        // Adding the base keeps the null flag: offsets stay far below it.
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }
    /// Faults in the reserved capacity (see [`prefault`]); a column of nulls only has none.
    pub fn prefault(&self) {
        self.prefault_next(usize::MAX, usize::MAX);
    }
    /// [`StrCol::prefault`] of only the room for the next `rows` values and `bytes` bytes.
    pub fn prefault_next(&self, rows: usize, bytes: usize) {
        if !self.ends.is_empty() {
            let cap = |len: usize, cap: usize, n: usize| cap.min(len.saturating_add(n));
            prefault(
                self.data.as_bytes(),
                cap(self.data.len(), self.data.capacity(), bytes),
            );
            prefault(&self.ends, cap(self.ends.len(), self.ends.capacity(), rows));
        }
    }
    /// Bytes of string data held (the sum of the value lengths).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
    /// Room for `rows` more values holding `bytes` more bytes in all, without regrowing.
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.data.reserve(bytes);
        self.ends.reserve(rows);
    }
    /// Empties the column, keeping its buffers (a chunk table is reused for the next chunk).
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.lead = 0;
    }
    pub fn shrink_to_fit(&mut self) {
        self.data.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * 8
    }
}

/// Faults in the unused capacity of a buffer in one system call (MADV_POPULATE_WRITE, Linux
/// 5.14+), instead of one page fault per 4 KiB as it fills. A hint: errors are ignored.
pub fn prefault<T>(v: &[T], cap: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let size = std::mem::size_of::<T>();
        let start = (v.as_ptr() as usize + std::mem::size_of_val(v)).next_multiple_of(PAGE);
        let end = (v.as_ptr() as usize + cap * size) & !(PAGE - 1);
        if end > start + (1 << 20) {
            // SAFETY: [start, end) lies inside the allocation of `cap` elements that `v` starts
            // and holds no initialised elements; populating pages changes no contents.
            unsafe {
                libc::madvise(
                    start as *mut libc::c_void,
                    end - start,
                    libc::MADV_POPULATE_WRITE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (v, cap);
}

/// Decodes Windows-1252 bytes (the usual ANSI code page of IIS hosts) into `out`.
pub fn push_cp1252(out: &mut String, v: &[u8]) {
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(v);
    out.push_str(&s);
}

/// A nullable categorical column for strings that repeat (servers, sites, methods, reasons, pools).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CatCol {
    codes: Vec<u32>,
    dict: Vec<String>,
    index: HashMap<String, u32>,
}

const NULL_CODE: u32 = u32::MAX;

impl CatCol {
    pub fn len(&self) -> usize {
        self.codes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
    /// The code for `v`, added to the dictionary if new.
    pub fn intern(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.index.get(v) {
            return c;
        }
        let c = self.dict.len() as u32;
        self.dict.push(v.to_owned());
        self.index.insert(v.to_owned(), c);
        c
    }
    pub fn push(&mut self, v: Option<&str>) {
        // Fast path: runs of the same value (server, site, method) need no hashing.
        let code = match v {
            None => NULL_CODE,
            Some(s) => match self.codes.last() {
                Some(&c) if c != NULL_CODE && self.dict[c as usize] == s => c,
                // A handful of values (methods alternating): a scan beats hashing. Same code
                // as `intern` would give.
                _ if self.dict.len() <= 8 => match self.dict.iter().position(|d| d == s) {
                    Some(c) => c as u32,
                    None => self.intern(s),
                },
                _ => self.intern(s),
            },
        };
        self.codes.push(code);
    }
    /// Pushes raw bytes, decoded like [`StrCol::push_bytes`].
    pub fn push_bytes(&mut self, v: &[u8]) {
        match std::str::from_utf8(v) {
            Ok(s) => self.push(Some(s)),
            Err(_) => {
                let mut s = String::new();
                push_cp1252(&mut s, v);
                self.push(Some(&s));
            }
        }
    }
    pub fn push_code(&mut self, code: u32) {
        self.codes.push(code);
    }
    pub fn get(&self, i: usize) -> Option<&str> {
        match self.codes[i] {
            NULL_CODE => None,
            c => Some(&self.dict[c as usize]),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// The distinct values, in first-seen order.
    pub fn categories(&self) -> &[String] {
        &self.dict
    }
    pub fn append(&mut self, other: &CatCol) {
        let remap: Vec<u32> = other.dict.iter().map(|s| self.intern(s)).collect();
        self.codes.extend(other.codes.iter().map(|&c| {
            if c == NULL_CODE {
                NULL_CODE
            } else {
                remap[c as usize]
            }
        }));
    }
    pub fn reserve(&mut self, rows: usize) {
        self.codes.reserve(rows);
    }
    /// Empties the column (values and dictionary), keeping the code buffer.
    pub fn clear(&mut self) {
        self.codes.clear();
        self.dict.clear();
        self.index.clear();
    }
    pub fn shrink_to_fit(&mut self) {
        self.codes.shrink_to_fit();
    }
    pub fn prefault(&self) {
        prefault(&self.codes, self.codes.capacity());
    }
    /// [`CatCol::prefault`] of only the room for the next `rows` values.
    pub fn prefault_next(&self, rows: usize) {
        let cap = self.codes.capacity();
        prefault(&self.codes, cap.min(self.codes.len().saturating_add(rows)));
    }
    pub fn heap_bytes(&self) -> usize {
        self.codes.capacity() * 4
            + self
                .dict
                .iter()
                .map(|s| s.capacity() * 2 + 48)
                .sum::<usize>()
    }
}

/// `requests`: one row per W3C access-log line (a request that completed).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Requests {
    /// When the request completed (W3C `date` + `time`, UTC).
    pub ts: Vec<Millis>,
    pub server: CatCol,
    pub site: CatCol,
    pub s_ip: StrCol,
    pub s_port: Vec<Option<u16>>,
    pub method: CatCol,
    /// Raw, as logged (not percent-decoded).
    pub uri_stem: StrCol,
    /// Raw, as logged (not percent-decoded); null for `-`.
    pub uri_query: StrCol,
    pub username: StrCol,
    pub c_ip: StrCol,
    /// `+` decoded to space.
    pub user_agent: StrCol,
    /// `+` decoded to space.
    pub referer: StrCol,
    /// `+` decoded to space.
    pub cookie: StrCol,
    pub host: StrCol,
    pub status: Vec<Option<u16>>,
    pub substatus: Vec<Option<u32>>,
    /// u64: broken logs hold values over u32 (plaso `iis10_edge_cases.log`).
    pub win32_status: Vec<Option<u64>>,
    pub sc_bytes: Vec<Option<u64>>,
    pub cs_bytes: Vec<Option<u64>>,
    pub time_taken_ms: Vec<Option<u64>>,
    pub file: Vec<FileId>,
    /// Byte offset of the line start in its file.
    pub offset: Vec<u64>,
    /// Custom and unknown fields as a JSON object text (`{"X-Forwarded-For":"1.2.3.4"}`), or null.
    pub extra: StrCol,
}

/// Column names of `requests`, in order (the JSON-lines keys and Parquet columns).
pub const REQUEST_COLUMNS: &[&str] = &[
    "ts",
    "server",
    "site",
    "s_ip",
    "s_port",
    "method",
    "uri_stem",
    "uri_query",
    "username",
    "c_ip",
    "user_agent",
    "referer",
    "cookie",
    "host",
    "status",
    "substatus",
    "win32_status",
    "sc_bytes",
    "cs_bytes",
    "time_taken_ms",
    "file",
    "offset",
    "extra",
];

impl Requests {
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    pub fn append(&mut self, o: &Requests) {
        // Large appends (the chunk merge) copy the columns in parallel: the copy is memory-bound
        // and the columns are independent.
        if o.len() >= 1 << 14 && rayon::current_num_threads() > 1 {
            rayon::scope(|s| {
                macro_rules! go {
                    ($($f:ident: $how:ident),*) => {$(
                        let (d, src) = (&mut self.$f, &o.$f);
                        s.spawn(move |_| go!(@ $how d src));
                    )*};
                    (@ vec $d:ident $src:ident) => { $d.extend_from_slice(&$src) };
                    (@ col $d:ident $src:ident) => { $d.append($src) };
                }
                go!(ts: vec, server: col, site: col, s_ip: col, s_port: vec, method: col,
                    uri_stem: col, uri_query: col, username: col, c_ip: col, user_agent: col,
                    referer: col, cookie: col, host: col, status: vec, substatus: vec,
                    win32_status: vec, sc_bytes: vec, cs_bytes: vec, time_taken_ms: vec,
                    file: vec, offset: vec, extra: col);
            });
            return;
        }
        self.ts.extend_from_slice(&o.ts);
        self.server.append(&o.server);
        self.site.append(&o.site);
        self.s_ip.append(&o.s_ip);
        self.s_port.extend_from_slice(&o.s_port);
        self.method.append(&o.method);
        self.uri_stem.append(&o.uri_stem);
        self.uri_query.append(&o.uri_query);
        self.username.append(&o.username);
        self.c_ip.append(&o.c_ip);
        self.user_agent.append(&o.user_agent);
        self.referer.append(&o.referer);
        self.cookie.append(&o.cookie);
        self.host.append(&o.host);
        self.status.extend_from_slice(&o.status);
        self.substatus.extend_from_slice(&o.substatus);
        self.win32_status.extend_from_slice(&o.win32_status);
        self.sc_bytes.extend_from_slice(&o.sc_bytes);
        self.cs_bytes.extend_from_slice(&o.cs_bytes);
        self.time_taken_ms.extend_from_slice(&o.time_taken_ms);
        self.file.extend_from_slice(&o.file);
        self.offset.extend_from_slice(&o.offset);
        self.extra.append(&o.extra);
    }
    /// Reserves room for `rows` rows in all, and for string data in all as in this table and
    /// `like` together scaled by `scale` (they are a sample of the whole, e.g. the first chunks
    /// of a file), both times `headroom`. Capacity that is never written costs no memory; the
    /// expected part (without the headroom) is faulted in at once, the headroom only if used.
    pub fn reserve_total_like(
        &mut self,
        rows: usize,
        like: &[&Requests],
        scale: f64,
        headroom: f64,
    ) {
        let est = |c: &StrCol, f: fn(&Requests) -> &StrCol| {
            let sample = c.data_len() + like.iter().map(|r| f(r).data_len()).sum::<usize>();
            ((sample as f64 * scale) as usize).saturating_sub(c.data_len())
        };
        let room = |n: usize| (n as f64 * headroom) as usize;
        let rows = rows.saturating_sub(self.len());
        let rows_room = room(rows);
        self.ts.reserve(rows_room);
        self.s_port.reserve(rows_room);
        self.status.reserve(rows_room);
        self.substatus.reserve(rows_room);
        self.win32_status.reserve(rows_room);
        self.sc_bytes.reserve(rows_room);
        self.cs_bytes.reserve(rows_room);
        self.time_taken_ms.reserve(rows_room);
        self.file.reserve(rows_room);
        self.offset.reserve(rows_room);
        for c in [&mut self.server, &mut self.site, &mut self.method] {
            c.reserve(rows_room);
        }
        macro_rules! strs {
            ($($f:ident),*) => {$(
                let bytes = est(&self.$f, |r| &r.$f);
                self.$f.reserve(rows_room, room(bytes));
                self.$f.prefault_next(rows, bytes);
            )*};
        }
        strs!(
            s_ip, uri_stem, uri_query, username, c_ip, user_agent, referer, cookie, host, extra
        );
        macro_rules! pre {
            ($($f:ident),*) => {$(
                prefault(&self.$f, self.$f.capacity().min(self.$f.len() + rows));
            )*};
        }
        pre!(
            ts,
            s_port,
            status,
            substatus,
            win32_status,
            sc_bytes,
            cs_bytes,
            time_taken_ms,
            file,
            offset
        );
        for c in [&self.server, &self.site, &self.method] {
            c.prefault_next(rows);
        }
    }
    /// Empties every column, keeping the buffers for reuse.
    pub fn clear(&mut self) {
        self.ts.clear();
        self.server.clear();
        self.site.clear();
        self.s_ip.clear();
        self.s_port.clear();
        self.method.clear();
        self.uri_stem.clear();
        self.uri_query.clear();
        self.username.clear();
        self.c_ip.clear();
        self.user_agent.clear();
        self.referer.clear();
        self.cookie.clear();
        self.host.clear();
        self.status.clear();
        self.substatus.clear();
        self.win32_status.clear();
        self.sc_bytes.clear();
        self.cs_bytes.clear();
        self.time_taken_ms.clear();
        self.file.clear();
        self.offset.clear();
        self.extra.clear();
    }
    /// Gives back unused capacity (large buffers shrink in place).
    pub fn shrink_to_fit(&mut self) {
        self.ts.shrink_to_fit();
        self.server.shrink_to_fit();
        self.site.shrink_to_fit();
        self.s_ip.shrink_to_fit();
        self.s_port.shrink_to_fit();
        self.method.shrink_to_fit();
        self.uri_stem.shrink_to_fit();
        self.uri_query.shrink_to_fit();
        self.username.shrink_to_fit();
        self.c_ip.shrink_to_fit();
        self.user_agent.shrink_to_fit();
        self.referer.shrink_to_fit();
        self.cookie.shrink_to_fit();
        self.host.shrink_to_fit();
        self.status.shrink_to_fit();
        self.substatus.shrink_to_fit();
        self.win32_status.shrink_to_fit();
        self.sc_bytes.shrink_to_fit();
        self.cs_bytes.shrink_to_fit();
        self.time_taken_ms.shrink_to_fit();
        self.file.shrink_to_fit();
        self.offset.shrink_to_fit();
        self.extra.shrink_to_fit();
    }
    /// Heap bytes held by the table (for the memory budget in the summary and benches).
    pub fn heap_bytes(&self) -> usize {
        let strs = [
            &self.s_ip,
            &self.uri_stem,
            &self.uri_query,
            &self.username,
            &self.c_ip,
            &self.user_agent,
            &self.referer,
            &self.cookie,
            &self.host,
            &self.extra,
        ];
        strs.iter().map(|c| c.heap_bytes()).sum::<usize>()
            + self.server.heap_bytes()
            + self.site.heap_bytes()
            + self.method.heap_bytes()
            + self.ts.capacity() * 8
            + self.s_port.capacity() * 4
            + self.status.capacity() * 4
            + self.substatus.capacity() * 8
            + (self.win32_status.capacity()
                + self.sc_bytes.capacity()
                + self.cs_bytes.capacity()
                + self.time_taken_ms.capacity())
                * 16
            + self.file.capacity() * 4
            + self.offset.capacity() * 8
    }
}

/// `httperr`: one row per HTTP.sys error-log line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HttpErr {
    pub ts: Vec<Millis>,
    pub server: CatCol,
    pub c_ip: StrCol,
    pub c_port: Vec<Option<u16>>,
    pub s_ip: StrCol,
    pub s_port: Vec<Option<u16>>,
    pub version: CatCol,
    pub method: CatCol,
    /// Raw URL + query as HTTP.sys wrote it.
    pub uri: StrCol,
    pub status: Vec<Option<u16>>,
    pub site_id: Vec<Option<u32>>,
    /// `s-reason`, e.g. `Connection_Abandoned_By_AppPool` (see `knowledge::httperr_reasons`).
    pub reason: CatCol,
    /// `s-queuename`: the application pool.
    pub queue: CatCol,
    /// Newer layouts only; null where the file has no such column.
    pub stream_id: StrCol,
    pub stream_id_ex: StrCol,
    pub transport: CatCol,
    pub fault_code: StrCol,
    pub extended_fault_code: StrCol,
    pub file: Vec<FileId>,
    pub offset: Vec<u64>,
}

pub const HTTPERR_COLUMNS: &[&str] = &[
    "ts",
    "server",
    "c_ip",
    "c_port",
    "s_ip",
    "s_port",
    "version",
    "method",
    "uri",
    "status",
    "site_id",
    "reason",
    "queue",
    "stream_id",
    "stream_id_ex",
    "transport",
    "fault_code",
    "extended_fault_code",
    "file",
    "offset",
];

impl HttpErr {
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    pub fn append(&mut self, o: &HttpErr) {
        self.ts.extend_from_slice(&o.ts);
        self.server.append(&o.server);
        self.c_ip.append(&o.c_ip);
        self.c_port.extend_from_slice(&o.c_port);
        self.s_ip.append(&o.s_ip);
        self.s_port.extend_from_slice(&o.s_port);
        self.version.append(&o.version);
        self.method.append(&o.method);
        self.uri.append(&o.uri);
        self.status.extend_from_slice(&o.status);
        self.site_id.extend_from_slice(&o.site_id);
        self.reason.append(&o.reason);
        self.queue.append(&o.queue);
        self.stream_id.append(&o.stream_id);
        self.stream_id_ex.append(&o.stream_id_ex);
        self.transport.append(&o.transport);
        self.fault_code.append(&o.fault_code);
        self.extended_fault_code.append(&o.extended_fault_code);
        self.file.extend_from_slice(&o.file);
        self.offset.extend_from_slice(&o.offset);
    }
}

/// Where a piece of crash evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// A minidump (`.dmp`).
    Dump,
    /// A Windows event (evtx, XML or JSON export).
    Event,
}

/// `crashes`: one row per piece of crash evidence (a dump, or one event).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CrashRow {
    /// When it happened: dump time from the dump header, or the event's `TimeCreated` (UTC).
    pub ts: Option<Millis>,
    pub server: Option<String>,
    pub source: Option<EvidenceSource>,
    /// Event provider (`Microsoft-Windows-WAS`, `Application Error`, …); null for dumps.
    pub provider: Option<String>,
    pub event_id: Option<u32>,
    /// `crash` (worker died), `disabled` (rapid-fail, 5002), `hang` (5010 ping), `shutdown_timeout` (5013),
    /// `unhandled_exception` (1309: request failed, process lived), `report` (WER 1001), `dump` (no exception stream).
    /// Also `unhealthy` (W3SVC-WP ISAPI / application health report: WAS recycles the worker; `detail` names the ISAPI).
    pub kind: String,
    pub app_pool: Option<String>,
    pub pid: Option<u32>,
    pub process_name: Option<String>,
    pub process_start: Option<Millis>,
    pub exception_code: Option<u32>,
    pub exception_name: Option<String>,
    /// `first` or `second` chance, when known.
    pub chance: Option<String>,
    /// The module the exception address lies in (null when it lies in none).
    pub faulting_module: Option<String>,
    pub faulting_module_version: Option<String>,
    pub fault_offset: Option<u64>,
    /// Process exit code (WAS 5009) or the error number (5011).
    pub exit_code: Option<u32>,
    /// For dumps: the verdict's suspect module (after walking past system code).
    pub suspect_module: Option<String>,
    /// Class of the suspect module (`knowledge::modules::ModuleClass` name).
    pub suspect_class: Option<String>,
    /// What the suspect is to IIS (`knowledge::modules::SuspectRole` name: `isapi_filter`,
    /// `isapi_extension`, `com_object`, `native_module`, `managed_pinvoke`, `managed_code`, `ancm`),
    /// from its caller on the crashing stack, else from the known-module table by name; null for
    /// Microsoft suspects and for event rows.
    pub suspect_role: Option<String>,
    /// Grouping key: `CODE_module+offset` style, like WinDbg's failure bucket.
    pub bucket: Option<String>,
    /// One or two sentences: what happened and what to do.
    pub verdict: Option<String>,
    /// `high` / `medium` / `low`.
    pub confidence: Option<String>,
    /// Free text the source carried (event message, exception type, CLR stack head …).
    pub detail: Option<String>,
    pub file: FileId,
    /// Byte offset (XML, JSON lines) or record number (evtx); 0 for a dump.
    pub offset: u64,
}

/// `modules`: every module loaded in (or unloaded from) a dumped process.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ModuleRow {
    /// The dump file.
    pub file: FileId,
    pub pid: Option<u32>,
    pub name: String,
    pub path: String,
    pub version: Option<String>,
    pub base: u64,
    pub size: u64,
    /// PE `TimeDateStamp` (seconds since epoch, as in the image header).
    pub timestamp: Option<u32>,
    pub unloaded: bool,
    /// `knowledge::modules::ModuleClass` name (`os_core`, `iis_core`, `isapi_filter`, `third_party` …).
    pub class: String,
    pub third_party: bool,
}

/// `frames`: the crashing thread's stack, frame 0 first.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FrameRow {
    pub file: FileId,
    pub index: u32,
    pub instruction: u64,
    pub module: Option<String>,
    pub module_offset: Option<u64>,
    pub function: Option<String>,
    pub function_offset: Option<u64>,
    pub source_file: Option<String>,
    pub source_line: Option<u32>,
    /// How the frame was found: `context`, `cfi`, `frame_pointer`, `scan` …
    pub trust: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Input we read but had to guess about (inferred layout, re-encoded bytes).
    Warning,
    /// Input we could not use (a line rejected, a file unreadable).
    Error,
}

/// `issues`: anything we could not read, or read with a guess. Never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueRow {
    pub file: FileId,
    /// 1-based line number, for text inputs.
    pub line: Option<u64>,
    /// Byte offset in the file, where known.
    pub offset: Option<u64>,
    pub severity: Severity,
    /// A stable short code: `field_count`, `no_header`, `truncated_line`, `nul_padding`,
    /// `bad_timestamp`, `unreadable`, `corrupt_dump` …
    pub code: &'static str,
    /// What was wrong, specifically.
    pub message: String,
}

impl IssueRow {
    pub fn new(
        file: FileId,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        IssueRow {
            file,
            line: None,
            offset: None,
            severity,
            code,
            message: message.into(),
        }
    }
    pub fn at(mut self, line: Option<u64>, offset: Option<u64>) -> Self {
        self.line = line;
        self.offset = offset;
        self
    }
}

/// What kind of artifact a file is, decided by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    W3c,
    HttpErr,
    IisNative,
    Ncsa,
    Minidump,
    Evtx,
    EventXml,
    /// evtx_dump-style JSON lines of events.
    EventJson,
    Freb,
    Unknown,
}

impl ArtifactKind {
    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::W3c => "w3c",
            ArtifactKind::HttpErr => "httperr",
            ArtifactKind::IisNative => "iis_native",
            ArtifactKind::Ncsa => "ncsa",
            ArtifactKind::Minidump => "minidump",
            ArtifactKind::Evtx => "evtx",
            ArtifactKind::EventXml => "event_xml",
            ArtifactKind::EventJson => "event_json",
            ArtifactKind::Freb => "freb",
            ArtifactKind::Unknown => "unknown",
        }
    }
}

/// What happened to a file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Read; per-line problems are in `issues`.
    Parsed,
    /// Recognised but no stage reads this kind yet, or not an artifact we know (listed, never dropped).
    Skipped,
    /// Could not be read at all (see `issues`).
    Failed,
}

/// Line accounting of a text file: `records + rejected + directives + blank == lines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LineCounts {
    pub lines: u64,
    pub records: u64,
    pub directives: u64,
    pub blank: u64,
    pub rejected: u64,
}

impl LineCounts {
    pub fn add(&mut self, o: &LineCounts) {
        self.lines += o.lines;
        self.records += o.records;
        self.directives += o.directives;
        self.blank += o.blank;
        self.rejected += o.rejected;
    }
    pub fn balanced(&self) -> bool {
        self.records + self.rejected + self.directives + self.blank == self.lines
    }
}

/// `files`: every input file, whatever became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRow {
    pub id: FileId,
    pub path: PathBuf,
    pub kind: ArtifactKind,
    pub status: FileStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    pub bytes: u64,
    pub server: Option<String>,
    pub site: Option<String>,
    pub counts: LineCounts,
    /// Rows this file contributed to its table (requests, httperr, crashes …).
    pub rows: u64,
    pub elapsed_ms: f64,
}

/// Everything ingested: the one contract between ingest and the later stages.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub files: Vec<FileRow>,
    pub requests: Requests,
    pub httperr: HttpErr,
    pub crashes: Vec<CrashRow>,
    pub modules: Vec<ModuleRow>,
    pub frames: Vec<FrameRow>,
    pub issues: Vec<IssueRow>,
}

/// What a stage knows about the file it reads.
#[derive(Debug, Clone, Default)]
pub struct FileCtx {
    pub id: FileId,
    pub path: PathBuf,
    /// Server inferred by discover (folder layout, host name); a parser may refine it from content.
    pub server: Option<String>,
    /// Site inferred from a `W3SVC<id>` folder.
    pub site: Option<String>,
}

/// What a format parser returns for one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub requests: Requests,
    pub httperr: HttpErr,
    pub crashes: Vec<CrashRow>,
    pub modules: Vec<ModuleRow>,
    pub frames: Vec<FrameRow>,
    pub issues: Vec<IssueRow>,
    pub counts: LineCounts,
    /// Server / site learned from the content (`s-computername`, `s-sitename`), if any.
    pub server: Option<String>,
    pub site: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_col_roundtrip_and_append() {
        let mut a = StrCol::default();
        a.push(Some("/a"));
        a.push(None);
        a.push_bytes(b"caf\xe9");
        let mut b = StrCol::default();
        b.push_bytes_plus_decoded(b"Mozilla/5.0+(Windows)");
        b.push_plus_decoded("caf\u{e9}+au+lait");
        a.append(&b);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![
                Some("/a"),
                None,
                Some("café"),
                Some("Mozilla/5.0 (Windows)"),
                Some("caf\u{e9} au lait")
            ]
        );
    }

    #[test]
    fn str_col_leading_nulls_and_appends() {
        let col = |vals: &[Option<&str>]| {
            let mut c = StrCol::default();
            for v in vals {
                c.push(*v);
            }
            c
        };
        let parts: [&[Option<&str>]; 5] = [
            &[None, None],
            &[None, Some("a"), None],
            &[],
            &[Some(""), None, Some("bc")],
            &[None],
        ];
        let all: Vec<Option<&str>> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let mut a = StrCol::default();
        for p in parts {
            a.append(&col(p));
        }
        assert_eq!(a.iter().collect::<Vec<_>>(), all);
        assert_eq!(a, col(&all));
        assert_eq!(a.len(), all.len());
        assert_eq!(col(&[None, None]).heap_bytes(), 0);
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a, StrCol::default());
    }

    #[test]
    fn cat_col_append_remaps_codes() {
        let mut a = CatCol::default();
        a.push(Some("GET"));
        a.push(Some("POST"));
        let mut b = CatCol::default();
        b.push(Some("POST"));
        b.push(None);
        b.push(Some("PUT"));
        a.append(&b);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![Some("GET"), Some("POST"), Some("POST"), None, Some("PUT")]
        );
        assert_eq!(a.categories(), &["GET", "POST", "PUT"]);
    }
}
