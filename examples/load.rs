//! A load generator to run against a live `alerta serve` on the same or another machine.
//!
//! - `fanout`: N WebSocket clients subscribe to alerts; M alerts go in over TCP at a set rate
//!   (or all at once), each carrying its send time. Reports deliveries per second,
//!   publish-to-receive latency (p50, p99, max), loss per client, ids out of order and
//!   `reset` messages, and the CPU time of the server processes named with `--server-pid`.
//!   With `--baseline-http`, the same clients measure a second server in the same run, round
//!   after round, and the medians and ratios are printed at the end.
//! - `baseline-server`: a minimal coalescing stream server to compare with: the WebSocket
//!   handshake done by hand with tungstenite's key derivation, each message encoded once into
//!   a complete frame, and each connection writing everything pending with one write per
//!   wake-up. It takes alerts on TCP lines as `alerta serve` does; it stores nothing, or with
//!   `--sync-dir` appends each read's lines to a file and syncs it before publishing them.
//! - `ingest`: C TCP connections send alerts pipelined, each with at most W unanswered.
//!   Reports acknowledged (durably stored) alerts per second and acknowledgement latency.
//! - `idle`: opens N WebSocket connections that stay silent and reports how much the server's
//!   resident memory grew per connection (reads `/proc/PID/status`, so same machine only).
//!
//! ```text
//! cargo build --release -p alerta-bin
//! cargo build --release -p alerta-examples --example load
//! (ulimit -n 20000; ./target/release/alerta serve --data-dir /tmp/alerta-load) &
//! ./target/release/examples/load baseline-server &
//! ./target/release/examples/load fanout --clients 1000 --alerts 500 --rate 50 \
//!     --baseline-http 127.0.0.1:8090 --baseline-tcp 127.0.0.1:9090 --rounds 3
//! ./target/release/examples/load ingest --connections 32 --alerts 200000
//! ./target/release/examples/load idle --clients 5000 --server-pid "$(pidof alerta)"
//! ```
//!
//! `--http` and `--tcp` take comma-separated lists, for several instances sharing one store
//! and a broker: clients are spread over the HTTP addresses in turn, and the alerts are
//! split between the TCP addresses.
//!
//! Unless `--token` is given, `fanout` and `idle` register (or reuse) a student account and
//! log in with it; students receive alerts. The baseline server accepts any token.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use alerta_core::domain::{
    Alert, AlertDraft, AlertId, Channel, StreamId, StreamMessage, UlidSource,
};
use alerta_core::ports::{Clock, SystemClock};
use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

type Socket = WebSocketStream<TcpStream>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

const LIMITS: &str = "\
Every connection is an open file on both sides. This tool raises its own soft limit to the \
hard limit; raise the server's before starting it, e.g. `ulimit -n 20000; alerta serve`, and \
check the hard limit with `ulimit -Hn`. Run the tool and the server as separate processes, so \
that each has its own limit.";

/// Load against a live `alerta serve`.
#[derive(Debug, Parser)]
#[command(name = "load", after_help = LIMITS)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Broadcast fan-out: N WebSocket clients, M alerts over TCP at a chosen rate.
    #[command(after_help = LIMITS)]
    Fanout(FanoutArgs),
    /// A minimal coalescing stream server, the baseline `fanout --baseline-http` measures.
    #[command(after_help = LIMITS)]
    BaselineServer(BaselineArgs),
    /// Durable ingestion: C pipelined TCP connections.
    Ingest(IngestArgs),
    /// Server memory per idle WebSocket connection.
    #[command(after_help = LIMITS)]
    Idle(IdleArgs),
}

#[derive(Debug, Args)]
struct Server {
    /// The server's HTTP address (REST and `/ws`); `fanout` takes a comma-separated list.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: String,
    /// The server's TCP ingestion address; `fanout` takes a comma-separated list.
    #[arg(long, default_value = "127.0.0.1:9000")]
    tcp: String,
    /// An ingest key, when the server requires one.
    #[arg(long)]
    key: Option<String>,
}

#[derive(Debug, Args)]
struct Login {
    /// A session token to subscribe with, instead of logging in.
    #[arg(long)]
    token: Option<String>,
    /// The account to register (if new) and log in with.
    #[arg(long, default_value = "load@example.com")]
    email: String,
    /// Its password.
    #[arg(long, default_value = "load-password")]
    password: String,
    /// WebSocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    connecting: usize,
}

#[derive(Debug, Args)]
struct FanoutArgs {
    #[command(flatten)]
    server: Server,
    #[command(flatten)]
    login: Login,
    /// WebSocket clients that read everything.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// WebSocket clients that subscribe and then never read, beside the reading ones.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Alerts to publish.
    #[arg(long, default_value_t = 2000)]
    alerts: u64,
    /// Alerts per second; 0 sends them all at once.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Padding added to each alert's message, in bytes.
    #[arg(long, default_value_t = 64)]
    pad: usize,
    /// How long to wait for stragglers after the last alert is acknowledged, in seconds.
    #[arg(long, default_value_t = 30)]
    drain_s: u64,
    /// Process ids of the server (one per instance), whose CPU time during the run is
    /// reported; comma-separated.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// A second server to measure with the same clients, e.g. `load baseline-server`.
    #[arg(long, requires = "baseline_tcp")]
    baseline_http: Option<String>,
    /// Its TCP ingestion address.
    #[arg(long, requires = "baseline_http")]
    baseline_tcp: Option<String>,
    /// Its process id, for its CPU time.
    #[arg(long)]
    baseline_pid: Option<u32>,
    /// What to call the server of `--http` in the report.
    #[arg(long, default_value = "alerta")]
    label: String,
    /// What to call the second server in the report.
    #[arg(long, default_value = "baseline")]
    baseline_label: String,
    /// How many times to run each server, alternating which goes first.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Seconds to pause between runs, so that the previous clients' connections are gone.
    #[arg(long, default_value_t = 2)]
    pause_s: u64,
}

