//! `kill -9` again and again under writers: whatever was acknowledged before a kill is there
//! after the restart, in the lists and in the stream's replay, and the server comes back on
//! the same data directory every time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{BinaryServer, eventually, start_binary};
use crate::mail::admin_token;
use crate::stream::{next_message, subscribe};

/// Kills, each after enough new acknowledgements that the writers are mid-stream: 4, or
/// `ALERTA_TEST_KILL_ROUNDS` for a long run.
fn rounds() -> usize {
    crate::helpers::from_env("ALERTA_TEST_KILL_ROUNDS", 4)
}
/// Acknowledged writes to wait for in a round before the kill.
const ACKS_PER_ROUND: usize = 150;

/// What the server acknowledged, across rounds.
#[derive(Default)]
struct Acknowledged {
    alerts: Mutex<Vec<String>>,
    incidents: Mutex<Vec<String>>,
}

impl Acknowledged {
    fn total(&self) -> usize {
        self.alerts.lock().unwrap().len() + self.incidents.lock().unwrap().len()
    }
}

/// Sends unique alerts over one connection, recording each once its `{"ok": true}` arrives,
/// until the connection breaks.
async fn tcp_writer(addr: String, name: String, acked: Arc<Acknowledged>) {
    let Ok(stream) = TcpStream::connect(&addr).await else {
        return;
    };
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read).lines();
    for n in 0.. {
        let message = format!("{name}.{n}");
        let line = json!({"source": "crash", "severity": "warning", "message": message});
        if write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
        match replies.next_line().await {
            Ok(Some(reply)) if reply.contains("\"ok\":true") => {
                acked.alerts.lock().unwrap().push(message);
            }
            Ok(Some(reply)) => panic!("a refused line: {reply}"),
            _ => return,
        }
    }
}

/// Reports incidents over HTTP, recording each id once its 201 arrives, until a request fails.
async fn http_writer(base: String, token: String, name: String, acked: Arc<Acknowledged>) {
    let client = reqwest::Client::new();
    for n in 0.. {
        let reply = client
            .post(format!("{base}/incidents"))
            .bearer_auth(&token)
            .json(&json!({"tipo": "seguridad", "descripcion": format!("{name}.{n}"), "ubicacion": "Biblioteca", "urgencia": "alta"}))
            .send()
            .await;
        let Ok(reply) = reply else { return };
        if reply.status() != 201 {
            return;
        }
        let Ok(body) = reply.json::<Value>().await else {
            return;
        };
        let id = body["incident_id"]
            .as_str()
            .expect("an incident id")
            .to_owned();
        acked.incidents.lock().unwrap().push(id);
    }
}

/// Every alert message stored, paging through `GET /events`.
async fn stored_alerts(client: &reqwest::Client, base: &str, token: &str) -> HashSet<String> {
    let mut messages = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/events?source=crash&limit=500");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().expect("items") {
            messages.insert(item["message"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return messages,
        }
    }
}

fn kill_9(server: &mut BinaryServer) {
    server.child.start_kill().expect("the server is running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_again_and_again() {
    let data_dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let acked = Arc::new(Acknowledged::default());

    let rounds = rounds();
    for round in 0..rounds {
        let mut server = start_binary(data_dir.path()).await;
        let token = admin_token(&client, &server.base).await;
        let before = acked.total();
        let mut writers = Vec::new();
        for w in 0..4 {
            writers.push(tokio::spawn(tcp_writer(
                server.tcp_addr.clone(),
                format!("r{round}.t{w}"),
                acked.clone(),
            )));
        }
        for w in 0..2 {
            writers.push(tokio::spawn(http_writer(
                server.base.clone(),
                token.clone(),
                format!("r{round}.h{w}"),
                acked.clone(),
            )));
        }
        eventually(
            "writes acknowledged before the kill",
            Duration::from_secs(60),
            Duration::from_millis(20),
            || {
                let done = acked.total() - before;
                async move {
                    if done >= ACKS_PER_ROUND {
                        Ok(())
                    } else {
                        Err(format!("{done} acknowledged"))
                    }
                }
            },
        )
        .await;
        kill_9(&mut server);
        let status = server.child.wait().await.unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
        for writer in writers {
            writer.await.expect("a writer ends when its server dies");
        }
    }

    let server = start_binary(data_dir.path()).await;
    let token = admin_token(&client, &server.base).await;

    let stored = stored_alerts(&client, &server.base, &token).await;
    let acked_alerts = acked.alerts.lock().unwrap().clone();
    let lost: Vec<&String> = acked_alerts
        .iter()
        .filter(|m| !stored.contains(*m))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged alerts lost, e.g. {:?}",
        lost.len(),
        acked_alerts.len(),
        lost.first()
    );
    let acked_incidents = acked.incidents.lock().unwrap().clone();
    assert!(!acked_incidents.is_empty() && acked_alerts.len() > rounds);
    for id in &acked_incidents {
        let reply = client
            .get(format!("{}/incidents/{id}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "acknowledged incident {id} is stored");
    }

    // The replay from the start of the log holds every acknowledged alert, in increasing
    // positions, and ends at a marker written after the last restart.
    let ws_base = server.base.replacen("http", "ws", 1);
    let head: Value = client
        .get(format!("{}/events?limit=1", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let epoch = head["stream"]
        .as_str()
        .and_then(|id| id.split(':').next())
        .expect("the list names the stream's head")
        .to_owned();
    let marker = "después del último reinicio";
    let reply = client
        .post(format!("{}/events", server.base))
        .bearer_auth(&token)
        .json(&json!({"source": "crash", "severity": "info", "message": marker}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let mut replay = subscribe(&ws_base, &token, Some(&format!("{epoch}:0"))).await;
    let mut replayed = HashSet::new();
    let mut last_position = 0u64;
    loop {
        let message = next_message(&mut replay).await;
        assert_ne!(
            message["type"], "reset",
            "the log holds everything: {message}"
        );
        let position: u64 = message["id"]
            .as_str()
            .and_then(|id| id.split(':').nth(1))
            .and_then(|p| p.parse().ok())
            .expect("a position");
        assert!(position > last_position, "positions increase: {message}");
        last_position = position;
        if let Some(text) = message["data"]["message"].as_str() {
            if text == marker {
                break;
            }
            replayed.insert(text.to_owned());
        }
    }
    let missing = acked_alerts
        .iter()
        .filter(|m| !replayed.contains(*m))
        .count();
    assert_eq!(missing, 0, "acknowledged alerts missing from the replay");
}
