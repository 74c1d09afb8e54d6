//! Every storage port on DynamoDB.
//!
//! [`DynamoStore`] serves the incident, alert, user, department, outbox, idempotency, report
//! ledger, stream log and failed-login ports, so that an incident change, its history, its
//! attachment metadata, the mail it causes, its stream messages and what it does to the
//! counts commit in one `TransactWriteItems` call:
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
//! | `Alertas` | `id` | `by_time` (`shard` → `id`), `by_resolution` (`resolved` → `updated_at`, resolved alerts only) |
//! | `CorreoSaliente` | `id` | `by_due` (`state` → `due`), `by_state` (`state` → `id`) |
//! | `Idempotencia` | `owner`, `clave` | (TTL on `expires_at`) |
//! | `AsignacionesProcesadas` | `event_id` | |
//! | `StreamLog` | `pk`, `sk` | |
//! | `IntentosFallidos` | `clave` | (TTL on `expires_at`) |
//! | `Contadores` | `nombre` | (also the named settings: `ajuste#<name>`, `valor`) |
//! | `Silencios` | `id` | |
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
//!   (or the alert filter's). See [Text search](#text-search) for what it costs.
//! - The counts behind the statistics are one item per kind (`incidentes`, `alertas`) in
//!   `Contadores`, changed by the writes; see [Counts](#counts).
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
//! - Failed logins are one item per key (`clave`: an account's hash or a client address) in
//!   `IntentosFallidos`, holding the window's `failures`, its start `started_at` and its
//!   latest failure `last_failed_at` (epoch milliseconds), shared by every instance; see
//!   [Failed logins](#failed-logins).
//! - The outbox's `due` is the row's `next_attempt_at` (20 digits) and id, so a dispatcher
//!   queries the `pending` partition of `by_due` up to "now" in due order, and leases each row
//!   with a conditional update (`state = pending`, due, and `lease_until` absent or past):
//!   two dispatchers never hold the same row.
//!
//! # Atomicity
//!
//! [`IncidentStore::commit`](alerta_core::ports::IncidentStore::commit) is one
//! `TransactWriteItems`: the incident put with a condition on `version`
//! (`attribute_not_exists` when new), every event, attachment and outbox row put with
//! `attribute_not_exists`, the change's stream messages (see below) and the update of the
//! counts, so a stale version or a duplicate id cancels all of it. DynamoDB takes at most
//! 100 items in one transaction; the stream counter, a segment and the counts take three, so
//! a change holds at most [`DynamoStore::MAX_CHANGE_ITEMS`] (97) items of its own, and a
//! larger one is refused as invalid.
//!
//! [`AlertStore::insert`](alerta_core::ports::AlertStore::insert) groups alerts by
//! fingerprint. It first reads, strongly consistent, the item of each fingerprint of the
//! batch (in `AlertasOcurrencias`, partition `fingerprint#<fingerprint>`, naming its alert)
//! and that alert, folds the batch into what it read, and writes in one transaction: a new
//! group's alert and its fingerprint item, both with `attribute_not_exists`; a stored group's
//! alert updated under the condition that its `version` is the one read; one occurrences item
//! per write under the group's id; the mail rows of writes that open or reopen a group; two
//! items for the stream log and one for the counts. When another writer opened one of the
//! fingerprints or changed one of the groups in between, a condition fails, and the batch is
//! read, planned and written again (for up to two minutes), so racing writers end with one group per
//! fingerprint and lose no occurrence. A write that opens a group with a mail row takes four
//! items, so a batch of up to [`DynamoStore::MAX_ALERT_BATCH`] (24) writes is one
//! transaction. A larger batch cannot be atomic on DynamoDB: it is written as consecutive
//! transactions of at most 100 items, the last of which also appends every message of the
//! batch to the stream log and adds the counts, and when one fails the parts already written
//! are taken back (new items deleted, updated alerts put back as they were read) before the
//! error is returned. The batch then ends all or nothing and takes positions only when it is
//! whole, but a reader may see part of it meanwhile, a crash between the parts leaves the
//! first ones stored without their messages, and a writer that folds into one of its groups
//! between the parts loses that fold when the batch is taken back. The store states both
//! numbers as its [`StorageLimits`]: the group commit keeps its batches at `max_alert_batch`
//! or fewer, so that each is atomic.
//!
//! [`AlertStore::remove_resolved`](alerta_core::ports::AlertStore::remove_resolved)
//! (retention) finds candidates in `by_resolution`, a sparse index: an alert has `resolved`
//! (its `shard`) only while it is resolved (a resolution sets it, a reopening removes it, and
//! bootstrap gives it to alerts resolved before the index existed), so reading each of its
//! four partitions oldest change first, up to the cutoff, reads old resolved alerts and
//! nothing else. What a run reads is the resolved alerts older than the cutoff: those it
//! removes, and those kept because an incident names them (read again every run). It
//! then reads each candidate again, strongly consistent, with its incident link (in
//! `IncidentesDeAlertas`) and its occurrences, and removes it in one transaction: the alert
//! (which holds its history) deleted under the condition that it is still `resolved` at the
//! `version` read, a condition check that no incident link exists, the fingerprint item
//! deleted if it names the group, the counts taken down, and the occurrences items deleted.
//! A lost condition means a fold, a reopening, a transition or a new incident came first, and
//! the group stays. A group with more occurrences than the transaction holds (96) writes a
//! marker item (`AlertasOcurrencias`, partition `retired#`, naming the group) with it and
//! deletes the rest right after, then the marker; every call first finishes what a marker
//! names, so a call interrupted in between leaves occurrences that no read reaches (their
//! group is gone, and no write adds to it) only until the next call. An insert that reads a
//! fingerprint item whose group was removed before it read the group reads the fingerprint
//! item again.
//!
//! # Counts
//!
//! `GET /stats`, `GET /staff/stats`, `GET /events/stats` and the global report read counts,
//! never a scan: one strongly consistent `GetItem` of the `incidentes` or `alertas` item of
//! `Contadores`. Each item holds one number per count, named by its path in the counts' JSON
//! form (`total`, `por_estado.pendiente`, `por_departamento.TI`, `by_severity.error`, ...).
//! Every write adds what it changes in the same transaction as the change, with `ADD`, so
//! the counts are exact as of the last commit: an incident change reads the stored incident
//! first (strongly consistent) and adds the difference between the two versions, which its
//! condition on `version` makes exact; an alert batch adds each alert; a write that changes
//! no count (a comment, an attachment) leaves the item alone and takes no room in its
//! transaction. A count back at zero is left out when read, as counting from scratch would
//! leave it. [`bootstrap`](DynamoStore::bootstrap) makes an item that is missing by counting
//! its table once, which starts the counts of a deployment that kept none; it is exact when
//! no writer runs during that scan.
//!
//! # Text search
//!
//! `q` has no index: it filters the items the other filters select, after DynamoDB has read
//! them. A page therefore reads (and bills) every item of the chosen partitions, newest first,
//! until it has found a page of matches or reached the end, one request per page size of
//! items read: a common word costs a request or two, a word found in one incident of 100,000
//! reads all 100,000, some 2,000 requests one after the other for pages of 50. Search stays
//! quick while the incidents or alerts the other filters select number in the thousands;
//! beyond that, narrowing by status, department, reporter or `since` keeps it quick, and
//! search over everything wants an engine beside the store (OpenSearch, fed from the
//! stream), which this adapter does not provide.
//!
//! # Failed logins
//!
//! [`LoginAttemptStore::count_failure`](alerta_core::ports::LoginAttemptStore::count_failure)
//! is a few conditional `UpdateItem` calls at most, each atomic on the key's item, so
//! concurrent failures from any number of instances are each counted once:
//!
//! 1. `ADD failures 1 SET last_failed_at = now` on condition that `started_at` is after the
//!    end of the window counted back from now (the window is open) and `last_failed_at` is
//!    not after now; the item as updated is the answer. A missing item fails the condition
//!    too. When only the second part failed (a failure stamped later by another instance's
//!    clock was counted first), `ADD failures 1` alone, on condition that the window is open
//!    and `last_failed_at` is after now, so the latest failure time never moves back.
//! 2. Otherwise `SET failures = 1, started_at = now, last_failed_at = now, expires_at = ...`
//!    on condition that the item is missing or its window has ended. When that condition fails, another instance
//!    started a window in between, and the store goes back to step 1, a few times at most.
//!
//! `expires_at` is the window's end in epoch seconds, rounded up, and the table's TTL
//! attribute: DynamoDB deletes ended windows by itself, so the table holds about the keys
//! that failed within one window length. Its sweeper runs late (often by days), so reads
//! judge a window by `started_at` alone, strongly consistent, and treat an ended one as
//! absent.
//!
//! # Stream log
//!
//! The [`StreamLog`](alerta_core::ports::StreamLog) lives in the `StreamLog` table, as two
//! kinds of items:
//!
//! - The **counter** (`pk` = `sk` = `counter`) holds the last position taken (`position`) and
//!   the log's `epoch`: a random number of at least 1 and below 2^53 (exact in JavaScript),
//!   made once with a conditional put by [`bootstrap`](DynamoStore::bootstrap), or by the
//!   first write or read that finds no counter. A store reads it once and keeps it; should
//!   the table be made anew under a running store, the store fails rather than mix two logs.
//! - A **segment** per write (`pk` = `segment`, `sk` = its last position, zero-padded to 20
//!   digits so text order is number order) holds every message the write appended, as the
//!   text of [`StreamMessage::to_record`](alerta_core::domain::StreamMessage::to_record) in
//!   the list `records`, with its `first` position, the first position of its write
//!   (`write_first`), and the latest `at` of the write in epoch milliseconds (`latest`). One
//!   segment per write keeps a full group commit at two items more than the alerts and the
//!   counts need.
//!
//! A write that appends messages reads the counter (strongly consistent) and adds two items
//! to its transaction: an update of the counter from that position to the position plus the
//! number of messages, on condition that it still holds that position, and the put of the
//! segment. Positions are thus taken inside the atomic write, in commit order, with no hole:
//! a cancelled transaction takes none. When only the counter's condition failed (another
//! writer committed first), or only transactions in flight on the same items got in the way,
//! the store reads the counter again and tries again after a short random pause, up to 50
//! times; the caller never sees that race as a conflict. When the condition of the change
//! itself failed, the caller gets `stale_version` or `duplicate` as always. Each attempt
//! carries an idempotency token (`ClientRequestToken`) made from everything the write stores
//! and the position it expects, so a retry by the SDK after an ambiguous failure cannot apply
//! the write twice. A write without messages leaves the counter alone.
//!
//! Reading after position `p` is one strongly consistent query of the `segment` partition for
//! sort keys from `p + 1` on: the first segment it returns is the one holding `p + 1`. The
//! head is the counter, the oldest position the first segment's write's first position.
//! Trimming deletes whole writes whose `latest` is before the cut, oldest first, and stops at
//! the first younger one; the counter stays, so positions go on counting. No TTL is set on
//! segments: DynamoDB's TTL deletes items late and in any order, which would open holes
//! inside the log rather than shorten it from its start.
//!
//! A segment item is held under DynamoDB's 400 KB per item: when a write's messages take more
//! than about 380 KB (24 alerts of 4,000 characters outside the Latin alphabets can), they are
//! split over several segments of the same write, in order, each an item of the same
//! transaction, and the batch is not refused. Such a write needs more items than a full group
//! commit leaves room for, so an alert batch then goes as consecutive transactions as above.
//! DynamoDB may show a query some items of a transaction being committed before others, so a
//! read stops at a position missing inside a write (the rest of it shows a moment later),
//! while positions missing before the start of a write were trimmed, as every earlier write
//! committed before it began; trimming deletes the segments of one write last first, so that
//! what an interrupted trim leaves is never mistaken for a write in progress. A write whose
//! messages take more than 2 MB, more than a transaction carries beside what they announce,
//! is refused as invalid.
//!
//! The counter is one item that every write updates: DynamoDB takes about 1,000 writes a
//! second on one item, and transactions racing for it are tried again, so the stream's
//! write rate, in transactions, is bounded by that for the whole deployment. Group commit
//! keeps it far from alerts' rate by writing up to [`DynamoStore::MAX_ALERT_BATCH`] alerts
//! per transaction.
//!
//! The two counts items are hot items too, under the same bound: every alert batch updates
//! `alertas`, every incident change that moves a count updates `incidentes`, each in the
//! transaction that already updates the stream counter, so they add no transactions of their
//! own. They do add a conflict: two transactions in flight on one counts item cancel each
//! other, and the store tries them again as it does for the stream counter. Each counts item
//! grows with the number of distinct types and departments (a few bytes each, far from the
//! 400 KB item limit), and a transactional write of an item is billed by its size, so a
//! counts item of a few KB costs a few write units per change.

