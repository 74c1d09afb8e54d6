//! The hub: the set of live subscribers, and handing each message to them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alerta_core::Result;
use alerta_core::domain::StreamMessage;
use alerta_core::ports::Broadcaster;
use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};

use super::connection;
use super::subscription::{Subscription, bit};

/// How the hub treats each connection.
#[derive(Clone, Debug)]
pub struct HubConfig {
    pub(crate) queue_capacity: usize,
    pub(crate) max_batch: usize,
    pub(crate) write_budget: Option<u32>,
    pub(crate) max_write_delay: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) replay_page: usize,
    pub(crate) websocket: WebSocketConfig,
}

impl HubConfig {
    /// The largest message a client may send, and the largest frame: 64 KiB.
    pub const MAX_INCOMING_BYTES: usize = 64 * 1024;

    /// Sets how many messages may wait for one subscriber (1,024 by default). A subscriber
    /// whose queue is full when a message comes is disconnected with close code 1013.
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages.max(1);
        self
    }

    /// Sets the most queued messages written to one connection with a single flush (256 by
    /// default).
    pub fn max_batch(mut self, messages: usize) -> Self {
        self.max_batch = messages.max(1);
        self
    }

    /// Sets about how many writes per second all connections together may make (50,000 by
    /// default), or `None` to write each connection's messages as soon as they come.
    ///
    /// A write to a socket costs a syscall of several microseconds whatever it carries, so
    /// under a steady stream of messages, writing each on its own spends the CPU on
    /// syscalls: 1,000 subscribers at 500 messages a second would need 500,000 writes a
    /// second. With a budget, a connection that wrote less than `subscribers ÷ budget` ago
    /// lets the next messages gather until then and writes them together, while a
    /// connection that has been quiet writes at once. So a message waits at most about
    /// `subscribers ÷ budget` (20 ms for 1,000 subscribers with the default), never more
    /// than [`max_write_delay`](Self::max_write_delay), and a queue half full is written at
    /// once.
    pub fn write_budget(mut self, writes_per_second: Option<u32>) -> Self {
        self.write_budget = writes_per_second.filter(|&n| n > 0);
        self
    }

    /// Sets the longest a message waits for others to share its write (200 ms by default;
    /// see [`write_budget`](Self::write_budget)).
    pub fn max_write_delay(mut self, delay: Duration) -> Self {
        self.max_write_delay = delay;
        self
    }

    /// Sets how often the server pings each client (30 s by default).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Sets how long a client may stay silent, pongs included, before it is disconnected
    /// (75 s by default). Checked at each ping, so it takes effect at the first ping after.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets how long one write to a client may block before it is disconnected (10 s by
    /// default).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets how long the closing handshake may take (5 s by default). It includes writing
    /// what was already on its way to the client, so a client disconnected for being slow
    /// still learns why if it catches up in time.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets how many messages one replay query fetches (500 by default).
    pub fn replay_page(mut self, messages: usize) -> Self {
        self.replay_page = messages.max(1);
        self
    }

    /// Replaces the WebSocket protocol settings. The defaults keep per-connection buffers
    /// small (4 KiB read, 16 KiB write) so that thousands of connections fit, and cap
    /// incoming messages and frames at 64 KiB.
    pub fn websocket_config(mut self, config: WebSocketConfig) -> Self {
        self.websocket = config;
        self
    }

    /// The WebSocket protocol settings, for a stream made with
    /// [`WebSocketStream::from_raw_socket`].
    pub fn websocket(&self) -> WebSocketConfig {
        self.websocket
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        // The write buffer is where the frames of one batch are coalesced: each time it
        // passes this size it goes to the socket in one write.
        let write_buffer = 16 * 1024;
        Self {
            queue_capacity: 1024,
            max_batch: 256,
            write_budget: Some(50_000),
            max_write_delay: Duration::from_millis(200),
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            replay_page: 500,
            websocket: WebSocketConfig::default()
                .read_buffer_size(4 * 1024)
                .write_buffer_size(write_buffer)
                // Past the target size only while the socket is full; bounded so that a
                // stuck client cannot grow it far.
                .max_write_buffer_size(write_buffer + (1 << 20))
                .max_message_size(Some(Self::MAX_INCOMING_BYTES))
                .max_frame_size(Some(Self::MAX_INCOMING_BYTES)),
        }
    }
}

