//! The error shape of the wire contract: `{"error": {"code", "message"}}` with the status the
//! core's [`Error`] stands for ([`status_code`](crate::status_code)).

use alerta_core::{BoxError, Error};
use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::Span;

use super::X_REQUEST_ID;
use crate::status_code;

/// Why a request failed, as a handler or an extractor reports it.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// An error of the core, answered with [`status_code::of`] and its `code()`.
    Core(Error),
    /// A failure of the HTTP layer itself (malformed JSON, a wrong `Content-Type`, ...), which
    /// the core never sees.
    Http {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

/// What a handler answers: `T`, or an error in the error shape.
pub(crate) type Reply<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Http {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self::Core(error)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
}

fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    correlation_id: Option<&str>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            correlation_id,
        },
    };
    (status, Json(body)).into_response()
}

/// A server-side failure travelling from a handler or a layer to [`shape_errors`], which knows
/// the request id to log it under and to hand the client as `correlation_id`.
#[derive(Clone)]
struct ServerFailure {
    status: StatusCode,
    code: String,
    message: String,
    /// What goes to the log only.
    detail: String,
}

impl ServerFailure {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Http {
                status,
                code,
                message,
            } => error_response(status, code, &message, None),
            Self::Core(error) => {
                let status = StatusCode::from_u16(status_code::of(&error))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                if status.is_server_error() {
                    return ServerFailure {
                        status,
                        code: error.code(),
                        message: error.public_message(),
                        detail: describe(&error),
                    }
                    .into_response();
                }
                let mut response =
                    error_response(status, &error.code(), &error.public_message(), None);
                let headers = response.headers_mut();
                match &error {
                    Error::Unauthenticated => {
                        headers
                            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    }
                    Error::RateLimited { retry_after_s } => {
                        headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
                    }
                    _ => {}
                }
                response
            }
        }
    }
}

/// The span every request is traced in. The query string is left out on purpose: it can
/// carry tokens (`/ws?token=`) when other routes are merged in.
pub(super) fn request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Makes every error reply of the router look the same and keeps internals out of them.
///
/// - A backend failure is logged with its source under the request id, and the client gets a
///   503 that carries that id as `correlation_id` and nothing of the source.
/// - Replies that axum or tower make on their own (404 of an unknown path, 405, ...) have no
///   JSON body; they get one in the error shape.
pub(super) async fn shape_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut response = next.run(request).await;
    if let Some(failure) = response.extensions_mut().remove::<ServerFailure>() {
        let correlation_id = request_id.as_deref().unwrap_or("");
        tracing::error!(
            correlation_id,
            status = failure.status.as_u16(),
            code = %failure.code,
            detail = %failure.detail,
            "request failed on the server side",
        );
        return error_response(
            failure.status,
            &failure.code,
            &failure.message,
            Some(correlation_id),
        );
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Pages made for a person (the acknowledgement link's) keep their HTML.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_json && !is_page {
        let (code, message) = generic(status);
        let correlation_id = status
            .is_server_error()
            .then_some(request_id.as_deref())
            .flatten();
        let mut shaped = error_response(status, code, message, correlation_id);
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(value) = response.headers_mut().remove(&name) {
                shaped.headers_mut().insert(name, value);
            }
        }
        return shaped;
    }
    response
}

/// The error and every source under it, for the log.
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn generic(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("not_found", "there is nothing at this path"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this path does not accept this method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body has an unsupported type",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "the service is unavailable"),
        s if s.is_server_error() => ("internal", "the request could not be completed"),
        _ => ("bad_request", "the request could not be understood"),
    }
}

/// Unknown paths.
pub(super) async fn not_found() -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is nothing at this path",
    )
}

/// What the request timeout (or any other failing layer) answers.
pub(super) async fn timed_out(error: BoxError) -> Response {
    let failure = if error.is::<tower::timeout::error::Elapsed>() {
        // A 503 rather than 408: the client sent its request; it is the server that did not
        // finish in time.
        ServerFailure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "timeout".into(),
            message: "the request took too long and was abandoned".into(),
            detail: error.to_string(),
        }
    } else {
        ServerFailure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal".into(),
            message: "the request could not be completed".into(),
            detail: error.to_string(),
        }
    };
    failure.into_response()
}
