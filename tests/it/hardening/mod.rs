//! Issue 10's hostile inputs and failures mid-run, each built on the fly: damaged dumps,
//! special files, odd encodings and line ends, impossible numbers, partial writes and
//! interrupts, output injection, and many small files.

mod dumps;
mod outputs;
mod text;

#[path = "../../support/run.rs"]
mod run;
pub use run::w3triage;
