//! Alerts from Prometheus Alertmanager's webhook and from PagerDuty-style senders, posted to
//! a running server as those tools post them.

use alerta_bin::Secret;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app_with};
use crate::stream::{next_message, subscribe};

const KEY: &str = "am-ingest-key-1";

async fn receiving_app() -> TestApp {
    spawn_app_with(|config| config.ingest_keys = vec![Secret::new(KEY)]).await
}

/// One alert of an Alertmanager notification, as the webhook sends it.
fn am_alert(status: &str, fingerprint: Option<&str>) -> Value {
    let mut alert = json!({
        "status": status,
        "labels": {
            "alertname": "ProbeFailure",
            "instance": "https://server.example.org",
            "job": "http_checks",
            "monitor": "master",
            "severity": "critical"
        },
        "annotations": {
            "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
            "summary": "BlackBox Probe Failure: https://server.example.org"
        },
        "startsAt": "2023-02-06T13:08:45.828Z",
        "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2023-02-06T13:20:45.828Z" },
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
    });
    if let Some(fingerprint) = fingerprint {
        alert["fingerprint"] = json!(fingerprint);
    }
    alert
}

/// A version 4 webhook notification holding `alerts`.
fn am_notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "receiver": "alerta",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": {
            "alertname": "ProbeFailure",
            "instance": "https://server.example.org",
            "job": "http_checks",
            "monitor": "master",
            "severity": "critical"
        },
        "commonAnnotations": {
            "summary": "BlackBox Probe Failure: https://server.example.org"
        },
        "externalURL": "http://prometheus.example.org:9093",
        "version": "4",
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
        "truncatedAlerts": 0
    })
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, list) = app.get(token, "/events").await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

