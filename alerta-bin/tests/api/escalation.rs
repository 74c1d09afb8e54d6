//! Escalation from the running binary to a real SMTP server (aiosmtpd): a critical alert
//! nobody acknowledges is mailed again at its times, exactly once across a restart, and an
//! acknowledged one stops being mailed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::start_binary_with;
use crate::mail::{Sink, admin_token, free_port, outbox, received};

fn subject(message: &Value) -> String {
    message["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("subject"))
        .map(|h| h[1].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn header(message: &Value, name: &str) -> String {
    message["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The subjects received so far that start with `prefix`.
fn received_starting(spool: &Path, prefix: &str) -> Vec<Value> {
    received(spool)
        .into_iter()
        .filter(|m| subject(m).starts_with(prefix))
        .collect()
}

async fn post_alert(client: &reqwest::Client, base: &str, token: &str, source: &str) -> String {
    let reply = client
        .post(format!("{base}/events"))
        .bearer_auth(token)
        .json(&json!({"source": source, "severity": "critical", "message": "caída"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let body: Value = reply.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reminders_go_once_across_a_restart_and_stop_at_acknowledgement() {
    let data_dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let _sink = Sink::start(port, spool.path());
    let smtp_url = format!("smtp://127.0.0.1:{port}?tls=none");
    let env = [
        ("ALERTA_SMTP_URL", smtp_url.as_str()),
        ("ALERTA_ALERT_EMAILS", "ops@campus.edu"),
        ("ALERTA_ESCALATE_AFTER", "3s"),
        ("ALERTA_ESCALATE_EVERY", "2s"),
        ("ALERTA_ESCALATE_LIMIT", "3"),
        ("ALERTA_ESCALATION_EMAILS", "boss@campus.edu"),
    ];
    let client = reqwest::Client::new();
    let mut first = start_binary_with(data_dir.path(), &env).await;
    let token = admin_token(&client, &first.base).await;
    let ignored = post_alert(&client, &first.base, &token, "sensor_a").await;
    let acked = post_alert(&client, &first.base, &token, "sensor_b").await;
    let reply = client
        .post(format!("{}/events/{acked}/ack", first.base))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    // The first reminder of the ignored alert is sent and marked so; then the server dies.
    // (Killed between the SMTP server's acceptance and the mark, a row waits for its lease to
    // end and is sent again: the outbox is at least once across a crash, exactly once
    // otherwise.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = outbox(&client, &first.base, &token).await;
        let sent = rows.iter().any(|r| {
            r["cause"]["kind"] == "reminder"
                && r["cause"]["about"]["alert"] == json!(ignored)
                && r["state"] == "sent"
        });
        if sent {
            break;
        }
        assert!(Instant::now() < deadline, "no reminder was sent: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!received_starting(spool.path(), "[CRITICAL] Alerta: sensor_a (reminder").is_empty());
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();

    // Another process on the same data takes over the rest of the schedule.
    let second = start_binary_with(data_dir.path(), &env).await;
    let token = admin_token(&client, &second.base).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let rows = outbox(&client, &second.base, &token).await;
        let reminders: Vec<&Value> = rows
            .iter()
            .filter(|r| r["cause"]["kind"] == "reminder")
            .collect();
        assert_eq!(reminders.len(), 6, "three reminders per alert: {rows:?}");
        let settled = reminders
            .iter()
            .all(|r| r["state"] == "sent" || r["state"] == "cancelled");
        if settled {
            for row in &reminders {
                let alert = &row["cause"]["about"]["alert"];
                let expected = if *alert == json!(ignored) {
                    "sent"
                } else {
                    "cancelled"
                };
                assert_eq!(row["state"], expected, "{row}");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reminders never settled: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let reminders = received_starting(spool.path(), "[CRITICAL] Alerta: sensor_a (reminder");
    let mut ids: Vec<String> = reminders.iter().map(|m| header(m, "Message-ID")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (reminders.len(), ids.len()),
        (3, 3),
        "each reminder arrives exactly once: {reminders:?}"
    );
    for (n, message) in reminders.iter().enumerate() {
        assert!(
            subject(message).contains(&format!("(reminder {}", n + 1)),
            "in order: {message}"
        );
        assert_eq!(
            message["rcpt_tos"],
            json!(["ops@campus.edu", "boss@campus.edu"])
        );
    }
    assert!(
        received_starting(spool.path(), "[CRITICAL] Alerta: sensor_b (reminder").is_empty(),
        "the acknowledged alert got no reminder"
    );
    assert_eq!(
        received_starting(spool.path(), "[CRITICAL] Alerta: sensor_").len(),
        5,
        "two alert mails and three reminders in all"
    );
}
