//! Windows event exports. Owner: events.
use crate::tables::{ArtifactKind, FileCtx, Parsed};
pub fn parse(_ctx: &FileCtx, _kind: ArtifactKind, _bytes: &[u8]) -> Parsed {
    Parsed::default()
}