#[derive(Debug, Args)]
struct BaselineArgs {
    /// Where clients connect over WebSocket (any path, any token).
    #[arg(long, default_value = "127.0.0.1:8090")]
    http: String,
    /// Where alerts come in, one JSON line each, as on `alerta serve`'s TCP port.
    #[arg(long, default_value = "127.0.0.1:9090")]
    tcp: String,
    /// Frames kept in memory for connections that fall behind.
    #[arg(long, default_value_t = 262_144)]
    keep: usize,
    /// Appends each read's alert lines to a file in this directory and waits for it to be
    /// on disk before publishing them, the least a durable store pays per commit.
    #[arg(long)]
    sync_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct IngestArgs {
    #[command(flatten)]
    server: Server,
    /// TCP connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Alerts in total.
    #[arg(long, default_value_t = 200_000)]
    alerts: u64,
    /// Unanswered alerts allowed per connection. By Little's law the acknowledgement
    /// latency is about connections × window ÷ throughput: a wider window buys throughput
    /// (larger commits) with latency.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Padding added to each alert's message, in bytes.
    #[arg(long, default_value_t = 64)]
    pad: usize,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    server: Server,
    #[command(flatten)]
    login: Login,
    /// Idle WebSocket connections to open.
    #[arg(long, default_value_t = 5000)]
    clients: usize,
    /// The server's process id, whose `VmRSS` is read before and after.
    #[arg(long)]
    server_pid: u32,
    /// How long to let the server settle before each reading, in seconds.
    #[arg(long, default_value_t = 2)]
    settle_s: u64,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    let needed = match &cli.mode {
        Mode::Fanout(args) => args.clients + args.stalled + 64,
        Mode::BaselineServer(_) => 20_000,
        Mode::Ingest(args) => args.connections + 64,
        Mode::Idle(args) => args.clients + 64,
    };
    raise_open_files(needed as u64);
    match cli.mode {
        Mode::Fanout(args) => fanout(args).await,
        Mode::BaselineServer(args) => baseline_server(args).await,
        Mode::Ingest(args) => ingest(args).await,
        Mode::Idle(args) => idle(args).await,
    }
}

fn raise_open_files(needed: u64) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => eprintln!(
            "warning: {needed} open files needed, the hard limit allows {limit}; see --help"
        ),
        Ok(_) => {}
        Err(error) => eprintln!("warning: could not raise the open-files limit: {error}"),
    }
}

/// Microseconds since the tool started: the clock of send and receive times alike.
fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The CPU time, user and system, that process `pid` has used, in seconds; `self` for this
/// one. Same machine only.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    // `/proc` counts in USER_HZ, which Linux fixes at 100 for user space.
    Some((user + system) as f64 / 100.0)
}

/// A comma-separated list of addresses.
fn addresses(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Logging in and subscribing

/// A minimal HTTP/1.1 POST, enough for the two auth calls.
async fn post(addr: &str, path: &str, body: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

async fn token(http: &str, login: &Login) -> Result<String, Failure> {
    if let Some(token) = &login.token {
        return Ok(token.clone());
    }
    let account = serde_json::json!({
        "email": login.email,
        "password": login.password,
        "nombre": "Load",
    });
    let (status, body) = post(http, "/auth/register", &account.to_string()).await?;
    if status != 201 && status != 409 {
        return Err(format!("registering {}: {status} {body}", login.email).into());
    }
    let (status, body) = post(http, "/auth/login", &account.to_string()).await?;
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    match reply["token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_owned()),
        _ => Err(format!("logging in as {}: {status} {body}", login.email).into()),
    }
}

/// Opens a subscription to alerts and returns once the server has registered it: the server
/// answers a ping only once the connection's cursor is set.
async fn subscribe(http: &str, token: &str) -> Result<Socket, Failure> {
    let url = format!("ws://{http}/ws?token={token}&topics=alerts");
    // Small buffers: thousands of these share the tool's memory.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let stream = TcpStream::connect(http).await?;
    stream.set_nodelay(true)?;
    let (mut socket, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    socket
        .send(Message::Ping(Bytes::from_static(b"ready")))
        .await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Pong(_))) => return Ok(socket),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => return Err("closed before it was ready".into()),
        }
    }
}

