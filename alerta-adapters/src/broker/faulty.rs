//! A broker that mistreats what it delivers, the same way for the same seed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alerta_core::Result;
use alerta_core::domain::StreamBatch;
use alerta_core::ports::{Broker, BrokerListener, DynBroker};
use async_trait::async_trait;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// How often each fault strikes, in percent of the batches a listener receives.
///
/// Each batch meets at most one fault, drawn in the order of the fields; a batch that meets
/// none is delivered at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Batches that never arrive.
    pub drop_percent: u8,
    /// Batches delivered at once and once more after 1 to 3 later ones.
    pub duplicate_percent: u8,
    /// Batches held back until 1 to 3 later ones went by.
    pub reorder_percent: u8,
    /// Batches delivered after a pause of up to [`max_delay`](Self::max_delay).
    pub delay_percent: u8,
    /// The longest pause of a delayed batch, and how long a held-back batch (or a duplicate's
    /// copy) waits at most for later ones before it is delivered anyway.
    pub max_delay: Duration,
}

impl Default for Faults {
    /// One batch in ten dropped, one duplicated, one reordered, one delayed by up to 20 ms.
    fn default() -> Self {
        Self {
            drop_percent: 10,
            duplicate_percent: 10,
            reorder_percent: 10,
            delay_percent: 10,
            max_delay: Duration::from_millis(20),
        }
    }
}

/// What a [`FaultyBroker`] did so far, summed over its listeners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Batches the wrapped broker handed over.
    pub received: u64,
    /// Batches dropped.
    pub dropped: u64,
    /// Batches delivered twice.
    pub duplicated: u64,
    /// Batches held back behind later ones.
    pub reordered: u64,
    /// Batches delivered after a pause.
    pub delayed: u64,
    /// Deliveries made to the listeners, copies included.
    pub delivered: u64,
    /// Resyncs passed on, untouched.
    pub resyncs: u64,
}

impl FaultCounts {
    /// Deliveries still to come: held-back, delayed or copied batches not delivered yet.
    pub fn in_flight(&self) -> u64 {
        (self.received - self.dropped + self.duplicated).saturating_sub(self.delivered)
    }
}

/// Wraps a broker and, driven by a seed, drops, duplicates, reorders and delays the batches
/// on their way to listeners.
///
/// Publishing, resyncs and health pass through untouched: the faults are those the broker
/// contract allows, so a listener that keeps its promise ("every client receives every
/// message once, in order") must survive them by reading the stream log.
///
/// The same seed makes the same decisions for the same sequence of batches: every listener
/// draws from its own generator, seeded from the broker's seed and the order in which the
/// listeners joined. Only when a delayed or held-back batch arrives depends on the clock.
/// [`counts`](Self::counts) says what was done, and [`watch_counts`](Self::watch_counts)
/// lets a test wait until every batch has been dealt with.
///
/// Listening needs a tokio runtime, which runs the timers of delayed batches.
#[derive(Clone)]
pub struct FaultyBroker {
    inner: Arc<DynBroker>,
    shared: Arc<Shared>,
}

struct Shared {
    seed: u64,
    faults: Faults,
    listeners: AtomicU64,
    counts: watch::Sender<FaultCounts>,
}

impl fmt::Debug for FaultyBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyBroker")
            .field("seed", &self.shared.seed)
            .field("faults", &self.shared.faults)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl FaultyBroker {
    /// Wraps `inner` with the [default faults](Faults::default), decided by `seed`.
    pub fn new(inner: Arc<DynBroker>, seed: u64) -> Self {
        Self::with_faults(inner, seed, Faults::default())
    }

    /// Wraps `inner` with `faults`, decided by `seed`.
    ///
    /// # Panics
    ///
    /// The percentages of `faults` add up to more than 100.
    pub fn with_faults(inner: Arc<DynBroker>, seed: u64, faults: Faults) -> Self {
        let total = u32::from(faults.drop_percent)
            + u32::from(faults.duplicate_percent)
            + u32::from(faults.reorder_percent)
            + u32::from(faults.delay_percent);
        assert!(
            total <= 100,
            "the fault percentages add up to {total}, over 100"
        );
        Self {
            inner,
            shared: Arc::new(Shared {
                seed,
                faults,
                listeners: AtomicU64::new(0),
                counts: watch::Sender::new(FaultCounts::default()),
            }),
        }
    }

    /// What was done so far.
    pub fn counts(&self) -> FaultCounts {
        *self.shared.counts.borrow()
    }

    /// The counts, announced on every change.
    pub fn watch_counts(&self) -> watch::Receiver<FaultCounts> {
        self.shared.counts.subscribe()
    }
}

#[async_trait]
impl Broker for FaultyBroker {
    async fn publish(&self, batch: &StreamBatch) -> Result<()> {
        self.inner.publish(batch).await
    }

    async fn listen(&self, listener: Arc<dyn BrokerListener>) -> Result<()> {
        let index = self.shared.listeners.fetch_add(1, Ordering::Relaxed);
        let faulty = FaultyListener {
            core: Arc::new(ListenerCore {
                target: listener,
                shared: self.shared.clone(),
                runtime: Handle::current(),
                state: Mutex::new(ListenerState {
                    random: Xorshift::seeded(self.shared.seed, index),
                    held: Vec::new(),
                    next_id: 0,
                }),
            }),
        };
        self.inner.listen(Arc::new(faulty)).await
    }

