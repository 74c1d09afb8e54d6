//! Ingesting and reading alerts.

use super::Alerta;
use crate::Result;
use crate::domain::{
    Alert, AlertCounts, AlertDraft, AlertFilter, AlertId, IdempotencyKey, MailId, OutboxMail, Page,
    PageRequest, StreamMessage, User,
};
use crate::notifications;
use crate::ports::AlertWrite;

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
            Self::Ingest => "ingest",
        }
    }
}

impl Alerta {
    /// Stores alerts in one atomic step, with the mail that `error` and `critical` ones cause,
    /// then broadcasts them. Returns them in the order given.
    ///
    /// This is the entry point of group commit: a transport collects concurrent alerts and
    /// stores them with one call.
    pub async fn ingest_alerts(&self, drafts: Vec<AlertDraft>) -> Result<Vec<Alert>> {
        let now = self.now();
        let recipients = &self.inner.settings.alert_recipients;
        let mut writes = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let alert = Alert {
                id: AlertId::generate(self.ids()),
                source: draft.source,
                severity: draft.severity,
                message: draft.message,
                channel: draft.channel,
                created_at: now,
            };
            let mails = if alert.severity.is_mailed() && !recipients.is_empty() {
                let message = notifications::alert_mail(&alert, recipients.clone());
                vec![OutboxMail::new(MailId::generate(self.ids()), message, now)]
            } else {
                vec![]
            };
            writes.push(AlertWrite { alert, mails });
        }
        let alerts: Vec<Alert> = writes.iter().map(|w| w.alert.clone()).collect();
        let messages: Vec<StreamMessage> = writes.iter().map(AlertWrite::stream_message).collect();
        let appended = self.inner.storage.alerts.insert(writes).await?;
        self.publish(appended, messages).await;
        Ok(alerts)
    }

    /// Stores one alert (`POST /events`), once per idempotency key.
    pub async fn report_alert(
        &self,
        sender: AlertSender<'_>,
        draft: AlertDraft,
        key: Option<&IdempotencyKey>,
    ) -> Result<Alert> {
        self.idempotent(sender.owner(), key, "alert.create".into(), async {
            let mut stored = self.ingest_alerts(vec![draft]).await?;
            Ok(stored.remove(0))
        })
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

    /// Counts by severity and channel (`GET /events/stats`); any role.
    pub async fn alert_stats(&self, _actor: &User) -> Result<AlertCounts> {
        self.inner.storage.alerts.counts().await
    }
}
