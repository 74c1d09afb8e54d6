//! Broadcast fan-out: the hub against a naive broadcaster, measured in the same run.
//!
//! Both are driven as the application drives its broadcaster: each burst of [`BURST`] alerts
//! is committed to a [`MemoryStore`] in one write, as a group commit stores them, and the
//! batch the store returns is published through the [`Broadcaster`] port.
//!
//! - The hub treats the publish as a hint: its follower reads the log into the shared
//!   in-memory tail, where each message is encoded once, and every connection writes
//!   everything after its cursor with one flush.
//! - The naive broadcaster written here is what a first version usually looks like: for each
//!   message and each subscriber it serializes the message again, takes that subscriber's
//!   lock, and sends and flushes the one frame before going on to the next.
//!
//! Two groups:
//!
//! - `fanout_in_process`: 100, 1,000 and 10,000 subscribers on in-memory pipes, so the
//!   figures are the broadcasters' own costs.
//! - `fanout_loopback`: 1,000 WebSocket clients over loopback TCP with `TCP_NODELAY`, as
//!   `alerta serve` sets it, so every write to a client is a syscall, as in production.
//!
//! One iteration commits and publishes one burst and ends when every subscriber has received
//! every byte of it; the throughput is in deliveries (alerts × subscribers). Subscribers count
//! the bytes of the frames instead of decoding them: server frames are unmasked and of known
//! length, and decoding would add the same cost to both sides.
//!
//! A burst measures throughput. Latency under a steady stream, and the comparison with a
//! minimal server, are measured by the load example (`examples/load.rs`) against a live
//! `alerta serve`.
//!
//! Run with `cargo bench -p alerta-benches --bench fanout` (about a minute), or add `-- --test`
//! to run every bench once. After criterion's report, the bench prints each variant's
//! deliveries per second over all its timed iterations and its ratio to the naive broadcaster
//! of the same run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerta_adapters::memory::MemoryStore;
use alerta_adapters::websocket::{Hub, HubConfig, Subscription};
use alerta_core::domain::{
    Alert, AlertDraft, AlertId, AlertMessage, AlertSource, Appended, Channel, Role, Severity,
    StreamBatch, StreamId, Timestamp, Topic,
};
use alerta_core::ports::{AlertStore, AlertWrite, Broadcaster, DynBroadcaster, StreamLog};
use async_trait::async_trait;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;

/// Alerts committed and published per iteration.
const BURST: usize = 32;
/// Capacity of each in-memory pipe: a loopback socket's buffers hold at least this much.
const PIPE_BYTES: usize = 64 * 1024;
/// Handshakes in flight at once while the loopback clients connect.
const CONNECTING: usize = 64;
/// When every alert of the bench was created.
const CREATED_AT: Timestamp = Timestamp::from_unix_millis(1_767_225_600_000);

/// A typical alert: about 330 bytes of JSON on the wire. Every alert has the same length
/// whatever `seq`, so that the bytes of a burst follow from its positions alone.
fn alert(seq: u64) -> Alert {
    let draft = AlertDraft {
        source: AlertSource::parse("sensor_17").expect("a valid source"),
        severity: Severity::Warning,
        message: AlertMessage::parse(&format!(
            "temperature above threshold in rack {:08}: 41.5 C for 120 s",
            seq % 100_000_000
        ))
        .expect("a valid message"),
        channel: Channel::Tcp,
        fingerprint: None,
    };
    Alert::fire(
        AlertId::parse(&format!("01JBENCH{seq:018}")).expect("a valid id"),
        draft,
        CREATED_AT,
    )
}

/// The next alert id; shared by every bench, since a store refuses an id twice.
fn next_seq() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// The bytes of a server frame (unmasked) carrying `payload` bytes.
fn frame_len(payload: usize) -> u64 {
    let header = match payload {
        0..126 => 2,
        126..65_536 => 4,
        _ => 10,
    };
    (payload + header) as u64
}

/// The bytes one subscriber receives for the alerts of the bench written at `appended`.
///
/// Computed rather than measured, so that the publisher does not serialize every message a
/// second time inside the timed loop: the frames differ only in the digits of the position.
struct FrameBytes {
    /// The length of an alert's frame text at a position of one digit, minus that digit.
    text_without_position: usize,
}

