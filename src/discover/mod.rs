//! Find the artifacts under the paths an admin gives us and classify each by its content.
//!
//! Names lie (a `.log` may be binary junk, a dump may be called `w3wp.bin`), so the first few KiB
//! decide; names only break ties for header-less text. Every file found is returned, including
//! the ones no stage reads: they are listed in the report, never dropped.

pub mod archive;

pub use archive::Member;

use crate::tables::{ArtifactKind, FileId};
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// One input file and what we think it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// This run's id (the index in `files`).
    pub id: FileId,
    /// Where it was found.
    pub path: PathBuf,
    /// What it is, by its content.
    pub kind: ArtifactKind,
    /// Its size.
    pub bytes: u64,
    /// The server, from the folder layout (`<server>/…`), if any.
    pub server: Option<String>,
    /// The site, from a `W3SVC<id>` folder, if any.
    pub site: Option<String>,
    /// Set when the file could not be opened or walked, is special, or is empty.
    pub problem: Option<Problem>,
    /// Which source this is, the same in every run: `server/site/file name` (`-` for an
    /// unknown server or site). Within a server, IIS names its logs, HTTPERR logs, event logs
    /// and dumps uniquely per site.
    pub key: String,
    /// Which version of it: `size:hash` of its size and its first and last 64 KiB (a log that
    /// grew or was rewritten gets a new one), or `None` when it could not be read.
    pub fingerprint: Option<String>,
    /// How its bytes are stored (as they are, compressed, or in an archive).
    pub container: Container,
    /// Which member of the archive at `path` it is (a `.zip` holds many sources).
    pub member: Option<Member>,
}

impl Artifact {
    /// Places the source on `server`, whatever its folders say (`ingest --server`): its key
    /// follows.
    pub fn place_on(&mut self, server: &str) {
        let rest = self.key.split_once('/').map_or("-/-", |(_, r)| r);
        self.key = format!("{server}/{rest}");
        self.server = Some(server.to_string());
    }

    /// Where the source is, as the report names it: its path, or for an archive's member the
    /// archive's path followed by the member's (`farm/WEB01.zip/W3SVC1/u_ex250301.log`).
    pub fn source_path(&self) -> PathBuf {
        match &self.member {
            Some(m) => self.path.join(&m.name),
            None => self.path.clone(),
        }
    }
}

/// How a file's bytes are stored. Ingest opens every source through this
/// (`ingest::load`): a compressed file is read through its decoder, and its kind, name and
/// source key are those of what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Container {
    /// As they are.
    #[default]
    Plain,
    /// gzip (`.gz`, several members too): one log, event export or dump per file, as log
    /// rotation scripts and admins compress them; known by its magic bytes, named without
    /// the `.gz`.
    Gzip,
    /// zstd (`.zst`): one source per file, like gzip.
    Zstd,
    /// A `.zip` archive: each file member is a source of its own ([`Artifact::member`]).
    Zip,
}

impl Container {
    /// What a file holding `head` is stored as.
    pub fn of(head: &[u8]) -> Container {
        if head.starts_with(&[0x1f, 0x8b]) {
            Container::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Container::Zstd
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Container::Zip
        } else {
            Container::Plain
        }
    }

    /// The name of what the file at `path` holds: `u_ex240301.log.gz` holds `u_ex240301.log`.
    pub fn inner_path(self, path: &Path) -> PathBuf {
        let suffixes: &[&str] = match self {
            Container::Plain | Container::Zip => &[],
            Container::Gzip => &["gz"],
            Container::Zstd => &["zst", "zstd"],
        };
        let strip = path
            .extension()
            .is_some_and(|e| suffixes.iter().any(|s| e.eq_ignore_ascii_case(s)));
        if strip {
            path.with_extension("")
        } else {
            path.to_path_buf()
        }
    }
}

/// The first bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The first bytes of a 7-Zip archive.
const SEVEN_ZIP_MAGIC: [u8; 6] = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];

