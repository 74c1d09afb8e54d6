//! Checks of [`BlobStore`](crate::ports::BlobStore).

use crate::Error;
use crate::domain::{AttachmentId, BlobKey, IncidentId, Timestamp};
use crate::ports::DynBlobStore;

pub(super) async fn round_trip_overwrite_missing(store: &DynBlobStore) {
    let key = BlobKey::attachment(
        &IncidentId::parse("01INCIDENT").expect("id"),
        &AttachmentId::parse("01ATTACHMENT").expect("id"),
    );
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    store
        .put(&key, "image/png", bytes.clone())
        .await
        .expect("put");
    let blob = store.get(&key).await.expect("get");
    assert_eq!(blob.bytes, bytes, "the bytes read back");
    assert_eq!(
        blob.content_type, "image/png",
        "the content type reads back"
    );

    store
        .put(&key, "text/plain", b"nuevo".to_vec())
        .await
        .expect("overwrite");
    let blob = store.get(&key).await.expect("get");
    assert_eq!(
        (blob.bytes.as_slice(), blob.content_type.as_str()),
        (&b"nuevo"[..], "text/plain")
    );

    let report = BlobKey::global_report(Timestamp::from_unix_millis(1_795_342_530_123));
    store
        .put(&report, "application/json", b"{}".to_vec())
        .await
        .expect("put report");
    assert_eq!(store.get(&report).await.expect("get").bytes, b"{}");

    let missing = BlobKey::attachment(
        &IncidentId::parse("01INCIDENT").expect("id"),
        &AttachmentId::parse("01MISSING").expect("id"),
    );
    assert!(
        matches!(store.get(&missing).await, Err(Error::NotFound(_))),
        "a missing key is NotFound"
    );
}