impl FrameBytes {
    fn new(epoch: u64) -> Self {
        let text = |seq, position| {
            AlertWrite {
                alert: alert(seq),
                mails: Vec::new(),
            }
            .stream_message()
            .to_json(StreamId { epoch, position })
            .len()
        };
        assert_eq!(
            text(1, 7),
            text(98_765_432_109, 7),
            "every alert of the bench must have the same length"
        );
        Self {
            text_without_position: text(1, 7) - 1,
        }
    }

    fn of(&self, appended: Appended) -> u64 {
        (appended.first..appended.first + appended.count)
            .map(|position| frame_len(self.text_without_position + digits(position)))
            .sum()
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

fn subscription() -> Subscription {
    Subscription::new(Role::Staff).topics(&[Topic::Alerts])
}

/// A hub as `alerta serve` configures it, except that its keepalive never fires during a run,
/// so only the alerts are on the wire.
fn quiet_hub() -> Hub {
    Hub::new(HubConfig {
        ping_interval: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(7200),
        ..HubConfig::default()
    })
}

/// Which broadcaster a bench runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// The hub, started on the store's stream log.
    Hub,
    /// The naive broadcaster of this file.
    Naive,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Naive => "naive",
        }
    }
}

/// Deliveries and time of every timed iteration, per bench, for the ratios printed at the
/// end: the mean of the whole run rather than criterion's per-sample statistics.
static TALLY: Mutex<Vec<(String, u64, Duration)>> = Mutex::new(Vec::new());

fn tally(bench: &str, deliveries: u64, took: Duration) {
    let mut tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    match tally.iter_mut().find(|(name, ..)| name == bench) {
        Some((_, total, time)) => {
            *total += deliveries;
            *time += took;
        }
        None => tally.push((bench.to_owned(), deliveries, took)),
    }
}

/// Prints each bench's deliveries per second and its ratio to the naive broadcaster with
/// the same subscribers.
fn print_ratios() {
    let tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    if tally.is_empty() {
        return;
    }
    let rate = |deliveries: u64, time: Duration| deliveries as f64 / time.as_secs_f64().max(1e-9);
    println!("\nfan-out, same run (deliveries per second over all timed iterations):");
    for (bench, deliveries, time) in tally.iter() {
        let own = rate(*deliveries, *time);
        let (group, rest) = bench.split_once('/').unwrap_or((bench, ""));
        let (_, subscribers) = rest.split_once('/').unwrap_or((rest, ""));
        let baseline = tally
            .iter()
            .find(|(name, ..)| *name == format!("{group}/naive/{subscribers}"))
            .map(|(_, d, t)| rate(*d, *t));
        match baseline {
            Some(naive) if !bench.contains("/naive/") => {
                println!("  {bench:<34} {own:>12.0}/s  {:>6.1}x naive", own / naive);
            }
            _ => println!("  {bench:<34} {own:>12.0}/s"),
        }
    }
}

/// Bytes received by all subscribers together, and a wake-up when they reach a target.
#[derive(Default)]
struct Progress {
    received: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

impl Progress {
    fn add(&self, bytes: u64) {
        let now = self.received.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if now >= self.target.load(Ordering::Acquire) {
            self.reached.notify_one();
        }
    }

    /// Raises the target by `more` bytes and returns it.
    fn expect(&self, more: u64) -> u64 {
        let target = self.target.load(Ordering::Acquire) + more;
        self.target.store(target, Ordering::Release);
        target
    }

    async fn wait_for(&self, target: u64) {
        while self.received.load(Ordering::Acquire) < target {
            self.reached.notified().await;
        }
    }
}

/// A subscriber's client end: counts what arrives until the stream ends.
async fn count_bytes<R: AsyncRead + Unpin>(mut stream: R, progress: Arc<Progress>) {
    let mut buffer = vec![0; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buffer).await {
        progress.add(n as u64);
    }
}

/// The naive broadcaster: one serialization, one lock and one flushed send per message and
/// subscriber, all before `publish` returns.
struct Naive<S> {
    subscribers: Vec<(Subscription, Arc<tokio::sync::Mutex<WebSocketStream<S>>>)>,
}

#[async_trait]
impl<S> Broadcaster for Naive<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn publish(&self, batch: &StreamBatch) -> alerta_core::Result<()> {
        for (position, message) in (batch.first..).zip(&batch.messages) {
            let id = StreamId {
                epoch: batch.epoch,
                position,
            };
            for (subscription, socket) in &self.subscribers {
                if !subscription.accepts(message) {
                    continue;
                }
                let text = message.to_json(id);
                let mut socket = socket.lock().await;
                let _ = socket.send(Message::text(text)).await;
            }
        }
        Ok(())
    }
}