/// Opens `clients` subscriptions spread over `http` in turn, `connecting` at a time.
async fn subscribe_all(
    http: &[String],
    token: &str,
    clients: usize,
    connecting: usize,
) -> Result<Vec<Socket>, Failure> {
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(clients);
    let mut pending = JoinSet::new();
    let mut failures = 0;
    let mut first_failure = None;
    for opened in 0..clients {
        while pending.len() >= connecting.max(1) {
            collect(
                &mut pending,
                &mut sockets,
                &mut failures,
                &mut first_failure,
            )
            .await;
        }
        let (http, token) = (http[opened % http.len()].clone(), token.to_owned());
        pending.spawn(async move { subscribe(&http, &token).await });
        if (opened + 1) % 1000 == 0 {
            eprintln!("  {} connections opened", opened + 1);
        }
    }
    while !pending.is_empty() {
        collect(
            &mut pending,
            &mut sockets,
            &mut failures,
            &mut first_failure,
        )
        .await;
    }
    eprintln!(
        "{} subscribers ready in {:.1} s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );
    if failures > 0 {
        return Err(format!(
            "{failures} of {clients} subscriptions failed, the first with: {}",
            first_failure.unwrap_or_default()
        )
        .into());
    }
    Ok(sockets)
}

async fn collect(
    pending: &mut JoinSet<Result<Socket, Failure>>,
    sockets: &mut Vec<Socket>,
    failures: &mut usize,
    first_failure: &mut Option<String>,
) {
    match pending.join_next().await {
        Some(Ok(Ok(socket))) => sockets.push(socket),
        Some(Ok(Err(error))) => {
            *failures += 1;
            first_failure.get_or_insert_with(|| error.to_string());
        }
        Some(Err(error)) => {
            *failures += 1;
            first_failure.get_or_insert_with(|| error.to_string());
        }
        None => {}
    }
}

// ---------------------------------------------------------------------------------------
// Alert lines and stream messages

/// Appends one alert line whose message starts with `load <seq> <sent_us>`.
fn alert_line(out: &mut Vec<u8>, seq: u64, sent_us: u64, pad: usize, key: Option<&str>) {
    use std::io::Write;
    let _ = write!(
        out,
        r#"{{"source":"load","severity":"info","message":"load {seq} {sent_us} "#
    );
    out.resize(out.len() + pad, b'x');
    out.extend_from_slice(b"\"");
    if let Some(key) = key {
        out.extend_from_slice(b",\"key\":");
        let _ = serde_json::to_writer(&mut *out, key);
    }
    out.extend_from_slice(b"}\n");
}

/// The sequence number and send time carried by a stream message of an alert made by
/// [`alert_line`]. A plain search, not a JSON parse, so that the clients cost the machine as
/// little as possible.
fn load_marks(text: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"message\":\"load ";
    let start = text.find(MARK)? + MARK.len();
    let mut fields = text[start..].split(' ');
    let seq = fields.next()?.parse().ok()?;
    let sent = fields.next()?.parse().ok()?;
    Some((seq, sent))
}

/// The stream id (`"id":"epoch:position"`) of a message. Alert and incident messages put
/// it before `data`, and a `reset` message has no other `id`, so the first one is it.
fn stream_id(text: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"id\":\"";
    let start = text.find(MARK)? + MARK.len();
    let end = start + text[start..].find('"')?;
    let (epoch, position) = text[start..end].split_once(':')?;
    Some((epoch.parse().ok()?, position.parse().ok()?))
}

fn is_reset(text: &str) -> bool {
    text.contains("\"type\":\"reset\"")
}

/// Whether a reply line reports success.
fn acknowledged(line: &[u8]) -> bool {
    line.starts_with(b"{\"ok\":true")
}

// ---------------------------------------------------------------------------------------
// Fan-out

#[derive(Default)]
struct Totals {
    received: AtomicU64,
    last_receive_us: AtomicU64,
}

/// What one reading client saw.
struct ClientReport {
    /// Distinct alerts of this run received.
    received: u64,
    /// Alerts received again.
    repeated: u64,
    /// Messages whose id was not above the one before it.
    out_of_order: u64,
    /// `reset` messages.
    resets: u64,
    /// From the alert's send to its receipt, per alert.
    latencies_us: Vec<u32>,
    /// Each alert's number and when it arrived, in microseconds after the run started.
    receipts: Vec<(u32, u32)>,
    closed_with: Option<u16>,
}

async fn receive(
    mut socket: Socket,
    alerts: u64,
    run_start_us: u64,
    totals: Arc<Totals>,
    mut stop: watch::Receiver<bool>,
) -> ClientReport {
    let mut report = ClientReport {
        received: 0,
        repeated: 0,
        out_of_order: 0,
        resets: 0,
        latencies_us: Vec::with_capacity(alerts as usize),
        receipts: Vec::with_capacity(alerts as usize),
        closed_with: None,
    };
    let mut seen = vec![false; alerts as usize];
    let mut last_id = None;
    let stopped = stop.wait_for(|stop| *stop);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    let id = stream_id(text);
                    if id.is_some() && id <= last_id {
                        report.out_of_order += 1;
                    }
                    last_id = id.max(last_id);
                    if is_reset(text) {
                        report.resets += 1;
                        continue;
                    }
                    let Some((seq, sent)) = load_marks(text) else { continue };
                    let Some(first) = seen.get_mut(seq as usize).filter(|seen| !**seen) else {
                        report.repeated += 1;
                        continue;
                    };
                    *first = true;
                    let now = now_us();
                    report.latencies_us.push(now.saturating_sub(sent).min(u32::MAX as u64) as u32);
                    let after_start = now.saturating_sub(run_start_us).min(u32::MAX as u64);
                    report.receipts.push((seq as u32, after_start as u32));
                    report.received += 1;
                    totals.received.fetch_add(1, Ordering::Relaxed);
                    totals.last_receive_us.fetch_max(now, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(frame))) => {
                    report.closed_with = Some(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = &mut stopped => break,
        }
    }
    report
}

struct SendReport {
    sent: u64,
    acknowledged: u64,
    refused: u64,
    first_send_us: u64,
    ack_latencies_us: Vec<u32>,
    /// The alerts sent.
    seqs: Range<u64>,
    /// When each reply arrived, in the order of `seqs`.
    replied_us: Vec<u64>,
}

