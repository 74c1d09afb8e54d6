//! The requests of writes, read whole by one extractor: the `Idempotency-Key`, the thing the
//! path names (for a change) and the JSON body, in that order, as separate extractors read
//! them, so that a request with several faults gets the error of the first.

use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::JsonBody;
use super::query::{Named, PathName};

/// A write that makes something: its `Idempotency-Key` and its JSON body.
pub(crate) struct Write<B> {
    pub(crate) body: B,
    pub(crate) idempotency: Idempotency,
}

impl<B: DeserializeOwned> FromRequest<AppState> for Write<B> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let idempotency = Idempotency::from_request_parts(&mut parts, state).await?;
        let JsonBody(body) =
            JsonBody::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self { body, idempotency })
    }
}

/// A write to the thing its path names: the `Idempotency-Key`, the thing and the JSON body.
pub(crate) struct Change<T, B> {
    pub(crate) id: T,
    pub(crate) body: B,
    pub(crate) idempotency: Idempotency,
}

impl<T: PathName + Send, B: DeserializeOwned> FromRequest<AppState> for Change<T, B> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let idempotency = Idempotency::from_request_parts(&mut parts, state).await?;
        let Named(id) = Named::from_request_parts(&mut parts, state).await?;
        let JsonBody(body) =
            JsonBody::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            id,
            body,
            idempotency,
        })
    }
}
