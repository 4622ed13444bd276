//! The dataset: every table of every server as a Hive-partitioned Parquet dataset
//! (`<table>/server=<S>/date=<YYYY-MM-DD>/part-0.parquet`, zstd), readable as it is by polars,
//! DuckDB, Spark and DataFusion, with a manifest of the sources it was made from.
//!
//! A server is ingested as a whole (its identity and local times are resolved from all its
//! files, as `analyze` does), so a server is the unit of change: a rerun skips the servers whose
//! sources are unchanged (same keys and fingerprints) and replaces the partitions of the others.
//! Partitions are written into `_staging/` and renamed into place, then the manifest is
//! replaced: a crash leaves the previous partitions or the new ones, and a manifest that sends
//! the next run back to the servers it did not finish.

mod judged;
mod manifest;
#[cfg(feature = "distributed")]
pub mod reduce;
mod summaries;

pub use manifest::{Manifest, ServerEntry, SourceEntry};

use crate::export::{TableView, view as table_view};
use crate::farm::{
    FarmOptions, FarmReport, Judged, OtherFile, ServerRun, ServerSummary, judge_group,
};
use crate::tables::ColKind;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The version of the dataset's layout and columns (`docs/dataset.md`).
pub const DATASET_SCHEMA_VERSION: &str = "1.2";
/// The manifest's file name in the dataset's folder.
pub const MANIFEST: &str = "_manifest.json";
/// The tables written besides the ingested ones (`export::TABLE_NAMES`): the `minutes` and
/// `patterns` aggregates and each server's judgment.
pub const DERIVED: &[&str] = &["minutes", "patterns", "incidents", "suspects", "inventory"];

/// The tables written, each in its own folder.
pub fn tables() -> impl Iterator<Item = &'static str> {
    crate::export::TABLE_NAMES.iter().chain(DERIVED).copied()
}

/// Told of each server as it is done: its name, (position, count), and its tables and
/// analysis when it was read in this run.
pub type OnServer<'a> = dyn FnMut(&str, (usize, usize), Option<&ServerRun<'_>>) + 'a;

/// What one run did to each server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read and its partitions replaced: rows and partition files written.
    Written {
        /// Rows written, all tables.
        rows: u64,
        /// Parquet files written.
        partitions: usize,
    },
    /// Its sources are those of the manifest: not read again.
    Unchanged,
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Each server and what became of it, in order.
    pub servers: Vec<(String, Outcome)>,
    /// Sources seen (files and archive members).
    pub sources: usize,
    /// Some file was not read cleanly (see each server's `issues` and `files` tables).
    pub read_badly: bool,
}

/// Ingests `paths` into the dataset at `dir` (created if missing), and judges each server
/// written (its summary is kept beside its partitions, for `farm` on the dataset). `each` is
/// told of every server as it is done: its name, position and count, and its tables and
/// analysis when it was read in this run.
pub fn ingest(
    paths: &[PathBuf],
    dir: &Path,
    opts: &FarmOptions,
    each: &mut OnServer<'_>,
) -> io::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let staging = dir.join("_staging");
    remove_stale_stages(&staging)?;
    let mut manifest = Manifest::load(dir)?;
    manifest.save_header(dir)?;
    let groups = crate::farm::sources_by_server(paths, opts);
    let mut summary = Summary::default();
    let n = groups.len();
    for (i, (server, group)) in groups.into_iter().enumerate() {
        summary.sources += group.len();
        let sources: Vec<SourceEntry> = group.iter().map(SourceEntry::of).collect();
        if manifest.unchanged(&server, &sources) && summaries::current(dir, &server) {
            each(&server, (i, n), None);
            summary.servers.push((server, Outcome::Unchanged));
            continue;
        }
        let mut seen = false;
        let mut written = Ok(());
        let read = judge_group(&server, (i, n), group, opts, &mut |run| {
            seen = true;
            // The server's own reports, kept for `farm … --out` when it is not read again.
            written =
                crate::report::write_files(run.analysis, &reports_dir(dir, run.name)).map(drop);
            each(run.name, run.index, Some(run));
        });
        written?;
        if !seen {
            each(&server, (i, n), None);
        }
        let (rows, partitions) = replace_server(dir, &staging, &server, &read)?;
        // (After the write: a log read again for it may have changed meanwhile.)
        summary.read_badly |= read.tables.read_badly();
        summaries::save(dir, &server, &read.judged)?;
        manifest.record(dir, &server, sources, rows, partitions)?;
        summary
            .servers
            .push((server, Outcome::Written { rows, partitions }));
    }
    // `_staging/` itself stays (empty): removing it could pull it from under another ingest
    // into this dataset that is creating its own stage now.
    Ok(summary)
}

/// The farm report of the dataset at `dir`, from the servers' summaries: no table is read.
/// Summaries written by another version of w3triage are refused (the analysis may differ):
/// `ingest` again.
pub fn farm_report(dir: &Path) -> io::Result<FarmReport> {
    let (servers, other) = load_summaries(dir)?;
    Ok(FarmReport::assemble(servers, other))
}

