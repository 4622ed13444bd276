//! The request logs read again, for an analysis whose memory must not grow with them (see
//! `analyze::rows`): [`ingest_windowed`] reads everything but keeps no request row; each
//! statistic of every row is then a [`Reread::fold`] over the logs, a wave of chunks at a
//! time, and the analysis keeps the chunks around its incidents.

use super::{IngestOptions, finish, identity, ingest_into, ingest_one_with};
use crate::discover::Artifact;
use crate::tables::{
    ArtifactKind, FileId, FileStatus, IssueRow, LineCounts, Requests, Severity, Tables,
};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Whether a file of this kind has rows in the `requests` table.
pub fn holds_requests(kind: ArtifactKind) -> bool {
    matches!(
        kind,
        ArtifactKind::W3c | ArtifactKind::IisNative | ArtifactKind::Ncsa
    )
}

/// The request logs, and what the ingest learned that their rows need when read again: each
/// machine's one name ([`identity`]) and the native logs' offsets from UTC
/// ([`super::local_time`]).
pub struct Reread {
    files: Vec<Artifact>,
    /// Each file's status and lines as first read (what every later read must find again).
    found: Vec<(FileStatus, LineCounts)>,
    opts: IngestOptions,
    names: identity::Names,
    shift: BTreeMap<FileId, i64>,
    rows: OnceLock<usize>,
    /// Files a later read found otherwise, and how.
    changed: Mutex<BTreeMap<FileId, String>>,
}

impl std::fmt::Debug for Reread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reread({} request logs)", self.files.len())
    }
}

/// Ingests like [`super::ingest_artifacts`], keeping every table but `requests`: the request
/// logs are read (their files' rows, issues and log restarts are kept) and their rows dropped;
/// [`Tables::reread`] reads them again.
pub fn ingest_windowed(artifacts: Vec<Artifact>, opts: &IngestOptions) -> Tables {
    let files = request_logs(&artifacts);
    let dropping = IngestOptions {
        drop_requests: true,
        ..opts.clone()
    };
    let mut t = Tables::default();
    ingest_into(artifacts, &dropping, &mut t);
    let (names, shift) = finish(&mut t, opts);
    attach(&mut t, files, opts, names, shift);
    t
}

/// The request logs among `artifacts`, in order.
pub fn request_logs(artifacts: &[Artifact]) -> Vec<Artifact> {
    artifacts
        .iter()
        .filter(|a| holds_requests(a.kind))
        .cloned()
        .collect()
}

/// Bytes of the request logs among `artifacts` (what holding their rows is proportional to),
/// inflated: see [`inflated_size`].
pub fn request_bytes(artifacts: &[Artifact]) -> u64 {
    artifacts
        .iter()
        .filter(|a| holds_requests(a.kind))
        .map(inflated_size)
        .sum()
}

/// What a source inflates to, as far as can be told without inflating it: a zip member says;
/// a gzip file's trailer gives its (last member's) size modulo 4 GiB, so the larger of that
/// and four times the compressed size (text logs inflate 6 to 10 times); a zstd file, four
/// times its size.
pub fn inflated_size(a: &Artifact) -> u64 {
    use crate::discover::Container;
    match a.container {
        Container::Plain | Container::Zip => a.bytes,
        Container::Gzip => gzip_trailer(&a.path)
            .unwrap_or(0)
            .max(a.bytes.saturating_mul(4)),
        Container::Zstd => a.bytes.saturating_mul(4),
    }
}

/// The ISIZE field of a gzip file (its last 4 bytes, little-endian).
fn gzip_trailer(path: &std::path::Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u64::from(u32::from_le_bytes(b)))
}

/// Makes `t` (ingested with [`IngestOptions::drop_requests`]) read `files` again for its rows,
/// with what [`finish`] returned.
pub fn attach(
    t: &mut Tables,
    files: Vec<Artifact>,
    opts: &IngestOptions,
    names: identity::Names,
    shift: BTreeMap<FileId, i64>,
) {
    let found = files
        .iter()
        .map(|a| {
            // A file's id is its place in `files` (a search only if not: 100,000 small logs).
            let f = t
                .files
                .get(a.id as usize)
                .filter(|f| f.id == a.id)
                .or_else(|| t.files.iter().find(|f| f.id == a.id));
            f.map_or((FileStatus::Parsed, LineCounts::default()), |f| {
                (f.status, f.counts)
            })
        })
        .collect();
    t.reread = Some(Arc::new(Reread {
        files,
        found,
        changed: Mutex::new(BTreeMap::new()),
        opts: IngestOptions {
            drop_requests: true,
            ..opts.clone()
        },
        names,
        shift,
        rows: OnceLock::new(),
    }));
}