/// Why a file is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An empty file: skipped.
    Empty,
    /// A FIFO, socket, device or pseudo-file: skipped unread (the text says which).
    NotRegular(String),
    /// It could not be opened, read or walked: failed (the text says why).
    Unreadable(String),
    /// A kind w3triage does not read where it is (an archive inside an archive): skipped, with
    /// what to do.
    Unsupported(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => f.write_str(EMPTY_FILE),
            Problem::NotRegular(what) => write!(f, "{NOT_REGULAR}: {what}"),
            Problem::Unreadable(why) | Problem::Unsupported(why) => f.write_str(why),
        }
    }
}

/// How many bytes of a file classification looks at.
const SNIFF: usize = 8192;
/// How far classification reads past runs of NUL bytes (a hard power-off leaves them anywhere
/// in a log, the first lines included) for text to judge.
const SNIFF_PAST_NULS: u64 = 16 << 20;

/// The start of the `problem` of an empty file, which ingest reports as skipped, not failed.
pub const EMPTY_FILE: &str = "empty file";
/// The start of the `problem` of a special file (FIFO, socket, device), skipped unread.
pub const NOT_REGULAR: &str = "not a regular file";

/// What a file that is not a regular file is, for messages.
pub fn file_type_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Walks `paths` (files or folders, recursively, following links but not loops) and classifies
/// every file; the members of a `.zip` are sources of their own (see [`archive`]). The order is
/// deterministic: sorted by path, then by member name.
pub fn discover(paths: &[PathBuf]) -> Vec<Artifact> {
    let mut found: Vec<Found> = Vec::new();
    for root in paths {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            let (path, problem) = match entry {
                Ok(e) if e.file_type().is_file() => (e.path().to_path_buf(), None),
                Ok(e) if e.file_type().is_dir() => continue,
                // FIFOs, sockets, devices: never opened (a FIFO blocks, a device never ends),
                // but listed, so that every entry of the folder is accounted for.
                Ok(e) => {
                    let why = Problem::NotRegular(file_type_name(&e.file_type()).into());
                    (e.path().to_path_buf(), Some(why))
                }
                // Loops, permission errors on folders, dangling links: listed with the reason.
                Err(err) => {
                    let path = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    (path, Some(Problem::Unreadable(walk_error(&err))))
                }
            };
            found.push(Found {
                path,
                root: root.clone(),
                problem,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    let mut out: Vec<Artifact> = found.into_iter().flat_map(artifacts_of).collect();
    for (i, a) in out.iter_mut().enumerate() {
        a.id = i as FileId;
    }
    out
}

/// A file found by the walk, below the root it was found from.
struct Found {
    path: PathBuf,
    root: PathBuf,
    problem: Option<Problem>,
}

fn walk_error(err: &walkdir::Error) -> String {
    if let Some(ancestor) = err.loop_ancestor() {
        format!("symbolic link loop back to {}", ancestor.display())
    } else if let Some(io) = err.io_error() {
        format!("cannot read: {io}")
    } else {
        err.to_string()
    }
}

/// The sources a found file holds: itself, or each member of an archive. Ids are set later.
fn artifacts_of(mut f: Found) -> Vec<Artifact> {
    let c = match f.problem.take() {
        Some(p) => Classified::problem(ArtifactKind::Unknown, 0, p),
        None => classify_file(&f.path),
    };
    if c.container == Container::Zip && c.problem.is_none() {
        return zip_members(&f, c.bytes);
    }
    let (server, site) = infer_location(&f.root, &f.path);
    let inner = c.container.inner_path(&f.path);
    vec![Artifact {
        id: 0,
        key: source_key(&inner, server.as_deref(), site.as_deref()),
        fingerprint: c.fingerprint,
        path: f.path,
        kind: c.kind,
        bytes: c.bytes,
        server,
        site,
        problem: c.problem,
        container: c.container,
        member: None,
    }]
}

/// One source per file member of the zip at `f.path`, placed by its path inside the archive.
/// An archive that cannot be listed is one unreadable source; one without files, one empty one.
fn zip_members(f: &Found, bytes: u64) -> Vec<Artifact> {
    let (server, site) = infer_location(&f.root, &f.path);
    let whole = |problem: Problem| Artifact {
        id: 0,
        key: source_key(&f.path, server.as_deref(), site.as_deref()),
        fingerprint: None,
        path: f.path.clone(),
        kind: ArtifactKind::Unknown,
        bytes,
        server: server.clone(),
        site: site.clone(),
        problem: Some(problem),
        container: Container::Zip,
        member: None,
    };
    let listed = match archive::list_zip(&f.path) {
        Ok(l) if l.is_empty() => return vec![whole(Problem::Empty)],
        Ok(l) => l,
        Err(why) => return vec![whole(Problem::Unreadable(why))],
    };
    let mut out: Vec<Artifact> = listed
        .into_iter()
        .map(|m| {
            let virt = archive::location_path(&f.path, &m.member.name);
            let (server, site) = infer_location(&f.root, &virt);
            let (kind, problem) = match &m.head {
                Ok(head) if Container::of(head) != Container::Plain || head.starts_with(&SEVEN_ZIP_MAGIC) => {
                    let why = "an archive inside the archive: extract the outer archive first, then point w3triage at the folder";
                    (ArtifactKind::Unknown, Some(Problem::Unsupported(why.into())))
                }
                Ok(head) => (classify(head, &virt), None),
                Err(p) => (ArtifactKind::Unknown, Some(p.clone())),
            };
            Artifact {
                id: 0,
                key: source_key(&virt, server.as_deref(), site.as_deref()),
                fingerprint: Some(format!("{}:{:016x}", m.size, m.crc)),
                path: f.path.clone(),
                kind,
                bytes: m.size,
                server,
                site,
                problem,
                container: Container::Zip,
                member: Some(m.member),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.member
            .as_ref()
            .map(|m| &m.name)
            .cmp(&b.member.as_ref().map(|m| &m.name))
    });
    out
}

/// `server/site/file name`: see [`Artifact::key`].
fn source_key(path: &Path, server: Option<&str>, site: Option<&str>) -> String {
    let name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |n| n.to_string_lossy());
    format!("{}/{}/{name}", server.unwrap_or("-"), site.unwrap_or("-"))
}

/// Bytes hashed at each end of a file for its fingerprint.
const FINGERPRINT_SPAN: u64 = 64 << 10;

/// See [`Artifact::fingerprint`]: FNV-1a (stable across runs, platforms and Rust versions) over
/// the size and the first and last [`FINGERPRINT_SPAN`] bytes.
fn fingerprint(f: &mut File, len: u64) -> std::io::Result<String> {
    use crate::analyze::pattern::{Fnv, Sink};
    use std::io::{Seek, SeekFrom};
    let mut h = Fnv::default();
    h.put(&len.to_le_bytes());
    let mut buf = vec![0u8; FINGERPRINT_SPAN.min(len) as usize];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut buf)?;
    h.put(&buf);
    if len > FINGERPRINT_SPAN {
        let tail = FINGERPRINT_SPAN.min(len - FINGERPRINT_SPAN);
        buf.truncate(tail as usize);
        f.seek(SeekFrom::Start(len - tail))?;
        f.read_exact(&mut buf)?;
        h.put(&buf);
    }
    Ok(format!("{len}:{:016x}", h.0))
}

/// What discover learns of one file by reading its start.
struct Classified {
    kind: ArtifactKind,
    bytes: u64,
    problem: Option<Problem>,
    fingerprint: Option<String>,
    container: Container,
}

impl Classified {
    fn problem(kind: ArtifactKind, bytes: u64, why: Problem) -> Classified {
        Classified {
            kind,
            bytes,
            problem: Some(why),
            fingerprint: None,
            container: Container::Plain,
        }
    }
}

fn classify_file(path: &Path) -> Classified {
    // Checked before opening: opening a FIFO blocks until a writer comes.
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            let why = Problem::NotRegular(file_type_name(&m.file_type()).into());
            return Classified::problem(ArtifactKind::Unknown, 0, why);
        }
        _ => {}
    }
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let why = Problem::Unreadable(format!("cannot open: {e}"));
            return Classified::problem(ArtifactKind::Unknown, 0, why);
        }
    };
    let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    let head = match f.try_clone().and_then(sniff) {
        Ok(h) => h,
        Err(e) => {
            let why = Problem::Unreadable(format!("cannot read: {e}"));
            return Classified::problem(ArtifactKind::Unknown, bytes, why);
        }
    };
    if bytes == 0 {
        if !head.is_empty() {
            // procfs/sysfs files say 0 bytes and have content: not a log, and not empty.
            let why = Problem::NotRegular(
                "a pseudo-file that reports 0 bytes but has content (procfs, sysfs)".into(),
            );
            return Classified::problem(ArtifactKind::Unknown, 0, why);
        }
        let kind = name_hint(path).unwrap_or(ArtifactKind::Unknown);
        return Classified::problem(kind, 0, Problem::Empty);
    }
    let mut f = f;
    // A file that shrinks while it is read has no stable version: no fingerprint.
    let fingerprint = fingerprint(&mut f, bytes).ok();
    let container = Container::of(&head);
    let (kind, problem) = match container {
        Container::Plain | Container::Zip => (classify(&head, path), None),
        Container::Gzip | Container::Zstd => classify_compressed(f, path, container),
    };
    Classified {
        kind,
        bytes,
        problem,
        fingerprint,
        container,
    }
}