/// The farm report of the dataset at `dir` with the cross-server facts computed by SQL over
/// its tables on `engine` ([`reduce`]); each server's own incidents and suspects come from
/// its summary, as in [`farm_report`]. Also how long the engine took.
#[cfg(feature = "distributed")]
pub fn farm_report_on(
    dir: &Path,
    engine: &reduce::Engine,
    patience: &reduce::Patience,
) -> io::Result<(FarmReport, reduce::Timing)> {
    let (servers, other) = load_summaries(dir)?;
    let names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    let (facts, timing) = reduce::facts(dir, &names, engine, patience).map_err(io::Error::other)?;
    Ok((FarmReport::assemble_with(servers, other, &facts), timing))
}

/// Every server's summary (and the files of groups that were not servers), in name order.
fn load_summaries(dir: &Path) -> io::Result<(Vec<ServerSummary>, Vec<OtherFile>)> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let manifest = match Manifest::read(dir)? {
        None => {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} holds no dataset (no {MANIFEST})", dir.display()),
            ));
        }
        Some(Err(e)) => return Err(invalid(format!("{MANIFEST} cannot be read: {e}"))),
        Some(Ok(m)) if !m.is_current() => {
            let old: Vec<String> = m
                .outdated()
                .into_iter()
                .map(|(s, v)| format!("{s} ({v})"))
                .collect();
            return Err(invalid(format!(
                "the dataset was written by w3triage {} (layout {}){}, this is {} (layout {DATASET_SCHEMA_VERSION}): run `w3triage ingest … --dataset` again so that every server is judged by this version",
                m.tool_version,
                m.schema_version,
                if old.is_empty() {
                    String::new()
                } else {
                    format!(", servers {}", old.join(", "))
                },
                env!("CARGO_PKG_VERSION")
            )));
        }
        Some(Ok(m)) => m,
    };
    let mut servers = Vec::new();
    let mut other = Vec::new();
    for name in manifest.servers.keys() {
        match summaries::load(dir, name)? {
            Judged::Server(s) => servers.push(s),
            Judged::Other(files) => other.extend(files),
        }
    }
    Ok((servers, other))
}

/// Where the dataset keeps `server`'s own reports (`report.md`, `.html`, `.json`).
fn reports_dir(dir: &Path, server: &str) -> PathBuf {
    dir.join("_reports").join(crate::farm::path_segment(server))
}

/// Copies each server's own reports the dataset keeps into `out/servers/<server>/` (named as
/// `farm --out` names them), complete or absent; returns the servers copied.
pub fn copy_reports(dir: &Path, out: &Path) -> io::Result<Vec<String>> {
    let manifest = Manifest::load(dir)?;
    let mut copied = Vec::new();
    for server in manifest.servers.keys() {
        let from = reports_dir(dir, server);
        let names = ["report.md", "report.html", "report.json"];
        if !names.iter().all(|n| from.join(n).is_file()) {
            continue;
        }
        let files = names
            .iter()
            .map(|n| Ok((*n, std::fs::read_to_string(from.join(n))?)))
            .collect::<io::Result<Vec<_>>>()?;
        let to = out.join("servers").join(crate::farm::path_segment(server));
        crate::report::write_all_or_none(&to, &files)?;
        copied.push(server.clone());
    }
    Ok(copied)
}

/// Whether `dir` is a dataset (it has a manifest).
pub fn is_dataset(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

/// A server's stage untouched this long was left by a run that stopped (a fresh one may be
/// another ingest's, writing into the same shared dataset now).
const STALE_STAGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes the stages under `staging` that no run has touched for [`STALE_STAGE`].
fn remove_stale_stages(staging: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(staging) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let age = e.metadata()?.modified()?.elapsed().unwrap_or_default();
        if age >= STALE_STAGE {
            std::fs::remove_dir_all(e.path())?;
        }
    }
    Ok(())
}

