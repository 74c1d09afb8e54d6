//! Counting failed logins, per account and per client address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::{Error, Result};

/// Fixed-window counters of failed logins.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

impl LoginThrottle {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses when any of `keys` has used up its failures in the current window.
    pub(crate) fn check(&self, keys: &[String], now: Timestamp) -> Result<()> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some((count, start)) = failures.get(key) {
                let ends = start.plus(self.window);
                if *count >= self.max_failures && now < ends {
                    return Err(Error::RateLimited {
                        retry_after_s: ends.since(now).as_secs().max(1),
                    });
                }
            }
        }
        Ok(())
    }

    pub(crate) fn record_failure(&self, keys: &[String], now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, (_, start)| now < start.plus(window));
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((0, now));
            if now >= entry.1.plus(self.window) {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    pub(crate) fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}
