//! Checks of [`IdempotencyStore`](crate::ports::IdempotencyStore).

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use super::Fixtures;
use crate::domain::{IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation, Timestamp};
use crate::ports::Storage;

const LEASE: Duration = Duration::from_secs(60);
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

fn claim(owner: &str, key: &str, holder: &str, now: Timestamp) -> IdempotencyClaim {
    IdempotencyClaim {
        owner: owner.into(),
        key: IdempotencyKey::parse(key).expect("key"),
        operation: "incident.create".into(),
        holder: holder.into(),
        now,
        lease: LEASE,
        max_age: MAX_AGE,
    }
}

fn record_of(
    claim: &IdempotencyClaim,
    response: serde_json::Value,
    at: Timestamp,
) -> IdempotencyRecord {
    IdempotencyRecord {
        owner: claim.owner.clone(),
        key: claim.key.clone(),
        operation: claim.operation.clone(),
        response,
        created_at: at,
    }
}

fn pending_until(claim: &IdempotencyClaim) -> Reservation {
    Reservation::Pending {
        operation: claim.operation.clone(),
        lease_until: claim.lease_until(),
    }
}

pub(super) async fn a_key_is_reserved_once_then_completed_and_replayed(store: &Storage) {
    let ids = &store.idempotency;
    let now = Fixtures::new().tick();
    let first = claim("user-a", "clave-1", "h1", now);
    assert_eq!(ids.record("user-a", &first.key).await.expect("get"), None);
    assert_eq!(
        ids.reserve(&first).await.expect("reserve"),
        Reservation::Reserved
    );
    assert_eq!(
        ids.record("user-a", &first.key).await.expect("get"),
        None,
        "a reservation is not a record"
    );
    let second = claim("user-a", "clave-1", "h2", now.plus(Duration::from_secs(1)));
    assert_eq!(
        ids.reserve(&second).await.expect("reserve"),
        pending_until(&first),
        "while the first holds the key, a second waits for it"
    );
    let other_owner = claim("user-b", "clave-1", "h3", now);
    assert_eq!(
        ids.reserve(&other_owner).await.expect("reserve"),
        Reservation::Reserved,
        "keys are per owner"
    );
    let record = record_of(
        &first,
        json!({"incident_id": "X", "n": [1, 2, 3], "texto": "ñ «»"}),
        now.plus(Duration::from_secs(2)),
    );
    assert!(
        !ids.complete(&record, "h2").await.expect("complete"),
        "only the holder completes"
    );
    assert!(ids.complete(&record, "h1").await.expect("complete"));
    assert!(
        !ids.complete(&record, "h1").await.expect("complete"),
        "a completed key is no longer reserved"
    );
    assert_eq!(
        ids.reserve(&second).await.expect("reserve"),
        Reservation::Completed(record.clone()),
        "a repeat gets the first result"
    );
    assert_eq!(
        ids.record("user-a", &first.key).await.expect("get"),
        Some(record)
    );
    assert_eq!(
        ids.record("user-b", &first.key).await.expect("get"),
        None,
        "the other owner's key is still only reserved"
    );
}

pub(super) async fn a_reservation_whose_lease_ended_is_taken_over(store: &Storage) {
    let ids = &store.idempotency;
    let now = Fixtures::new().tick();
    let crashed = claim("user-a", "clave-2", "crashed", now);
    assert_eq!(
        ids.reserve(&crashed).await.expect("reserve"),
        Reservation::Reserved
    );
    let just_before = Timestamp::from_unix_millis(crashed.lease_until().unix_millis() - 1);
    assert_eq!(
        ids.reserve(&claim("user-a", "clave-2", "early", just_before))
            .await
            .expect("reserve"),
        pending_until(&crashed),
        "a millisecond before its end the lease holds"
    );
    let retry = claim("user-a", "clave-2", "retry", crashed.lease_until());
    assert_eq!(
        ids.reserve(&retry).await.expect("reserve"),
        Reservation::Reserved,
        "the retry takes the key over once the lease ended"
    );
    assert_eq!(
        ids.reserve(&claim("user-a", "clave-2", "third", crashed.lease_until()))
            .await
            .expect("reserve"),
        pending_until(&retry),
        "under the new holder's lease"
    );
    let late = record_of(&crashed, json!({"de": "crashed"}), retry.now);
    assert!(
        !ids.complete(&late, "crashed").await.expect("complete"),
        "the old holder lost the key"
    );
    let done = record_of(&retry, json!({"de": "retry"}), retry.now);
    assert!(ids.complete(&done, "retry").await.expect("complete"));
    assert_eq!(
        ids.record("user-a", &retry.key).await.expect("get"),
        Some(done)
    );
}

