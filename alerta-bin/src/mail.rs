//! Where mail goes, and the task that empties the outbox.

use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::smtp::{EmlFileMailer, SmtpMailer, SmtpOptions};
use alerta_core::dispatch::{DispatchTotals, Dispatcher, RetryPolicy};
use alerta_core::domain::Email;
use alerta_core::domain::StreamBatch;
use alerta_core::ports::{
    Broadcaster, DynAlertStore, DynBroadcaster, DynMailOutbox, DynMailer, SystemClock,
};
use anyhow::Context;
use tokio::sync::{Notify, watch};

use crate::config::Config;

/// How long the dispatcher waits when nothing woke it: the bound on the delay of rows that
/// became due with no commit (a retry, a reminder) and of mail committed elsewhere whose
/// stream message this instance did not see.
const IDLE: Duration = Duration::from_millis(500);

/// Passes every committed batch on, and wakes the mail dispatcher: mail is only written in
/// the same commit as a stream message, so a commit is when new mail may be due.
pub struct WakingBroadcaster {
    inner: Arc<DynBroadcaster>,
    wake: Arc<Notify>,
}

impl WakingBroadcaster {
    /// Wraps `inner`; `wake` is notified after each publish.
    pub fn new(inner: Arc<DynBroadcaster>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }
}

#[async_trait::async_trait]
impl Broadcaster for WakingBroadcaster {
    async fn publish(&self, batch: &StreamBatch) -> alerta_core::Result<()> {
        // Woken first: a failed publish does not undo the commit, or its mail.
        self.wake.notify_one();
        self.inner.publish(batch).await
    }
}

/// Wakes the dispatcher whenever the stream's head moves, until `stop` turns true. The head
/// moves for commits of other instances too (at once with a broker, within the hub's poll of
/// the log without one), so mail another instance committed goes out from here as quickly
/// as from there, whichever dispatcher claims it first.
pub async fn wake_on_stream(
    mut head: watch::Receiver<u64>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            changed = head.changed() => match changed {
                Ok(()) => wake.notify_one(),
                Err(_) => return,
            },
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// The mailer the configuration asks for: SMTP when `smtp_url` is set, otherwise `.eml` files
/// under `<data_dir>/mail`.
pub fn mailer(config: &Config) -> anyhow::Result<Arc<DynMailer>> {
    let from = config
        .mail_from
        .as_deref()
        .map(Email::parse)
        .transpose()
        .context("mail_from")?;
    match &config.smtp_url {
        Some(url) => {
            let options = SmtpOptions {
                from,
                ca_file: config.smtp_ca_file.clone(),
                // One open connection for each mail the dispatcher sends at once.
                max_connections: config.mail_concurrency,
                ..SmtpOptions::default()
            };
            let mailer = SmtpMailer::from_url(url.expose(), options).context("smtp_url")?;
            tracing::info!(smtp = %mailer.describe(), "mail goes to an SMTP server");
            Ok(Arc::new(mailer))
        }
        None => {
            let dir = config.data_dir.join("mail");
            let mut mailer = EmlFileMailer::new(&dir);
            if let Some(from) = &from {
                mailer = mailer.with_from(from)?;
            }
            tracing::info!(dir = %dir.display(), "mail is written as .eml files");
            Ok(Arc::new(mailer))
        }
    }
}

/// How many rows a pass claims for each mail sent at once: claiming is a durable write, and
/// a batch this deep keeps every connection busy between two claims.
const BATCH_PER_SEND: usize = 8;

/// The retry policy the configuration asks for.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    RetryPolicy {
        base_delay: config.mail_retry_base,
        concurrency: config.mail_concurrency,
        batch_size: config
            .mail_concurrency
            .saturating_mul(BATCH_PER_SEND)
            .max(RetryPolicy::default().batch_size),
        unreachable_retry: config.mail_unreachable_retry,
        ..RetryPolicy::default()
    }
}

/// Delivers the outbox until `stop` turns true, passing again as soon as `wake` is notified
/// (a commit) or after [`IDLE`]. Rows whose send is cut short by the stop are claimed again
/// once their lease ends, by this process after a restart or by another one. Reminders are
/// checked against `alerts` before they go. What each pass did is added to `totals`.
pub async fn dispatch(
    outbox: Arc<DynMailOutbox>,
    alerts: Arc<DynAlertStore>,
    mailer: Arc<DynMailer>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    totals: Arc<DispatchTotals>,
    mut stop: watch::Receiver<bool>,
) {
    let dispatcher = Dispatcher::new(outbox, alerts, mailer, Arc::new(SystemClock), policy)
        .counting_into(totals);
    let idle_or_woken = |idle| {
        let wake = wake.clone();
        async move {
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                () = wake.notified() => {}
            }
        }
    };
    tokio::select! {
        _ = dispatcher.run(IDLE, idle_or_woken) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}

#[cfg(test)]
mod tests {
    use alerta_adapters::memory::RecordingBroadcaster;

    use super::*;

    #[tokio::test]
    async fn a_commit_wakes_the_dispatcher_and_reaches_the_stream() {
        let recorded = Arc::new(RecordingBroadcaster::new());
        let wake = Arc::new(Notify::new());
        let broadcaster = WakingBroadcaster::new(recorded.clone(), wake.clone());
        let batch = StreamBatch {
            epoch: 1,
            first: 1,
            messages: Vec::new(),
        };
        broadcaster.publish(&batch).await.unwrap();
        // The permit stored by the publish makes this wait end at once; without it the
        // test would hang until its timeout.
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("woken by the commit");
        assert_eq!(recorded.batches().len(), 1);
    }

    #[tokio::test]
    async fn a_moving_stream_head_wakes_the_dispatcher_until_stopped() {
        let (head, changes) = watch::channel(0u64);
        let (stop, stopping) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(wake_on_stream(changes, wake.clone(), stopping));
        // Another instance's commit reaches this hub's tail as a new head.
        head.send_replace(7);
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("woken by the head moving");
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops when told")
            .expect("no panic");
    }
}
