//! Mail under load: how long an `error` alert takes from its line on the TCP port to its mail
//! accepted by an SMTP server, and how many mails a second the outbox delivers, next to what
//! the same server accepts from a minimal client over one connection in the same run.
//!
//! It starts everything itself: aiosmtpd running `scripts/smtp_timing_sink.py` (which prints
//! when it accepted each message), then the baseline (a lettre connection sending
//! `--baseline` mails one after the other), then `alerta serve` on a fresh data directory with
//! that server as its SMTP server, and sends `--alerts` distinct `error` alerts over one TCP
//! connection at `--rate` a second (0: as fast as the server acknowledges them). The
//! server's environment passes through, so `ALERTA_MAIL_CONCURRENCY=16` reaches it.
//!
//! ```text
//! source scripts/lib/smtp.sh && setup_smtp
//! cargo build --release -p alerta-bin
//! cargo build --release -p alerta-examples --example mail_load
//! ./target/release/examples/mail_load --rate 50 --alerts 1000
//! ./target/release/examples/mail_load --rate 500 --alerts 5000
//! ```
//!
//! Latency runs from just before the alert's line is written to the moment the SMTP server
//! has the whole message and is about to answer 250; both clocks are this machine's. Outbox
//! throughput counts the mails accepted between the first and the last acceptance.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lettre::Message;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Alert mail under load, against a baseline measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "mail_load")]
struct Cli {
    /// The `alerta` binary to start.
    #[arg(long, default_value = "target/release/alerta")]
    alerta: PathBuf,
    /// A Python with aiosmtpd installed (`setup_smtp` makes it).
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// The timing SMTP server script.
    #[arg(long, default_value = "scripts/smtp_timing_sink.py")]
    sink: PathBuf,
    /// Alerts per second; 0 sends them as fast as the server acknowledges.
    #[arg(long, default_value_t = 50)]
    rate: u64,
    /// How many alerts to send.
    #[arg(long, default_value_t = 1000)]
    alerts: u64,
    /// How many mails the baseline client sends over its one connection.
    #[arg(long, default_value_t = 2000)]
    baseline: u64,
    /// How long to wait for the last mail after the last alert, in seconds.
    #[arg(long, default_value_t = 300)]
    deadline: u64,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    let smtp_port = free_port().await?;
    let (mut sink, mut accepted) = start_sink(&cli, smtp_port).await?;

    let baseline = baseline(smtp_port, cli.baseline, &mut accepted).await?;
    println!(
        "baseline: {} mails over one SMTP connection in {:.2} s: {:.0} mails/s",
        cli.baseline,
        baseline.as_secs_f64(),
        per_second(cli.baseline, baseline)
    );

    let data = std::env::temp_dir().join(format!("alerta-mail-load-{}", std::process::id()));
    let tcp_port = free_port().await?;
    let http_port = free_port().await?;
    let mut server = Command::new(&cli.alerta)
        .arg("serve")
        .env("ALERTA_DATA_DIR", &data)
        .env("ALERTA_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("ALERTA_TCP_ADDR", format!("127.0.0.1:{tcp_port}"))
        .env(
            "ALERTA_SMTP_URL",
            format!("smtp://127.0.0.1:{smtp_port}?tls=none"),
        )
        .env("ALERTA_ALERT_EMAILS", "ops@campus.edu")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(
            std::env::temp_dir().join("alerta-mail-load.log"),
        )?)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cli.alerta.display()))?;
    let tcp = connect_when_up(tcp_port).await?;

    let sent = Arc::new(SendTimes::new(cli.alerts));
    let started = Instant::now();
    let sending = tokio::spawn(send_alerts(tcp, cli.rate, cli.alerts, sent.clone()));

    let expected = usize::try_from(cli.alerts)?;
    let mut latencies_ms = Vec::with_capacity(expected);
    let (mut first, mut last) = (u64::MAX, 0);
    let mut deadline = None;
    while latencies_ms.len() < expected {
        if deadline.is_none() && sending.is_finished() {
            deadline = Some(Instant::now() + Duration::from_secs(cli.deadline));
        }
        let wait = deadline.map_or(Duration::from_secs(1), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let next = tokio::time::timeout(wait.min(Duration::from_secs(1)), accepted.recv()).await;
        let Ok(Some((at_us, subject))) = next else {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            continue;
        };
        let Some(seq) = subject
            .split("mailload_")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let Some(sent_us) = sent.get(seq) else {
            continue;
        };
        latencies_ms.push(at_us.saturating_sub(sent_us) as f64 / 1000.0);
        first = first.min(at_us);
        last = last.max(at_us);
    }
    let acknowledged = sending.await??;
    let elapsed = started.elapsed();
    let _ = server.start_kill();
    let _ = server.wait().await;
    let _ = sink.start_kill();
    let _ = std::fs::remove_dir_all(&data);

    let rate = if cli.rate == 0 {
        "as fast as acknowledged".to_owned()
    } else {
        format!("{}/s", cli.rate)
    };
    println!(
        "alerts: {} sent at {rate}, {acknowledged} acknowledged; mails accepted: {} in {:.1} s",
        cli.alerts,
        latencies_ms.len(),
        elapsed.as_secs_f64()
    );
    if latencies_ms.is_empty() {
        return Err("no alert mail arrived".into());
    }
    latencies_ms.sort_by(f64::total_cmp);
    println!(
        "arrival to accepted by SMTP: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies_ms, 0.50),
        percentile(&latencies_ms, 0.99),
        latencies_ms[latencies_ms.len() - 1]
    );
    let span = Duration::from_micros(last.saturating_sub(first).max(1));
    let throughput = per_second(latencies_ms.len() as u64, span);
    println!(
        "outbox throughput: {throughput:.0} mails/s, {:.2}x the one-connection baseline",
        throughput / per_second(cli.baseline, baseline)
    );
    Ok(())
}

