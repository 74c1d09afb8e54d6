//! One subscriber's connection: a cursor over the stream, keepalive, and closing.
//!
//! A single task per connection both reads (for pongs, close frames and limits) and writes.
//! It holds no queue of messages, only its cursor: each time the head moves it takes every
//! message after the cursor that it may see (from the hub's in-memory tail, or from the log
//! when it fell behind the tail), feeds them all into the socket's write buffer and flushes
//! once. So a burst costs a few large writes, a slow reader gets larger writes rather than a
//! growing queue, and memory per connection is its cursor and its write buffer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alerta_core::domain::{Position, StreamHead, Timestamp};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use super::hub::{Counted, Disconnect, Hub, HubConfig};
use super::subscription::{Filter, SessionState, Since, Subscription};
use super::tail::{Entry, Slice};

/// How the connection ends: why, and the close frame to send, if any.
struct Ending {
    disconnect: Disconnect,
    close: Option<(CloseCode, &'static str)>,
}

impl Ending {
    fn closing(disconnect: Disconnect, code: CloseCode, reason: &'static str) -> Self {
        Self {
            disconnect,
            close: Some((code, reason)),
        }
    }

    fn silent(disconnect: Disconnect) -> Self {
        Self {
            disconnect,
            close: None,
        }
    }

    fn shutdown() -> Self {
        Self::closing(
            Disconnect::Shutdown,
            CloseCode::Away,
            "server shutting down",
        )
    }

    fn log_failed(error: &alerta_core::Error) -> Self {
        tracing::warn!(%error, "reading the stream log failed");
        Self::closing(
            Disconnect::ReplayFailed,
            CloseCode::Error,
            "stream unavailable",
        )
    }
}

/// Why a write stopped short.
enum Stop {
    Shutdown,
    Stalled,
    Failed,
}

impl From<Stop> for Ending {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Shutdown => Ending::shutdown(),
            Stop::Stalled => Ending::closing(
                Disconnect::Stalled,
                CloseCode::Policy,
                "not reading; reconnect with since=",
            ),
            Stop::Failed => Ending::silent(Disconnect::ProtocolError),
        }
    }
}

pub(crate) async fn run<S>(
    hub: &Hub,
    mut socket: WebSocketStream<S>,
    subscription: Subscription,
) -> Disconnect
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = hub.config();
    let counted = Counted::new(hub);
    let mut stopping = hub.stopping();
    let ending = if *stopping.borrow_and_update() {
        Ending::shutdown()
    } else if hub.tail().is_none() {
        Ending::closing(
            Disconnect::NotStarted,
            CloseCode::Again,
            "stream not started",
        )
    } else {
        deliver(hub, &mut socket, &subscription, &mut stopping).await
    };
    if ending.disconnect == Disconnect::Stalled {
        hub.count_stalled();
    }
    // The closing handshake can take up to the close timeout, and nothing more will be sent.
    drop(counted);
    if let Some((code, reason)) = ending.close {
        close(&mut socket, code, reason, config).await;
    }
    ending.disconnect
}

/// The epoch of the log the cursor starts in, where it starts, and the `reset` message to
/// send first, if any.
async fn starting_point(
    hub: &Hub,
    since: Option<Since>,
) -> Result<(u64, Position, Option<Utf8Bytes>), Ending> {
    let (Some(tail), Some(log)) = (hub.tail(), hub.log()) else {
        return Err(Ending::shutdown());
    };
    let epoch = tail.epoch();
    let start = |(position, first)| Ok((epoch, position, first));
    let id = match since {
        None => return start((tail.head(), None)),
        Some(Since::Unknown) => return start(reset(epoch, tail.head(), "unknown_id")),
        Some(Since::Id(id)) => id,
    };
    if id.epoch != epoch {
        return start(reset(epoch, tail.head(), "other_epoch"));
    }
    // The log, not this process's tail, says what exists: another instance may be ahead.
    let head = log.head().await.map_err(|e| Ending::log_failed(&e))?;
    if id.position > head.head {
        return start(reset(epoch, head.head, "ahead_of_head"));
    }
    if id.position + 1 < head.oldest {
        return start(reset(epoch, head.head, "expired"));
    }
    start((id.position, None))
}

