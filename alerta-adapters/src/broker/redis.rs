//! Redis PUBLISH/SUBSCRIBE as the broker between the instances of a deployment.
//!
//! Every batch is one PUBLISH on one channel, as JSON:
//! `{"epoch": 7, "first": 41, "messages": [...]}`, each message in its record form (the
//! object [`StreamMessage::to_record`] writes). Redis keeps nothing: a subscriber that is
//! disconnected misses what is published meanwhile, which is why every reconnection ends
//! with [`BrokerListener::resync`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerta_core::domain::{Position, StreamBatch, StreamMessage};
use alerta_core::ports::{Broker, BrokerListener};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, Cmd, FromRedisValue, RedisError};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The channel batches travel on unless another is given.
pub const DEFAULT_CHANNEL: &str = "alerta:stream";

/// The longest a publish may take: a request that committed must not hang on a dead Redis.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a health check waits for PING.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest connecting and subscribing may take before it counts as a failure.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after the first failed attempt to subscribe again; it doubles up to
/// [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest pause between attempts to subscribe again.
const LAST_RETRY: Duration = Duration::from_secs(2);
/// After this long without a message the subscription is checked with PING, because a
/// connection whose peer vanished without closing it would otherwise look merely quiet.
const KEEPALIVE: Duration = Duration::from_secs(10);

/// A broker on Redis PUBLISH/SUBSCRIBE.
///
/// Publishing goes over one shared connection that reconnects by itself; each
/// [`listen`](Broker::listen) opens its own subscription and keeps it up in a task: when the
/// connection is lost it subscribes again, pausing 100 ms after the first failed attempt and
/// doubling up to 2 s, and after every successful re-subscription calls
/// [`resync`](BrokerListener::resync). A message on the channel that is not a batch is
/// logged and skipped.
///
/// Clones share the connection and the subscriptions, which end when the last clone is
/// dropped. Only plain `redis://` URLs are supported: no TLS is compiled in.
#[derive(Clone)]
pub struct RedisBroker {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    connection: ConnectionManager,
    channel: Arc<str>,
    subscriptions: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let subscriptions = self.subscriptions.get_mut();
        for task in subscriptions.unwrap_or_else(|e| e.into_inner()).drain(..) {
            task.abort();
        }
    }
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL is left out: it may hold a password.
        f.debug_struct("RedisBroker")
            .field("channel", &self.shared.channel)
            .finish_non_exhaustive()
    }
}

impl RedisBroker {
    /// Connects to the Redis at `url` (`redis://[:password@]host[:port][/db]`), on the
    /// [default channel](DEFAULT_CHANNEL).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when `url` is not a Redis URL; [`Error::Unavailable`] when Redis
    /// does not answer within 2 s.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_to_channel(url, DEFAULT_CHANNEL).await
    }

    /// Connects to the Redis at `url`, publishing and subscribing on `channel`: deployments
    /// sharing one Redis keep apart by using different channels.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub async fn connect_to_channel(url: &str, channel: &str) -> Result<Self> {
        let client = Client::open(url).map_err(|e| Error::invalid("broker_url", e.to_string()))?;
        // Few retries inside the manager: a reconnection that gives up fails only the
        // commands waiting for it, and the next command starts a fresh one.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(HEALTH_TIMEOUT))
            .set_response_timeout(Some(PUBLISH_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = timeout(
            PUBLISH_TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("connecting to Redis timed out"))?
        .map_err(unavailable)?;
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                connection,
                channel: channel.into(),
                subscriptions: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The channel batches travel on.
    pub fn channel(&self) -> &str {
        &self.shared.channel
    }

    /// Runs `command` on the shared connection, within `limit`.
    async fn run<T: FromRedisValue>(&self, command: &Cmd, limit: Duration) -> Result<T> {
        let mut connection = self.shared.connection.clone();
        let attempts = async {
            match command.query_async(&mut connection).await {
                // A command that finds the connection broken fails, and starts a
                // reconnection which a second attempt waits for: without it the first
                // command after Redis came back would fail. A PUBLISH that got through
                // before the break is sent twice, which the broker contract allows.
                Err(error) if error.is_io_error() || error.is_unrecoverable_error() => {
                    command.query_async(&mut connection).await
                }
                done => done,
            }
        };
        timeout(limit, attempts)
            .await
            .map_err(|_| unavailable("Redis did not answer in time"))?
            .map_err(unavailable)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, batch: &StreamBatch) -> Result<()> {
        let mut command = redis::cmd("PUBLISH");
        command.arg(&*self.shared.channel).arg(encode(batch));
        self.run::<i64>(&command, PUBLISH_TIMEOUT).await.map(drop)
    }

    async fn listen(&self, listener: Arc<dyn BrokerListener>) -> Result<()> {
        let client = self.shared.client.clone();
        let channel = self.shared.channel.clone();
        // Subscribing before returning means that whatever is published once `listen`
        // returned reaches the listener. When Redis is away the task keeps trying, and the
        // listener hears `resync` once it got through.
        let subscription = match subscribe(&client, &channel).await {
            Ok(subscription) => Some(subscription),
            Err(error) => {
                tracing::warn!(%channel, %error, "cannot subscribe to Redis yet; will keep trying");
                None
            }
        };
        let task = tokio::spawn(follow(client, channel, listener, subscription));
        self.shared
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        Ok(())
    }

    async fn healthy(&self) -> bool {
        self.run::<redis::Value>(&redis::cmd("PING"), HEALTH_TIMEOUT)
            .await
            .is_ok()
    }
}

fn unavailable(source: impl Into<alerta_core::BoxError>) -> Error {
    Error::unavailable("stream broker", source)
}

/// A batch as it travels on the channel.
#[derive(Serialize)]
struct WireBatch<'a> {
    epoch: u64,
    first: Position,
    messages: &'a [StreamMessage],
}

