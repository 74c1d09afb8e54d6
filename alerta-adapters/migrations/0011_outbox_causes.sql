-- Every outbox row says why it was written: which mail it is (`kind`: alert, reminder,
-- alert_resolved, incident_resolved, assignment, report) and what it is about (`about`:
-- `incident:<id>` or `alert:<id>`). Rows written before this step have neither. The index
-- answers "every mail of this incident" without reading the outbox.
ALTER TABLE outbox ADD COLUMN kind TEXT;
ALTER TABLE outbox ADD COLUMN about TEXT;
CREATE INDEX outbox_by_about ON outbox (about, id) WHERE about IS NOT NULL;
