//! A load generator to run against a live `alerta serve` on the same or another machine.
//!
//! - `fanout`: N WebSocket clients subscribe to alerts; M alerts go in over TCP at a set rate,
//!   each carrying its send time. Reports deliveries per second, publish-to-receive latency
//!   (p50, p99, max) and loss per client.
//! - `ingest`: C TCP connections send alerts pipelined, each with at most W unanswered.
//!   Reports acknowledged (durably stored) alerts per second and acknowledgement latency.
//! - `idle`: opens N WebSocket connections that stay silent and reports how much the server's
//!   resident memory grew per connection (reads `/proc/PID/status`, so same machine only).
//!
//! ```text
//! cargo build --release -p alerta-bin
//! (ulimit -n 20000; ./target/release/alerta serve --data-dir /tmp/alerta-load) &
//! cargo run --release -p alerta-examples --example load -- fanout --clients 1000 --alerts 2000 --rate 500
//! cargo run --release -p alerta-examples --example load -- ingest --connections 32 --alerts 200000
//! cargo run --release -p alerta-examples --example load -- idle --clients 5000 --server-pid "$(pidof alerta)"
//! ```
//!
//! Unless `--token` is given, `fanout` and `idle` register (or reuse) a student account and
//! log in with it; students receive alerts.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
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
    /// Durable ingestion: C pipelined TCP connections.
    Ingest(IngestArgs),
    /// Server memory per idle WebSocket connection.
    #[command(after_help = LIMITS)]
    Idle(IdleArgs),
}