/// Why a subscriber's connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnect {
    /// The client closed it, or the connection dropped.
    ClientClosed,
    /// Its queue overflowed: closed with 1013 (try again later).
    TooSlow,
    /// It did not accept a write within the write timeout.
    WriteTimeout,
    /// Nothing came from it, not even a pong, within the idle timeout.
    IdleTimeout,
    /// It sent a message over the size limit: closed with 1009.
    MessageTooBig,
    /// It broke the protocol, or the transport failed.
    ProtocolError,
    /// Replaying missed messages from the store failed: closed with 1011.
    ReplayFailed,
    /// The hub shut down: closed with 1001.
    Shutdown,
}

/// One encoded message, shared by every queue it is in.
pub(crate) struct Frame {
    pub(crate) id: Box<str>,
    pub(crate) text: Utf8Bytes,
}

/// Why the hub ends a connection by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kick {
    TooSlow,
    Shutdown,
}

struct Slot {
    mask: u8,
    queue: mpsc::Sender<Arc<Frame>>,
    kick: Option<oneshot::Sender<Kick>>,
    /// Told when the queue reaches half its capacity, so that a connection holding back its
    /// next write under the write budget writes at once instead of overflowing.
    urgent: Arc<Notify>,
}

/// A connection's end of its registration.
pub(crate) struct Registration {
    pub(crate) id: u64,
    pub(crate) queue: mpsc::Receiver<Arc<Frame>>,
    pub(crate) kick: oneshot::Receiver<Kick>,
    pub(crate) urgent: Arc<Notify>,
}

struct Shared {
    config: HubConfig,
    slots: RwLock<HashMap<u64, Slot>>,
    /// `slots.len()`, readable without the lock by every connection before each write.
    subscribers: AtomicUsize,
    next_id: AtomicU64,
    too_slow: AtomicU64,
    shut_down: AtomicBool,
}