/// The kind of what a gzip or zstd file holds, from its first inflated bytes.
fn classify_compressed(f: File, path: &Path, c: Container) -> (ArtifactKind, Option<Problem>) {
    use std::io::Seek;
    let mut f = f;
    if let Err(e) = f.rewind() {
        return (
            ArtifactKind::Unknown,
            Some(Problem::Unreadable(format!("cannot read: {e}"))),
        );
    }
    let (name, head) = match c {
        Container::Zstd => ("zstd", decoder_of(f, c).and_then(sniff)),
        _ => ("gzip", decoder_of(f, c).and_then(sniff)),
    };
    match head {
        Ok(head) if head.is_empty() => (ArtifactKind::Unknown, Some(Problem::Empty)),
        Ok(head) => (classify(&head, &c.inner_path(path)), None),
        Err(e) => {
            let why =
                format!("a {name} file that cannot be inflated ({e}): corrupt, or not {name}");
            (ArtifactKind::Unknown, Some(Problem::Unreadable(why)))
        }
    }
}

/// A reader of what a gzip (all members) or zstd (all frames) file holds; the file as it is
/// for the other containers.
pub fn decoder_of(f: File, c: Container) -> std::io::Result<Box<dyn Read + Send>> {
    let buffered = std::io::BufReader::new(f);
    Ok(match c {
        Container::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Container::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Container::Plain | Container::Zip => Box::new(buffered),
    })
}

