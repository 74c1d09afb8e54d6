//! Ingesting and reading alerts.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;

use futures::{StreamExt, TryStreamExt};

use super::incidents::RETRIES_WITHOUT_VERSION;
use super::{Alerta, require_staff};
use crate::domain::{
    Alert, AlertAction, AlertCounts, AlertDraft, AlertEvent, AlertFilter, AlertId, AlertStatus,
    AlertWithIncident, Fingerprint, INGEST_ACTOR, IdempotencyKey, MailAbout, MailCause, MailId,
    MailKind, MailState, Note, Occurrences, OutboxMail, Page, PageRequest, User, UserId,
};
use crate::notifications;
use crate::ports::{AlertTransition, AlertWrite};
use crate::{ConflictKind, Error, Result};

/// How many of a batch's group reads for acknowledgement links run at once.
const ACK_TARGET_READS: usize = 16;

/// Who sent an alert: a logged-in user or a holder of an ingest key.
#[derive(Clone, Debug)]
pub enum AlertSender<'a> {
    /// A logged-in user of any role.
    User(&'a User),
    /// A holder of a configured ingest key, or an anonymous TCP client when no keys are set.
    Ingest,
}

impl AlertSender<'_> {
    fn owner(&self) -> &str {
        match self {
            Self::User(user) => user.id.as_str(),
            Self::Ingest => INGEST_ACTOR,
        }
    }

    pub(super) fn actor(&self) -> UserId {
        match self {
            Self::User(user) => user.id.clone(),
            Self::Ingest => UserId::parse(INGEST_ACTOR).expect("a valid user id"),
        }
    }
}

/// An acknowledgement or a resolution (`POST /events/{id}/ack`, `/resolve`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertChangeRequest {
    /// Why, if said.
    pub note: Option<Note>,
    /// The version the caller saw; when given, a stale one is refused.
    pub expected_version: Option<u64>,
}

impl Alerta {
    /// Stores alerts in one atomic step into their groups (one per fingerprint), with the
    /// mail that `error` and `critical` ones cause when they open or reopen a group, then
    /// broadcasts what changed. Returns, for each draft in the order given, its group as
    /// stored.
    ///
    /// This is the entry point of group commit: a transport collects concurrent alerts and
    /// stores them with one call. Drafts of one fingerprint in one call fold together into
    /// one write, so a batch touches each group once and sends one message per group.
    pub async fn ingest_alerts(&self, drafts: Vec<AlertDraft>) -> Result<Vec<Alert>> {
        let now = self.now();
        let recipients = &self.inner.settings.alert_recipients;
        // Which write each draft joins, and each write's first draft and occurrences.
        let mut joins = Vec::with_capacity(drafts.len());
        let mut firsts: Vec<(AlertDraft, u64)> = Vec::new();
        let mut by_fingerprint: HashMap<Fingerprint, usize> = HashMap::new();
        for mut draft in drafts {
            match by_fingerprint.entry(draft.fingerprint()) {
                Entry::Occupied(write) => {
                    firsts[*write.get()].1 += 1;
                    joins.push(*write.get());
                }
                Entry::Vacant(slot) => {
                    // The default fingerprint is a hash: the group keeps the one just made.
                    draft.fingerprint = Some(slot.key().clone());
                    slot.insert(firsts.len());
                    joins.push(firsts.len());
                    firsts.push((draft, 1));
                }
            }
        }
        let mut alerts = Vec::with_capacity(firsts.len());
        for (draft, occurrences) in firsts {
            let alert = Alert::open(AlertId::generate(self.ids()), draft, now, occurrences);
            alerts.push(self.apply_silences(alert).await);
        }
        // Each mailed write's link names the group it will join, read from the store; the
        // reads of a batch run side by side, so a burst of mailed alerts costs a few reads'
        // time rather than one per alert.
        // Collected first: the compiler cannot show a lazy map over borrowed alerts to be
        // `Send` for every lifetime, and this runs in spawned tasks.
        let reads: Vec<_> = alerts
            .iter()
            .map(|alert| self.mailed_ack_target(alert))
            .collect();
        let targets: Vec<Option<AlertId>> = futures::stream::iter(reads)
            .buffered(ACK_TARGET_READS)
            .try_collect()
            .await?;
        let mut writes = Vec::with_capacity(alerts.len());
        for (alert, acked) in alerts.into_iter().zip(targets) {
            let mails = match acked {
                Some(acked) => {
                    let link = self.ack_link(&acked, now);
                    let message =
                        notifications::alert_mail(&alert, recipients.clone(), link.as_deref());
                    let cause = MailCause::alert(MailKind::Alert, &alert.id);
                    let mut mails = vec![OutboxMail::new(
                        MailId::generate(self.ids()),
                        cause,
                        message,
                        now,
                    )];
                    // Reminders follow only an alert that is mailed: one that is not
                    // (silenced, say) gets none.
                    mails.extend(self.reminder_rows(&alert, &acked));
                    mails
                }
                None => vec![],
            };
            writes.push(AlertWrite { alert, mails });
        }
        let inserted = self.inner.storage.alerts.insert(writes).await?;
        self.publish(inserted.appended, inserted.messages).await;
        Ok(joins
            .into_iter()
            .map(|write| inserted.groups[write].alert.clone())
            .collect())
    }

