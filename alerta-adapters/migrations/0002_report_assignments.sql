-- Assignments the report job has processed, and which run holds each one while it works.
CREATE TABLE report_assignments (
    event_id    TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    done_at     INTEGER
) STRICT;