#[derive(Debug, Args)]
struct Server {
    /// The server's HTTP address (REST and `/ws`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: String,
    /// The server's TCP ingestion address.
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
    /// WebSocket clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Alerts to publish.
    #[arg(long, default_value_t = 2000)]
    alerts: u64,
    /// Alerts per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Padding added to each alert's message, in bytes.
    #[arg(long, default_value_t = 64)]
    pad: usize,
    /// How long to wait for stragglers after the last alert is acknowledged, in seconds.
    #[arg(long, default_value_t = 30)]
    drain_s: u64,
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
        Mode::Fanout(args) => args.clients + 64,
        Mode::Ingest(args) => args.connections + 64,
        Mode::Idle(args) => args.clients + 64,
    };
    raise_open_files(needed as u64);
    match cli.mode {
        Mode::Fanout(args) => fanout(args).await,
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
/// answers a ping only from its connection loop, after registering.
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

/// Opens `clients` subscriptions, `connecting` at a time.
async fn subscribe_all(
    http: &str,
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
        let (http, token) = (http.to_owned(), token.to_owned());
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
// Alert lines

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

/// The send time carried by a stream message of an alert made by [`alert_line`]. A plain
/// search, not a JSON parse, so that the clients cost the machine as little as possible.
fn sent_at(text: &str) -> Option<u64> {
    const MARK: &str = "\"message\":\"load ";
    let start = text.find(MARK)? + MARK.len();
    let mut fields = text[start..].split(' ');
    let _seq = fields.next()?;
    fields.next()?.parse().ok()
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

struct ClientReport {
    received: u64,
    latencies_us: Vec<u32>,
    closed_with: Option<u16>,
}

async fn receive(
    mut socket: Socket,
    expected: u64,
    totals: Arc<Totals>,
    mut stop: watch::Receiver<bool>,
) -> ClientReport {
    let mut report = ClientReport {
        received: 0,
        latencies_us: Vec::with_capacity(expected as usize),
        closed_with: None,
    };
    let stopped = stop.wait_for(|stop| *stop);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let Some(sent) = sent_at(text.as_str()) else { continue };
                    let now = now_us();
                    report.latencies_us.push(now.saturating_sub(sent).min(u32::MAX as u64) as u32);
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
}

/// Sends `alerts` alerts over one connection at `rate` per second, and counts the replies.
async fn send_paced(
    tcp: &str,
    alerts: u64,
    rate: f64,
    pad: usize,
    key: Option<&str>,
) -> Result<SendReport, Failure> {
    let stream = TcpStream::connect(tcp).await?;
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
        let due = ((started.elapsed().as_secs_f64() * rate) as u64 + 1).min(alerts);
        buffer.clear();
        let now = now_us();
        for seq in sent..due {
            alert_line(&mut buffer, seq, now, pad, key);
        }
        if let Ok(mut queue) = sent_at.lock() {
            queue.extend(std::iter::repeat_n(now, due.saturating_sub(sent) as usize));
        }
        write.write_all(&buffer).await?;
        sent = due.max(sent);
    }
    let (acknowledged, refused, ack_latencies_us) = replies.await??;
    Ok(SendReport {
        sent,
        acknowledged,
        refused,
        first_send_us,
        ack_latencies_us,
    })
}

async fn count_replies(
    read: OwnedReadHalf,
    expected: u64,
    sent_at: Arc<Mutex<VecDeque<u64>>>,
) -> io::Result<(u64, u64, Vec<u32>)> {
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut line = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    let mut latencies = Vec::with_capacity(expected as usize);
    while ok + refused < expected {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        let sent = sent_at.lock().ok().and_then(|mut q| q.pop_front());
        if let Some(sent) = sent {
            latencies.push(now_us().saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
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
    Ok((ok, refused, latencies))
}

async fn fanout(args: FanoutArgs) -> Result<(), Failure> {
    let token = token(&args.server.http, &args.login).await?;
    let sockets = subscribe_all(
        &args.server.http,
        &token,
        args.clients,
        args.login.connecting,
    )
    .await?;
    let totals = Arc::new(Totals::default());
    let (stop, stopped) = watch::channel(false);
    let mut clients = JoinSet::new();
    for socket in sockets {
        clients.spawn(receive(
            socket,
            args.alerts,
            totals.clone(),
            stopped.clone(),
        ));
    }

    let expected = args.alerts * args.clients as u64;
    eprintln!(
        "publishing {} alerts at {}/s to {} clients ({} deliveries)",
        args.alerts, args.rate, args.clients, expected
    );
    let sender = send_paced(
        &args.server.tcp,
        args.alerts,
        args.rate,
        args.pad,
        args.server.key.as_deref(),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(args.drain_s);
    while totals.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(true);

    let mut latencies = Vec::with_capacity(expected as usize);
    let mut short_clients = 0;
    let mut missing = 0;
    let mut closed = std::collections::BTreeMap::new();
    let mut short_open = 0;
    let mut missing_open = 0;
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
        latencies.extend_from_slice(&report.latencies_us);
    }
    let received = totals.received.load(Ordering::Relaxed);
    let span_us = totals
        .last_receive_us
        .load(Ordering::Relaxed)
        .saturating_sub(sender.first_send_us)
        .max(1);
    println!(
        "fanout: {} clients, {} alerts at {}/s ({} acknowledged, {} refused)",
        args.clients, sender.sent, args.rate, sender.acknowledged, sender.refused
    );
    println!(
        "  deliveries: {received} of {expected} in {:.2} s = {:.0}/s",
        span_us as f64 / 1e6,
        received as f64 / (span_us as f64 / 1e6)
    );
    println!(
        "  publish->receive latency: {}",
        percentiles(&mut latencies)
    );
    let mut acks = sender.ack_latencies_us;
    println!(
        "  publish->acknowledgement latency: {}",
        percentiles(&mut acks)
    );
    println!(
        "  loss: {missing} deliveries missing at {short_clients} clients; \
         {missing_open} at {short_open} clients that stayed connected"
    );
    if !closed.is_empty() {
        println!("  closed by the server (code: clients): {closed:?}");
    }
    Ok(())
}

fn percentiles(values: &mut [u32]) -> String {
    if values.is_empty() {
        return "no samples".into();
    }
    values.sort_unstable();
    let at = |q: f64| {
        let index = ((values.len() as f64 * q) as usize).min(values.len() - 1);
        values[index] as f64 / 1000.0
    };
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        at(1.0),
        values.len()
    )
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
        &args.server.http,
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
