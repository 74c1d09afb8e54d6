//! Acknowledging and resolving alerts over HTTP, and reading one with its history.

use alerta_core::domain::{Role, StreamKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{TestApp, send, spawn_app};

/// Posts a critical alert as `token`; returns its id.
async fn fire(t: &TestApp, token: &str) -> String {
    let reply = t
        .post(
            "/events",
            Some(token),
            json!({"source": "ups_3", "severity": "critical", "message": "Batería baja"}),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_acknowledge_then_resolve_and_everyone_sees_it() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let id = fire(&t, &staff.token).await;

    let fresh = t.get(&format!("/events/{id}"), Some(&student.token)).await;
    fresh.expect(200);
    assert_eq!(fresh.body["status"], "firing");
    assert_eq!(fresh.body["version"], 1);
    assert_eq!(fresh.body["updated_at"], fresh.body["created_at"]);

    let acked = t
        .post(
            &format!("/events/{id}/ack"),
            Some(&staff.token),
            json!({"version": 1, "nota": "Voy para allá"}),
        )
        .await;
    acked.expect(200);
    assert_eq!(acked.body["id"], id.as_str());
    assert_eq!(acked.body["status"], "acknowledged");
    assert_eq!(acked.body["version"], 2);

    // No body at all: resolve whatever the version, without a note.
    let resolved = send(t.request(
        Method::POST,
        &format!("/events/{id}/resolve"),
        Some(&staff.token),
    ))
    .await;
    resolved.expect(200);
    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(resolved.body["version"], 3);

    let read = t.get(&format!("/events/{id}"), Some(&student.token)).await;
    read.expect(200);
    let mut shown = read.body.clone();
    assert_eq!(
        shown.as_object_mut().unwrap().remove("incident_id"),
        Some(Value::Null),
        "a read also names the incident opened from the alert: none"
    );
    assert_eq!(
        shown, resolved.body,
        "a read shows what the change returned"
    );
    let listed = t.get("/events?source=ups_3", Some(&student.token)).await;
    listed.expect(200);
    assert_eq!(
        listed.items()[0]["status"],
        "resolved",
        "lists show the status"
    );

    let history = t
        .get(&format!("/events/{id}/history"), Some(&student.token))
        .await;
    history.expect(200);
    let events = history.items();
    assert_eq!(events.len(), 2, "{}", history.body);
    assert_eq!(events[0]["from"], "firing");
    assert_eq!(events[0]["to"], "acknowledged");
    assert_eq!(events[0]["actor"], staff.id());
    assert_eq!(events[0]["nota"], "Voy para allá");
    assert_eq!(events[0]["alert_id"], id.as_str());
    assert_eq!(events[1]["from"], "acknowledged");
    assert_eq!(events[1]["to"], "resolved");
    assert_eq!(events[1]["nota"], Value::Null);
    assert!(events[0]["created_at"].is_string() && events[0]["event_id"].is_string());

    let messages = t.broadcaster.messages();
    let changes: Vec<_> = messages
        .iter()
        .filter(|m| m.kind != StreamKind::Alert)
        .collect();
    assert_eq!(
        changes.iter().map(|m| m.kind).collect::<Vec<_>>(),
        [StreamKind::AlertAcknowledged, StreamKind::AlertResolved]
    );
    assert_eq!(changes[0].data["alert"]["status"], "acknowledged");
    assert_eq!(changes[0].data["event"]["nota"], "Voy para allá");
    assert_eq!(changes[1].data["alert"], resolved.body);
}

#[tokio::test]
async fn stale_versions_and_moves_the_lifecycle_refuses_are_409_and_change_nothing() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let token = Some(admin.token.as_str());
    let id = fire(&t, &admin.token).await;
    t.post(&format!("/events/{id}/ack"), token, json!({}))
        .await
        .expect(200);

    t.post(
        &format!("/events/{id}/resolve"),
        token,
        json!({"version": 1}),
    )
    .await
    .expect_error(409, "stale_version");
    t.post(&format!("/events/{id}/ack"), token, json!({"version": 2}))
        .await
        .expect_error(409, "invalid_transition");
    t.post(
        &format!("/events/{id}/resolve"),
        token,
        json!({"version": 2}),
    )
    .await
    .expect(200);
    t.post(&format!("/events/{id}/resolve"), token, json!({}))
        .await
        .expect_error(409, "invalid_transition");

    let history = t.get(&format!("/events/{id}/history"), token).await;
    assert_eq!(history.items().len(), 2, "only the two accepted changes");
    let read = t.get(&format!("/events/{id}"), token).await;
    assert_eq!(read.body["version"], 3);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let token = Some(staff.token.as_str());
    let id = fire(&t, &staff.token).await;
    let ack = format!("/events/{id}/ack");
    t.post(&ack, token, json!({"version": "uno"}))
        .await
        .expect_error(400, "invalid_version");
    t.post(&ack, token, json!({"nota": 5}))
        .await
        .expect_error(400, "invalid_nota");
    t.post(&ack, token, json!({"nota": "x".repeat(2001)}))
        .await
        .expect_error(400, "invalid_nota");
    t.post_raw(&ack, token, "application/json", b"{nope".to_vec())
        .await
        .expect_error(400, "malformed_json");
    t.post_raw(&ack, token, "text/plain", b"hola".to_vec())
        .await
        .expect(415);
    t.post("/events/01JD2Z9R1K7Q3C6ZP0S8T4W5XY/ack", token, json!({}))
        .await
        .expect_error(404, "alert_not_found");
    t.get("/events/01JD2Z9R1K7Q3C6ZP0S8T4W5XY", token)
        .await
        .expect_error(404, "alert_not_found");
    t.get("/events/01JD2Z9R1K7Q3C6ZP0S8T4W5XY/history", token)
        .await
        .expect_error(404, "alert_not_found");

    let read = t.get(&format!("/events/{id}"), token).await;
    assert_eq!(read.body["status"], "firing");
    assert_eq!(read.body["version"], 1);
    let history = t.get(&format!("/events/{id}/history"), token).await;
    assert!(history.items().is_empty());
}

#[tokio::test]
async fn a_repeated_idempotency_key_acknowledges_once() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let token = Some(staff.token.as_str());
    let id = fire(&t, &staff.token).await;
    let path = format!("/events/{id}/ack");
    let first = t.post_with_key(&path, token, "ack-1", json!({})).await;
    let again = t.post_with_key(&path, token, "ack-1", json!({})).await;
    first.expect(200);
    again.expect(200);
    assert_eq!(first.body, again.body);
    let history = t.get(&format!("/events/{id}/history"), token).await;
    assert_eq!(history.items().len(), 1);
}

#[tokio::test]
async fn lists_filter_by_status() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let mut ids = Vec::new();
    for source in ["ups_1", "ups_2", "ups_3"] {
        let reply = t
            .post(
                "/events",
                Some(&staff.token),
                json!({"source": source, "severity": "critical", "message": "Batería baja"}),
            )
            .await;
        reply.expect(201);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    t.post(
        &format!("/events/{}/ack", ids[0]),
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/events/{}/resolve", ids[1]),
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect(200);
    let listed = |query: &'static str| {
        let t = &t;
        let token = staff.token.clone();
        async move {
            let reply = t.get(&format!("/events?{query}"), Some(&token)).await;
            reply.expect(200);
            reply
                .items()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("status=acknowledged").await, [ids[0].clone()]);
    assert_eq!(listed("status=resolved").await, [ids[1].clone()]);
    assert_eq!(listed("status=firing").await, [ids[2].clone()]);
    assert_eq!(
        listed("status=firing&source=ups_1").await,
        Vec::<String>::new(),
        "with the other filters"
    );
    assert_eq!(listed("status=").await.len(), 3, "empty is no filter");
    t.get("/events?status=open", Some(&staff.token))
        .await
        .expect_error(400, "invalid_status");
}
