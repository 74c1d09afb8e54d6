//! Idempotency keys in `Idempotencia`: one item per owner and key, first a reservation
//! (`holder`, `lease_until`), then the first result (`response`), each written under a
//! condition so that one claim wins; the table's TTL (`expires_at`) drops what aged out.

use alerta_core::Result;
use alerta_core::domain::{
    IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation, Timestamp,
};
use alerta_core::ports::IdempotencyStore;
use async_trait::async_trait;

use super::DynamoStore;
use super::error::{conditional, other, unreadable};
use super::item::{Item, ItemBuilder, Reader, n, s, time};
use super::keyed;

/// How many times a claim reads the item and tries again when the item changed between its
/// conditional write and its read (completed, released or aged out in between).
const ATTEMPTS: u32 = 5;

/// Epoch seconds for DynamoDB's TTL, rounded up so the sweeper never removes an item before
/// it is due.
fn ttl_seconds(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(1000) + i64::from(at.unix_millis().rem_euclid(1000) != 0)
}

fn record_from_item(item: &Item) -> Result<IdempotencyRecord> {
    let r = Reader::new(item, "idempotency record");
    Ok(IdempotencyRecord {
        owner: r.string("owner")?.to_owned(),
        key: r.parsed("clave", IdempotencyKey::parse)?,
        operation: r.string("operation")?.to_owned(),
        response: serde_json::from_str(r.string("response")?)
            .map_err(|e| unreadable("idempotency record", e))?,
        created_at: r.time("created_at")?,
    })
}

impl DynamoStore {
    /// Writes the claim's reservation where the key is free; `false` when it is not.
    async fn try_reserve(&self, claim: &IdempotencyClaim) -> Result<bool> {
        let aged_out_by = claim
            .now
            .unix_millis()
            .saturating_sub(i64::try_from(claim.max_age.as_millis()).unwrap_or(i64::MAX));
        let lease_until = claim.lease_until();
        let item = ItemBuilder::new()
            .set("owner", s(&claim.owner))
            .set("clave", s(claim.key.as_str()))
            .set("operation", s(&claim.operation))
            .set("holder", s(&claim.holder))
            .set("lease_until", n(lease_until.unix_millis()))
            .set("created_ms", n(claim.now.unix_millis()))
            .set(
                "expires_at",
                n(ttl_seconds(lease_until.plus(claim.max_age))),
            )
            .build();
        let result = self
            .client
            .put_item()
            .table_name(&self.names.idempotency)
            .set_item(Some(item))
            // A record written before records carried `created_ms` ages by its `created_at`,
            // a fixed-width RFC 3339 time that sorts as it reads.
            .condition_expression(
                "attribute_not_exists(#owner) \
                 OR (attribute_exists(#holder) AND #lease <= :now) \
                 OR (attribute_exists(#response) AND #created <= :aged_out_by) \
                 OR (attribute_exists(#response) AND attribute_not_exists(#created) \
                     AND #created_at <= :aged_out_at)",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#response", "response")
            .expression_attribute_names("#created", "created_ms")
            .expression_attribute_names("#created_at", "created_at")
            .expression_attribute_values(":now", n(claim.now.unix_millis()))
            .expression_attribute_values(":aged_out_by", n(aged_out_by))
            .expression_attribute_values(
                ":aged_out_at",
                time(Timestamp::from_unix_millis(aged_out_by)),
            )
            .send()
            .await;
        Ok(conditional("put_item", result)?.is_some())
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn reserve(&self, claim: &IdempotencyClaim) -> Result<Reservation> {
        for _ in 0..ATTEMPTS {
            if self.try_reserve(claim).await? {
                return Ok(Reservation::Reserved);
            }
            let key = keyed::key(&[
                ("owner", claim.owner.as_str()),
                ("clave", claim.key.as_str()),
            ]);
            let Some(item) = self.get(&self.names.idempotency, key).await? else {
                continue;
            };
            let r = Reader::new(&item, "idempotency item");
            if item.contains_key("response") {
                let created = match r.opt_number::<i64>("created_ms")? {
                    Some(millis) => Some(Timestamp::from_unix_millis(millis)),
                    None => r.opt_time("created_at")?,
                };
                let aged_out = created.is_some_and(|at| at.plus(claim.max_age) <= claim.now);
                if !aged_out {
                    return Ok(Reservation::Completed(record_from_item(&item)?));
                }
            } else {
                let lease_until = r.millis("lease_until")?;
                if lease_until > claim.now {
                    return Ok(Reservation::Pending {
                        operation: r.string("operation")?.to_owned(),
                        lease_until,
                    });
                }
            }
        }
        Err(other(format!(
            "an idempotency key could not be reserved after {ATTEMPTS} attempts: it kept \
             changing under the claim"
        )))
    }

    async fn complete(&self, record: &IdempotencyRecord, holder: &str) -> Result<bool> {
        // The response is kept as JSON text: it goes back to the client byte for byte, which
        // a map would not guarantee for numbers.
        let response = serde_json::to_string(&record.response)
            .map_err(|e| unreadable("idempotency record", e))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.names.idempotency)
            .key("owner", s(&record.owner))
            .key("clave", s(record.key.as_str()))
            .update_expression(
                "SET #response = :response, #operation = :operation, #created_at = :created_at, \
                 #created = :created REMOVE #holder, #lease",
            )
            .condition_expression("#holder = :holder AND attribute_not_exists(#response)")
            .expression_attribute_names("#response", "response")
            .expression_attribute_names("#operation", "operation")
            .expression_attribute_names("#created_at", "created_at")
            .expression_attribute_names("#created", "created_ms")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":response", s(response))
            .expression_attribute_values(":operation", s(&record.operation))
            .expression_attribute_values(":created_at", time(record.created_at))
            .expression_attribute_values(":created", n(record.created_at.unix_millis()))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        Ok(conditional("update_item", result)?.is_some())
    }

    async fn release(&self, owner: &str, key: &IdempotencyKey, holder: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.names.idempotency)
            .key("owner", s(owner))
            .key("clave", s(key.as_str()))
            .condition_expression("#holder = :holder AND attribute_not_exists(#response)")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        conditional("delete_item", result)?;
        Ok(())
    }

    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>> {
        let key = keyed::key(&[("owner", owner), ("clave", key.as_str())]);
        let item = self.get(&self.names.idempotency, key).await?;
        item.as_ref()
            .filter(|item| item.contains_key("response"))
            .map(record_from_item)
            .transpose()
    }
}
