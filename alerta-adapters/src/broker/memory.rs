//! A broker inside one process, with an outage switch.

use std::sync::{Arc, Mutex, MutexGuard};

use alerta_core::domain::StreamBatch;
use alerta_core::ports::{Broker, BrokerListener};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use tokio::sync::mpsc;

/// A bus inside one process: every batch published on any clone reaches every listener of
/// every clone.
///
/// Several instances in one test process each take a clone and [`listen`](Broker::listen)
/// on it, as instances of a deployment would each connect to one broker. Every listener has
/// its own queue and delivery task, so [`publish`](Broker::publish) never waits on a
/// listener and each listener sees the batches in the order they were published.
///
/// [`set_down`](Self::set_down) rehearses an outage: while the bus is down, publishing fails
/// with [`Error::Unavailable`], nothing is delivered and [`healthy`](Broker::healthy) is
/// false; when it comes back up, every listener gets
/// [`resync`](BrokerListener::resync).
///
/// Listening needs a tokio runtime, which runs the delivery tasks; they end when the last
/// clone of the bus is dropped.
#[derive(Clone, Debug, Default)]
pub struct MemoryBroker {
    bus: Arc<Mutex<Bus>>,
}

#[derive(Debug, Default)]
struct Bus {
    down: bool,
    listeners: Vec<mpsc::UnboundedSender<Delivery>>,
}

/// What travels down one listener's queue; resyncs share the queue with batches so that a
/// listener never sees a resync overtake a batch published before the outage.
#[derive(Debug)]
enum Delivery {
    Batch(StreamBatch),
    Resync,
}

impl MemoryBroker {
    /// A new bus, up, with no listeners.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the bus down (`true`) or brings it back up (`false`).
    ///
    /// Bringing a down bus up sends [`resync`](BrokerListener::resync) to every listener;
    /// setting the state it already has does nothing.
    pub fn set_down(&self, down: bool) {
        let mut bus = self.lock();
        if bus.down == down {
            return;
        }
        bus.down = down;
        if !down {
            bus.deliver(|| Delivery::Resync);
        }
    }

    /// Whether the bus is down.
    pub fn is_down(&self) -> bool {
        self.lock().down
    }

    /// How many listeners the bus delivers to.
    pub fn listeners(&self) -> usize {
        self.lock().listeners.len()
    }

    fn lock(&self) -> MutexGuard<'_, Bus> {
        // Every change under this lock is a single assignment or push, so a panic elsewhere
        // cannot leave the bus half-updated.
        self.bus.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Bus {
    /// Queues a delivery for every listener, forgetting those whose task is gone.
    fn deliver(&mut self, delivery: impl Fn() -> Delivery) {
        self.listeners
            .retain(|queue| queue.send(delivery()).is_ok());
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, batch: &StreamBatch) -> Result<()> {
        let mut bus = self.lock();
        if bus.down {
            return Err(Error::unavailable(
                "stream broker",
                "the memory broker is down",
            ));
        }
        bus.deliver(|| Delivery::Batch(batch.clone()));
        Ok(())
    }

    async fn listen(&self, listener: Arc<dyn BrokerListener>) -> Result<()> {
        let (queue, mut deliveries) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(delivery) = deliveries.recv().await {
                match delivery {
                    Delivery::Batch(batch) => listener.batch(batch),
                    Delivery::Resync => listener.resync(),
                }
            }
        });
        self.lock().listeners.push(queue);
        Ok(())
    }

    async fn healthy(&self) -> bool {
        !self.is_down()
    }
}
