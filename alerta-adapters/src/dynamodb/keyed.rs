//! One item by its key: the strongly consistent read and the put that only makes an item,
//! which most ports are built on.

use alerta_core::Result;

use super::DynamoStore;
use super::error::{conditional, request};
use super::item::{Item, s};

/// The key of an item: each key attribute with its string value.
pub(super) fn key(attributes: &[(&str, &str)]) -> Item {
    attributes
        .iter()
        .map(|(name, value)| ((*name).to_owned(), s(*value)))
        .collect()
}

impl DynamoStore {
    /// The item at `key` in `table`, read strongly consistent, so a read by key never lags
    /// the write before it.
    pub(super) async fn get(&self, table: &str, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| request("get_item", e))?;
        Ok(out.item)
    }

    /// Puts `item` into `table` unless an item with its key is there already: `true` when it
    /// was written. `partition_key` is the table's partition key attribute, which every item
    /// holds.
    pub(super) async fn put_if_absent(
        &self,
        table: &str,
        item: Item,
        partition_key: &str,
    ) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", partition_key)
            .send()
            .await;
        Ok(conditional("put_item", result)?.is_some())
    }
}
