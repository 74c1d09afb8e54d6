//! The `Idempotency-Key` header every write accepts.

use alerta_core::Error;
use alerta_core::domain::IdempotencyKey;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use super::error::ApiError;

/// The header's name.
pub(crate) const HEADER: &str = "Idempotency-Key";

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
        let mut values = parts.headers.get_all(HEADER).iter();
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

impl IntoParams for Idempotency {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let header = ParameterBuilder::new()
            .name(HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("Replays the first result of a repeated write."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        vec![header]
    }
}
