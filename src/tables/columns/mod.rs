//! Column storage, with no domain in it: text columns that borrow from the mapped file
//! ([`StrCol`]), categoricals ([`CatCol`]), nullable numbers that stay narrow until a value needs
//! more ([`NumCol`], [`U64Col`], [`OffsetCol`]), run-length file ids ([`FileCol`]). The schemas
//! built from them are in the parent module.

use super::FileId;
use std::collections::HashMap;

/// Equality and `Debug` of columns by their values, whatever the representation (leading runs,
/// bitmaps, widths, where text is kept).
macro_rules! by_values {
    ($($t:ty),*) => {$(
        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.len() == other.len() && self.iter().eq(other.iter())
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }
    )*};
}

by_values!(StrCol, PlusCol, U64Col, OffsetCol);

mod cat;
mod file;
mod num;
#[cfg(test)]
mod tests;
mod text;

pub use cat::*;
pub use file::*;
pub use num::*;
pub use text::*;
