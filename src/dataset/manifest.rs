//! The dataset's manifest: which sources each server's partitions were made from, so a rerun
//! knows what changed.

use crate::discover::Artifact;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// `_manifest.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// [`super::DATASET_SCHEMA_VERSION`] of the partitions.
    pub schema_version: String,
    /// The program that wrote them.
    pub tool_version: String,
    /// Each server's sources and partitions.
    pub servers: BTreeMap<String, ServerEntry>,
}

/// One server's entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerEntry {
    /// Its sources when its partitions were written.
    pub sources: Vec<SourceEntry>,
    /// Rows written, all tables.
    pub rows: u64,
    /// Parquet files written.
    pub partitions: usize,
}

/// One source: its stable key and the version of it that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// `server/site/file name` (see [`Artifact::key`]).
    pub key: String,
    /// Size and hash of its ends (or of an archive member's CRC); `None` when it could not be
    /// read, which never counts as unchanged.
    pub fingerprint: Option<String>,
    /// Where it was.
    pub path: String,
}

impl SourceEntry {
    /// The entry of a discovered source.
    pub fn of(a: &Artifact) -> SourceEntry {
        SourceEntry {
            key: a.key.clone(),
            fingerprint: a.fingerprint.clone(),
            path: a.source_path().display().to_string(),
        }
    }
}

impl Manifest {
    /// The manifest in `dir`, or an empty one. One written by another schema version or
    /// another version of w3triage is dropped: every server is read and judged again (the
    /// servers' summaries are that version's analysis).
    pub fn load(dir: &Path) -> io::Result<Manifest> {
        Ok(Self::read(dir)?
            .and_then(Result::ok)
            .filter(Manifest::is_current)
            // Missing, unreadable or older: its partitions are rewritten server by server.
            .unwrap_or_else(|| Manifest {
                schema_version: super::DATASET_SCHEMA_VERSION.into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                servers: BTreeMap::new(),
            }))
    }

    /// The manifest in `dir` as it is: `None` when there is none, `Err` (a message) when it
    /// cannot be read as one.
    pub fn read(dir: &Path) -> io::Result<Option<Result<Manifest, String>>> {
        match std::fs::read(dir.join(super::MANIFEST)) {
            Ok(b) => Ok(Some(
                serde_json::from_slice::<Manifest>(&b).map_err(|e| e.to_string()),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Written by this layout and this version of w3triage.
    pub fn is_current(&self) -> bool {
        self.schema_version == super::DATASET_SCHEMA_VERSION
            && self.tool_version == env!("CARGO_PKG_VERSION")
    }

    /// The server's partitions were made from exactly these sources, each read whole.
    pub fn unchanged(&self, server: &str, sources: &[SourceEntry]) -> bool {
        self.servers.get(server).is_some_and(|e| {
            e.sources.len() == sources.len()
                && sources.iter().all(|s| s.fingerprint.is_some())
                && e.sources
                    .iter()
                    .zip(sources)
                    .all(|(a, b)| a.key == b.key && a.fingerprint == b.fingerprint)
        })
    }

    /// Records what the server's partitions are now made from.
    pub fn record(
        &mut self,
        server: &str,
        sources: Vec<SourceEntry>,
        rows: u64,
        partitions: usize,
    ) {
        self.servers.insert(
            server.to_string(),
            ServerEntry {
                sources,
                rows,
                partitions,
            },
        );
    }

    /// Writes it into `dir`, whole or not at all.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        use std::io::Write;
        let mut f = crate::output::PendingFile::create(&dir.join(super::MANIFEST))?;
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        f.write_all(&json)?;
        f.flush()?;
        f.commit()
    }
}
