//! `/silences` over HTTP: making, listing by state, expiring, bad input, and what a silence
//! does to the alerts it matches.

use std::sync::Arc;
use std::time::Duration;

use alerta_core::Settings;
use alerta_core::domain::{Email, MailState, PageRequest, Role, Timestamp};
use alerta_core::ports::ManualClock;
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{Reply, TestApp, send, spawn_app, spawn_with_clock};

const START: &str = "2027-03-01T10:00:00.000Z";

fn start() -> Timestamp {
    Timestamp::parse_rfc3339(START).unwrap()
}

fn later(seconds: u64) -> String {
    start().plus(Duration::from_secs(seconds)).to_rfc3339()
}

async fn expire(t: &TestApp, token: &str, id: &str) -> Reply {
    send(t.request(Method::DELETE, &format!("/silences/{id}"), Some(token))).await
}

fn ids(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn app_at_start() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let settings = Settings {
        alert_recipients: vec![Email::parse("ops@campus.edu").unwrap()],
        ..Settings::default()
    };
    (spawn_with_clock(settings, clock.clone()).await, clock)
}

#[tokio::test]
async fn silences_are_listed_by_state_and_expired_by_delete() {
    let (t, clock) = app_at_start().await;
    let admin = t.user(Role::Admin).await;
    let staff = t.user(Role::Staff).await;
    let token = Some(admin.token.as_str());
    let make = |starts: Option<String>, ends: String| {
        let mut body = json!({
            "matchers": [{"name": "source", "value": "ups_[0-9]", "is_regex": true}],
            "ends_at": ends,
            "comment": "  Cambio de baterías  ",
        });
        if let Some(starts) = starts {
            body["starts_at"] = Value::String(starts);
        }
        let t = &t;
        async move { t.post("/silences", token, body).await }
    };
    let active = make(None, later(600)).await;
    active.expect(201);
    assert_eq!(active.body["state"], "active");
    assert_eq!(active.body["starts_at"], START, "starts now by default");
    assert_eq!(active.body["ends_at"], later(600));
    assert_eq!(active.body["comment"], "Cambio de baterías");
    assert_eq!(active.body["created_by"], admin.id());
    assert_eq!(
        active.body["matchers"],
        json!([{"name": "source", "value": "ups_[0-9]", "is_regex": true}])
    );
    let pending = make(Some(later(300)), later(900)).await;
    pending.expect(201);
    assert_eq!(pending.body["state"], "pending");
    let active_id = active.body["id"].as_str().unwrap().to_owned();
    let pending_id = pending.body["id"].as_str().unwrap().to_owned();

    let all = t.get("/silences", Some(&staff.token)).await;
    all.expect(200);
    assert_eq!(
        ids(&all),
        [pending_id.clone(), active_id.clone()],
        "newest first"
    );
    let page = t.get("/silences?limit=1", token).await;
    assert_eq!(ids(&page), [pending_id.as_str()]);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = t
        .get(&format!("/silences?limit=1&cursor={cursor}"), token)
        .await;
    assert_eq!(ids(&next), [active_id.as_str()]);
    assert_eq!(next.body["next_cursor"], Value::Null);

    // By the clock alone: the pending one starts.
    clock.advance(Duration::from_secs(300));
    let active_now = t.get("/silences?state=active", token).await;
    assert_eq!(ids(&active_now), [pending_id.clone(), active_id.clone()]);

    let expired = expire(&t, &admin.token, &active_id).await;
    expired.expect(200);
    assert_eq!(expired.body["state"], "expired");
    assert_eq!(expired.body["ends_at"], later(300), "ends now");
    clock.advance(Duration::from_secs(10));
    let again = expire(&t, &admin.token, &active_id).await;
    again.expect(200);
    assert_eq!(
        again.body["ends_at"],
        later(300),
        "expiring again changes nothing"
    );
    let listed = t.get("/silences?state=expired", token).await;
    assert_eq!(
        ids(&listed),
        [active_id.as_str()],
        "still listed, as expired"
    );
    assert_eq!(
        ids(&t.get("/silences?state=pending", token).await),
        Vec::<String>::new()
    );

    expire(&t, &admin.token, "01NOSUCHSILENCE0000000000")
        .await
        .expect_error(404, "silence_not_found");
    t.get("/silences?state=forever", token)
        .await
        .expect_error(400, "invalid_state");
}