/// The WebSocket broadcast hub: a [`Broadcaster`] that hands every message to the
/// subscribers allowed to see it.
///
/// Each message is encoded once; the same bytes go into every matching subscriber's bounded
/// queue without waiting, and each connection writes whatever has queued up with one flush.
/// A subscriber whose queue is full is disconnected (close code 1013) instead of slowing
/// the others down. Cheap to clone; clones share the subscribers.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl Hub {
    /// A hub with no subscribers yet.
    pub fn new(config: HubConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                slots: RwLock::new(HashMap::new()),
                subscribers: AtomicUsize::new(0),
                next_id: AtomicU64::new(0),
                too_slow: AtomicU64::new(0),
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.shared.subscribers.load(Ordering::Acquire)
    }

    /// How many subscribers were disconnected for being too slow since the hub started.
    pub fn slow_disconnects(&self) -> u64 {
        self.shared.too_slow.load(Ordering::Relaxed)
    }

    /// Hands `message` to every subscriber allowed to see it, without waiting for any; returns
    /// how many queued it.
    pub fn broadcast(&self, message: &StreamMessage) -> usize {
        let wanted = bit(message.topic, message.audience);
        let half_full = self.shared.config.queue_capacity / 2;
        let mut frame = None;
        let mut delivered = 0;
        let mut evicted = Vec::new();
        {
            let slots = self.read_slots();
            for (&id, slot) in slots.iter() {
                if slot.mask & wanted == 0 {
                    continue;
                }
                let frame = frame
                    .get_or_insert_with(|| {
                        Arc::new(Frame {
                            id: message.id.as_str().into(),
                            text: Utf8Bytes::from(message.to_json()),
                        })
                    })
                    .clone();
                match slot.queue.try_send(frame) {
                    Ok(()) => {
                        delivered += 1;
                        // Sends take one permit each, so the room left passes through every
                        // value on its way down: this fires once per filling.
                        if slot.queue.capacity() == half_full {
                            slot.urgent.notify_one();
                        }
                    }
                    Err(TrySendError::Full(_)) => evicted.push((id, Some(Kick::TooSlow))),
                    Err(TrySendError::Closed(_)) => evicted.push((id, None)),
                }
            }
        }
        if !evicted.is_empty() {
            let mut slots = self.write_slots();
            for (id, kick) in evicted {
                let Some(mut slot) = slots.remove(&id) else {
                    continue;
                };
                if let (Some(kick), Some(tell)) = (kick, slot.kick.take()) {
                    self.shared.too_slow.fetch_add(1, Ordering::Relaxed);
                    let _ = tell.send(kick);
                }
            }
            self.count(&slots);
        }
        delivered
    }

    /// Serves one subscriber on a stream that has already completed the WebSocket upgrade
    /// (its `101 Switching Protocols` is sent), until the connection ends.
    pub async fn serve_upgraded<S>(&self, stream: S, subscription: Subscription) -> Disconnect
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let socket =
            WebSocketStream::from_raw_socket(stream, WsRole::Server, Some(self.config().websocket))
                .await;
        self.serve(socket, subscription).await
    }

    /// Serves one subscriber on a WebSocket, until the connection ends. The socket should
    /// use [`HubConfig::websocket`] for its buffers and limits.
    pub async fn serve<S>(
        &self,
        socket: WebSocketStream<S>,
        subscription: Subscription,
    ) -> Disconnect
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        connection::run(self, socket, subscription).await
    }

    /// Disconnects every subscriber (close code 1001) and refuses new ones: for a server
    /// shutting down.
    pub fn shutdown(&self) {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        let slots: Vec<Slot> = {
            let mut slots = self.write_slots();
            let drained = slots.drain().map(|(_, slot)| slot).collect();
            self.count(&slots);
            drained
        };
        for mut slot in slots {
            if let Some(tell) = slot.kick.take() {
                let _ = tell.send(Kick::Shutdown);
            }
        }
    }

    /// Adds a subscriber; `None` once the hub has shut down.
    pub(crate) fn register(&self, subscription: &Subscription) -> Option<Registration> {
        let (queue, receiver) = mpsc::channel(self.shared.config.queue_capacity);
        let (kick, kicked) = oneshot::channel();
        let urgent = Arc::new(Notify::new());
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.write_slots();
        // Checked under the lock so that a shutdown cannot miss a subscriber added meanwhile.
        if self.shared.shut_down.load(Ordering::SeqCst) {
            return None;
        }
        slots.insert(
            id,
            Slot {
                mask: subscription.mask(),
                queue,
                kick: Some(kick),
                urgent: urgent.clone(),
            },
        );
        self.count(&slots);
        Some(Registration {
            id,
            queue: receiver,
            kick: kicked,
            urgent,
        })
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut slots = self.write_slots();
        if slots.remove(&id).is_some() {
            self.count(&slots);
        }
    }

    /// How long a connection that has just written waits before its next write, so that
    /// all of them together stay within the write budget.
    pub(crate) fn write_spacing(&self) -> Option<Duration> {
        let config = &self.shared.config;
        let budget = u64::from(config.write_budget?);
        let subscribers = self.subscriber_count() as u64;
        let spacing = Duration::from_nanos(subscribers.saturating_mul(1_000_000_000) / budget);
        Some(spacing.min(config.max_write_delay))
    }

    /// Keeps the lock-free count in step; called with the write lock held.
    fn count(&self, slots: &HashMap<u64, Slot>) {
        self.shared
            .subscribers
            .store(slots.len(), Ordering::Release);
    }

    fn read_slots(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Slot>> {
        self.shared
            .slots
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_slots(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Slot>> {
        self.shared
            .slots
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(HubConfig::default())
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("subscribers", &self.subscriber_count())
            .field("slow_disconnects", &self.slow_disconnects())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Broadcaster for Hub {
    async fn publish(&self, message: &StreamMessage) -> Result<()> {
        self.broadcast(message);
        Ok(())
    }
}