/// The first [`SNIFF`] bytes of the file, with runs of NUL bytes (power-loss padding) of 16 or
/// more left out and read past, as far as [`SNIFF_PAST_NULS`].
fn sniff(f: impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF);
    let mut r = std::io::BufReader::with_capacity(64 << 10, f.take(SNIFF_PAST_NULS));
    let mut nuls = 0usize;
    let mut buf = [0u8; 8192];
    while head.len() < SNIFF {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &c in &buf[..n] {
            if c == 0 {
                nuls += 1;
                continue;
            }
            // A short run of NULs is content (UTF-16, binary formats): kept as it was.
            if nuls > 0 && nuls < 16 {
                head.extend(std::iter::repeat_n(0, nuls));
            }
            nuls = 0;
            head.push(c);
        }
    }
    if nuls > 0 && nuls < 16 {
        head.extend(std::iter::repeat_n(0, nuls));
    }
    head.truncate(SNIFF);
    Ok(head)
}

/// PowerShell and some Windows tools write UTF-16 (with a byte-order mark or without): the
/// text of such a head, to judge it as text.
fn utf16_head(head: &[u8]) -> Option<String> {
    if head.starts_with(b"\xff\xfe") {
        Some(encoding_rs::UTF_16LE.decode(head).0.into_owned())
    } else if head.starts_with(b"\xfe\xff") {
        Some(encoding_rs::UTF_16BE.decode(head).0.into_owned())
    } else if looks_utf16le(head) {
        Some(
            encoding_rs::UTF_16LE
                .decode_without_bom_handling(head)
                .0
                .into_owned(),
        )
    } else {
        None
    }
}

