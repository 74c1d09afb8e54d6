-- Silences: admin-made rules that keep matching alerts from being mailed for a while. The
-- matchers are the JSON array the wire shows; times are epoch milliseconds, compared when a
-- list filters by state and when a silence is expired.
CREATE TABLE silences (
    id         TEXT    NOT NULL PRIMARY KEY,
    matchers   TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    comment    TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Whether a silence was active and matched the alert when it was stored; alerts stored
-- before silences existed were not silenced.
ALTER TABLE alerts ADD COLUMN silenced INTEGER NOT NULL DEFAULT 0;
