//! The WebSocket hub and its `/ws` route over real sockets, merged into the REST router as
//! the binary does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alerta_adapters::http::{HttpConfig, router};
use alerta_adapters::memory::{MemoryBlobStore, MemoryStore};
use alerta_adapters::websocket::{Hub, HubConfig, WsConfig, routes};
use alerta_core::domain::{
    AlertDraft, Audience, Channel, CommentText, NewUser, Role, Status, StreamKind, StreamMessage,
    Timestamp, Topic, User,
};
use alerta_core::ports::Storage;
use alerta_core::{Alerta, StatusChange};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async};

/// The bound on any single wait in these tests.
const WAIT: Duration = Duration::from_secs(30);

type Socket = WebSocketStream<TcpStream>;

struct World {
    addr: SocketAddr,
    app: Alerta,
    hub: Hub,
    student: (User, String),
    staff: (User, String),
}

impl World {
    async fn start(hub_config: HubConfig, ws_config: WsConfig) -> Self {
        let hub = Hub::new(hub_config);
        let app = Alerta::builder(
            Storage::from_backend(Arc::new(MemoryStore::new())),
            Arc::new(MemoryBlobStore::new()),
            Arc::new(hub.clone()),
        )
        .build();
        let api = router(app.clone(), HttpConfig::default()).merge(routes(
            hub.clone(),
            app.clone(),
            ws_config,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, api).await });
        let student = user(&app, "ana@campus.edu", Role::Student).await;
        let staff = user(&app, "staff@campus.edu", Role::Staff).await;
        Self {
            addr,
            app,
            hub,
            student,
            staff,
        }
    }

    async fn default() -> Self {
        Self::start(HubConfig::default(), WsConfig::default()).await
    }

    /// A subscriber with `query`, ready: its registration is done when this returns.
    async fn subscribe(&self, query: &str) -> Socket {
        let mut socket = self
            .connect(query, None)
            .await
            .unwrap_or_else(|e| panic!("upgrade with {query}: {e}"));
        ready(&mut socket).await;
        socket
    }

    async fn connect(&self, query: &str, origin: Option<&str>) -> Result<Socket, WsError> {
        let mut request = format!("ws://{}/ws?{query}", self.addr).into_client_request()?;
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        let tcp = TcpStream::connect(self.addr).await?;
        let (socket, _) = client_async(request, tcp).await?;
        Ok(socket)
    }

    async fn alert(&self, message: &str) -> String {
        let draft = AlertDraft::parse("sensor_01", "info", message, Channel::Ws).unwrap();
        let stored = self.app.ingest_alerts(vec![draft]).await.unwrap();
        stored[0].id.to_string()
    }
}

async fn user(app: &Alerta, email: &str, role: Role) -> (User, String) {
    let user = app
        .add_user(NewUser::parse(email, "password123", "Persona", role).unwrap())
        .await
        .unwrap();
    let login = app.login(email, "password123", None).await.unwrap();
    (user, login.token.expose().to_owned())
}

/// Waits until the server's connection loop runs: it answers a ping only from there, after
/// the subscriber is registered (and any replay sent, which arrives before the pong).
async fn ready(socket: &mut Socket) {
    socket
        .send(Message::Ping(Bytes::from_static(b"ready?")))
        .await
        .unwrap();
    loop {
        match next_frame(socket).await {
            Message::Pong(payload) if payload.as_ref() == b"ready?" => return,
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("a frame before the pong: {other:?}"),
        }
    }
}

async fn next_frame(socket: &mut Socket) -> Message {
    timeout(WAIT, socket.next())
        .await
        .expect("a frame in time")
        .expect("the stream is open")
        .expect("a valid frame")
}