/// Decides the kind from the first bytes of a file (and, for header-less text, its name).
pub fn classify(head: &[u8], path: &Path) -> ArtifactKind {
    if head.starts_with(b"MDMP") {
        return ArtifactKind::Minidump;
    }
    // The binary counter log's layout is undocumented: known by its name, listed with the
    // command that converts it.
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("blg"))
    {
        return ArtifactKind::PerfBlg;
    }
    if head.starts_with(&SEVEN_ZIP_MAGIC) {
        return ArtifactKind::SevenZip;
    }
    if head.starts_with(b"ElfFile\0") {
        return ArtifactKind::Evtx;
    }
    if let Some(decoded) = utf16_head(head) {
        // A valid UTF-8 string never starts with 0xFF/0xFE, so this cannot recurse again.
        return classify(decoded.trim_start_matches('\u{feff}').as_bytes(), path);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if looks_binary(text) {
        return ArtifactKind::Unknown;
    }
    let lower: Vec<u8> = text.iter().map(u8::to_ascii_lowercase).collect();
    let has = |needle: &str| memchr::memmem::find(&lower, needle.as_bytes()).is_some();
    let trimmed = trim_start(text);
    if trimmed.starts_with(b"\"(PDH-CSV") || trimmed.starts_with(b"\"(PDH-TSV") {
        return ArtifactKind::PerfCsv;
    }
    if trimmed.starts_with(b"<") {
        if has("<failedrequest") {
            return ArtifactKind::Freb;
        }
        if has("<event") {
            return ArtifactKind::EventXml;
        }
        return ArtifactKind::Unknown;
    }
    if trimmed.starts_with(b"{") && has("\"event\"") {
        return ArtifactKind::EventJson;
    }
    if has("#software: microsoft http api") || has("#software: microsoft http server api") {
        return ArtifactKind::HttpErr;
    }
    if let Some(fields) = directive(&lower, b"#fields:") {
        let has_field = |f: &[u8]| fields.split(|&b| b == b' ' || b == b'\t').any(|t| t == f);
        if has_field(b"s-reason") || has_field(b"s-queuename") {
            return ArtifactKind::HttpErr;
        }
        if has_field(b"x-session") || has_field(b"x-fullpath") || is_ftp(text, path) {
            return ArtifactKind::Ftp;
        }
        return ArtifactKind::W3c;
    }
    if has("#software: microsoft internet information services")
        || has("#software: iis advanced logging")
    {
        return ArtifactKind::W3c;
    }
    // No header: look at the first data line.
    let first = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty() && !l.starts_with(b"#"));
    let Some(line) = first else {
        return name_hint(path).unwrap_or(ArtifactKind::Unknown);
    };
    if is_iis_native(line) {
        return ArtifactKind::IisNative;
    }
    if is_ncsa(line) {
        return ArtifactKind::Ncsa;
    }
    if starts_with_w3c_datetime(line) {
        let n = line.split(|&b| b == b' ').filter(|t| !t.is_empty()).count();
        let hint = name_hint(path);
        if hint == Some(ArtifactKind::HttpErr) {
            return ArtifactKind::HttpErr;
        }
        // HTTPERR default: 13 values, the 11th a site id or `-`, the 12th a reason phrase.
        if n == 13 || n == 14 {
            let toks: Vec<&[u8]> = line
                .split(|&b| b == b' ')
                .filter(|t| !t.is_empty())
                .collect();
            let reason = toks[n - 2];
            if crate::knowledge::httperr_reasons::is_known_reason(reason) {
                return ArtifactKind::HttpErr;
            }
        }
        return ArtifactKind::W3c;
    }
    name_hint(path).unwrap_or(ArtifactKind::Unknown)
}

