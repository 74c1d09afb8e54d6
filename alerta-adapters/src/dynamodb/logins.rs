//! Failed logins per key: one item per key in `IntentosFallidos`, counted with conditional
//! updates and swept out by the table's TTL (the module docs of [`super`] explain how).

use std::time::Duration;

use alerta_core::Result;
use alerta_core::domain::Timestamp;
use alerta_core::ports::{FailureWindow, LoginAttemptStore, LoginKey};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::error::{conditional, other, request};
use super::item::{Item, Reader, n, s};
use super::{DynamoStore, keyed};

/// How many times a failure goes back to the open window after losing the race to start a
/// new one. Each loss means another instance started a window at about the same moment, in
/// which the next attempt counts; more than a couple of losses in a row mean something else
/// is wrong.
const ATTEMPTS: u32 = 5;

/// The latest start of a window that has ended at `now`: a window is open while its start is
/// after this.
fn ended_by(now: Timestamp, window: Duration) -> i64 {
    let length = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    now.unix_millis().saturating_sub(length)
}

/// Epoch seconds for DynamoDB's TTL, rounded up so the sweeper never removes a window before
/// it ends.
fn ttl_seconds(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(1000) + i64::from(at.unix_millis().rem_euclid(1000) != 0)
}

fn window_from_item(item: &Item) -> Result<FailureWindow> {
    let r = Reader::new(item, "failed-login window");
    let started_at = r.millis("started_at")?;
    Ok(FailureWindow {
        failures: r.number("failures")?,
        started_at,
        // Items counted before the attribute existed have no last failure; their start
        // stands in.
        last_failed_at: r.opt_millis("last_failed_at")?.unwrap_or(started_at),
    })
}

impl DynamoStore {
    /// Adds one failure to the key's window if it is open, moving its latest failure time
    /// forward to `now`; `None` when there is no open window.
    async fn add_to_open_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        ended_by: i64,
    ) -> Result<Option<FailureWindow>> {
        if let Some(counted) = self.add_failure(key, now, ended_by, true).await? {
            return Ok(Some(counted));
        }
        // A failure of a later `now` (another instance's clock) was counted first: count this
        // one and keep the later time. Only that race takes this second request.
        self.add_failure(key, now, ended_by, false).await
    }

    /// One conditional update adding a failure to the open window: with `move_last`, only
    /// where the latest failure is not after `now`, setting it to `now`; without, only where
    /// it is after `now`, leaving it.
    async fn add_failure(
        &self,
        key: &LoginKey,
        now: Timestamp,
        ended_by: i64,
        move_last: bool,
    ) -> Result<Option<FailureWindow>> {
        let (update, condition) = if move_last {
            (
                "ADD #failures :one SET #last = :now",
                "#started > :ended_by AND (attribute_not_exists(#last) OR #last <= :now)",
            )
        } else {
            (
                "ADD #failures :one",
                "#started > :ended_by AND #last > :now",
            )
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.names.login_failures)
            .key("clave", s(key.as_str()))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#failures", "failures")
            .expression_attribute_names("#started", "started_at")
            .expression_attribute_names("#last", "last_failed_at")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now.unix_millis()))
            .expression_attribute_values(":ended_by", n(ended_by))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional("update_item", result)? {
            Some(out) => match out.attributes.as_ref() {
                Some(item) => window_from_item(item).map(Some),
                None => Err(other("update_item returned no attributes")),
            },
            None => Ok(None),
        }
    }

    /// Starts a new window of one failure at `now` if the key has none open; `None` when
    /// another instance started one first.
    async fn start_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
        ended_by: i64,
    ) -> Result<Option<FailureWindow>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.names.login_failures)
            .key("clave", s(key.as_str()))
            .update_expression(
                "SET #failures = :one, #started = :now, #last = :now, #expires = :expires",
            )
            .condition_expression("attribute_not_exists(#started) OR #started <= :ended_by")
            .expression_attribute_names("#failures", "failures")
            .expression_attribute_names("#started", "started_at")
            .expression_attribute_names("#last", "last_failed_at")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now.unix_millis()))
            .expression_attribute_values(":expires", n(ttl_seconds(now.plus(window))))
            .expression_attribute_values(":ended_by", n(ended_by))
            .send()
            .await;
        Ok(conditional("update_item", result)?.map(|_| FailureWindow {
            failures: 1,
            started_at: now,
            last_failed_at: now,
        }))
    }
}

#[async_trait]
impl LoginAttemptStore for DynamoStore {
    async fn count_failure(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<FailureWindow> {
        let ended_by = ended_by(now, window);
        for _ in 0..ATTEMPTS {
            // Failures after the first fall into an open window: one request each.
            if let Some(counted) = self.add_to_open_window(key, now, ended_by).await? {
                return Ok(counted);
            }
            if let Some(started) = self.start_window(key, now, window, ended_by).await? {
                return Ok(started);
            }
        }
        Err(other(format!(
            "a failed login could not be counted after {ATTEMPTS} attempts: the window kept \
             opening and ending under it"
        )))
    }

    async fn open_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<Option<FailureWindow>> {
        let item = self
            .get(
                &self.names.login_failures,
                keyed::key(&[("clave", key.as_str())]),
            )
            .await?;
        let Some(item) = item.as_ref() else {
            return Ok(None);
        };
        // The TTL sweeper runs late, so an ended window may still be there.
        let stored = window_from_item(item)?;
        Ok(stored.is_open(now, window).then_some(stored))
    }

    async fn clear_failures(&self, key: &LoginKey) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.names.login_failures)
            .key("clave", s(key.as_str()))
            .send()
            .await
            .map_err(|e| request("delete_item", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_never_comes_before_the_window_ends() {
        let at = Timestamp::from_unix_millis;
        assert_eq!(ttl_seconds(at(60_000)), 60);
        assert_eq!(ttl_seconds(at(60_001)), 61);
    }

    #[test]
    fn a_window_has_ended_from_its_start_plus_its_length_on() {
        let window = Duration::from_secs(60);
        let now = Timestamp::from_unix_millis(100_000);
        assert_eq!(ended_by(now, window), 40_000);
        assert_eq!(
            ended_by(Timestamp::from_unix_millis(i64::MIN), window),
            i64::MIN
        );
    }
}
