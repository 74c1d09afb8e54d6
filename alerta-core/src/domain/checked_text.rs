//! The conversions of a text type that checks its text: what serde's
//! `#[serde(try_from = "String", into = "String")]` needs, and `Display`.

/// Gives a `struct Name(String)` whose `Name::parse(&str) -> Result<Name, Error>` checks the
/// text:
///
/// - `TryFrom<String>`, through `parse`, so that a stored or sent value is checked as a
///   request's is;
/// - `From<Name> for String`, the text;
/// - `Display`, the text.
macro_rules! checked_text {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = $crate::Error;
            fn try_from(raw: String) -> Result<Self, $crate::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use checked_text;
