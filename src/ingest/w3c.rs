//! W3C extended access logs (IIS). Owner: parsers.
use crate::tables::{FileCtx, Parsed};
pub fn parse(_ctx: &FileCtx, _bytes: &[u8]) -> Parsed {
    Parsed::default()
}
