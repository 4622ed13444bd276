//! The dataset's manifest: which sources each server's partitions were made from, so a rerun
//! knows what changed. `_manifest.json` holds the layout and the version of w3triage that
//! wrote the dataset; each server's entry is a file of its own (`_manifest/<server>.json`), so
//! that servers ingesting into one shared dataset at the same time never write the same file.

use crate::discover::Artifact;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The folder of the servers' entries.
const ENTRIES: &str = "_manifest";

/// The manifest: `_manifest.json` and the servers' entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// [`super::DATASET_SCHEMA_VERSION`] of the partitions.
    pub schema_version: String,
    /// The program that wrote them.
    pub tool_version: String,
    /// Each server's sources and partitions (in `_manifest/`, not in `_manifest.json`).
    #[serde(skip)]
    pub servers: BTreeMap<String, ServerEntry>,
}

/// One server's entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerEntry {
    /// The server.
    #[serde(default)]
    pub server: String,
    /// The layout its partitions were written in.
    #[serde(default)]
    pub schema_version: String,
    /// The program that wrote them.
    #[serde(default)]
    pub tool_version: String,
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

fn current(schema: &str, tool: &str) -> bool {
    schema == super::DATASET_SCHEMA_VERSION && tool == env!("CARGO_PKG_VERSION")
}

fn entry_path(dir: &Path, server: &str) -> PathBuf {
    dir.join(ENTRIES)
        .join(format!("{}.json", crate::farm::path_segment(server)))
}

/// Writes `value` as JSON at `path`, whole or not at all.
fn save_json(path: &Path, value: &impl Serialize) -> io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = crate::output::PendingFile::create(path)?;
    let mut json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    json.push(b'\n');
    f.write_all(&json)?;
    f.flush()?;
    f.commit()
}

impl Manifest {
    /// This version's empty manifest.
    fn fresh() -> Manifest {
        Manifest {
            schema_version: super::DATASET_SCHEMA_VERSION.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            servers: BTreeMap::new(),
        }
    }

    /// The manifest in `dir`, or an empty one. Entries written by another schema version or
    /// another version of w3triage are dropped: those servers are read and judged again (the
    /// servers' summaries are that version's analysis).
    pub fn load(dir: &Path) -> io::Result<Manifest> {
        let mut m = Manifest::fresh();
        if let Some(Ok(found)) = Self::read(dir)? {
            m.servers = found
                .servers
                .into_iter()
                .filter(|(_, e)| current(&e.schema_version, &e.tool_version))
                .collect();
        }
        Ok(m)
    }

    /// The manifest in `dir` as it is: `None` when there is none, `Err` (a message) when it
    /// or an entry cannot be read as one.
    pub fn read(dir: &Path) -> io::Result<Option<Result<Manifest, String>>> {
        let mut m: Manifest = match std::fs::read(dir.join(super::MANIFEST)) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(m) => m,
                Err(e) => return Ok(Some(Err(e.to_string()))),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let entries = match std::fs::read_dir(dir.join(ENTRIES)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(Ok(m))),
            Err(e) => return Err(e),
        };
        for f in entries {
            let p = f?.path();
            // Another writer's unfinished entry (`.<name>.w3triage-<pid>.tmp`).
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let e: ServerEntry = match serde_json::from_slice(&std::fs::read(&p)?) {
                Ok(e) => e,
                Err(e) => return Ok(Some(Err(format!("{}: {e}", p.display())))),
            };
            m.servers.insert(e.server.clone(), e);
        }
        Ok(Some(Ok(m)))
    }

    /// Written by this layout and this version of w3triage, every server's entry too.
    pub fn is_current(&self) -> bool {
        current(&self.schema_version, &self.tool_version)
            && self
                .servers
                .values()
                .all(|e| current(&e.schema_version, &e.tool_version))
    }

    /// The servers whose entries another layout or version wrote, with that version.
    pub fn outdated(&self) -> Vec<(String, String)> {
        self.servers
            .iter()
            .filter(|(_, e)| !current(&e.schema_version, &e.tool_version))
            .map(|(s, e)| (s.clone(), e.tool_version.clone()))
            .collect()
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

    /// Records what the server's partitions are now made from, and writes its entry.
    pub fn record(
        &mut self,
        dir: &Path,
        server: &str,
        sources: Vec<SourceEntry>,
        rows: u64,
        partitions: usize,
    ) -> io::Result<()> {
        let entry = ServerEntry {
            server: server.to_string(),
            schema_version: super::DATASET_SCHEMA_VERSION.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            sources,
            rows,
            partitions,
        };
        save_json(&entry_path(dir, server), &entry)?;
        self.servers.insert(server.to_string(), entry);
        Ok(())
    }

    /// Writes `_manifest.json` into `dir` when it is missing or names another version, whole
    /// or not at all; the servers' entries are written by [`Manifest::record`].
    pub fn save_header(&self, dir: &Path) -> io::Result<()> {
        let on_disk = Self::read(dir)?.and_then(Result::ok);
        if on_disk.is_some_and(|m| current(&m.schema_version, &m.tool_version)) {
            return Ok(());
        }
        save_json(&dir.join(super::MANIFEST), self)
    }
}