/// A batch as it is read from the channel.
#[derive(Deserialize)]
struct ReadBatch {
    epoch: u64,
    first: Position,
    messages: Vec<StreamMessage>,
}

fn encode(batch: &StreamBatch) -> String {
    serde_json::to_string(&WireBatch {
        epoch: batch.epoch,
        first: batch.first,
        messages: &batch.messages,
    })
    .unwrap_or_default()
}

/// Reads a batch off the channel. Another process wrote it, so a batch without messages or
/// starting before position 1 is refused rather than trusted: listeners compute its last
/// position.
fn decode(payload: &[u8]) -> std::result::Result<StreamBatch, String> {
    let read: ReadBatch = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    if read.messages.is_empty() || read.first == 0 {
        return Err("a batch needs messages and a first position of at least 1".into());
    }
    Ok(StreamBatch {
        epoch: read.epoch,
        first: read.first,
        messages: read.messages,
    })
}

/// A new connection subscribed to `channel`.
async fn subscribe(client: &Client, channel: &str) -> std::result::Result<PubSub, String> {
    let attempt = async {
        let mut subscription = client.get_async_pubsub().await?;
        subscription.subscribe(channel).await?;
        Ok::<_, RedisError>(subscription)
    };
    match timeout(SUBSCRIBE_TIMEOUT, attempt).await {
        Ok(Ok(subscription)) => Ok(subscription),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("Redis did not answer in time".into()),
    }
}

/// Delivers what arrives on `channel` to `listener`, subscribing again whenever the
/// connection is lost, until the broker is dropped.
async fn follow(
    client: Client,
    channel: Arc<str>,
    listener: Arc<dyn BrokerListener>,
    mut subscription: Option<PubSub>,
) {
    let mut pause = FIRST_RETRY;
    loop {
        let current = match subscription.take() {
            Some(current) => current,
            None => match subscribe(&client, &channel).await {
                Ok(current) => {
                    tracing::info!(%channel, "subscribed to Redis again");
                    pause = FIRST_RETRY;
                    // Only now: a resync before the subscription stood could miss what is
                    // published between the listener's read of the log and the subscription.
                    listener.resync();
                    current
                }
                Err(error) => {
                    tracing::debug!(%channel, %error, ?pause, "subscribing to Redis failed");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LAST_RETRY);
                    continue;
                }
            },
        };
        let why = receive(current, &channel, listener.as_ref()).await;
        tracing::warn!(%channel, error = %why, "lost the Redis subscription; subscribing again");
    }
}

/// Delivers messages from `subscription` until its connection is lost; returns why.
async fn receive(subscription: PubSub, channel: &str, listener: &dyn BrokerListener) -> String {
    let (mut control, mut messages) = subscription.split();
    loop {
        match timeout(KEEPALIVE, messages.next()).await {
            Ok(Some(message)) => match decode(message.get_payload_bytes()) {
                Ok(batch) => listener.batch(batch),
                Err(error) => {
                    tracing::warn!(%channel, %error, "skipped a message that is not a batch");
                }
            },
            Ok(None) => return "the connection was closed".into(),
            Err(_) => match timeout(HEALTH_TIMEOUT, control.ping::<redis::Value>()).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return error.to_string(),
                Err(_) => return "no answer to PING".into(),
            },
        }
    }
}