/// The next server message, skipping keepalive frames.
async fn next_message(socket: &mut Socket) -> Value {
    loop {
        match next_frame(socket).await {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code, skipping messages.
async fn close_code(socket: &mut Socket) -> (CloseCode, usize) {
    let mut skipped = 0;
    loop {
        match next_frame(socket).await {
            Message::Close(Some(frame)) => return (frame.code, skipped),
            Message::Close(None) => panic!("a close frame without a code"),
            Message::Text(_) => skipped += 1,
            _ => {}
        }
    }
}

fn refused_status(result: Result<Socket, WsError>) -> (u16, Value) {
    match result {
        Err(WsError::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| serde_json::from_slice(b).unwrap())
                .unwrap_or(Value::Null);
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, got an upgrade"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshake_without_a_good_token_is_refused() {
    let world = World::default().await;
    let (status, body) = refused_status(world.connect("", None).await);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _) = refused_status(world.connect("token=not-a-session", None).await);
    assert_eq!(status, 401);
    assert_eq!(world.hub.subscriber_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshake_from_a_foreign_origin_is_refused() {
    let world = World::start(
        HubConfig::default(),
        WsConfig::default().allow_origin("https://dashboard.campus.edu"),
    )
    .await;
    let token = format!("token={}", world.student.1);
    let (status, body) = refused_status(world.connect(&token, Some("https://evil.example")).await);
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden_origin");

    let same_origin = format!("http://{}", world.addr);
    for origin in [
        Some(same_origin.as_str()),
        Some("https://dashboard.campus.edu"),
        None,
    ] {
        let socket = world.connect(&token, origin).await;
        assert!(socket.is_ok(), "{origin:?} is allowed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_bad_parameters_are_refused_before_upgrading() {
    let world = World::default().await;
    let token = &world.student.1;
    let (status, body) = refused_status(
        world
            .connect(&format!("token={token}&topics=incidents,weather"), None)
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_topics"))
    );
    let (status, body) = refused_status(
        world
            .connect(&format!("token={token}&since=../x"), None)
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_since"))
    );

    let plain = reqwest::get(format!("http://{}/ws?token={token}", world.addr))
        .await
        .unwrap();
    assert_eq!(
        plain.status().as_u16(),
        400,
        "a GET without the upgrade headers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_students_never_receive_comment_events() {
    let world = World::default().await;
    let mut student = world.subscribe(&format!("token={}", world.student.1)).await;
    let mut staff = world.subscribe(&format!("token={}", world.staff.1)).await;

    let draft = world
        .app
        .parse_draft(
            "infraestructura",
            "Fuga de agua en el baño",
            "Biblioteca",
            "alta",
        )
        .unwrap();
    let incident = world
        .app
        .report_incident(&world.student.0, draft, None)
        .await
        .unwrap();
    world
        .app
        .comment(
            &world.staff.0,
            &incident.id,
            CommentText::parse("internal note").unwrap(),
            None,
        )
        .await
        .unwrap();
    let change = StatusChange {
        to: Status::EnProceso,
        note: None,
        expected_version: None,
    };
    world
        .app
        .change_status(&world.staff.0, &incident.id, change, None)
        .await
        .unwrap();

    let staff_saw: Vec<Value> = [
        next_message(&mut staff).await,
        next_message(&mut staff).await,
        next_message(&mut staff).await,
    ]
    .into();
    let kinds: Vec<&str> = staff_saw
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident.created",
            "incident.comment_added",
            "incident.status_changed"
        ]
    );
    // The status change was published after the comment, so the student's queue would hold
    // the comment before it.
    let first = next_message(&mut student).await;
    let second = next_message(&mut student).await;
    assert_eq!(first["type"], "incident.created");
    assert_eq!(second["type"], "incident.status_changed");
    assert_eq!(second["id"], staff_saw[2]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_topics_filter_messages() {
    let world = World::default().await;
    let mut alerts_only = world
        .subscribe(&format!("token={}&topics=alerts", world.staff.1))
        .await;
    let mut incidents_only = world
        .subscribe(&format!("token={}&topics=incidents", world.staff.1))
        .await;

    let draft = world
        .app
        .parse_draft(
            "infraestructura",
            "Ventana rota en el aula",
            "Aula 101",
            "media",
        )
        .unwrap();
    world
        .app
        .report_incident(&world.student.0, draft, None)
        .await
        .unwrap();
    let alert_id = world.alert("disk full").await;

    let got = next_message(&mut alerts_only).await;
    assert_eq!(
        (got["type"].as_str(), got["id"].as_str()),
        (Some("alert"), Some(alert_id.as_str()))
    );
    assert_eq!(got["data"]["message"], "disk full");
    let got = next_message(&mut incidents_only).await;
    assert_eq!(got["type"], "incident.created");
    // Nothing else is on its way to either: a pong answers only after what was queued.
    ready(&mut alerts_only).await;
    ready(&mut incidents_only).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_reconnect_with_since_gets_exactly_the_missed_messages() {
    // Small replay pages, so that the replay takes several queries while alerts keep coming.
    let world = World::start(HubConfig::default().replay_page(3), WsConfig::default()).await;
    let token = world.staff.1.clone();
    let mut first = world.subscribe(&format!("token={token}")).await;
    let mut all_ids = Vec::new();
    for i in 0..3 {
        all_ids.push(world.alert(&format!("seen {i}")).await);
    }
    let mut last_seen = String::new();
    for id in &all_ids {
        let message = next_message(&mut first).await;
        assert_eq!(message["id"].as_str(), Some(id.as_str()));
        last_seen = id.clone();
    }
    first.close(None).await.unwrap();
    drop(first);

    let mut missed = Vec::new();
    for i in 0..10 {
        missed.push(world.alert(&format!("missed {i}")).await);
    }
    // More alerts arrive while the reconnected client's replay runs.
    let concurrent = {
        let world_app = world.app.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..30 {
                let draft =
                    AlertDraft::parse("sensor_01", "info", &format!("during {i}"), Channel::Ws)
                        .unwrap();
                ids.push(
                    world_app.ingest_alerts(vec![draft]).await.unwrap()[0]
                        .id
                        .to_string(),
                );
                tokio::task::yield_now().await;
            }
            ids
        })
    };
    let mut second = world
        .connect(&format!("token={token}&since={last_seen}"), None)
        .await
        .unwrap();
    let during = concurrent.await.unwrap();
    let marker = world.alert("marker").await;

    let mut expected = missed.clone();
    expected.extend(during);
    expected.push(marker.clone());
    let mut received = Vec::new();
    loop {
        let message = next_message(&mut second).await;
        let id = message["id"].as_str().unwrap().to_owned();
        received.push(id.clone());
        if id == marker {
            break;
        }
    }
    assert_eq!(received, expected, "no gap, no duplicate, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_slow_subscriber_is_dropped_without_delaying_others() {
    const READERS: usize = 100;
    const ROUND: usize = 8;
    let world = World::start(
        HubConfig::default()
            .queue_capacity(32)
            // Long enough for the slow client to catch up and read why it was dropped.
            .close_timeout(Duration::from_secs(60)),
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();

    // The slow subscriber never reads, through a small receive window.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(world.addr).await.unwrap();
    let request = format!("ws://{}/ws?token={token}", world.addr)
        .into_client_request()
        .unwrap();
    let (mut slow, _) = client_async(request, tcp).await.unwrap();
    ready(&mut slow).await;

    // The readers take alerts only; the filler messages are incident messages.
    let (progress, watch) = tokio::sync::watch::channel(0usize);
    let progress = Arc::new(progress);
    let out_of_order = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut socket = world
            .subscribe(&format!("token={token}&topics=alerts"))
            .await;
        let progress = progress.clone();
        let out_of_order = out_of_order.clone();
        readers.push(tokio::spawn(async move {
            let mut expected = 0u64;
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Text(text) = frame {
                    let message: Value = serde_json::from_str(text.as_str()).unwrap();
                    if message["data"]["seq"] != expected {
                        out_of_order.store(true, Ordering::SeqCst);
                    }
                    expected += 1;
                    progress.send_modify(|n| *n += 1);
                }
            }
        }));
    }
    assert_eq!(world.hub.subscriber_count(), READERS + 1);

    let message = |seq: u64, topic: Topic, pad: usize| StreamMessage {
        kind: match topic {
            Topic::Alerts => StreamKind::Alert,
            Topic::Incidents => StreamKind::IncidentCreated,
        },
        id: format!("{seq:026}"),
        at: Timestamp::from_unix_millis(0),
        data: json!({ "seq": seq, "pad": "x".repeat(pad) }),
        topic,
        audience: Audience::Everyone,
    };
    let mut seq = 0u64;
    let mut filler = 0u64;
    let mut rounds_after_drop = 0;
    let mut watch = watch;
    while rounds_after_drop < 3 {
        // Fill the slow subscriber's socket and queue, reaching no reader.
        if world.hub.slow_disconnects() == 0 {
            for _ in 0..64 {
                world
                    .hub
                    .broadcast(&message(filler, Topic::Incidents, 16 * 1024));
                filler += 1;
                tokio::task::yield_now().await;
            }
        } else {
            rounds_after_drop += 1;
        }
        // Every reader gets each round promptly, stuck subscriber or not.
        for _ in 0..ROUND {
            world.hub.broadcast(&message(seq, Topic::Alerts, 256));
            seq += 1;
        }
        let target = READERS * seq as usize;
        timeout(Duration::from_secs(10), watch.wait_for(|n| *n >= target))
            .await
            .unwrap_or_else(|_| panic!("round {} was delayed", seq / ROUND as u64))
            .unwrap();
        assert!(filler < 100_000, "the slow subscriber was never dropped");
    }
    assert!(
        !out_of_order.load(Ordering::SeqCst),
        "each reader got every alert in order"
    );
    assert_eq!(world.hub.slow_disconnects(), 1);
    assert_eq!(world.hub.subscriber_count(), READERS);

    let (code, received) = close_code(&mut slow).await;
    assert_eq!(code, CloseCode::Again, "closed with 1013");
    assert!(
        (received as u64) < filler + seq,
        "dropped messages instead of waiting for it"
    );
    for reader in readers {
        reader.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_silent_clients_are_dropped_and_answering_ones_kept() {
    let world = World::start(
        HubConfig::default()
            .ping_interval(Duration::from_millis(50))
            .idle_timeout(Duration::from_millis(300)),
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    let mut silent = world.subscribe(&format!("token={token}")).await;
    let mut answering = world.subscribe(&format!("token={token}")).await;

    // Reading answers pings; the answering client reads until the silent one is gone.
    let keep_reading = tokio::spawn(async move {
        let mut pings = 0;
        while pings < 40 {
            match next_frame(&mut answering).await {
                Message::Ping(_) => pings += 1,
                Message::Close(frame) => panic!("an answering client was closed: {frame:?}"),
                _ => {}
            }
        }
        answering
    });
    let mut answering = keep_reading.await.unwrap();
    assert_eq!(
        world.hub.subscriber_count(),
        1,
        "only the answering client remains"
    );
    let (code, _) = close_code(&mut silent).await;
    assert_eq!(code, CloseCode::Away);
    let id = world.alert("still delivered").await;
    assert_eq!(
        next_message(&mut answering).await["id"].as_str(),
        Some(id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_oversized_client_messages_close_the_connection() {
    let world = World::default().await;
    let mut socket = world.subscribe(&format!("token={}", world.staff.1)).await;
    socket
        .send(Message::Text("x".repeat(70 * 1024).into()))
        .await
        .unwrap();
    let (code, _) = close_code(&mut socket).await;
    assert_eq!(code, CloseCode::Size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_hub_shutdown_closes_every_subscriber() {
    let world = World::default().await;
    let mut socket = world.subscribe(&format!("token={}", world.staff.1)).await;
    world.hub.shutdown();
    let (code, _) = close_code(&mut socket).await;
    assert_eq!(code, CloseCode::Away);
    let (status, _) = match world
        .connect(&format!("token={}", world.staff.1), None)
        .await
    {
        Ok(mut late) => (close_code(&mut late).await.0, ()),
        Err(e) => panic!("the upgrade itself still works: {e}"),
    };
    assert_eq!(status, CloseCode::Away, "a late subscriber is turned away");
}
