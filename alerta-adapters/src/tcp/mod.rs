//! TCP ingestion: the JSON-lines protocol of the wire contract, server and client.
//!
//! Each line is one alert, `{"source", "severity", "message"}` plus `"key"` when ingest keys
//! are configured; each gets one reply line, in order: `{"ok": true, "id": ...}` once the
//! alert is durably stored, or `{"ok": false, "error": ...}`. Alerts from every connection
//! are stored through one [`GroupCommit`], so concurrent lines share transactions.
//! A line `{"action": "resolve", "id", "nota"?, "version"?}` resolves a stored alert on the
//! source's behalf and is answered the same way once the change is stored.
//!
//! ```no_run
//! # async fn run(app: alerta_core::Alerta) -> std::io::Result<()> {
//! use alerta_adapters::ingest::{GroupCommit, GroupCommitConfig};
//! use alerta_adapters::tcp::{self, TcpConfig};
//!
//! let ingest = GroupCommit::spawn(app, GroupCommitConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
//! tcp::serve(listener, ingest, TcpConfig::default()).await
//! # }
//! ```
//!
//! # Behaviour
//!
//! - A connection may send any number of lines, and may send them without waiting for
//!   replies: up to [`TcpConfig::max_in_flight`] lines are read ahead and stored together.
//! - Invalid UTF-8, invalid JSON or an invalid alert gets an error reply; the connection
//!   stays usable. Blank lines are skipped without a reply.
//! - A line longer than [`TcpConfig::max_line_bytes`] gets an error reply and the
//!   connection is closed, as is one with a missing or wrong ingest key (when keys are
//!   configured), so that keys cannot be tried at line rate.
//! - A connection that sends nothing for [`TcpConfig::idle_timeout`], or takes longer than
//!   [`TcpConfig::line_timeout`] to finish a line it started, gets an error reply and is
//!   closed; so is one that does not read its replies within [`TcpConfig::write_timeout`].
//! - A client address holding [`TcpConfig::max_connections_per_address`] connections has
//!   its next one closed at once, unread.
//! - Before closing a connection it refused, the server reads and discards what the client
//!   still sends for up to [`TcpConfig::linger`], so the final reply is not lost to a reset.

mod client;
mod connection;
mod line;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use client::{AlertLine, Client, Reply, send_lines};

use crate::address_limit::AddressLimit;
use crate::ingest::GroupCommit;

/// Limits and timeouts of the TCP listener. Change what you need and take the rest from
/// [`Default`]: `TcpConfig { idle_timeout, ..TcpConfig::default() }`.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// The longest line accepted, in bytes without its `\n`
    /// ([`DEFAULT_MAX_LINE_BYTES`](Self::DEFAULT_MAX_LINE_BYTES) by default).
    pub max_line_bytes: usize,
    /// How long a connection may wait between lines (5 minutes by default).
    pub idle_timeout: Duration,
    /// How long a line may take to arrive once its first byte has (30 s by default).
    pub line_timeout: Duration,
    /// How long writing replies may block on a client that does not read them (30 s by
    /// default).
    pub write_timeout: Duration,
    /// How many lines of one connection may be read ahead of their replies (1,024 by
    /// default; 0 counts as 1).
    pub max_in_flight: usize,
    /// How many connections are served at once (4,096 by default; 0 counts as 1); further
    /// ones wait in the listen backlog.
    pub max_connections: usize,
    /// How many connections one client address may hold open (256 by default; 0: no limit,
    /// for a listener behind a proxy); further ones from it are closed at once.
    pub max_connections_per_address: usize,
    /// How long a refused connection is drained before it closes (2 s by default).
    pub linger: Duration,
}

impl TcpConfig {
    /// The longest line accepted, in bytes without the `\n`: 64 KiB, as the contract says.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

    /// This configuration with the counts that must be positive raised to 1: no connection
    /// would ever be served, or no line read, with a zero.
    fn usable(mut self) -> Self {
        self.max_in_flight = self.max_in_flight.max(1);
        self.max_connections = self.max_connections.max(1);
        self
    }
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            idle_timeout: Duration::from_secs(300),
            line_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_in_flight: 1024,
            max_connections: 4096,
            max_connections_per_address: 256,
            linger: Duration::from_secs(2),
        }
    }
}

/// Serves the JSON-lines protocol on `listener` until an error stops accepting.
///
/// # Errors
///
/// None so far: failures to accept one connection (such as running out of file
/// descriptors) are logged and retried after a pause.
pub async fn serve(
    listener: TcpListener,
    ingest: GroupCommit,
    config: TcpConfig,
) -> io::Result<()> {
    serve_with_shutdown(listener, ingest, config, std::future::pending()).await
}

/// Serves the JSON-lines protocol on `listener` until `shutdown` completes; then stops
/// accepting, lets every connection finish the lines it already sent, and returns once all
/// are closed.
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with_shutdown(
    listener: TcpListener,
    ingest: GroupCommit,
    config: TcpConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = Arc::new(config.usable());
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_address = AddressLimit::new(config.max_connections_per_address);
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(slot) = per_address.try_acquire(peer.ip()) else {
                    tracing::debug!(%peer, "TCP connection refused: too many from this address");
                    continue;
                };
                let serving = connection::serve(
                    stream,
                    ingest.clone(),
                    config.clone(),
                    stopped.clone(),
                    permit,
                );
                connections.spawn(async move {
                    serving.await;
                    drop(slot);
                });
            }
            Err(error) => {
                // Typically out of file descriptors: retrying at once would spin.
                tracing::warn!(%error, "accepting a TCP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}
