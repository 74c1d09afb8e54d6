//! Retention: settled mail rows go once they are older than `retain_mail`; pending ones stay.

use std::time::Duration;

use serde_json::{Value, json};

use crate::grouping::outbox;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, eventually, spawn_app_with};

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