mod alerts;
mod bootstrap;
mod counts;
mod cursor;
mod error;
mod idempotency;
mod incidents;
mod item;
mod keyed;
mod logins;
mod outbox;
mod query;
mod records;
mod reports;
mod settings;
mod silences;
mod stream;
mod transaction;
mod users;

use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};

use alerta_core::ports::{StorageBackend, StorageLimits};
use aws_sdk_dynamodb::Client;

/// The table names a [`DynamoStore`] uses.
///
/// The defaults are the names of the original system (`Users`, `Tokens`, `Incidentes`,
/// `IncidenteEventos`, `Departamentos`) plus `Adjuntos`, `Alertas`, `CorreoSaliente`,
/// `AlertasOcurrencias`, `Idempotencia`, `AsignacionesProcesadas`, `StreamLog`,
/// `IntentosFallidos`, `Contadores`, `IncidentesDeAlertas` and `Silencios`, with no prefix.
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
    /// Each alert's occurrences, under its id, and the item that points from each fingerprint
    /// to its alert (`AlertasOcurrencias`).
    pub alert_occurrences: String,
    /// The mail outbox (`CorreoSaliente`).
    pub outbox: String,
    /// First results of writes made with an idempotency key (`Idempotencia`).
    pub idempotency: String,
    /// Which assignments the report job has processed (`AsignacionesProcesadas`).
    pub report_ledger: String,
    /// The stream log: its counter and its segments (`StreamLog`).
    pub stream_log: String,
    /// Failed logins per account and client address, with a TTL (`IntentosFallidos`).
    pub login_failures: String,
    /// The counts of incidents and alerts, kept by the writes (`Contadores`).
    pub counters: String,
    /// Which incident was opened from which alert, one item per alert
    /// (`IncidentesDeAlertas`).
    pub alert_incidents: String,
    /// Silences (`Silencios`).
    pub silences: String,
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
            alert_occurrences: "AlertasOcurrencias".into(),
            outbox: "CorreoSaliente".into(),
            idempotency: "Idempotencia".into(),
            report_ledger: "AsignacionesProcesadas".into(),
            stream_log: "StreamLog".into(),
            login_failures: "IntentosFallidos".into(),
            counters: "Contadores".into(),
            alert_incidents: "IncidentesDeAlertas".into(),
            silences: "Silencios".into(),
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
            alert_occurrences: full(&self.alert_occurrences),
            outbox: full(&self.outbox),
            idempotency: full(&self.idempotency),
            report_ledger: full(&self.report_ledger),
            stream_log: full(&self.stream_log),
            login_failures: full(&self.login_failures),
            counters: full(&self.counters),
            alert_incidents: full(&self.alert_incidents),
            silences: full(&self.silences),
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
    alert_occurrences: String,
    outbox: String,
    idempotency: String,
    report_ledger: String,
    stream_log: String,
    login_failures: String,
    counters: String,
    alert_incidents: String,
    silences: String,
}

