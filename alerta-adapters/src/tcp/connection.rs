//! One client connection: read lines ahead, store them through group commit, reply in order.
//!
//! The connection runs as two tasks joined by a bounded queue of replies in line order. The
//! reader parses each line and submits it without waiting for its commit, so a client that
//! pipelines lines gets them into the same batches; the writer answers each in turn as its
//! commit finishes, writing every reply that is ready in one go. The queue bound is how far
//! the reader may run ahead.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::time::timeout;

use alerta_core::AlertSender;

use super::TcpConfig;
use super::line::{self, Request};
use crate::ingest::{GroupCommit, Ticket};

/// The most bytes read and thrown away after the server closes a connection, so that the
/// client still receives the final error reply (see [`linger`]).
const LINGER_BYTES: u64 = 1 << 20;

/// A reply, in line order.
enum Outgoing {
    /// Already encoded.
    Ready(Vec<u8>),
    /// The outcome of a commit still running.
    Pending(Ticket),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The client closed its side; every line it sent is answered.
    ClientDone,
    /// The server refused to go on (oversize line, bad key, timeout) and said why.
    Refused,
    /// The server is shutting down, or the writer gave up.
    Stopped,
}

pub(crate) async fn serve(
    stream: TcpStream,
    ingest: GroupCommit,
    config: Arc<TcpConfig>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // Replies are small and each one answers a request the client may be waiting on.
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (replies, pending) = mpsc::channel(config.max_in_flight);
    let writer = tokio::spawn(write_replies(pending, write, config.write_timeout));
    let mut reader = BufReader::new(read);
    let ending = read_lines(&mut reader, &ingest, &config, &replies, &mut stop).await;
    drop(replies);
    let _ = writer.await;
    if ending == Ending::Refused {
        linger(reader, config.linger).await;
    }
}

async fn read_lines(
    reader: &mut BufReader<OwnedReadHalf>,
    ingest: &GroupCommit,
    config: &TcpConfig,
    replies: &mpsc::Sender<Outgoing>,
    stop: &mut watch::Receiver<bool>,
) -> Ending {
    let mut buffer = Vec::new();
    loop {
        let waited = tokio::select! {
            biased;
            _ = stop.changed() => return Ending::Stopped,
            _ = replies.closed() => return Ending::Stopped,
            waited = timeout(config.idle_timeout, async { reader.fill_buf().await.map(<[u8]>::is_empty) }) => waited,
        };
        match waited {
            Err(_) => return refuse(replies, "idle timeout").await,
            Ok(Err(_)) => return Ending::Stopped,
            Ok(Ok(true)) => return Ending::ClientDone,
            Ok(Ok(false)) => {}
        }
        let next = match timeout(
            config.line_timeout,
            next_line(reader, &mut buffer, config.max_line_bytes),
        )
        .await
        {
            Err(_) => return refuse(replies, "timed out waiting for the end of the line").await,
            Ok(Err(_)) => return Ending::Stopped,
            Ok(Ok(next)) => next,
        };
        match next {
            Next::TooLong => {
                return refuse(replies, &line::too_long(config.max_line_bytes)).await;
            }
            Next::Eof => return Ending::ClientDone,
            Next::Line if line::is_blank(&buffer) => continue,
            Next::Line => {}
        }
        let reply = match line::parse(&buffer, ingest.app()) {
            Request::Alert(draft) => match ingest.submit(draft).await {
                Ok(ticket) => Outgoing::Pending(ticket),
                Err(error) => encoded_error(&error.public_message()),
            },
            Request::Resolve(id, request) => {
                // Rare beside alerts, so done here rather than batched: the reader waits for
                // it, and the reply still goes out in line order.
                let app = ingest.app();
                let outcome = app
                    .resolve_alert(AlertSender::Ingest, &id, request, None)
                    .await;
                let mut bytes = Vec::with_capacity(64);
                line::write_outcome(&mut bytes, &outcome);
                Outgoing::Ready(bytes)
            }
            Request::Refused(why) => encoded_error(&why),
            Request::Unauthorized => return refuse(replies, line::UNAUTHORIZED).await,
        };
        if replies.send(reply).await.is_err() {
            return Ending::Stopped;
        }
    }
}

fn encoded_error(why: &str) -> Outgoing {
    let mut bytes = Vec::with_capacity(why.len() + 24);
    line::write_error(&mut bytes, why);
    Outgoing::Ready(bytes)
}

/// Queues the last reply, after which the connection closes.
async fn refuse(replies: &mpsc::Sender<Outgoing>, why: &str) -> Ending {
    let _ = replies.send(encoded_error(why)).await;
    Ending::Refused
}

enum Next {
    Line,
    Eof,
    TooLong,
}

/// Reads up to the next `\n` into `line` (without it). A last line without `\n` before the
/// end of the stream still counts as a line.
async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Next> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Next::Eof
            } else {
                Next::Line
            });
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(end) => {
                if line.len() + end > limit {
                    return Ok(Next::TooLong);
                }
                line.extend_from_slice(&available[..end]);
                reader.consume(end + 1);
                return Ok(Next::Line);
            }
            None => {
                let taken = available.len();
                if line.len() + taken > limit {
                    return Ok(Next::TooLong);
                }
                line.extend_from_slice(available);
                reader.consume(taken);
            }
        }
    }
}

async fn write_replies(
    mut pending: mpsc::Receiver<Outgoing>,
    mut out: OwnedWriteHalf,
    write_timeout: Duration,
) {
    let mut buffer = Vec::with_capacity(1024);
    while let Some(first) = pending.recv().await {
        let mut next = Some(first);
        while let Some(reply) = next.take() {
            match reply {
                Outgoing::Ready(bytes) => buffer.extend_from_slice(&bytes),
                Outgoing::Pending(mut ticket) => {
                    let outcome = match ticket.try_result() {
                        Some(outcome) => outcome,
                        None => {
                            // Replies already known must not wait for a commit still running.
                            if send(&mut out, &mut buffer, write_timeout).await.is_err() {
                                return;
                            }
                            ticket.await
                        }
                    };
                    line::write_outcome(&mut buffer, &outcome);
                }
            }
            next = pending.try_recv().ok();
        }
        if send(&mut out, &mut buffer, write_timeout).await.is_err() {
            return;
        }
    }
    let _ = timeout(write_timeout, out.shutdown()).await;
}

async fn send(out: &mut OwnedWriteHalf, buffer: &mut Vec<u8>, limit: Duration) -> io::Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    match timeout(limit, out.write_all(buffer)).await {
        Ok(result) => {
            buffer.clear();
            result
        }
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Reads and discards what the client still sends after the server has replied and shut
/// its side down. Closing a socket with unread input makes the kernel reset the connection,
/// and a reset can destroy the final reply before the client reads it.
async fn linger(mut reader: BufReader<OwnedReadHalf>, limit: Duration) {
    let discard = async {
        let mut rest = (&mut reader).take(LINGER_BYTES);
        tokio::io::copy(&mut rest, &mut tokio::io::sink()).await
    };
    let _ = timeout(limit, discard).await;
}