/// Reads one server's sources and swaps its partitions of every table for new ones.
fn replace_server(
    dir: &Path,
    staging: &Path,
    server: &str,
    read: &crate::farm::Group,
) -> io::Result<(u64, usize)> {
    let tables = &read.tables;
    let key = format!("server={}", crate::farm::path_segment(server));
    let stage = staging.join(&key);
    // Left by a run that stopped between writing and renaming this server: never part of the
    // dataset. Other servers' stages may be another ingest's, writing now.
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    let empty = crate::farm::ServerSummary::empty();
    let summary = match &read.judged {
        Judged::Server(s) => s,
        Judged::Other(_) => &empty,
    };
    // The patterns' passes over the requests run while the other tables are written.
    let (patterns, written) = rayon::join(
        || crate::farm::patterns::Patterns::of(tables),
        || -> io::Result<(u64, usize)> {
            let (mut rows, mut partitions) = (0u64, 0usize);
            for name in self::tables() {
                let t = match (name, table_view(tables, name)) {
                    ("patterns", _) => continue,
                    ("requests", _) if let Some(again) = &tables.reread => {
                        let (r, p) = write_read_again(&stage.join(name), again)?;
                        rows += r;
                        partitions += p;
                        continue;
                    }
                    ("minutes", _) => Box::new(&read.minutes) as Box<dyn TableView>,
                    ("incidents", _) => Box::new(judged::Incidents(summary)),
                    ("suspects", _) => Box::new(judged::Suspects(summary)),
                    ("inventory", _) => Box::new(judged::Inventory(summary)),
                    (_, Some(t)) => t,
                    (_, None) => continue,
                };
                let (r, p) = write_table(&stage.join(name), t.as_ref())?;
                rows += r;
                partitions += p;
            }
            Ok((rows, partitions))
        },
    );
    let (mut rows, mut partitions) = written?;
    let (r, p) = write_table(&stage.join("patterns"), &patterns)?;
    rows += r;
    partitions += p;
    for name in self::tables() {
        let live = dir.join(name).join(&key);
        let staged = stage.join(name);
        if live.exists() {
            std::fs::remove_dir_all(&live)?;
        }
        if staged.exists() {
            std::fs::create_dir_all(dir.join(name))?;
            std::fs::rename(&staged, &live)?;
        }
    }
    std::fs::remove_dir_all(&stage).or_else(|e| match e.kind() {
        io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    })?;
    Ok((rows, partitions))
}

/// A UTC day, ms: a partition's span.
const DAY: i64 = 86_400_000;

/// Writes `requests` of a server whose logs are read again (see `ingest::reread`): each chunk
/// of rows, in order, to its day's file, as [`write_table`] lays them out.
fn write_read_again(dir: &Path, again: &crate::ingest::reread::Reread) -> io::Result<(u64, usize)> {
    let names = crate::tables::REQUEST_COLUMNS;
    let keep: Vec<usize> = (0..names.len()).filter(|&c| names[c] != "server").collect();
    let mut parts: crate::export::PartWriters<i64> = Default::default();
    let (mut rows, mut failed) = (0u64, None);
    again.each_in_order(&mut |r, range| {
        if failed.is_some() {
            return;
        }
        let mut by_day: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for i in range {
            by_day.entry(r.ts[i].div_euclid(DAY)).or_default().push(i);
        }
        for (day, idx) in by_day {
            rows += idx.len() as u64;
            let path = || partition(dir, Some(Some(day))).join("part-0.parquet");
            if let Err(e) = parts.add(day, path, r, &idx, &keep) {
                failed = Some(e);
                return;
            }
        }
    });
    if let Some(e) = failed {
        return Err(io::Error::other(e));
    }
    let n = parts.finish().map_err(io::Error::other)?;
    Ok((rows, n))
}

/// The folder of a partition: `None` for a table without `ts`, `Some(None)` for rows without
/// one (Hive's default partition), else the UTC day's.
fn partition(dir: &Path, day: Option<Option<i64>>) -> PathBuf {
    match day {
        None => dir.to_path_buf(),
        Some(None) => dir.join("date=__HIVE_DEFAULT_PARTITION__"),
        Some(Some(d)) => dir.join(format!("date={}", crate::farm::model::day_of(d * DAY))),
    }
}

/// Writes one table of one server under `dir`: one file per UTC day of its `ts` column
/// (`date=YYYY-MM-DD/part-0.parquet`, rows without a time under the Hive default partition),
/// or one file for a table without `ts`. The `server` column is left out: it is the partition.
fn write_table(dir: &Path, t: &dyn TableView) -> io::Result<(u64, usize)> {
    if t.is_empty() {
        return Ok((0, 0));
    }
    let cols = t.columns();
    let keep: Vec<usize> = (0..cols.len()).filter(|&c| cols[c].0 != "server").collect();
    let ts = cols.iter().position(|c| *c == ("ts", ColKind::Ts));
    // Keyed by day number, named once per partition (naming each row took 5 % of ingest).
    let mut by_day: BTreeMap<Option<Option<i64>>, Vec<usize>> = BTreeMap::new();
    for r in 0..t.len() {
        let day = ts.map(|c| match t.cell(r, c) {
            crate::tables::Cell::Ts(ms) => Some(ms.div_euclid(DAY)),
            _ => None,
        });
        by_day.entry(day).or_default().push(r);
    }
    let mut rows = 0;
    for (day, idx) in &by_day {
        let part = partition(dir, *day);
        std::fs::create_dir_all(&part)?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(part.join("part-0.parquet"))?);
        crate::export::write_parquet_rows(t, idx, &keep, &mut f).map_err(io::Error::other)?;
        io::Write::flush(&mut f)?;
        rows += idx.len() as u64;
    }
    Ok((rows, by_day.len()))
}
