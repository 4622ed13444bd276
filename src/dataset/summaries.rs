//! Each server's summary beside its partitions (`_summaries/<server>.json`): what `farm` needs
//! of a server (its incidents, suspects, module inventory and days), so `farm` on a dataset
//! reads no table. It is the analysis of the version that wrote it, and only that version
//! reads it back.

use crate::farm::{Judged, OtherFile, ServerSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct Stored {
    tool_version: String,
    /// `None` for a group that held no evidence.
    server: Option<ServerSummary>,
    day_counts: BTreeMap<String, (u64, u64)>,
    other_files: Vec<OtherFile>,
}

fn path(dir: &Path, server: &str) -> PathBuf {
    dir.join("_summaries")
        .join(format!("{}.json", crate::farm::path_segment(server)))
}

/// Whether a summary of `server` that this version wrote is there.
pub fn current(dir: &Path, server: &str) -> bool {
    #[derive(Deserialize)]
    struct Version {
        tool_version: String,
    }
    std::fs::read(path(dir, server))
        .ok()
        .and_then(|b| serde_json::from_slice::<Version>(&b).ok())
        .is_some_and(|v| v.tool_version == env!("CARGO_PKG_VERSION"))
}

/// Keeps what `server`'s sources were judged to be.
pub fn save(dir: &Path, server: &str, judged: &Judged) -> io::Result<()> {
    use std::io::Write;
    let stored = match judged {
        Judged::Server(s) => Stored {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            server: Some(s.clone()),
            day_counts: s.day_counts.clone(),
            other_files: Vec::new(),
        },
        Judged::Other(files) => Stored {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            server: None,
            day_counts: BTreeMap::new(),
            other_files: files.clone(),
        },
    };
    let p = path(dir, server);
    std::fs::create_dir_all(p.parent().unwrap_or(dir))?;
    let mut f = crate::output::PendingFile::create(&p)?;
    f.write_all(&serde_json::to_vec(&stored).map_err(io::Error::other)?)?;
    f.flush()?;
    f.commit()
}

/// What `server`'s sources were judged to be, as this version wrote it.
pub fn load(dir: &Path, server: &str) -> io::Result<Judged> {
    let p = path(dir, server);
    let bytes = std::fs::read(&p)?;
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: not a summary this version reads ({e}); ingest again",
                p.display()
            ),
        )
    })?;
    if stored.tool_version != env!("CARGO_PKG_VERSION") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: written by w3triage {}, this is {}: run `w3triage ingest … --dataset` again so that every server is judged by this version",
                p.display(),
                stored.tool_version,
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(match stored.server {
        Some(mut s) => {
            s.day_counts = stored.day_counts;
            Judged::Server(s)
        }
        None => Judged::Other(stored.other_files),
    })
}
