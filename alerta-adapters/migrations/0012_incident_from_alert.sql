-- An incident can be opened from an alert; each alert has at most one, which the unique index
-- holds even against two instances opening one at once. Incidents stored before this step
-- were all reported, so they name no alert.
ALTER TABLE incidents ADD COLUMN alert_id TEXT;
CREATE UNIQUE INDEX incidents_by_alert ON incidents (alert_id) WHERE alert_id IS NOT NULL;
