//! First results of writes made with an idempotency key.

use alerta_core::Result;
use alerta_core::domain::{IdempotencyKey, IdempotencyRecord};
use alerta_core::ports::IdempotencyStore;
use async_trait::async_trait;

use super::DynamoStore;
use super::error::unreadable;
use super::item::{Item, ItemBuilder, Reader, s, time};
use super::keyed;

fn record_item(record: &IdempotencyRecord) -> Result<Item> {
    // The response is kept as JSON text: it goes back to the client byte for byte, which a
    // map would not guarantee for numbers.
    let response =
        serde_json::to_string(&record.response).map_err(|e| unreadable("idempotency record", e))?;
    Ok(ItemBuilder::new()
        .set("owner", s(&record.owner))
        .set("clave", s(record.key.as_str()))
        .set("operation", s(&record.operation))
        .set("response", s(response))
        .set("created_at", time(record.created_at))
        .build())
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

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>> {
        let key = keyed::key(&[("owner", owner), ("clave", key.as_str())]);
        let item = self.get(&self.names.idempotency, key).await?;
        item.as_ref().map(record_from_item).transpose()
    }

    async fn put_record(&self, record: &IdempotencyRecord) -> Result<bool> {
        let item = record_item(record)?;
        self.put_if_absent(&self.names.idempotency, item, "owner")
            .await
    }
}
