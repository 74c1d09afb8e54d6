-- The stream log: every message a write committed, at the position the write gave it.
-- AUTOINCREMENT keeps the counter in sqlite_sequence, inside the writing transaction: a
-- rolled-back write gives its positions back, and trimming old rows never lowers the head.
CREATE TABLE stream_log (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    record   TEXT NOT NULL
);
CREATE INDEX stream_log_at ON stream_log (at);

-- The log's epoch, fixed when the log is made: below 2^53, so JavaScript reads it exactly.
CREATE TABLE stream_meta (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
) STRICT;
INSERT INTO stream_meta (id, epoch) VALUES (1, 1 + abs(random() % 9007199254740990));
