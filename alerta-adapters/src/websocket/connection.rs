//! One subscriber's connection: replay, then live messages, keepalive, and closing.
//!
//! A single task per connection both reads (for pongs, close frames and limits) and writes.
//! Writing takes every message queued so far, feeds them all into the socket's write buffer
//! and flushes once, so a burst costs a few large writes instead of one small write each.
//! Under the hub's write budget, a connection that wrote recently waits a little before the
//! next write, so that a steady stream of messages is written in groups too.

use std::sync::Arc;

use alerta_core::domain::StreamMessage;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::hub::{Disconnect, Frame, Hub, HubConfig, Kick, Registration};
use super::subscription::{Resume, Subscription};

/// Removes the subscriber from the hub however the connection ends.
struct Unregister<'a> {
    hub: &'a Hub,
    id: u64,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

/// Why writing stopped short.
enum Stop {
    Kicked(Kick),
    Timeout,
    Failed,
}

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
}

impl From<Stop> for Ending {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Kicked(Kick::TooSlow) => Self::closing(
                Disconnect::TooSlow,
                CloseCode::Again,
                "too slow; reconnect with since=",
            ),
            Stop::Kicked(Kick::Shutdown) => Self::closing(
                Disconnect::Shutdown,
                CloseCode::Away,
                "server shutting down",
            ),
            // A client that cannot take writes cannot take a close frame either.
            Stop::Timeout => Self::silent(Disconnect::WriteTimeout),
            Stop::Failed => Self::silent(Disconnect::ProtocolError),
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
    // Registered before any replay, so that whatever is published while the store is read
    // waits in the queue instead of falling between the replay and the live messages.
    let Some(registration) = hub.register(&subscription) else {
        close(&mut socket, CloseCode::Away, "server shutting down", config).await;
        return Disconnect::Shutdown;
    };
    let unregister = Unregister {
        hub,
        id: registration.id,
    };
    let ending = deliver(hub, &mut socket, registration, &subscription).await;
    // Leave the hub before the closing handshake, which can take up to the close timeout:
    // nothing more will be sent, so nothing more should be queued.
    drop(unregister);
    if let Some((code, reason)) = ending.close {
        close(&mut socket, code, reason, config).await;
    }
    ending.disconnect
}

async fn deliver<S>(
    hub: &Hub,
    socket: &mut WebSocketStream<S>,
    mut registration: Registration,
    subscription: &Subscription,
) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = hub.config();
    let kick = &mut registration.kick;

    // Live messages up to this stream id were already sent by the replay.
    let mut replayed_up_to: Option<String> = None;
    if let Some(resume) = &subscription.resume {
        match replay(socket, subscription, resume, kick, config).await {
            Ok(last) => replayed_up_to = Some(last),
            Err(Replay::Write(stop)) => return stop.into(),
            Err(Replay::Store(error)) => {
                tracing::warn!(%error, "replaying the stream failed");
                return Ending::closing(
                    Disconnect::ReplayFailed,
                    CloseCode::Error,
                    "replay failed",
                );
            }
        }
    }

    // Grown by the first message rather than allocated up front: most connections of a
    // large hub are idle most of the time, and their memory is what limits how many fit.
    let mut batch: Vec<Arc<Frame>> = Vec::new();
    let mut ping =
        tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut last_write: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            kicked = &mut *kick => return Stop::Kicked(kicked.unwrap_or(Kick::Shutdown)).into(),
            received = registration.queue.recv_many(&mut batch, config.max_batch) => {
                if received == 0 {
                    return Ending::closing(Disconnect::Shutdown, CloseCode::Away, "server shutting down");
                }
                let pacing = Pacing {
                    hub,
                    last_write,
                    queue: &mut registration.queue,
                    urgent: &registration.urgent,
                };
                if let Err(stop) = pacing.gather(&mut batch, kick).await {
                    return stop.into();
                }
                let fresh = batch.drain(..).filter(|frame| {
                    replayed_up_to.as_deref().is_none_or(|last| &*frame.id > last)
                });
                let messages = fresh.map(|frame| Message::Text(frame.text.clone()));
                if let Err(stop) = write_all(socket, messages, kick, config).await {
                    return stop.into();
                }
                last_write = Some(Instant::now());
            }
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
            _ = ping.tick() => {
                if last_heard.elapsed() >= config.idle_timeout {
                    return Ending::closing(Disconnect::IdleTimeout, CloseCode::Away, "idle timeout");
                }
                let ping = std::iter::once(Message::Ping(Bytes::new()));
                if let Err(stop) = write_all(socket, ping, kick, config).await {
                    return stop.into();
                }
            }
        }
    }
}

