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
//!
//! A backend states what it can do in one call ([`StorageLimits`](crate::ports::StorageLimits),
//! carried by [`Storage::limits`](crate::ports::Storage::limits)), and the checks adapt to
//! it rather than special-case a backend, as `object_store`'s integration tests take a
//! store's capabilities: an alert batch is checked atomic at the size the backend states,
//! larger ones are checked to end whole, and a change of the largest size stated is checked
//! to be stored and one item more to be refused. The checks list right after writing, so a
//! backend whose lists lag writes (`consistent_lists: false`) runs them on a stand-in that
//! shows writes at once, as moto does for DynamoDB.

mod alert_groups;
mod alert_lifecycle;
mod alert_retention;
mod alerts;
mod blobs;
mod fixtures;
mod idempotency;
mod incidents;
mod logins;
mod mail_causes;
mod outbox;
mod reports;
mod settings;
mod silences;
mod stream;
mod users;

use std::future::Future;

use crate::ports::{DynBlobStore, Storage};

pub use fixtures::Fixtures;

/// Where the checks get a fresh, empty backend from: any `Fn() -> impl Future<Output =
/// Storage>`, such as `|| async { Storage::from_backend(Arc::new(MemoryStore::new())) }`.
pub trait NewStorage {
    /// The storage ports of a fresh, empty backend.
    fn fresh(&self) -> impl Future<Output = Storage>;
}

impl<F, Fut> NewStorage for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = Storage>,
{
    fn fresh(&self) -> impl Future<Output = Storage> {
        self()
    }
}