/// The `reset` message: the client's position is not in the log, so it reloads what it shows
/// and goes on from the head.
fn reset(epoch: u64, head: Position, reason: &str) -> (Position, Option<Utf8Bytes>) {
    let id = StreamHead {
        epoch,
        head,
        oldest: head + 1,
    }
    .id()
    .to_string();
    let at = Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    );
    let message = serde_json::json!({
        "type": "reset",
        "id": id,
        "at": at,
        "data": { "head": id, "reason": reason },
    });
    (head, Some(Utf8Bytes::from(message.to_string())))
}

async fn deliver<S>(
    hub: &Hub,
    socket: &mut WebSocketStream<S>,
    subscription: &Subscription,
    stopping: &mut watch::Receiver<bool>,
) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = hub.config();
    let Some(tail) = hub.tail() else {
        return Ending::shutdown();
    };
    // Watched before the starting point is chosen, so a move in between wakes the loop.
    let mut head = tail.watch();
    let (mut epoch, mut cursor, first) = match starting_point(hub, subscription.since).await {
        Ok(start) => start,
        Err(ending) => return ending,
    };
    if subscription.since.is_some() {
        hub.count_resumed();
    }
    if let Some(first) = first {
        if let Err(stop) = write_all(socket, vec![first], stopping, config.stall_timeout).await {
            return stop.into();
        }
        hub.count_delivered(1);
    }
    let filter = subscription.filter();
    let mut ping = tokio::time::interval_at(spread(config.ping_interval), config.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut session_check =
        tokio::time::interval_at(spread(config.session_check), config.session_check);
    session_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // Everything up to the head, in as few writes as the batch size allows.
        while cursor < tail.head() || tail.epoch() != epoch {
            let (frames, through) = match tail.after(epoch, cursor, config.max_batch, &filter) {
                Slice::Frames { frames, through } => (frames, through),
                Slice::OtherEpoch { epoch: new, head } => {
                    epoch = new;
                    match reset(new, head, "other_epoch") {
                        (head, Some(frame)) => (vec![frame], head),
                        (head, None) => (Vec::new(), head),
                    }
                }
                Slice::Behind => match from_log(hub, epoch, cursor, &filter).await {
                    Ok(Some(read)) => read,
                    Ok(None) => {
                        // Retention took what the cursor needed while it was behind.
                        let head = tail.head();
                        match reset(epoch, head, "expired") {
                            (head, Some(frame)) => (vec![frame], head),
                            (head, None) => (Vec::new(), head),
                        }
                    }
                    Err(ending) => return ending,
                },
            };
            if !frames.is_empty() {
                let count = frames.len();
                if let Err(stop) = write_all(socket, frames, stopping, config.stall_timeout).await {
                    return stop.into();
                }
                hub.count_delivered(count);
            }
            cursor = through;
        }
        tokio::select! {
            biased;
            _ = stopping.changed() => return Ending::shutdown(),
            changed = head.changed() => if changed.is_err() {
                return Ending::shutdown();
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | None => {
                    // The reply to the client's close frame is queued by the protocol; send it.
                    let _ = timeout(config.close_timeout, socket.flush()).await;
                    return Ending::silent(Disconnect::ClientClosed);
                }
                // Clients have nothing to say on this stream; anything they send only shows
                // they are alive.
                Some(Ok(_)) => last_heard = Instant::now(),
                Some(Err(WsError::Capacity(_))) => {
                    return Ending::closing(Disconnect::MessageTooBig, CloseCode::Size, "message too big");
                }
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    return Ending::silent(Disconnect::ClientClosed);
                }
                Some(Err(_)) => return Ending::silent(Disconnect::ProtocolError),
            },
            _ = session_check.tick(), if subscription.session.is_some() => {
                if let Some(probe) = &subscription.session
                    && probe().await == SessionState::Ended
                {
                    return Ending::closing(Disconnect::SessionEnded, CloseCode::Policy, "session ended; log in again");
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= config.idle_timeout {
                    return Ending::closing(Disconnect::IdleTimeout, CloseCode::Away, "idle timeout");
                }
                let ping = Message::Ping(Bytes::new());
                let sent = timeout(config.stall_timeout, socket.send(ping)).await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Stop::Failed.into(),
                    Err(_) => return Stop::Stalled.into(),
                }
            }
        }
    }
}

