use std::collections::HashMap;
use std::sync::Mutex;

use alerta_core::domain::{Blob, BlobKey};
use alerta_core::ports::BlobStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;

/// Blobs in a map.
#[derive(Debug, Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<BlobKey, Blob>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key stored, sorted.
    pub fn keys(&self) -> Vec<BlobKey> {
        let mut keys: Vec<BlobKey> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<BlobKey, Blob>> {
        self.blobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &BlobKey, content_type: &str, bytes: Vec<u8>) -> Result<()> {
        self.lock().insert(
            key.clone(),
            Blob {
                content_type: content_type.to_owned(),
                bytes,
            },
        );
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob> {
        self.lock().get(key).cloned().ok_or(Error::NotFound("blob"))
    }

    async fn check(&self) -> Result<()> {
        Ok(())
    }
}
