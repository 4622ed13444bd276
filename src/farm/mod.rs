//! The web farm: each server's sources analysed on their own — the same ingest and analysis as
//! `analyze` on that server's folder, so a server's incidents are exactly those — then compared
//! across servers ([`findings`]).
//!
//! One server's tables are in memory at a time, and only a summary of each stays: memory follows
//! the largest server, not the farm.

pub mod facts;
pub mod findings;
mod minutes;
pub mod model;
pub mod patterns;

pub use minutes::Minutes;

pub use model::{DayCell, FarmReport, Finding, FindingKind, OtherFile, ServerSummary};

use crate::analyze::{Analysis, AnalyzeOptions, analyze};
use crate::discover::{Artifact, discover};
use crate::ingest::{IngestOptions, ingest_artifacts};
use crate::tables::{FileId, Tables};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The longest [`path_segment`]: well under the 255 bytes a file name may have.
const SEGMENT_MAX: usize = 160;

/// A server's name as one path segment, for the dataset's `server=` partitions and summaries
/// and for each server's own report folder. Letters, digits, `-`, `_` and a `.` that does not
/// start it stay; every other byte is `%XX` (Hive's escaping, which readers decode), so two
/// names never share a segment. An empty name is Hive's default partition. A name whose
/// escaped form is longer than 160 bytes (folder names are log-derived) is cut and ends
/// in `~` and a hash of the whole name, so that it stays unique and fits a file name.
pub fn path_segment(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || (b == b'.' && !s.is_empty()) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() {
        return "__HIVE_DEFAULT_PARTITION__".into();
    }
    if s.len() > SEGMENT_MAX {
        use crate::analyze::pattern::{Fnv, Sink};
        let mut h = Fnv::default();
        h.put(name.as_bytes());
        // Cut before an escape, never inside one (the segment is ASCII).
        let mut cut = SEGMENT_MAX - 17;
        while s.as_bytes()[cut - 1] == b'%' || s.as_bytes().get(cut.wrapping_sub(2)) == Some(&b'%')
        {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&format!("~{:016x}", h.0));
    }
    s
}

/// The group of sources whose folders name no server.
pub const NO_SERVER: &str = "(no server)";

/// How to read and judge a farm.
#[derive(Debug, Clone, Default)]
pub struct FarmOptions {
    /// How each server's sources are ingested.
    pub ingest: IngestOptions,
    /// How each server is analysed.
    pub analyze: AnalyzeOptions,
    /// Every source is this server's, whatever its folders say (one server ingesting its own
    /// `C:\inetpub\logs` into a shared dataset).
    pub server: Option<String>,
    /// A server whose request logs are larger than this is judged with its logs read again
    /// for every statistic (`analyze --in-memory-limit`), when its tables are not written.
    pub in_memory_limit: Option<u64>,
}

/// The sources under `paths`, by server ([`group_by_server`]), all on `opts.server` when set.
pub fn sources_by_server(paths: &[PathBuf], opts: &FarmOptions) -> Vec<(String, Vec<Artifact>)> {
    let mut found = discover(paths);
    if let Some(server) = &opts.server {
        for a in &mut found {
            a.place_on(server);
        }
    }
    group_by_server(found)
}

/// One server's sources, read and judged: what [`run`] hands to its caller before keeping only
/// the summary.
pub struct ServerRun<'a> {
    /// The server, as its folders name it.
    pub name: &'a str,
    /// Its position among the servers (0-based) and their number.
    pub index: (usize, usize),
    /// Its tables.
    pub tables: &'a Tables,
    /// Its analysis, exactly as `analyze` on its folder gives it.
    pub analysis: &'a Analysis,
}

/// The farm's sources by server (the folder or archive that names it; case does not matter),
/// each group numbered from 0 as `discover` on that server's folder numbers it.
pub fn group_by_server(artifacts: Vec<Artifact>) -> Vec<(String, Vec<Artifact>)> {
    let mut groups: BTreeMap<String, (String, Vec<Artifact>)> = BTreeMap::new();
    for a in artifacts {
        let name = a.server.clone().unwrap_or_else(|| NO_SERVER.into());
        groups
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| (name, Vec::new()))
            .1
            .push(a);
    }
    groups
        .into_values()
        .map(|(name, mut group)| {
            for (i, a) in group.iter_mut().enumerate() {
                a.id = i as FileId;
            }
            (name, group)
        })
        .collect()
}

