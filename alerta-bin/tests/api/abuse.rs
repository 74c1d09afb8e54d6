//! The real binary abused the same way several times over, then its memory and open sockets:
//! stream clients that subscribe and never read while a burst goes by, JSON bodies past the
//! size limit, TCP lines past theirs and lines that are not JSON. A reading client gets every
//! message of every burst meanwhile; the abuse leaves nothing behind that grows with it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerta_adapters::websocket::HubConfig;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{BinaryServer, resident_kib, sockets, start_binary_with};
use crate::mail::admin_token;
use crate::stream::{Socket, subscribe};

/// Rounds of abuse measured.
const ROUNDS: usize = 3;
/// Rounds that warm up what the abuse touches before memory is first measured.
const WARM_UP_ROUNDS: usize = 2;
/// Stream clients that never read, per round.
const STALLED: usize = 40;
/// Alerts per burst. Were they queued for each stalled client, a round would hold
/// `STALLED * BURST * MESSAGE_BYTES` (80 MB).
const BURST: usize = 2_000;
/// The size of each alert's message.
const MESSAGE_BYTES: usize = 1_000;
/// What the server may keep after the measured rounds beyond what it held after the warm-up
/// round: caches still fill as the database grows (a few MB in all, less each round), while
/// one round's messages queued for the stalled clients would be 80 MB.
const ALLOWED_GROWTH_KIB: u64 = 32 * 1024;

/// An alert message of [`MESSAGE_BYTES`] that starts with `label`.
fn message(label: &str) -> String {
    format!("{label}.{}", "x".repeat(MESSAGE_BYTES - label.len() - 1))
}

/// Sends alerts `{prefix}{n}` for `n` in `range` over one TCP connection, all written before
/// the replies are read; every one must be acknowledged.
async fn send_alerts(addr: SocketAddr, prefix: String, range: std::ops::Range<usize>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let count = range.len();
    let writer = tokio::spawn(async move {
        for n in range {
            let line = json!({
                "source": "abuse",
                "severity": "info",
                "message": message(&format!("{prefix}{n}")),
            });
            write
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
        }
        write
    });
    let mut replies = BufReader::new(read).lines();
    for _ in 0..count {
        let reply = replies.next_line().await.unwrap().expect("a reply line");
        assert!(reply.contains("\"ok\":true"), "{reply}");
    }
    drop(writer.await.unwrap());
}