/// Sends the alerts numbered `seqs` over one connection at `rate` per second (all at once
/// when `rate` is 0), and counts the replies.
async fn send_paced(
    tcp: String,
    seqs: Range<u64>,
    rate: f64,
    pad: usize,
    key: Option<String>,
) -> Result<SendReport, Failure> {
    let alerts = seqs.end - seqs.start;
    let stream = TcpStream::connect(&tcp).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let sent_at = Arc::new(Mutex::new(VecDeque::new()));
    let replies = tokio::spawn(count_replies(read, alerts, sent_at.clone()));
    let started = Instant::now();
    let first_send_us = now_us();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut sent = 0;
    let mut buffer = Vec::new();
    while sent < alerts {
        tick.tick().await;
        let due = if rate > 0.0 {
            ((started.elapsed().as_secs_f64() * rate) as u64 + 1).min(alerts)
        } else {
            alerts
        };
        buffer.clear();
        let now = now_us();
        for seq in sent..due {
            alert_line(&mut buffer, seqs.start + seq, now, pad, key.as_deref());
        }
        if let Ok(mut queue) = sent_at.lock() {
            queue.extend(std::iter::repeat_n(now, due.saturating_sub(sent) as usize));
        }
        write.write_all(&buffer).await?;
        sent = due.max(sent);
    }
    let (acknowledged, refused, ack_latencies_us, replied_us) = replies.await??;
    Ok(SendReport {
        sent,
        acknowledged,
        refused,
        first_send_us,
        ack_latencies_us,
        seqs,
        replied_us,
    })
}

async fn count_replies(
    read: OwnedReadHalf,
    expected: u64,
    sent_at: Arc<Mutex<VecDeque<u64>>>,
) -> io::Result<(u64, u64, Vec<u32>, Vec<u64>)> {
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut line = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    let mut latencies = Vec::with_capacity(expected as usize);
    let mut replied = Vec::with_capacity(expected as usize);
    while ok + refused < expected {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        let now = now_us();
        replied.push(now);
        let sent = sent_at.lock().ok().and_then(|mut q| q.pop_front());
        if let Some(sent) = sent {
            latencies.push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
        }
        if acknowledged(&line) {
            ok += 1;
        } else {
            if refused == 0 {
                eprintln!("refused: {}", String::from_utf8_lossy(&line).trim_end());
            }
            refused += 1;
        }
    }
    Ok((ok, refused, latencies, replied))
}

/// A server `fanout` measures.
struct Target {
    name: String,
    http: Vec<String>,
    tcp: Vec<String>,
    token: String,
    pids: Vec<u32>,
}

/// The figures of one run against one server.
struct RunReport {
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// From the reply to the sender (the alert is committed and published by then) to
    /// receipt: the fan-out without the store's commit.
    after_reply_p50_ms: f64,
    after_reply_p99_ms: f64,
    /// Deliveries missing at reading clients.
    missing: u64,
    server_cpu_s: Option<f64>,
    tool_cpu_s: Option<f64>,
}

async fn fanout(args: FanoutArgs) -> Result<(), Failure> {
    let http = addresses(&args.server.http);
    let tcp = addresses(&args.server.tcp);
    if http.is_empty() || tcp.is_empty() {
        return Err("--http and --tcp need at least one address each".into());
    }
    let mut targets = vec![Target {
        name: args.label.clone(),
        token: token(&http[0], &args.login).await?,
        http,
        tcp,
        pids: args.server_pid.clone(),
    }];
    if let (Some(http), Some(tcp)) = (&args.baseline_http, &args.baseline_tcp) {
        let http = addresses(http);
        // Another `alerta serve` needs a login of its own; the baseline server takes anything.
        let token = match http.first() {
            Some(first) => token(first, &args.login)
                .await
                .unwrap_or_else(|_| "any".into()),
            None => return Err("--baseline-http needs an address".into()),
        };
        targets.push(Target {
            name: args.baseline_label.clone(),
            http,
            tcp: addresses(tcp),
            token,
            pids: args.baseline_pid.into_iter().collect(),
        });
    }
    let rounds = args.rounds.max(1);
    let mut reports: Vec<Vec<RunReport>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        // Alternating which server goes first spreads any drift of the machine over both.
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            if round > 0 || index != 0 || targets.len() > 1 {
                tokio::time::sleep(Duration::from_secs(args.pause_s)).await;
            }
            let target = &targets[index];
            eprintln!("round {} of {rounds}: {}", round + 1, target.name);
            reports[index].push(fanout_once(&args, target).await?);
        }
    }
    if rounds > 1 || targets.len() > 1 {
        summarize(&targets, &mut reports);
    }
    Ok(())
}

/// Prints each server's medians over the rounds and, with a baseline, the ratios.
fn summarize(targets: &[Target], reports: &mut [Vec<RunReport>]) {
    fn median(mut values: Vec<f64>) -> f64 {
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }
    let medians: Vec<[f64; 6]> = reports
        .iter()
        .map(|runs| {
            [
                median(runs.iter().map(|r| r.deliveries_per_s).collect()),
                median(runs.iter().map(|r| r.p50_ms).collect()),
                median(runs.iter().map(|r| r.p99_ms).collect()),
                median(runs.iter().map(|r| r.max_ms).collect()),
                median(runs.iter().map(|r| r.after_reply_p50_ms).collect()),
                median(runs.iter().map(|r| r.after_reply_p99_ms).collect()),
            ]
        })
        .collect();
    println!("medians over {} rounds:", reports[0].len());
    for ((target, runs), m) in targets.iter().zip(reports.iter()).zip(&medians) {
        let missing: u64 = runs.iter().map(|r| r.missing).sum();
        let cpu = |pick: fn(&RunReport) -> Option<f64>| {
            let values: Vec<f64> = runs.iter().filter_map(pick).collect();
            if values.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.2}", median(values))
            }
        };
        println!(
            "  {:<8} {:>10.0} deliveries/s  latency p50 {:.2} / p99 {:.2} / max {:.2} ms  \
             after the reply p50 {:.2} / p99 {:.2} ms  missing {missing}  \
             CPU s server {} / tool {}",
            target.name,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            cpu(|r| r.server_cpu_s),
            cpu(|r| r.tool_cpu_s),
        );
    }
    if let [alerta, baseline] = medians.as_slice() {
        println!(
            "  {} / {}: deliveries/s {:.2}x, p50 {:.2}x, p99 {:.2}x; after the reply \
             p99 {:+.2} ms",
            targets[0].name,
            targets[1].name,
            alerta[0] / baseline[0],
            alerta[1] / baseline[1],
            alerta[2] / baseline[2],
            alerta[5] - baseline[5],
        );
    }
}

