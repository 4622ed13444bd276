//! w3triage: post-outage forensics for Microsoft IIS.
//!
//! Reads IIS W3C access logs, HTTPERR logs, w3wp crash dumps and Windows event exports, and joins
//! them into tables (see [`tables`]) that later stages turn into an incident report.
//!
//! ```no_run
//! let tables = w3triage::ingest::ingest_paths(&["samples/outage".into()], &Default::default());
//! println!("{} requests, {} issues", tables.requests.len(), tables.issues.len());
//! ```

// Every unsafe block says why it is sound (clippy denies warnings in CI).
#![warn(clippy::undocumented_unsafe_blocks)]

#[macro_use]
pub mod names;

pub mod analyze;
pub mod discover;
pub mod error;
pub mod export;
pub mod ingest;
pub mod knowledge;
pub mod output;
pub mod report;
pub mod summary;
pub mod tables;
pub mod term;
