//! Checks of [`IdempotencyStore`](crate::ports::IdempotencyStore).

use serde_json::json;

use super::Fixtures;
use crate::domain::{IdempotencyKey, IdempotencyRecord};
use crate::ports::Storage;

pub(super) async fn first_record_wins(store: &Storage) {
    let f = Fixtures::new();
    let key = IdempotencyKey::parse("clave-1").expect("key");
    let first = IdempotencyRecord {
        owner: "user-a".into(),
        key: key.clone(),
        operation: "incident.create".into(),
        response: json!({"incident_id": "X", "n": [1, 2, 3], "texto": "ñ «»"}),
        created_at: f.tick(),
    };
    assert_eq!(
        store.idempotency.record("user-a", &key).await.expect("get"),
        None
    );
    assert!(
        store.idempotency.put_record(&first).await.expect("put"),
        "the first record is stored"
    );
    let second = IdempotencyRecord {
        response: json!({"incident_id": "Y"}),
        created_at: f.tick(),
        ..first.clone()
    };
    assert!(
        !store.idempotency.put_record(&second).await.expect("put"),
        "a replay is refused"
    );
    assert_eq!(
        store.idempotency.record("user-a", &key).await.expect("get"),
        Some(first.clone()),
        "the first stays"
    );
    let other_owner = IdempotencyRecord {
        owner: "user-b".into(),
        ..second.clone()
    };
    assert!(
        store
            .idempotency
            .put_record(&other_owner)
            .await
            .expect("put"),
        "keys are per owner"
    );
    assert_eq!(
        store.idempotency.record("user-b", &key).await.expect("get"),
        Some(other_owner)
    );
}