/// One fan-out run against `target`, with fresh connections.
async fn fanout_once(args: &FanoutArgs, target: &Target) -> Result<RunReport, Failure> {
    let connecting = args.login.connecting;
    let sockets = subscribe_all(&target.http, &target.token, args.clients, connecting).await?;
    // Held open and never read, until the run is over.
    let stalled = if args.stalled > 0 {
        subscribe_all(&target.http, &target.token, args.stalled, connecting).await?
    } else {
        Vec::new()
    };
    let totals = Arc::new(Totals::default());
    let (stop, stopped) = watch::channel(false);
    let mut clients = JoinSet::new();
    let run_start_us = now_us();
    for socket in sockets {
        clients.spawn(receive(
            socket,
            args.alerts,
            run_start_us,
            totals.clone(),
            stopped.clone(),
        ));
    }

    let expected = args.alerts * args.clients as u64;
    eprintln!(
        "publishing {} alerts at {} to {} clients ({} deliveries)",
        args.alerts,
        if args.rate > 0.0 {
            format!("{}/s", args.rate)
        } else {
            "once".to_owned()
        },
        args.clients,
        expected
    );
    // Per process, for several instances.
    let server_cpu = || -> Option<Vec<f64>> {
        target
            .pids
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string()))
            .collect::<Option<Vec<f64>>>()
            .filter(|each| !each.is_empty())
    };
    let (server_before, tool_before) = (server_cpu(), cpu_seconds("self"));
    // The alerts are split between the TCP addresses, each sending its share at its share
    // of the rate.
    let senders_count = target.tcp.len() as u64;
    let mut senders = JoinSet::new();
    for (i, tcp) in target.tcp.iter().enumerate() {
        let i = i as u64;
        let seqs = args.alerts * i / senders_count..args.alerts * (i + 1) / senders_count;
        senders.spawn(send_paced(
            tcp.clone(),
            seqs,
            args.rate / senders_count as f64,
            args.pad,
            args.server.key.clone(),
        ));
    }
    let mut sent = 0;
    let mut acknowledged = 0;
    let mut refused = 0;
    let mut first_send_us = u64::MAX;
    let mut acks = Vec::new();
    let mut replied_us = vec![u64::MAX; args.alerts as usize];
    while let Some(report) = senders.join_next().await {
        let report = report??;
        for (seq, at) in report.seqs.clone().zip(&report.replied_us) {
            replied_us[seq as usize] = *at;
        }
        sent += report.sent;
        acknowledged += report.acknowledged;
        refused += report.refused;
        first_send_us = first_send_us.min(report.first_send_us);
        acks.extend_from_slice(&report.ack_latencies_us);
    }
    let deadline = Instant::now() + Duration::from_secs(args.drain_s);
    while totals.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (server_after, tool_after) = (server_cpu(), cpu_seconds("self"));
    let _ = stop.send(true);

    let mut latencies = Vec::with_capacity(expected as usize);
    let mut short_clients = 0;
    let mut missing = 0;
    let mut closed = std::collections::BTreeMap::new();
    let mut short_open = 0;
    let mut missing_open = 0;
    let (mut repeated, mut out_of_order, mut resets) = (0, 0, 0);
    let mut after_reply: Vec<i32> = Vec::with_capacity(expected as usize);
    while let Some(report) = clients.join_next().await {
        let report = report?;
        let lost = args.alerts.saturating_sub(report.received);
        if lost > 0 {
            short_clients += 1;
            missing += lost;
            if report.closed_with.is_none() {
                short_open += 1;
                missing_open += lost;
            }
        }
        if let Some(code) = report.closed_with {
            *closed.entry(code).or_insert(0u64) += 1;
        }
        repeated += report.repeated;
        out_of_order += report.out_of_order;
        resets += report.resets;
        latencies.extend_from_slice(&report.latencies_us);
        for &(seq, at) in &report.receipts {
            let replied = replied_us[seq as usize];
            if replied != u64::MAX {
                let received = (run_start_us + u64::from(at)) as i64;
                after_reply.push((received - replied as i64) as i32);
            }
        }
    }
    drop(stalled);
    let received = totals.received.load(Ordering::Relaxed);
    let span_us = totals
        .last_receive_us
        .load(Ordering::Relaxed)
        .saturating_sub(first_send_us)
        .max(1);
    let deliveries_per_s = received as f64 / (span_us as f64 / 1e6);
    println!(
        "fanout ({}): {} clients{}, {sent} alerts at {} ({acknowledged} acknowledged, {refused} refused)",
        target.name,
        args.clients,
        if args.stalled > 0 {
            format!(" (and {} that never read)", args.stalled)
        } else {
            String::new()
        },
        if args.rate > 0.0 {
            format!("{}/s", args.rate)
        } else {
            "once".to_owned()
        },
    );
    println!(
        "  deliveries: {received} of {expected} in {:.2} s = {deliveries_per_s:.0}/s",
        span_us as f64 / 1e6,
    );
    let (p50_ms, p99_ms, max_ms) = (
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
        percentile(&mut latencies, 1.0),
    );
    println!(
        "  publish->receive latency: {}",
        percentiles(&mut latencies)
    );
    println!(
        "  publish->acknowledgement latency: {}",
        percentiles(&mut acks)
    );
    let (after_reply_p50_ms, after_reply_p99_ms) = (
        percentile(&mut after_reply, 0.50),
        percentile(&mut after_reply, 0.99),
    );
    println!(
        "  acknowledgement->receive (negative: before the reply): {}",
        percentiles(&mut after_reply)
    );
    println!(
        "  loss: {missing} deliveries missing at {short_clients} clients; \
         {missing_open} at {short_open} clients that stayed connected"
    );
    println!(
        "  order: {out_of_order} ids not above the one before, {repeated} alerts repeated, \
         {resets} reset messages"
    );
    if !closed.is_empty() {
        println!("  closed by the server (code: clients): {closed:?}");
    }
    let each_server: Option<Vec<f64>> = server_before
        .zip(server_after)
        .map(|(before, after)| before.iter().zip(&after).map(|(b, a)| a - b).collect());
    let server_cpu_s = each_server.as_ref().map(|each| each.iter().sum::<f64>());
    let tool_cpu_s = tool_before
        .zip(tool_after)
        .map(|(before, after)| after - before);
    if let (Some(server), Some(each)) = (server_cpu_s, &each_server) {
        let per_process = if each.len() > 1 {
            let each: Vec<String> = each.iter().map(|s| format!("{s:.2}")).collect();
            format!(" = {} s", each.join(" + "))
        } else {
            String::new()
        };
        let per_delivery = if received > 0 {
            format!(", {:.2} µs per delivery", server * 1e6 / received as f64)
        } else {
            String::new()
        };
        println!(
            "  CPU: server {server:.2} s{per_process} ({:.1} µs per alert{per_delivery}), \
             tool {:.2} s",
            server * 1e6 / sent.max(1) as f64,
            tool_cpu_s.unwrap_or(f64::NAN),
        );
    }
    Ok(RunReport {
        deliveries_per_s,
        p50_ms,
        p99_ms,
        max_ms,
        after_reply_p50_ms,
        after_reply_p99_ms,
        missing,
        server_cpu_s,
        tool_cpu_s,
    })
}

