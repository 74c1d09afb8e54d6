//! Silences through the running server: an alert that matches an active silence is stored and
//! broadcast flagged `silenced` and not mailed; once the silence is expired, the same alert is
//! mailed again.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app_with};
use crate::stream::{read_until, subscribe};

/// The outbox rows that mention `alert_id` (every alert mail carries its id).
async fn mails_about(app: &TestApp, admin: &str, alert_id: &str) -> usize {
    let (status, body) = app.get(admin, "/admin/outbox?limit=500").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|row| row.to_string().contains(alert_id))
        .count()
}

async fn report(app: &TestApp, token: &str, source: &str, message: &str) -> String {
    let (status, body) = app
        .post(
            token,
            "/events",
            json!({"source": source, "severity": "critical", "message": message}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("an id").to_owned()
}

async fn alert(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = app.get(token, &format!("/events/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_silence_stops_mail_and_its_expiry_restarts_it() {
    let app = spawn_app_with(|config| {
        config.alert_emails = vec!["ops@campus.edu".into()];
    })
    .await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ws_base = app.base.replacen("http://", "ws://", 1);
    let mut socket = subscribe(&ws_base, &admin, None).await;

    let ends_at = alerta_core::domain::Timestamp::from_unix_millis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    )
    .plus(Duration::from_secs(3600));
    let (status, silence) = app
        .post(
            &admin,
            "/silences",
            json!({
                "matchers": [
                    {"name": "source", "value": "rack-[0-9]+", "is_regex": true},
                    {"name": "severity", "value": "critical"}
                ],
                "ends_at": ends_at.to_rfc3339(),
                "comment": "cambio de discos en el rack"
            }),
        )
        .await;
    assert_eq!(status, 201, "{silence}");
    assert_eq!(silence["state"], "active");
    assert_eq!(silence["matchers"][1]["is_regex"], false);
    let silence_id = silence["id"].as_str().expect("an id").to_owned();

    // Matching: stored and broadcast, flagged, and no mail row.
    let quiet = report(&app, &admin, "rack-7", "disco lleno (silenciado)").await;
    let stored = alert(&app, &admin, &quiet).await;
    assert_eq!(stored["silenced"], true, "{stored}");
    let seen = read_until(&mut socket, "disco lleno (silenciado)").await;
    let message = seen.last().expect("the alert's message");
    assert_eq!(message["type"], "alert");
    assert_eq!(message["data"]["silenced"], true, "{message}");
    // A control alert the silence does not match, in the same outbox: mailed.
    let loud = report(&app, &admin, "web-1", "disco lleno (web)").await;
    assert_eq!(alert(&app, &admin, &loud).await["silenced"], false);
    assert_eq!(
        mails_about(&app, &admin, &loud).await,
        1,
        "the control alert is mailed"
    );
    assert_eq!(
        mails_about(&app, &admin, &quiet).await,
        0,
        "no mail row for it"
    );
    let (_, listed) = app.get(&admin, "/events?silenced=true").await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| a["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, [quiet.as_str()], "only the silenced alert");

    // Expired: the same alert is mailed again.
    let reply = app
        .client
        .delete(app.url(&format!("/silences/{silence_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let expired: Value = reply.json().await.unwrap();
    assert_eq!(expired["state"], "expired");
    let (_, listed) = app.get(&admin, "/silences?state=expired").await;
    assert_eq!(listed["items"][0]["id"], silence_id.as_str());

    let again = report(&app, &admin, "rack-7", "disco lleno (otra vez)").await;
    assert_eq!(alert(&app, &admin, &again).await["silenced"], false);
    let seen = read_until(&mut socket, "disco lleno (otra vez)").await;
    assert_eq!(seen.last().expect("the alert")["data"]["silenced"], false);
    assert_eq!(
        mails_about(&app, &admin, &again).await,
        1,
        "mail restarts once the silence is expired"
    );
}
