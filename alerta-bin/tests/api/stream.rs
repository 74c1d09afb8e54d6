//! The stream through the real server: writers over HTTP and TCP at once, a client connected
//! throughout and one that keeps reconnecting with `since=`.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The bound on any single wait.
const WAIT: Duration = Duration::from_secs(60);

pub async fn subscribe(ws_base: &str, token: &str, since: Option<&str>) -> Socket {
    let mut url = format!("{ws_base}/ws?token={token}");
    if let Some(since) = since {
        url.push_str(&format!("&since={since}"));
    }
    let (socket, _) = connect_async(url).await.expect("the stream upgrades");
    socket
}

/// The next message, skipping keepalive frames.
pub async fn next_message(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message in time")
            .expect("the stream is open")
            .expect("a valid frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

/// Messages up to and including the alert whose text is `marker`.
pub async fn read_until(socket: &mut Socket, marker: &str) -> Vec<Value> {
    let mut received = Vec::new();
    loop {
        let message = next_message(socket).await;
        let done = message["data"]["message"] == marker;
        received.push(message);
        if done {
            return received;
        }
    }
}

pub fn ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Sends `count` alerts over one TCP connection, each acknowledged before the next.
async fn tcp_writer(addr: std::net::SocketAddr, name: String, count: usize) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read).lines();
    for n in 0..count {
        let line = json!({"source": "tcp", "severity": "info", "message": format!("{name}.{n}")});
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let reply = replies.next_line().await.unwrap().expect("a reply line");
        assert!(reply.contains("\"ok\":true"), "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resuming_client_under_http_and_tcp_writers_ends_with_the_live_sequence() {
    let app = spawn_app().await;
    let ws_base = app.base.replacen("http://", "ws://", 1);
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let tcp_addr = app._running.tcp_addr;
    // One incident per HTTP writer: comments without a version race only with their own
    // writer's, so none runs out of retries on a loaded machine.
    let mut incidents = Vec::new();
    for _ in 0..4 {
        let (status, created) = app
            .post(
                &admin,
                "/incidents",
                json!({"tipo": "seguridad", "descripcion": "Puerta forzada", "ubicacion": "Biblioteca", "urgencia": "alta"}),
            )
            .await;
        assert_eq!(status, 201);
        incidents.push(created["incident_id"].as_str().unwrap().to_owned());
    }

    for round in 0..3 {
        let (_, list) = app.get(&admin, "/events?limit=1").await;
        let start = list["stream"]
            .as_str()
            .expect("the list's stream id")
            .to_owned();
        let mut live = subscribe(&ws_base, &admin, Some(&start)).await;
        let resuming = {
            let ws_base = ws_base.clone();
            let admin = admin.clone();
            tokio::spawn(async move {
                let mut received: Vec<Value> = Vec::new();
                let mut last = start;
                let mut reconnects = 0usize;
                loop {
                    let mut socket = subscribe(&ws_base, &admin, Some(&last)).await;
                    reconnects += 1;
                    for _ in 0..1 + reconnects % 9 {
                        let message = next_message(&mut socket).await;
                        last = message["id"].as_str().unwrap().to_owned();
                        let done = message["data"]["message"] == "marker";
                        received.push(message);
                        if done {
                            return (received, reconnects);
                        }
                    }
                }
            })
        };
        let mut writers = Vec::new();
        for w in 0..4 {
            writers.push(tokio::spawn(tcp_writer(
                tcp_addr,
                format!("r{round}t{w}"),
                60,
            )));
        }
        for (w, incident) in incidents.iter().cloned().enumerate() {
            let client = app.client.clone();
            let base = app.base.clone();
            let admin = admin.clone();
            writers.push(tokio::spawn(async move {
                for n in 0..30 {
                    let (path, body) = if (w + n) % 3 == 0 {
                        (
                            format!("/incidents/{incident}/comments"),
                            json!({"texto": format!("r{round}h{w}.{n}")}),
                        )
                    } else {
                        (
                            "/events".to_owned(),
                            json!({"source": "http", "severity": "warning", "message": format!("r{round}h{w}.{n}")}),
                        )
                    };
                    let reply = client
                        .post(format!("{base}{path}"))
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 201, "{path}");
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let (status, _) = app
            .post(
                &admin,
                "/events",
                json!({"source": "http", "severity": "info", "message": "marker"}),
            )
            .await;
        assert_eq!(status, 201);
        let live_messages = read_until(&mut live, "marker").await;
        let (resumed, reconnects) = resuming.await.unwrap();
        assert_eq!(
            live_messages.len(),
            4 * 60 + 4 * 30 + 1,
            "every write, once"
        );
        assert!(reconnects > 20, "the client reconnected {reconnects} times");
        assert_eq!(
            ids(&resumed),
            ids(&live_messages),
            "round {round}: the resuming client got exactly the live sequence"
        );
        // The marker went in last, so the head after it is where the next round starts.
        let (_, list) = app.get(&admin, "/events?limit=1").await;
        assert_eq!(list["stream"], live_messages.last().unwrap()["id"]);
    }
}
