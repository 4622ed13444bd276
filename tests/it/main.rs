//! Integration tests: one binary, one module per area.

// The sample generator (included by `samples`) carries its own copy of this builder, because
// it must also build as a standalone example.
#[allow(clippy::duplicate_mod)]
#[path = "../support/w3wp_dump.rs"]
mod w3wp_dump;

mod analyze;
mod archives;
mod cli;
mod compressed;
mod dataset;
mod dump;
#[cfg(feature = "distributed")]
mod engines;
mod events;
mod farm;
mod freb;
mod hardening;
mod httperr;
mod native;
mod outages;
mod perf;
mod report;
mod samples;
mod sink;
mod w3c;
mod windowed;