fn name_hint(path: &Path) -> Option<ArtifactKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.starts_with("httperr") && name.ends_with(".log") {
        Some(ArtifactKind::HttpErr)
    } else if (name.starts_with("u_ex") || name.starts_with("ex")) && name.ends_with(".log") {
        Some(ArtifactKind::W3c)
    } else if name.ends_with(".dmp") {
        Some(ArtifactKind::Minidump)
    } else if name.ends_with(".evtx") {
        Some(ArtifactKind::Evtx)
    } else {
        None
    }
}

/// UTF-16LE text without a byte-order mark: ASCII characters with a NUL after each.
pub fn looks_utf16le(b: &[u8]) -> bool {
    let pairs: Vec<&[u8]> = b.chunks_exact(2).take(256).collect();
    let text = pairs.iter().filter(|p| p[0] != 0 && p[1] == 0).count();
    pairs.len() >= 4 && text * 10 >= pairs.len() * 9
}

fn looks_binary(b: &[u8]) -> bool {
    // NUL-padded tails are normal after a crash, so judge by the start of the file only.
    let probe = &b[..b.len().min(512)];
    let nul = probe.iter().filter(|&&c| c == 0).count();
    let ctrl = probe
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    nul > 0 && nul * 4 >= probe.len().min(64) || ctrl * 10 > probe.len()
}

fn trim_start(b: &[u8]) -> &[u8] {
    let i = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[i..]
}

/// The rest of the first line starting with `name` (lower-cased input).
fn directive<'a>(lower: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    lower
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(name))
}

fn starts_with_w3c_datetime(l: &[u8]) -> bool {
    let d = |i: usize| l.get(i).is_some_and(u8::is_ascii_digit);
    l.len() >= 19
        && (0..4).all(d)
        && l[4] == b'-'
        && d(5)
        && d(6)
        && l[7] == b'-'
        && d(8)
        && d(9)
        && l[10] == b' '
        && d(11)
        && d(12)
        && l[13] == b':'
}

/// `client, user, M/D/YY, H:MM:SS, W3SVC1, …` — comma + space separated, fixed fields.
fn is_iis_native(l: &[u8]) -> bool {
    let parts: Vec<&[u8]> = l.split(|&b| b == b',').collect();
    if parts.len() < 14 {
        return false;
    }
    let date = trim_start(parts[2]);
    let mut slashes = 0;
    for &c in date {
        match c {
            b'/' => slashes += 1,
            b'0'..=b'9' => {}
            _ => return false,
        }
    }
    slashes == 2 && trim_start(parts[3]).contains(&b':')
}

/// `host ident user [dd/Mon/yyyy:HH:MM:SS ±zzzz] "GET / HTTP/1.1" 200 123`
fn is_ncsa(l: &[u8]) -> bool {
    let mut it = l.splitn(4, |&b| b == b' ');
    let (Some(_), Some(_), Some(_), Some(rest)) = (it.next(), it.next(), it.next(), it.next())
    else {
        return false;
    };
    rest.starts_with(b"[")
        && memchr::memchr(b']', rest).is_some()
        && memchr::memchr(b'"', rest).is_some()
}

/// Folder names of the IIS/Windows layout that say nothing about which server a file is from.
const LAYOUT_DIRS: &[&str] = &[
    "logfiles",
    "logs",
    "inetpub",
    "httperr",
    "system32",
    "windows",
    "failedreqlogfiles",
    "dumps",
    "crashdumps",
    "events",
    "eventlogs",
    "logs-iis",
    "w3c",
    "debugdiag",
    "procdump",
    "perfmon",
    "counters",
    "wer",
    "c",
    "c$",
];