/// Sends alerts `r{round}.{n}` for `n` in `0..BURST` over four connections at once.
async fn burst(addr: SocketAddr, round: usize) {
    let share = BURST / 4;
    let senders: Vec<_> = (0..4)
        .map(|k| {
            tokio::spawn(send_alerts(
                addr,
                format!("r{round}."),
                k * share..(k + 1) * share,
            ))
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
}

/// Reads the stream until `count` alerts whose message starts with `prefix` have arrived;
/// fails on a duplicate or after a minute.
async fn receive_all(socket: &mut Socket, prefix: &str, count: usize) {
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < count {
        let frame = tokio::time::timeout_at(deadline.into(), socket.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {count} alerts arrived in a minute", seen.len()))
            .expect("the reading client's stream stays open")
            .expect("a valid frame");
        let Message::Text(text) = frame else { continue };
        let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
        if let Some(text) = message["data"]["message"].as_str()
            && let Some(label) = text.strip_prefix(prefix)
        {
            let label = label.split('.').next().unwrap().to_owned();
            assert!(seen.insert(label.clone()), "alert {prefix}{label} twice");
        }
    }
}

/// `count` POSTs of a JSON body past the size limit: each is refused with 413.
async fn oversized_bodies(server: &BinaryServer, token: &str, count: usize) {
    let client = reqwest::Client::new();
    let body = json!({
        "source": "abuse",
        "severity": "info",
        "message": "y".repeat(100 * 1024),
    });
    for _ in 0..count {
        let status = client
            .post(format!("{}/events", server.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("an answer")
            .status();
        assert_eq!(status.as_u16(), 413);
    }
}

/// `count` TCP connections that each send a line longer than the limit, and `count` that
/// each send a line that is not JSON (which gets an error reply).
async fn hostile_lines(addr: SocketAddr, count: usize) {
    for n in 0..count {
        let mut long = TcpStream::connect(addr).await.unwrap();
        // The server may close before it has read all of it; the write may fail then.
        let _ = long.write_all(&vec![b'{'; 100 * 1024]).await;
        let _ = long.write_all(b"\n").await;
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(30), long.read_to_end(&mut rest));
        assert!(
            closed.await.is_ok(),
            "an over-long line ends its connection"
        );

        let not_json = TcpStream::connect(addr).await.unwrap();
        let (read, mut write) = not_json.into_split();
        write
            .write_all(format!("not json {n} \u{0}\u{7f}\n").as_bytes())
            .await
            .unwrap();
        let reply = BufReader::new(read)
            .lines()
            .next_line()
            .await
            .unwrap()
            .expect("a reply line");
        assert!(reply.contains("\"ok\":false"), "{reply}");
    }
}

/// One round: stalled subscribers, a burst the reading client gets whole, hostile bodies and
/// lines; then waits until the server has closed the stalled subscribers and every
/// descriptor it opened for the round.
async fn round(server: &BinaryServer, token: &str, reader: &mut Socket, round: usize, fds: usize) {
    let ws_base = server.base.replace("http://", "ws://");
    let tcp: SocketAddr = server.tcp_addr.parse().unwrap();
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(subscribe(&ws_base, token, None).await);
    }
    let prefix = format!("r{round}.");
    tokio::join!(burst(tcp, round), receive_all(reader, &prefix, BURST));
    oversized_bodies(server, token, 50).await;
    hostile_lines(tcp, 50).await;

    // The stalled clients still hold their ends; the server closes its own.
    let pid = server.child.id().unwrap();
    let start = Instant::now();
    while sockets(pid) > fds {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "round {round}: {} sockets open, {fds} before it",
            sockets(pid)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_abuse_leaves_memory_and_sockets_where_they_were() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary_with(
        data_dir.path(),
        &[
            ("ALERTA_TCP_IDLE_TIMEOUT", "3s"),
            ("ALERTA_HTTP_HEADER_READ_TIMEOUT", "3s"),
            // The allocator returns freed pages to the system at once rather than after a
            // delay, so the resident size measures what the server still holds.
            ("MIMALLOC_PURGE_DELAY", "0"),
        ],
    )
    .await;
    let pid = server.child.id().expect("the server's pid");
    let token = admin_token(&reqwest::Client::new(), &server.base).await;
    let ws_base = server.base.replace("http://", "ws://");
    let mut reader = subscribe(&ws_base, &token, None).await;

    // Fill the stream's in-memory tail, which is meant to stay full, before measuring.
    let tail = HubConfig::default().tail_capacity;
    let tcp: SocketAddr = server.tcp_addr.parse().unwrap();
    tokio::join!(
        send_alerts(tcp, "fill.".into(), 0..tail),
        receive_all(&mut reader, "fill.", tail)
    );
    let fds = sockets(pid);
    let fresh = resident_kib(pid);
    // Two rounds to warm up: the store's page caches grow with the data the rounds add, up
    // to their bound, and that growth is not abuse left behind.
    for n in 0..WARM_UP_ROUNDS {
        round(&server, &token, &mut reader, n, fds).await;
    }
    let warmed = resident_kib(pid);
    let mut after = Vec::new();
    for n in WARM_UP_ROUNDS..WARM_UP_ROUNDS + ROUNDS {
        round(&server, &token, &mut reader, n, fds).await;
        after.push(resident_kib(pid));
    }
    eprintln!(
        "server memory: {fresh} KiB with a full tail, {warmed} KiB after the warm-up rounds, \
         {after:?} KiB after each round of abuse"
    );
    let last = *after.last().unwrap();
    assert!(
        last <= warmed + ALLOWED_GROWTH_KIB,
        "{ROUNDS} rounds of abuse left memory behind: {warmed} KiB before them, {last} KiB after"
    );
    assert_eq!(sockets(pid), fds, "every socket was closed");
}
