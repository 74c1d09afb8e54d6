//! Named values: one item per name in `Contadores` (`nombre` = `ajuste#<name>`, `valor`),
//! made with `attribute_not_exists` and read back strongly consistent. Counted items have
//! names without `#`, so the two never meet.

use alerta_core::Result;
use alerta_core::ports::SettingStore;
use async_trait::async_trait;

use super::DynamoStore;
use super::error::unreadable;
use super::item::{ItemBuilder, Reader, s};
use super::keyed::key;

const NAME: &str = "nombre";

#[async_trait]
impl SettingStore for DynamoStore {
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let item_name = format!("ajuste#{name}");
        let item = ItemBuilder::new()
            .set(NAME, s(&item_name))
            .set("valor", s(value))
            .build();
        if self.put_if_absent(&self.names.counters, item, NAME).await? {
            return Ok(value.to_owned());
        }
        let stored = self
            .get(&self.names.counters, key(&[(NAME, &item_name)]))
            .await?
            .ok_or_else(|| unreadable("setting", format!("{name} vanished")))?;
        Ok(Reader::new(&stored, "setting").string("valor")?.to_owned())
    }
}
