//! What a columnar table needs of each of its columns, and how a column is read out: one
//! trait, so that a table is declared once (`columnar_table!`) and its append, merge, reserve,
//! memory accounting and export come from its column types.

use super::columns::{
    CatCol, FileCol, NumCol, OffsetCol, PlusCol, Source, StrCol, U64Col, U64Values,
};
use super::{Millis, prefault};

/// The type of a column, which decides how a writer renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// Text.
    Str,
    /// An integer.
    Int,
    /// UTC milliseconds since the epoch.
    Ts,
    /// True or false.
    Bool,
    /// A floating-point number (counter values).
    Float,
    /// A JSON value kept as text (`extra`), nested as-is in JSON lines.
    Json,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// No value.
    Null,
    /// Text borrowed from the table.
    Str(&'a str),
    /// Text made for this cell (decoded).
    Owned(String),
    /// An integer.
    Int(i128),
    /// UTC milliseconds.
    Ts(i64),
    /// True or false.
    Bool(bool),
    /// A floating-point number (never NaN or infinite: parsers drop those).
    Float(f64),
    /// JSON text, nested as-is.
    Json(&'a str),
}

/// A whole [`NumCol`] column of a table (an `Int` column), for writers that take columns.
#[derive(Debug, Clone, Copy)]
pub enum NumColumn<'a> {
    /// 16-bit values.
    U16(&'a NumCol<u16>),
    /// 32-bit values.
    U32(&'a NumCol<u32>),
    /// 64-bit values.
    U64(&'a NumCol<u64>),
}

/// One column of a columnar table.
pub trait Column: Send + Sync {
    /// How writers render it.
    const KIND: ColKind;
    /// Rows.
    fn col_len(&self) -> usize;
    /// Appends `other`'s rows.
    fn append_col(&mut self, other: &Self);
    /// Empties it, keeping its buffers.
    fn clear_col(&mut self);
    /// Gives back unused capacity.
    fn shrink_col(&mut self);
    /// Heap bytes held.
    fn heap_col(&self) -> usize;
    /// Room for `rows` more rows and `bytes` more text.
    fn reserve_col(&mut self, rows: usize, bytes: usize);
    /// Faults in the memory the next `rows` rows and `bytes` of text will be written to.
    fn prefault_col(&self, rows: usize, bytes: usize);
    /// Row `i`.
    fn cell(&self, i: usize) -> Cell<'_>;
    /// Text bytes held (text columns), for sizing the rest of a file from its first part.
    fn text_len(&self) -> usize {
        0
    }
    /// Binds text to the file it points into (text columns, see [`StrCol::bind`]).
    fn bind_col(&mut self, _src: &Source) {}
    /// The column whole, when it is a [`NumCol`].
    fn num_column(&self) -> Option<NumColumn<'_>> {
        None
    }
}

fn int<T: Into<i128>>(v: Option<T>) -> Cell<'static> {
    v.map_or(Cell::Null, |x| Cell::Int(x.into()))
}

/// A plain vector: one value per row, never null.
macro_rules! vec_column {
    ($t:ty, $kind:ident, |$v:ident| $cell:expr) => {
        impl Column for Vec<$t> {
            const KIND: ColKind = ColKind::$kind;
            fn col_len(&self) -> usize {
                self.len()
            }
            fn append_col(&mut self, o: &Self) {
                self.extend_from_slice(o);
            }
            fn clear_col(&mut self) {
                self.clear();
            }
            fn shrink_col(&mut self) {
                self.shrink_to_fit();
            }
            fn heap_col(&self) -> usize {
                self.capacity() * std::mem::size_of::<$t>()
            }
            fn reserve_col(&mut self, rows: usize, _: usize) {
                self.reserve(rows);
            }
            fn prefault_col(&self, rows: usize, _: usize) {
                prefault(self, self.capacity().min(self.len() + rows));
            }
            fn cell(&self, i: usize) -> Cell<'_> {
                let $v = self[i];
                $cell
            }
        }
    };
}
// Timestamps (`ts`), and the byte offsets of a small table (`httperr`).
vec_column!(Millis, Ts, |v| Cell::Ts(v));
vec_column!(u64, Int, |v| Cell::Int(v.into()));
// Counter values.
vec_column!(f64, Float, |v| Cell::Float(v));

macro_rules! column_common {
    () => {
        fn col_len(&self) -> usize {
            self.len()
        }
        fn append_col(&mut self, o: &Self) {
            self.append(o);
        }
        fn clear_col(&mut self) {
            self.clear();
        }
        fn shrink_col(&mut self) {
            self.shrink_to_fit();
        }
        fn heap_col(&self) -> usize {
            self.heap_bytes()
        }
    };
}

