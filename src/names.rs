//! Domain values with one stable name each.
//!
//! Kinds, roles, classes and confidences travel through tables, the analysis model and the
//! report as enums; their names appear only at the edges (JSON, CSV, Parquet, report text). One
//! macro gives each enum its name table, so the name a writer prints, the name serde writes and
//! the name a reader parses back cannot drift apart.

/// Declares a fieldless enum whose variants each carry one stable name: `name()`, `from_name()`,
/// `ALL`, `Display`, a `Serialize` that writes the name, and a table cell of it.
///
/// ```
/// w3triage::named_enum! {
///     /// A colour.
///     pub enum Colour { Red = "red", DarkBlue = "dark_blue" }
/// }
/// assert_eq!(Colour::DarkBlue.name(), "dark_blue");
/// assert_eq!(Colour::from_name("red"), Some(Colour::Red));
/// assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $var ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The stable name (JSON, tables, reports).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$var => $text),+
                }
            }

            /// The variant with this stable name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$var),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl $crate::tables::CellValue for $name {
            const KIND: $crate::tables::ColKind = $crate::tables::ColKind::Str;
            fn cell(&self) -> $crate::tables::Cell<'_> {
                $crate::tables::Cell::Str(self.name())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::from_name(&s).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(format!(
                        "unknown {} {:?}",
                        stringify!($name),
                        s
                    ))
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    named_enum! {
        enum Probe { One = "one", TwoWords = "two_words" }
    }

    #[test]
    fn names_round_trip() {
        for p in Probe::ALL {
            assert_eq!(Probe::from_name(p.name()), Some(*p));
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{p}\""));
        }
        assert_eq!(Probe::from_name("two-words"), None);
        assert!(Probe::One < Probe::TwoWords);
    }
}
