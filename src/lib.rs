//! w3triage: post-outage forensics for Microsoft IIS.
//!
//! Reads IIS W3C access logs, HTTPERR logs, w3wp crash dumps and Windows event exports, and joins
//! them into an incident report. One path, left to right, typed hand-offs:
//!
//! - [`discover`](mod@discover): walk the inputs, classify each file by its content, give it a stable
//!   identity ([`discover::Artifact`]);
//! - [`ingest`]: one module per format turns bytes into facts — rows of the [`tables`] — and
//!   hands each file to a [`Sink`] ([`Tables`] in memory is one);
//! - [`analyze`](mod@analyze): judgment over the facts — verdicts per dump, incidents, requests in flight,
//!   suspects, recommendations — into the report model ([`Analysis`]);
//! - [`report`]: the model written as terminal text, Markdown, HTML and JSON.
//!
//! ```no_run
//! let tables = w3triage::ingest_paths(&["samples/outage".into()], &Default::default());
//! let analysis = w3triage::analyze(&tables, &Default::default());
//! println!("{}", w3triage::report::render(&analysis, w3triage::report::Format::Markdown));
//! ```

// Every unsafe block says why it is sound, every public item what it is (clippy denies warnings
// in CI).
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

#[macro_use]
pub mod names;

pub mod analyze;
#[cfg(feature = "parquet")]
pub mod dataset;
pub mod discover;
pub mod error;
pub mod export;
pub mod farm;
pub mod ingest;
pub mod knowledge;
pub mod output;
pub mod report;
pub mod summary;
pub mod tables;
pub mod term;

pub use analyze::{Analysis, AnalyzeOptions, analyze};
pub use discover::{Artifact, discover};
pub use error::{OptionError, ReadError};
pub use ingest::{IngestOptions, Sink, ingest_artifacts, ingest_into, ingest_paths};
pub use tables::Tables;
