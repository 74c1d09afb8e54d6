use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use alerta_core::domain::{OutboxMail, StreamBatch, StreamMessage};
use alerta_core::ports::{Broadcaster, Mailer, SendError};
use alerta_core::{Error, Result};
use async_trait::async_trait;

/// A broadcaster that keeps every message it is given, and fails when told to.
#[derive(Debug, Default)]
pub struct RecordingBroadcaster {
    batches: Mutex<Vec<StreamBatch>>,
    failing: AtomicBool,
}

impl RecordingBroadcaster {
    /// One that records and succeeds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later publish fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The batches published so far, in order.
    pub fn batches(&self) -> Vec<StreamBatch> {
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The messages published so far, in order.
    pub fn messages(&self) -> Vec<StreamMessage> {
        self.batches()
            .into_iter()
            .flat_map(|batch| batch.messages)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the recording broadcaster was told to fail")]
struct ToldToFail;

#[async_trait]
impl Broadcaster for RecordingBroadcaster {
    async fn publish(&self, batch: &StreamBatch) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::unavailable("broadcaster", ToldToFail));
        }
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(batch.clone());
        Ok(())
    }
}

/// How a [`RecordingMailer`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailerMode {
    /// Records and succeeds.
    Ok,
    /// Fails as a server that cannot be reached would (connection refused).
    Unreachable,
    /// Fails as a temporary failure would (4xx).
    Temporary,
    /// Fails as a permanent failure would (5xx).
    Permanent,
}

/// A mailer that keeps every message it sends, and fails when told to.
#[derive(Debug)]
pub struct RecordingMailer {
    sent: Mutex<Vec<OutboxMail>>,
    mode: Mutex<MailerMode>,
}

impl RecordingMailer {
    /// One that records and succeeds.
    pub fn new_ok() -> Self {
        Self::with_mode(MailerMode::Ok)
    }

    /// One that answers as `mode` says.
    pub fn with_mode(mode: MailerMode) -> Self {
        Self {
            sent: Mutex::new(Vec::new()),
            mode: Mutex::new(mode),
        }
    }

    /// Changes how later sends answer.
    pub fn set_mode(&self, mode: MailerMode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// The mail sent so far, in order.
    pub fn sent(&self) -> Vec<OutboxMail> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let mode = *self.mode.lock().unwrap_or_else(|e| e.into_inner());
        match mode {
            MailerMode::Ok => {
                self.sent
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(mail.clone());
                Ok(())
            }
            MailerMode::Unreachable => {
                Err(SendError::Unreachable("connection refused, as told".into()))
            }
            MailerMode::Temporary => Err(SendError::Temporary("421 told to fail".into())),
            MailerMode::Permanent => Err(SendError::Permanent("550 told to fail".into())),
        }
    }
}
