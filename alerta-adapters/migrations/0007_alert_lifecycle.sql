-- Alerts have a lifecycle: firing -> acknowledged -> resolved (and firing again), versioned for
-- optimistic concurrency. Alerts stored before this step are firing at version 1 and last
-- changed when they were stored (updated_at NULL reads as created_at).
ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'firing';
ALTER TABLE alerts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN updated_at INTEGER;

-- Each alert's status changes, written in the same transaction as the change.
CREATE TABLE alert_events (
    id          TEXT    NOT NULL PRIMARY KEY,
    alert_id    TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);
