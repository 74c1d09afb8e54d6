//! The WebSocket hub and its `/ws` route over real sockets, merged into the REST router as
//! the binary does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;

use alerta_adapters::http::{HttpConfig, router};
use alerta_adapters::memory::{MemoryBlobStore, MemoryStore};
use alerta_adapters::websocket::{Hub, HubConfig, WsConfig, routes};
use alerta_core::domain::{
    AlertDraft, Audience, Channel, CommentText, NewUser, Role, Status, Timestamp, User,
};
use alerta_core::ports::Storage;
use alerta_core::{Alerta, Settings, StatusChange};
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
    storage: Storage,
    student: (User, String),
    staff: (User, String),
    _dir: Option<tempfile::TempDir>,
}

/// Which store the world runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

impl World {
    async fn start(hub_config: HubConfig, ws_config: WsConfig) -> Self {
        Self::start_on(Backend::Memory, hub_config, ws_config).await
    }

    async fn start_on(backend: Backend, hub_config: HubConfig, ws_config: WsConfig) -> Self {
        Self::start_with(backend, hub_config, ws_config, Settings::default()).await
    }

    async fn start_with(
        backend: Backend,
        hub_config: HubConfig,
        ws_config: WsConfig,
        settings: Settings,
    ) -> Self {
        let (storage, dir) = match backend {
            Backend::Memory => (Storage::from_backend(Arc::new(MemoryStore::new())), None),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let store = alerta_adapters::sqlite::SqliteStore::open(dir.path().join("a.db"))
                    .await
                    .unwrap();
                (Storage::from_backend(Arc::new(store)), Some(dir))
            }
        };
        let hub = Hub::new(hub_config);
        hub.start(storage.stream.clone(), None).await.unwrap();
        let app = Alerta::builder(
            storage.clone(),
            Arc::new(MemoryBlobStore::new()),
            Arc::new(hub.clone()),
        )
        .settings(settings)
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
        let sockets = hub.config().clone();
        let listener = listener.tap_io(move |tcp| sockets.tune_socket(tcp).unwrap());
        tokio::spawn(async move { axum::serve(listener, api).await });
        let student = user(&app, "ana@campus.edu", Role::Student).await;
        let staff = user(&app, "staff@campus.edu", Role::Staff).await;
        Self {
            addr,
            app,
            hub,
            storage,
            student,
            staff,
            _dir: dir,
        }
    }

    async fn default() -> Self {
        Self::start(HubConfig::default(), WsConfig::default()).await
    }

    /// A subscriber with `query`, ready: its cursor is placed when this returns.
    async fn subscribe(&self, query: &str) -> Socket {
        let mut socket = self
            .connect(query, None)
            .await
            .unwrap_or_else(|e| panic!("upgrade with {query}: {e}"));
        ready(&mut socket).await;
        socket
    }

    async fn connect(&self, query: &str, origin: Option<&str>) -> Result<Socket, WsError> {
        connect_to(self.addr, query, origin).await
    }

    /// Ingests one alert; returns its alert id (the `data.id` of its message).
    async fn alert(&self, message: &str) -> String {
        let draft = AlertDraft::parse("sensor_01", "info", message, Channel::Ws).unwrap();
        let stored = self.app.ingest_alerts(vec![draft]).await.unwrap();
        stored[0].id.to_string()
    }

    async fn incident(&self) -> alerta_core::domain::Incident {
        let draft = self
            .app
            .parse_draft(
                "infraestructura",
                "Fuga de agua en el baño",
                "Biblioteca",
                "alta",
            )
            .unwrap();
        self.app
            .report_incident(&self.student.0, draft, None)
            .await
            .unwrap()
    }
}

