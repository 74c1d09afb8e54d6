//! Brokers: how the instances of a deployment tell each other about committed messages.
//!
//! Every adapter here implements the core's [`Broker`](alerta_core::ports::Broker) port. A
//! broker is a fast path, not the truth: listeners fill gaps from the stream log, so a broker
//! may lose, repeat or reorder batches, but it reports every loss of its connection with
//! [`BrokerListener::resync`](alerta_core::ports::BrokerListener::resync) once it is back.
//!
//! - [`MemoryBroker`] is a bus inside one process: its clones share it, so several instances
//!   in one test each listen on a clone. It can be taken down and brought back to rehearse an
//!   outage.
//! - [`FaultyBroker`] wraps any broker and, driven by a seed, drops, repeats, reorders and
//!   delays what reaches its listeners: what a hub must survive, made reproducible.
//! - `RedisBroker` (feature `redis`) carries batches over Redis PUBLISH/SUBSCRIBE between
//!   processes.

mod faulty;
mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_CHANNEL, RedisBroker};
pub use faulty::{FaultCounts, Faults, FaultyBroker};
pub use memory::MemoryBroker;
