//! The hub: the shared tail of the stream log, its follower, and the subscribers served
//! from it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alerta_core::domain::StreamBatch;
use alerta_core::ports::{Broadcaster, DynBroker, DynStreamLog};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};

use super::connection;
use super::subscription::Subscription;
use super::tail::{self, FollowerConfig, Hint, Inbox, Tail};

/// How the hub follows the log and treats each connection. Change what you need and take
/// the rest from [`Default`]: `HubConfig { ping_interval, ..HubConfig::default() }`.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// How many of the log's latest messages the hub keeps in memory, encoded, for every
    /// connection to read (8,192 by default; 0 counts as 1). A connection further behind
    /// reads the log instead, so this bounds memory, not what a client can catch up on.
    pub tail_capacity: usize,
    /// The most messages written to one connection with a single flush (512 by default; 0
    /// counts as 1).
    pub max_batch: usize,
    /// How often the hub reads the log's tail even when no publish woke it (250 ms by
    /// default, 1 ms at least): the bound on how late a message committed elsewhere, or
    /// whose publish never happened, reaches clients.
    pub poll_interval: Duration,
    /// How often the hub reads the log's epoch even when nothing says it changed (5 s by
    /// default, 1 ms at least): the bound on how long clients keep a log that was made anew
    /// (its tables recreated) before they get `reset`. A message of another epoch from the
    /// broker makes it look at once.
    pub epoch_check: Duration,
    /// How often the server pings each client (30 s by default, 1 ms at least). The first
    /// ping comes within one interval of connecting, each connection at its own phase, so
    /// clients that connect together are not pinged together.
    pub ping_interval: Duration,
    /// How long a client may stay silent, pongs included, before it is disconnected (75 s
    /// by default). Checked at each ping, so it takes effect at the first ping after.
    pub idle_timeout: Duration,
    /// How long a client may take no bytes while messages wait for it before it is
    /// disconnected with close code 1008 (10 s by default). A client that reads, however far
    /// behind, is never disconnected: it catches up from the log.
    pub stall_timeout: Duration,
    /// How often a subscription's session is checked against the store (5 s by default):
    /// the longest a stream stays open after its session ended elsewhere. Each connection
    /// checks at its own phase of the period, so a thousand clients that connect together
    /// do not read the store together.
    pub session_check: Duration,
    /// How long the closing handshake may take (5 s by default).
    pub close_timeout: Duration,
    /// How many messages one read of the log fetches (500 by default; 0 counts as 1).
    pub replay_page: usize,
    /// The kernel send buffer [`HubConfig::tune_socket`] gives an accepted connection
    /// (256 KiB by default; `None` keeps the system's automatic sizing). The server sees a
    /// client read only when the socket takes more bytes, which Linux allows once about a
    /// third of the buffer has drained; a bounded buffer bounds how slowly a client may read
    /// and still count as reading (about 17 KB/s with the defaults), where automatic sizing
    /// can grow it to megabytes.
    pub send_buffer: Option<usize>,
    /// The WebSocket protocol settings, also for a stream made with
    /// [`WebSocketStream::from_raw_socket`]. The defaults keep per-connection buffers small
    /// (1 KiB read, 16 KiB write) so that thousands of connections fit, and cap incoming
    /// messages and frames at [`MAX_INCOMING_BYTES`](Self::MAX_INCOMING_BYTES).
    pub websocket: WebSocketConfig,
}

impl HubConfig {
    /// The largest message a client may send, and the largest frame: 64 KiB.
    pub const MAX_INCOMING_BYTES: usize = 64 * 1024;

    /// This configuration with the counts that must be positive raised to 1 and the
    /// intervals to 1 ms: a zero would stall every connection or spin a timer.
    fn usable(mut self) -> Self {
        self.tail_capacity = self.tail_capacity.max(1);
        self.max_batch = self.max_batch.max(1);
        self.replay_page = self.replay_page.max(1);
        self.poll_interval = self.poll_interval.max(Duration::from_millis(1));
        self.epoch_check = self.epoch_check.max(Duration::from_millis(1));
        self.ping_interval = self.ping_interval.max(Duration::from_millis(1));
        self.session_check = self.session_check.max(Duration::from_millis(1));
        self
    }
}