impl Column for StrCol {
    const KIND: ColKind = ColKind::Str;
    column_common!();
    fn reserve_col(&mut self, rows: usize, bytes: usize) {
        self.reserve(rows, bytes);
    }
    fn prefault_col(&self, rows: usize, bytes: usize) {
        self.prefault_next(rows, bytes);
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        self.get(i).map_or(Cell::Null, Cell::Str)
    }
    fn text_len(&self) -> usize {
        self.data_len()
    }
    fn bind_col(&mut self, src: &Source) {
        self.bind(src);
    }
}

/// A JSON object kept as text (`extra`): nested as-is in JSON lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JsonCol(pub StrCol);

impl std::ops::Deref for JsonCol {
    type Target = StrCol;
    fn deref(&self) -> &StrCol {
        &self.0
    }
}

impl std::ops::DerefMut for JsonCol {
    fn deref_mut(&mut self) -> &mut StrCol {
        &mut self.0
    }
}

/// A text column that wraps a [`StrCol`] and reads its values its own way.
macro_rules! wrapped_text_column {
    ($t:ty, $kind:ident, |$col:ident, $i:ident| $cell:expr) => {
        impl Column for $t {
            const KIND: ColKind = ColKind::$kind;
            // (Through `Deref` to the wrapped column.)
            column_common!();
            fn reserve_col(&mut self, rows: usize, bytes: usize) {
                self.reserve(rows, bytes);
            }
            fn prefault_col(&self, rows: usize, bytes: usize) {
                self.prefault_next(rows, bytes);
            }
            fn cell(&self, $i: usize) -> Cell<'_> {
                let $col = self;
                $cell
            }
            fn text_len(&self) -> usize {
                self.data_len()
            }
            fn bind_col(&mut self, src: &Source) {
                self.bind(src);
            }
        }
    };
}

// Text with `+` for spaces (user agent, referer, cookie): read decoded.
wrapped_text_column!(PlusCol, Str, |c, i| match c.get(i) {
    None => Cell::Null,
    Some(std::borrow::Cow::Borrowed(v)) => Cell::Str(v),
    Some(std::borrow::Cow::Owned(v)) => Cell::Owned(v),
});
wrapped_text_column!(JsonCol, Json, |c, i| c
    .0
    .get(i)
    .map_or(Cell::Null, Cell::Json));

impl Column for CatCol {
    const KIND: ColKind = ColKind::Str;
    column_common!();
    fn reserve_col(&mut self, rows: usize, _: usize) {
        self.reserve(rows);
    }
    fn prefault_col(&self, rows: usize, _: usize) {
        self.prefault_next(rows);
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        self.get(i).map_or(Cell::Null, Cell::Str)
    }
}

macro_rules! num_column {
    ($t:ty, $variant:ident) => {
        impl Column for NumCol<$t> {
            const KIND: ColKind = ColKind::Int;
            column_common!();
            fn reserve_col(&mut self, rows: usize, _: usize) {
                self.reserve(rows);
            }
            fn prefault_col(&self, rows: usize, _: usize) {
                self.prefault_next(rows);
            }
            fn cell(&self, i: usize) -> Cell<'_> {
                int(self.get(i))
            }
            fn num_column(&self) -> Option<NumColumn<'_>> {
                Some(NumColumn::$variant(self))
            }
        }
    };
}
num_column!(u16, U16);
num_column!(u32, U32);
num_column!(u64, U64);

impl Column for U64Col {
    const KIND: ColKind = ColKind::Int;
    column_common!();
    fn reserve_col(&mut self, rows: usize, _: usize) {
        self.reserve(rows);
    }
    fn prefault_col(&self, rows: usize, _: usize) {
        self.prefault_next(rows);
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        int(self.get(i))
    }
    fn num_column(&self) -> Option<NumColumn<'_>> {
        Some(match self.values() {
            U64Values::Narrow(c) => NumColumn::U32(c),
            U64Values::Wide(c) => NumColumn::U64(c),
        })
    }
}

impl Column for OffsetCol {
    const KIND: ColKind = ColKind::Int;
    column_common!();
    fn reserve_col(&mut self, rows: usize, _: usize) {
        self.reserve(rows);
    }
    fn prefault_col(&self, rows: usize, _: usize) {
        self.prefault_next(rows);
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        Cell::Int(self.get(i).into())
    }
}

/// File ids, stored as runs: nothing to reserve or fault in ahead.
impl Column for FileCol {
    const KIND: ColKind = ColKind::Int;
    column_common!();
    fn reserve_col(&mut self, _: usize, _: usize) {}
    fn prefault_col(&self, _: usize, _: usize) {}
    fn cell(&self, i: usize) -> Cell<'_> {
        Cell::Int(self[i].into())
    }
}

