//! Limiting failed logins: growing lockouts per account, a far higher limit per client
//! address.
//!
//! The counts live in the [`LoginAttemptStore`](crate::ports::LoginAttemptStore) of the
//! storage, not in this process: behind a load balancer every instance sees the failures made
//! through the others, so N instances give an attacker no more attempts than one, and a
//! lockout holds whichever instance the next attempt reaches.
//!
//! The two limits answer two threats. Guessing one account's password is slowed by the
//! account's lockouts, which do not care where the guesses come from. Trying a few passwords
//! on many accounts from one place is stopped by the address limit, set high enough that a
//! campus or office behind one NAT address never reaches it through its users' typos; so one
//! person's failures never lock out another account from the same address.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::ports::{DynLoginAttemptStore, FailureWindow, LoginKey};
use crate::{Error, Result};

/// How failed logins are limited. The defaults are the ones docs/API.md states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures an account may make before its first lockout (5).
    pub account_free_failures: u32,
    /// The lockout after the account's last free failure (30 s); each further failure
    /// doubles it.
    pub account_lockout_base: Duration,
    /// The longest lockout (15 min).
    pub account_lockout_max: Duration,
    /// How long an account's failures are remembered, from its first one, unless a
    /// successful login forgets them sooner (24 h).
    pub account_window: Duration,
    /// Failures, on any accounts, allowed from one client address per `client_window` (300).
    pub client_max_failures: u32,
    /// The window failures per client address are counted in (15 min).
    pub client_window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            account_free_failures: 5,
            account_lockout_base: Duration::from_secs(30),
            account_lockout_max: Duration::from_secs(15 * 60),
            account_window: Duration::from_secs(24 * 3600),
            client_max_failures: 300,
            client_window: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginPolicy {
    /// How long an account that has made `failures` failures is locked after its latest one:
    /// `None` while it has free failures left.
    pub fn lockout(&self, failures: u64) -> Option<Duration> {
        let beyond = failures.checked_sub(u64::from(self.account_free_failures.max(1)))?;
        // Past 2^20 the doubling is far beyond any sensible cap; stop before it overflows.
        let factor = 1u32 << beyond.min(20);
        Some(
            self.account_lockout_base
                .saturating_mul(factor)
                .min(self.account_lockout_max),
        )
    }

    /// When an account whose failures are `window` may try again, if it is locked at `now`.
    fn account_locked_until(&self, window: &FailureWindow, now: Timestamp) -> Option<Timestamp> {
        let until = window.last_failed_at.plus(self.lockout(window.failures)?);
        (now < until).then_some(until)
    }
}

/// Applies a [`LoginPolicy`] over the shared counts.
pub(crate) struct LoginThrottle {
    store: Arc<DynLoginAttemptStore>,
    policy: LoginPolicy,
}

fn refused_until(until: Timestamp, now: Timestamp) -> Error {
    Error::RateLimited {
        retry_after_s: until.since(now).as_secs_f64().ceil().max(1.0) as u64,
    }
}

impl LoginThrottle {
    pub(crate) fn new(store: Arc<DynLoginAttemptStore>, policy: LoginPolicy) -> Self {
        Self { store, policy }
    }

    /// Refuses with [`Error::RateLimited`] when `account` is locked, or `client` has used up
    /// its failures in its current window, telling how long until the attempt may be made.
    ///
    /// # Errors
    ///
    /// A store that cannot tell the counts fails the check with its
    /// [`Error::Unavailable`]: the attempt is refused, never let through uncounted,
    /// since letting it through would lift the limit for as long as the store is down.
    pub(crate) async fn check(
        &self,
        account: &LoginKey,
        client: Option<&LoginKey>,
        now: Timestamp,
    ) -> Result<()> {
        let policy = &self.policy;
        if let Some(open) = self
            .store
            .open_window(account, now, policy.account_window)
            .await?
            && let Some(until) = policy.account_locked_until(&open, now)
        {
            return Err(refused_until(until, now));
        }
        if let Some(client) = client
            && let Some(open) = self
                .store
                .open_window(client, now, policy.client_window)
                .await?
            && open.failures >= u64::from(policy.client_max_failures)
        {
            return Err(refused_until(open.ends_at(policy.client_window), now));
        }
        Ok(())
    }

    /// Counts one failure against `account` and `client`.
    ///
    /// # Errors
    ///
    /// The store's [`Error::Unavailable`] when a failure could not be counted: the caller
    /// gets that rather than a plain "wrong password", so that a failed attempt the limit
    /// did not see shows as a failure of the service.
    pub(crate) async fn record_failure(
        &self,
        account: &LoginKey,
        client: Option<&LoginKey>,
        now: Timestamp,
    ) -> Result<()> {
        self.store
            .count_failure(account, now, self.policy.account_window)
            .await?;
        if let Some(client) = client {
            self.store
                .count_failure(client, now, self.policy.client_window)
                .await?;
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
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn lockouts_start_after_the_free_failures_and_double_up_to_the_cap() {
        let policy = LoginPolicy::default();
        let lockouts: Vec<_> = (0..=12).map(|f| policy.lockout(f)).collect();
        assert_eq!(lockouts[..5], [None; 5], "five free failures");
        assert_eq!(
            lockouts[5..],
            [
                Some(S(30)),
                Some(S(60)),
                Some(S(120)),
                Some(S(240)),
                Some(S(480)),
                Some(S(900)),
                Some(S(900)),
                Some(S(900)),
            ]
        );
        assert_eq!(policy.lockout(u64::MAX), Some(S(900)), "no overflow");
    }

    #[test]
    fn an_account_is_locked_from_its_last_failure_for_its_lockout() {
        let policy = LoginPolicy::default();
        let first = Timestamp::from_unix_millis(1_000_000);
        let last = first.plus(S(100));
        let window = |failures| FailureWindow {
            failures,
            started_at: first,
            last_failed_at: last,
        };
        assert_eq!(policy.account_locked_until(&window(4), last), None);
        assert_eq!(
            policy.account_locked_until(&window(5), last),
            Some(last.plus(S(30)))
        );
        assert_eq!(
            policy.account_locked_until(&window(6), last.plus(S(59))),
            Some(last.plus(S(60)))
        );
        assert_eq!(
            policy.account_locked_until(&window(6), last.plus(S(60))),
            None,
            "the lockout ends at last failure + lockout"
        );
    }
}
