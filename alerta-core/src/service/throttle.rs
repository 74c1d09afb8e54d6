//! Counting failed logins, per account and per client address.
//!
//! The counts live in the [`LoginAttemptStore`](crate::ports::LoginAttemptStore) of the
//! storage, not in this process: behind a load balancer every instance sees the failures made
//! through the others, so N instances give an attacker no more attempts than one, and a
//! lockout holds whichever instance the next attempt reaches.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::ports::{DynLoginAttemptStore, LoginKey};
use crate::{Error, Result};

/// Fixed-window counters of failed logins: `max_failures` per key per `window`, the window
/// starting at a key's first failure.
pub(crate) struct LoginThrottle {
    store: Arc<DynLoginAttemptStore>,
    max_failures: u32,
    window: Duration,
}

impl LoginThrottle {
    pub(crate) fn new(
        store: Arc<DynLoginAttemptStore>,
        max_failures: u32,
        window: Duration,
    ) -> Self {
        Self {
            store,
            max_failures,
            window,
        }
    }

    /// Refuses with [`Error::RateLimited`] when any of `keys` has used up its failures in its
    /// current window, telling how long until that window ends.
    ///
    /// # Errors
    ///
    /// A store that cannot tell the counts fails the check with its
    /// [`Error::Unavailable`]: the attempt is refused, never let through uncounted,
    /// since letting it through would lift the limit for as long as the store is down.
    pub(crate) async fn check(&self, keys: &[LoginKey], now: Timestamp) -> Result<()> {
        for key in keys {
            let Some(open) = self.store.open_window(key, now, self.window).await? else {
                continue;
            };
            if open.failures >= u64::from(self.max_failures) {
                return Err(Error::RateLimited {
                    retry_after_s: open.ends_at(self.window).since(now).as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    /// Counts one failure against each of `keys`.
    ///
    /// # Errors
    ///
    /// The store's [`Error::Unavailable`] when a failure could not be counted: the caller
    /// gets that rather than a plain "wrong password", so that a failed attempt the limit
    /// did not see shows as a failure of the service.
    pub(crate) async fn record_failure(&self, keys: &[LoginKey], now: Timestamp) -> Result<()> {
        for key in keys {
            self.store.count_failure(key, now, self.window).await?;
        }
        Ok(())
    }

    /// Forgets the failures of `key` after a successful login.
    ///
    /// A store failure is logged and otherwise ignored: the password was right, and the
    /// worst a leftover count does is lock the account a little earlier until its window
    /// ends.
    pub(crate) async fn clear(&self, key: &LoginKey) {
        if let Err(error) = self.store.clear_failures(key).await {
            tracing::warn!(%error, "the failed logins of an account could not be cleared");
        }
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}
