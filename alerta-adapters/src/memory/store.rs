use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use alerta_core::domain::{AccessChange, PasswordHash, UserFilter};
use alerta_core::domain::{
    Alert, AlertCounts, AlertEvent, AlertFilter, AlertId, AlertStatus, Attachment, AttachmentId,
    Cursor, Department, DepartmentName, Email, EventId, Fingerprint, Grouping, IdempotencyClaim,
    IdempotencyKey, IdempotencyRecord, Incident, IncidentCounts, IncidentEvent, IncidentFilter,
    IncidentId, MailId, MailState, Occurrences, OutboxMail, Page, PageRequest, Reservation,
    Session, Timestamp, TokenHash, UserId, UserRecord,
};
use alerta_core::domain::{Appended, Position, StreamEntry, StreamHead, StreamMessage};
use alerta_core::domain::{MailAbout, OutboxBacklog};
use alerta_core::ports::{
    AlertStore, AlertTransition, AlertWrite, DepartmentStore, EventQuery, FailureWindow,
    GroupedAlert, IdempotencyStore, IncidentChange, IncidentStore, Inserted, LoginAttemptStore,
    LoginKey, MailOutbox, ReportLedger, StorageBackend, StorageLimits, StreamLog, UserStore,
};
use alerta_core::{ConflictKind, Error, Result};
use async_trait::async_trait;

/// Every storage port in memory, behind one lock (silences, which no write shares with
/// another port, behind their own).
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    pub(super) silences: super::silences::Silences,
    pub(super) settings: Mutex<HashMap<String, String>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                log: Log {
                    epoch: new_epoch(),
                    ..Log::default()
                },
                ..State::default()
            }),
            silences: super::silences::Silences::default(),
            settings: Mutex::default(),
        }
    }
}

/// A number unlikely to be any other log's epoch: the clock's nanoseconds.
fn new_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64 / 1000)
}

/// The stream log: entries in position order, the head, and the epoch.
#[derive(Debug, Default)]
struct Log {
    epoch: u64,
    head: Position,
    entries: VecDeque<StreamEntry>,
}

impl Log {
    /// Appends `messages` at the next positions; called with every check of the write done,
    /// under the same lock, so a refused write takes no position.
    fn append(&mut self, messages: Vec<StreamMessage>) -> Appended {
        let first = self.head + 1;
        let count = messages.len() as u64;
        for message in messages {
            self.head += 1;
            self.entries.push_back(StreamEntry {
                position: self.head,
                message,
            });
        }
        Appended {
            epoch: self.epoch,
            first,
            count,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    log: Log,
    incidents: BTreeMap<IncidentId, Incident>,
    incident_of_alert: HashMap<AlertId, IncidentId>,
    events: BTreeMap<EventId, IncidentEvent>,
    attachments: BTreeMap<AttachmentId, Attachment>,
    alerts: BTreeMap<AlertId, Alert>,
    alert_events: BTreeMap<EventId, AlertEvent>,
    /// The group of each fingerprint.
    fingerprints: HashMap<Fingerprint, AlertId>,
    /// Each group's occurrences, by the id of the write that stored them.
    occurrences: HashMap<AlertId, BTreeMap<AlertId, Occurrences>>,
    /// The ids of every write of occurrences.
    occurrence_ids: HashSet<AlertId>,
    users: HashMap<UserId, UserRecord>,
    user_emails: HashMap<Email, UserId>,
    sessions: HashMap<TokenHash, Session>,
    departments: BTreeMap<DepartmentName, Department>,
    outbox: BTreeMap<MailId, OutboxMail>,
    /// Outbox rows whose server could not be reached.
    waiting_for_server: BTreeSet<MailId>,
    idempotency: IdempotencyRows,
    assignments: HashMap<EventId, LedgerRow>,
    logins: LoginWindows,
}

/// How many idempotency rows the store holds before it first sweeps out the records that aged
/// out.
const IDEMPOTENCY_ROWS_SWEPT_AT: usize = 10_000;

/// An idempotency key's state.
#[derive(Debug)]
enum IdempotencyRow {
    Reserved {
        operation: String,
        holder: String,
        lease_until: Timestamp,
    },
    Completed(IdempotencyRecord),
}

impl IdempotencyRow {
    fn held_by(&self, holder: &str) -> bool {
        matches!(self, Self::Reserved { holder: h, .. } if h == holder)
    }
}

/// Idempotency keys by owner and key.
#[derive(Debug)]
struct IdempotencyRows {
    rows: HashMap<(String, IdempotencyKey), IdempotencyRow>,
    /// The size at which aged-out records are swept next, as for failed logins.
    sweep_at: usize,
}

impl Default for IdempotencyRows {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
            sweep_at: IDEMPOTENCY_ROWS_SWEPT_AT,
        }
    }
}

