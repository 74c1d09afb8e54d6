//! The one error type callers of the core see.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// A boxed error, as adapters hand a backend's failure to [`Error::unavailable`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The source of an [`Error::Unavailable`]: shared rather than boxed, so that one failure can
/// be handed to every caller it concerns (a failed group commit answers each alert in it).
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong in a use case or a port.
///
/// The variants say what went wrong for the caller, not how a transport shows it: each one
/// maps onto one status code of the wire contract in the transport adapters, and
/// [`Error::code`] is the wire's `code` string.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or invalid input. `field` names the problem, e.g. `descripcion`.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field (or part of the request) that is wrong.
        field: &'static str,
        /// What is wrong with it, for a person.
        message: String,
    },
    /// No credentials, or credentials that are not valid.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but may not do this.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state; [`ConflictKind`] says how.
    #[error("{message}")]
    Conflict {
        /// What kind of conflict, for control flow; its [`code`](ConflictKind::code) goes on
        /// the wire.
        kind: ConflictKind,
        /// What conflicted, for a person.
        message: String,
    },
    /// A body or upload larger than allowed.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An attachment whose type is not allowed or does not match its bytes.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; try again later.
    #[error("too many attempts; try again in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a new attempt may succeed.
        retry_after_s: u64,
    },
    /// A backend could not do its part. The source is kept for logs and never shown to
    /// clients.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which backend or step failed, e.g. `incident store`.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: SharedError,
    },
}

/// How a request conflicts with the current state.
///
/// New kinds may be added; a caller that matches on one kind (a retry on
/// [`StaleVersion`](Self::StaleVersion), a lost lease) treats every other kind as a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictKind {
    /// The incident changed since the caller read it (`stale_version`).
    StaleVersion,
    /// Something with the same identity is already stored (`duplicate`).
    Duplicate,
    /// The incident lifecycle does not allow the status move (`invalid_transition`).
    InvalidTransition,
    /// The incident is already assigned to that department (`already_assigned`).
    AlreadyAssigned,
    /// The mail was already sent, so it cannot be queued again (`already_sent`).
    AlreadySent,
    /// The `Idempotency-Key` was used before for another request (`idempotency_key_reused`).
    IdempotencyKeyReused,
    /// A report assignment is done, or its lease passed to another run (`lease_lost`).
    LeaseLost,
    /// The alert already has an incident opened from it (`already_linked`).
    AlreadyLinked,
    /// The change would leave no admin who can log in (`last_admin`).
    LastAdmin,
}

impl ConflictKind {
    /// The snake_case `code` of the wire error shape.
    pub fn code(self) -> &'static str {
        match self {
            Self::StaleVersion => "stale_version",
            Self::Duplicate => "duplicate",
            Self::InvalidTransition => "invalid_transition",
            Self::AlreadyAssigned => "already_assigned",
            Self::AlreadySent => "already_sent",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::LeaseLost => "lease_lost",
            Self::AlreadyLinked => "already_linked",
            Self::LastAdmin => "last_admin",
        }
    }
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
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

    /// An [`Error::Conflict`] of `kind`.
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            message: message.into(),
        }
    }

    /// The conflict every store returns when the expected version is not the stored one.
    pub fn stale_version() -> Self {
        Self::conflict(
            ConflictKind::StaleVersion,
            "the incident changed since it was read; reload it and try again",
        )
    }

    /// The conflict of a write whose `what` (a user, a mail, ...) is already stored.
    pub fn duplicate(what: &str) -> Self {
        Self::conflict(ConflictKind::Duplicate, format!("{what} already exists"))
    }

    /// The conflict every user store returns when a role change or a disable would leave no
    /// admin who can log in.
    pub fn last_admin() -> Self {
        Self::conflict(
            ConflictKind::LastAdmin,
            "this is the last admin who can log in: make another admin first",
        )
    }

    /// The conflict every report ledger returns when an assignment is done or held by
    /// another run.
    pub fn lease_lost() -> Self {
        Self::conflict(
            ConflictKind::LeaseLost,
            "the assignment is done or held by another run",
        )
    }

    /// An [`Error::Unavailable`] wrapping `source`.
    pub fn unavailable(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            what,
            source: Arc::from(source.into()),
        }
    }

    /// The kind of an [`Error::Conflict`]; `None` for every other error.
    pub fn conflict_kind(&self) -> Option<ConflictKind> {
        match self {
            Self::Conflict { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The snake_case `code` of the wire error shape.
    pub fn code(&self) -> String {
        match self {
            Self::Invalid { field, .. } => format!("invalid_{field}"),
            Self::Unauthenticated => "unauthenticated".into(),
            Self::Forbidden(_) => "forbidden".into(),
            Self::NotFound(what) => format!("{}_not_found", what.replace(' ', "_")),
            Self::Conflict { kind, .. } => kind.code().into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    #[test]
    fn a_clone_keeps_the_source() {
        let error = Error::unavailable("incident store", Reset);
        let copy = error.clone();
        let source = StdError::source(&copy).expect("a source");
        assert_eq!(source.to_string(), "connection reset");
        assert_eq!(copy.public_message(), "incident store is unavailable");
    }

    #[test]
    fn conflicts_keep_their_wire_codes() {
        assert_eq!(Error::stale_version().code(), "stale_version");
        assert_eq!(Error::duplicate("user").code(), "duplicate");
        assert_eq!(Error::lease_lost().code(), "lease_lost");
        assert_eq!(
            Error::stale_version().conflict_kind(),
            Some(ConflictKind::StaleVersion)
        );
        assert_eq!(Error::NotFound("incident").conflict_kind(), None);
    }
}