/// The next stream message about alerts of the given type, skipping others.
async fn next_of_type(socket: &mut crate::stream::Socket, kind: &str) -> Value {
    loop {
        let message = next_message(socket).await;
        if message["type"] == kind {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_firing_folds_into_one_group_and_resolved_resolves_it() {
    let app = receiving_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ws_base = app.base.replacen("http://", "ws://", 1);
    let mut socket = subscribe(&ws_base, &token, None).await;

    // Alertmanager repeats a firing alert at every group interval: three notifications, one
    // of which also carries a second alert without a fingerprint.
    const FIRINGS: usize = 3;
    for n in 0..FIRINGS {
        let mut batch = vec![am_alert("firing", Some("1a30ba71cca2921f"))];
        if n == 0 {
            let mut other = am_alert("firing", None);
            other["labels"]["instance"] = json!("db-1:9100");
            other["labels"]["severity"] = json!("page");
            other["annotations"] = json!({});
            batch.push(other);
        }
        let reply = app
            .client
            .post(app.url("/integrations/alertmanager"))
            .bearer_auth(KEY)
            .json(&am_notification("firing", batch.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let summary: Value = reply.json().await.unwrap();
        assert_eq!(
            summary,
            json!({"stored": batch.len(), "acknowledged": 0, "resolved": 0, "ignored": 0})
        );
    }
    let listed = alerts(&app, &token).await;
    assert_eq!(listed.len(), 2, "one group per alert: {listed:#?}");
    let probe = listed
        .iter()
        .find(|a| a["fingerprint"] == "1a30ba71cca2921f")
        .expect("the probe's group");
    assert_eq!(probe["count"], FIRINGS);
    assert_eq!(probe["status"], "firing");
    assert_eq!(probe["source"], "https://server.example.org");
    assert_eq!(probe["severity"], "critical");
    assert_eq!(
        probe["message"],
        "BlackBox Probe Failure: https://server.example.org"
    );
    assert_eq!(probe["channel"], "http");
    let other = listed
        .iter()
        .find(|a| a["source"] == "db-1:9100")
        .expect("the second alert");
    assert_eq!(
        other["severity"], "warning",
        "an unknown severity is a warning"
    );
    assert_eq!(
        other["message"], "ProbeFailure",
        "no annotations: the alert's name"
    );
    assert!(
        other["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("labels:"),
        "{other}"
    );

    // It ends: the group resolves, once.
    let resolved = am_notification(
        "resolved",
        vec![am_alert("resolved", Some("1a30ba71cca2921f"))],
    );
    let reply = app
        .client
        .post(app.url("/integrations/alertmanager"))
        .bearer_auth(KEY)
        .json(&resolved)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.json::<Value>().await.unwrap(),
        json!({"stored": 0, "acknowledged": 0, "resolved": 1, "ignored": 0})
    );
    let id = probe["id"].as_str().unwrap();
    let (_, group) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(group["status"], "resolved");
    let message = next_of_type(&mut socket, "alert.resolved").await;
    assert_eq!(message["data"]["alert"]["id"], id);
    assert_eq!(message["data"]["event"]["actor"], "ingest");
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    assert_eq!(history["items"][0]["actor"], "ingest");

    // Alertmanager may say so again, and may resolve what it never sent: no error.
    let again = app
        .client
        .post(app.url("/integrations/alertmanager"))
        .bearer_auth(KEY)
        .json(&am_notification(
            "resolved",
            vec![
                am_alert("resolved", Some("1a30ba71cca2921f")),
                am_alert("resolved", Some("ffffffffffffffff")),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"stored": 0, "acknowledged": 0, "resolved": 0, "ignored": 2})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_without_a_good_key_or_with_a_bad_alert_changes_nothing() {
    let app = receiving_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = am_notification("firing", vec![am_alert("firing", Some("1a30ba71cca2921f"))]);
    for key in [None, Some("not-the-key"), Some(token.as_str())] {
        let mut request = app
            .client
            .post(app.url("/integrations/alertmanager"))
            .json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 401, "key {key:?}");
        let error: Value = reply.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unauthenticated");
    }
    // One bad alert refuses the whole notification.
    let mut bad = am_alert("pending", Some("2b"));
    bad["labels"]["instance"] = json!("x");
    let mixed = am_notification("firing", vec![am_alert("firing", Some("1a")), bad]);
    let (status, error) = app.post(KEY, "/integrations/alertmanager", mixed).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (400, &json!("invalid_status"))
    );
    let mut old = body.clone();
    old["version"] = json!("3");
    let (status, error) = app.post(KEY, "/integrations/alertmanager", old).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (400, &json!("invalid_version"))
    );
    assert!(alerts(&app, &token).await.is_empty(), "nothing was stored");
}

/// An Events API v2 event.
fn pd_event(action: &str, routing_key: &str, dedup_key: Option<&str>) -> Value {
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "payload": {
            "summary": "DISK at 99% on machine prod-datapipe03.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "severity": "critical",
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms"}
        },
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com"
    });
    if let Some(key) = dedup_key {
        event["dedup_key"] = json!(key);
    }
    event
}

async fn post_event(app: &TestApp, event: &Value) -> (u16, Value) {
    let reply = app
        .client
        .post(app.url("/integrations/pagerduty"))
        .json(event)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_events_trigger_acknowledge_and_resolve_one_group() {
    let app = receiving_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    for _ in 0..2 {
        let (status, reply) = post_event(&app, &pd_event("trigger", KEY, Some("srv01/disk"))).await;
        assert_eq!(
            (status, reply),
            (
                202,
                json!({"status": "success", "message": "Event processed", "dedup_key": "srv01/disk"})
            )
        );
    }
    let listed = alerts(&app, &token).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let group = &listed[0];
    assert_eq!(
        (
            &group["fingerprint"],
            &group["count"],
            &group["severity"],
            &group["source"]
        ),
        (
            &json!("srv01/disk"),
            &json!(2),
            &json!("critical"),
            &json!("prod-datapipe03.example.com")
        )
    );
    let id = group["id"].as_str().unwrap().to_owned();

    let (status, reply) = post_event(&app, &pd_event("acknowledge", KEY, Some("srv01/disk"))).await;
    assert_eq!((status, &reply["dedup_key"]), (202, &json!("srv01/disk")));
    let (_, acked) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(acked["status"], "acknowledged");

    let (status, _) = post_event(&app, &pd_event("resolve", KEY, Some("srv01/disk"))).await;
    assert_eq!(status, 202);
    let (_, resolved) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(resolved["status"], "resolved");
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    let moves: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["to"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(moves, [("acknowledged", "ingest"), ("resolved", "ingest")]);

    // Without a dedup key the server makes one, and the same event again folds into it.
    let (status, first) = post_event(&app, &pd_event("trigger", KEY, None)).await;
    assert_eq!(status, 202);
    let made = first["dedup_key"].as_str().expect("a dedup key").to_owned();
    let (_, second) = post_event(&app, &pd_event("trigger", KEY, None)).await;
    assert_eq!(second["dedup_key"], made.as_str());
    let listed = alerts(&app, &token).await;
    let made_group = listed
        .iter()
        .find(|a| a["fingerprint"] == made.as_str())
        .expect("a group under the made key");
    assert_eq!(made_group["count"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_refuses_bad_keys_and_bad_events_without_changing_anything() {
    let app = receiving_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let (status, reply) = post_event(&app, &pd_event("trigger", "wrong-key", Some("k"))).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["status"], "unauthorized");
    let mut keyless = pd_event("trigger", KEY, Some("k"));
    keyless.as_object_mut().unwrap().remove("routing_key");
    let (status, reply) = post_event(&app, &keyless).await;
    assert_eq!((status, &reply["status"]), (400, &json!("invalid event")));
    assert!(reply["errors"][0].as_str().unwrap().contains("routing_key"));

    let mut bad_severity = pd_event("trigger", KEY, Some("k"));
    bad_severity["payload"]["severity"] = json!("disaster");
    let mut no_summary = pd_event("trigger", KEY, Some("k"));
    no_summary["payload"]
        .as_object_mut()
        .unwrap()
        .remove("summary");
    let mut bad_time = pd_event("trigger", KEY, Some("k"));
    bad_time["payload"]["timestamp"] = json!("yesterday");
    let cases = [
        (bad_severity, "payload.severity"),
        (no_summary, "summary"),
        (bad_time, "payload.timestamp"),
        (pd_event("snooze", KEY, Some("k")), "event_action"),
        (pd_event("resolve", KEY, None), "dedup_key"),
    ];
    for (event, field) in cases {
        let (status, reply) = post_event(&app, &event).await;
        assert_eq!(status, 400, "{field}: {reply}");
        assert_eq!(reply["status"], "invalid event");
        assert_eq!(reply["message"], "Event object is invalid");
        assert!(
            reply["errors"][0].as_str().unwrap().contains(field),
            "{field}: {reply}"
        );
    }
    let reply = app
        .client
        .post(app.url("/integrations/pagerduty"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["status"],
        "invalid event"
    );
    assert!(alerts(&app, &token).await.is_empty(), "nothing was stored");

    // An acknowledgement of a key nobody triggered is accepted and changes nothing.
    let (status, _) = post_event(&app, &pd_event("acknowledge", KEY, Some("nobody"))).await;
    assert_eq!(status, 202);
    assert!(alerts(&app, &token).await.is_empty());
}
