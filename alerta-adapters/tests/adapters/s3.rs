//! The S3 blob store against moto in server mode: the conformance suite on fresh buckets,
//! the bucket bootstrap, and the objects as other S3 clients see them.
//!
//! Start moto first (`source scripts/lib/moto.sh && start_moto`); without it these tests
//! fail and say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alerta_adapters::s3::{S3BlobStore, S3Options};
use alerta_core::Error;
use alerta_core::conformance;
use alerta_core::domain::{AttachmentId, BlobKey, DepartmentName, IncidentId};
use alerta_core::ports::{BlobStore, DynBlobStore};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// The moto endpoint, or a failure that says how to start it.
fn endpoint() -> String {
    match std::env::var("ALERTA_TEST_AWS_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "ALERTA_TEST_AWS_ENDPOINT is not set: the S3 tests run against moto in server mode. \
             Start it with `source scripts/lib/moto.sh && start_moto` and run the tests from \
             the same shell."
        ),
    }
}

async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "alerta-tests"))
        .load()
        .await
}

/// Bucket names no other test, run or process uses (lower case, at most 63 characters).
fn fresh_options() -> S3Options {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    let stem = format!(
        "t{}-{nanos}-{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::SeqCst)
    );
    S3Options {
        attachments_bucket: format!("{stem}-adjuntos"),
        reports_bucket: format!("{stem}-reportes"),
        force_path_style: true,
    }
}

fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[tokio::test]
async fn s3_blob_store_conforms_through_a_trait_object() {
    let config = sdk_config().await;
    let store = S3BlobStore::from_sdk_config(&config, fresh_options());
    store.bootstrap().await.expect("bootstrap");
    let store: Arc<DynBlobStore> = Arc::new(store);
    conformance::blobs(store.as_ref()).await;
}

#[tokio::test]
async fn bootstrap_twice_and_objects_land_in_their_bucket_with_their_content_type() {
    let config = sdk_config().await;
    let options = fresh_options();
    let store = S3BlobStore::from_sdk_config(&config, options.clone());
    store.bootstrap().await.expect("first bootstrap");
    let attachment = BlobKey::attachment(
        &IncidentId::parse("01INC").unwrap(),
        &AttachmentId::parse("01ATT").unwrap(),
    );
    let report = BlobKey::assignment_report(
        &DepartmentName::parse("Seguridad Campus").unwrap(),
        &IncidentId::parse("01INC").unwrap(),
    );
    store
        .put(&attachment, "image/png", b"\x89PNG\r\n\x1a\n".to_vec())
        .await
        .unwrap();
    store
        .put(&report, "application/json", b"{\"a\":1}".to_vec())
        .await
        .unwrap();
    store.bootstrap().await.expect("second bootstrap");

    let client = s3_client(&config);
    let object = client
        .get_object()
        .bucket(&options.attachments_bucket)
        .key("adjuntos/01INC/01ATT")
        .send()
        .await
        .expect("the attachment is in the attachments bucket");
    assert_eq!(object.content_type(), Some("image/png"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"\x89PNG\r\n\x1a\n");
    let object = client
        .get_object()
        .bucket(&options.reports_bucket)
        .key("reportes/incidentes/Seguridad Campus/incidente_01INC.json")
        .send()
        .await
        .expect("the report is in the reports bucket");
    assert_eq!(object.content_type(), Some("application/json"));
    let listed = client
        .list_objects_v2()
        .bucket(&options.attachments_bucket)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["adjuntos/01INC/01ATT"], "reports stay out of it");

    // What another client wrote reads back through the store.
    client
        .put_object()
        .bucket(&options.reports_bucket)
        .key("reportes/global/reporte_2026-11-22_10-15.json")
        .content_type("application/json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let blob = store
        .get(&BlobKey::from_stored(
            "reportes/global/reporte_2026-11-22_10-15.json".into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        (blob.content_type.as_str(), blob.bytes.as_slice()),
        ("application/json", &b"{}"[..])
    );
}

#[tokio::test]
async fn a_missing_bucket_is_unavailable_and_a_foreign_key_invalid() {
    let config = sdk_config().await;
    // Never bootstrapped: both buckets are missing, which is a fault, not a missing blob.
    let store = S3BlobStore::from_sdk_config(&config, fresh_options());
    let key = BlobKey::attachment(
        &IncidentId::parse("01INC").unwrap(),
        &AttachmentId::parse("01ATT").unwrap(),
    );
    let got = store.get(&key).await;
    assert!(matches!(got, Err(Error::Unavailable { .. })), "{got:?}");
    let put = store.put(&key, "text/plain", b"x".to_vec()).await;
    assert!(matches!(put, Err(Error::Unavailable { .. })), "{put:?}");

    let foreign = BlobKey::from_stored("otros/x".into());
    let result = store.get(&foreign).await;
    assert!(
        matches!(result, Err(Error::Invalid { field: "key", .. })),
        "{result:?}"
    );
    let bad_type = store
        .put(&key, "text/plain\r\nX-Evil: 1", b"x".to_vec())
        .await;
    assert!(
        matches!(bad_type, Err(Error::Invalid { .. })),
        "{bad_type:?}"
    );
}
