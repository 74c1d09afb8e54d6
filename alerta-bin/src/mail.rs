//! Where mail goes, and the task that empties the outbox.

use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::smtp::{EmlFileMailer, SmtpMailer, SmtpOptions};
use alerta_core::dispatch::{Dispatcher, RetryPolicy};
use alerta_core::domain::Email;
use alerta_core::ports::{DynMailOutbox, DynMailer, SystemClock};
use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;

/// How long the dispatcher waits when the outbox is empty: the delay of a new mail.
const IDLE: Duration = Duration::from_millis(500);

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

/// The retry policy the configuration asks for.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    RetryPolicy {
        base_delay: config.mail_retry_base,
        unreachable_retry: config.mail_unreachable_retry,
        ..RetryPolicy::default()
    }
}

/// Delivers the outbox until `stop` turns true. Rows whose send is cut short by the stop are
/// claimed again once their lease ends, by this process after a restart or by another one.
pub async fn dispatch(
    outbox: Arc<DynMailOutbox>,
    mailer: Arc<DynMailer>,
    policy: RetryPolicy,
    mut stop: watch::Receiver<bool>,
) {
    let dispatcher = Dispatcher::new(outbox, mailer, Arc::new(SystemClock), policy);
    tokio::select! {
        _ = dispatcher.run(IDLE, tokio::time::sleep) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}
