//! Minidumps. Owner: dumps.
use crate::tables::{FileCtx, Parsed};
use std::path::PathBuf;
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`).
    pub symbols: Option<PathBuf>,
}
pub fn parse(_ctx: &FileCtx, _bytes: &[u8], _opts: &DumpOptions) -> Parsed {
    Parsed::default()
}
