//! One `Idempotency-Key` sent by many requests at once: exactly one write, and every request
//! answered with it, on the memory store and on SQLite.

use std::collections::HashSet;
use std::sync::Arc;

use alerta_adapters::memory::MemoryStore;
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{AlertFilter, IncidentFilter, PageRequest, Role};
use alerta_core::ports::Storage;
use serde_json::json;

use super::helpers::{TestApp, spawn_on};

const REQUESTS: usize = 20;

/// Sends `REQUESTS` copies of one POST with one key at once; returns the replies.
async fn at_once(
    t: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: serde_json::Value,
) -> Vec<super::helpers::Reply> {
    let requests = (0..REQUESTS).map(|_| t.post_with_key(path, Some(token), key, body.clone()));
    futures::future::join_all(requests).await
}

async fn one_write_per_key(t: TestApp) {
    let student = t.user(Role::Student).await;
    let draft = json!({"tipo": "seguridad", "descripcion": "Puerta forzada", "ubicacion": "Biblioteca",
                       "urgencia": "alta"});
    let replies = at_once(&t, "/incidents", &student.token, "informe-1", draft).await;
    let mut named = HashSet::new();
    for reply in &replies {
        reply.expect(201);
        named.insert(
            reply.body["incident_id"]
                .as_str()
                .expect("an id")
                .to_owned(),
        );
    }
    assert_eq!(
        named.len(),
        1,
        "every reply names the one incident: {named:?}"
    );
    let stored = t
        .app
        .storage()
        .incidents
        .incidents(&IncidentFilter::default(), &PageRequest::default())
        .await
        .expect("list");
    assert_eq!(stored.items.len(), 1, "exactly one incident stored");
    assert_eq!(stored.items[0].id().as_str(), named.iter().next().unwrap());

    let alert =
        json!({"source": "sensor_07", "severity": "warning", "message": "Humo en el pasillo"});
    let replies = at_once(&t, "/events", &student.token, "alerta-1", alert).await;
    let mut named = HashSet::new();
    for reply in &replies {
        reply.expect(201);
        named.insert(reply.body["id"].as_str().expect("an id").to_owned());
    }
    assert_eq!(named.len(), 1, "every reply names the one alert: {named:?}");
    let stored = t
        .app
        .storage()
        .alerts
        .search(&AlertFilter::default(), &PageRequest::default())
        .await
        .expect("list");
    assert_eq!(stored.items.len(), 1, "exactly one alert stored");
    assert_eq!(stored.items[0].id.as_str(), named.iter().next().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_write_once_on_the_memory_store() {
    for _ in 0..3 {
        let storage = Storage::from_backend(Arc::new(MemoryStore::new()));
        one_write_per_key(spawn_on(storage).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_write_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 0..3 {
        let store = SqliteStore::open(dir.path().join(format!("alerta-{n}.db")))
            .await
            .expect("open");
        one_write_per_key(spawn_on(Storage::from_backend(Arc::new(store))).await).await;
    }
}
