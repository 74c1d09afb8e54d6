-- An account's lockout is measured from its latest failure. Rows counted before this column
-- existed have none, and are read as if their latest failure were their first.
ALTER TABLE login_failures ADD COLUMN last_failed_at INTEGER;

-- Idempotency keys are reserved before the write they guard runs: a row is first a
-- reservation (`response` NULL, `holder` the reserving request's token, `lease_until` when
-- another request may take it over), then the completed record (`response` set). Records
-- older than the configured age are deleted as keys are reserved, through the index on
-- `created_at`.
CREATE TABLE idempotency_reserved (
    owner       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    response    TEXT,
    holder      TEXT,
    lease_until INTEGER,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
) STRICT, WITHOUT ROWID;
INSERT INTO idempotency_reserved (owner, key, operation, response, created_at)
    SELECT owner, key, operation, response, created_at FROM idempotency;
DROP TABLE idempotency;
ALTER TABLE idempotency_reserved RENAME TO idempotency;
CREATE INDEX idempotency_created_at ON idempotency (created_at);