/// One bench's set-up: the store alerts are committed to, the broadcaster the batches are
/// published to, and what its subscribers received.
struct Fanout {
    store: Arc<MemoryStore>,
    broadcaster: Arc<DynBroadcaster>,
    /// The hub behind `broadcaster`, to shut down after the bench.
    hub: Option<Hub>,
    progress: Arc<Progress>,
    subscribers: usize,
    bytes: FrameBytes,
}

impl Fanout {
    /// A store, and for [`Variant::Hub`] a hub started on its log.
    async fn store_and_hub(variant: Variant) -> (Arc<MemoryStore>, Option<Hub>) {
        let store = Arc::new(MemoryStore::new());
        let hub = match variant {
            Variant::Hub => {
                let hub = quiet_hub();
                hub.start(store.clone(), None)
                    .await
                    .expect("the hub starts");
                Some(hub)
            }
            Variant::Naive => None,
        };
        (store, hub)
    }

    async fn new<S>(
        store: Arc<MemoryStore>,
        hub: Option<Hub>,
        naive: Vec<WebSocketStream<S>>,
        progress: Arc<Progress>,
        subscribers: usize,
    ) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let epoch = store.head().await.expect("the log's head").epoch;
        let broadcaster: Arc<DynBroadcaster> = match &hub {
            Some(hub) => {
                wait_registered(hub, subscribers).await;
                Arc::new(hub.clone())
            }
            None => Arc::new(Naive {
                subscribers: naive
                    .into_iter()
                    .map(|socket| (subscription(), Arc::new(tokio::sync::Mutex::new(socket))))
                    .collect(),
            }),
        };
        Self {
            store,
            broadcaster,
            hub,
            progress,
            subscribers,
            bytes: FrameBytes::new(epoch),
        }
    }

    /// Commits and publishes `iterations` bursts, each awaited until every subscriber has
    /// received all of it; returns the time they took.
    async fn run_bursts(&self, iterations: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iterations {
            let writes: Vec<AlertWrite> = (0..BURST)
                .map(|_| AlertWrite {
                    alert: alert(next_seq()),
                    mails: Vec::new(),
                })
                .collect();
            let messages = writes.iter().map(AlertWrite::stream_message).collect();
            let appended = self.store.insert(writes).await.expect("committed").appended;
            let target = self
                .progress
                .expect(self.bytes.of(appended) * self.subscribers as u64);
            self.broadcaster
                .publish(&StreamBatch::new(appended, messages))
                .await
                .expect("published");
            self.progress.wait_for(target).await;
        }
        start.elapsed()
    }

    /// Empties the log between timed runs, so that memory stays flat over the bench; every
    /// subscriber is at the head then, so none needs what goes.
    async fn trim(&self) {
        let later = Timestamp::from_unix_millis(CREATED_AT.unix_millis() + 1);
        self.store.trim(later).await.expect("trimmed");
    }
}

/// `subscribers` subscribers on in-memory pipes.
async fn in_process(variant: Variant, subscribers: usize) -> Fanout {
    let progress = Arc::new(Progress::default());
    let (store, hub) = Fanout::store_and_hub(variant).await;
    let config = HubConfig::default().websocket;
    let mut naive = Vec::new();
    for _ in 0..subscribers {
        let (server, client) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(count_bytes(client, progress.clone()));
        match hub.clone() {
            Some(hub) => {
                tokio::spawn(async move { hub.serve_upgraded(server, subscription()).await });
            }
            None => {
                naive.push(
                    WebSocketStream::from_raw_socket(server, WsRole::Server, Some(config)).await,
                );
            }
        }
    }
    Fanout::new(store, hub, naive, progress, subscribers).await
}

