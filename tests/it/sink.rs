//! The ingest sink: files arrive one at a time, in input order, whatever the thread count, and
//! the in-memory tables are just one sink.

use w3triage::discover::discover;
use w3triage::ingest::{IngestOptions, Sink, ingest_artifacts, ingest_into};
use w3triage::tables::{FileRow, Parsed};

/// Remembers what arrived, in order.
#[derive(Default)]
struct Seen {
    files: Vec<(u32, String, u64)>,
}

impl Sink for Seen {
    fn accept(&mut self, file: FileRow, parsed: Parsed) {
        let rows = (parsed.requests.len() + parsed.httperr.len() + parsed.crashes.len()) as u64;
        assert_eq!(rows, file.rows, "{}", file.path.display());
        self.files.push((file.id, file.key, file.rows));
    }
}

#[test]
fn files_reach_the_sink_in_order_at_any_thread_count() {
    let root = std::path::PathBuf::from("samples/outage");
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let opts = IngestOptions {
            threads: Some(threads),
            ..Default::default()
        };
        let mut seen = Seen::default();
        ingest_into(discover(std::slice::from_ref(&root)), &opts, &mut seen);
        let ids: Vec<u32> = seen.files.iter().map(|f| f.0).collect();
        assert_eq!(ids, (0..ids.len() as u32).collect::<Vec<_>>());
        runs.push(seen.files);
    }
    assert_eq!(runs[0], runs[1]);
    // The in-memory tables are the same stream.
    let t = ingest_artifacts(discover(&[root]), &IngestOptions::default());
    let from_tables: Vec<(u32, String, u64)> = t
        .files
        .iter()
        .map(|f| (f.id, f.key.clone(), f.rows))
        .collect();
    assert_eq!(from_tables, runs[0]);
    assert!(from_tables.len() >= 6, "{from_tables:?}");
}