/// Declares a suite: a `pub async fn` that runs each of its checks, in order, on a fresh
/// backend of its own.
macro_rules! suite {
    ($(#[$doc:meta])* $name:ident { $($check:path),+ $(,)? }) => {
        $(#[$doc])*
        pub async fn $name(new_storage: &impl NewStorage) {
            $($check(&new_storage.fresh().await).await;)+
        }
    };
}

/// Runs every storage check, each on a fresh backend from `new_storage`.
pub async fn storage(new_storage: impl NewStorage) {
    incident_store(&new_storage).await;
    alert_store(&new_storage).await;
    alert_retention(&new_storage).await;
    user_store(&new_storage).await;
    mail_outbox(&new_storage).await;
    idempotency_store(&new_storage).await;
    stream_log(&new_storage).await;
    login_attempt_store(&new_storage).await;
    report_ledger(&new_storage).await;
    silence_store(&new_storage).await;
    setting_store(&new_storage).await;
}

suite! {
    /// The silence store checks: round trips, duplicates, the state filter and paging, expiry,
    /// racing expiries and creates, and the `silenced` flag of stored alerts.
    silence_store {
        silences::round_trip_and_duplicates,
        silences::lists_filter_by_state_newest_first_in_pages,
        silences::expiry_ends_now_once,
        silences::racing_expiries_and_creates,
        silences::racing_inserts_of_one_id_one_wins,
        silences::alerts_keep_their_silenced_flag,
    }
}

suite! {
    /// The setting store checks: the first value stays, also under racing writers.
    setting_store {
        settings::the_first_value_stays,
        settings::racing_writers_all_get_the_first_value,
    }
}

suite! {
    /// The stream log checks: positions from 1, gap-free under concurrent writers, in commit
    /// order, and retention.
    stream_log {
        stream::an_empty_log_starts_at_one,
        stream::incident_messages_keep_their_reporter,
        stream::concurrent_writers_leave_no_hole,
        stream::trimming_keeps_the_head_and_counting,
    }
}

suite! {
    /// The incident store checks.
    incident_store {
        incidents::round_trip,
        incidents::duplicate_create_is_refused,
        incidents::stale_version_writes_nothing,
        incidents::change_is_atomic,
        incidents::the_largest_change_stated_is_stored,
        incidents::every_filter,
        incidents::pagination,
        incidents::events_since,
        incidents::counts,
        incidents::concurrent_updates_one_wins,
        incidents::one_incident_per_alert,
        incidents::incidents_of_many_alerts,
        incidents::an_incident_needs_its_alert_stored,
    }
}

suite! {
    /// The alert store checks.
    alert_store {
        alerts::round_trip_and_mail,
        alerts::batch_is_atomic,
        alerts::batches_beyond_the_atomic_size_end_whole,
        alerts::every_filter_and_pagination,
        alerts::after_returns_exactly_later,
        alert_lifecycle::transitions_are_stored_with_history_and_messages,
        alert_lifecycle::a_stale_or_unknown_transition_writes_nothing,
        alert_lifecycle::lists_filter_by_status,
        alert_lifecycle::racing_transitions_one_wins,
        mail_causes::a_transition_stores_its_mail_with_it,
        mail_causes::racing_transitions_store_one_mail,
        alert_groups::occurrences_fold_into_their_group,
        alert_groups::a_resolved_group_reopens,
        alert_groups::racing_writers_open_one_group,
        alert_groups::folds_race_acknowledgements,
        alert_groups::group_of_finds_a_fingerprints_group,
    }
}

suite! {
    /// The alert retention checks: old resolved groups without an incident go with their
    /// history, occurrences and fingerprint, others stay, the limit holds, concurrent removals
    /// share the work, a removal racing occurrences of the same fingerprint loses none, and one
    /// racing a new incident from the alert leaves no incident naming a removed alert.
    alert_retention {
        alert_retention::only_old_resolved_unlinked_groups_go,
        alert_retention::a_group_with_many_occurrences_goes_whole,
        alert_retention::concurrent_removals_share_the_work,
        alert_retention::a_removal_racing_occurrences_loses_nothing,
        alert_retention::a_removal_racing_an_incident_leaves_no_dangling_link,
    }
}

suite! {
    /// The user, session and department store checks.
    user_store {
        users::users_round_trip,
        users::sessions,
        users::departments,
        users::editing_a_department,
        users::listing_users,
        users::access_changes,
        users::two_admins_demoting_each_other_leave_one,
        users::many_concurrent_demotions_leave_one_admin,
        users::passwords_and_sessions_of_a_user,
    }
}

suite! {
    /// The mail outbox checks.
    mail_outbox {
        outbox::claim_leases_and_expires,
        outbox::sent_failed_dead_requeue,
        outbox::retry_ordering,
        outbox::concurrent_claims_do_not_overlap,
        outbox::list_by_state,
        outbox::rows_waiting_for_the_server_are_released_together,
        outbox::releases_racing_claims_never_hand_a_row_out_twice,
        outbox::settled_rows_age_out_and_pending_ones_stay,
        outbox::backlog_counts_pending_and_dead_rows,
        outbox::many_rows_are_marked_sent_in_one_call,
        mail_causes::rows_of_one_incident_or_alert_are_listed_apart,
        mail_causes::a_cancelled_row_is_settled_and_never_claimed,
    }
}

suite! {
    /// The idempotency store checks: reserve, complete and replay, leases taken over, release,
    /// records that age out, and concurrent claims on one key.
    idempotency_store {
        idempotency::a_key_is_reserved_once_then_completed_and_replayed,
        idempotency::a_reservation_whose_lease_ended_is_taken_over,
        idempotency::a_released_key_is_reserved_again_at_once,
        idempotency::a_record_older_than_its_age_counts_as_absent,
        idempotency::concurrent_claims_reserve_a_key_exactly_once,
    }
}

suite! {
    /// The failed-login counter checks: counting per key, windows that end and start over,
    /// clearing, concurrent failures of one key each counted once, and the latest failure time.
    login_attempt_store {
        logins::failures_count_per_key_in_one_window,
        logins::a_window_ends_after_its_length_and_the_next_failure_starts_one,
        logins::clearing_forgets_one_key,
        logins::concurrent_failures_are_each_counted_once,
        logins::the_latest_failure_time_only_moves_forward,
    }
}

suite! {
    /// The report ledger checks: leases, completion with its mail, and concurrent claims.
    report_ledger {
        reports::claims_leases_and_completion,
        reports::concurrent_claims_one_wins,
    }
}

/// The blob store checks, on an empty store.
pub async fn blobs(store: &DynBlobStore) {
    blobs::round_trip_overwrite_missing(store).await;
}

/// The kind of the conflict `result` holds; any other outcome fails the check.
fn conflict_kind<T: std::fmt::Debug>(result: crate::Result<T>) -> crate::ConflictKind {
    match result {
        Err(crate::Error::Conflict { kind, .. }) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}