/// What one group of sources turned out to be.
pub enum Judged {
    /// A server: its summary (its tables and analysis went to the caller first).
    Server(ServerSummary),
    /// No evidence at all: listed files, not a server.
    Other(Vec<OtherFile>),
}

/// One group of sources, read and judged.
pub struct Group {
    /// What it turned out to be.
    pub judged: Judged,
    /// Its tables.
    pub tables: Tables,
    /// Its requests by site and minute (the server's days are summed from them).
    pub minutes: Minutes,
}

/// Reads and judges one server's sources (`name`, `index` of the farm's servers); `each` sees
/// its tables and analysis before they are dropped. The analysis is `analyze`'s on these
/// sources alone.
pub fn judge_group(
    name: &str,
    index: (usize, usize),
    group: Vec<Artifact>,
    opts: &FarmOptions,
    each: &mut dyn FnMut(&ServerRun<'_>),
) -> Group {
    let big = opts
        .in_memory_limit
        .is_some_and(|l| crate::ingest::reread::request_bytes(&group) > l);
    let tables = match big {
        true => crate::ingest::reread::ingest_windowed(group, &opts.ingest),
        false => ingest_artifacts(group, &opts.ingest),
    };
    let minutes = Minutes::of_all(&tables);
    if holds_no_evidence(&tables) {
        // A README or a tool's output beside the servers' folders is not a server.
        let other = tables.files.iter().map(OtherFile::of).collect();
        return Group {
            judged: Judged::Other(other),
            tables,
            minutes,
        };
    }
    let analysis = analyze(&tables, &opts.analyze);
    each(&ServerRun {
        name,
        index,
        tables: &tables,
        analysis: &analysis,
    });
    let summary = ServerSummary::of(name.to_string(), &analysis, minutes.by_day());
    Group {
        judged: Judged::Server(summary),
        tables,
        minutes,
    }
}

/// Reads the farm under `paths` server by server, in memory; `each` sees every server's tables
/// and analysis (to write its own reports) before they are dropped.
pub fn run(
    paths: &[PathBuf],
    opts: &FarmOptions,
    each: &mut dyn FnMut(&ServerRun<'_>),
) -> FarmReport {
    let groups = sources_by_server(paths, opts);
    let n = groups.len();
    let mut servers = Vec::with_capacity(n);
    let mut other = Vec::new();
    for (i, (name, group)) in groups.into_iter().enumerate() {
        match judge_group(&name, (i, n), group, opts, each).judged {
            Judged::Server(s) => servers.push(s),
            Judged::Other(files) => other.extend(files),
        }
    }
    FarmReport::assemble(servers, other)
}

/// No row of evidence came out of these files (they are not logs, dumps, events, traces or
/// counters).
fn holds_no_evidence(t: &Tables) -> bool {
    t.all_rows().count() == 0
        && t.httperr.is_empty()
        && t.crashes.is_empty()
        && t.ftp.is_empty()
        && t.counters.is_empty()
        && t.traces.is_empty()
        && t.modules.is_empty()
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn server_names_become_unique_short_path_segments() {
        assert_eq!(path_segment("WEB01"), "WEB01");
        assert_eq!(path_segment("web01.contoso.local"), "web01.contoso.local");
        assert_eq!(path_segment(".."), "%2E.");
        assert_eq!(path_segment("a/b=c d"), "a%2Fb%3Dc%20d");
        assert_eq!(path_segment("WEB 01"), "WEB%2001");
        assert_ne!(path_segment("WEB 01"), path_segment("WEB_01"));
        assert_eq!(path_segment(""), "__HIVE_DEFAULT_PARTITION__");
        // A long non-ASCII folder name (each byte escaped) is cut, not inside an escape, and
        // two that differ only at the end stay apart.
        let long = "\u{30b5}".repeat(80);
        let (a, b) = (path_segment(&long), path_segment(&(long.clone() + "x")));
        assert!(a.len() <= 160 && b.len() <= 160, "{a}");
        assert_ne!(a, b);
        let head = a.split('~').next().unwrap();
        assert!(head.len() % 3 == 0 && head.starts_with("%E3"), "{head}");
    }
}
