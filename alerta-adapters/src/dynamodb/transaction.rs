//! `TransactWriteItems`: conditional puts and updates, and what a cancelled transaction says
//! about which condition failed.

use alerta_core::{Error, Result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::error::{self, request};
use super::item::Item;
use super::query::backoff;

/// The most items one transaction may hold.
pub(super) const MAX_ITEMS: usize = 100;

/// How often a transaction cancelled only by conflicts with other transactions in flight is
/// tried again. Such a cancellation says nothing about the conditions, so it is retried
/// until a condition decides.
const CONFLICT_ATTEMPTS: u32 = 6;

/// A put of `item` into `table` under `condition`, whose names are `#`-placeholders for
/// the attributes in `names`.
pub(super) fn put(
    table: &str,
    item: Item,
    condition: &str,
    names: &[(&str, &str)],
    values: &[(&str, AttributeValue)],
) -> Result<TransactWriteItem> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (placeholder, name) in names {
        put = put.expression_attribute_names(*placeholder, *name);
    }
    for (placeholder, value) in values {
        put = put.expression_attribute_values(*placeholder, value.clone());
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(error::build)?)
        .build())
}

/// A put of `item` that fails when an item with the key attribute `key` already exists.
pub(super) fn put_new(table: &str, item: Item, key: &str) -> Result<TransactWriteItem> {
    put(
        table,
        item,
        "attribute_not_exists(#key)",
        &[("#key", key)],
        &[],
    )
}

/// An update of the item at `key` in `table`, under `condition` when there is one, with
/// `#`-placeholders for the attributes in `names` and `:`-placeholders for `values`.
pub(super) fn update(
    table: &str,
    key: Item,
    expression: &str,
    condition: Option<&str>,
    names: &[(&str, &str)],
    values: &[(&str, AttributeValue)],
) -> Result<TransactWriteItem> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .set_condition_expression(condition.map(str::to_owned));
    for (placeholder, name) in names {
        update = update.expression_attribute_names(*placeholder, *name);
    }
    for (placeholder, value) in values {
        update = update.expression_attribute_values(*placeholder, value.clone());
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(error::build)?)
        .build())
}

/// A delete of the item at `key` in `table`, under `condition` when there is one, with
/// placeholders as for [`update`].
pub(super) fn delete(
    table: &str,
    key: Item,
    condition: Option<&str>,
    names: &[(&str, &str)],
    values: &[(&str, AttributeValue)],
) -> Result<TransactWriteItem> {
    let mut delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(condition.map(str::to_owned));
    for (placeholder, name) in names {
        delete = delete.expression_attribute_names(*placeholder, *name);
    }
    for (placeholder, value) in values {
        delete = delete.expression_attribute_values(*placeholder, value.clone());
    }
    Ok(TransactWriteItem::builder()
        .delete(delete.build().map_err(error::build)?)
        .build())
}

/// A check that the item at `key` in `table` meets `condition`, writing nothing, with
/// placeholders as for [`update`].
pub(super) fn condition_check(
    table: &str,
    key: Item,
    condition: &str,
    names: &[(&str, &str)],
) -> Result<TransactWriteItem> {
    let mut check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(condition);
    for (placeholder, name) in names {
        check = check.expression_attribute_names(*placeholder, *name);
    }
    Ok(TransactWriteItem::builder()
        .condition_check(check.build().map_err(error::build)?)
        .build())
}

/// How a transaction ended when it did not commit: for each item, in order, the reason
/// DynamoDB gave (`None` for an item that was not the cause).
#[derive(Debug)]
pub(super) struct Cancelled {
    reasons: Vec<String>,
}

impl Cancelled {
    /// Whether the condition of item `n` failed.
    pub(super) fn failed(&self, n: usize) -> bool {
        self.reasons
            .get(n)
            .is_some_and(|code| code == "ConditionalCheckFailed")
    }

    /// Whether some condition failed.
    fn any_failed(&self) -> bool {
        (0..self.reasons.len()).any(|n| self.failed(n))
    }

    /// Whether only transactions in flight on the same items were in the way: the conditions
    /// were not decided, so the same write may be tried again.
    pub(super) fn only_conflicts(&self) -> bool {
        self.reasons
            .iter()
            .all(|code| code == "None" || code == "TransactionConflict")
    }

    /// The part of the cancellation about the first `n` items.
    pub(super) fn first(mut self, n: usize) -> Self {
        self.reasons.truncate(n);
        self
    }
}

/// One `TransactWriteItems` call and what became of it.
pub(super) enum Attempt {
    /// Every item was written.
    Committed,
    /// DynamoDB cancelled the transaction because of a condition or a conflict.
    Cancelled(Cancelled, Error),
}

/// Sends `items` once, with `token` as the idempotency token: a retry of the SDK after an
/// ambiguous failure carries the same token, so DynamoDB does not apply the write twice.
pub(super) async fn attempt(
    client: &Client,
    items: Vec<TransactWriteItem>,
    token: Option<String>,
) -> Result<Attempt> {
    if items.len() > MAX_ITEMS {
        return Err(error::other(format!(
            "a transaction of {} items, more than DynamoDB's {MAX_ITEMS}",
            items.len()
        )));
    }
    let sent = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .set_client_request_token(token)
        .send()
        .await;
    let error = match sent {
        Ok(_) => return Ok(Attempt::Committed),
        Err(error) => error,
    };
    let reasons: Option<Vec<String>> = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    };
    let error = request("transact_write_items", error);
    match reasons {
        Some(reasons) => Ok(Attempt::Cancelled(Cancelled { reasons }, error)),
        None => Err(error),
    }
}

/// Writes `items` in one transaction. `Ok(Err(_))` when DynamoDB cancelled it because a
/// condition failed; conflicts with concurrent transactions are retried first.
pub(super) async fn write(
    client: &Client,
    items: Vec<TransactWriteItem>,
    token: Option<String>,
) -> Result<std::result::Result<(), Cancelled>> {
    let mut attempt_number = 0;
    loop {
        attempt_number += 1;
        let (cancelled, error) = match attempt(client, items.clone(), token.clone()).await? {
            Attempt::Committed => return Ok(Ok(())),
            Attempt::Cancelled(cancelled, error) => (cancelled, error),
        };
        if cancelled.any_failed() {
            return Ok(Err(cancelled));
        }
        if !cancelled.only_conflicts() || attempt_number >= CONFLICT_ATTEMPTS {
            return Err(error);
        }
        tokio::time::sleep(backoff(attempt_number)).await;
    }
}
