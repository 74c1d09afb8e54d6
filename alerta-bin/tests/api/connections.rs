//! Connections that say nothing, over real sockets to the real binary: silent TCP and HTTP
//! connections, a request line that never ends and an idle keep-alive are closed within the
//! configured time; one address cannot hold more connections than it is allowed, while
//! another still gets in; and after the abuse the server has closed its sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{BinaryServer, resident_kib, sockets, start_binary_with};

/// Connects to `to` from the loopback address `from` (any of 127.0.0.0/8 works on Linux).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    socket.connect(to).await.expect("connect")
}

const HOME: [u8; 4] = [127, 0, 0, 1];
const NEIGHBOUR: [u8; 4] = [127, 0, 0, 2];

fn http_addr(server: &BinaryServer) -> SocketAddr {
    server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the HTTP address")
}

fn tcp_addr(server: &BinaryServer) -> SocketAddr {
    server.tcp_addr.parse().expect("the TCP address")
}

/// Reads until the server closes the connection; what it said before, and how long it took.
/// Fails after `deadline`.
async fn until_closed(stream: &mut TcpStream, deadline: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut said = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            deadline.saturating_sub(start.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Err(_) => panic!(
                "the connection was still open after {deadline:?}; it said {:?}",
                String::from_utf8_lossy(&said)
            ),
            Ok(Ok(0) | Err(_)) => {
                return (String::from_utf8_lossy(&said).into_owned(), start.elapsed());
            }
            Ok(Ok(n)) => said.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Whether the server closed the connection without a word, at once.
async fn refused_at_once(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn health_from(from: [u8; 4], server: &BinaryServer) -> String {
    let mut stream = connect_from(from, http_addr(server)).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: alerta\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    until_closed(&mut stream, Duration::from_secs(10)).await.0
}

/// Sends one alert over TCP and returns the reply, once the server has closed the connection:
/// until then it still holds the connection's slot, and a check of the per-address limit
/// right after would count it.
async fn alert_from(from: [u8; 4], server: &BinaryServer) -> Value {
    let stream = connect_from(from, tcp_addr(server)).await;
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"{\"source\":\"neighbour\",\"severity\":\"info\",\"message\":\"up\"}\n")
        .await
        .unwrap();
    write.shutdown().await.unwrap();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
        .await
        .expect("a reply")
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection after the client's end")
        .unwrap();
    serde_json::from_str(&line).expect("a JSON reply")
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_within_the_configured_time() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary_with(
        data_dir.path(),
        &[
            ("ALERTA_TCP_IDLE_TIMEOUT", "2s"),
            ("ALERTA_HTTP_HEADER_READ_TIMEOUT", "2s"),
        ],
    )
    .await;
    let idle = Duration::from_secs(2);
    // The TCP listener lingers 2 s on a connection it refused, so the client can read why.
    let deadline = Duration::from_secs(12);

    let mut silent_tcp = connect_from(HOME, tcp_addr(&server)).await;
    let mut silent_http = connect_from(HOME, http_addr(&server)).await;
    let mut partial_line = connect_from(HOME, http_addr(&server)).await;
    partial_line.write_all(b"GET /health HT").await.unwrap();
    let mut kept_alive = connect_from(HOME, http_addr(&server)).await;
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: alerta\r\n\r\n")
        .await
        .unwrap();

    let opened = Instant::now();
    let ((tcp_said, _), (http_said, _), (partial_said, _), (kept_said, _)) = tokio::join!(
        until_closed(&mut silent_tcp, deadline),
        until_closed(&mut silent_http, deadline),
        until_closed(&mut partial_line, deadline),
        until_closed(&mut kept_alive, deadline),
    );
    let took = opened.elapsed();
    assert!(
        took >= idle,
        "all closed after {took:?}, before the idle time"
    );
    assert!(tcp_said.contains("idle timeout"), "{tcp_said}");
    assert!(http_said.is_empty(), "{http_said}");
    assert!(
        !partial_said.contains("200"),
        "a half-sent request is not served: {partial_said}"
    );
    assert!(
        kept_said.starts_with("HTTP/1.1 200"),
        "the request was served, then the idle connection closed: {kept_said}"
    );
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_connections_and_its_sockets_are_closed() {
    let data_dir = tempfile::tempdir().unwrap();
    let limit = 50;
    // The held connections must outlive the checks past the limit, which a busy machine can
    // make last seconds: once one is closed for idling, its slot lets the next one in.
    let server = start_binary_with(
        data_dir.path(),
        &[
            ("ALERTA_TCP_IDLE_TIMEOUT", "10s"),
            ("ALERTA_HTTP_HEADER_READ_TIMEOUT", "10s"),
            ("ALERTA_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "50"),
            ("ALERTA_TCP_MAX_CONNECTIONS_PER_ADDRESS", "50"),
        ],
    )
    .await;
    let pid = server.child.id().expect("the server's pid");
    // Warm up the paths the abuse touches, so what is measured after is what it left.
    assert!(health_from(HOME, &server).await.starts_with("HTTP/1.1 200"));
    assert_eq!(alert_from(HOME, &server).await["ok"], true);
    let fds_before = sockets(pid);
    let rss_before = resident_kib(pid);

    // One host opens its allowance of silent connections on both listeners...
    let mut held = Vec::new();
    for _ in 0..limit {
        held.push(connect_from(HOME, http_addr(&server)).await);
        held.push(connect_from(HOME, tcp_addr(&server)).await);
    }
    // ...and every one past it is closed at once, unread...
    for _ in 0..100 {
        let mut http = connect_from(HOME, http_addr(&server)).await;
        assert!(
            refused_at_once(&mut http).await,
            "HTTP connection past the limit"
        );
        let mut tcp = connect_from(HOME, tcp_addr(&server)).await;
        assert!(
            refused_at_once(&mut tcp).await,
            "TCP connection past the limit"
        );
    }
    assert!(
        sockets(pid) <= fds_before + 2 * limit + 8,
        "the refused connections hold no descriptor: {} open, {fds_before} before",
        sockets(pid)
    );
    // ...while another address is served on both.
    assert!(
        health_from(NEIGHBOUR, &server)
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert_eq!(alert_from(NEIGHBOUR, &server).await["ok"], true);

    // The held connections say nothing; the server closes them and its sockets are gone,
    // though the client still holds its ends.
    let start = Instant::now();
    while sockets(pid) > fds_before {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} sockets open, {fds_before} before the abuse",
            sockets(pid)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    // The address has its slots back.
    assert!(health_from(HOME, &server).await.starts_with("HTTP/1.1 200"));
    let rss_after = resident_kib(pid);
    eprintln!("server memory: {rss_before} KiB before, {rss_after} KiB after the abuse");
    assert!(
        rss_after <= rss_before + 16 * 1024,
        "the abuse left memory behind: {rss_before} KiB before, {rss_after} KiB after"
    );
}
