//! Identifiers: opaque strings that sort by creation time.

use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Where new ids come from. Ids must be unique and sort (as strings) in the order they were
/// made, so that `since=` and cursors work on every backend.
pub trait IdSource: Send + Sync {
    /// A new id: 26 characters of Crockford base32 (ULID), later ids sorting after earlier ones.
    fn next_id(&self) -> String;
}

/// ULIDs from the system clock, strictly increasing within one process.
#[derive(Default)]
pub struct UlidSource {
    generator: Mutex<ulid::Generator>,
}

impl UlidSource {
    /// A new source.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for UlidSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UlidSource")
    }
}

impl IdSource for UlidSource {
    fn next_id(&self) -> String {
        let mut generator = self.generator.lock().unwrap_or_else(|e| e.into_inner());
        // The generator fails only when 2^80 ids were made in one millisecond; a fresh ULID
        // is then still unique.
        generator
            .generate()
            .unwrap_or_else(|_| ulid::Ulid::new())
            .to_string()
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id from `ids`.
            pub fn generate(ids: &dyn IdSource) -> Self {
                Self(ids.next_id())
            }

            /// Accepts an id read from a request or a store: 1–64 characters of ASCII letters,
            /// digits, `-` and `_`.
            ///
            /// # Errors
            ///
            /// [`Error::Invalid`] on the field named for the id (`incident_id`, ...). A caller
            /// for whom such text names nothing, as a URL path, says so itself.
            pub fn parse(text: &str) -> Result<Self, Error> {
                let ok = !text.is_empty()
                    && text.len() <= 64
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(Error::invalid(
                        $field,
                        "an id is 1 to 64 ASCII letters, digits, '-' or '_'",
                    ))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        super::schema::string_schema!(
            $name,
            concat!("`", $field, "`: an opaque id that sorts by creation time."),
            pattern "^[A-Za-z0-9_-]{1,64}$"
        );
    };
}

id_type!(
    /// Identifies an incident.
    IncidentId, "incident_id"
);
id_type!(
    /// Identifies one event of an incident's history. Also the stream id of the message that
    /// announced it.
    EventId, "event_id"
);
id_type!(
    /// Identifies an attachment.
    AttachmentId, "attachment_id"
);
id_type!(
    /// Identifies a user.
    UserId, "user_id"
);
id_type!(
    /// Identifies an alert. Also the stream id of the message that announced it.
    AlertId, "alert_id"
);
id_type!(
    /// Identifies a row of the mail outbox.
    MailId, "mail_id"
);
id_type!(
    /// Identifies a silence.
    SilenceId, "silence_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_creation_order() {
        let ids = UlidSource::new();
        let made: Vec<String> = (0..1000).map(|_| ids.next_id()).collect();
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(made, sorted);
        assert_eq!(made[0].len(), 26);
    }

    #[test]
    fn path_text_cannot_become_an_id() {
        assert!(IncidentId::parse("../etc").is_err());
        assert!(IncidentId::parse("").is_err());
        assert_eq!(
            MailId::parse("a b").unwrap_err().code(),
            "invalid_mail_id",
            "a malformed id is bad input, not a missing thing"
        );
        assert!(IncidentId::parse("01JD2Z9R1K7Q3C6ZP0S8T4W5XY").is_ok());
    }
}