    /// Stores one alert (`POST /events`), once per idempotency key.
    pub async fn report_alert(
        &self,
        sender: AlertSender<'_>,
        draft: AlertDraft,
        key: Option<&IdempotencyKey>,
    ) -> Result<Alert> {
        let write = async {
            let mut stored = self.ingest_alerts(vec![draft]).await?;
            Ok(stored.remove(0))
        };
        self.report_alert_with(sender, key, write).await
    }

    /// Stores one alert (`POST /events`) with `write`, once per idempotency key: `write` is
    /// how the caller stores it, for example through the group commit its other transports
    /// share (which ends in [`ingest_alerts`](Self::ingest_alerts)). It runs at most once
    /// per key; a retry with the same key gets the alert the first request stored.
    pub async fn report_alert_with<W>(
        &self,
        sender: AlertSender<'_>,
        key: Option<&IdempotencyKey>,
        write: W,
    ) -> Result<Alert>
    where
        W: Future<Output = Result<Alert>>,
    {
        self.idempotent(sender.owner(), key, "alert.create".into(), write)
            .await
    }

    /// A page of alerts, newest first (`GET /events`); any role.
    pub async fn search_alerts(
        &self,
        _actor: &User,
        filter: &AlertFilter,
        page: &PageRequest,
    ) -> Result<Page<Alert>> {
        self.inner.storage.alerts.search(filter, page).await
    }

    /// A page of alerts, newest first, each with the incident opened from it (`GET /events`);
    /// any role. The links of the whole page are read in one call to the incident store.
    pub async fn search_alerts_with_incidents(
        &self,
        actor: &User,
        filter: &AlertFilter,
        page: &PageRequest,
    ) -> Result<Page<AlertWithIncident>> {
        let page = self.search_alerts(actor, filter, page).await?;
        let ids: Vec<AlertId> = page.items.iter().map(|alert| alert.id.clone()).collect();
        let mut links = if ids.is_empty() {
            HashMap::new()
        } else {
            self.inner
                .storage
                .incidents
                .incidents_for_alerts(&ids)
                .await?
        };
        Ok(page.map(|alert| AlertWithIncident {
            incident_id: links.remove(&alert.id),
            alert,
        }))
    }

    /// Counts by severity and channel (`GET /events/stats`); any role.
    pub async fn alert_stats(&self, _actor: &User) -> Result<AlertCounts> {
        self.inner.storage.alerts.counts().await
    }

    /// One alert (`GET /events/{id}`); any role.
    pub async fn alert(&self, _actor: &User, id: &AlertId) -> Result<Alert> {
        self.load_alert(id).await
    }

    /// The status changes of an alert, oldest first (`GET /events/{id}/history`); any role,
    /// as the stream tells everyone the same changes.
    pub async fn alert_history(&self, _actor: &User, id: &AlertId) -> Result<Vec<AlertEvent>> {
        self.load_alert(id).await?;
        self.inner.storage.alerts.history(id).await
    }

    /// When the occurrences of an alert's group arrived, newest first
    /// (`GET /events/{id}/occurrences`); any role.
    pub async fn alert_occurrences(
        &self,
        _actor: &User,
        id: &AlertId,
        page: &PageRequest,
    ) -> Result<Page<Occurrences>> {
        self.load_alert(id).await?;
        self.inner.storage.alerts.occurrences(id, page).await
    }