pub(super) async fn a_released_key_is_reserved_again_at_once(store: &Storage) {
    let ids = &store.idempotency;
    let now = Fixtures::new().tick();
    let failed = claim("user-a", "clave-3", "failed", now);
    assert_eq!(
        ids.reserve(&failed).await.expect("reserve"),
        Reservation::Reserved
    );
    ids.release("user-a", &failed.key, "someone-else")
        .await
        .expect("release");
    let retry = claim("user-a", "clave-3", "retry", now);
    assert_eq!(
        ids.reserve(&retry).await.expect("reserve"),
        pending_until(&failed),
        "only the holder releases"
    );
    ids.release("user-a", &failed.key, "failed")
        .await
        .expect("release");
    assert_eq!(
        ids.reserve(&retry).await.expect("reserve"),
        Reservation::Reserved
    );
    let done = record_of(&retry, json!({"ok": true}), now);
    assert!(ids.complete(&done, "retry").await.expect("complete"));
    ids.release("user-a", &failed.key, "retry")
        .await
        .expect("releasing a completed key does nothing");
    assert_eq!(
        ids.record("user-a", &failed.key).await.expect("get"),
        Some(done)
    );
}

pub(super) async fn a_record_older_than_its_age_counts_as_absent(store: &Storage) {
    let ids = &store.idempotency;
    let now = Fixtures::new().tick();
    let first = claim("user-a", "clave-4", "h1", now);
    assert_eq!(
        ids.reserve(&first).await.expect("reserve"),
        Reservation::Reserved
    );
    let done = record_of(&first, json!({"n": 1}), now);
    assert!(ids.complete(&done, "h1").await.expect("complete"));
    let just_before = Timestamp::from_unix_millis(now.plus(MAX_AGE).unix_millis() - 1);
    assert_eq!(
        ids.reserve(&claim("user-a", "clave-4", "h2", just_before))
            .await
            .expect("reserve"),
        Reservation::Completed(done),
        "within its age the record is replayed"
    );
    assert_eq!(
        ids.reserve(&claim("user-a", "clave-4", "h3", now.plus(MAX_AGE)))
            .await
            .expect("reserve"),
        Reservation::Reserved,
        "at its age the key is free again"
    );
}

/// Twenty requests with one key at once: exactly one reserves it, the others wait; once it
/// completes, twenty more all get its result.
pub(super) async fn concurrent_claims_reserve_a_key_exactly_once(store: &Storage) {
    const CLAIMS: usize = 20;
    let ids = &store.idempotency;
    let now = Fixtures::new().tick();
    let claims: Vec<_> = (0..CLAIMS)
        .map(|n| claim("user-a", "clave-5", &format!("h{n}"), now))
        .collect();
    let outcomes = join_all(claims.iter().map(|c| ids.reserve(c))).await;
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(n, o)| match o.as_ref().expect("reserve") {
            Reservation::Reserved => Some(n),
            Reservation::Pending { lease_until, .. } => {
                assert_eq!(*lease_until, now.plus(LEASE));
                None
            }
            other => panic!("nothing was completed yet: {other:?}"),
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim reserves the key");
    let winner = &claims[winners[0]];
    let done = record_of(winner, json!({"incident_id": "UNO"}), now);
    assert!(ids.complete(&done, &winner.holder).await.expect("complete"));
    let outcomes = join_all(claims.iter().map(|c| ids.reserve(c))).await;
    for outcome in outcomes {
        assert_eq!(
            outcome.expect("reserve"),
            Reservation::Completed(done.clone())
        );
    }

    // And racing to take over an ended lease: again exactly one.
    let later = now.plus(LEASE);
    let crashed = claim("user-a", "clave-6", "crashed", now);
    assert_eq!(
        ids.reserve(&crashed).await.expect("reserve"),
        Reservation::Reserved
    );
    let retries: Vec<_> = (0..CLAIMS)
        .map(|n| claim("user-a", "clave-6", &format!("r{n}"), later))
        .collect();
    let outcomes = join_all(retries.iter().map(|c| ids.reserve(c))).await;
    let taken = outcomes
        .into_iter()
        .filter(|o| *o.as_ref().expect("reserve") == Reservation::Reserved)
        .count();
    assert_eq!(taken, 1, "exactly one retry takes the ended lease over");
}
