//! Users, sessions and departments.

use async_trait::async_trait;

use crate::Result;
use crate::domain::{
    AccessChange, Department, DepartmentName, Email, Page, PageRequest, PasswordHash, Session,
    Timestamp, TokenHash, UserFilter, UserId, UserRecord,
};

/// Where accounts and sessions live.
///
/// # Contract
///
/// - Emails are unique; they are already lower case, so comparing them is exact.
/// - Only token hashes are stored. A deleted session is gone at once for every reader.
/// - [`users`](UserStore::users) lists every account once (disabled ones included), ordered
///   by email, a page at a time from the cursor it made. Its filter means the same on every
///   store, what [`UserFilter::matches`](crate::domain::UserFilter::matches) says: the role
///   exactly, and the text anywhere in the name or the email (not only at their start),
///   ignoring case, accents kept. A new account or an access change shows in lists at once
///   when the backend's [`consistent_lists`](super::StorageLimits::consistent_lists) holds, a
///   moment later otherwise. The cost of a page follows the accounts read to fill it, never
///   the whole table when unfiltered (a text search reads past the accounts it skips).
///
/// # Errors
///
/// - `create_user` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the email or the id is taken, and
///   store nothing.
/// - `change_access` MUST return [`Error::NotFound`](crate::Error::NotFound) for an unknown
///   id, and [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`LastAdmin`](crate::ConflictKind::LastAdmin) (see [`Error::last_admin`](crate::Error::last_admin))
///   when the change would leave no enabled admin, changing nothing. The rule MUST hold under
///   concurrency: of changes made at the same time, only as many commit as leave at least one
///   enabled admin (two admins demoting each other at once: one of them wins). A store MAY
///   refuse a change that lost a race with another one as
///   [`StaleVersion`](crate::ConflictKind::StaleVersion) after retrying.
/// - `set_password_hash` MUST return [`Error::NotFound`](crate::Error::NotFound) for an
///   unknown id.
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

    /// One page of the users that pass `filter`, ordered by email; the cursor is made by the
    /// store (the email of the last user of the page).
    async fn users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<UserRecord>>;

    /// Whether some user is an admin and not disabled.
    async fn active_admin_exists(&self) -> Result<bool>;

    /// Makes `change` to the user with `id` under the last-admin rule (see the errors above)
    /// and returns the user as stored after it. A change to what the user already is, is
    /// not an error and changes nothing.
    async fn change_access(&self, id: &UserId, change: AccessChange) -> Result<UserRecord>;

    /// Replaces the password hash of the user with `id`.
    async fn set_password_hash(&self, id: &UserId, hash: &PasswordHash) -> Result<()>;

    /// Removes every session of `user` except the one of `keep`; returns how many.
    async fn delete_sessions_of(&self, user: &UserId, keep: Option<TokenHash>) -> Result<u64>;
}

/// A shared user store picked at run time.
pub type DynUserStore = dyn UserStore;

/// The department catalog.
///
/// # Errors
///
/// - `create` MUST return [`Error::Conflict`](crate::Error::Conflict) of kind
///   [`Duplicate`](crate::ConflictKind::Duplicate) when the name is taken.
/// - `update_department` MUST return [`Error::NotFound`](crate::Error::NotFound) when there
///   is no department of that name, and create nothing.
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

    /// Replaces the contact address of the department of the same name.
    async fn update_department(&self, department: &Department) -> Result<()>;
}

/// A shared department store picked at run time.
pub type DynDepartmentStore = dyn DepartmentStore;
