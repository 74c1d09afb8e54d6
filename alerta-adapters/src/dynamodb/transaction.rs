//! `TransactWriteItems`: conditional puts, and what a cancelled transaction says about which
//! condition failed.

use alerta_core::Result;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

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
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
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

/// How a transaction ended when it did not commit: for each item, in order, whether its
/// condition failed.
#[derive(Debug)]
pub(super) struct Cancelled {
    pub(super) failed_conditions: Vec<bool>,
}

impl Cancelled {
    /// Whether the condition of item `n` failed.
    pub(super) fn failed(&self, n: usize) -> bool {
        self.failed_conditions.get(n).copied().unwrap_or(false)
    }
}

/// Writes `items` in one transaction. `Ok(Err(_))` when DynamoDB cancelled it because a
/// condition failed; conflicts with concurrent transactions are retried first.
pub(super) async fn write(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<std::result::Result<(), Cancelled>> {
    if items.len() > MAX_ITEMS {
        return Err(error::other(format!(
            "a transaction of {} items, more than DynamoDB's {MAX_ITEMS}",
            items.len()
        )));
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let error = match sent {
            Ok(_) => return Ok(Ok(())),
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
        let Some(reasons) = reasons else {
            return Err(request("transact_write_items", error));
        };
        let failed_conditions: Vec<bool> = reasons
            .iter()
            .map(|code| code == "ConditionalCheckFailed")
            .collect();
        if failed_conditions.iter().any(|f| *f) {
            return Ok(Err(Cancelled { failed_conditions }));
        }
        let only_conflicts = reasons
            .iter()
            .all(|code| code == "None" || code == "TransactionConflict");
        if !only_conflicts || attempt >= CONFLICT_ATTEMPTS {
            return Err(request("transact_write_items", error));
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}