/// Spacing of one connection's writes under the hub's write budget.
struct Pacing<'a> {
    hub: &'a Hub,
    last_write: Option<Instant>,
    queue: &'a mut mpsc::Receiver<Arc<Frame>>,
    urgent: &'a Notify,
}

impl Pacing<'_> {
    /// When the connection wrote recently, waits until its next write is due (or its queue
    /// is filling up) and adds what queued meanwhile to `batch`, so that it shares the write.
    async fn gather(
        self,
        batch: &mut Vec<Arc<Frame>>,
        kick: &mut oneshot::Receiver<Kick>,
    ) -> Result<(), Stop> {
        let max_batch = self.hub.config().max_batch;
        let due = self
            .hub
            .write_spacing()
            .zip(self.last_write)
            .map(|(spacing, last)| last + spacing)
            .filter(|&due| due > Instant::now() && batch.len() < max_batch);
        let Some(due) = due else {
            return Ok(());
        };
        tokio::select! {
            biased;
            kicked = &mut *kick => return Err(Stop::Kicked(kicked.unwrap_or(Kick::Shutdown))),
            () = self.urgent.notified() => {}
            () = tokio::time::sleep_until(due) => {}
        }
        while batch.len() < max_batch {
            match self.queue.try_recv() {
                Ok(frame) => batch.push(frame),
                Err(_) => break,
            }
        }
        Ok(())
    }
}

enum Replay {
    Write(Stop),
    Store(alerta_core::Error),
}

/// Sends what was published after `since`, page by page; returns the last stream id sent
/// (or `since` when there was nothing).
async fn replay<S>(
    socket: &mut WebSocketStream<S>,
    subscription: &Subscription,
    resume: &Resume,
    kick: &mut oneshot::Receiver<Kick>,
    config: &HubConfig,
) -> Result<String, Replay>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut last = resume.since.clone();
    loop {
        let page: Vec<StreamMessage> = resume
            .app
            .replay(
                subscription.role,
                &subscription.topics,
                &last,
                config.replay_page,
            )
            .await
            .map_err(Replay::Store)?;
        let Some(newest) = page.last() else {
            return Ok(last);
        };
        last = newest.id.clone();
        let complete = page.len() < config.replay_page;
        let messages = page.iter().map(|m| Message::Text(m.to_json().into()));
        write_all(socket, messages, kick, config)
            .await
            .map_err(Replay::Write)?;
        if complete {
            return Ok(last);
        }
    }
}

/// Feeds every message into the socket and flushes once, giving up when the hub kicks the
/// subscriber or the client does not take the bytes within the write timeout.
async fn write_all<S, I>(
    socket: &mut WebSocketStream<S>,
    messages: I,
    kick: &mut oneshot::Receiver<Kick>,
    config: &HubConfig,
) -> Result<(), Stop>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: Iterator<Item = Message>,
{
    let write = async {
        for message in messages {
            socket.feed(message).await?;
        }
        socket.flush().await
    };
    tokio::select! {
        biased;
        kicked = &mut *kick => Err(Stop::Kicked(kicked.unwrap_or(Kick::Shutdown))),
        written = timeout(config.write_timeout, write) => match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Failed),
            Err(_) => Err(Stop::Timeout),
        },
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
