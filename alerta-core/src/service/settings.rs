//! What a deployment configures about the use cases.

use std::fmt;
use std::time::Duration;

use super::LoginPolicy;
use crate::domain::{AckLinks, Email, MediaType, TypeCatalog};
use crate::escalation::EscalationPolicy;

/// Settings of the use cases. `Settings::default()` follows the wire contract's defaults.
#[derive(Clone)]
pub struct Settings {
    /// Accepted incident types.
    pub incident_types: TypeCatalog,
    /// Known campus locations, for `validate-location` and preview warnings. Empty: every
    /// location is accepted without suggestions.
    pub locations: Vec<String>,
    /// The largest attachment accepted, in bytes (10 MiB by default).
    pub attachment_max_bytes: u64,
    /// Attachment types accepted.
    pub attachment_types: Vec<MediaType>,
    /// How long a login lasts (12 h by default).
    pub session_ttl: Duration,
    /// Who gets `error` and `critical` alerts by mail. Empty: nobody.
    pub alert_recipients: Vec<Email>,
    /// Which mailed alerts are mailed again while nobody acknowledges them, when and to whom
    /// (off by default).
    pub escalation: EscalationPolicy,
    /// How alert mails carry a link that acknowledges the alert; `None`: they carry none
    /// (the default), and `/events/ack/{token}` refuses every token.
    pub ack_links: Option<AckLinks>,
    /// Keys that may ingest alerts without a login.
    pub ingest_keys: Vec<String>,
    /// How failed logins are limited, per account and per client address.
    pub login: LoginPolicy,
    /// Whether students see other people's incidents (without who reported them) in lists,
    /// by id and on the stream; `false`: a student sees only their own (true by default).
    pub public_incidents: bool,
    /// How long a request holds an idempotency key while its write runs (60 s by default):
    /// a request that dies holding it leaves it to be taken over after this.
    pub idempotency_lease: Duration,
    /// How long the first result of a write made with an idempotency key is kept and
    /// replayed (24 h by default); after that the key may be used afresh.
    pub idempotency_max_age: Duration,
    /// How long the stream log keeps a message for clients resuming with `since=` (7 days by
    /// default).
    pub stream_retention: Duration,
    /// How old the in-memory copy of the silences may get before ingestion reloads it from
    /// the store (2 s by default): a silence made or expired on another instance applies
    /// here within this time; one made here applies at once.
    pub silence_refresh: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            incident_types: TypeCatalog::default(),
            locations: [
                "Biblioteca",
                "Cafetería",
                "Auditorio",
                "Gimnasio",
                "Estacionamiento",
                "Laboratorio de Cómputo",
                "Pabellón A",
                "Pabellón B",
                "Aula 101",
                "Aula 102",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            attachment_max_bytes: 10 * 1024 * 1024,
            attachment_types: MediaType::ALL.to_vec(),
            session_ttl: Duration::from_secs(12 * 3600),
            alert_recipients: Vec::new(),
            escalation: EscalationPolicy::off(),
            ack_links: None,
            ingest_keys: Vec::new(),
            login: LoginPolicy::default(),
            stream_retention: Duration::from_secs(7 * 24 * 3600),
            public_incidents: true,
            idempotency_lease: Duration::from_secs(60),
            idempotency_max_age: Duration::from_secs(24 * 3600),
            silence_refresh: Duration::from_secs(2),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("incident_types", &self.incident_types)
            .field("locations", &self.locations)
            .field("attachment_max_bytes", &self.attachment_max_bytes)
            .field("attachment_types", &self.attachment_types)
            .field("session_ttl", &self.session_ttl)
            .field("alert_recipients", &self.alert_recipients)
            .field("escalation", &self.escalation)
            .field("ack_links", &self.ack_links)
            .field(
                "ingest_keys",
                &format_args!("[{} hidden]", self.ingest_keys.len()),
            )
            .field("login", &self.login)
            .field("stream_retention", &self.stream_retention)
            .field("public_incidents", &self.public_incidents)
            .field("idempotency_lease", &self.idempotency_lease)
            .field("idempotency_max_age", &self.idempotency_max_age)
            .field("silence_refresh", &self.silence_refresh)
            .finish()
    }
}
