//! Every storage port on DynamoDB.
//!
//! [`DynamoStore`] serves the incident, alert, user, department, outbox, idempotency and
//! report ledger ports, so that an incident change, its history, its attachment metadata and
//! the mail it causes commit in one `TransactWriteItems` call:
//!
//! ```no_run
//! # async fn run() -> alerta_core::Result<()> {
//! use std::sync::Arc;
//! use alerta_adapters::dynamodb::{DynamoStore, DynamoTables};
//! use alerta_core::ports::Storage;
//!
//! // Region, credentials and endpoint come from the standard AWS environment
//! // (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, profiles, ...).
//! let store = DynamoStore::from_env(DynamoTables::default()).await;
//! store.bootstrap().await?; // creates whatever tables are missing
//! let storage = Storage::from_backend(Arc::new(store));
//! # Ok(()) }
//! ```
//!
//! # Tables
//!
//! Every key attribute is a string. The names are those of [`DynamoTables`], each behind its
//! `prefix`. Global secondary indexes project every attribute.
//!
//! | table (default name) | key | global secondary indexes (partition → sort) |
//! |---|---|---|
//! | `Incidentes` | `incident_id` | `by_reporter` (`reportado_por` → `incident_id`), `by_department` (`departamento` → `incident_id`), `by_status` (`estado` → `incident_id`) |
//! | `IncidenteEventos` | `incident_id`, `event_id` | `by_kind` (`tipo_evento` → `event_id`) |
//! | `Adjuntos` | `incident_id`, `attachment_id` | |
//! | `Users` | `user_id` | |
//! | `Tokens` | `token_hash` | (TTL on `expires_at`) |
//! | `Departamentos` | `nombre` | |
//! | `Alertas` | `id` | `by_time` (`shard` → `id`) |
//! | `CorreoSaliente` | `id` | `by_due` (`state` → `due`), `by_state` (`state` → `id`) |
//! | `Idempotencia` | `owner`, `clave` | |
//! | `AsignacionesProcesadas` | `event_id` | |
//!
//! Items keep the wire names of the original system (`tipo`, `descripcion`, `ubicacion`,
//! `urgencia`, `estado`, `departamento`, `reportado_por`, `tipo_evento`, `detalle`, ...), and
//! times as RFC 3339 text as on the wire, except where the store compares times in a
//! condition: the outbox's `next_attempt_at` and `lease_until` are epoch milliseconds, and a
//! session's `expires_at` is epoch seconds (rounded up, so the TTL sweeper never removes a
//! session early) beside the exact `expires_at_ms`. An absent value (`departamento` before an
//! assignment, `resolved_at`, `lease_until`, ...) is an absent attribute, which also keeps
//! the indexes on it sparse.
//!
//! Why the keys are what they are:
//!
//! - Ids sort by creation time, so every list is a query on an index whose sort key is an id,
//!   read backwards for "newest first". A cursor is the last id served (base64url, tagged with
//!   its list) and the next page is a key condition `id < cursor`, so a write between pages
//!   neither repeats nor skips anything.
//! - A list with no partition to start from reads a few partitions and merges them by id:
//!   all incidents are the three `estado` partitions of `by_status`; all events across
//!   incidents are the five `tipo_evento` partitions of `by_kind` (so the report job reads
//!   only the `asignacion` one); all mail rows are the three `state` partitions of
//!   `by_state`. Alerts, written much faster, are spread over four `shard` partitions (a hash
//!   of the id) of `by_time`, so no single partition takes every write.
//! - Filters the chosen index does not key on are filter expressions. Text search (`q`) is a
//!   `contains` on the `search` attribute, which holds the searched fields lower-cased and
//!   joined by line breaks; `q` cannot hold a line break, so a match never spans two fields
//!   and the result is exactly [`IncidentFilter::matches`](alerta_core::domain::IncidentFilter::matches)
//!   (or the alert filter's).
//! - History and attachments are keyed by their incident, so reading them is a strongly
//!   consistent query, right after the change that wrote them. Lists read through global
//!   secondary indexes are eventually consistent on DynamoDB (an emulator shows every write
//!   at once): a list may lag a write by a moment, a read by id never does.
//! - A user's email is unique through a guard item in `Users` (`user_id` = `email#<email>`,
//!   holding the owner's id), written in the same transaction as the user; ids cannot contain
//!   `#`, so the two never meet. Looking a user up by email reads the guard, then the user,
//!   both strongly consistent.
//! - The report job's ledger holds one item per `asignacion` event it took: a run leases it
//!   with a conditional update (not `done`, and its own or an expired lease), and marks it
//!   `done` in the same transaction as the department's mail, under the condition that it
//!   still holds it.
//! - The outbox's `due` is the row's `next_attempt_at` (20 digits) and id, so a dispatcher
//!   queries the `pending` partition of `by_due` up to "now" in due order, and leases each row
//!   with a conditional update (`state = pending`, due, and `lease_until` absent or past):
//!   two dispatchers never hold the same row.
//!
//! # Atomicity
//!
//! [`IncidentStore::commit`](alerta_core::ports::IncidentStore::commit) is one
//! `TransactWriteItems`: the incident put with a condition on `version`
//! (`attribute_not_exists` when new), and every event, attachment and outbox row put with
//! `attribute_not_exists`, so a stale version or a duplicate id cancels all of it. A change
//! of more than 100 items (DynamoDB's limit for one transaction) is refused as invalid.
//!
//! [`AlertStore::insert`](alerta_core::ports::AlertStore::insert) writes a batch of up to 100
//! items (alerts plus their mail rows) in one transaction. A larger batch cannot be atomic on
//! DynamoDB: it is written as consecutive transactions of at most 100 items (an alert always
//! with its mail rows), and when one fails the parts already written are deleted again before
//! the error is returned. The batch then ends all or nothing, but a reader may see part of it
//! meanwhile, and a crash between the parts leaves the first ones stored. A group-commit
//! transport that needs strict atomicity keeps its batches at 100 items or fewer.