#[tokio::test]
async fn bad_silences_are_refused_and_store_nothing() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let token = Some(admin.token.as_str());
    let ok_matchers = json!([{"name": "source", "value": "a"}]);
    let cases = [
        (
            json!({"ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": [], "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": [{"name": "host", "value": "a"}],
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": [{"name": "source", "value": "(", "is_regex": true}],
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": [{"name": "source"}], "ends_at": "2099-01-01T00:00:00Z",
                   "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": vec![json!({"name": "source", "value": "a"}); 17],
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": [{"name": "message", "value": "x".repeat(1025)}],
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_matchers",
        ),
        (
            json!({"matchers": ok_matchers, "ends_at": "mañana", "comment": "c"}),
            "invalid_ends_at",
        ),
        (
            json!({"matchers": ok_matchers, "ends_at": "2001-01-01T00:00:00Z", "comment": "c"}),
            "invalid_ends_at",
        ),
        (
            json!({"matchers": ok_matchers, "starts_at": "2099-06-01T00:00:00Z",
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_ends_at",
        ),
        (
            json!({"matchers": ok_matchers, "starts_at": 5,
                   "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
            "invalid_starts_at",
        ),
        (
            json!({"matchers": ok_matchers, "ends_at": "2099-01-01T00:00:00Z", "comment": " "}),
            "invalid_comment",
        ),
    ];
    for (body, code) in cases {
        t.post("/silences", token, body.clone())
            .await
            .expect_error(400, code);
    }
    let listed = t.get("/silences", token).await;
    assert!(listed.items().is_empty(), "nothing stored: {}", listed.body);
}

#[tokio::test]
async fn a_silenced_alert_is_stored_and_broadcast_flagged_and_not_mailed() {
    let (t, clock) = app_at_start().await;
    let admin = t.user(Role::Admin).await;
    let token = Some(admin.token.as_str());
    let silence = t
        .post(
            "/silences",
            token,
            json!({
                "matchers": [
                    {"name": "source", "value": "ups_3"},
                    {"name": "message", "value": "bater.a .*", "is_regex": true},
                ],
                "ends_at": later(60),
                "comment": "Cambio de baterías",
            }),
        )
        .await;
    silence.expect(201);
    let report = |source: &'static str, message: &'static str| {
        let t = &t;
        async move {
            let reply = t
                .post(
                    "/events",
                    token,
                    json!({"source": source, "severity": "critical", "message": message}),
                )
                .await;
            reply.expect(201);
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    let quiet = report("ups_3", "batería baja").await;
    let other_source = report("ups_4", "batería baja").await;
    let other_message = report("ups_3", "la batería baja").await;

    let flag = |id: String| {
        let t = &t;
        async move { t.get(&format!("/events/{id}"), token).await.body["silenced"].clone() }
    };
    assert_eq!(flag(quiet.clone()).await, true);
    assert_eq!(
        flag(other_source.clone()).await,
        false,
        "every matcher must match"
    );
    assert_eq!(
        flag(other_message.clone()).await,
        false,
        "the regex matches the whole text"
    );
    let silenced = t.get("/events?silenced=true", token).await;
    assert_eq!(ids(&silenced), [quiet.as_str()]);
    let unsilenced = t.get("/events?silenced=false", token).await;
    assert_eq!(
        ids(&unsilenced),
        [other_message.clone(), other_source.clone()]
    );
    t.get("/events?silenced=yes", token)
        .await
        .expect_error(400, "invalid_silenced");

    let published = t.broadcaster.messages();
    let sent = published
        .iter()
        .find(|m| m.data["id"] == quiet.as_str())
        .expect("the silenced alert is broadcast");
    assert_eq!(sent.data["silenced"], true, "broadcast with its flag");

    let mails = t
        .app
        .storage()
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .unwrap();
    let about = |id: &str| {
        mails
            .items
            .iter()
            .filter(|m| m.message.text.contains(id))
            .count()
    };
    assert_eq!(about(&quiet), 0, "no mail for the silenced alert");
    assert_eq!(about(&other_source), 1);
    assert_eq!(about(&other_message), 1);

    // The silence ends by the clock; the same alert is mailed again.
    clock.advance(Duration::from_secs(60));
    let after = report("ups_3", "batería baja").await;
    assert_eq!(flag(after.clone()).await, false);
    let mails = t
        .app
        .storage()
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        mails
            .items
            .iter()
            .filter(|m| m.message.text.contains(&after))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_repeated_idempotency_key_makes_one_silence() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let body = json!({
        "matchers": [{"name": "severity", "value": "warning"}],
        "ends_at": "2099-01-01T00:00:00Z",
        "comment": "Ruido de advertencias",
    });
    let make = || {
        t.request(Method::POST, "/silences", Some(&admin.token))
            .header("idempotency-key", "silencio-1")
            .json(&body)
    };
    let first = send(make()).await;
    first.expect(201);
    let second = send(make()).await;
    second.expect(201);
    assert_eq!(
        second.body["id"], first.body["id"],
        "the first result, replayed"
    );
    let listed = t.get("/silences", Some(&admin.token)).await;
    assert_eq!(listed.items().len(), 1, "one silence stored");
}
