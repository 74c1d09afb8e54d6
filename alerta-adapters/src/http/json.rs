//! JSON request bodies: the extractor and the field wrapper that gives each wrong field its own
//! error code.

use std::marker::PhantomData;

use alerta_core::Error;
use alerta_core::domain::Note;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::AppState;
use super::error::ApiError;

/// A reply of 201 Created with `T` as its JSON body.
pub(crate) struct Created<T>(pub(crate) T);

impl<T: serde::Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// A JSON request body of type `T`.
///
/// - A `Content-Type` other than `application/json` (or `application/*+json`): 415.
/// - A body over the configured limit: 413 `too_large`.
/// - Text that is not JSON: 400 `malformed_json`.
/// - JSON that is not an object: 400 `invalid_body`.
///
/// Bodies are structs of [`Field`]s, so that a missing or mistyped field is reported by the
/// handler under its own name (`invalid_<field>`), as the core reports values it refuses.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "this route takes a JSON body with Content-Type: application/json",
            ));
        }
        DefaultBodyLimit::max(state.json_body_limit).apply(&mut request);
        let bytes = read_body(request, state).await?;
        // Through a `Value` first: serde would read a JSON array into a struct field by field.
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::http(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        if !value.is_object() {
            return Err(ApiError::http(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
        T::deserialize(value).map(Self).map_err(|e| {
            ApiError::http(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the body does not have the expected shape: {e}"),
            )
        })
    }
}

/// A JSON body that may be left out: a request with no body and no `Content-Type` reads as
/// `T::default()`; any other is read as [`JsonBody`] reads it, with the same errors.
pub(crate) struct OptionalJson<T>(T);

impl<T> OptionalJson<T> {
    /// The body, or the default when none was sent.
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = request.headers();
        let empty = headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0")
            && !headers.contains_key(header::TRANSFER_ENCODING)
            && !headers.contains_key(header::CONTENT_TYPE);
        if empty {
            return Ok(Self(T::default()));
        }
        JsonBody::<T>::from_request(request, state)
            .await
            .map(|JsonBody(body)| Self(body))
    }
}

/// Reads the whole body within the limit set on the request.
pub(crate) async fn read_body(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the request body is larger than this route accepts",
                )
            } else {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "the request body could not be read",
                )
            }
        })
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// One field of a JSON body: absent (or `null`), present with the expected type, or present
/// with another type. Deserializing it never fails, so the handler can name the field in its
/// error.
#[derive(Debug, Default)]
pub(crate) enum Field<T> {
    #[default]
    Absent,
    Present(T),
    WrongType(PhantomData<T>),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as an `Option`, which serde also hands a field the body leaves out, so that no
        // field of a body needs `#[serde(default)]`.
        let Some(value) = Option::<serde_json::Value>::deserialize(deserializer)? else {
            return Ok(Self::Absent);
        };
        Ok(T::deserialize(value).map_or(Self::WrongType(PhantomData), Self::Present))
    }
}

/// How a JSON type is named in error messages.
pub(crate) trait JsonKind {
    /// E.g. `a string`.
    const NAME: &'static str;
}

impl JsonKind for String {
    const NAME: &'static str = "a string";
}

impl JsonKind for u64 {
    const NAME: &'static str = "a whole number of at least 0";
}

impl<T: JsonKind> Field<T> {
    /// The value; absent or mistyped is [`Error::Invalid`] on `name`.
    pub(crate) fn required(self, name: &'static str) -> Result<T, Error> {
        self.optional(name)?
            .ok_or_else(|| Error::invalid(name, format!("{name} is required")))
    }

    /// The value if given; mistyped is [`Error::Invalid`] on `name`.
    pub(crate) fn optional(self, name: &'static str) -> Result<Option<T>, Error> {
        match self {
            Self::Absent => Ok(None),
            Self::Present(value) => Ok(Some(value)),
            Self::WrongType(_) => Err(Error::invalid(name, format!("{name} must be {}", T::NAME))),
        }
    }
}

impl Field<String> {
    /// The `nota` of a status change, if given. A blank one is what a form with an empty note
    /// field sends: no note, not a bad one.
    pub(crate) fn note(self) -> Result<Option<Note>, Error> {
        self.optional("nota")?
            .filter(|n| !n.trim().is_empty())
            .map(|n| Note::parse(&n))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the API's bodies are: no `#[serde(default)]`, so a left-out field is read as absent
    /// by [`Field`] itself.
    #[derive(Deserialize)]
    struct Body {
        name: Field<String>,
        version: Field<u64>,
    }

    #[test]
    fn fields_report_their_own_problems() {
        let body: Body = serde_json::from_str(r#"{"name": 5, "version": "x"}"#).unwrap();
        assert_eq!(
            body.name.required("name").unwrap_err().code(),
            "invalid_name"
        );
        assert_eq!(
            body.version.optional("version").unwrap_err().code(),
            "invalid_version"
        );
        let body: Body = serde_json::from_str(r#"{"version": null, "other": 1}"#).unwrap();
        assert!(body.name.required("name").is_err());
        assert_eq!(body.version.optional("version").unwrap(), None);
        let body: Body = serde_json::from_str(r#"{"name": "a", "version": 3}"#).unwrap();
        assert_eq!(body.name.required("name").unwrap(), "a");
        assert_eq!(body.version.optional("version").unwrap(), Some(3));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
