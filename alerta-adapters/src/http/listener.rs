//! Serving a router over HTTP/1.1 with the limits `axum::serve` cannot set: how long a client
//! may take to send a request's head (which also bounds how long an idle keep-alive
//! connection is kept), and how many connections one client address may hold open.
//!
//! ```no_run
//! # async fn run(app: alerta_core::Alerta) -> std::io::Result<()> {
//! use alerta_adapters::http::{router, HttpConfig, ListenerConfig, serve};
//!
//! let api = router(app, HttpConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, api, ListenerConfig::default(), std::future::pending()).await
//! # }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::address_limit::{AddressLimit, AddressSlot};

/// Limits of [`serve`]. Change what you need and take the rest from [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerConfig {
    /// How long a client may take to send a whole request head, counted from when the server
    /// starts waiting for it: on a new connection, and after each response on a kept-alive
    /// one, so it is also how long an idle connection is kept (10 s by default). A
    /// connection that has not sent its head by then is closed.
    pub header_read_timeout: Duration,
    /// How many connections one client address may hold open, WebSocket streams included
    /// (1,024 by default; 0: no limit, for a server behind a proxy or load balancer). Further
    /// ones from it are closed at once, unread.
    pub max_connections_per_address: usize,
    /// The kernel send buffer of each accepted connection (`None` by default: the system's
    /// automatic sizing). A server carrying the stream sets
    /// [`HubConfig::send_buffer`](crate::websocket::HubConfig::send_buffer) here, which bounds
    /// how slowly a client may read and still count as reading.
    pub send_buffer: Option<usize>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_address: 1024,
            send_buffer: None,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets every
/// connection finish the request it is serving (idle ones close at once), and returns once
/// all are closed. Upgraded connections (WebSocket) are handed to their route and not
/// waited for. Each request carries its peer as `ConnectInfo<SocketAddr>`, and every
/// connection has `TCP_NODELAY` set, since responses and stream frames are written whole.
///
/// # Errors
///
/// None so far: failures to accept one connection (such as running out of file
/// descriptors) are logged and retried after a pause.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ListenerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let per_address = AddressLimit::new(config.max_connections_per_address);
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Typically out of file descriptors: retrying at once would spin.
                tracing::warn!(%error, "accepting an HTTP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = per_address.try_acquire(peer.ip()) else {
            tracing::debug!(%peer, "HTTP connection refused: too many from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        if let Some(size) = config.send_buffer
            && let Err(error) = socket2::SockRef::from(&stream).set_send_buffer_size(size)
        {
            tracing::debug!(%error, "setting the send buffer of an HTTP connection");
        }
        connections.spawn(serve_connection(
            SlotStream {
                stream,
                _slot: slot,
            },
            peer,
            app.clone(),
            config.header_read_timeout,
            stopped.clone(),
        ));
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: SlotStream,
    peer: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = stopping(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = served {
        // Clients that go away or never send a head are routine, not failures of the server.
        tracing::debug!(%peer, %error, "HTTP connection ended");
    }
}

async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A connection that holds its address's slot for as long as it lives, including after an
/// upgrade hands it to a WebSocket route.
struct SlotStream {
    stream: TcpStream,
    _slot: AddressSlot,
}

impl AsyncRead for SlotStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SlotStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