/// An FTP log by its place (`FTPSVC<id>`, `MSFTPSVC<id>` folders, as IIS names them) or by IIS
/// 4/5's `[session]COMMAND` values (`[2]USER anonymous`).
fn is_ftp(text: &[u8], path: &Path) -> bool {
    let in_ftp_folder = path.components().any(|c| {
        let n = c.as_os_str().to_string_lossy().to_ascii_lowercase();
        n.strip_prefix("ftpsvc")
            .or_else(|| n.strip_prefix("msftpsvc"))
            .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()))
    });
    let session_commands = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"#") && !l.is_empty())
        .take(8)
        .any(|l| {
            l.split(|&b| b == b' ').any(|t| {
                t.first() == Some(&b'[')
                    && t.iter().position(|&b| b == b']').is_some_and(|e| {
                        e > 1 && t[1..e].iter().all(u8::is_ascii_digit) && e + 1 < t.len()
                    })
            })
        });
    in_ftp_folder || session_commands
}

/// Whether a folder or archive name names a period or a batch of logs, not a machine: admins
/// archive by date (`2025-03`, `logs-2025-03.zip`, `u_ex2503.zip`, `archive_20250301`).
fn names_a_period(lower: &str) -> bool {
    let digits = lower.bytes().filter(u8::is_ascii_digit).count();
    let letters: String = lower.chars().filter(char::is_ascii_alphabetic).collect();
    const WORDS: &[&str] = &[
        "",
        "log",
        "logs",
        "iislogs",
        "archive",
        "archives",
        "backup",
        "backups",
        "old",
        "uex",
        "ex",
        "uexlog",
        "exlog",
        "httperr",
        "httperrlog",
        "w3c",
        "month",
        "week",
        "day",
    ];
    digits >= 4 && WORDS.contains(&letters.as_str())
}

