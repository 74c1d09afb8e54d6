//! Idempotency keys: a repeated write returns the first result.

use std::time::Duration;

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

/// A request's claim on an idempotency key, made before the write it guards runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is: a user id, or `ingest` for ingest keys.
    pub owner: String,
    /// The key.
    pub key: IdempotencyKey,
    /// The operation the key is used for.
    pub operation: String,
    /// A token naming this request's reservation, unique per claim: only its holder may
    /// complete or release it.
    pub holder: String,
    /// When the claim is made.
    pub now: Timestamp,
    /// How long the reservation holds: a request that dies leaves it to be taken over after
    /// this.
    pub lease: Duration,
    /// How long a completed record is kept: an older one counts as absent.
    pub max_age: Duration,
}

impl IdempotencyClaim {
    /// When the reservation this claim makes ends.
    pub fn lease_until(&self) -> Timestamp {
        self.now.plus(self.lease)
    }
}

/// What reserving an idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The key is now the claim's: run the write, then complete (or release) it.
    Reserved,
    /// Another request holds the key and its lease has not ended: wait for its outcome.
    Pending {
        /// The operation the holder reserved it for.
        operation: String,
        /// When the holder's lease ends and the key may be taken over.
        lease_until: Timestamp,
    },
    /// The key's first write completed within the records' age: its result.
    Completed(IdempotencyRecord),
}