/// The value at quantile `q` of `values` (microseconds), in milliseconds.
fn percentile<T: Copy + Ord + Into<f64>>(values: &mut [T], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let index = ((values.len() as f64 * q) as usize).min(values.len() - 1);
    values[index].into() / 1000.0
}

fn percentiles<T: Copy + Ord + Into<f64>>(values: &mut [T]) -> String {
    if values.is_empty() {
        return "no samples".into();
    }
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
        percentile(values, 0.50),
        percentile(values, 0.90),
        percentile(values, 0.99),
        percentile(values, 0.999),
        percentile(values, 1.0),
        values.len()
    )
}

// ---------------------------------------------------------------------------------------
// The baseline server

/// The baseline's stream: complete frames, each encoded once, and the position of the last.
struct Baseline {
    frames: RwLock<Frames>,
    head: watch::Sender<u64>,
    epoch: u64,
    ids: UlidSource,
    keep: usize,
    /// Where lines are made durable before they are published, with `--sync-dir`.
    journal: Option<Arc<Mutex<std::fs::File>>>,
}

struct Frames {
    /// The position of the first frame kept.
    first: u64,
    frames: VecDeque<Bytes>,
}

impl Baseline {
    /// Gives `messages` the next positions, encodes each into a frame once, and wakes every
    /// connection once.
    fn publish(&self, messages: Vec<StreamMessage>) {
        if messages.is_empty() {
            return;
        }
        let mut frames = self.frames.write().unwrap_or_else(|e| e.into_inner());
        let mut position = frames.first + frames.frames.len() as u64;
        for message in messages {
            let id = StreamId {
                epoch: self.epoch,
                position,
            };
            let frame = ws_frame(0x81, message.to_json(id).as_bytes());
            frames.frames.push_back(Bytes::from(frame));
            position += 1;
            if frames.frames.len() > self.keep {
                frames.frames.pop_front();
                frames.first += 1;
            }
        }
        drop(frames);
        self.head.send_replace(position - 1);
    }

    /// Appends the frames after `cursor` to `out`; returns the new cursor. A connection that
    /// fell behind what is kept skips ahead (its client counts the loss).
    fn frames_after(&self, cursor: u64, out: &mut Vec<u8>) -> u64 {
        let frames = self.frames.read().unwrap_or_else(|e| e.into_inner());
        let start = (cursor + 1).max(frames.first);
        for frame in frames.frames.range((start - frames.first) as usize..) {
            out.extend_from_slice(frame);
        }
        frames.first + frames.frames.len() as u64 - 1
    }

