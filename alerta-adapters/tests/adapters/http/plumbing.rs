//! What every route shares: health, request ids, error bodies, limits and timeouts.

use std::time::Duration;

use alerta_adapters::http::HttpConfig;
use alerta_core::domain::Role;
use alerta_core::{Error, Settings};
use serde_json::json;

use super::helpers::{spawn_app, spawn_with};

#[derive(Debug, thiserror::Error)]
#[error("connection refused by db-7.internal:5432 (password=hunter2)")]
struct SecretFailure;

#[tokio::test]
async fn health_answers_ok_and_every_reply_has_a_request_id() {
    let t = spawn_app().await;
    let reply = t.get("/health", None).await;
    reply.expect(200);
    assert_eq!(reply.body, json!({"status": "ok"}));
    let first = reply.header("x-request-id").unwrap().to_owned();
    let second = t.get("/health", None).await;
    assert_ne!(second.header("x-request-id").unwrap(), first);
    // A caller's own request id is kept, so logs on both sides line up.
    let mine = super::helpers::send(
        t.request(reqwest::Method::GET, "/health", None)
            .header("x-request-id", "client-chosen-1"),
    )
    .await;
    assert_eq!(mine.header("x-request-id"), Some("client-chosen-1"));
}

#[tokio::test]
async fn a_failing_backend_gets_503_with_a_correlation_id_and_no_detail() {
    let config = HttpConfig::default()
        .health_check(|| async { Err(Error::unavailable("database", SecretFailure)) });
    let t = spawn_with(Settings::default(), config).await;
    let reply = t.get("/health", None).await;
    reply.expect_error(503, "unavailable");
    let correlation = reply.body["error"]["correlation_id"].as_str().unwrap();
    assert_eq!(Some(correlation), reply.header("x-request-id"));
    let text = String::from_utf8(reply.bytes.clone()).unwrap();
    for secret in ["db-7", "5432", "hunter2", "refused"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(reply.body["error"]["message"], "database is unavailable");
    let ready = t.get("/ready", None).await;
    ready.expect_error(503, "unavailable");
}

#[tokio::test]
async fn ready_answers_while_the_health_check_passes() {
    let t = spawn_app().await;
    let reply = t.get("/ready", None).await;
    reply.expect(200);
    assert_eq!(reply.body, json!({"ready": true}));
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let config = HttpConfig::default()
        .request_timeout(Duration::from_millis(100))
        .health_check(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        });
    let t = spawn_with(Settings::default(), config).await;
    let started = std::time::Instant::now();
    let reply = t.get("/health", None).await;
    reply.expect_error(503, "timeout");
    assert!(reply.body["error"]["correlation_id"].is_string());
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn the_json_body_limit_is_configurable() {
    let config = HttpConfig::default().json_body_limit(300);
    let t = spawn_with(Settings::default(), config).await;
    let student = t.user(Role::Student).await;
    let body = |n: usize| {
        json!({"tipo": "otro", "descripcion": "d".repeat(n), "ubicacion": "Aula 102",
               "urgencia": "baja"})
    };
    t.post("/incidents", Some(&student.token), body(100))
        .await
        .expect(201);
    t.post("/incidents", Some(&student.token), body(400))
        .await
        .expect_error(413, "too_large");
    assert_eq!(t.incident_count(&student.token).await, 1);
}
