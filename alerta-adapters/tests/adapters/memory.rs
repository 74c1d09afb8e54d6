//! The memory adapters against the conformance suites.

use std::sync::Arc;

use alerta_adapters::memory::{MemoryBlobStore, MemoryStore};
use alerta_core::conformance;
use alerta_core::ports::{DynBlobStore, Storage};

async fn fresh() -> Storage {
    Storage::from_backend(Arc::new(MemoryStore::new()))
}

#[tokio::test]
async fn memory_incident_store_conforms() {
    conformance::incident_store(&fresh).await;
}

#[tokio::test]
async fn memory_alert_store_conforms() {
    conformance::alert_store(&fresh).await;
}

#[tokio::test]
async fn memory_alert_retention_conforms() {
    conformance::alert_retention(&fresh).await;
}

#[tokio::test]
async fn memory_stream_log_conforms() {
    conformance::stream_log(&fresh).await;
}

#[tokio::test]
async fn memory_setting_store_conforms() {
    conformance::setting_store(&fresh).await;
}

#[tokio::test]
async fn memory_silence_store_conforms() {
    conformance::silence_store(&fresh).await;
}

#[tokio::test]
async fn memory_user_store_conforms() {
    conformance::user_store(&fresh).await;
}

#[tokio::test]
async fn memory_outbox_conforms() {
    conformance::mail_outbox(&fresh).await;
}

#[tokio::test]
async fn memory_idempotency_store_conforms() {
    conformance::idempotency_store(&fresh).await;
}

#[tokio::test]
async fn memory_login_attempt_store_conforms() {
    conformance::login_attempt_store(&fresh).await;
}

#[tokio::test]
async fn memory_blob_store_conforms_through_a_trait_object() {
    let store: Arc<DynBlobStore> = Arc::new(MemoryBlobStore::new());
    conformance::blobs(store.as_ref()).await;
}

#[tokio::test]
async fn memory_report_ledger_conforms() {
    conformance::report_ledger(&fresh).await;
}