    async fn healthy(&self) -> bool {
        self.inner.healthy().await
    }
}

/// The listener the wrapped broker sees, standing in front of the real one.
struct FaultyListener {
    core: Arc<ListenerCore>,
}

struct ListenerCore {
    target: Arc<dyn BrokerListener>,
    shared: Arc<Shared>,
    runtime: Handle,
    state: Mutex<ListenerState>,
}

struct ListenerState {
    random: Xorshift,
    held: Vec<Held>,
    next_id: u64,
}

/// A batch waiting for `after` more batches to arrive before it is delivered.
struct Held {
    id: u64,
    batch: StreamBatch,
    after: u64,
}

/// The one fault (or none) a batch meets.
enum Fate {
    Drop,
    Duplicate,
    Reorder,
    Delay(Duration),
    Deliver,
}

impl ListenerCore {
    fn lock(&self) -> MutexGuard<'_, ListenerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, change: impl FnOnce(&mut FaultCounts)) {
        self.shared.counts.send_modify(change);
    }

    /// Hands `batch` to the real listener, counting it only afterwards so that a test which
    /// sees nothing in flight also sees every delivery made.
    fn deliver(&self, batch: StreamBatch) {
        self.target.batch(batch);
        self.count(|c| c.delivered += 1);
    }

    /// Holds `batch` back behind 1 to 3 later batches, or for `max_delay` if none come.
    fn hold(self: &Arc<Self>, state: &mut ListenerState, batch: StreamBatch) {
        let id = state.next_id;
        state.next_id += 1;
        let after = 1 + state.random.below(3);
        state.held.push(Held { id, batch, after });
        let core = self.clone();
        let wait = self.shared.faults.max_delay;
        self.runtime.spawn(async move {
            tokio::time::sleep(wait).await;
            let overdue = {
                let mut state = core.lock();
                let at = state.held.iter().position(|held| held.id == id);
                at.map(|at| state.held.remove(at).batch)
            };
            if let Some(batch) = overdue {
                core.deliver(batch);
            }
        });
    }
}

impl BrokerListener for FaultyListener {
    fn batch(&self, batch: StreamBatch) {
        let core = &self.core;
        let mut now = Vec::new();
        {
            let mut state = core.lock();
            // The batches held before this one move one step closer to their release, and
            // leave after it: that is what puts them behind later ones.
            let mut released = Vec::new();
            state.held.retain_mut(|held| {
                held.after -= 1;
                if held.after == 0 {
                    released.push(held.batch.clone());
                }
                held.after > 0
            });
            let fate = state.random.fate(&core.shared.faults);
            core.count(|c| {
                c.received += 1;
                match fate {
                    Fate::Drop => c.dropped += 1,
                    Fate::Duplicate => c.duplicated += 1,
                    Fate::Reorder => c.reordered += 1,
                    Fate::Delay(_) => c.delayed += 1,
                    Fate::Deliver => {}
                }
            });
            match fate {
                Fate::Drop => {}
                Fate::Duplicate => {
                    now.push(batch.clone());
                    core.hold(&mut state, batch);
                }
                Fate::Reorder => core.hold(&mut state, batch),
                Fate::Delay(pause) => {
                    let core = core.clone();
                    core.runtime.clone().spawn(async move {
                        tokio::time::sleep(pause).await;
                        core.deliver(batch);
                    });
                }
                Fate::Deliver => now.push(batch),
            }
            now.extend(released);
        }
        for batch in now {
            core.deliver(batch);
        }
    }

    fn resync(&self) {
        self.core.target.resync();
        self.core.count(|c| c.resyncs += 1);
    }
}

/// Marsaglia's xorshift64: tiny, and the same numbers for the same seed everywhere.
struct Xorshift(u64);

impl Xorshift {
    /// A generator for the `index`-th listener of a broker seeded with `seed`.
    fn seeded(seed: u64, index: u64) -> Self {
        // SplitMix64 spreads neighbouring seeds apart and never yields the one state
        // xorshift cannot leave, zero, for more than one input.
        let mut z = seed
            .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `bound` (which is not 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn fate(&mut self, faults: &Faults) -> Fate {
        let roll = self.below(100);
        let mut limit = u64::from(faults.drop_percent);
        if roll < limit {
            return Fate::Drop;
        }
        limit += u64::from(faults.duplicate_percent);
        if roll < limit {
            return Fate::Duplicate;
        }
        limit += u64::from(faults.reorder_percent);
        if roll < limit {
            return Fate::Reorder;
        }
        limit += u64::from(faults.delay_percent);
        if roll < limit {
            let longest = faults.max_delay.as_micros().max(1) as u64;
            return Fate::Delay(Duration::from_micros(1 + self.below(longest)));
        }
        Fate::Deliver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_numbers_and_listeners_draw_apart() {
        let draw = |seed, index| {
            let mut random = Xorshift::seeded(seed, index);
            (0..8).map(|_| random.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 0), draw(7, 0));
        assert_ne!(draw(7, 0), draw(7, 1));
        assert_ne!(draw(7, 0), draw(8, 0));
    }
}
