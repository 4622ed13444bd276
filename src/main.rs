//! The `w3triage` command line (filled in by the CLI work).
fn main() {}
