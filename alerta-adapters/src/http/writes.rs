//! The requests of writes, read whole by one extractor: the `Idempotency-Key`, the thing the
//! path names (for a change) and the JSON body, in that order, as separate extractors read
//! them, so that a request with several faults gets the error of the first.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::idempotency::Idempotency;
use super::json::{JsonBody, OptionalJson};
use super::query::{Named, PathName};

/// How a write reads its body of type `B`: [`JsonBody`] when it must be there,
/// [`OptionalJson`] when it may be left out.
pub(crate) trait BodyOf<B>: FromRequest<AppState, Rejection = ApiError> {
    /// The body read.
    fn into_body(self) -> B;
}

impl<B: DeserializeOwned> BodyOf<B> for JsonBody<B> {
    fn into_body(self) -> B {
        self.0
    }
}

impl<B: DeserializeOwned + Default> BodyOf<B> for OptionalJson<B> {
    fn into_body(self) -> B {
        self.into_inner()
    }
}

/// A write that makes something: its `Idempotency-Key` and its JSON body.
pub(crate) struct Write<B> {
    /// The body.
    pub(crate) body: B,
    /// The request's key, if it sent one.
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

/// A write to the thing its path names: the `Idempotency-Key`, the thing and the body.
pub(crate) struct Change<T, B, E = JsonBody<B>> {
    /// The thing the path names.
    pub(crate) id: T,
    /// The body.
    pub(crate) body: B,
    /// The request's key, if it sent one.
    pub(crate) idempotency: Idempotency,
    read_as: PhantomData<E>,
}

impl<T: PathName + Send, B, E: BodyOf<B>> FromRequest<AppState> for Change<T, B, E> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let idempotency = Idempotency::from_request_parts(&mut parts, state).await?;
        let Named(id) = Named::from_request_parts(&mut parts, state).await?;
        let body = E::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            id,
            body: body.into_body(),
            idempotency,
            read_as: PhantomData,
        })
    }
}