impl IdempotencyRows {
    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Drops records that aged out and reservations whose lease ended.
    fn sweep(&mut self, now: Timestamp, max_age: Duration) {
        self.rows.retain(|_, row| match row {
            IdempotencyRow::Completed(record) => now < record.created_at.plus(max_age),
            IdempotencyRow::Reserved { lease_until, .. } => now < *lease_until,
        });
        self.sweep_at = (self.rows.len() * 2).max(IDEMPOTENCY_ROWS_SWEPT_AT);
    }
}

/// How many failed-login windows the store holds before it first sweeps out those that ended.
const LOGIN_WINDOWS_SWEPT_AT: usize = 10_000;

/// Failed-login windows by key.
#[derive(Debug)]
struct LoginWindows {
    windows: HashMap<LoginKey, FailureWindow>,
    /// The size at which ended windows are swept out next: twice what a sweep left, so that a
    /// flood of keys within one window costs a sweep per doubling, not one per failure.
    sweep_at: usize,
}

impl Default for LoginWindows {
    fn default() -> Self {
        Self {
            windows: HashMap::new(),
            sweep_at: LOGIN_WINDOWS_SWEPT_AT,
        }
    }
}

impl LoginWindows {
    fn count(&mut self, key: &LoginKey, now: Timestamp, window: Duration) -> FailureWindow {
        if self.windows.len() >= self.sweep_at {
            self.windows.retain(|_, w| w.is_open(now, window));
            self.sweep_at = (self.windows.len() * 2).max(LOGIN_WINDOWS_SWEPT_AT);
        }
        let fresh = FailureWindow {
            failures: 0,
            started_at: now,
            last_failed_at: now,
        };
        let current = self.windows.entry(key.clone()).or_insert(fresh);
        if !current.is_open(now, window) {
            *current = fresh;
        }
        current.failures += 1;
        current.last_failed_at = current.last_failed_at.max(now);
        *current
    }
}

#[derive(Debug)]
struct LedgerRow {
    holder: String,
    lease_until: Timestamp,
    done: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every write holds the one lock, however much it writes, and every read sees what the
/// writes before it left.
impl StorageBackend for MemoryStore {
    fn limits(&self) -> StorageLimits {
        StorageLimits::UNBOUNDED
    }
}

/// Cursors are the last id served, tagged so a cursor from another list is refused.
fn encode_cursor(id: &str) -> Cursor {
    Cursor::new(format!("m1.{id}"))
}

fn decode_cursor(cursor: &Cursor) -> Result<&str> {
    cursor
        .as_str()
        .strip_prefix("m1.")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::invalid("cursor", "this cursor was not made by this list"))
}

/// One page of `items`, which come newest first.
fn paginate<T, I>(items: I, page: &PageRequest, id_of: impl Fn(&T) -> &str) -> Result<Page<T>>
where
    I: Iterator<Item = T>,
{
    let after = page.cursor.as_ref().map(decode_cursor).transpose()?;
    let selected: Vec<T> = items
        .filter(|item| after.is_none_or(|after| id_of(item) < after))
        .take(page.limit.get() + 1)
        .collect();
    Ok(Page::from_overfetched(selected, page.limit, |last| {
        encode_cursor(id_of(last))
    }))
}

