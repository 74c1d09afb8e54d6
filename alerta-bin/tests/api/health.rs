//! `GET /health` and `GET /ready` probe every backend: the store and the blob store fail the
//! check and are named; the mail server is reported, since mail waits for it.

use serde_json::Value;

use crate::helpers::{free_port, spawn_app, spawn_app_with};
use crate::mail::Sink;
use alerta_bin::config::Secret;

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let reply = client.get(url).send().await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_store_that_cannot_be_reached_fails_the_check_by_name() {
    let app = spawn_app().await;
    let (status, body) = get(&app.client, app.url("/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["mail"], "ok", "mail written as files needs no server");

    let blobs = app.data_dir().join("blobs");
    if blobs.exists() {
        std::fs::remove_dir_all(&blobs).unwrap();
    }
    std::fs::write(&blobs, b"not a directory").unwrap();
    let (status, body) = get(&app.client, app.url("/health")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["error"]["message"], "blob store is unavailable");
    let (status, _) = get(&app.client, app.url("/ready")).await;
    assert_eq!(status, 503, "a load balancer stops sending requests");

    std::fs::remove_file(&blobs).unwrap();
    std::fs::create_dir(&blobs).unwrap();
    let (status, body) = get(&app.client, app.url("/ready")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_away_is_reported_without_failing_the_check() {
    let away = free_port();
    let app = spawn_app_with(|config| {
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{away}")));
    })
    .await;
    let (status, body) = get(&app.client, app.url("/health")).await;
    assert_eq!(status, 200, "mail waits in the outbox: {body}");
    assert_eq!(body["mail"], "unreachable");

    let port = free_port();
    let spool = tempfile::tempdir().unwrap();
    let _sink = Sink::start(port, spool.path());
    let app = spawn_app_with(|config| {
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}?tls=none")));
    })
    .await;
    let (status, body) = get(&app.client, app.url("/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mail"], "ok");
}
