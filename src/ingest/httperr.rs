//! HTTP.sys error logs. Owner: parsers.
use crate::tables::{FileCtx, Parsed};
pub fn parse(_ctx: &FileCtx, _bytes: &[u8]) -> Parsed {
    Parsed::default()
}