#[async_trait]
impl IncidentStore for MemoryStore {
    async fn commit(&self, change: IncidentChange) -> Result<Appended> {
        let mut state = self.lock();
        let stored = state.incidents.get(change.incident.id());
        match (change.expected_version, stored) {
            (None, Some(_)) => return Err(Error::duplicate("incident")),
            (Some(_), None) => return Err(Error::stale_version()),
            (Some(expected), Some(current)) if current.version() != expected => {
                return Err(Error::stale_version());
            }
            _ => {}
        }
        if change.expected_version.is_none()
            && let Some(alert) = change.incident.alert_id()
            && !state.alerts.contains_key(alert)
        {
            return Err(Error::NotFound("alert"));
        }
        if change.expected_version.is_none()
            && let Some(alert) = change.incident.alert_id()
            && state.incident_of_alert.contains_key(alert)
        {
            return Err(Error::conflict(
                ConflictKind::AlreadyLinked,
                "an incident was already opened from this alert",
            ));
        }
        // Check every id before writing anything, so a failed change leaves no trace.
        if change
            .events
            .iter()
            .any(|e| state.events.contains_key(&e.event_id))
        {
            return Err(Error::duplicate("event"));
        }
        if change
            .attachments
            .iter()
            .any(|a| state.attachments.contains_key(&a.attachment_id))
        {
            return Err(Error::duplicate("attachment"));
        }
        if change
            .mails
            .iter()
            .any(|m| state.outbox.contains_key(&m.id))
        {
            return Err(Error::duplicate("mail"));
        }
        let messages = change.stream_messages();
        if let Some(alert) = change.incident.alert_id() {
            state
                .incident_of_alert
                .insert(alert.clone(), change.incident.id().clone());
        }
        state
            .incidents
            .insert(change.incident.id().clone(), change.incident);
        for event in change.events {
            state.events.insert(event.event_id.clone(), event);
        }
        for attachment in change.attachments {
            state
                .attachments
                .insert(attachment.attachment_id.clone(), attachment);
        }
        for mail in change.mails {
            state.outbox.insert(mail.id.clone(), mail);
        }
        Ok(state.log.append(messages))
    }

    async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>> {
        Ok(self.lock().incidents.get(id).cloned())
    }

