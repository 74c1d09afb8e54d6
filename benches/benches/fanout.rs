//! Broadcast fan-out: the hub against a naive broadcaster, measured in the same run.
//!
//! The hub encodes each message once, queues the same bytes to every subscriber without
//! waiting, and lets each connection write whatever has queued with one flush. The naive
//! broadcaster written here is what a first version usually looks like: for each subscriber
//! it serializes the message again, takes that subscriber's lock, and sends and flushes the
//! one frame before going on to the next.
//!
//! - `fanout_in_process`: 100, 1,000 and 10,000 subscribers on in-memory pipes, so the
//!   figures are the broadcasters' own costs. Writing to a pipe costs no syscall, so the hub
//!   runs here without its write budget ([`HubConfig::write_budget`]).
//! - `fanout_loopback`: 1,000 WebSocket clients over loopback TCP, so every write to a
//!   client is a syscall, as in production: the hub with its default configuration, the
//!   hub without a write budget, and the naive broadcaster.
//!
//! One iteration publishes a burst of [`BURST`] alerts and ends when every subscriber has
//! received every byte of them; the throughput is in deliveries (alerts × subscribers).
//! Subscribers count the bytes of the frames instead of decoding them: server frames are
//! unmasked and of known length, and decoding would add the same cost to both sides.
//!
//! A burst measures throughput; the write budget is for a steady stream, where it keeps the
//! number of writes down at the price of a bounded delay, and the load example
//! (`examples/load.rs`) measures that, latency included.
//!
//! Run with `cargo bench -p alerta-benches --bench fanout`. After criterion's report, the
//! bench prints each variant's deliveries per second over all its timed iterations and its
//! ratio to the naive broadcaster of the same run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerta_adapters::websocket::{Hub, HubConfig, Subscription};
use alerta_core::domain::{
    Alert, AlertId, AlertMessage, AlertSource, Channel, Role, Severity, StreamMessage, Timestamp,
    Topic,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;

/// Alerts published per iteration.
const BURST: usize = 32;
/// Capacity of each in-memory pipe: a loopback socket's buffers hold at least this much.
const PIPE_BYTES: usize = 64 * 1024;
/// Handshakes in flight at once while the loopback clients connect.
const CONNECTING: usize = 64;

/// A typical alert as the stream carries it: about 250 bytes of JSON.
fn alert(seq: usize) -> StreamMessage {
    let alert = Alert {
        id: AlertId::parse(&format!("01JBENCH{seq:018}")).expect("a valid id"),
        source: AlertSource::parse("sensor_17").expect("a valid source"),
        severity: Severity::Warning,
        message: AlertMessage::parse(&format!(
            "temperature above threshold in rack {seq}: 41.5 C for 120 s"
        ))
        .expect("a valid message"),
        channel: Channel::Tcp,
        created_at: Timestamp::from_unix_millis(1_767_225_600_000),
    };
    StreamMessage::for_alert(&alert)
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

fn subscription() -> Subscription {
    Subscription::new(Role::Staff).topics(&[Topic::Alerts])
}

/// A hub whose keepalive never fires during a run, so only the alerts are on the wire.
fn quiet_hub(paced: bool) -> Hub {
    let config = HubConfig::default()
        .ping_interval(Duration::from_secs(3600))
        .idle_timeout(Duration::from_secs(7200));
    Hub::new(if paced {
        config
    } else {
        config.write_budget(None)
    })
}

/// Which broadcaster a bench runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// The hub as `alerta serve` configures it.
    Hub,
    /// The hub without a write budget: every connection writes as soon as it has something.
    HubUnpaced,
    /// The naive broadcaster of this file.
    Naive,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::HubUnpaced => "hub_unpaced",
            Self::Naive => "naive",
        }
    }

    fn hub(self) -> Option<Hub> {
        match self {
            Self::Hub => Some(quiet_hub(true)),
            Self::HubUnpaced => Some(quiet_hub(false)),
            Self::Naive => None,
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

    /// Sets the next target; call before publishing what reaches it.
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

/// The naive broadcaster: one serialization, one lock and one flushed send per subscriber.
struct Naive<S> {
    subscribers: Vec<(Subscription, Arc<tokio::sync::Mutex<WebSocketStream<S>>>)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Naive<S> {
    async fn broadcast(&self, message: &StreamMessage) {
        for (subscription, socket) in &self.subscribers {
            if !subscription.accepts(message) {
                continue;
            }
            let text = message.to_json();
            let mut socket = socket.lock().await;
            let _ = socket.send(Message::text(text)).await;
        }
    }
}

enum Broadcaster<S> {
    Hub(Hub),
    Naive(Naive<S>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Broadcaster<S> {
    async fn publish(&self, message: &StreamMessage) {
        match self {
            Self::Hub(hub) => {
                hub.broadcast(message);
            }
            Self::Naive(naive) => naive.broadcast(message).await,
        }
    }
}

/// `subscribers` subscribers on in-memory pipes.
async fn in_process(
    variant: Variant,
    subscribers: usize,
    progress: &Arc<Progress>,
) -> Broadcaster<tokio::io::DuplexStream> {
    let hub = variant.hub();
    let config = HubConfig::default().websocket();
    let mut naive = Vec::new();
    for _ in 0..subscribers {
        let (server, client) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(count_bytes(client, progress.clone()));
        if let Some(hub) = hub.clone() {
            tokio::spawn(async move { hub.serve_upgraded(server, subscription()).await });
        } else {
            let socket = WebSocketStream::from_raw_socket(server, WsRole::Server, Some(config));
            naive.push((
                subscription(),
                Arc::new(tokio::sync::Mutex::new(socket.await)),
            ));
        }
    }
    match hub {
        Some(hub) => {
            wait_registered(&hub, subscribers).await;
            Broadcaster::Hub(hub)
        }
        None => Broadcaster::Naive(Naive { subscribers: naive }),
    }
}

async fn wait_registered(hub: &Hub, subscribers: usize) {
    while hub.subscriber_count() < subscribers {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `subscribers` WebSocket clients connected over loopback TCP.
async fn loopback(
    variant: Variant,
    subscribers: usize,
    progress: &Arc<Progress>,
) -> Broadcaster<TcpStream> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let hub = variant.hub();
    let config = HubConfig::default().websocket();
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
    if let Some(hub) = hub {
        wait_registered(&hub, subscribers).await;
        return Broadcaster::Hub(hub);
    }
    let mut naive = Vec::new();
    while naive.len() < subscribers {
        let socket = sockets.recv().await.expect("a socket");
        naive.push((subscription(), Arc::new(tokio::sync::Mutex::new(socket))));
    }
    Broadcaster::Naive(Naive { subscribers: naive })
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

/// Times `iterations` bursts, each until every subscriber has received all of it.
async fn run_bursts<S: AsyncRead + AsyncWrite + Unpin>(
    broadcaster: &Broadcaster<S>,
    progress: &Progress,
    messages: &[StreamMessage],
    burst_bytes: u64,
    iterations: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        let target = progress.expect(burst_bytes);
        for message in messages {
            broadcaster.publish(message).await;
        }
        progress.wait_for(target).await;
    }
    start.elapsed()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn burst() -> Burst {
    let messages: Vec<StreamMessage> = (0..BURST).map(alert).collect();
    let per_subscriber = messages.iter().map(|m| frame_len(m.to_json().len())).sum();
    Burst {
        messages: Arc::new(messages),
        per_subscriber,
    }
}

/// The alerts of one burst, and the bytes one subscriber receives for them.
struct Burst {
    messages: Arc<Vec<StreamMessage>>,
    per_subscriber: u64,
}

/// Runs one variant's bench: `iterations` bursts from a task on the runtime, so that
/// publishing competes for the same two workers as the subscribers, as in the server.
fn bench_variant<S>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    (group_name, function): (&str, &str),
    (broadcaster, progress, subscribers): (Broadcaster<S>, Arc<Progress>, usize),
    burst: &Burst,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let name = format!("{group_name}/{function}/{subscribers}");
    let broadcaster = Arc::new(broadcaster);
    let burst_bytes = burst.per_subscriber * subscribers as u64;
    group.bench_function(BenchmarkId::new(function, subscribers), |b| {
        b.iter_custom(|iterations| {
            let (broadcaster, progress, messages) = (
                broadcaster.clone(),
                progress.clone(),
                burst.messages.clone(),
            );
            let took = rt.block_on(async move {
                tokio::spawn(async move {
                    run_bursts(&broadcaster, &progress, &messages, burst_bytes, iterations).await
                })
                .await
                .expect("the run")
            });
            tally(&name, iterations * (subscribers * BURST) as u64, took);
            took
        });
    });
    if let Ok(Broadcaster::Hub(hub)) = Arc::try_unwrap(broadcaster) {
        hub.shutdown();
    }
}

fn fanout_in_process(c: &mut Criterion) {
    let rt = runtime();
    let burst = burst();
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
        // Pipes cost no syscall, so the hub runs without its write budget here.
        for (variant, name) in [(Variant::HubUnpaced, "hub"), (Variant::Naive, "naive")] {
            let progress = Arc::new(Progress::default());
            let broadcaster = rt.block_on(in_process(variant, subscribers, &progress));
            bench_variant(
                &mut group,
                &rt,
                ("fanout_in_process", name),
                (broadcaster, progress, subscribers),
                &burst,
            );
        }
    }
    group.finish();
}

fn fanout_loopback(c: &mut Criterion) {
    const CLIENTS: usize = 1_000;
    let rt = runtime();
    let burst = burst();
    let mut group = c.benchmark_group("fanout_loopback");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements((CLIENTS * BURST) as u64));
    for variant in [Variant::Hub, Variant::HubUnpaced, Variant::Naive] {
        let progress = Arc::new(Progress::default());
        let broadcaster = rt.block_on(loopback(variant, CLIENTS, &progress));
        bench_variant(
            &mut group,
            &rt,
            ("fanout_loopback", variant.name()),
            (broadcaster, progress, CLIENTS),
            &burst,
        );
    }
    group.finish();
}

criterion_group!(benches, fanout_in_process, fanout_loopback);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
