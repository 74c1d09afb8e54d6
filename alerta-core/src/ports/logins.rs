//! Failed logins, counted where every instance of a deployment sees them.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::domain::{Timestamp, hex_sha256};

/// What failed logins are counted against: an account or a client address.
///
/// Made only by the core, so a key is short ASCII whatever a client typed: an account is
/// kept as the SHA-256 of its address (trimmed and lower-cased), never as the address itself,
/// and a client as its IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginKey(String);

impl LoginKey {
    /// The key of the account a login names, as typed: `Ana@Campus.edu ` and
    /// `ana@campus.edu` are one account.
    pub fn account(email: &str) -> Self {
        let address = email.trim().to_lowercase();
        Self(format!("account:{}", hex_sha256(address.as_bytes())))
    }

    /// The key of the address a login came from.
    pub fn client(ip: IpAddr) -> Self {
        Self(format!("client:{ip}"))
    }

    /// The key as stored: at most 72 ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LoginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The failures of one key in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureWindow {
    /// Failures counted in the window, at least 1.
    pub failures: u64,
    /// When the window's first failure was counted.
    pub started_at: Timestamp,
    /// When the window's latest failure was counted (the latest `now` given to
    /// [`count_failure`](LoginAttemptStore::count_failure) in it): what an account's lockout
    /// is measured from.
    pub last_failed_at: Timestamp,
}

impl FailureWindow {
    /// When a window of length `window` that started at `started_at` ends.
    pub fn ends_at(&self, window: Duration) -> Timestamp {
        self.started_at.plus(window)
    }

    /// Whether the window is still open at `now`.
    pub fn is_open(&self, now: Timestamp, window: Duration) -> bool {
        now < self.ends_at(window)
    }
}

/// Counts of failed logins per [`LoginKey`], in fixed windows, shared by every instance that
/// uses the store: a lockout reached through one instance holds on all of them.
///
/// # Contract
///
/// - A key's window starts at the first failure counted while the key has no open window,
///   and lasts `window`: a window that started at `s` is open at `t` while `t < s + window`.
///   Every call for one key passes the same `window` (an account's window may be longer than
///   a client address's); a store may judge any window it holds by the length given with a
///   call.
/// - [`count_failure`](LoginAttemptStore::count_failure) is atomic: when the key's window is
///   open at `now` it adds one failure to it and sets its `last_failed_at` to the later of
///   the one it had and `now`, otherwise it starts a new window at `now` with one failure
///   (`started_at` and `last_failed_at` both `now`); it returns the window as left by this
///   call. Concurrent calls for one key,
///   from one process or from many, are each counted exactly once: none is lost, none starts
///   a second window beside an open one.
/// - [`open_window`](LoginAttemptStore::open_window) returns the key's window when it is
///   open at `now`, and `None` when there is none or it ended, whether or not the store still
///   holds it.
/// - [`clear_failures`](LoginAttemptStore::clear_failures) forgets the key's window at once
///   for every reader; clearing a key without one does nothing.
/// - Keys never share counts.
/// - The store stays bounded: it may drop a window once it ended, and it MUST drop ended
///   windows by itself (when counting, when grown past a size, or by a TTL), so that what it
///   holds is about the keys that failed within one window length, however many distinct
///   keys failed before.
///
/// # Errors
///
/// Backend failures MUST be [`Error::Unavailable`](crate::Error::Unavailable).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginAttemptStore: Send + Sync {
    /// Counts one failed login of `key` at `now`, in its open window or a new one of length
    /// `window`; returns that window.
    async fn count_failure(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<FailureWindow>;

    /// The window of `key` open at `now`, if any.
    async fn open_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<Option<FailureWindow>>;

    /// Forgets the failures of `key`.
    async fn clear_failures(&self, key: &LoginKey) -> Result<()>;
}

/// A shared login attempt store picked at run time.
pub type DynLoginAttemptStore = dyn LoginAttemptStore;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_ignore_case_and_spaces_and_keep_no_address() {
        let key = LoginKey::account(" Ana@Campus.EDU ");
        assert_eq!(key, LoginKey::account("ana@campus.edu"));
        assert!(!key.as_str().contains("campus"));
        assert_ne!(key, LoginKey::account("ana@campus.ed"));
        let long = LoginKey::account(&"x".repeat(10_000));
        assert_eq!(long.as_str().len(), "account:".len() + 64);
    }

    #[test]
    fn client_keys_are_the_address() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(LoginKey::client(ip).as_str(), "client:2001:db8::1");
        assert_ne!(
            LoginKey::client(ip).as_str(),
            LoginKey::account("2001:db8::1").as_str()
        );
    }
}