    /// Says someone is on the alert (`POST /events/{id}/ack`); staff and admin.
    pub async fn acknowledge_alert(
        &self,
        actor: &User,
        id: &AlertId,
        request: AlertChangeRequest,
        key: Option<&IdempotencyKey>,
    ) -> Result<Alert> {
        require_staff(actor)?;
        let action = AlertAction::Acknowledge {
            note: request.note.clone(),
        };
        let operation = format!("alert.ack:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            self.record_alert(id, &actor.id, action, request.expected_version)
                .await
        })
        .await
    }

    /// Says the alert is over (`POST /events/{id}/resolve`, or a resolve line from a source);
    /// staff and admin, or the holder of an ingest key.
    pub async fn resolve_alert(
        &self,
        sender: AlertSender<'_>,
        id: &AlertId,
        request: AlertChangeRequest,
        key: Option<&IdempotencyKey>,
    ) -> Result<Alert> {
        if let AlertSender::User(user) = &sender {
            require_staff(user)?;
        }
        let action = AlertAction::Resolve {
            note: request.note.clone(),
        };
        let operation = format!("alert.resolve:{id}");
        self.idempotent(sender.owner(), key, operation, async {
            self.record_alert(id, &sender.actor(), action, request.expected_version)
                .await
        })
        .await
    }

    async fn load_alert(&self, id: &AlertId) -> Result<Alert> {
        self.inner
            .storage
            .alerts
            .alert(id)
            .await?
            .ok_or(Error::NotFound("alert"))
    }

    /// Records `action` by `actor` on the alert `id` ([`Alert::record`]) and commits it.
    ///
    /// Without an expected version, a change that lost a race with another is recorded again
    /// on the new state (where the lifecycle may now refuse it); with one, the race is the
    /// caller's to see (a stale version).
    pub(super) async fn record_alert(
        &self,
        id: &AlertId,
        actor: &UserId,
        action: AlertAction,
        expected_version: Option<u64>,
    ) -> Result<Alert> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = self.load_alert(id).await?;
            if expected_version.is_some_and(|v| v != current.version()) {
                return Err(Error::stale_version());
            }
            let (next, event) = current.record(action.clone(), actor, self.now(), self.ids())?;
            let mails = self.resolved_rows(&next, &event).await?;
            let change = AlertTransition {
                alert: next.clone(),
                expected_version: current.version(),
                event,
                mails,
            };
            let message = change.stream_message();
            match self.inner.storage.alerts.transition(change).await {
                Ok(appended) => {
                    self.publish(appended, vec![message]).await;
                    return Ok(next);
                }
                Err(e)
                    if e.conflict_kind() == Some(ConflictKind::StaleVersion)
                        && expected_version.is_none()
                        && attempts < RETRIES_WITHOUT_VERSION => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The alert a mail about the occurrences `alert` acknowledges: their fingerprint's
    /// group when one is stored (a write that reopens or unsilences a group mails about that
    /// group), else the group the write opens. Read only when links are made.
    ///
    /// A group opened and resolved by other writers between this read and the write leaves
    /// the link naming the write's own id, which the store then renames: such a link is
    /// refused as invalid, never acknowledging anything else.
    async fn ack_target(&self, alert: &Alert) -> Result<AlertId> {
        if self.inner.settings.ack_links.is_none() {
            return Ok(alert.id.clone());
        }
        let stored = self
            .inner
            .storage
            .alerts
            .group_of(&alert.fingerprint())
            .await?;
        Ok(stored.map_or_else(|| alert.id.clone(), |group| group.id))
    }

    /// For a new write that is mailed, the alert its mail acknowledges (see
    /// [`ack_target`](Self::ack_target)); `None` for one that is not mailed.
    async fn mailed_ack_target(&self, alert: &Alert) -> Result<Option<AlertId>> {
        let mailed = alert.severity.is_mailed()
            && !alert.silenced()
            && !self.inner.settings.alert_recipients.is_empty();
        if !mailed {
            return Ok(None);
        }
        self.ack_target(alert).await.map(Some)
    }

    /// The acknowledgement link of `alert` for a mail sent at `at`, when links are made.
    fn ack_link(&self, alert: &AlertId, at: crate::domain::Timestamp) -> Option<String> {
        self.inner
            .settings
            .ack_links
            .as_ref()
            .map(|links| links.link(alert, at))
    }

    /// The reminder rows of a new mailed alert under the escalation policy: each due at its
    /// time and sent only while the alert still fires (see
    /// [`MailCause::only_while_firing`]). None for a severity that does not escalate.
    fn reminder_rows(&self, alert: &Alert, acked: &AlertId) -> Vec<OutboxMail> {
        let settings = &self.inner.settings;
        if !settings.escalation.escalates(alert.severity) {
            return Vec::new();
        }
        settings
            .escalation
            .schedule(alert.created_at, &settings.alert_recipients)
            .iter()
            .map(|reminder| {
                let link = self.ack_link(acked, reminder.due);
                let message = notifications::reminder_mail(alert, reminder, link.as_deref());
                let cause = MailCause::alert(MailKind::Reminder, &alert.id);
                OutboxMail::new(
                    MailId::generate(self.ids()),
                    cause,
                    message,
                    alert.created_at,
                )
                .due_at(reminder.due)
            })
            .collect()
    }

    /// The `resolved` row of a change that resolves an alert that was mailed: to everyone
    /// its alert mail and its sent reminders went to. None for any other change, or for an
    /// alert whose mail was never going to anyone.
    async fn resolved_rows(&self, next: &Alert, event: &AlertEvent) -> Result<Vec<OutboxMail>> {
        if next.status() != AlertStatus::Resolved {
            return Ok(Vec::new());
        }
        let rows = self
            .inner
            .storage
            .outbox
            .mails_about(&MailAbout::Alert(next.id.clone()))
            .await?;
        let mut to = Vec::new();
        for row in &rows {
            let mailed = match row.kind() {
                Some(MailKind::Alert) => matches!(row.state, MailState::Pending | MailState::Sent),
                Some(MailKind::Reminder) => row.state == MailState::Sent,
                _ => false,
            };
            if mailed {
                for address in &row.message.to {
                    if !to.contains(address) {
                        to.push(address.clone());
                    }
                }
            }
        }
        if to.is_empty() {
            return Ok(Vec::new());
        }
        let message = notifications::alert_resolved_mail(next, event, to);
        let cause = MailCause::alert(MailKind::AlertResolved, &next.id);
        Ok(vec![OutboxMail::new(
            MailId::generate(self.ids()),
            cause,
            message,
            self.now(),
        )])
    }
}
