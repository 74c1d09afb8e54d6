-- Failed logins per key (an account's hash or a client address), in fixed windows: every
-- instance on this file counts into the same rows. Windows that ended are deleted as failures
-- are counted, through the index on their start.
CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    started_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_started_at ON login_failures (started_at);
