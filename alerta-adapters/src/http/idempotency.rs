//! The `Idempotency-Key` header every write accepts.

use alerta_core::Error;
use alerta_core::domain::IdempotencyKey;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;

/// The request's `Idempotency-Key`, checked; `None` when the header is absent.
pub(crate) struct Idempotency(pub(crate) Option<IdempotencyKey>);

impl Idempotency {
    pub(crate) fn key(&self) -> Option<&IdempotencyKey> {
        self.0.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let refuse = || {
            Error::invalid(
                "idempotency_key",
                "send one Idempotency-Key of 1 to 200 visible ASCII characters",
            )
        };
        if values.next().is_some() {
            return Err(refuse().into());
        }
        let text = value.to_str().map_err(|_| refuse())?;
        Ok(Self(Some(IdempotencyKey::parse(text)?)))
    }
}
