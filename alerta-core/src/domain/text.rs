//! Bounded pieces of free text.
use serde::{Deserialize, Serialize};

use crate::Error;

/// Trims `raw` and checks it holds `min..=max` characters and no control characters other than
/// line breaks and tabs (when `multiline`).
pub(crate) fn bounded(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, Error> {
    let text = raw.trim();
    let count = text.chars().count();
    if count < min || count > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be {min} to {max} characters long"),
        ));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return Err(Error::invalid(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(text.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The most characters allowed.
            pub const MAX_CHARS: usize = $max;

            /// Trims and checks `raw`.
            pub fn parse(raw: &str) -> Result<Self, Error> {
                bounded($field, raw, $min, $max, $multiline).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        super::checked_text::checked_text!($name);

        super::schema::string_schema!(
            $name,
            concat!("`", $field, "`: ", $min, " to ", $max, " characters, trimmed."),
            min $min,
            max $max
        );
    };
}

text_type!(
    /// What happened, 1–2000 characters (`descripcion`).
    Description, "descripcion", 1, 2000, true
);
text_type!(
    /// Where it happened, 1–200 characters (`ubicacion`).
    Location, "ubicacion", 1, 200, false
);
text_type!(
    /// A staff comment on an incident, 1–2000 characters (`texto`).
    CommentText, "texto", 1, 2000, true
);
text_type!(
    /// A note on a status change, 1–2000 characters (`nota`).
    Note, "nota", 1, 2000, true
);
text_type!(
    /// A person's display name, 1–100 characters (`nombre`).
    PersonName, "nombre", 1, 100, false
);
text_type!(
    /// Where an alert came from, 1–100 characters (`source`).
    AlertSource, "source", 1, 100, false
);
text_type!(
    /// What an alert says, 1–4000 characters (`message`).
    AlertMessage, "message", 1, 4000, true
);
text_type!(
    /// Why a silence was made, 1–1000 characters (`comment`).
    SilenceComment, "comment", 1, 1000, true
);
text_type!(
    /// A text search (`q`), 1–200 characters; matched case-insensitively as a substring.
    SearchText, "q", 1, 200, false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_count_characters_not_bytes() {
        assert!(Location::parse(&"á".repeat(200)).is_ok());
        assert!(Location::parse(&"á".repeat(201)).is_err());
        assert!(Location::parse("   ").is_err());
        assert_eq!(Location::parse("  Aula 3 ").unwrap().as_str(), "Aula 3");
    }

    #[test]
    fn single_line_fields_refuse_line_breaks() {
        assert!(AlertSource::parse("a\r\nBcc: x@y").is_err());
        assert!(AlertMessage::parse("line one\nline two").is_ok());
    }
}
