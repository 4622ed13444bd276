//! Output files that are complete or absent.
//!
//! Every file w3triage writes (reports, `parse --out` tables) is written to a temporary name in
//! the same folder and renamed into place once complete, so a full disk, an error or Ctrl-C
//! never leaves a cut-off file under the final name. The temporary is removed on error, on drop
//! and — through [`remove_pending_on_interrupt`] — on SIGINT/SIGTERM. A destination that exists
//! and is not a regular file (`/dev/stdout`, a FIFO) is written directly: it cannot be renamed
//! over, and is no file to leave half-written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name; [`PendingFile::commit`] puts it in place.
pub struct PendingFile {
    dest: PathBuf,
    /// The temporary's path, while it exists.
    tmp: Option<PathBuf>,
    slot: Option<usize>,
    w: BufWriter<File>,
}

impl PendingFile {
    /// Starts writing `dest`.
    pub fn create(dest: &Path) -> io::Result<PendingFile> {
        let special = std::fs::metadata(dest).is_ok_and(|m| !m.is_file());
        if special {
            let f = std::fs::OpenOptions::new().write(true).open(dest)?;
            return Ok(PendingFile {
                dest: dest.to_path_buf(),
                tmp: None,
                slot: None,
                w: BufWriter::new(f),
            });
        }
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let tmp = dest.with_file_name(format!(
            ".{}.w3triage-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        // Registered before it exists: an interrupt between the two must still remove it.
        let slot = register(&tmp);
        let f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) => {
                unregister(slot);
                return Err(e);
            }
        };
        Ok(PendingFile {
            dest: dest.to_path_buf(),
            tmp: Some(tmp),
            slot,
            w: BufWriter::new(f),
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.w.flush()?;
        let Some(tmp) = self.tmp.clone() else {
            return Ok(());
        };
        self.w.get_ref().sync_all()?;
        std::fs::rename(&tmp, &self.dest)?;
        self.tmp = None;
        unregister(self.slot.take());
        Ok(())
    }
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
        unregister(self.slot.take());
    }
}

#[cfg(target_os = "linux")]
mod pending {
    //! The temporaries in flight, readable from a signal handler: a fixed set of slots holding
    //! NUL-terminated paths (unlink(2) and _exit(2) are async-signal-safe; locks are not).
    use std::ffi::{CString, c_char};
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    const SLOTS: usize = 16;
    static PENDING: [AtomicPtr<c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

    pub fn register(p: &Path) -> Option<usize> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(p.as_os_str().as_bytes()).ok()?.into_raw();
        for (i, s) in PENDING.iter().enumerate() {
            if s.compare_exchange(std::ptr::null_mut(), c, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Some(i);
            }
        }
        // SAFETY: `c` came from `CString::into_raw` above and was stored nowhere.
        drop(unsafe { CString::from_raw(c) });
        None
    }

    pub fn unregister(slot: Option<usize>) {
        if let Some(i) = slot {
            let p = PENDING[i].swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: every non-null pointer in PENDING came from `CString::into_raw`, and the
                // swap took it out, so it is freed once.
                drop(unsafe { CString::from_raw(p) });
            }
        }
    }

    extern "C" fn on_signal(sig: libc::c_int) {
        for s in &PENDING {
            let p = s.load(Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: a NUL-terminated path that stays allocated while registered (it is
                // never freed while the process runs this handler: the handler ends the process).
                unsafe { libc::unlink(p) };
            }
        }
        let msg: &[u8] = if sig == libc::SIGINT {
            b"w3triage: interrupted; partial output files removed\n"
        } else {
            b"w3triage: terminated; partial output files removed\n"
        };
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `msg` is a valid buffer.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(128 + sig);
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: installs a handler that only calls async-signal-safe functions.
            unsafe { libc::signal(sig, handler) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod pending {
    //! Elsewhere an interrupt may leave a temporary (never a partial file under the final name).
    use std::path::Path;
    pub fn register(_: &Path) -> Option<usize> {
        None
    }
    pub fn unregister(_: Option<usize>) {}
    pub fn install() {}
}

use pending::{register, unregister};

/// Makes SIGINT, SIGTERM and SIGHUP remove the temporaries of files being written, then exit
/// with 128 + the signal's number (130 for Ctrl-C). For the command line; a library user that
/// handles signals itself need not call it.
pub fn remove_pending_on_interrupt() {
    pending::install();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("r.json");
        let mut f = PendingFile::create(&dest).unwrap();
        f.write_all(b"{}").unwrap();
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"{}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Dropped before commit (an error on the way): nothing left, the old file untouched.
        let mut f = PendingFile::create(&dest).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&dest).unwrap(), b"{}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn special_destinations_are_written_directly() {
        use std::os::unix::fs::FileTypeExt;
        let mut f = PendingFile::create(Path::new("/dev/null")).unwrap();
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}