    /// The stream message of one alert line, as `alerta serve` would make it.
    fn alert(&self, line: &[u8]) -> Result<StreamMessage, String> {
        let fields: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        let field = |name: &str| fields[name].as_str().unwrap_or_default();
        let draft = AlertDraft::parse(
            field("source"),
            field("severity"),
            field("message"),
            Channel::Tcp,
        )
        .map_err(|e| e.to_string())?;
        let alert = Alert::fire(AlertId::generate(&self.ids), draft, SystemClock.now());
        Ok(StreamMessage::for_alert(&alert))
    }
}

/// A complete unmasked frame: `first` is the FIN bit and the opcode.
fn ws_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(first);
    match payload.len() {
        n @ 0..126 => frame.push(n as u8),
        n @ 126..65_536 => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

async fn baseline_server(args: BaselineArgs) -> Result<(), Failure> {
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_micros() as u64;
    let server = Arc::new(Baseline {
        frames: RwLock::new(Frames {
            first: 1,
            frames: VecDeque::new(),
        }),
        head: watch::Sender::new(0),
        epoch,
        ids: UlidSource::new(),
        keep: args.keep.max(1),
        journal: match &args.sync_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("baseline-journal"))?;
                Some(Arc::new(Mutex::new(file)))
            }
            None => None,
        },
    });
    let clients = TcpListener::bind(&args.http).await?;
    let alerts = TcpListener::bind(&args.tcp).await?;
    eprintln!(
        "baseline server: WebSocket on {}, alerts on {}",
        args.http, args.tcp
    );
    let ingest = server.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = alerts.accept().await {
            tokio::spawn(baseline_ingest(stream, ingest.clone()));
        }
    });
    loop {
        let (stream, _) = clients.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(baseline_client(stream, server.clone()));
    }
}

/// Reads alert lines, publishes each read's lines together, and acknowledges them.
async fn baseline_ingest(stream: TcpStream, server: Arc<Baseline>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (mut read, mut write) = stream.into_split();
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut replies = Vec::new();
    loop {
        buffer.reserve(64 * 1024);
        if read.read_buf(&mut buffer).await? == 0 {
            return Ok(());
        }
        let Some(end) = buffer.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        let lines: Vec<u8> = buffer.drain(..=end).collect();
        let mut messages = Vec::new();
        replies.clear();
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match server.alert(line) {
                Ok(message) => {
                    let id = message.data["id"].as_str().unwrap_or_default().to_owned();
                    replies
                        .extend_from_slice(format!("{{\"ok\":true,\"id\":\"{id}\"}}\n").as_bytes());
                    messages.push(message);
                }
                Err(error) => {
                    let reply = serde_json::json!({ "ok": false, "error": error });
                    replies.extend_from_slice(format!("{reply}\n").as_bytes());
                }
            }
        }
        if let Some(journal) = server.journal.clone() {
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let mut file = journal.lock().unwrap_or_else(|e| e.into_inner());
                file.write_all(&lines)?;
                file.sync_data()
            })
            .await??;
        }
        server.publish(messages);
        write.write_all(&replies).await?;
    }
}

/// One baseline client: the upgrade, then every frame after its cursor with one write each
/// time the head moves, and pongs for its pings.
async fn baseline_client(stream: TcpStream, server: Arc<Baseline>) -> io::Result<()> {
    let (mut read, mut write) = stream.into_split();
    let mut incoming = Vec::with_capacity(4096);
    let key = loop {
        if read.read_buf(&mut incoming).await? == 0 || incoming.len() > 16 * 1024 {
            return Ok(());
        }
        let Some(end) = incoming.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let request = String::from_utf8_lossy(&incoming[..end]).into_owned();
        incoming.drain(..end + 4);
        let key = request.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        });
        match key {
            Some(key) => break key,
            None => return Ok(()),
        }
    };
    // The cursor is set before the reply, so a client that has its pong is registered.
    let mut head = server.head.subscribe();
    let mut cursor = *head.borrow_and_update();
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    write.write_all(reply.as_bytes()).await?;
    let mut control = Vec::new();
    let mut out = Vec::new();
    loop {
        let open = client_frames(&mut incoming, &mut control);
        let now = *head.borrow_and_update();
        if cursor < now || !control.is_empty() {
            out.clear();
            out.append(&mut control);
            if cursor < now {
                cursor = server.frames_after(cursor, &mut out);
            }
            write.write_all(&out).await?;
        }
        if !open {
            return Ok(());
        }
        tokio::select! {
            changed = head.changed() => if changed.is_err() {
                return Ok(());
            },
            read = read.read_buf(&mut incoming) => if read? == 0 {
                return Ok(());
            },
        }
    }
}

/// Takes the complete client frames from `incoming`: a ping gets its pong, a close its
/// close; anything else only shows the client is alive. Returns `false` after a close.
fn client_frames(incoming: &mut Vec<u8>, control: &mut Vec<u8>) -> bool {
    let mut at = 0;
    let mut open = true;
    while open {
        let rest = &incoming[at..];
        if rest.len() < 2 {
            break;
        }
        let opcode = rest[0] & 0x0f;
        let masked = rest[1] & 0x80 != 0;
        let (len, header) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 if rest.len() >= 10 => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(bytes) as usize, 10)
            }
            126 | 127 => break,
            n => (n as usize, 2),
        };
        let mask_len: usize = if masked { 4 } else { 0 };
        let Some(total) = (header + mask_len).checked_add(len) else {
            return false;
        };
        if rest.len() < total {
            break;
        }
        let mask = &rest[header..header + mask_len];
        let payload: Vec<u8> = rest[header + mask_len..total]
            .iter()
            .enumerate()
            .map(|(i, b)| if masked { b ^ mask[i % 4] } else { *b })
            .collect();
        match opcode {
            0x9 => control.extend_from_slice(&ws_frame(0x8a, &payload)),
            0x8 => {
                control.extend_from_slice(&ws_frame(0x88, &payload));
                open = false;
            }
            _ => {}
        }
        at += total;
    }
    incoming.drain(..at);
    open
}

