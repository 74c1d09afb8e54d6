//! The outbox's backlog as gauges: `alerta_outbox_rows{state}` (pending, dead) and
//! `alerta_outbox_oldest_pending_seconds`, read from the store every `every`.
//!
//! They describe the deployment, not this instance (every instance shares the outbox), so
//! each instance reports the same figures under its own `instance` label: aggregate them
//! with `max without (instance)`, never `sum`.

use std::time::Duration;

use alerta_core::Alerta;
use tokio::sync::watch;

/// Samples the backlog now and then every `every` until `stop` turns true.
pub async fn sample(app: Alerta, every: Duration, stop: watch::Receiver<bool>) {
    let now = tokio::time::Instant::now();
    crate::periodic::every(now, every, stop, || read(&app)).await;
}

async fn read(app: &Alerta) {
    match app.outbox_backlog().await {
        Ok(backlog) => {
            ::metrics::gauge!("alerta_outbox_rows", "state" => "pending")
                .set(backlog.pending as f64);
            ::metrics::gauge!("alerta_outbox_rows", "state" => "dead").set(backlog.dead as f64);
            let age = backlog
                .oldest_pending
                .map_or(Duration::ZERO, |oldest| app.clock().now().since(oldest));
            ::metrics::gauge!("alerta_outbox_oldest_pending_seconds").set(age.as_secs_f64());
        }
        Err(error) => tracing::warn!(%error, "reading the outbox backlog"),
    }
}