async fn wait_registered(hub: &Hub, subscribers: usize) {
    while hub.subscriber_count() < subscribers {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `subscribers` WebSocket clients connected over loopback TCP.
async fn loopback(variant: Variant, subscribers: usize) -> Fanout {
    let progress = Arc::new(Progress::default());
    let (store, hub) = Fanout::store_and_hub(variant).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let config = HubConfig::default().websocket;
    let (accepted, mut sockets) = tokio::sync::mpsc::channel(subscribers.max(1));
    // The hub serves its connections itself; the naive broadcaster is handed its sockets.
    let server = hub.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let hub = server.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                let Ok(socket) =
                    tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
                else {
                    return;
                };
                match hub {
                    Some(hub) => {
                        hub.serve(socket, subscription()).await;
                    }
                    None => {
                        let _ = accepted.send(socket).await;
                    }
                }
            });
        }
    });
    // Handshakes a few at a time, as a listen backlog expects.
    let mut pending = tokio::task::JoinSet::new();
    for _ in 0..subscribers {
        if pending.len() >= CONNECTING {
            pending.join_next().await;
        }
        let progress = progress.clone();
        pending.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let leftover = handshake(&mut stream).await;
            progress.add(leftover);
            tokio::spawn(count_bytes(stream, progress));
        });
    }
    while pending.join_next().await.is_some() {}
    let mut naive = Vec::new();
    if hub.is_none() {
        while naive.len() < subscribers {
            naive.push(sockets.recv().await.expect("a socket"));
        }
    }
    Fanout::new(store, hub, naive, progress, subscribers).await
}

/// Sends the client's upgrade request and reads the `101` reply; returns how many bytes past
/// the reply came with it.
async fn handshake(stream: &mut TcpStream) -> u64 {
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n\
                   Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the upgrade");
    let mut reply = Vec::new();
    let mut buffer = [0; 1024];
    loop {
        let n = stream.read(&mut buffer).await.expect("read the reply");
        assert!(n > 0, "the server closed during the handshake");
        reply.extend_from_slice(&buffer[..n]);
        if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(
                reply.starts_with(b"HTTP/1.1 101"),
                "the upgrade was refused"
            );
            return (reply.len() - end - 4) as u64;
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs one bench: `iterations` bursts from a task on the runtime, so that committing and
/// publishing compete for the same two workers as the subscribers, as in the server.
fn bench_variant(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    (group_name, variant): (&str, Variant),
    fanout: Fanout,
) {
    let subscribers = fanout.subscribers;
    let name = format!("{group_name}/{}/{subscribers}", variant.name());
    let fanout = Arc::new(fanout);
    group.bench_function(BenchmarkId::new(variant.name(), subscribers), |b| {
        b.iter_custom(|iterations| {
            let run = fanout.clone();
            let took = rt.block_on(async move {
                tokio::spawn(async move { run.run_bursts(iterations).await })
                    .await
                    .expect("the run")
            });
            rt.block_on(fanout.trim());
            tally(&name, iterations * (subscribers * BURST) as u64, took);
            took
        });
    });
    if let Some(hub) = &fanout.hub {
        hub.shutdown();
    }
}

fn fanout_in_process(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("fanout_in_process");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .sampling_mode(SamplingMode::Flat);
    for subscribers in [100, 1_000, 10_000] {
        // Ten naive bursts to 10,000 subscribers take about five seconds.
        let seconds = if subscribers >= 10_000 { 6 } else { 3 };
        group
            .measurement_time(Duration::from_secs(seconds))
            .throughput(Throughput::Elements((subscribers * BURST) as u64));
        for variant in [Variant::Hub, Variant::Naive] {
            let fanout = rt.block_on(in_process(variant, subscribers));
            bench_variant(&mut group, &rt, ("fanout_in_process", variant), fanout);
        }
    }
    group.finish();
}

fn fanout_loopback(c: &mut Criterion) {
    const CLIENTS: usize = 1_000;
    let rt = runtime();
    let mut group = c.benchmark_group("fanout_loopback");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements((CLIENTS * BURST) as u64));
    for variant in [Variant::Hub, Variant::Naive] {
        let fanout = rt.block_on(loopback(variant, CLIENTS));
        bench_variant(&mut group, &rt, ("fanout_loopback", variant), fanout);
    }
    group.finish();
}

criterion_group!(benches, fanout_in_process, fanout_loopback);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
