//! The retention task: removes settled mail rows older than `ALERTA_RETAIN_MAIL` and resolved
//! alert groups older than `ALERTA_RETAIN_ALERTS`, every `ALERTA_RETAIN_EVERY`, in bounded
//! batches. Several instances may run it at once: each
//! removal is a conditional delete, so they only share the work.

use std::time::Duration;

use alerta_core::{Alerta, Retention};
use tokio::sync::watch;

/// Runs retention now and then every `every` until `stop` turns true.
pub async fn schedule(
    app: Alerta,
    retention: Retention,
    every: Duration,
    stop: watch::Receiver<bool>,
) {
    let now = tokio::time::Instant::now();
    crate::periodic::every(now, every, stop, || run(&app, &retention)).await;
}

async fn run(app: &Alerta, retention: &Retention) {
    match app.apply_retention(retention).await {
        Ok(report) => {
            ::metrics::counter!("alerta_retention_removed_total", "kind" => "mail")
                .increment(report.mail_rows as u64);
            ::metrics::counter!("alerta_retention_removed_total", "kind" => "alerts")
                .increment(report.alerts as u64);
            if report.mail_rows > 0 || report.alerts > 0 {
                tracing::info!(
                    mail_rows = report.mail_rows,
                    alerts = report.alerts,
                    more_left = report.more_left,
                    "retention removed settled mail rows and resolved alerts"
                );
            }
        }
        Err(error) => {
            ::metrics::counter!("alerta_retention_failures_total").increment(1);
            tracing::warn!(%error, "retention run failed; the next run tries again");
        }
    }
}
