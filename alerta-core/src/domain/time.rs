//! Timestamps with millisecond precision, RFC 3339 in UTC on the wire.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::Error;

/// A point in time, stored as milliseconds since the Unix epoch so that every backend keeps it
/// exactly, and written as `2026-11-22T10:15:30.123Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The time `ms` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// This time plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// How long after `earlier` this is (zero when it is not later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// The same time as a [`time::OffsetDateTime`] in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The RFC 3339 form with milliseconds and `Z`.
    pub fn to_rfc3339(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        self.to_datetime()
            .format(&format)
            .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
    }

    /// Parses any RFC 3339 time; sub-millisecond digits are dropped.
    pub fn parse_rfc3339(text: &str) -> Result<Self, Error> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| Error::invalid("timestamp", "expected an RFC 3339 time"))?;
        let ms = parsed.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Self)
            .map_err(|_| Error::invalid("timestamp", "time out of range"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

super::schema::string_schema!(
    Timestamp,
    "An RFC 3339 time in UTC with milliseconds, as `2026-11-22T10:15:30.123Z`.",
    format SchemaFormat::KnownFormat(KnownFormat::DateTime)
);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_milliseconds_and_z() {
        let t = Timestamp::from_unix_millis(1_795_342_530_123);
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:15:30.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = Timestamp::parse_rfc3339("2026-11-22T11:15:30.123+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:15:30.123Z");
    }
}
