//! TCP ingestion over real sockets, storing into SQLite files so that "stored" means durable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerta_adapters::ingest::{CommitObserver, GroupCommit, GroupCommitConfig};
use alerta_adapters::memory::{MemoryBlobStore, RecordingBroadcaster};
use alerta_adapters::sqlite::SqliteStore;
use alerta_adapters::tcp::{self, AlertLine, Client, TcpConfig};
use alerta_core::domain::{
    Alert, AlertCounts, AlertDraft, AlertFilter, AlertId, Channel, Page, PageRequest,
};
use alerta_core::ports::{AlertStore, AlertWrite, Storage};
use alerta_core::{Alerta, Result, Settings};
use async_trait::async_trait;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;

/// The bound on any single wait in these tests.
const WAIT: Duration = Duration::from_secs(30);

/// An alert store that counts its `insert` calls and can hold the first one until told.
struct CountingAlerts {
    inner: Arc<SqliteStore>,
    inserts: AtomicU64,
    inserted: AtomicU64,
    gate: Mutex<Option<Gate>>,
}

/// Holds the first insert: `entered` fires when it starts, it goes on once `release` fires.
struct Gate {
    entered: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

impl CountingAlerts {
    fn inserts(&self) -> u64 {
        self.inserts.load(Ordering::SeqCst)
    }