/// The items a write that appends to the stream log and changes the counts takes beside its
/// own: the stream counter, one segment and one counts item.
const WRITE_OVERHEAD: usize = 3;

/// Every storage port on DynamoDB tables. Cloning is cheap and shares the client.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: DynamoTables,
    names: Names,
    /// The stream log's epoch, once read: it never changes under a running store.
    epoch: Arc<OnceLock<u64>>,
    /// How many more attempts to take stream positions are to expect a stale counter.
    injected_conflicts: Arc<AtomicU32>,
}

impl DynamoStore {
    /// The most writes, each with its mail row, that
    /// [`AlertStore::insert`](alerta_core::ports::AlertStore::insert) stores in one
    /// transaction beside the stream counter, one segment and the counts: at most four items
    /// per write (a new group's alert, its fingerprint item, its occurrences and its mail
    /// row; a fold takes two), three more, within DynamoDB's 100. A group commit of at most
    /// this many is atomic; the store states it as its
    /// [`max_alert_batch`](alerta_core::ports::StorageLimits::max_alert_batch).
    pub const MAX_ALERT_BATCH: usize = (transaction::MAX_ITEMS - WRITE_OVERHEAD) / 4;

    /// The most items (the incident, its events, attachments and mail rows) that
    /// [`IncidentStore::commit`](alerta_core::ports::IncidentStore::commit) stores in one
    /// transaction beside the stream counter, one segment and the counts; the store states it
    /// as its [`max_change_items`](alerta_core::ports::StorageLimits::max_change_items). A
    /// change whose stream messages need more than one segment (over about 380 KB) holds
    /// fewer.
    pub const MAX_CHANGE_ITEMS: usize = transaction::MAX_ITEMS - WRITE_OVERHEAD;

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
            epoch: Arc::default(),
            injected_conflicts: Arc::default(),
        }
    }

    /// The table names this store uses.
    pub fn tables(&self) -> &DynamoTables {
        &self.tables
    }

    /// Makes the next `attempts` attempts to take stream positions, by this store and its
    /// clones, expect a counter value that is out of date, as if another writer had just
    /// taken the positions: the counter condition fails and the write tries again. DynamoDB
    /// emulators run one transaction at a time, so this is how tests reach that path.
    /// Returns how many injected conflicts were still to come before the call.
    #[doc(hidden)]
    pub fn inject_counter_conflicts(&self, attempts: u32) -> u32 {
        self.injected_conflicts
            .fetch_add(attempts, std::sync::atomic::Ordering::SeqCst)
    }
}

/// Lists read global secondary indexes, which DynamoDB keeps eventually consistent.
impl StorageBackend for DynamoStore {
    fn limits(&self) -> StorageLimits {
        StorageLimits::UNBOUNDED
            .with_max_alert_batch(Self::MAX_ALERT_BATCH)
            .with_max_change_items(Self::MAX_CHANGE_ITEMS)
            .with_consistent_lists(false)
    }
}