// ---------------------------------------------------------------------------------------
// Ingestion

/// One connection's sending side and replies, with at most `window` unanswered lines.
async fn pipelined(
    tcp: String,
    alerts: u64,
    window: usize,
    pad: usize,
    key: Option<String>,
    done: Arc<AtomicU64>,
) -> Result<(u64, Vec<u32>), Failure> {
    let stream = TcpStream::connect(&tcp).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let room = Arc::new(Notify::new());
    let sent_at = Arc::new(Mutex::new(VecDeque::<Instant>::with_capacity(window)));
    let failed = Arc::new(AtomicBool::new(false));

    let reader = {
        let (in_flight, room, sent_at, failed) = (
            in_flight.clone(),
            room.clone(),
            sent_at.clone(),
            failed.clone(),
        );
        tokio::spawn(async move {
            let mut reader = BufReader::with_capacity(64 * 1024, read);
            let mut line = Vec::new();
            let mut latencies = Vec::with_capacity(alerts as usize);
            let mut refused = 0u64;
            while (latencies.len() as u64) + refused < alerts {
                line.clear();
                if reader.read_until(b'\n', &mut line).await? == 0 {
                    failed.store(true, Ordering::Relaxed);
                    room.notify_one();
                    break;
                }
                let sent = sent_at.lock().map(|mut q| q.pop_front()).ok().flatten();
                if acknowledged(&line) {
                    if let Some(sent) = sent {
                        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    if refused == 0 {
                        eprintln!("refused: {}", String::from_utf8_lossy(&line).trim_end());
                    }
                    refused += 1;
                }
                in_flight.fetch_sub(1, Ordering::AcqRel);
                room.notify_one();
            }
            Ok::<_, io::Error>((refused, latencies))
        })
    };

    let mut sent = 0;
    let mut buffer = Vec::new();
    while sent < alerts && !failed.load(Ordering::Relaxed) {
        let free = window.saturating_sub(in_flight.load(Ordering::Acquire));
        if free == 0 {
            room.notified().await;
            continue;
        }
        let count = (free as u64).min(alerts - sent);
        buffer.clear();
        for seq in sent..sent + count {
            alert_line(&mut buffer, seq, 0, pad, key.as_deref());
        }
        {
            let now = Instant::now();
            let mut queue = sent_at.lock().map_err(|_| "poisoned")?;
            queue.extend(std::iter::repeat_n(now, count as usize));
        }
        in_flight.fetch_add(count as usize, Ordering::AcqRel);
        write.write_all(&buffer).await?;
        sent += count;
    }
    let (refused, latencies) = reader.await??;
    Ok((refused, latencies))
}

async fn ingest(args: IngestArgs) -> Result<(), Failure> {
    let connections = args.connections.max(1);
    let per_connection = args.alerts / connections as u64;
    let total = per_connection * connections as u64;
    let done = Arc::new(AtomicU64::new(0));
    eprintln!(
        "sending {total} alerts over {connections} connections, {} unanswered each at most",
        args.window
    );
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for _ in 0..connections {
        senders.spawn(pipelined(
            args.server.tcp.clone(),
            per_connection,
            args.window.max(1),
            args.pad,
            args.server.key.clone(),
            done.clone(),
        ));
    }
    let progress = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = done.load(Ordering::Relaxed);
                eprintln!("  {now} acknowledged, {}/s", now - last);
                last = now;
            }
        })
    };
    let mut latencies = Vec::with_capacity(total as usize);
    let mut refused = 0;
    let mut failed = 0;
    while let Some(result) = senders.join_next().await {
        match result? {
            Ok((refusals, lat)) => {
                refused += refusals;
                latencies.extend_from_slice(&lat);
            }
            Err(error) => {
                failed += 1;
                eprintln!("a connection failed: {error}");
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    progress.abort();
    let acknowledged = done.load(Ordering::Relaxed);
    println!(
        "ingest: {connections} connections, window {}, {total} alerts",
        args.window
    );
    println!(
        "  acknowledged: {acknowledged} in {elapsed:.2} s = {:.0}/s ({refused} refused, {failed} connections failed)",
        acknowledged as f64 / elapsed
    );
    println!("  acknowledgement latency: {}", percentiles(&mut latencies));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Idle connections

fn rss_kib(pid: u32) -> Result<u64, Failure> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS line".into())
}

async fn idle(args: IdleArgs) -> Result<(), Failure> {
    let token = token(&args.server.http, &args.login).await?;
    // One subscription first, so that what any connection needs once (buffers of the
    // runtime, the session cache) is in the baseline.
    let warm = subscribe(&args.server.http, &token).await?;
    tokio::time::sleep(Duration::from_secs(args.settle_s)).await;
    let before = rss_kib(args.server_pid)?;
    let sockets = subscribe_all(
        std::slice::from_ref(&args.server.http),
        &token,
        args.clients,
        args.login.connecting,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(args.settle_s)).await;
    let after = rss_kib(args.server_pid)?;
    let per_connection = (after.saturating_sub(before)) as f64 * 1024.0 / sockets.len() as f64;
    println!(
        "idle: {} connections; server VmRSS {before} KiB before, {after} KiB after: {:.1} KiB per connection",
        sockets.len(),
        per_connection / 1024.0
    );
    drop(sockets);
    drop(warm);
    Ok(())
}
