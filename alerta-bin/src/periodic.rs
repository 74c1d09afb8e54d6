//! The loop every background task of the binary shares: run, wait, run again, until told to
//! stop.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

/// Runs `task` at `first` and then every `every` until `stop` turns true. A run is never
/// cut short by the stop, and a run that overruns delays the next one instead of bunching
/// runs up.
pub async fn every<F, Fut>(
    first: Instant,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut task: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(first, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        task().await;
    }
}