/// `return f(&self.field)` for the `c`-th field, by a chain of comparisons with constants.
macro_rules! column_dispatch {
    ($s:ident, $c:ident, |$col:ident| $e:expr; $($f:ident),+) => {
        column_dispatch!(@ $s, $c, |$col| $e; 0usize; $($f),+)
    };
    (@ $s:ident, $c:ident, |$col:ident| $e:expr; $i:expr; $f:ident $(, $rest:ident)*) => {
        if $c == $i {
            let $col = &$s.$f;
            return $e;
        }
        column_dispatch!(@ $s, $c, |$col| $e; $i + 1; $($rest),*)
    };
    (@ $s:ident, $c:ident, |$col:ident| $e:expr; $i:expr;) => {};
}

/// Declares a columnar table once: the struct (one public field per column, in column order),
/// its column names and kinds, row count, append (column by column in parallel when large),
/// reserve, clear, shrink, heap size, text binding and cell access — all from the columns'
/// [`Column`] impls. Adding a column is one line here (and one `push` in the parser).
macro_rules! columnar_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[$fmeta0:meta])* $f0:ident : $t0:ty,
            $( $(#[$fmeta:meta])* $f:ident : $t:ty ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(#[$fmeta0])* pub $f0: $t0,
            $( $(#[$fmeta])* pub $f: $t ),+
        }

        impl $name {
            /// Column names, in order (the JSON-lines keys and Parquet columns).
            pub const COLUMNS: &'static [&'static str] = &[stringify!($f0), $(stringify!($f)),+];
            /// Column names and kinds, in order.
            pub const KINDS: &'static [(&'static str, $crate::tables::ColKind)] = &[
                (stringify!($f0), <$t0 as $crate::tables::Column>::KIND),
                $((stringify!($f), <$t as $crate::tables::Column>::KIND)),+
            ];
            const NUMS: &'static [for<'a> fn(&'a $name) -> Option<$crate::tables::NumColumn<'a>>] = &[
                |t| $crate::tables::Column::num_column(&t.$f0),
                $(|t| $crate::tables::Column::num_column(&t.$f)),+
            ];

            /// Rows.
            pub fn len(&self) -> usize {
                $crate::tables::Column::col_len(&self.$f0)
            }
            /// No rows.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// Cell `c` of row `r`.
            pub fn cell(&self, r: usize, c: usize) -> $crate::tables::Cell<'_> {
                // An `if` per column on constant indices: the optimizer makes a jump table of it and
                // inlines each column's read (a table of function pointers cost 4 % on CSV).
                column_dispatch!(self, c, |col| $crate::tables::Column::cell(col, r); $f0 $(, $f)+);
                $crate::tables::Cell::Null
            }
            /// Column `c` whole, when it is a `NumCol`.
            pub fn num_column(&self, c: usize) -> Option<$crate::tables::NumColumn<'_>> {
                Self::NUMS[c](self)
            }
            /// Appends `o`'s rows. Large appends (a chunk merge) copy the columns in parallel:
            /// the copy is memory-bound and the columns are independent.
            pub fn append(&mut self, o: &$name) {
                use $crate::tables::Column;
                if o.len() >= 1 << 14 && rayon::current_num_threads() > 1 {
                    rayon::scope(|s| {
                        let (d, src) = (&mut self.$f0, &o.$f0);
                        s.spawn(move |_| d.append_col(src));
                        $(
                            let (d, src) = (&mut self.$f, &o.$f);
                            s.spawn(move |_| d.append_col(src));
                        )+
                    });
                    return;
                }
                self.$f0.append_col(&o.$f0);
                $( self.$f.append_col(&o.$f); )+
            }
            /// Reserves room for `rows` rows in all, and for text in all as in this table and
            /// `like` together scaled by `scale` (they are a sample of the whole, e.g. the first
            /// chunks of a file), both times `headroom`. Capacity never written costs no memory;
            /// the expected part (without the headroom) is faulted in at once, the headroom only
            /// if used.
            pub fn reserve_total_like(
                &mut self,
                rows: usize,
                like: &[&$name],
                scale: f64,
                headroom: f64,
            ) {
                use $crate::tables::Column;
                let room = |n: usize| (n as f64 * headroom) as usize;
                let rows = rows.saturating_sub(self.len());
                let rows_room = room(rows);
                let est = |own: usize, others: usize| {
                    (((own + others) as f64 * scale) as usize).saturating_sub(own)
                };
                let bytes = est(
                    self.$f0.text_len(),
                    like.iter().map(|r| r.$f0.text_len()).sum(),
                );
                self.$f0.reserve_col(rows_room, room(bytes));
                self.$f0.prefault_col(rows, bytes);
                $(
                    let bytes = est(
                        self.$f.text_len(),
                        like.iter().map(|r| r.$f.text_len()).sum(),
                    );
                    self.$f.reserve_col(rows_room, room(bytes));
                    self.$f.prefault_col(rows, bytes);
                )+
            }
            /// Binds the text columns to the file their rows were parsed from.
            pub fn bind(&mut self, src: &$crate::tables::Source) {
                use $crate::tables::Column;
                self.$f0.bind_col(src);
                $( self.$f.bind_col(src); )+
            }
            /// Empties every column, keeping the buffers for reuse.
            pub fn clear(&mut self) {
                use $crate::tables::Column;
                self.$f0.clear_col();
                $( self.$f.clear_col(); )+
            }
            /// Gives back unused capacity (large buffers shrink in place).
            pub fn shrink_to_fit(&mut self) {
                use $crate::tables::Column;
                self.$f0.shrink_col();
                $( self.$f.shrink_col(); )+
            }
            /// Heap bytes held by the table (for the memory budget in the summary and benches).
            pub fn heap_bytes(&self) -> usize {
                use $crate::tables::Column;
                self.$f0.heap_col() $( + self.$f.heap_col() )+
            }
        }
    };
}