    async fn incidents(
        &self,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<Incident>> {
        let state = self.lock();
        let matching = state
            .incidents
            .values()
            .rev()
            .filter(|i| filter.matches(i))
            .cloned();
        paginate(matching, page, |i: &Incident| i.id().as_str())
    }

    async fn history(&self, id: &IncidentId) -> Result<Vec<IncidentEvent>> {
        Ok(self
            .lock()
            .events
            .values()
            .filter(|e| e.incident_id == *id)
            .cloned()
            .collect())
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<IncidentEvent>> {
        let state = self.lock();
        Ok(state
            .events
            .values()
            .filter(|e| query.after.as_ref().is_none_or(|after| e.event_id > *after))
            .filter(|e| query.kind.is_none_or(|k| e.change.kind() == k))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn attachments(&self, id: &IncidentId) -> Result<Vec<Attachment>> {
        Ok(self
            .lock()
            .attachments
            .values()
            .filter(|a| a.incident_id == *id)
            .cloned()
            .collect())
    }

    async fn attachment(
        &self,
        incident: &IncidentId,
        id: &AttachmentId,
    ) -> Result<Option<Attachment>> {
        Ok(self
            .lock()
            .attachments
            .get(id)
            .filter(|a| a.incident_id == *incident)
            .cloned())
    }

    async fn counts(&self) -> Result<IncidentCounts> {
        Ok(IncidentCounts::of(self.lock().incidents.values()))
    }

    async fn incident_for_alert(&self, alert: &AlertId) -> Result<Option<IncidentId>> {
        Ok(self.lock().incident_of_alert.get(alert).cloned())
    }

    async fn incidents_for_alerts(
        &self,
        alerts: &[AlertId],
    ) -> Result<HashMap<AlertId, IncidentId>> {
        let state = self.lock();
        Ok(alerts
            .iter()
            .filter_map(|alert| {
                let incident = state.incident_of_alert.get(alert)?;
                Some((alert.clone(), incident.clone()))
            })
            .collect())
    }
}

#[async_trait]
impl AlertStore for MemoryStore {
    async fn insert(&self, batch: Vec<AlertWrite>) -> Result<Inserted> {
        let mut state = self.lock();
        let mut alert_ids = HashSet::new();
        let mut mail_ids = HashSet::new();
        for write in &batch {
            let id = &write.alert.id;
            if state.alerts.contains_key(id)
                || state.occurrence_ids.contains(id)
                || !alert_ids.insert(id)
            {
                return Err(Error::duplicate("alert"));
            }
            for mail in &write.mails {
                if state.outbox.contains_key(&mail.id) || !mail_ids.insert(&mail.id) {
                    return Err(Error::duplicate("mail"));
                }
            }
        }
        // Nothing below can fail: the batch is applied whole, under the lock.
        let mut groups = Vec::with_capacity(batch.len());
        for write in batch {
            let fingerprint = write.alert.fingerprint();
            let stored = state
                .fingerprints
                .get(&fingerprint)
                .and_then(|id| state.alerts.get(id));
            let (alert, grouping) = match stored {
                Some(group) => group.recur(&write.alert),
                None => (write.alert.clone(), Grouping::Opened),
            };
            if grouping.is_mailed() {
                for mail in write.mails_for(&alert.id) {
                    state.outbox.insert(mail.id.clone(), mail);
                }
            }
            if let Grouping::Reopened(event) = &grouping {
                state
                    .alert_events
                    .insert(event.event_id.clone(), event.clone());
            }
            state.occurrence_ids.insert(write.alert.id.clone());
            state
                .occurrences
                .entry(alert.id.clone())
                .or_default()
                .insert(write.alert.id.clone(), Occurrences::of(&write.alert));
            state.fingerprints.insert(fingerprint, alert.id.clone());
            state.alerts.insert(alert.id.clone(), alert.clone());
            groups.push(GroupedAlert { alert, grouping });
        }
        let messages: Vec<StreamMessage> =
            groups.iter().map(GroupedAlert::stream_message).collect();
        Ok(Inserted {
            appended: state.log.append(messages.clone()),
            groups,
            messages,
        })
    }

    async fn transition(&self, change: AlertTransition) -> Result<Appended> {
        let mut state = self.lock();
        match state.alerts.get(&change.alert.id) {
            Some(stored) if stored.version() == change.expected_version => {}
            _ => return Err(Error::stale_version()),
        }
        if state.alert_events.contains_key(&change.event.event_id) {
            return Err(Error::duplicate("event"));
        }
        let mut mail_ids = BTreeSet::new();
        if change
            .mails
            .iter()
            .any(|m| state.outbox.contains_key(&m.id) || !mail_ids.insert(&m.id))
        {
            return Err(Error::duplicate("mail"));
        }
        let message = change.stream_message();
        for mail in change.mails {
            state.outbox.insert(mail.id.clone(), mail);
        }
        state
            .alert_events
            .insert(change.event.event_id.clone(), change.event);
        state.alerts.insert(change.alert.id.clone(), change.alert);
        Ok(state.log.append(vec![message]))
    }

    async fn alert(&self, id: &AlertId) -> Result<Option<Alert>> {
        Ok(self.lock().alerts.get(id).cloned())
    }

    async fn group_of(&self, fingerprint: &Fingerprint) -> Result<Option<Alert>> {
        let state = self.lock();
        Ok(state
            .fingerprints
            .get(fingerprint)
            .and_then(|id| state.alerts.get(id))
            .cloned())
    }

    async fn history(&self, id: &AlertId) -> Result<Vec<AlertEvent>> {
        let state = self.lock();
        Ok(state
            .alert_events
            .values()
            .filter(|e| e.alert_id == *id)
            .cloned()
            .collect())
    }

    async fn search(&self, filter: &AlertFilter, page: &PageRequest) -> Result<Page<Alert>> {
        let state = self.lock();
        let matching = state
            .alerts
            .values()
            .rev()
            .filter(|a| filter.matches(a))
            .cloned();
        paginate(matching, page, |a: &Alert| a.id.as_str())
    }

    async fn after<'a>(&self, after: Option<&'a AlertId>, limit: usize) -> Result<Vec<Alert>> {
        let state = self.lock();
        Ok(state
            .alerts
            .values()
            .filter(|a| after.is_none_or(|after| a.id > *after))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn counts(&self) -> Result<AlertCounts> {
        let state = self.lock();
        let mut counts = AlertCounts::new();
        for alert in state.alerts.values() {
            counts.add(alert);
        }
        Ok(counts)
    }

    async fn occurrences(&self, id: &AlertId, page: &PageRequest) -> Result<Page<Occurrences>> {
        let state = self.lock();
        let Some(occurrences) = state.occurrences.get(id) else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        paginate(
            occurrences.values().rev().cloned(),
            page,
            |o: &Occurrences| o.id.as_str(),
        )
    }

    async fn remove_resolved(&self, before: Timestamp, limit: usize) -> Result<usize> {
        let mut state = self.lock();
        // One lock holds the reads and the removals: no write comes between them.
        let mut old: Vec<(Timestamp, AlertId)> = state
            .alerts
            .values()
            .filter(|alert| {
                alert.status() == AlertStatus::Resolved
                    && alert.updated_at() < before
                    && alert.last_seen() < before
                    && !state.incident_of_alert.contains_key(&alert.id)
            })
            .map(|alert| (alert.updated_at(), alert.id.clone()))
            .collect();
        old.sort();
        old.truncate(limit);
        let removed: HashSet<AlertId> = old.into_iter().map(|(_, id)| id).collect();
        for id in &removed {
            if let Some(alert) = state.alerts.remove(id) {
                let fingerprint = alert.fingerprint();
                if state.fingerprints.get(&fingerprint) == Some(id) {
                    state.fingerprints.remove(&fingerprint);
                }
            }
            for occurrence in state.occurrences.remove(id).unwrap_or_default().into_keys() {
                state.occurrence_ids.remove(&occurrence);
            }
        }
        state
            .alert_events
            .retain(|_, event| !removed.contains(&event.alert_id));
        Ok(removed.len())
    }
}

#[async_trait]
impl StreamLog for MemoryStore {
    async fn head(&self) -> Result<StreamHead> {
        let state = self.lock();
        let log = &state.log;
        Ok(StreamHead {
            epoch: log.epoch,
            head: log.head,
            oldest: log.entries.front().map_or(log.head + 1, |e| e.position),
        })
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StreamEntry>> {
        let state = self.lock();
        let entries = &state.log.entries;
        let start = entries.partition_point(|e| e.position <= after);
        Ok(entries.range(start..).take(limit).cloned().collect())
    }

    async fn trim(&self, before: Timestamp) -> Result<u64> {
        let mut state = self.lock();
        let mut removed = 0;
        while state
            .log
            .entries
            .front()
            .is_some_and(|e| e.message.at < before)
        {
            state.log.entries.pop_front();
            removed += 1;
        }
        Ok(removed)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, record: &UserRecord) -> Result<()> {
        let mut state = self.lock();
        if state.user_emails.contains_key(&record.user.email)
            || state.users.contains_key(&record.user.id)
        {
            return Err(Error::duplicate("user"));
        }
        state
            .user_emails
            .insert(record.user.email.clone(), record.user.id.clone());
        state.users.insert(record.user.id.clone(), record.clone());
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let state = self.lock();
        Ok(state
            .user_emails
            .get(email)
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>> {
        Ok(self.lock().users.get(id).cloned())
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let mut state = self.lock();
        if state.sessions.contains_key(&session.token_hash) {
            return Err(Error::duplicate("session"));
        }
        state
            .sessions
            .insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, token: &TokenHash) -> Result<Option<Session>> {
        Ok(self.lock().sessions.get(token).cloned())
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<()> {
        self.lock().sessions.remove(token);
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state.sessions.retain(|_, s| s.expires_at >= now);
        Ok((before - state.sessions.len()) as u64)
    }

    async fn users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<UserRecord>> {
        let state = self.lock();
        let after = page.cursor.as_ref().map(|c| c.as_str()).unwrap_or("");
        let mut found: Vec<UserRecord> = state
            .users
            .values()
            .filter(|r| r.user.email.as_str() > after && filter.matches(r))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.user.email.as_str().cmp(b.user.email.as_str()));
        found.truncate(page.limit.get() + 1);
        Ok(Page::from_overfetched(found, page.limit, |r| {
            Cursor::new(r.user.email.as_str())
        }))
    }

    async fn active_admin_exists(&self) -> Result<bool> {
        Ok(self.lock().users.values().any(UserRecord::is_active_admin))
    }

    async fn change_access(&self, id: &UserId, change: AccessChange) -> Result<UserRecord> {
        let mut state = self.lock();
        let record = state.users.get(id).ok_or(Error::NotFound("user"))?;
        if change.removes_an_admin(record)
            && !state
                .users
                .values()
                .any(|other| other.user.id != *id && other.is_active_admin())
        {
            return Err(Error::last_admin());
        }
        let changed = change.applied_to(record);
        state.users.insert(id.clone(), changed.clone());
        Ok(changed)
    }

    async fn set_password_hash(&self, id: &UserId, hash: &PasswordHash) -> Result<()> {
        let mut state = self.lock();
        let record = state.users.get_mut(id).ok_or(Error::NotFound("user"))?;
        record.password_hash = hash.clone();
        Ok(())
    }

    async fn delete_sessions_of(&self, user: &UserId, keep: Option<TokenHash>) -> Result<u64> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|hash, s| s.user_id != *user || keep.as_ref() == Some(hash));
        Ok((before - state.sessions.len()) as u64)
    }
}

#[async_trait]
impl DepartmentStore for MemoryStore {
    async fn create_department(&self, department: &Department) -> Result<()> {
        let mut state = self.lock();
        if state.departments.contains_key(&department.name) {
            return Err(Error::duplicate("department"));
        }
        state
            .departments
            .insert(department.name.clone(), department.clone());
        Ok(())
    }

    async fn department(&self, name: &DepartmentName) -> Result<Option<Department>> {
        Ok(self.lock().departments.get(name).cloned())
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        Ok(self.lock().departments.values().cloned().collect())
    }

    async fn update_department(&self, department: &Department) -> Result<()> {
        let mut state = self.lock();
        let stored = state
            .departments
            .get_mut(&department.name)
            .ok_or(Error::NotFound("department"))?;
        *stored = department.clone();
        Ok(())
    }
}

#[async_trait]
impl MailOutbox for MemoryStore {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMail>> {
        let mut state = self.lock();
        let mut due: Vec<&OutboxMail> = state
            .outbox
            .values()
            .filter(|m| m.state == MailState::Pending && m.next_attempt_at <= now)
            .filter(|m| m.lease_until.is_none_or(|until| until <= now))
            .collect();
        due.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        let ids: Vec<MailId> = due.into_iter().take(limit).map(|m| m.id.clone()).collect();
        let until = now.plus(lease);
        let mut claimed = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(mail) = state.outbox.get_mut(id) {
                mail.lease_until = Some(until);
                claimed.push(mail.clone());
            }
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let mut state = self.lock();
        let mail = state.outbox.get_mut(id).ok_or(Error::NotFound("mail"))?;
        mail.state = MailState::Sent;
        mail.attempts += 1;
        mail.lease_until = None;
        mail.sent_at = Some(now);
        state.waiting_for_server.remove(id);
        Ok(())
    }

    async fn mark_all_sent(&self, ids: &[MailId], now: Timestamp) -> Result<()> {
        let mut state = self.lock();
        let mut unknown = false;
        for id in ids {
            let Some(mail) = state.outbox.get_mut(id) else {
                unknown = true;
                continue;
            };
            mail.state = MailState::Sent;
            mail.attempts += 1;
            mail.lease_until = None;
            mail.sent_at = Some(now);
            state.waiting_for_server.remove(id);
        }
        if unknown {
            return Err(Error::NotFound("mail"));
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let mut state = self.lock();
        let mail = state.outbox.get_mut(id).ok_or(Error::NotFound("mail"))?;
        mail.attempts += 1;
        mail.lease_until = None;
        mail.last_error = Some(error.to_owned());
        match retry_at {
            Some(at) => mail.next_attempt_at = at,
            None => mail.state = MailState::Dead,
        }
        state.waiting_for_server.remove(id);
        Ok(())
    }

    async fn mark_unreachable(&self, id: &MailId, error: &str, retry_at: Timestamp) -> Result<()> {
        let mut state = self.lock();
        let mail = state.outbox.get_mut(id).ok_or(Error::NotFound("mail"))?;
        mail.lease_until = None;
        mail.last_error = Some(error.to_owned());
        mail.next_attempt_at = retry_at;
        state.waiting_for_server.insert(id.clone());
        Ok(())
    }

    async fn release_unreachable(&self, now: Timestamp) -> Result<usize> {
        let mut state = self.lock();
        let State {
            outbox,
            waiting_for_server,
            ..
        } = &mut *state;
        let mut woken = 0;
        waiting_for_server.retain(|id| match outbox.get_mut(id) {
            Some(mail) if mail.state == MailState::Pending && mail.next_attempt_at > now => {
                mail.next_attempt_at = now;
                woken += 1;
                false
            }
            _ => true,
        });
        Ok(woken)
    }

    async fn mark_cancelled(&self, id: &MailId, reason: &str) -> Result<()> {
        let mut state = self.lock();
        let mail = state.outbox.get_mut(id).ok_or(Error::NotFound("mail"))?;
        mail.state = MailState::Cancelled;
        mail.lease_until = None;
        mail.last_error = Some(reason.to_owned());
        state.waiting_for_server.remove(id);
        Ok(())
    }

    async fn mails_about(&self, about: &MailAbout) -> Result<Vec<OutboxMail>> {
        Ok(self
            .lock()
            .outbox
            .values()
            .filter(|m| m.about() == Some(about))
            .cloned()
            .collect())
    }

    async fn requeue(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let mut state = self.lock();
        let mail = state.outbox.get_mut(id).ok_or(Error::NotFound("mail"))?;
        mail.state = MailState::Pending;
        mail.next_attempt_at = now;
        mail.lease_until = None;
        state.waiting_for_server.remove(id);
        Ok(())
    }

    async fn mail(&self, id: &MailId) -> Result<Option<OutboxMail>> {
        Ok(self.lock().outbox.get(id).cloned())
    }

    async fn mails(
        &self,
        state: Option<MailState>,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        let guard = self.lock();
        let matching = guard
            .outbox
            .values()
            .rev()
            .filter(|m| state.is_none_or(|s| m.state == s))
            .cloned();
        paginate(matching, page, |m: &OutboxMail| m.id.as_str())
    }

    async fn remove_settled(&self, before: Timestamp, limit: usize) -> Result<usize> {
        let mut state = self.lock();
        let mut aged: Vec<&OutboxMail> = state
            .outbox
            .values()
            .filter(|m| m.state.is_settled() && m.created_at < before)
            .collect();
        aged.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let doomed: Vec<MailId> = aged.iter().take(limit).map(|m| m.id.clone()).collect();
        for id in &doomed {
            state.outbox.remove(id);
        }
        Ok(doomed.len())
    }

    async fn backlog(&self) -> Result<OutboxBacklog> {
        let state = self.lock();
        let mut backlog = OutboxBacklog::default();
        for mail in state.outbox.values() {
            match mail.state {
                MailState::Pending => {
                    backlog.pending += 1;
                    backlog.oldest_pending = Some(
                        backlog
                            .oldest_pending
                            .map_or(mail.due_at, |t| t.min(mail.due_at)),
                    );
                }
                MailState::Dead => backlog.dead += 1,
                _ => {}
            }
        }
        Ok(backlog)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn reserve(&self, claim: &IdempotencyClaim) -> Result<Reservation> {
        let mut state = self.lock();
        let keys = &mut state.idempotency;
        if keys.len() >= keys.sweep_at {
            keys.sweep(claim.now, claim.max_age);
        }
        let slot = (claim.owner.clone(), claim.key.clone());
        if let Some(found) = keys.rows.get(&slot) {
            match found {
                IdempotencyRow::Completed(record) if !aged_out(record, claim) => {
                    return Ok(Reservation::Completed(record.clone()));
                }
                IdempotencyRow::Reserved {
                    operation,
                    lease_until,
                    ..
                } if *lease_until > claim.now => {
                    return Ok(Reservation::Pending {
                        operation: operation.clone(),
                        lease_until: *lease_until,
                    });
                }
                _ => {}
            }
        }
        keys.rows.insert(
            slot,
            IdempotencyRow::Reserved {
                operation: claim.operation.clone(),
                holder: claim.holder.clone(),
                lease_until: claim.lease_until(),
            },
        );
        Ok(Reservation::Reserved)
    }

    async fn complete(&self, record: &IdempotencyRecord, holder: &str) -> Result<bool> {
        let mut state = self.lock();
        let slot = (record.owner.clone(), record.key.clone());
        match state.idempotency.rows.get_mut(&slot) {
            Some(row @ IdempotencyRow::Reserved { .. }) if row.held_by(holder) => {
                *row = IdempotencyRow::Completed(record.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, owner: &str, key: &IdempotencyKey, holder: &str) -> Result<()> {
        let mut state = self.lock();
        let slot = (owner.to_owned(), key.clone());
        if state
            .idempotency
            .rows
            .get(&slot)
            .is_some_and(|row| row.held_by(holder))
        {
            state.idempotency.rows.remove(&slot);
        }
        Ok(())
    }

    async fn record(&self, owner: &str, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>> {
        Ok(
            match self
                .lock()
                .idempotency
                .rows
                .get(&(owner.to_owned(), key.clone()))
            {
                Some(IdempotencyRow::Completed(record)) => Some(record.clone()),
                _ => None,
            },
        )
    }
}

fn aged_out(record: &IdempotencyRecord, claim: &IdempotencyClaim) -> bool {
    record.created_at.plus(claim.max_age) <= claim.now
}

#[async_trait]
impl ReportLedger for MemoryStore {
    async fn claim_assignment(
        &self,
        event: &EventId,
        holder: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<bool> {
        let mut state = self.lock();
        let taken_elsewhere = state
            .assignments
            .get(event)
            .is_some_and(|row| row.done || (row.holder != holder && row.lease_until > now));
        if taken_elsewhere {
            return Ok(false);
        }
        state.assignments.insert(
            event.clone(),
            LedgerRow {
                holder: holder.to_owned(),
                lease_until: now.plus(lease),
                done: false,
            },
        );
        Ok(true)
    }

    async fn complete_assignment(
        &self,
        event: &EventId,
        holder: &str,
        mails: Vec<OutboxMail>,
        _now: Timestamp,
    ) -> Result<()> {
        let mut state = self.lock();
        let held = state
            .assignments
            .get(event)
            .is_some_and(|row| !row.done && row.holder == holder);
        if !held {
            return Err(Error::lease_lost());
        }
        if mails.iter().any(|m| state.outbox.contains_key(&m.id)) {
            return Err(Error::duplicate("mail"));
        }
        for mail in mails {
            state.outbox.insert(mail.id.clone(), mail);
        }
        if let Some(row) = state.assignments.get_mut(event) {
            row.done = true;
        }
        Ok(())
    }

    async fn processed_assignments(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        let state = self.lock();
        Ok(events
            .iter()
            .filter(|e| state.assignments.get(*e).is_some_and(|row| row.done))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl LoginAttemptStore for MemoryStore {
    async fn count_failure(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<FailureWindow> {
        Ok(self.lock().logins.count(key, now, window))
    }

    async fn open_window(
        &self,
        key: &LoginKey,
        now: Timestamp,
        window: Duration,
    ) -> Result<Option<FailureWindow>> {
        Ok(self
            .lock()
            .logins
            .windows
            .get(key)
            .copied()
            .filter(|w| w.is_open(now, window)))
    }

    async fn clear_failures(&self, key: &LoginKey) -> Result<()> {
        self.lock().logins.windows.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_login_windows_are_swept_out_and_open_ones_kept() {
        let mut logins = LoginWindows::default();
        let window = Duration::from_secs(60);
        let start = Timestamp::from_unix_millis(1_000_000);
        for n in 1..LOGIN_WINDOWS_SWEPT_AT {
            logins.count(&LoginKey::account(&format!("u{n}@x.edu")), start, window);
        }
        let later = start.plus(window);
        let open = LoginKey::account("open@x.edu");
        logins.count(&open, start.plus(window / 2), window);
        logins.count(&LoginKey::account("new@x.edu"), later, window);
        assert_eq!(
            logins.windows.len(),
            2,
            "only windows open at the sweep stay"
        );
        assert_eq!(logins.windows[&open].failures, 1);
        assert_eq!(logins.sweep_at, LOGIN_WINDOWS_SWEPT_AT);
    }

    #[test]
    fn a_flood_of_open_windows_is_swept_once_per_doubling() {
        let mut logins = LoginWindows::default();
        let window = Duration::from_secs(60);
        let start = Timestamp::from_unix_millis(1_000_000);
        for n in 0..=LOGIN_WINDOWS_SWEPT_AT {
            logins.count(&LoginKey::account(&format!("u{n}@x.edu")), start, window);
        }
        assert_eq!(logins.windows.len(), LOGIN_WINDOWS_SWEPT_AT + 1);
        assert_eq!(logins.sweep_at, 2 * LOGIN_WINDOWS_SWEPT_AT);
    }
}
