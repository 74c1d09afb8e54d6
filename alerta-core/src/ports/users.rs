//! Users, sessions and departments.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    Department, DepartmentName, Email, Session, Timestamp, TokenHash, UserId, UserRecord,
};

/// Where accounts and sessions live.
///
/// # Contract
///
/// - Emails are unique; they are already lower case, so comparing them is exact.
/// - Only token hashes are stored. A deleted session is gone at once for every reader.
///
/// # Errors
///
/// - `create_user` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the email or the id is taken, and
///   store nothing.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user.
    async fn create_user(&self, record: &UserRecord) -> Result<()>;

    /// The user with `email`, if any.
    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>>;

    /// The user with `id`, if any.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>>;

    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// The session with this token hash, if any, expired or not.
    async fn session(&self, token: &TokenHash) -> Result<Option<Session>>;

    /// Removes a session; removing a missing one is not an error.
    async fn delete_session(&self, token: &TokenHash) -> Result<()>;

    /// Removes every session that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;
}

/// A shared user store picked at run time.
pub type DynUserStore = dyn UserStore;

/// The department catalog.
///
/// # Errors
///
/// - `create` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the name is taken.
/// - Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DepartmentStore: Send + Sync {
    /// Adds a department.
    async fn create_department(&self, department: &Department) -> Result<()>;

    /// The department called `name`, if any.
    async fn department(&self, name: &DepartmentName) -> Result<Option<Department>>;

    /// Every department, by name.
    async fn departments(&self) -> Result<Vec<Department>>;
}

/// A shared department store picked at run time.
pub type DynDepartmentStore = dyn DepartmentStore;
