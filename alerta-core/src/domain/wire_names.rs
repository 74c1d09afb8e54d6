//! The wire names of the domain's closed sets (severities, channels, roles, ...), said once
//! per set.
//!
//! A set's names are needed by serde, by `as_str`, by `parse` and by `parse`'s error message;
//! written by hand they drift apart. [`wire_names!`] takes one table of variants and names,
//! declares the enum from it and derives all of them, with `ALL` and `Display`: each variant
//! is named once, beside its wire name.

/// Declares a fieldless enum from one table of its variants and their wire names, and gives
/// it:
///
/// - `ALL`, every value in the order of the table;
/// - `parse`, which refuses any other text with an [`Error::Invalid`](crate::Error::Invalid)
///   for the given field saying `expected a, b or c`;
/// - `as_str` and `Display`, the wire name;
/// - `Serialize` and `Deserialize` as the wire name, refusing others as serde's derive does
///   (`unknown variant ..., expected one of ...`).
///
/// ```ignore
/// wire_names! {
///     /// How bad it is.
///     #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///     pub enum Severity, field "severity" {
///         /// For the record.
///         Info = "info",
///         /// Worth a look.
///         Warning = "warning",
///     }
/// }
/// ```
macro_rules! wire_names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident, field $field:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $wire:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order of the enum's wire-name table.
            pub const ALL: [Self; [$($wire),+].len()] = [$(Self::$variant),+];

            /// The wire names, in the order of [`ALL`](Self::ALL).
            const NAMES: &'static [&'static str] = &[$($wire),+];

            /// Parses the wire name.
            pub fn parse(text: &str) -> Result<Self, crate::Error> {
                match text {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(crate::Error::invalid(
                        $field,
                        $crate::domain::wire_names::expected(Self::NAMES),
                    )),
                }
            }

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireName;

                impl ::serde::de::Visitor<'_> for WireName {
                    type Value = $name;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of {:?}", $name::NAMES)
                    }

                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        match text {
                            $($wire => Ok($name::$variant),)+
                            _ => Err(E::unknown_variant(text, $name::NAMES)),
                        }
                    }
                }

                deserializer.deserialize_str(WireName)
            }
        }

        $crate::domain::schema::names_schema!($name, concat!("`", $field, "`: one of its wire names."), $name::NAMES);
    };
}

pub(crate) use wire_names;

/// `expected a, b or c`: the message of a refused wire name.
pub(crate) fn expected(names: &[&str]) -> String {
    match names {
        [] => "expected nothing".to_owned(),
        [only] => format!("expected {only}"),
        [rest @ .., last] => format!("expected {} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::expected;
    use crate::domain::{Channel, MailState, MediaType, Role, Severity};

    /// Each set against what its hand-written code said before: the same names, order and
    /// messages, on the wire and in errors.
    #[test]
    fn names_order_and_messages_are_those_of_the_wire_contract() {
        assert_eq!(
            Severity::ALL.map(Severity::as_str),
            ["info", "warning", "error", "critical"]
        );
        assert_eq!(Channel::ALL.map(Channel::as_str), ["tcp", "http", "ws"]);
        assert_eq!(Role::ALL.map(Role::as_str), ["student", "staff", "admin"]);
        assert_eq!(
            MailState::ALL.map(MailState::as_str),
            ["pending", "sent", "dead", "cancelled"]
        );
        assert_eq!(MediaType::ALL[4].as_str(), "application/pdf");

        let refused = |error: crate::Error| format!("{error}");
        assert!(
            refused(Severity::parse("fatal").unwrap_err())
                .contains("expected info, warning, error or critical")
        );
        assert!(refused(Channel::parse("udp").unwrap_err()).contains("expected tcp, http or ws"));
        assert!(
            refused(Role::parse("root").unwrap_err()).contains("expected student, staff or admin")
        );
        assert!(
            refused(MailState::parse("lost").unwrap_err())
                .contains("expected pending, sent, dead or cancelled")
        );
        assert_eq!(expected(&["a", "b"]), "expected a or b");
        assert_eq!(expected(&["a"]), "expected a");
    }

    #[test]
    fn serde_uses_the_wire_names_and_refuses_others() {
        for severity in Severity::ALL {
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{severity}\""));
            assert_eq!(serde_json::from_str::<Severity>(&json).unwrap(), severity);
        }
        assert_eq!(serde_json::to_value(MediaType::Text).unwrap(), "text/plain");
        assert_eq!(
            serde_json::from_value::<MediaType>("image/png".into()).unwrap(),
            MediaType::Png
        );
        let error = serde_json::from_str::<Role>("\"root\"").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("unknown variant `root`, expected one of `student`, `staff`, `admin`"),
            "{error}"
        );
    }
}