/// When a connection's first periodic check (ping, session) falls due: somewhere within one
/// `period` from now, each connection at another phase. Connections that open together (all
/// of them after a restart) would otherwise check together in every period for as long as
/// they stay, and a thousand session reads at once hold up whatever is being delivered then.
fn spread(period: Duration) -> Instant {
    static OPENED: AtomicU64 = AtomicU64::new(0);
    let opened = OPENED.fetch_add(1, Ordering::Relaxed);
    // Multiples of the golden ratio's fraction: each new phase falls into the largest gap the
    // ones before it left, so any number of connections is spread evenly.
    let phase = (opened as f64 * 0.618_033_988_749_895).fract();
    Instant::now() + period.mul_f64(phase)
}

/// The next page of the log of `epoch` after `cursor`, encoded and filtered by `filter`, with
/// the last position read; `None` when the log no longer holds the position after the
/// cursor. Nothing, and the cursor where it was, when the log was made anew meanwhile: the
/// tail then says so.
async fn from_log(
    hub: &Hub,
    epoch: u64,
    cursor: Position,
    filter: &Filter,
) -> Result<Option<(Vec<Utf8Bytes>, Position)>, Ending> {
    let (Some(tail), Some(log)) = (hub.tail(), hub.log()) else {
        return Err(Ending::shutdown());
    };
    let entries = log
        .read(cursor, hub.config().replay_page)
        .await
        .map_err(|e| Ending::log_failed(&e))?;
    if tail.epoch() != epoch {
        return Ok(Some((Vec::new(), cursor)));
    }
    let Some(first) = entries.first() else {
        return Ok(None);
    };
    if first.position != cursor + 1 {
        return Ok(None);
    }
    let through = entries.last().map_or(cursor, |e| e.position);
    let frames = entries
        .iter()
        .map(|entry| Entry::encode(epoch, entry))
        .filter(|entry| filter.accepts(entry.bit, entry.reporter.as_ref()))
        .map(|entry| entry.text)
        .collect();
    Ok(Some((frames, through)))
}

/// Feeds every frame into the socket and flushes once, giving up when the hub shuts down or
/// the client takes no bytes for `stall`.
async fn write_all<S>(
    socket: &mut WebSocketStream<S>,
    frames: Vec<Utf8Bytes>,
    stopping: &mut watch::Receiver<bool>,
    stall: Duration,
) -> Result<(), Stop>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A feed waits only when the write buffer is past its target size, and then only until
    // the socket takes that buffer, so each step is timed alone: a client that reads slowly
    // through a batch far longer than `stall` is never taken for one that does not read.
    let write = async {
        for frame in frames {
            step(timeout(stall, socket.feed(Message::Text(frame))).await)?;
        }
        step(timeout(stall, socket.flush()).await)
    };
    tokio::select! {
        biased;
        _ = stopping.changed() => Err(Stop::Shutdown),
        written = write => written,
    }
}

fn step(outcome: Result<Result<(), WsError>, tokio::time::error::Elapsed>) -> Result<(), Stop> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Stop::Failed),
        Err(_) => Err(Stop::Stalled),
    }
}

/// Sends a close frame after whatever is already buffered and waits for the client's reply,
/// all within the close timeout, so that the TCP connection ends cleanly.
async fn close<S>(
    socket: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &str,
    config: &HubConfig,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let handshake = async {
        if socket.send(Message::Close(Some(frame))).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    };
    let _ = timeout(config.close_timeout, handshake).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections opened together check at phases spread over the whole period: no gap
    /// between two of them is much wider than an even share.
    #[test]
    fn first_checks_of_connections_opened_together_are_spread_over_the_period() {
        const CONNECTIONS: usize = 100;
        let period = Duration::from_secs(5);
        let mut phases: Vec<f64> = (0..CONNECTIONS)
            .map(|_| {
                let now = Instant::now();
                let first = spread(period);
                assert!(first >= now, "never in the past");
                let phase = (first - now).as_secs_f64() / period.as_secs_f64();
                assert!(phase < 1.0 + 1e-6, "within one period: {phase}");
                phase
            })
            .collect();
        phases.sort_by(f64::total_cmp);
        let widest = phases
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .chain([phases[0] + 1.0 - phases[CONNECTIONS - 1]])
            .fold(0.0, f64::max);
        assert!(
            widest < 3.0 / CONNECTIONS as f64,
            "the widest gap is {widest} of the period"
        );
    }
}
