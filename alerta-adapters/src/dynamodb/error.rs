//! How DynamoDB failures become the core's [`Error`]: the ports never see an AWS type.

use alerta_core::Error;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};

use crate::aws::describe;

/// What went wrong inside the store. Private: it only travels as the boxed source of
/// [`Error::Unavailable`], for logs.
#[derive(Debug, thiserror::Error)]
pub(super) enum DynamoError {
    /// A request failed. The text holds the service's error code and message but never its
    /// request id, so it can be logged or compared without leaking AWS internals.
    #[error("dynamodb {operation}: {detail}")]
    Request {
        operation: &'static str,
        detail: String,
    },
    #[error("dynamodb holds a {what} this version cannot read: {detail}")]
    Unreadable { what: &'static str, detail: String },
    #[error("a dynamodb request could not be built: {0}")]
    Build(String),
    #[error("dynamodb: {0}")]
    Other(String),
}

pub(super) fn unavailable(error: DynamoError) -> Error {
    crate::backend_errors::record("dynamodb");
    Error::unavailable("dynamodb", error)
}

/// A failed request of `operation`.
pub(super) fn request<E, R>(operation: &'static str, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    unavailable(DynamoError::Request {
        operation,
        detail: describe(&error),
    })
}

/// A stored item that does not parse back into its domain type.
pub(super) fn unreadable(what: &'static str, detail: impl std::fmt::Display) -> Error {
    unavailable(DynamoError::Unreadable {
        what,
        detail: detail.to_string(),
    })
}

/// A request value the SDK refused to build (a required field left out).
pub(super) fn build(error: BuildError) -> Error {
    unavailable(DynamoError::Build(error.to_string()))
}

/// Anything else, described for the logs.
pub(super) fn other(detail: impl Into<String>) -> Error {
    unavailable(DynamoError::Other(detail.into()))
}

/// The outcome of a conditional write of `operation`: `Some` with its output when written,
/// `None` when its condition did not hold, an error for anything else.
pub(super) fn conditional<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, Error>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(request(operation, e)),
    }
}
