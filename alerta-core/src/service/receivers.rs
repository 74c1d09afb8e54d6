//! Alerts from the monitoring tools a team already runs (Prometheus Alertmanager, senders of
//! PagerDuty-style events): occurrences, acknowledgements and resolutions of a fingerprint,
//! sent with an ingest key.

use serde::Serialize;

use super::{AlertSender, Alerta};
use crate::domain::{AlertAction, AlertDraft, Fingerprint, Note};
use crate::{ConflictKind, Error, Result};

/// Proof that a request carried a configured ingest key: what
/// [`Alerta::receive_alerts`] takes, so that nothing is received without one.
#[derive(Debug)]
pub struct IngestPass(());

/// What another tool says about one of its alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// It fires: one occurrence of the draft's fingerprint, folded into its open group.
    Firing(AlertDraft),
    /// Someone is on the group of this fingerprint.
    Acknowledged {
        /// The fingerprint whose group is acknowledged.
        fingerprint: Fingerprint,
        /// Why, if said.
        note: Option<Note>,
    },
    /// The group of this fingerprint is over.
    Resolved {
        /// The fingerprint whose group is resolved.
        fingerprint: Fingerprint,
        /// Why, if said.
        note: Option<Note>,
    },
}

/// What a delivery of [`Received`] alerts did: `{stored, acknowledged, resolved, ignored}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivedSummary {
    /// Occurrences stored.
    pub stored: usize,
    /// Groups acknowledged.
    pub acknowledged: usize,
    /// Groups resolved.
    pub resolved: usize,
    /// Acknowledgements and resolutions that found no group to change: no group of the
    /// fingerprint, or one already past that status.
    pub ignored: usize,
}

impl Alerta {
    /// Checks that `key` is one of the configured ingest keys.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] when no key was sent or it is not configured (with no keys
    /// configured, every key is refused).
    pub fn ingest_pass(&self, key: Option<&str>) -> Result<IngestPass> {
        match key {
            Some(key) if self.is_ingest_key(key) => Ok(IngestPass(())),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// Takes alerts from another tool, in order, as the holder of an ingest key (the actor
    /// of every change is `ingest`): firing ones are stored as occurrences into their groups
    /// (consecutive ones together, in batches the store commits atomically), and
    /// acknowledgements and resolutions change the group of their fingerprint when the
    /// lifecycle allows it, and are counted as ignored otherwise.
    pub async fn receive_alerts(
        &self,
        _pass: IngestPass,
        received: Vec<Received>,
    ) -> Result<ReceivedSummary> {
        let mut summary = ReceivedSummary::default();
        let batch = self.inner.storage.limits.max_alert_batch.max(1);
        let mut firing = Vec::new();
        for item in received {
            let action = match item {
                Received::Firing(draft) => {
                    firing.push(draft);
                    if firing.len() == batch {
                        summary.stored += self.store_firing(&mut firing).await?;
                    }
                    continue;
                }
                Received::Acknowledged { fingerprint, note } => {
                    (fingerprint, AlertAction::Acknowledge { note })
                }
                Received::Resolved { fingerprint, note } => {
                    (fingerprint, AlertAction::Resolve { note })
                }
            };
            summary.stored += self.store_firing(&mut firing).await?;
            let (fingerprint, action) = action;
            let acknowledges = matches!(action, AlertAction::Acknowledge { .. });
            match self.change_group(&fingerprint, action).await? {
                false => summary.ignored += 1,
                true if acknowledges => summary.acknowledged += 1,
                true => summary.resolved += 1,
            }
        }
        summary.stored += self.store_firing(&mut firing).await?;
        Ok(summary)
    }

    async fn store_firing(&self, drafts: &mut Vec<AlertDraft>) -> Result<usize> {
        if drafts.is_empty() {
            return Ok(0);
        }
        let drafts = std::mem::take(drafts);
        let count = drafts.len();
        self.ingest_alerts(drafts).await?;
        Ok(count)
    }

    /// Records `action` on the group of `fingerprint`; `false` when there is none or the
    /// lifecycle does not allow it from where the group stands.
    async fn change_group(&self, fingerprint: &Fingerprint, action: AlertAction) -> Result<bool> {
        let Some(group) = self.inner.storage.alerts.group_of(fingerprint).await? else {
            return Ok(false);
        };
        let actor = AlertSender::Ingest.actor();
        match self.record_alert(&group.id, &actor, action, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.conflict_kind() == Some(ConflictKind::InvalidTransition) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
