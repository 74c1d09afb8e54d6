-- Rows whose mail server could not be reached: they are made due at once when a send
-- succeeds again. The partial index keeps that release cheap however large the outbox grows.
ALTER TABLE outbox ADD COLUMN waiting_for_server INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_waiting_for_server ON outbox (id) WHERE waiting_for_server = 1;