    fn inserted(&self) -> u64 {
        self.inserted.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl AlertStore for CountingAlerts {
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<alerta_core::ports::Inserted> {
        self.inserts.fetch_add(1, Ordering::SeqCst);
        self.inserted
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.entered.send(());
            let _ = gate.release.await;
        }
        self.inner.insert(batch).await
    }

    async fn transition(
        &self,
        change: alerta_core::ports::AlertTransition,
    ) -> Result<alerta_core::domain::Appended> {
        self.inner.transition(change).await
    }

    async fn alert(&self, id: &AlertId) -> Result<Option<Alert>> {
        self.inner.alert(id).await
    }

    async fn group_of(
        &self,
        fingerprint: &alerta_core::domain::Fingerprint,
    ) -> Result<Option<Alert>> {
        self.inner.group_of(fingerprint).await
    }

    async fn history(&self, id: &AlertId) -> Result<Vec<alerta_core::domain::AlertEvent>> {
        self.inner.history(id).await
    }

    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>> {
        self.inner.search(filter, page).await
    }

    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>> {
        self.inner.after(after, limit).await
    }

    async fn counts(&self) -> Result<AlertCounts> {
        self.inner.counts().await
    }

    async fn occurrences(
        &self,
        id: &AlertId,
        page: &PageRequest,
    ) -> Result<Page<alerta_core::domain::Occurrences>> {
        self.inner.occurrences(id, page).await
    }

    async fn remove_resolved(
        &self,
        before: alerta_core::domain::Timestamp,
        limit: usize,
    ) -> Result<usize> {
        self.inner.remove_resolved(before, limit).await
    }
}

struct World {
    addr: SocketAddr,
    app: Alerta,
    ingest: GroupCommit,
    alerts: Arc<CountingAlerts>,
    path: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: TempDir,
}

impl World {
    async fn start(settings: Settings, config: TcpConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("alerta.db");
        let sqlite = Arc::new(SqliteStore::open(&path).await.expect("open sqlite"));
        let alerts = Arc::new(CountingAlerts {
            inner: sqlite.clone(),
            inserts: AtomicU64::new(0),
            inserted: AtomicU64::new(0),
            gate: Mutex::new(None),
        });
        let mut storage = Storage::from_backend(sqlite);
        storage.alerts = alerts.clone();
        let app = Alerta::builder(
            storage,
            Arc::new(MemoryBlobStore::new()),
            Arc::new(RecordingBroadcaster::new()),
        )
        .settings(settings)
        .build();
        let ingest = GroupCommit::spawn(app.clone(), GroupCommitConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(tcp::serve_with_shutdown(
            listener,
            ingest.clone(),
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            app,
            ingest,
            alerts,
            path,
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    async fn default() -> Self {
        Self::start(Settings::default(), TcpConfig::default()).await
    }

    /// Every stored alert by id, read back from a second, fresh connection to the file.
    async fn stored(&self) -> HashMap<String, Alert> {
        let reopened = SqliteStore::open(&self.path).await.expect("reopen sqlite");
        let alerts = reopened.after(None, 100_000).await.expect("read alerts");
        alerts
            .into_iter()
            .map(|a| (a.id.as_str().to_owned(), a))
            .collect()
    }
}

fn alert_line(source: &str, message: &str) -> String {
    serde_json::json!({"source": source, "severity": "warning", "message": message}).to_string()
}

/// A raw connection: write bytes, read reply lines.
struct Raw {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer,
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// The next reply, or `None` at the end of the connection.
    async fn reply(&mut self) -> Option<Value> {
        let mut line = String::new();
        let read = timeout(WAIT, self.reader.read_line(&mut line))
            .await
            .expect("a reply in time")
            .expect("read");
        (read > 0).then(|| serde_json::from_str(&line).expect("a JSON reply"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_thousand_pipelined_lines_are_acknowledged_in_order_and_stored() {
    let world = World::default().await;
    let stream = TcpStream::connect(world.addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut request = Vec::new();
    for i in 0..1000 {
        request.extend_from_slice(alert_line("sensor_01", &format!("line {i}")).as_bytes());
        request.push(b'\n');
    }
    // Everything is sent before any reply is read: the lines are pipelined.
    let writer = tokio::spawn(async move {
        write.write_all(&request).await.unwrap();
        write
    });
    let mut reader = BufReader::new(read);
    let mut ids = Vec::new();
    for _ in 0..1000 {
        let mut line = String::new();
        timeout(WAIT, reader.read_line(&mut line))
            .await
            .expect("replies in time")
            .unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply["ok"], true, "{reply}");
        ids.push(reply["id"].as_str().unwrap().to_owned());
    }
    let _write = writer.await.unwrap();

    let stored = world.stored().await;
    assert_eq!(stored.len(), 1000);
    for (i, id) in ids.iter().enumerate() {
        let alert = &stored[id];
        assert_eq!(
            alert.message.as_str(),
            format!("line {i}"),
            "reply {i} is out of order"
        );
        assert_eq!(alert.channel, Channel::Tcp);
    }
    assert!(
        world.alerts.inserts() < 1000,
        "pipelined lines share commits, got {} commits",
        world.alerts.inserts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_oversize_line_gets_an_error_and_the_connection_closes() {
    let world = World::default().await;
    let mut raw = Raw::connect(world.addr).await;
    let mut request = alert_line("sensor_01", "before").into_bytes();
    request.push(b'\n');
    request.extend(std::iter::repeat_n(b'x', 70 * 1024));
    request.push(b'\n');
    request.extend_from_slice(alert_line("sensor_01", "after").as_bytes());
    request.push(b'\n');
    raw.write(&request).await;

    let first = raw.reply().await.expect("a reply to the first line");
    assert_eq!(first["ok"], true, "{first}");
    let second = raw.reply().await.expect("a reply to the long line");
    assert_eq!(second["ok"], false);
    assert!(
        second["error"]
            .as_str()
            .unwrap()
            .contains("longer than 65536"),
        "{second}"
    );
    assert_eq!(raw.reply().await, None, "the connection is closed after it");
    let stored = world.stored().await;
    assert_eq!(stored.len(), 1, "only the line before is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_malformed_lines_get_errors_and_the_connection_stays_usable() {
    let world = World::default().await;
    let mut raw = Raw::connect(world.addr).await;
    let mut request = Vec::new();
    request.extend_from_slice(b"{not json\n");
    request.extend_from_slice(
        b"{\"source\": \"s\xff\xfe\", \"severity\": \"info\", \"message\": \"m\"}\n",
    );
    request.extend_from_slice(b"{\"source\": \"s\", \"severity\": \"loud\", \"message\": \"m\"}\n");
    request.extend_from_slice(b"{\"source\": \"s\", \"severity\": \"info\"}\n");
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(alert_line("sensor_01", "still here").as_bytes());
    request.extend_from_slice(b"\r\n");
    raw.write(&request).await;

    let expected = [
        "invalid JSON",
        "invalid UTF-8",
        "invalid severity",
        "missing field `message`",
    ];
    for fragment in expected {
        let reply = raw.reply().await.expect("a reply");
        assert_eq!(reply["ok"], false, "{reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains(fragment),
            "expected '{fragment}' in '{error}'"
        );
    }
    let last = raw.reply().await.expect("a reply to the valid line");
    assert_eq!(last["ok"], true, "{last}");
    let id = last["id"].as_str().unwrap();
    assert_eq!(world.stored().await[id].message.as_str(), "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_concurrent_connections_share_commits() {
    let world = World::default().await;
    let mut clients = Vec::new();
    for c in 0..20 {
        let addr = world.addr;
        clients.push(tokio::spawn(async move {
            let lines: Vec<String> = (0..50)
                .map(|i| alert_line(&format!("client_{c}"), &format!("line {i}")))
                .collect();
            tcp::send_lines(addr, &lines).await.expect("send lines")
        }));
    }
    let mut acknowledged = 0;
    for client in clients {
        let replies = timeout(WAIT, client).await.expect("in time").unwrap();
        assert_eq!(replies.len(), 50);
        assert!(replies.iter().all(|r| r.ok), "{replies:?}");
        acknowledged += replies.len();
    }
    assert_eq!(acknowledged, 1000);
    assert_eq!(world.stored().await.len(), 1000);
    assert_eq!(world.alerts.inserted(), 1000);
    let commits = world.alerts.inserts();
    assert!(
        commits < 1000,
        "expected shared commits, got {commits} for 1000 lines"
    );
    assert_eq!(world.ingest.stats().commits, commits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_group_commit_stores_everything_waiting_in_one_transaction() {
    let world = World::default().await;
    let (entered, first_started) = oneshot::channel();
    let (release, released) = oneshot::channel();
    *world.alerts.gate.lock().unwrap() = Some(Gate {
        entered,
        release: released,
    });
    let draft = |i: usize| {
        AlertDraft::parse("sensor_01", "info", &format!("alert {i}"), Channel::Tcp).unwrap()
    };

    let first = world.ingest.submit(draft(0)).await.unwrap();
    timeout(WAIT, first_started)
        .await
        .expect("first commit starts")
        .unwrap();
    // While the first commit is held, 99 more arrive; `submit` returns once each is queued.
    let mut tickets = Vec::new();
    for i in 1..100 {
        tickets.push(world.ingest.submit(draft(i)).await.unwrap());
    }
    release.send(()).unwrap();

    timeout(WAIT, first).await.expect("in time").unwrap();
    for ticket in tickets {
        timeout(WAIT, ticket).await.expect("in time").unwrap();
    }
    assert_eq!(
        world.alerts.inserts(),
        2,
        "one commit for the first, one for the rest"
    );
    assert_eq!(world.stored().await.len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_tells_its_observer_of_every_commit_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("a.db")).await.unwrap());
    let app = Alerta::builder(
        Storage::from_backend(sqlite.clone()),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(RecordingBroadcaster::new()),
    )
    .build();
    // Per commit: its batch size and the severities it stored.
    type Commits = Vec<(usize, Vec<String>)>;
    let seen: Arc<Mutex<Commits>> = Arc::default();
    let record = seen.clone();
    let observer = CommitObserver::new(move |report| {
        let stored = report.stored.iter().map(|a| a.severity.as_str().to_owned());
        record
            .lock()
            .unwrap()
            .push((report.batch, stored.collect()));
    });
    let ingest = GroupCommit::spawn(
        app,
        GroupCommitConfig {
            on_commit: Some(observer),
            ..GroupCommitConfig::default()
        },
    );
    let draft = |i: usize| {
        let severity = if i.is_multiple_of(2) {
            "info"
        } else {
            "warning"
        };
        AlertDraft::parse("sensor_01", severity, &format!("alert {i}"), Channel::Tcp).unwrap()
    };
    let mut tickets = Vec::new();
    for i in 0..50 {
        tickets.push(ingest.submit(draft(i)).await.unwrap());
    }
    for ticket in tickets {
        timeout(WAIT, ticket).await.expect("in time").unwrap();
    }
    let commits = seen.lock().unwrap().clone();
    assert_eq!(commits.iter().map(|(batch, _)| batch).sum::<usize>(), 50);
    assert!(commits.iter().all(|(batch, stored)| stored.len() == *batch));
    let warnings = commits
        .iter()
        .flat_map(|(_, stored)| stored)
        .filter(|severity| *severity == "warning")
        .count();
    assert_eq!(warnings, 25);
    assert_eq!(commits.len() as u64, ingest.stats().commits);

    // A commit the store fails is reported too, with nothing stored.
    sqlite.close().await;
    assert!(
        timeout(WAIT, ingest.ingest(draft(99)))
            .await
            .unwrap()
            .is_err()
    );
    assert_eq!(seen.lock().unwrap().last(), Some(&(1, Vec::new())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_ingest_keys_are_checked_when_configured() {
    let settings = Settings {
        ingest_keys: vec!["sensor-key-1".into()],
        ..Settings::default()
    };
    let world = World::start(settings, TcpConfig::default()).await;

    let mut raw = Raw::connect(world.addr).await;
    raw.write(format!("{}\n", alert_line("sensor_01", "no key")).as_bytes())
        .await;
    let refused = raw.reply().await.expect("a reply");
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"], "missing or invalid ingest key");
    assert_eq!(raw.reply().await, None, "closed after a bad key");

    let mut client = Client::connect(world.addr).await.unwrap();
    let wrong = AlertLine {
        source: "sensor_01",
        severity: "error",
        message: "wrong key",
        key: Some("guess"),
    };
    assert!(!client.send(&wrong).await.unwrap().ok);

    let mut client = Client::connect(world.addr).await.unwrap();
    let keyed = AlertLine {
        key: Some("sensor-key-1"),
        message: "right key",
        ..wrong
    };
    let id = client.send(&keyed).await.unwrap().into_result().unwrap();
    assert_eq!(world.stored().await[&id].message.as_str(), "right key");
    assert_eq!(world.stored().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_client_sends_events_over_one_connection() {
    let world = World::default().await;
    let mut client = Client::connect(world.addr).await.unwrap();
    let mut ids = Vec::new();
    for severity in ["info", "warning", "error", "critical"] {
        let reply = client
            .send(&AlertLine {
                source: "cli",
                severity,
                message: "from the client",
                key: None,
            })
            .await
            .unwrap();
        ids.push(reply.into_result().unwrap());
    }
    let bad = client
        .send(&AlertLine {
            source: "",
            severity: "info",
            message: "m",
            key: None,
        })
        .await
        .unwrap();
    assert!(bad.into_result().unwrap_err().contains("source"));
    let stored = world.stored().await;
    assert_eq!(stored.len(), 4);
    assert!(ids.iter().all(|id| stored.contains_key(id)));
    let counts = world.app.storage().alerts.counts().await.unwrap();
    assert_eq!(counts.total, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_idle_and_slow_connections_time_out() {
    let config = TcpConfig {
        idle_timeout: Duration::from_millis(200),
        line_timeout: Duration::from_millis(200),
        ..TcpConfig::default()
    };
    let world = World::start(Settings::default(), config).await;

    let mut idle = Raw::connect(world.addr).await;
    let reply = idle.reply().await.expect("a reply before closing");
    assert_eq!(reply["error"], "idle timeout");
    assert_eq!(idle.reply().await, None);

    let mut slow = Raw::connect(world.addr).await;
    slow.write(b"{\"source\": \"sensor_01\", ").await;
    let reply = slow.reply().await.expect("a reply before closing");
    assert_eq!(reply["ok"], false);
    assert!(
        reply["error"].as_str().unwrap().contains("timed out"),
        "{reply}"
    );
    assert_eq!(slow.reply().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_shutdown_answers_what_was_sent_then_stops() {
    let mut world = World::default().await;
    let mut client = Client::connect(world.addr).await.unwrap();
    let line = AlertLine {
        source: "sensor_01",
        severity: "info",
        message: "before shutdown",
        key: None,
    };
    assert!(client.send(&line).await.unwrap().ok);

    world.stop.take().unwrap().send(()).unwrap();
    timeout(WAIT, &mut world.server)
        .await
        .expect("the server stops in time")
        .unwrap()
        .unwrap();
    let after = client.send(&line).await;
    assert!(
        after.is_err() || !after.unwrap().ok,
        "a stopped server stores nothing more"
    );
    assert_eq!(world.stored().await.len(), 1);
}

/// `{"action": "resolve", ...}` with `fields` added.
fn resolve_line(fields: Value) -> String {
    let mut line = serde_json::json!({"action": "resolve"});
    for (name, value) in fields.as_object().unwrap() {
        line[name] = value.clone();
    }
    format!("{line}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_line_resolves_a_stored_alert_and_bad_ones_are_refused() {
    let world = World::default().await;
    let mut raw = Raw::connect(world.addr).await;
    raw.write(format!("{}\n", alert_line("ups_3", "Batería baja")).as_bytes())
        .await;
    let stored = raw.reply().await.expect("a reply");
    let id = stored["id"].as_str().unwrap().to_owned();

    let mut lines = String::new();
    // Pipelined: an alert between two resolve lines keeps its place in the replies.
    lines += &resolve_line(serde_json::json!({"id": id, "version": 7}));
    lines += &format!("{}\n", alert_line("ups_3", "otra"));
    lines += &resolve_line(serde_json::json!({"id": id, "nota": "Red restablecida", "version": 1}));
    lines += &resolve_line(serde_json::json!({"id": id}));
    lines += &resolve_line(serde_json::json!({"id": "01JD2Z9R1K7Q3C6ZP0S8T4W5XY"}));
    lines += &resolve_line(serde_json::json!({}));
    lines += "{\"action\": \"silence\", \"id\": \"x\"}\n";
    lines += &resolve_line(serde_json::json!({"id": id, "nota": 5}));
    raw.write(lines.as_bytes()).await;

    let mut replies = Vec::new();
    for _ in 0..8 {
        replies.push(raw.reply().await.expect("a reply"));
    }
    let error = |n: usize| replies[n]["error"].as_str().unwrap_or_default().to_owned();
    assert_eq!(replies[0]["ok"], false);
    assert!(error(0).contains("changed since"), "stale: {}", error(0));
    assert_eq!(replies[1]["ok"], true, "the alert between: {}", replies[1]);
    assert_eq!(replies[2], serde_json::json!({"ok": true, "id": id}));
    assert!(error(3).contains("cannot go from resolved"), "{}", error(3));
    assert!(error(4).contains("not found"), "{}", error(4));
    assert!(error(5).contains("missing field `id`"), "{}", error(5));
    assert!(error(6).contains("invalid action"), "{}", error(6));
    assert!(error(7).contains("invalid alert"), "{}", error(7));
    assert!(replies[3..].iter().all(|r| r["ok"] == false));

    let alert_id = AlertId::parse(&id).unwrap();
    let alert = world.alerts.alert(&alert_id).await.unwrap().unwrap();
    assert_eq!(alert.status().as_str(), "resolved");
    assert_eq!(alert.version(), 2);
    let history = world.alerts.history(&alert_id).await.unwrap();
    assert_eq!(history.len(), 1, "one change: {history:?}");
    assert_eq!(history[0].actor.as_str(), "ingest");
    assert_eq!(
        history[0].note.as_ref().map(|n| n.as_str()),
        Some("Red restablecida")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_line_needs_an_ingest_key_when_keys_are_configured() {
    let settings = Settings {
        ingest_keys: vec!["sensor-key-1".into()],
        ..Settings::default()
    };
    let world = World::start(settings, TcpConfig::default()).await;
    let draft = AlertDraft::parse("ups_3", "error", "Batería baja", Channel::Tcp).unwrap();
    let alert = world
        .app
        .ingest_alerts(vec![draft])
        .await
        .unwrap()
        .remove(0);

    let mut raw = Raw::connect(world.addr).await;
    raw.write(resolve_line(serde_json::json!({"id": alert.id})).as_bytes())
        .await;
    let refused = raw.reply().await.expect("a reply");
    assert_eq!(refused["error"], "missing or invalid ingest key");
    assert_eq!(raw.reply().await, None, "closed after a bad key");
    let unchanged = world.alerts.alert(&alert.id).await.unwrap().unwrap();
    assert_eq!(unchanged.version(), 1);

    let mut raw = Raw::connect(world.addr).await;
    raw.write(resolve_line(serde_json::json!({"id": alert.id, "key": "sensor-key-1"})).as_bytes())
        .await;
    let done = raw.reply().await.expect("a reply");
    assert_eq!(done["ok"], true, "{done}");
    let resolved = world.alerts.alert(&alert.id).await.unwrap().unwrap();
    assert_eq!(resolved.status().as_str(), "resolved");
}