async fn connect_to(
    addr: SocketAddr,
    query: &str,
    origin: Option<&str>,
) -> Result<Socket, WsError> {
    let mut request = format!("ws://{addr}/ws?{query}").into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    let tcp = TcpStream::connect(addr).await?;
    let (socket, _) = client_async(request, tcp).await?;
    Ok(socket)
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
/// its cursor is placed (and what was after it sent, which arrives before the pong).
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

/// The messages of `socket` up to and including the alert whose text is `marker`.
async fn read_until(socket: &mut Socket, marker: &str) -> Vec<Value> {
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

fn ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn position(message: &Value) -> u64 {
    let id = message["id"].as_str().expect("an id");
    id.split_once(':')
        .expect("epoch:position")
        .1
        .parse()
        .expect("a number")
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

    let (status, body) = refused_status(
        world
            .connect(&format!("token={token}&since=7:x"), None)
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

/// A student's stream, live and replayed, never names another student who reported, nor who
/// changed an incident; staff see both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_students_stream_carries_no_other_reporters_identity() {
    let world = World::default().await;
    let head = world.storage.stream.head().await.unwrap().id();
    let mut student = world.subscribe(&format!("token={}", world.student.1)).await;
    let mut staff = world.subscribe(&format!("token={}", world.staff.1)).await;
    let reporter = world
        .app
        .add_user(NewUser::parse("otra@campus.edu", "password123", "Otra", Role::Student).unwrap())
        .await
        .unwrap();
    let draft = world
        .app
        .parse_draft("seguridad", "Robo en el aula", "Aula 101", "alta")
        .unwrap();
    let incident = world
        .app
        .report_incident(&reporter, draft, None)
        .await
        .unwrap();
    let change = StatusChange {
        to: Status::InProgress,
        note: None,
        expected_version: None,
    };
    world
        .app
        .change_status(&world.staff.0, incident.id(), change, None)
        .await
        .unwrap();

    let check = |seen: &[Value]| {
        for message in seen {
            let text = message.to_string();
            assert!(
                !text.contains(reporter.id.as_str()) && !text.contains(world.staff.0.id.as_str()),
                "a student's message names someone: {text}"
            );
            assert_eq!(message["data"]["incident"]["reportado_por"], Value::Null);
            assert_eq!(message["data"]["event"]["actor"], Value::Null);
            assert_eq!(
                message["data"]["incident"]["incident_id"],
                incident.id().as_str()
            );
        }
    };
    let live = [
        next_message(&mut student).await,
        next_message(&mut student).await,
    ];
    assert_eq!(live[0]["type"], "incident.created");
    assert_eq!(live[1]["type"], "incident.status_changed");
    check(&live);
    // Replayed frames come at once, so no ping round first as `subscribe` does.
    let mut replay = world
        .connect(&format!("token={}&since={head}", world.student.1), None)
        .await
        .unwrap();
    let replayed = [
        next_message(&mut replay).await,
        next_message(&mut replay).await,
    ];
    assert_eq!(
        replayed.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        live.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        "the replay is the live sequence"
    );
    check(&replayed);

    let staff_saw = next_message(&mut staff).await;
    assert_eq!(
        staff_saw["data"]["incident"]["reportado_por"],
        reporter.id.as_str()
    );
    assert_eq!(staff_saw["data"]["event"]["actor"], reporter.id.as_str());
}

/// With incidents not public, a student's stream carries the students' messages about the
/// incidents they reported, live and replayed, and nothing about anyone else's.
async fn private_incidents_reach_their_reporter_only(backend: Backend) {
    let settings = Settings {
        public_incidents: false,
        ..Settings::default()
    };
    let world =
        World::start_with(backend, HubConfig::default(), WsConfig::default(), settings).await;
    let head = world.storage.stream.head().await.unwrap().id();
    let (otra, otra_token) = user(&world.app, "otra@campus.edu", Role::Student).await;
    let mut ana = world.subscribe(&format!("token={}", world.student.1)).await;
    let mut other = world.subscribe(&format!("token={otra_token}")).await;

    let mine = world.incident().await;
    let draft = world
        .app
        .parse_draft("seguridad", "Robo en el aula", "Aula 101", "alta")
        .unwrap();
    let theirs = world.app.report_incident(&otra, draft, None).await.unwrap();
    for incident in [&mine, &theirs] {
        let change = StatusChange {
            to: Status::InProgress,
            note: None,
            expected_version: None,
        };
        world
            .app
            .change_status(&world.staff.0, incident.id(), change, None)
            .await
            .unwrap();
    }
    world
        .app
        .comment(
            &world.staff.0,
            mine.id(),
            CommentText::parse("interno").unwrap(),
            None,
        )
        .await
        .unwrap();
    world.alert("marker").await;

    let about = |seen: &[Value]| -> Vec<(String, String)> {
        seen.iter()
            .map(|m| {
                let subject = m["data"]["incident"]["incident_id"]
                    .as_str()
                    .or(m["data"]["message"].as_str())
                    .unwrap()
                    .to_owned();
                (m["type"].as_str().unwrap().to_owned(), subject)
            })
            .collect()
    };
    let expect = |incident: &alerta_core::domain::Incident| {
        vec![
            ("incident.created".to_owned(), incident.id().to_string()),
            (
                "incident.status_changed".to_owned(),
                incident.id().to_string(),
            ),
            ("alert".to_owned(), "marker".to_owned()),
        ]
    };
    let live = read_until(&mut ana, "marker").await;
    assert_eq!(about(&live), expect(&mine), "Ana: her own incident only");
    for message in &live[..2] {
        assert_eq!(
            message["data"]["incident"]["reportado_por"],
            Value::Null,
            "the students' variant, as with public incidents"
        );
    }
    assert_eq!(
        about(&read_until(&mut other, "marker").await),
        expect(&theirs),
        "the other student: theirs only"
    );

    // Replayed from the log, the same.
    let mut replay = world
        .connect(&format!("token={}&since={head}", world.student.1), None)
        .await
        .unwrap();
    let replayed = read_until(&mut replay, "marker").await;
    assert_eq!(
        ids(&replayed),
        ids(&live),
        "the replay is the live sequence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_private_incidents_reach_their_reporter_only_on_memory() {
    private_incidents_reach_their_reporter_only(Backend::Memory).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_private_incidents_reach_their_reporter_only_on_sqlite() {
    private_incidents_reach_their_reporter_only(Backend::Sqlite).await;
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
            incident.id(),
            CommentText::parse("internal note").unwrap(),
            None,
        )
        .await
        .unwrap();
    let change = StatusChange {
        to: Status::InProgress,
        note: None,
        expected_version: None,
    };
    world
        .app
        .change_status(&world.staff.0, incident.id(), change, None)
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
    assert_eq!(
        second["data"]["incident"]["version"], staff_saw[2]["data"]["incident"]["version"],
        "the students' variant of the same change"
    );
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
        (got["type"].as_str(), got["data"]["id"].as_str()),
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
    // Small pages and a small in-memory tail, so the catch-up reads the log in several pages
    // while alerts keep coming.
    let world = World::start(
        HubConfig {
            replay_page: 3,
            tail_capacity: 4,
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    let mut first = world.subscribe(&format!("token={token}")).await;
    let mut seen = Vec::new();
    for i in 0..3 {
        let id = world.alert(&format!("seen {i}")).await;
        let message = next_message(&mut first).await;
        assert_eq!(message["data"]["id"].as_str(), Some(id.as_str()));
        seen.push(message);
    }
    let last_seen = seen[2]["id"].as_str().unwrap().to_owned();
    first.close(None).await.unwrap();
    drop(first);

    let mut missed = Vec::new();
    for i in 0..10 {
        missed.push(world.alert(&format!("missed {i}")).await);
    }
    // More alerts arrive while the reconnected client catches up.
    let concurrent = {
        let app = world.app.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..30 {
                let draft =
                    AlertDraft::parse("sensor_01", "info", &format!("during {i}"), Channel::Ws)
                        .unwrap();
                ids.push(
                    app.ingest_alerts(vec![draft]).await.unwrap()[0]
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

    let mut expected = missed;
    expected.extend(during);
    expected.push(marker);
    let received = read_until(&mut second, "marker").await;
    let alert_ids: Vec<String> = received
        .iter()
        .map(|m| m["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(alert_ids, expected, "no gap, no duplicate, in order");
    let positions: Vec<u64> = received.iter().map(position).collect();
    let after = position(&seen[2]);
    assert_eq!(
        positions,
        (after + 1..after + 1 + positions.len() as u64).collect::<Vec<_>>(),
        "ids are consecutive positions after the one resumed from"
    );
}

/// Writers over HTTP-like use cases and group commit at once; a client connected throughout
/// and one that keeps reconnecting with `since=` must end with the same sequence.
async fn resume_under_concurrent_writers(backend: Backend) {
    const WRITERS: usize = 8;
    const WRITES: usize = 40;
    let world = World::start_on(
        backend,
        HubConfig {
            replay_page: 16,
            tail_capacity: 32,
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    let mut steady = world.subscribe(&format!("token={token}")).await;
    // One incident per writer: comments race on versions only within a writer's own.
    let mut incidents = Vec::new();
    for _ in 0..WRITERS {
        incidents.push(world.incident().await.id().clone());
    }
    let mut start_id = String::new();
    for _ in 0..WRITERS {
        start_id = next_message(&mut steady).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }

    let resuming = {
        let addr = world.addr;
        let token = token.clone();
        let start_id = start_id.clone();
        tokio::spawn(async move {
            let mut received: Vec<Value> = Vec::new();
            let mut last = start_id;
            let mut round = 0usize;
            loop {
                let mut socket = connect_to(addr, &format!("token={token}&since={last}"), None)
                    .await
                    .unwrap();
                round += 1;
                // Leaves after a few messages, without a goodbye, as a dropped phone would.
                for _ in 0..1 + round % 7 {
                    let message = next_message(&mut socket).await;
                    assert_ne!(
                        message["type"], "reset",
                        "a resume within the log never resets"
                    );
                    last = message["id"].as_str().unwrap().to_owned();
                    let done = message["data"]["message"] == "marker";
                    received.push(message);
                    if done {
                        return (received, round);
                    }
                }
                drop(socket);
            }
        })
    };
    let mut writers = Vec::new();
    for (w, incident) in incidents.into_iter().enumerate() {
        let app = world.app.clone();
        let staff = world.staff.0.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..WRITES {
                if (w + n) % 3 == 0 {
                    app.comment(
                        &staff,
                        &incident,
                        CommentText::parse(&format!("{w}.{n}")).unwrap(),
                        None,
                    )
                    .await
                    .unwrap();
                } else {
                    let drafts = (0..1 + n % 3)
                        .map(|k| {
                            AlertDraft::parse("s", "info", &format!("{w}.{n}.{k}"), Channel::Tcp)
                                .unwrap()
                        })
                        .collect();
                    app.ingest_alerts(drafts).await.unwrap();
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    world.alert("marker").await;
    let live = read_until(&mut steady, "marker").await;
    let (resumed, rounds) = resuming.await.unwrap();
    assert!(rounds > 10, "the client reconnected {rounds} times");
    assert_eq!(
        ids(&resumed),
        ids(&live),
        "the resuming client got exactly the live sequence"
    );
    let positions: Vec<u64> = live.iter().map(position).collect();
    let start = position(&json!({"id": start_id}));
    let staff_positions: Vec<u64> = world
        .app
        .read_stream(start, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.message.audience != Audience::Students)
        .map(|e| e.position)
        .collect();
    assert_eq!(
        positions, staff_positions,
        "a staff client sees every position but the students' variants, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_resume_under_concurrent_writers_loses_nothing_on_memory() {
    for _ in 0..3 {
        resume_under_concurrent_writers(Backend::Memory).await;
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_resume_under_concurrent_writers_loses_nothing_on_sqlite() {
    for _ in 0..3 {
        resume_under_concurrent_writers(Backend::Sqlite).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_students_resume_is_not_cut_short_by_what_they_may_not_see() {
    let world = World::start(
        HubConfig {
            replay_page: 3,
            tail_capacity: 2,
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let mut student = world.subscribe(&format!("token={}", world.student.1)).await;
    let incident = world.incident().await;
    let created = next_message(&mut student).await;
    let since = created["id"].as_str().unwrap().to_owned();
    drop(student);
    // Far more staff-only messages than a page, then one the student may see.
    for n in 0..20 {
        world
            .app
            .comment(
                &world.staff.0,
                incident.id(),
                CommentText::parse(&format!("nota {n}")).unwrap(),
                None,
            )
            .await
            .unwrap();
    }
    world.alert("marker").await;
    let mut student = world
        .connect(&format!("token={}&since={since}", world.student.1), None)
        .await
        .unwrap();
    let received = read_until(&mut student, "marker").await;
    let kinds: Vec<&str> = received
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["alert"],
        "the comments are skipped, the alert arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_since_outside_the_log_gets_one_reset_with_the_head() {
    let world = World::default().await;
    let token = world.staff.1.clone();
    for i in 0..5 {
        world.alert(&format!("m{i}")).await;
    }
    let head = world.app.stream_head().await.unwrap();
    let other_epoch = format!("{}:{}", head.epoch + 1, 1);
    let ahead = format!("{}:{}", head.epoch, head.head + 10);
    let legacy = "01JD2Z9R1K7Q3C6ZP0S8T4W5XY";
    for (since, reason) in [
        (other_epoch.as_str(), "other_epoch"),
        (ahead.as_str(), "ahead_of_head"),
        (legacy, "unknown_id"),
    ] {
        let head_id = world.app.stream_head().await.unwrap().id().to_string();
        let mut socket = world
            .connect(&format!("token={token}&since={since}"), None)
            .await
            .unwrap();
        let reset = next_message(&mut socket).await;
        assert_eq!(reset["type"], "reset", "since={since}");
        assert_eq!(reset["data"]["head"], head_id.as_str());
        assert_eq!(reset["data"]["reason"], reason);
        // Then the stream goes on from the head.
        let id = world.alert(&format!("after {since}")).await;
        let next = next_message(&mut socket).await;
        assert_eq!(next["data"]["id"].as_str(), Some(id.as_str()));
    }

    // Retention removed what a resume from position 1 needs.
    world
        .storage
        .stream
        .trim(Timestamp::from_unix_millis(i64::MAX / 2))
        .await
        .unwrap();
    let head = world.app.stream_head().await.unwrap();
    let mut socket = world
        .connect(&format!("token={token}&since={}:1", head.epoch), None)
        .await
        .unwrap();
    let reset = next_message(&mut socket).await;
    assert_eq!(
        (reset["type"].as_str(), reset["data"]["reason"].as_str()),
        (Some("reset"), Some("expired"))
    );
    assert_eq!(reset["data"]["head"], head.id().to_string().as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_commit_whose_publish_never_happens_still_reaches_clients() {
    let world = World::start(
        HubConfig {
            poll_interval: Duration::from_millis(100),
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let mut socket = world.subscribe(&format!("token={}", world.staff.1)).await;
    // Straight into the store, as a request dropped after its commit, or another process.
    let alert = alerta_core::domain::Alert::fire(
        alerta_core::domain::AlertId::parse("01JD2Z9R1K7Q3C6ZP0S8T4W5XY").unwrap(),
        alerta_core::domain::AlertDraft::parse("cron", "info", "marker", Channel::Tcp).unwrap(),
        Timestamp::from_unix_millis(1_795_000_000_000),
    );
    world
        .storage
        .alerts
        .insert(vec![alerta_core::ports::AlertWrite {
            alert,
            mails: vec![],
        }])
        .await
        .unwrap();
    let got = read_until(&mut socket, "marker").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["source"], "cron");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_burst_reaches_every_reading_client_whole() {
    const READERS: usize = 100;
    const BURST: usize = 2_000;
    // A tail far smaller than the burst: readers fall behind it and catch up from the log.
    // Every reader reads; on a busy machine one may wait long for its turn, and that is not
    // what this checks, so the stall timeout is far away.
    let world = World::start(
        HubConfig {
            tail_capacity: 256,
            stall_timeout: Duration::from_secs(120),
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut socket = world
            .subscribe(&format!("token={token}&topics=alerts"))
            .await;
        readers.push(tokio::spawn(async move {
            read_until(&mut socket, "marker").await
        }));
    }
    let mut writers = Vec::new();
    for w in 0..8 {
        let app = world.app.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..BURST / 8 / 25 {
                let drafts = (0..25)
                    .map(|k| {
                        AlertDraft::parse("s", "warning", &format!("{w}.{n}.{k}"), Channel::Tcp)
                            .unwrap()
                    })
                    .collect();
                app.ingest_alerts(drafts).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    world.alert("marker").await;
    let mut first: Option<Vec<String>> = None;
    for reader in readers {
        let got = ids(&reader.await.unwrap());
        assert_eq!(
            got.len(),
            BURST + 1,
            "every message of the burst, and the marker"
        );
        match &first {
            None => first = Some(got),
            Some(first) => assert_eq!(&got, first, "every client sees one order"),
        }
    }
    assert_eq!(
        world.hub.stalled_disconnects(),
        0,
        "no reading client was dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_client_that_reads_slowly_through_a_long_burst_is_kept() {
    // One batch of 512 takes this reader over 6 s, longer than the stall timeout, though it
    // never stops taking bytes. The timeout leaves room for a busy machine, where the
    // reader, in this process with the server, may wait its turn for a second or two.
    let world = World::start(
        HubConfig {
            stall_timeout: Duration::from_secs(5),
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    let socket = TcpSocket::new_v4().unwrap();
    // Bounded, so that the server soon waits on the reader.
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    let tcp = socket.connect(world.addr).await.unwrap();
    let request = format!("ws://{}/ws?token={token}&topics=alerts", world.addr)
        .into_client_request()
        .unwrap();
    let (mut slow, _) = client_async(request, tcp).await.unwrap();
    ready(&mut slow).await;
    // About 8 MB: far more than the buffers between the two ends hold.
    let pad = "x".repeat(3_900);
    for batch in 0..40 {
        // Each alert a group of its own, so that each is a message.
        let drafts = (0..50)
            .map(|n| {
                let message = format!("{batch:02}{n:02}{pad}");
                AlertDraft::parse("s", "info", &message, Channel::Tcp).unwrap()
            })
            .collect();
        world.app.ingest_alerts(drafts).await.unwrap();
    }
    world.alert("marker").await;
    let mut received = 0;
    loop {
        let message = next_message(&mut slow).await;
        received += 1;
        if message["data"]["message"] == "marker" {
            break;
        }
        // A reader slower than the server: about 0.3 MB/s.
        tokio::time::sleep(Duration::from_millis(12)).await;
    }
    assert_eq!(received, 2_001, "every message reached the slow reader");
    assert_eq!(world.hub.stalled_disconnects(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_client_that_never_reads_is_closed_and_others_go_on() {
    // Long enough that the reading client, sharing this process's two threads with the
    // writer, never goes as long without reading on a busy machine.
    let world = World::start(
        HubConfig {
            stall_timeout: Duration::from_secs(2),
            close_timeout: Duration::from_millis(200),
            ..HubConfig::default()
        },
        WsConfig::default(),
    )
    .await;
    let token = world.staff.1.clone();
    // Never reads, through a small receive window.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(world.addr).await.unwrap();
    let request = format!("ws://{}/ws?token={token}", world.addr)
        .into_client_request()
        .unwrap();
    let (mut stuck, _) = client_async(request, tcp).await.unwrap();
    ready(&mut stuck).await;
    let mut reader = world.subscribe(&format!("token={token}")).await;
    let reading = tokio::spawn(async move { read_until(&mut reader, "marker").await });

    let pad = "x".repeat(900);
    let mut sent = 0;
    while world.hub.stalled_disconnects() == 0 {
        // Each alert a group of its own, so that each is a message.
        let drafts = (0..50)
            .map(|n| {
                let message = format!("{:08}{pad}", sent + n);
                AlertDraft::parse("s", "info", &message, Channel::Tcp).unwrap()
            })
            .collect();
        world.app.ingest_alerts(drafts).await.unwrap();
        sent += 50;
        assert!(sent < 200_000, "the stuck client was never closed");
        tokio::task::yield_now().await;
    }
    world.alert("marker").await;
    let got = reading.await.unwrap();
    assert_eq!(got.len(), sent + 1, "the reading client got everything");
    assert_eq!(
        world.hub.stalled_disconnects(),
        1,
        "only the stuck client was closed"
    );
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_silent_clients_are_dropped_and_answering_ones_kept() {
    let world = World::start(
        HubConfig {
            ping_interval: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(300),
            ..HubConfig::default()
        },
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
        next_message(&mut answering).await["data"]["id"].as_str(),
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

/// Instances sharing one store and one broker, each with its own hub and HTTP port.
struct Deployment {
    instances: Vec<World>,
    bus: alerta_adapters::broker::MemoryBroker,
}

impl Deployment {
    async fn start(count: usize, faults: bool) -> Self {
        let storage = Storage::from_backend(Arc::new(MemoryStore::new()));
        let bus = alerta_adapters::broker::MemoryBroker::new();
        let mut instances: Vec<World> = Vec::new();
        for n in 0..count {
            let broker: Arc<alerta_core::ports::DynBroker> = if faults {
                Arc::new(alerta_adapters::broker::FaultyBroker::new(
                    Arc::new(bus.clone()),
                    7 + n as u64,
                ))
            } else {
                Arc::new(bus.clone())
            };
            let hub = Hub::new(HubConfig {
                tail_capacity: 64,
                replay_page: 20,
                session_check: Duration::from_millis(200),
                ..HubConfig::default()
            });
            hub.start(storage.stream.clone(), Some(broker))
                .await
                .unwrap();
            let app = Alerta::builder(
                storage.clone(),
                Arc::new(MemoryBlobStore::new()),
                Arc::new(hub.clone()),
            )
            .build();
            let api = router(app.clone(), HttpConfig::default()).merge(routes(
                hub.clone(),
                app.clone(),
                WsConfig::default(),
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, api).await });
            // Users live in the shared store: the first instance makes them.
            let (student, staff) = match instances.first() {
                None => (
                    user(&app, "ana@campus.edu", Role::Student).await,
                    user(&app, "staff@campus.edu", Role::Staff).await,
                ),
                Some(first) => (first.student.clone(), first.staff.clone()),
            };
            instances.push(World {
                addr,
                app,
                hub,
                storage: storage.clone(),
                student,
                staff,
                _dir: None,
            });
        }
        Self { instances, bus }
    }
}

/// Writers on every instance; a client on every instance; all must see one sequence.
async fn one_stream_across_instances(faults: bool, outage: bool) {
    const WRITES: usize = 60;
    let deployment = Deployment::start(3, faults).await;
    let token = deployment.instances[0].staff.1.clone();
    let mut clients = Vec::new();
    for instance in &deployment.instances {
        let mut socket = instance.subscribe(&format!("token={token}")).await;
        clients.push(tokio::spawn(async move {
            read_until(&mut socket, "marker").await
        }));
    }
    let mut writers = Vec::new();
    for (w, instance) in deployment.instances.iter().enumerate() {
        let app = instance.app.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..WRITES {
                let drafts = (0..1 + n % 2)
                    .map(|k| {
                        AlertDraft::parse("s", "info", &format!("{w}.{n}.{k}"), Channel::Http)
                            .unwrap()
                    })
                    .collect();
                app.ingest_alerts(drafts).await.unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    if outage {
        // The broker goes away mid-stream and comes back.
        deployment.bus.set_down(true);
        for instance in &deployment.instances {
            assert_eq!(instance.hub.broker_healthy().await, Some(false));
        }
        deployment.instances[1].alert("during the outage").await;
        deployment.bus.set_down(false);
    }
    for writer in writers {
        writer.await.unwrap();
    }
    deployment.instances[2].alert("marker").await;
    let mut sequences = Vec::new();
    for client in clients {
        sequences.push(ids(&client.await.unwrap()));
    }
    let expected = WRITES / 2 * 3 * 3 + WRITES % 2 * 3 + 1 + usize::from(outage);
    for sequence in &sequences {
        assert_eq!(sequence.len(), expected, "every message once");
        assert_eq!(sequence, &sequences[0], "one order on every instance");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_instances_behind_one_broker_deliver_one_sequence() {
    one_stream_across_instances(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_broker_that_drops_repeats_and_reorders_loses_nothing() {
    for _ in 0..3 {
        one_stream_across_instances(true, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_broker_outage_delays_but_loses_nothing() {
    one_stream_across_instances(true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_a_logout_closes_the_streams_of_that_session_on_every_instance() {
    let deployment = Deployment::start(2, false).await;
    let (first, second) = (&deployment.instances[0], &deployment.instances[1]);
    let token = first.staff.1.clone();
    let another_session = first
        .app
        .login("staff@campus.edu", "password123", None)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
    let mut on_first = first.subscribe(&format!("token={token}")).await;
    let mut on_second = second.subscribe(&format!("token={token}")).await;
    let mut kept = second.subscribe(&format!("token={another_session}")).await;

    first.app.logout(&token).await.unwrap();
    assert_eq!(close_code(&mut on_first).await.0, CloseCode::Policy);
    assert_eq!(
        close_code(&mut on_second).await.0,
        CloseCode::Policy,
        "the instance that did not serve the logout closes its stream too"
    );
    let refused = second.connect(&format!("token={token}"), None).await;
    assert_eq!(refused_status(refused).0, 401);

    first.alert("after the logout").await;
    let received = read_until(&mut kept, "after the logout").await;
    assert_eq!(
        received.last().unwrap()["data"]["message"],
        "after the logout",
        "another session of the same person goes on"
    );
}

/// A stream log that can be replaced by another while the hub follows it, as when the log's
/// tables are made anew under a running server.
struct ReplaceableLog(std::sync::RwLock<Arc<alerta_core::ports::DynStreamLog>>);

impl ReplaceableLog {
    fn current(&self) -> Arc<alerta_core::ports::DynStreamLog> {
        self.0.read().unwrap().clone()
    }

    fn replace(&self, log: Arc<alerta_core::ports::DynStreamLog>) {
        *self.0.write().unwrap() = log;
    }
}

#[async_trait::async_trait]
impl alerta_core::ports::StreamLog for ReplaceableLog {
    async fn head(&self) -> alerta_core::Result<alerta_core::domain::StreamHead> {
        self.current().head().await
    }

    async fn read(
        &self,
        after: alerta_core::domain::Position,
        limit: usize,
    ) -> alerta_core::Result<Vec<alerta_core::domain::StreamEntry>> {
        self.current().read(after, limit).await
    }

    async fn trim(&self, before: Timestamp) -> alerta_core::Result<u64> {
        self.current().trim(before).await
    }
}

/// A client of a hub whose log is made anew, written to by an app on the new storage that
/// tells the hub (`hinted`) or tells nobody: it gets one `reset` naming the new log's head,
/// then every message after that head, with the new log's epoch.
async fn a_log_made_anew(hub_config: HubConfig, hinted: bool) {
    let first = Storage::from_backend(Arc::new(MemoryStore::new()));
    let log = Arc::new(ReplaceableLog(std::sync::RwLock::new(first.stream.clone())));
    let hub = Hub::new(hub_config);
    hub.start(log.clone(), None).await.unwrap();
    let app = Alerta::builder(
        first.clone(),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(hub.clone()),
    )
    .build();
    let api = routes(hub.clone(), app.clone(), WsConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await });
    let (_, token) = user(&app, "staff@campus.edu", Role::Staff).await;
    let mut socket = connect_to(addr, &format!("token={token}"), None)
        .await
        .unwrap();
    ready(&mut socket).await;
    let draft = |message: &str| AlertDraft::parse("s", "info", message, Channel::Tcp).unwrap();
    app.ingest_alerts(vec![draft("before")]).await.unwrap();
    let before = read_until(&mut socket, "before").await;
    let old_epoch = before[0]["id"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_owned();

    let second = Storage::from_backend(Arc::new(MemoryStore::new()));
    let new_log = second.stream.clone();
    log.replace(new_log.clone());
    let broadcaster: Arc<alerta_core::ports::DynBroadcaster> = if hinted {
        Arc::new(hub.clone())
    } else {
        Arc::new(alerta_adapters::memory::RecordingBroadcaster::new())
    };
    let writer = Alerta::builder(second, Arc::new(MemoryBlobStore::new()), broadcaster).build();
    if hinted {
        // Its publish is what tells the hub: it comes before the reset, which the client
        // reloads from.
        writer.ingest_alerts(vec![draft("first")]).await.unwrap();
    }
    let reset = next_message(&mut socket).await;
    let head = new_log.head().await.unwrap();
    let new_epoch = head.epoch.to_string();
    assert_ne!(new_epoch, old_epoch);
    assert_eq!(reset["type"], "reset", "{reset}");
    assert_eq!(reset["data"]["reason"], "other_epoch");
    assert_eq!(reset["data"]["head"], format!("{new_epoch}:{}", head.head));

    writer
        .ingest_alerts(vec![draft("after.1"), draft("after.2")])
        .await
        .unwrap();
    let got = read_until(&mut socket, "after.2").await;
    let ids: Vec<&str> = got.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            format!("{new_epoch}:{}", head.head + 1),
            format!("{new_epoch}:{}", head.head + 2)
        ],
        "the new log's messages after its head, whole and with its epoch: {got:?}"
    );
}

#[tokio::test]
async fn websocket_a_log_made_anew_is_found_by_the_periodic_check() {
    let config = HubConfig {
        epoch_check: Duration::from_millis(200),
        ..HubConfig::default()
    };
    a_log_made_anew(config, false).await;
}

#[tokio::test]
async fn websocket_a_message_of_a_log_made_anew_is_followed_at_once() {
    // Far longer than the test may take: only the publish can have told the hub.
    let config = HubConfig {
        epoch_check: Duration::from_secs(3600),
        ..HubConfig::default()
    };
    a_log_made_anew(config, true).await;
}
