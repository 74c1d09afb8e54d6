//! Every port in memory: for tests, examples and embedding without persistence.
//!
//! [`MemoryStore`] serves every storage port from one lock, so its atomic changes span
//! incidents, alerts and the outbox just as a database's do. [`RecordingBroadcaster`] and
//! [`RecordingMailer`] keep what they were given and can be told to fail.

mod blobs;
mod delivery;
mod settings;
mod silences;
mod store;

pub use blobs::MemoryBlobStore;
pub use delivery::{MailerMode, RecordingBroadcaster, RecordingMailer};
pub use store::MemoryStore;
