//! Retention: settled mail rows go once they are older than `retain_mail`, pending ones stay;
//! resolved alerts go once older than `ALERTA_RETAIN_ALERTS`, firing and linked ones stay.

use std::time::Duration;

use serde_json::{Value, json};

use crate::grouping::outbox;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, eventually, spawn_app_with, start_binary_with};
use crate::mail::admin_token;
use crate::metrics::value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_mail_rows_age_out_and_pending_reminders_stay() {
    let app = spawn_app_with(|config| {
        config.alert_emails = vec!["ops@campus.edu".into()];
        // Reminders far in the future: pending rows older than the retention age.
        config.escalate_after = Some(Duration::from_secs(3600));
        config.retain_mail = Some(Duration::from_secs(2));
        config.retain_every = Duration::from_millis(300);
    })
    .await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let alert = json!({"source": "ups_1", "severity": "critical", "message": "sin red"});
    let (status, body) = app.post(&token, "/events", alert).await;
    assert_eq!(status, 201, "{body}");

    let rows = outbox(&app, &token).await;
    let reminders: Vec<Value> = rows
        .iter()
        .filter(|r| r["cause"]["kind"] == "reminder")
        .map(|r| r["id"].clone())
        .collect();
    assert!(!reminders.is_empty(), "reminders are scheduled: {rows:?}");
    assert!(
        rows.iter().any(|r| r["cause"]["kind"] == "alert"),
        "the alert mail is queued: {rows:?}"
    );

    let left = eventually(
        "the sent alert mail to age out",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            let rows = outbox(&app, &token).await;
            if rows.iter().any(|r| r["cause"]["kind"] == "alert") {
                Err(format!("{rows:?}"))
            } else {
                Ok(rows)
            }
        },
    )
    .await;
    let kept: Vec<Value> = left.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(kept, reminders, "every pending reminder stays");
    assert!(left.iter().all(|r| r["state"] == "pending"), "{left:?}");
}

/// A client of the `alerta` binary at `base`, signed in as the first admin.
struct Binary {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Binary {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let reply = request.bearer_auth(&self.token).send().await.unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// Stores an alert of `source` and returns its id.
    async fn alert(&self, source: &str) -> String {
        let body = json!({"source": source, "severity": "error", "message": "sin respuesta"});
        let (status, reply) = self.post("/events", body).await;
        assert_eq!(status, 201, "{reply}");
        reply["id"].as_str().unwrap().to_owned()
    }

    async fn resolve(&self, id: &str) {
        let (status, reply) = self.post(&format!("/events/{id}/resolve"), json!({})).await;
        assert_eq!(status, 200, "{reply}");
    }

    /// The ids `GET /events` lists.
    async fn listed(&self) -> Vec<String> {
        let (status, reply) = self.get("/events").await;
        assert_eq!(status, 200, "{reply}");
        reply["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|alert| alert["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `alerta_retention_removed_total{kind="alerts"}`, 0 before the first run.
    async fn removed_alerts(&self) -> f64 {
        let body = self
            .client
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))
            .expect("the Prometheus text format");
        value(
            &scrape,
            "alerta_retention_removed_total",
            &[("kind", "alerts")],
        )
        .unwrap_or(0.0)
    }
}

const METRICS_TOKEN: &str = "scrape-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_resolved_alerts_go_and_firing_or_linked_ones_stay() {
    alerts_age_out(&[]).await;
}

/// Starts the binary with `profile` (more environment) and a short alert retention, and
/// checks that an old resolved alert goes while a firing one and a linked one stay.
pub(crate) async fn alerts_age_out(profile: &[(&str, &str)]) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("ALERTA_RETAIN_ALERTS", "2s"),
        ("ALERTA_RETAIN_EVERY", "1s"),
        ("ALERTA_METRICS_TOKEN", METRICS_TOKEN),
    ];
    env.extend_from_slice(profile);
    let server = start_binary_with(data_dir.path(), &env).await;
    let client = reqwest::Client::new();
    let token = admin_token(&client, &server.base).await;
    let app = Binary {
        client,
        base: server.base.clone(),
        token,
    };
    let firing = app.alert("bomba_1").await;
    let linked = app.alert("bomba_2").await;
    let old = app.alert("bomba_3").await;
    // The linked alert is resolved before the one that goes, so it is as old when that one
    // goes: only its incident keeps it.
    app.resolve(&linked).await;
    let (status, incident) = app
        .post(&format!("/events/{linked}/incident"), json!({}))
        .await;
    assert_eq!(status, 201, "{incident}");
    app.resolve(&old).await;

    eventually(
        "the old resolved alert to go",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            match app.get(&format!("/events/{old}")).await {
                (404, _) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        },
    )
    .await;
    let listed = app.listed().await;
    assert!(!listed.contains(&old), "{listed:?}");
    assert!(
        listed.contains(&firing) && listed.contains(&linked),
        "{listed:?}"
    );
    let (status, _) = app.get(&format!("/events/{old}/history")).await;
    assert_eq!(status, 404, "its history went with it");
    let (status, alert) = app.get(&format!("/events/{firing}")).await;
    assert_eq!((status, alert["status"].as_str()), (200, Some("firing")));
    let (status, alert) = app.get(&format!("/events/{linked}")).await;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(alert["status"], "resolved");
    assert_eq!(alert["incident_id"], incident["incident_id"]);
    eventually(
        "the metric to count the removal",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            match app.removed_alerts().await {
                1.0 => Ok(()),
                other => Err(format!("{other}")),
            }
        },
    )
    .await;

    // The same alert again is a new one.
    let again = app.alert("bomba_3").await;
    assert_ne!(again, old);
    let (status, alert) = app.get(&format!("/events/{again}")).await;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(
        (alert["count"].as_u64(), alert["status"].as_str()),
        (Some(1), Some("firing"))
    );
}
