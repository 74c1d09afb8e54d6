//! Shared test suites for storage adapters.
//!
//! Every storage adapter runs the same checks: a new adapter is done when it passes them.
//! Each check takes a fresh, empty backend from the caller's factory:
//!
//! ```ignore
//! #[tokio::test]
//! async fn memory_store_conforms() {
//!     alerta_core::conformance::storage(|| async {
//!         Storage::from_backend(Arc::new(MemoryStore::new()))
//!     })
//!     .await;
//! }
//! ```
//!
//! The checks panic with a message naming what failed, like any test assertion.

mod alerts;
mod blobs;
mod fixtures;
mod idempotency;
mod incidents;
mod logins;
mod outbox;
mod reports;
mod stream;
mod users;

use std::future::Future;

use crate::ports::{DynBlobStore, DynReportLedger, Storage};

pub use fixtures::Fixtures;

/// Runs every storage check, each on a fresh backend from `new_storage`.
pub async fn storage<F, Fut>(new_storage: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    incident_store(&new_storage).await;
    alert_store(&new_storage).await;
    user_store(&new_storage).await;
    mail_outbox(&new_storage).await;
    idempotency_store(&new_storage).await;
    stream_log(&new_storage).await;
    login_attempt_store(&new_storage).await;
}

/// The stream log checks: positions from 1, gap-free under concurrent writers, in commit
/// order, and retention.
pub async fn stream_log<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    stream::an_empty_log_starts_at_one(&new_storage().await).await;
    stream::concurrent_writers_leave_no_hole(&new_storage().await).await;
    stream::trimming_keeps_the_head_and_counting(&new_storage().await).await;
}

/// The incident store checks.
pub async fn incident_store<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    incidents::round_trip(&new_storage().await).await;
    incidents::duplicate_create_is_refused(&new_storage().await).await;
    incidents::stale_version_writes_nothing(&new_storage().await).await;
    incidents::change_is_atomic(&new_storage().await).await;
    incidents::every_filter(&new_storage().await).await;
    incidents::pagination(&new_storage().await).await;
    incidents::events_since(&new_storage().await).await;
    incidents::counts(&new_storage().await).await;
    incidents::concurrent_updates_one_wins(&new_storage().await).await;
}

/// The alert store checks.
pub async fn alert_store<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    alerts::round_trip_and_mail(&new_storage().await).await;
    alerts::batch_is_atomic(&new_storage().await).await;
    alerts::every_filter_and_pagination(&new_storage().await).await;
    alerts::after_returns_exactly_later(&new_storage().await).await;
}

/// The user, session and department store checks.
pub async fn user_store<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    users::users_round_trip(&new_storage().await).await;
    users::sessions(&new_storage().await).await;
    users::departments(&new_storage().await).await;
}

/// The mail outbox checks.
pub async fn mail_outbox<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    outbox::claim_leases_and_expires(&new_storage().await).await;
    outbox::sent_failed_dead_requeue(&new_storage().await).await;
    outbox::retry_ordering(&new_storage().await).await;
    outbox::concurrent_claims_do_not_overlap(&new_storage().await).await;
    outbox::list_by_state(&new_storage().await).await;
}

/// The idempotency store checks.
pub async fn idempotency_store<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    idempotency::first_record_wins(&new_storage().await).await;
}

/// The failed-login counter checks: counting per key, windows that end and start over,
/// clearing, and concurrent failures of one key each counted once.
pub async fn login_attempt_store<F, Fut>(new_storage: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    logins::failures_count_per_key_in_one_window(&new_storage().await).await;
    logins::a_window_ends_after_its_length_and_the_next_failure_starts_one(&new_storage().await)
        .await;
    logins::clearing_forgets_one_key(&new_storage().await).await;
    logins::concurrent_failures_are_each_counted_once(&new_storage().await).await;
}

/// The blob store checks, on an empty store.
pub async fn blobs(store: &DynBlobStore) {
    blobs::round_trip_overwrite_missing(store).await;
}

/// The report ledger checks. `new_backend` gives a fresh backend as its storage ports and its
/// ledger (the same backend: completing an assignment writes outbox rows).
pub async fn report_ledger<F, Fut>(new_backend: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Storage, std::sync::Arc<DynReportLedger>)>,
{
    let (storage, ledger) = new_backend().await;
    reports::claims_leases_and_completion(&storage, ledger.as_ref()).await;
    let (_, ledger) = new_backend().await;
    reports::concurrent_claims_one_wins(ledger.as_ref()).await;
}
