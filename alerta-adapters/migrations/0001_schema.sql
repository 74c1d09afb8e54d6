-- The whole schema of the SQLite store.
--
-- Times are integer milliseconds since the Unix epoch. Ids are text that sorts by creation
-- time, so every list orders by id. `search` columns hold the searchable fields lower-cased
-- in Rust (SQLite only folds ASCII), one per line; a search needle has no line breaks, so it
-- never matches across two fields.

CREATE TABLE incidents (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    urgency     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    department  TEXT,
    reported_by TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    version     INTEGER NOT NULL,
    search      TEXT    NOT NULL
) STRICT;

CREATE INDEX incidents_by_status      ON incidents (status, id);
CREATE INDEX incidents_by_kind        ON incidents (kind, id);
CREATE INDEX incidents_by_urgency     ON incidents (urgency, id);
CREATE INDEX incidents_by_department  ON incidents (department, id);
CREATE INDEX incidents_by_reporter    ON incidents (reported_by, id);

-- `change` is the serde JSON of the event's `Change` (`{"tipo_evento", "detalle"}`);
-- `kind` repeats its `tipo_evento` so that the report job can find assignments by index.
CREATE TABLE incident_events (
    id          TEXT    NOT NULL PRIMARY KEY,
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    kind        TEXT    NOT NULL,
    change      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);
CREATE INDEX incident_events_by_kind     ON incident_events (kind, id);

CREATE TABLE attachments (
    id           TEXT    NOT NULL PRIMARY KEY,
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX attachments_by_incident ON attachments (incident_id, id);

CREATE TABLE alerts (
    id         TEXT    NOT NULL PRIMARY KEY,
    source     TEXT    NOT NULL,
    severity   TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    search     TEXT    NOT NULL
) STRICT;

CREATE INDEX alerts_by_severity ON alerts (severity, id);
CREATE INDEX alerts_by_source   ON alerts (source, id);
CREATE INDEX alerts_by_channel  ON alerts (channel, id);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- No foreign key to users: a session names its user, and the user store's contract does not
-- make creating a session depend on the user existing.
CREATE TABLE sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE departments (
    name  TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL
) STRICT;

-- `message` is the serde JSON of the `MailMessage`.
CREATE TABLE outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    message_id      TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

CREATE INDEX outbox_due      ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_by_state ON outbox (state, id);

-- `response` is the JSON of the first result.
CREATE TABLE idempotency (
    owner      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    operation  TEXT    NOT NULL,
    response   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
) STRICT, WITHOUT ROWID;
