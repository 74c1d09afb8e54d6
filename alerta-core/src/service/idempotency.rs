//! Running a write once per idempotency key: the key is reserved before the write runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Alerta;
use crate::domain::{IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation};
use crate::{ConflictKind, Error, Result};

/// The first wait for a concurrent request with the same key; it doubles up to
/// [`LONGEST_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
const LONGEST_POLL: Duration = Duration::from_millis(250);

impl Alerta {
    /// Runs `write` once per `(owner, key)`: a repeat returns the first result.
    ///
    /// The key is reserved in the shared store before `write` runs, so of concurrent
    /// requests with one key exactly one writes; the others wait for its result (polling the
    /// store, so a request on another instance is waited for too) and return it. A write that
    /// fails releases the key, so a retry runs it again; a request that dies while holding
    /// the key leaves a reservation that a retry takes over once its lease ends.
    pub(super) async fn idempotent<T, F>(
        &self,
        owner: &str,
        key: Option<&IdempotencyKey>,
        operation: String,
        write: F,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T>>,
    {
        let Some(key) = key else {
            return write.await;
        };
        let store = &self.inner.storage.idempotency;
        let settings = &self.inner.settings;
        let holder = self.ids().next_id();
        let mut poll = FIRST_POLL;
        loop {
            let now = self.now();
            let claim = IdempotencyClaim {
                owner: owner.to_owned(),
                key: key.clone(),
                operation: operation.clone(),
                holder: holder.clone(),
                now,
                lease: settings.idempotency_lease,
                max_age: settings.idempotency_max_age,
            };
            match store.reserve(&claim).await? {
                Reservation::Reserved => break,
                Reservation::Completed(record) => return replay(record, &operation),
                Reservation::Pending {
                    operation: theirs,
                    lease_until,
                } => {
                    if theirs != operation {
                        return Err(key_reused());
                    }
                    // Never past the lease's end: then the key is taken over at once.
                    let until_lease_ends = lease_until.since(now) + Duration::from_millis(1);
                    pause(poll.min(until_lease_ends)).await;
                    poll = (poll * 2).min(LONGEST_POLL);
                }
            }
        }
        let result = match write.await {
            Ok(result) => result,
            Err(error) => {
                if let Err(release) = store.release(owner, key, &holder).await {
                    tracing::warn!(error = %release, "an idempotency key could not be released; it frees itself when its lease ends");
                }
                return Err(error);
            }
        };
        let response = serde_json::to_value(&result)
            .map_err(|e| Error::unavailable("idempotency record", e))?;
        let record = IdempotencyRecord {
            owner: owner.to_owned(),
            key: key.clone(),
            operation,
            response,
            created_at: self.now(),
        };
        // The write is done whatever happens to its record: answer with it.
        match store.complete(&record, &holder).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "a write outlived its idempotency lease and another request took the key over"
            ),
            Err(error) => tracing::warn!(%error, "an idempotency record could not be stored"),
        }
        Ok(result)
    }
}

fn key_reused() -> Error {
    Error::conflict(
        ConflictKind::IdempotencyKeyReused,
        "this Idempotency-Key was already used for another request",
    )
}

fn replay<T: DeserializeOwned>(record: IdempotencyRecord, operation: &str) -> Result<T> {
    if record.operation != operation {
        return Err(key_reused());
    }
    serde_json::from_value(record.response).map_err(|e| Error::unavailable("idempotency record", e))
}

/// Waits `duration` on whichever async runtime polls it (the core has none of its own): a
/// short-lived thread sleeps and wakes the task. Only requests that wait for a concurrent
/// one with the same key take this path.
fn pause(duration: Duration) -> Pause {
    Pause {
        duration,
        shared: Arc::default(),
        started: false,
    }
}

#[derive(Default)]
struct PauseState {
    done: bool,
    waker: Option<Waker>,
}

struct Pause {
    duration: Duration,
    shared: Arc<Mutex<PauseState>>,
    started: bool,
}

impl Future for Pause {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut state = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            if state.done {
                return Poll::Ready(());
            }
            state.waker = Some(cx.waker().clone());
        }
        if !self.started {
            self.started = true;
            let shared = Arc::clone(&self.shared);
            let duration = self.duration;
            std::thread::spawn(move || {
                std::thread::sleep(duration);
                let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
                state.done = true;
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
            });
        }
        Poll::Pending
    }
}