/// Server and site from the folder layout: `<server>/…/W3SVC<id>/u_ex….log`.
pub fn infer_location(root: &Path, path: &Path) -> (Option<String>, Option<String>) {
    let mut site = None;
    let rel = path.strip_prefix(root).unwrap_or(path);
    // The root's own name counts too (`w3triage analyze web01/`), but not `.` or `/`.
    let mut names: Vec<String> = Vec::new();
    if let Some(n) = root.file_name() {
        names.push(n.to_string_lossy().into_owned());
    }
    let comps: Vec<Component> = rel.components().collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        if let Component::Normal(n) = c {
            names.push(n.to_string_lossy().into_owned());
        }
    }
    if root.is_file() {
        names.clear();
        if let Some(parent) = root.parent() {
            names.extend(parent.components().filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            }));
        }
    }
    // Below `PerfLogs` the folders are Data Collector Set and run names (`Admin/IIS Health/
    // WEB01_20250314-000001`), never the server's.
    if let Some(i) = names
        .iter()
        .rposition(|n| n.eq_ignore_ascii_case("perflogs"))
    {
        names.truncate(i);
    }
    let mut server = None;
    for n in names.iter().rev() {
        let lower = n.to_ascii_lowercase();
        if lower.starts_with("w3svc")
            && lower[5..].chars().all(|c| c.is_ascii_digit())
            && lower.len() > 5
        {
            site.get_or_insert_with(|| n.to_uppercase());
            continue;
        }
        if LAYOUT_DIRS.contains(&lower.as_str())
            || lower.starts_with("ftpsvc")
            || names_a_period(&lower)
        {
            continue;
        }
        server = Some(n.clone());
        break;
    }
    (server, site)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same file found from two different roots is the same source in the same version;
    /// growing it makes a new version of the same source.
    #[test]
    fn sources_have_a_key_and_a_version_that_do_not_depend_on_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("farm/WEB07/W3SVC2");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("u_ex240301.log");
        let mut text = String::from("#Fields: date time cs-uri-stem sc-status\n");
        for i in 0..20_000 {
            text.push_str(&format!("2024-03-01 00:00:00 /p{i} 200\n"));
        }
        std::fs::write(&log, &text).unwrap();
        let one = |root: &Path| {
            let a = discover(&[root.to_path_buf()]);
            assert_eq!(a.len(), 1);
            (a[0].key.clone(), a[0].fingerprint.clone())
        };
        let (key, print) = one(&tmp.path().join("farm"));
        assert_eq!(key, "WEB07/W3SVC2/u_ex240301.log");
        assert_eq!(
            one(&tmp.path().join("farm/WEB07")),
            (key.clone(), print.clone())
        );
        let p = print.clone().unwrap();
        assert!(p.starts_with(&format!("{}:", text.len())), "{p}");
        // A change in the middle of a large file is not seen (only the ends are hashed); an
        // append is.
        text.push_str("2024-03-01 00:00:01 /late 500\n");
        std::fs::write(&log, &text).unwrap();
        let (key2, print2) = one(&tmp.path().join("farm"));
        assert_eq!(key2, key);
        assert_ne!(print2, print);
        assert_eq!(
            one(&tmp.path().join("farm")).1,
            print2,
            "stable across runs"
        );
    }

    fn k(head: &str, name: &str) -> ArtifactKind {
        classify(head.as_bytes(), Path::new(name))
    }

    #[test]
    fn classifies_by_content_not_name() {
        assert_eq!(k("MDMP\x13\x27", "x.log"), ArtifactKind::Minidump);
        assert_eq!(
            k(
                "#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n",
                "a.txt"
            ),
            ArtifactKind::HttpErr
        );
        assert_eq!(
            k(
                "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-uri-stem\n",
                "x"
            ),
            ArtifactKind::W3c
        );
        assert_eq!(
            k(
                "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename\n",
                "x.log"
            ),
            ArtifactKind::HttpErr
        );
        assert_eq!(
            k(
                "2024-01-01 00:00:01 10.0.0.1 GET / - 80 - 10.0.0.2 UA - 200 0 0 15\n",
                "x.log"
            ),
            ArtifactKind::W3c
        );
        assert_eq!(
            k(
                "192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,\n",
                "in0101.log"
            ),
            ArtifactKind::IisNative
        );
        assert_eq!(
            k(
                "10.0.0.1 - - [01/Jan/2024:00:00:01 +0000] \"GET / HTTP/1.1\" 200 12\n",
                "nc.log"
            ),
            ArtifactKind::Ncsa
        );
        assert_eq!(
            k(
                "<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>",
                "e.xml"
            ),
            ArtifactKind::EventXml
        );
        assert_eq!(
            k(
                "<?xml version=\"1.0\"?><failedRequest url=\"http://x/\">",
                "fr000001.xml"
            ),
            ArtifactKind::Freb
        );
        assert_eq!(
            k(
                "\0\0\0\x01\x02junk\0\0\0\0\0\0\0\0\0\0\0\0",
                "u_ex240101.log"
            ),
            ArtifactKind::Unknown
        );
        assert_eq!(k("hello world\n", "notes.txt"), ArtifactKind::Unknown);
        let utf16: Vec<u8> = b"\xff\xfe"
            .iter()
            .copied()
            .chain(
                "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(
            classify(&utf16, Path::new("app.xml")),
            ArtifactKind::EventXml
        );
    }

    #[test]
    fn infers_server_and_site_from_layout() {
        let root = Path::new("/case/farm");
        assert_eq!(
            infer_location(
                root,
                Path::new("/case/farm/WEB01/inetpub/logs/LogFiles/W3SVC2/u_ex240101.log")
            ),
            (Some("WEB01".into()), Some("W3SVC2".into()))
        );
        assert_eq!(
            infer_location(root, Path::new("/case/farm/web02/HTTPERR/httperr1.log")),
            (Some("web02".into()), None)
        );
        assert_eq!(
            infer_location(Path::new("web03"), Path::new("web03/W3SVC1/u_ex1.log")),
            (Some("web03".into()), Some("W3SVC1".into()))
        );
    }
}
