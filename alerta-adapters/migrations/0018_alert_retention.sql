-- Retention removes resolved alert groups by when they last changed: this index holds only
-- resolved groups, in that order, so a run reads the old ones and nothing else. A resolved
-- group always has updated_at (its resolution wrote it).
CREATE INDEX alerts_resolved_by_change ON alerts (updated_at) WHERE status = 'resolved';
