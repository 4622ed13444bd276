//! Archives read in place: the members of a `.zip` are sources like files in a folder, named
//! and placed (server, site) by their path inside the archive. A member is found by its index
//! in the central directory, so ingest reopens it on any thread without extracting anything.
//!
//! Windows PowerShell 5.1's `Compress-Archive` writes `\` as the separator in member names; both
//! separators are read. A member whose name leaves the archive (absolute, or `..` past its root)
//! is listed and not read; so are encrypted members.

use super::Problem;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Which member of an archive a source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its index in the archive's central directory.
    pub index: usize,
    /// Its path inside the archive, `/`-separated (as stored when it was unsafe).
    pub name: String,
}

/// What listing an archive learns of one member.
pub(super) struct Listed {
    pub member: Member,
    /// Its inflated size.
    pub size: u64,
    /// Its CRC-32, as stored: with the size, the member's version.
    pub crc: u32,
    /// Its first bytes (see `super::sniff`), or why it is not read.
    pub head: Result<Vec<u8>, Problem>,
}

/// Every file member of the zip archive at `path` (folders left out), with its first bytes.
/// `Err` when the archive itself cannot be read (no central directory: cut short or not a zip).
/// The parsed archive stays among the last opened, for ingest to read its members.
pub(super) fn list_zip(path: &Path) -> Result<Vec<Listed>, String> {
    let mut zip = archive(path)?;
    let mut out = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let entry = match zip.by_index_raw(index) {
            Ok(raw) if !raw.is_file() => continue,
            Ok(raw) => {
                let (name, safe) = member_name(&raw);
                Ok((name, safe, raw.encrypted(), raw.size(), raw.crc32()))
            }
            Err(e) => Err(e.to_string()),
        };
        let listed = match entry {
            Ok((name, safe, encrypted, size, crc)) => {
                let head = if !safe {
                    Err(Problem::Unreadable(
                        "a member whose path leaves the archive (absolute, or `..`): not read"
                            .into(),
                    ))
                } else if encrypted {
                    Err(Problem::Unreadable(
                        "an encrypted member: extract it with its password first".into(),
                    ))
                } else if size == 0 {
                    Err(Problem::Empty)
                } else {
                    sniff_member(&mut zip, index)
                };
                Listed {
                    member: Member { index, name },
                    size,
                    crc,
                    head,
                }
            }
            Err(e) => Listed {
                member: Member {
                    index,
                    name: format!("member #{index}"),
                },
                size: 0,
                crc: 0,
                head: Err(Problem::Unreadable(format!("cannot read its entry: {e}"))),
            },
        };
        out.push(listed);
    }
    Ok(out)
}

/// The member's name with `/` separators, and whether it stays inside the archive.
fn member_name<R: Read>(raw: &zip::read::ZipFile<'_, R>) -> (String, bool) {
    let stored = raw.name().map(|n| n.into_owned()).unwrap_or_default();
    let unified = stored.replace('\\', "/");
    // `enclosed_name` rejects absolute paths and `..` past the root; backslashes are made
    // separators first so that a Windows-written `..\x` is caught as well.
    let safe = !unified.starts_with('/')
        && unified.as_bytes().get(1).is_none_or(|&c| c != b':')
        && raw.enclosed_name().is_some()
        && depth_stays_inside(&unified);
    (unified, safe)
}

/// Whether a `/`-separated relative path never climbs above its root.
fn depth_stays_inside(path: &str) -> bool {
    let mut depth = 0i32;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

fn sniff_member<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
) -> Result<Vec<u8>, Problem> {
    let entry = zip
        .by_index(index)
        .map_err(|e| Problem::Unreadable(format!("cannot open the member: {e}")))?;
    super::sniff(entry).map_err(|e| Problem::Unreadable(format!("cannot inflate the member: {e}")))
}

/// An archive's bytes, mapped once and shared by the readers of its members.
#[derive(Clone)]
struct Shared(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

type Archive = zip::ZipArchive<std::io::Cursor<Shared>>;

/// The archives opened last (path, parsed central directory): ingest reads an archive's
/// members one after another, and parsing the directory for each member made a zip of 20,000
/// small logs quadratic (32 s, where the same files in a folder take under a second).
/// Keyed by path, size and modification time, so that an archive rewritten between two runs
/// in one process is read again.
static OPEN: Mutex<Vec<(Version, Archive)>> = Mutex::new(Vec::new());

type Version = (PathBuf, u64, Option<std::time::SystemTime>);
/// How many archives [`OPEN`] keeps (the files in flight span a few at most).
const KEEP_OPEN: usize = 8;

/// The archive at `path`, parsed once while it stays among the last opened; `Err` says why it
/// cannot be read.
fn archive(path: &Path) -> Result<Archive, String> {
    let lock = || OPEN.lock().unwrap_or_else(|e| e.into_inner());
    let open_err = |e: std::io::Error| format!("cannot open: {e}");
    let file = File::open(path).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    let version: Version = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some((_, a)) = lock().iter().find(|(v, _)| *v == version) {
        return Ok(a.clone());
    }
    // SAFETY: read-only map; as for mapped logs, every read is bounded by the length taken
    // at map time, and a zip whose bytes change under us fails its checks, not memory safety.
    let map = unsafe { memmap2::Mmap::map(&file).map_err(open_err)? };
    let a = zip::ZipArchive::new(std::io::Cursor::new(Shared(Arc::new(map))))
        .map_err(|e| format!("a zip archive that cannot be read ({e}): cut short or corrupt"))?;
    let mut open = lock();
    open.push((version, a.clone()));
    if open.len() > KEEP_OPEN {
        open.remove(0);
    }
    Ok(a)
}

/// A reader of member `index` of the zip at `path`, for ingest.
pub fn open_member(path: &Path, index: usize) -> std::io::Result<MemberReader> {
    Ok(MemberReader {
        zip: archive(path).map_err(std::io::Error::other)?,
        index,
    })
}

/// An opened archive and the member to read from it (the zip crate's member reader borrows
/// the archive, so the two travel together).
pub struct MemberReader {
    zip: Archive,
    index: usize,
}

impl MemberReader {
    /// The member's inflated bytes. An error after some of them (a cut archive, a bad
    /// checksum) leaves those read.
    pub fn entry(&mut self) -> std::io::Result<impl Read + '_> {
        self.zip.by_index(self.index).map_err(std::io::Error::other)
    }
}

/// The path the location (server, site) of a member is read from: the archive's folder, the
/// archive's own name without its extension (`WEB01.zip` is WEB01's), then the member's
/// folders.
pub(super) fn location_path(archive: &Path, member: &str) -> PathBuf {
    let mut p = archive.with_extension("");
    for part in member.split('/') {
        if !part.is_empty() && part != "." && part != ".." {
            p.push(part);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_out_is_caught_with_either_separator() {
        assert!(depth_stays_inside("WEB01/W3SVC1/u_ex250301.log"));
        assert!(depth_stays_inside("a/../b"));
        assert!(!depth_stays_inside("../etc/passwd"));
        assert!(!depth_stays_inside("a/../../b"));
    }

    #[test]
    fn a_member_is_placed_below_its_archive() {
        let p = location_path(Path::new("farm/WEB01.zip"), "W3SVC1/u_ex250301.log");
        assert_eq!(p, Path::new("farm/WEB01/W3SVC1/u_ex250301.log"));
    }
}
