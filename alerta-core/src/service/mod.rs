//! The use cases of the wire contract, with their role checks.

mod accounts;
mod ack_links;
mod alert_incidents;
mod alerts;
mod auth;
mod catalog;
mod daily_stats;
mod deliveries;
mod idempotency;
mod incidents;
mod outbox;
mod receivers;
mod reports;
mod response_times;
mod retention;
mod settings;
mod silences;
mod stream;
mod throttle;

use std::sync::Arc;

pub use ack_links::{AckByLink, AckLinkState};
pub use alert_incidents::IncidentFromAlert;
pub use alerts::{AlertChangeRequest, AlertSender};
pub use auth::Login;
pub use incidents::{LocationCheck, Preview, StatusChange, Upload};
pub use receivers::{IngestPass, Received, ReceivedSummary};
pub use reports::{ReportProgress, ReportRun, ReportSummary};
pub use response_times::MAX_RESPONSE_DAYS;
pub use retention::{Retention, RetentionReport};
pub use settings::Settings;
pub use silences::SilenceRequest;
pub use throttle::LoginPolicy;

use crate::domain::{Appended, IdSource, Role, StreamBatch, StreamMessage, UlidSource, User};
use crate::ports::{Clock, DynBlobStore, DynBroadcaster, Storage, SystemClock};
use crate::{Error, Result};
use throttle::LoginThrottle;

/// The application: every use case, over the ports it was built with.
///
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Alerta {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    blobs: Arc<DynBlobStore>,
    broadcaster: Arc<DynBroadcaster>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    settings: Settings,
    throttle: LoginThrottle,
    /// Hashes of the configured ingest keys, made once: every ingested line may be checked.
    ingest_key_hashes: Vec<String>,
    /// The silences that have not ended, as ingestion matches alerts against them.
    silences: silences::SilenceCache,
}

/// Builds an [`Alerta`]; storage, blobs and a broadcaster are required, the rest has defaults.
pub struct AlertaBuilder {
    storage: Storage,
    blobs: Arc<DynBlobStore>,
    broadcaster: Arc<DynBroadcaster>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    settings: Settings,
}

impl AlertaBuilder {
    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `ids` instead of ULIDs from the system clock.
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Uses `settings` instead of the defaults.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The application.
    pub fn build(self) -> Alerta {
        let throttle = LoginThrottle::new(
            self.storage.login_attempts.clone(),
            self.settings.login.clone(),
        );
        let ingest_key_hashes = self
            .settings
            .ingest_keys
            .iter()
            .map(|k| crate::domain::hex_sha256(k.as_bytes()))
            .collect();
        let silences = silences::SilenceCache::new(self.settings.silence_refresh);
        Alerta {
            inner: Arc::new(Inner {
                storage: self.storage,
                blobs: self.blobs,
                broadcaster: self.broadcaster,
                clock: self.clock,
                ids: self.ids,
                settings: self.settings,
                throttle,
                ingest_key_hashes,
                silences,
            }),
        }
    }
}

impl Alerta {
    /// Starts building an application on these ports.
    pub fn builder(
        storage: Storage,
        blobs: Arc<DynBlobStore>,
        broadcaster: Arc<DynBroadcaster>,
    ) -> AlertaBuilder {
        AlertaBuilder {
            storage,
            blobs,
            broadcaster,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UlidSource::new()),
            settings: Settings::default(),
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The storage ports it runs on.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The blob store it runs on.
    pub fn blobs(&self) -> &Arc<DynBlobStore> {
        &self.inner.blobs
    }

    /// Its clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn now(&self) -> crate::domain::Timestamp {
        self.inner.clock.now()
    }

    fn ids(&self) -> &dyn IdSource {
        self.inner.ids.as_ref()
    }

    /// Tells the live stream what a commit appended. The change is already durable and the
    /// stream reads the log anyway, so a broadcaster failure is logged and never fails the
    /// request.
    async fn publish(&self, appended: Appended, messages: Vec<StreamMessage>) {
        if appended.count == 0 {
            return;
        }
        if appended.count != messages.len() as u64 {
            // A store that says it appended other messages than it hands back: the stream's
            // followers still find them in the log, so nothing is lost but the hint.
            tracing::warn!(
                appended = appended.count,
                messages = messages.len(),
                "a store's appended positions do not match its messages; not published"
            );
            return;
        }
        let batch = StreamBatch::new(appended, messages);
        if let Err(error) = self.inner.broadcaster.publish(&batch).await {
            tracing::warn!(%error, first = batch.first, "broadcast failed");
        }
    }
}

fn require_staff(actor: &User) -> Result<()> {
    if actor.role.manages_incidents() {
        Ok(())
    } else {
        Err(Error::Forbidden("staff or admin role required"))
    }
}

fn require_admin(actor: &User) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden("admin role required"))
    }
}

impl std::fmt::Debug for Alerta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerta")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