impl HubConfig {
    /// Prepares an accepted TCP connection that may carry the stream: frames are written as
    /// soon as they are ready, already coalesced, so Nagle's wait would only add latency;
    /// and the send buffer is [`send_buffer`](Self::send_buffer).
    pub fn tune_socket(&self, tcp: &tokio::net::TcpStream) -> std::io::Result<()> {
        tcp.set_nodelay(true)?;
        if let Some(size) = self.send_buffer {
            socket2::SockRef::from(tcp).set_send_buffer_size(size)?;
        }
        Ok(())
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        // The write buffer is where the frames of one batch are coalesced: each time it
        // passes this size it goes to the socket in one write.
        let write_buffer = 16 * 1024;
        Self {
            tail_capacity: 8192,
            max_batch: 512,
            poll_interval: Duration::from_millis(250),
            epoch_check: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            stall_timeout: Duration::from_secs(10),
            session_check: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            replay_page: 500,
            send_buffer: Some(256 * 1024),
            websocket: WebSocketConfig::default()
                // Allocated whole for every connection, and clients only send pongs and
                // closes: a small one keeps idle connections cheap. It grows for a larger
                // message.
                .read_buffer_size(1024)
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
    /// It took no bytes for the stall timeout while messages waited: closed with 1008.
    Stalled,
    /// Nothing came from it, not even a pong, within the idle timeout.
    IdleTimeout,
    /// The session it connected with ended (logout, expiry, a change of role): closed with
    /// 1008, and the client logs in again.
    SessionEnded,
    /// It sent a message over the size limit: closed with 1009.
    MessageTooBig,
    /// It broke the protocol, or the transport failed.
    ProtocolError,
    /// Reading the log failed: closed with 1011.
    ReplayFailed,
    /// The hub was not started: closed with 1013 (try again later).
    NotStarted,
    /// The hub shut down: closed with 1001.
    Shutdown,
}

struct Running {
    tail: Arc<Tail>,
    log: Arc<DynStreamLog>,
    inbox: Inbox,
    broker: Option<(Arc<DynBroker>, mpsc::Sender<StreamBatch>)>,
}

struct Shared {
    config: HubConfig,
    running: OnceLock<Running>,
    subscribers: AtomicUsize,
    stalled: AtomicU64,
    delivered: AtomicU64,
    resumed: AtomicU64,
    stop: watch::Sender<bool>,
}

/// The WebSocket stream hub: a [`Broadcaster`] whose subscribers receive the stream log, in
/// position order, from wherever they resume.
///
/// One task follows the log's tail into memory; each connection is a cursor over it, so a
/// message is encoded once for every subscriber, and a subscriber that falls behind reads
/// from the log and catches up instead of being dropped. A publish is a hint: what reaches
/// subscribers is what the log holds. Cheap to clone; clones share everything.
///
/// Made with [`Hub::new`] (so the application can be built with it as its broadcaster),
/// then [`started`](Hub::start) on the log.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl Hub {
    /// A hub not yet following any log.
    pub fn new(config: HubConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config: config.usable(),
                running: OnceLock::new(),
                subscribers: AtomicUsize::new(0),
                stalled: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                resumed: AtomicU64::new(0),
                stop: watch::Sender::new(false),
            }),
        }
    }

    /// Starts following `log` from its head, and, with a broker, joins the deployment: what
    /// this process commits is published to the broker, and what others publish wakes this
    /// hub. Must run inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// The log's head cannot be read, the broker cannot be listened to, or the hub was
    /// started already.
    pub async fn start(
        &self,
        log: Arc<DynStreamLog>,
        broker: Option<Arc<DynBroker>>,
    ) -> Result<()> {
        let config = &self.shared.config;
        let tail = Arc::new(Tail::new(config.tail_capacity));
        let follower = FollowerConfig {
            poll_interval: config.poll_interval,
            page: config.replay_page,
            max_pending: config.tail_capacity,
            epoch_check: config.epoch_check,
        };
        let inbox = tail::start(
            tail.clone(),
            log.clone(),
            follower,
            self.shared.stop.subscribe(),
        )
        .await?;
        let broker = match broker {
            Some(broker) => {
                broker.listen(Arc::new(inbox.clone())).await?;
                let (sender, receiver) = mpsc::channel(4096);
                tokio::spawn(forward(broker.clone(), receiver));
                Some((broker, sender))
            }
            None => None,
        };
        let running = Running {
            tail,
            log,
            inbox,
            broker,
        };
        self.shared
            .running
            .set(running)
            .map_err(|_| Error::invalid("hub", "the hub was started already"))
    }

    /// Its configuration.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.shared.subscribers.load(Ordering::Acquire)
    }

    /// How many subscribers were disconnected for taking no bytes since the hub started.
    pub fn stalled_disconnects(&self) -> u64 {
        self.shared.stalled.load(Ordering::Relaxed)
    }

    /// How many messages the hub has taken from the log into memory since it started: what
    /// this instance's subscribers can be sent, each message once, whoever committed it.
    pub fn messages_followed(&self) -> u64 {
        self.running().map_or(0, |r| r.tail.followed())
    }

    /// How many messages (`reset` included) the hub's subscribers have been sent, each
    /// subscriber's counted apart.
    pub fn deliveries(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }

    /// How many subscribers connected with `since` to resume from a position.
    pub fn resumptions(&self) -> u64 {
        self.shared.resumed.load(Ordering::Relaxed)
    }

    /// The stream position the hub has delivered up to, 0 before it started.
    pub fn head(&self) -> u64 {
        self.running().map_or(0, |r| r.tail.head())
    }

    /// Sees the head move after every commit that reaches the log, this process's or,
    /// through the broker or the poll of the log, another's: for tasks that act on new
    /// commits. `None` before the hub started.
    pub fn head_changes(&self) -> Option<watch::Receiver<u64>> {
        self.running().map(|r| r.tail.watch())
    }

    /// Whether the broker answers: `None` without one.
    pub async fn broker_healthy(&self) -> Option<bool> {
        let (broker, _) = self.running()?.broker.as_ref()?;
        Some(broker.healthy().await)
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

    /// Disconnects every subscriber (close code 1001), refuses new ones and stops following
    /// the log: for a server shutting down.
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(true);
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.shared.stop.subscribe()
    }

    pub(crate) fn tail(&self) -> Option<&Tail> {
        self.running().map(|r| r.tail.as_ref())
    }

    pub(crate) fn log(&self) -> Option<&Arc<DynStreamLog>> {
        self.running().map(|r| &r.log)
    }

    pub(crate) fn count_stalled(&self) {
        self.shared.stalled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_delivered(&self, messages: usize) {
        self.shared
            .delivered
            .fetch_add(messages as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_resumed(&self) {
        self.shared.resumed.fetch_add(1, Ordering::Relaxed);
    }

    fn running(&self) -> Option<&Running> {
        self.shared.running.get()
    }
}

/// Publishes this process's batches to the broker one at a time, in commit order.
async fn forward(broker: Arc<DynBroker>, mut batches: mpsc::Receiver<StreamBatch>) {
    while let Some(batch) = batches.recv().await {
        if let Err(error) = broker.publish(&batch).await {
            // The other instances read the log on their next poll.
            tracing::warn!(%error, first = batch.first, "publishing to the broker failed");
        }
    }
}

/// Counts a connection for as long as it is served, up to its closing handshake.
pub(crate) struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    pub(crate) fn new(hub: &'a Hub) -> Self {
        hub.shared.subscribers.fetch_add(1, Ordering::AcqRel);
        Self(&hub.shared.subscribers)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Broadcaster for Hub {
    async fn publish(&self, batch: &StreamBatch) -> Result<()> {
        let Some(running) = self.running() else {
            return Ok(());
        };
        running.inbox.send(Hint::Batch(batch.clone()));
        if let Some((_, sender)) = &running.broker
            && sender.try_send(batch.clone()).is_err()
        {
            // The other instances' polls find it.
            tracing::warn!(first = batch.first, "the broker queue is full");
        }
        Ok(())
    }
}
