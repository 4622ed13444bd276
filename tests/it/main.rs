//! Integration tests: one binary, one module per area.

#[path = "../support/w3wp_dump.rs"]
mod w3wp_dump;

mod analyze;
mod cli;
mod dump;
mod events;
mod report;
