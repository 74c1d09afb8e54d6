//! Named values in memory.

use alerta_core::Result;
use alerta_core::ports::SettingStore;
use async_trait::async_trait;

use super::MemoryStore;

#[async_trait]
impl SettingStore for MemoryStore {
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        Ok(settings
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned())
            .clone())
    }
}