/// A value of a row table's field, as a cell: what `row_table!` reads each field through.
pub trait CellValue {
    /// How writers render it.
    const KIND: ColKind;
    /// The value as a cell.
    fn cell(&self) -> Cell<'_>;
    /// The cell when the table declares the field as `kind` (an `i64` declared `Ts` is a time).
    fn cell_as(&self, _kind: ColKind) -> Cell<'_> {
        self.cell()
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl CellValue for $t {
            const KIND: ColKind = ColKind::Int;
            fn cell(&self) -> Cell<'_> {
                Cell::Int((*self).into())
            }
        }
    )*};
}
int_value!(u16, u32, u64, i32);

/// Milliseconds, declared `Ts` where they are times.
impl CellValue for i64 {
    const KIND: ColKind = ColKind::Int;
    fn cell(&self) -> Cell<'_> {
        Cell::Int((*self).into())
    }
    fn cell_as(&self, kind: ColKind) -> Cell<'_> {
        match kind {
            ColKind::Ts => Cell::Ts(*self),
            _ => self.cell(),
        }
    }
}

impl CellValue for bool {
    const KIND: ColKind = ColKind::Bool;
    fn cell(&self) -> Cell<'_> {
        Cell::Bool(*self)
    }
}

impl CellValue for String {
    const KIND: ColKind = ColKind::Str;
    fn cell(&self) -> Cell<'_> {
        Cell::Str(self)
    }
}

impl CellValue for &'static str {
    const KIND: ColKind = ColKind::Str;
    fn cell(&self) -> Cell<'_> {
        Cell::Str(self)
    }
}

impl<T: CellValue> CellValue for Option<T> {
    const KIND: ColKind = T::KIND;
    fn cell(&self) -> Cell<'_> {
        self.as_ref().map_or(Cell::Null, T::cell)
    }
    fn cell_as(&self, kind: ColKind) -> Cell<'_> {
        self.as_ref().map_or(Cell::Null, |v| v.cell_as(kind))
    }
}

/// A table kept as a vector of rows (crash evidence, modules, frames, threads, issues).
pub trait Row {
    /// Column names and kinds, in order.
    const KINDS: &'static [(&'static str, ColKind)];
    /// Cell `c` of this row.
    fn cell(&self, c: usize) -> Cell<'_>;
}

/// Declares a row table once: the struct (public fields in column order, serializable) and its
/// [`Row`] impl — column names, kinds (from each field's type, or `=> Ts` for a time) and cells.
/// Adding a column is one line here.
macro_rules! row_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $f:ident : $t:ty $(=> $kind:ident)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $f: $t ),+
        }

        impl $name {
            /// Column names, in order (the JSON-lines keys and Parquet columns).
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($f)),+];
        }

        impl $crate::tables::Row for $name {
            const KINDS: &'static [(&'static str, $crate::tables::ColKind)] = &[
                $((stringify!($f), row_table!(@kind $t $(=> $kind)?))),+
            ];
            fn cell(&self, c: usize) -> $crate::tables::Cell<'_> {
                const CELLS: &[for<'a> fn(&'a $name) -> $crate::tables::Cell<'a>] = &[
                    $(|r| $crate::tables::CellValue::cell_as(
                        &r.$f,
                        row_table!(@kind $t $(=> $kind)?),
                    )),+
                ];
                CELLS[c](self)
            }
        }
    };
    (@kind $t:ty => $kind:ident) => { $crate::tables::ColKind::$kind };
    (@kind $t:ty) => { <$t as $crate::tables::CellValue>::KIND };
}
