//! The one error type callers of the core see.

use std::error::Error as StdError;

/// A boxed error kept as the source of [`Error::Unavailable`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong in a use case or a port.
///
/// Each variant maps onto exactly one HTTP status code of the wire contract, so a transport
/// adapter never has to guess; see [`Error::status`] and [`Error::code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or invalid input (400). `field` names the problem, e.g. `descripcion`.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field (or part of the request) that is wrong.
        field: &'static str,
        /// What is wrong with it, for a person.
        message: String,
    },
    /// No credentials, or credentials that are not valid (401).
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but may not do this (403).
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// The named thing does not exist (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (409): an invalid status transition, a
    /// stale version, a duplicate.
    #[error("{message}")]
    Conflict {
        /// A snake_case code: `invalid_transition`, `stale_version`, `duplicate`, ...
        code: &'static str,
        /// What conflicted, for a person.
        message: String,
    },
    /// A body or upload larger than allowed (413).
    #[error("too large: {0}")]
    TooLarge(String),
    /// An attachment whose type is not allowed or does not match its bytes (415).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; try again later (429).
    #[error("too many attempts; try again in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a new attempt may succeed.
        retry_after_s: u64,
    },
    /// A backend could not do its part (503). The source is kept for logs and never shown to
    /// clients.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which backend or step failed, e.g. `incident store`.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// An [`Error::Conflict`] with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The conflict every store returns when the expected version is not the stored one.
    pub fn stale_version() -> Self {
        Self::conflict(
            "stale_version",
            "the incident changed since it was read; reload it and try again",
        )
    }

    /// An [`Error::Unavailable`] wrapping `source`.
    pub fn unavailable(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            what,
            source: source.into(),
        }
    }

    /// The HTTP status code this error stands for.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::TooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::RateLimited { .. } => 429,
            Self::Unavailable { .. } => 503,
        }
    }

    /// The snake_case `code` of the wire error shape.
    pub fn code(&self) -> String {
        match self {
            Self::Invalid { field, .. } => format!("invalid_{field}"),
            Self::Unauthenticated => "unauthenticated".into(),
            Self::Forbidden(_) => "forbidden".into(),
            Self::NotFound(what) => format!("{}_not_found", what.replace(' ', "_")),
            Self::Conflict { code, .. } => (*code).into(),
            Self::TooLarge(_) => "too_large".into(),
            Self::UnsupportedMediaType(_) => "unsupported_media_type".into(),
            Self::RateLimited { .. } => "rate_limited".into(),
            Self::Unavailable { .. } => "unavailable".into(),
        }
    }

    /// A message safe to show to a client: never the source of an [`Error::Unavailable`].
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}
