-- Disabled accounts, the admins the last-admin rule counts, and a user's sessions.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));

CREATE INDEX users_by_role ON users (role, disabled);

CREATE INDEX sessions_by_user ON sessions (user_id);