impl Reread {
    /// Folds every request row (see `analyze::rows::AllRows::fold`): the logs are read again,
    /// files in parallel and each file's chunks in parallel waves; partial results are merged
    /// in file and chunk order.
    pub fn fold<A: Send>(
        &self,
        init: &(dyn Fn() -> A + Sync),
        step: &(dyn Fn(&mut A, &Requests) + Sync),
        merge: &(dyn Fn(A, A) -> A + Sync),
    ) -> A {
        self.files
            .par_iter()
            .enumerate()
            .map(|(k, a)| self.fold_file(k, a, init, step, merge))
            .reduce(init, merge)
    }

    /// Reads file `k` again, handing its rows to `each`; notes it when it is not what it was.
    fn read(&self, k: usize, a: &Artifact, each: &mut super::w3c::EachFn<'_>) {
        let (row, _) = ingest_one_with(a, &self.opts, Some(each));
        let (status, found) = self
            .found
            .get(k)
            .copied()
            .unwrap_or((FileStatus::Parsed, LineCounts::default()));
        // (A file that could not be read the first time is already an issue of its own.)
        let why = if row.status != status {
            Some(format!(
                "it could not be read again ({})",
                row.reason.as_deref().unwrap_or("failed")
            ))
        } else if row.counts != found {
            Some(format!(
                "it held {} lines when found and {} when read again (replaced or cut short)",
                found.lines, row.counts.lines
            ))
        } else {
            None
        };
        if let Some(why) = why {
            let mut c = self.changed.lock().unwrap_or_else(|e| e.into_inner());
            c.entry(a.id).or_insert(why);
        }
    }

    /// The files a later read found changed, as issues: the statistics over every row may mix
    /// what they held before and after.
    pub fn changed(&self) -> Vec<IssueRow> {
        let c = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        c.iter()
            .map(|(&id, why)| {
                IssueRow::new(
                    id,
                    Severity::Error,
                    "changed_while_read",
                    format!(
                        "the log changed while it was read again for the statistics of every row: {why}; the report may mix what it held before and after (analyze a copy of the logs, or raise --in-memory-limit above their size to read them once)"
                    ),
                )
            })
            .collect()
    }

    /// Whether a later read found a file changed.
    pub fn changed_any(&self) -> bool {
        !self
            .changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn fold_file<A: Send>(
        &self,
        k: usize,
        a: &Artifact,
        init: &(dyn Fn() -> A + Sync),
        step: &(dyn Fn(&mut A, &Requests) + Sync),
        merge: &(dyn Fn(A, A) -> A + Sync),
    ) -> A {
        let acc: Mutex<Option<A>> = Mutex::new(Some(init()));
        let mut each = |tables: Option<&mut [Requests]>| {
            let Some(tables) = tables else {
                // Read again from the start: what was folded so far goes.
                *acc.lock().unwrap_or_else(|e| e.into_inner()) = Some(init());
                return;
            };
            let part = tables
                .par_iter_mut()
                .map(|r| {
                    self.prepare(r);
                    let mut x = init();
                    step(&mut x, r);
                    x
                })
                .reduce(init, merge);
            let mut g = acc.lock().unwrap_or_else(|e| e.into_inner());
            let prev = g.take().unwrap_or_else(init);
            *g = Some(merge(prev, part));
        };
        self.read(k, a, &mut each);
        acc.into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(init)
    }

    /// What the ingest did to the rows after reading them all: the machines' names, the
    /// native logs' times to UTC.
    fn prepare(&self, r: &mut Requests) {
        r.server.rename(|v| self.names.rename(v));
        super::local_time::shift_rows(r, &self.shift);
    }

    /// Calls `f` on every request row, a table and a range of its rows at a time, in order:
    /// files in order, each file's rows in order (for writing them out).
    pub fn each_in_order(&self, f: &mut (dyn FnMut(&Requests, std::ops::Range<usize>) + Send)) {
        for (k, a) in self.files.iter().enumerate() {
            // Rows handed over before a file is read again from the start (a date-less layout
            // found part way) are the same rows again: they are skipped, not handed twice.
            let (mut handed, mut skip) = (0usize, 0usize);
            let mut each = |tables: Option<&mut [Requests]>| {
                let Some(tables) = tables else {
                    skip = handed;
                    handed = 0;
                    return;
                };
                tables.par_iter_mut().for_each(|r| self.prepare(r));
                for r in tables.iter() {
                    let from = skip.saturating_sub(handed).min(r.len());
                    handed += r.len();
                    if from < r.len() {
                        f(r, from..r.len());
                    }
                }
            };
            self.read(k, a, &mut each);
        }
    }

    /// Remembers how many request rows the logs hold, counted by a fold that read them all.
    pub fn know_rows(&self, n: usize) {
        let _ = self.rows.set(n);
    }

    /// How many request rows the logs hold (read once unless known, then remembered).
    pub fn rows(&self) -> usize {
        *self
            .rows
            .get_or_init(|| self.fold(&|| 0usize, &|n, r| *n += r.len(), &|a, b| a + b))
    }
}
