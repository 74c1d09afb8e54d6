//! What `GET /health` and `GET /ready` check: every backend the profile uses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alerta_adapters::websocket::Hub;
use alerta_core::ports::DynMailer;
use alerta_core::{Alerta, Error};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How long a mail server's answer is reused: asking it opens a connection.
const MAIL_ANSWER_KEPT: Duration = Duration::from_secs(10);

/// Probes the store and the blob store; either failing fails the check, and the reply names
/// which one.
pub async fn check(app: &Alerta) -> alerta_core::Result<()> {
    // A point lookup by key: it touches the backend without scanning anything.
    let probe = alerta_core::domain::UserId::parse("health-probe")?;
    let (store, blobs) = tokio::join!(app.storage().users.user_by_id(&probe), app.blobs().check());
    store.map_err(|e| renamed("store", e))?;
    blobs.map_err(|e| renamed("blob store", e))?;
    Ok(())
}

/// Keeps the source for the log, and says in the reply which backend failed.
fn renamed(what: &'static str, error: Error) -> Error {
    match error {
        Error::Unavailable { source, .. } => Error::Unavailable { what, source },
        other => Error::unavailable(what, other),
    }
}

/// The mail server's last answer, asked again once it is older than [`MAIL_ANSWER_KEPT`].
pub struct MailProbe {
    mailer: Arc<DynMailer>,
    last: Mutex<Option<(Instant, &'static str)>>,
}

impl MailProbe {
    /// Probes `mailer`.
    pub fn new(mailer: Arc<DynMailer>) -> Self {
        Self {
            mailer,
            last: Mutex::new(None),
        }
    }

    /// `ok` or `unreachable`. Mail waits in the outbox while its server is away, so this is
    /// reported, never a failure of the check.
    pub async fn state(&self) -> &'static str {
        let mut last = self.last.lock().await;
        if let Some((at, state)) = *last
            && at.elapsed() < MAIL_ANSWER_KEPT
        {
            return state;
        }
        let state = match self.mailer.reachable().await {
            Ok(()) => "ok",
            Err(error) => {
                tracing::warn!(%error, "the mail server does not answer");
                "unreachable"
            }
        };
        *last = Some((Instant::now(), state));
        state
    }
}

/// The fields a healthy `/health` adds: the stream's head, the broker when there is one,
/// and the mail server.
pub async fn details(hub: &Hub, mail: &MailProbe) -> Value {
    let mut details = json!({ "stream": { "head": hub.head() }, "mail": mail.state().await });
    // A broker that does not answer slows the stream down to the log's polling but loses
    // nothing, so it is reported, not a failure.
    if let Some(healthy) = hub.broker_healthy().await {
        details["broker"] = json!(if healthy { "ok" } else { "unreachable" });
    }
    details
}
