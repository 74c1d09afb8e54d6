-- When each mail row was first due: its creation, or later for a reminder made with its
-- alert. How long mail has waited (the backlog's age, giving up while the server is away)
-- counts from here, so a reminder is not old when it first goes.
ALTER TABLE outbox ADD COLUMN due_at INTEGER;

-- A row never tried is due at its next attempt; one already tried was due when it was
-- written, as far as these rows can tell.
UPDATE outbox
SET due_at = CASE
    WHEN attempts = 0 AND last_error IS NULL THEN MAX(created_at, next_attempt_at)
    ELSE created_at
END;
