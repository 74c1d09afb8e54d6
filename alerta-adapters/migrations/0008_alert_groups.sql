-- Alerts are grouped by fingerprint: an alert is the group of every occurrence of its
-- fingerprint, counting them (count, first_seen, last_seen), and each write of occurrences is
-- kept in alert_occurrences.
--
-- Alerts stored before this step each become a group of their own: count 1, first_seen and
-- last_seen their created_at (NULL reads as created_at), one occurrence row at created_at,
-- and the unique fingerprint 'legacy:<id>'. SQL cannot compute the default fingerprint (a
-- SHA-256 of source, severity and message), and a legacy value keeps each old alert whole:
-- a new occurrence of the same source, severity and message opens a new group rather than
-- changing an alert whose history was written before grouping existed.
ALTER TABLE alerts ADD COLUMN fingerprint TEXT;
ALTER TABLE alerts ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN first_seen INTEGER;
ALTER TABLE alerts ADD COLUMN last_seen INTEGER;
UPDATE alerts SET fingerprint = 'legacy:' || id WHERE fingerprint IS NULL;

-- One group per fingerprint: the mapping from a fingerprint to its alert.
CREATE UNIQUE INDEX alerts_by_fingerprint ON alerts (fingerprint);

-- The occurrences each write brought to a group, all arriving at `at`; `id` is the id of the
-- write, and sorts by time.
CREATE TABLE alert_occurrences (
    id       TEXT    NOT NULL PRIMARY KEY,
    alert_id TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    count    INTEGER NOT NULL
) STRICT;

CREATE INDEX alert_occurrences_by_alert ON alert_occurrences (alert_id, id);

INSERT INTO alert_occurrences (id, alert_id, at, count)
    SELECT id, id, created_at, 1 FROM alerts;