/// When each alert's line was written, in microseconds since the epoch; 0 until then.
struct SendTimes(Vec<AtomicU64>);

impl SendTimes {
    fn new(n: u64) -> Self {
        Self((0..n).map(|_| AtomicU64::new(0)).collect())
    }

    fn set(&self, seq: u64, at_us: u64) {
        if let Some(slot) = self.0.get(seq as usize) {
            slot.store(at_us, Ordering::Release);
        }
    }

    fn get(&self, seq: u64) -> Option<u64> {
        let at = self.0.get(seq as usize)?.load(Ordering::Acquire);
        (at != 0).then_some(at)
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn per_second(count: u64, span: Duration) -> f64 {
    count as f64 / span.as_secs_f64().max(1e-6)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn free_port() -> Result<u16, Failure> {
    Ok(TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port())
}

/// Starts the timing SMTP server; its acceptances arrive on the channel as
/// `(unix microseconds, subject)`.
async fn start_sink(
    cli: &Cli,
    port: u16,
) -> Result<(Child, mpsc::UnboundedReceiver<(u64, String)>), Failure> {
    let mut child = Command::new(&cli.python)
        .arg(&cli.sink)
        .args(["--port", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} (run `source scripts/lib/smtp.sh && setup_smtp`): {e}",
                cli.python.display()
            )
        })?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    match lines.next_line().await? {
        Some(line) if line.starts_with("READY ") => {}
        other => return Err(format!("the SMTP server did not start: {other:?}").into()),
    }
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Some(rest) = line.strip_prefix("ACCEPT ") else {
                continue;
            };
            let (at, subject) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Ok(at) = at.parse() {
                let _ = sender.send((at, subject.to_owned()));
            }
        }
    });
    Ok((child, receiver))
}

/// Sends `count` mails over one connection, one after the other, and returns how long it
/// took until the server had accepted the last.
async fn baseline(
    port: u16,
    count: u64,
    accepted: &mut mpsc::UnboundedReceiver<(u64, String)>,
) -> Result<Duration, Failure> {
    // About the size of an alert mail with its text and HTML parts.
    let body = "x".repeat(1500);
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    // Without it each message waits for the server's delayed acknowledgement.
    tcp.set_nodelay(true)?;
    let mut connection =
        AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default()).await?;
    let started = Instant::now();
    for n in 0..count {
        let message = Message::builder()
            .from("alerta@localhost".parse()?)
            .to("ops@campus.edu".parse()?)
            .subject(format!("baseline {n}"))
            .body(body.clone())?;
        connection
            .send(message.envelope(), &message.formatted())
            .await?;
    }
    let took = started.elapsed();
    let _ = connection.quit().await;
    for _ in 0..count {
        accepted.recv().await.ok_or("the SMTP server stopped")?;
    }
    Ok(took)
}

async fn connect_when_up(port: u16) -> Result<TcpStream, Failure> {
    let started = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => return Ok(stream),
            Err(_) if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("alerta did not listen on {port}: {e}").into()),
        }
    }
}

/// Writes `count` alert lines at `rate` a second (0: with at most 256 unanswered), each of
/// its own source so that each is a group of its own and mailed, and returns how many the
/// server acknowledged.
async fn send_alerts(
    stream: TcpStream,
    rate: u64,
    count: u64,
    sent: Arc<SendTimes>,
) -> Result<u64, Failure> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let answered = Arc::new(AtomicU64::new(0));
    let replies = {
        let answered = answered.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(read).lines();
            let mut ok = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("{\"ok\":true") {
                    ok += 1;
                }
                if answered.fetch_add(1, Ordering::AcqRel) + 1 == count {
                    break;
                }
            }
            ok
        })
    };
    let started = tokio::time::Instant::now();
    for seq in 0..count {
        if let Some(offset) = (seq * 1_000_000).checked_div(rate) {
            tokio::time::sleep_until(started + Duration::from_micros(offset)).await;
        } else {
            while seq.saturating_sub(answered.load(Ordering::Acquire)) >= 256 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let line = format!(
            "{{\"source\":\"mailload_{seq}\",\"severity\":\"error\",\"message\":\"mail load {seq}\"}}\n"
        );
        sent.set(seq, now_us());
        write.write_all(line.as_bytes()).await?;
    }
    let ok = tokio::time::timeout(Duration::from_secs(120), replies).await??;
    drop(write);
    Ok(ok)
}
