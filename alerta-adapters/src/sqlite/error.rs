//! How sqlx failures become the core's [`Error`]: the port never sees an sqlx type.

use alerta_core::Error;

/// What went wrong inside the store. Private: it only travels as the boxed source of
/// [`Error::Unavailable`], for logs.
#[derive(Debug, thiserror::Error)]
enum SqliteError {
    #[error("sqlite: {0}")]
    Query(String),
    #[error("sqlite migration: {0}")]
    Migrate(String),
    #[error("sqlite holds a value this version cannot read: {0}")]
    Unreadable(String),
    #[error("a value could not be encoded for sqlite: {0}")]
    Unencodable(String),
}

fn unavailable(error: SqliteError) -> Error {
    crate::backend_errors::record("sqlite");
    Error::unavailable("sqlite", error)
}

/// A failed statement: a unique violation is a `duplicate` conflict, anything else means the
/// database is unavailable.
pub(super) fn db(error: sqlx::Error) -> Error {
    writing("record", error)
}

/// A failed statement that wrote `what`, named in the conflict when it already existed.
pub(super) fn writing(what: &str, error: sqlx::Error) -> Error {
    let unique = error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation());
    if unique {
        Error::duplicate(what)
    } else {
        unavailable(SqliteError::Query(error.to_string()))
    }
}

/// A failed migration.
pub(super) fn migrate(error: sqlx::migrate::MigrateError) -> Error {
    unavailable(SqliteError::Migrate(error.to_string()))
}

/// A stored value that does not parse back into its domain type.
pub(super) fn unreadable(what: impl std::fmt::Display) -> Error {
    unavailable(SqliteError::Unreadable(what.to_string()))
}

/// A value that could not be turned into its stored JSON.
pub(super) fn unencodable(error: serde_json::Error) -> Error {
    unavailable(SqliteError::Unencodable(error.to_string()))
}
