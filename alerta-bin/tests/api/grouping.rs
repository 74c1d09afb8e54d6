//! Alert grouping by fingerprint, over TCP and HTTP against a running server.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app_with};

const LINES: usize = 1_000;

async fn mailing_app() -> TestApp {
    spawn_app_with(|config| config.alert_emails = vec!["ops@campus.edu".into()]).await
}

/// Every occurrence page of the alert `id`, newest first, 500 at a time.
async fn all_occurrences(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/events/{id}/occurrences?limit=500");
    loop {
        let (status, page) = app.get(token, &path).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/events/{id}/occurrences?limit=500&cursor={cursor}"),
            None => return items,
        }
    }
}

/// Every outbox row, newest first (up to 500).
pub(crate) async fn outbox(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = app.get(token, "/admin/outbox?limit=500").await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_source_over_tcp_is_one_group_with_one_mail() {
    let app = mailing_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let stream = TcpStream::connect(app._running.tcp_addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let line = json!({"source": "ups_3", "severity": "critical", "message": "Batería baja"});
    let lines = format!("{line}\n").repeat(LINES);
    let sender = tokio::spawn(async move {
        write.write_all(lines.as_bytes()).await.unwrap();
        write
    });
    let mut replies = BufReader::new(read).lines();
    let mut ids = std::collections::HashSet::new();
    for n in 0..LINES {
        let reply = tokio::time::timeout(Duration::from_secs(60), replies.next_line())
            .await
            .unwrap_or_else(|_| panic!("reply {n} did not come"))
            .unwrap()
            .expect("a reply line");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["ok"], true, "line {n}: {reply}");
        ids.insert(reply["id"].as_str().unwrap().to_owned());
    }
    let _write = sender.await.unwrap();
    assert_eq!(
        ids.len(),
        1,
        "every line is an occurrence of one alert: {ids:?}"
    );
    let id = ids.into_iter().next().unwrap();

    let (status, list) = app.get(&token, "/events").await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the list shows one group: {list}");
    let group = &items[0];
    assert_eq!(group["id"], id.as_str());
    assert_eq!(group["count"], LINES);
    assert_eq!(group["status"], "firing");
    assert!(
        group["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(group["first_seen"].as_str().unwrap() <= group["last_seen"].as_str().unwrap());
    let (_, one) = app.get(&token, &format!("/events/{id}")).await;
    // The list and a read by id say the same, down to the incident opened from it, if any.
    assert_eq!(one["incident_id"], Value::Null);
    assert_eq!(&one, group);

    let occurrences = all_occurrences(&app, &token, &id).await;
    let total: u64 = occurrences
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, LINES as u64, "each occurrence's time is kept");
    let times: Vec<&str> = occurrences
        .iter()
        .map(|o| o["at"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(times.last().copied(), group["first_seen"].as_str());
    assert_eq!(times.first().copied(), group["last_seen"].as_str());
    let (status, refused) = app
        .get(&token, &format!("/events/{id}/occurrences?limit=501"))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (400, &json!("invalid_limit"))
    );

    let rows = outbox(&app, &token).await;
    assert_eq!(
        rows.len(),
        1,
        "one mail for the whole flapping source: {rows:?}"
    );
    assert_eq!(rows[0]["message"]["subject"], "[CRITICAL] Alerta: ups_3");
}

#[tokio::test]
async fn an_explicit_fingerprint_or_dedup_key_groups_alerts_over_http() {
    let app = mailing_app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, first) = app
        .post(
            &token,
            "/events",
            json!({"source": "db_1", "severity": "error", "message": "disco lleno",
                   "fingerprint": "disk-full/db"}),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    let (status, second) = app
        .post(
            &token,
            "/events",
            json!({"source": "db_2", "severity": "critical", "message": "sin espacio",
                   "dedup_key": "disk-full/db"}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        second["id"],
        id.as_str(),
        "dedup_key is the same fingerprint"
    );
    let (_, group) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(
        (
            &group["count"],
            &group["fingerprint"],
            &group["source"],
            &group["version"]
        ),
        (&json!(2), &json!("disk-full/db"), &json!("db_1"), &json!(2))
    );

    for bad in [
        json!({"source": "x", "severity": "error", "message": "m", "fingerprint": "a",
               "dedup_key": "b"}),
        json!({"source": "x", "severity": "error", "message": "m", "fingerprint": "  "}),
        json!({"source": "x", "severity": "error", "message": "m", "fingerprint": 7}),
        json!({"source": "x", "severity": "error", "message": "m", "dedup_key": "x".repeat(201)}),
    ] {
        let (status, body) = app.post(&token, "/events", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_fingerprint", "{bad}");
    }
    let (_, list) = app.get(&token, "/events").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "bad input stores nothing"
    );

    // An acknowledgement made before a fold is stale; made again, it lands, and a later
    // occurrence leaves the group acknowledged.
    let (status, acked) = app
        .post(&token, &format!("/events/{id}/ack"), json!({"version": 1}))
        .await;
    assert_eq!(
        (status, &acked["error"]["code"]),
        (409, &json!("stale_version"))
    );
    let (status, acked) = app
        .post(&token, &format!("/events/{id}/ack"), json!({"version": 2}))
        .await;
    assert_eq!(status, 200, "{acked}");
    let again = json!({"source": "db_3", "severity": "error", "message": "otra vez",
                       "fingerprint": "disk-full/db"});
    app.post(&token, "/events", again.clone()).await;
    let (_, group) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(
        (&group["status"], &group["count"], &group["version"]),
        (&json!("acknowledged"), &json!(3), &json!(4))
    );
    assert_eq!(outbox(&app, &token).await.len(), 1, "folds send no mail");

    // After a resolution the next occurrence reopens the same alert, and it is mailed again.
    let (status, _) = app
        .post(&token, &format!("/events/{id}/resolve"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, reopened) = app.post(&token, "/events", again).await;
    assert_eq!((status, &reopened["id"]), (201, &json!(id)));
    let (_, group) = app.get(&token, &format!("/events/{id}")).await;
    assert_eq!(
        (&group["status"], &group["count"], &group["version"]),
        (&json!("firing"), &json!(4), &json!(6))
    );
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["from"], &last["to"], &last["actor"]),
        (&json!("resolved"), &json!("firing"), &json!("ingest"))
    );
    // The alert mail, the resolution's "resolved" mail, and the reopening's alert mail.
    let mut kinds: Vec<Value> = outbox(&app, &token)
        .await
        .iter()
        .map(|row| row["cause"]["kind"].clone())
        .collect();
    kinds.sort_by_key(|kind| kind.to_string());
    assert_eq!(
        kinds,
        [json!("alert"), json!("alert"), json!("alert_resolved")]
    );
}
