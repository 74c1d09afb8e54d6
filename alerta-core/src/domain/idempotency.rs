//! Idempotency keys: a repeated write returns the first result.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::Error;

/// An `Idempotency-Key` header value: 1–200 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a header value.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if !text.is_empty() && text.len() <= 200 && text.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::invalid(
                "idempotency_key",
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            ))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first result of a write made with an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Whose key it is: a user id, or `ingest` for ingest keys.
    pub owner: String,
    /// The key.
    pub key: IdempotencyKey,
    /// Which operation it was used for, e.g. `incident.status:01J...`; the same key on another
    /// operation is a conflict.
    pub operation: String,
    /// The result, as returned the first time.
    pub response: serde_json::Value,
    /// When it was recorded.
    pub created_at: Timestamp,
}