mod alerts;
mod bootstrap;
mod cursor;
mod error;
mod idempotency;
mod incidents;
mod item;
mod outbox;
mod query;
mod reports;
mod transaction;
mod users;

use aws_sdk_dynamodb::Client;

/// The table names a [`DynamoStore`] uses.
///
/// The defaults are the names of the original system (`Users`, `Tokens`, `Incidentes`,
/// `IncidenteEventos`, `Departamentos`) plus `Adjuntos`, `Alertas`, `CorreoSaliente`,
/// `Idempotencia` and `AsignacionesProcesadas`, with no prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamoTables {
    /// Put before every name, e.g. `staging-` or a fresh value per test.
    pub prefix: String,
    /// Accounts and the email guards that keep emails unique (`Users`).
    pub users: String,
    /// Sessions, by token hash, with a TTL (`Tokens`).
    pub tokens: String,
    /// Incidents (`Incidentes`).
    pub incidents: String,
    /// Incident history (`IncidenteEventos`).
    pub events: String,
    /// Attachment metadata (`Adjuntos`).
    pub attachments: String,
    /// The department catalog (`Departamentos`).
    pub departments: String,
    /// Alerts (`Alertas`).
    pub alerts: String,
    /// The mail outbox (`CorreoSaliente`).
    pub outbox: String,
    /// First results of writes made with an idempotency key (`Idempotencia`).
    pub idempotency: String,
    /// Which assignments the report job has processed (`AsignacionesProcesadas`).
    pub report_ledger: String,
}

impl Default for DynamoTables {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            users: "Users".into(),
            tokens: "Tokens".into(),
            incidents: "Incidentes".into(),
            events: "IncidenteEventos".into(),
            attachments: "Adjuntos".into(),
            departments: "Departamentos".into(),
            alerts: "Alertas".into(),
            outbox: "CorreoSaliente".into(),
            idempotency: "Idempotencia".into(),
            report_ledger: "AsignacionesProcesadas".into(),
        }
    }
}

impl DynamoTables {
    /// The default names behind `prefix`.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            ..Self::default()
        }
    }

    fn resolve(&self) -> Names {
        let full = |name: &str| format!("{}{name}", self.prefix);
        Names {
            users: full(&self.users),
            tokens: full(&self.tokens),
            incidents: full(&self.incidents),
            events: full(&self.events),
            attachments: full(&self.attachments),
            departments: full(&self.departments),
            alerts: full(&self.alerts),
            outbox: full(&self.outbox),
            idempotency: full(&self.idempotency),
            report_ledger: full(&self.report_ledger),
        }
    }
}

/// The full table names, prefix included.
#[derive(Clone, Debug)]
struct Names {
    users: String,
    tokens: String,
    incidents: String,
    events: String,
    attachments: String,
    departments: String,
    alerts: String,
    outbox: String,
    idempotency: String,
    report_ledger: String,
}

/// Every storage port on DynamoDB tables. Cloning is cheap and shares the client.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: DynamoTables,
    names: Names,
}

impl DynamoStore {
    /// A store configured from the standard AWS environment: `AWS_REGION`,
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB`), credentials from the environment,
    /// profiles or the instance role.
    pub async fn from_env(tables: DynamoTables) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_sdk_config(&config, tables)
    }

    /// A store using an already loaded AWS configuration.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, tables: DynamoTables) -> Self {
        Self::from_client(Client::new(config), tables)
    }

    /// A store using a ready DynamoDB client.
    pub fn from_client(client: Client, tables: DynamoTables) -> Self {
        let names = tables.resolve();
        Self {
            client,
            tables,
            names,
        }
    }

    /// The table names this store uses.
    pub fn tables(&self) -> &DynamoTables {
        &self.tables
    }
}
