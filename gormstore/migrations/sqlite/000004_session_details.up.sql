-- Adds what a list of a user's sessions shows: the public handle, the
-- last login, the last use, the client's address and user agent. Constant
-- defaults and NULL times, so that no existing row is rewritten; a row's
-- handle is set at its session's next save.
ALTER TABLE hybrid_sessions ADD COLUMN handle text NOT NULL DEFAULT "";
ALTER TABLE hybrid_sessions ADD COLUMN authenticated_at datetime;
ALTER TABLE hybrid_sessions ADD COLUMN last_seen_at datetime;
ALTER TABLE hybrid_sessions ADD COLUMN ip text NOT NULL DEFAULT "";
ALTER TABLE hybrid_sessions ADD COLUMN user_agent text NOT NULL DEFAULT "";
UPDATE hybrid_sessions_schema SET version = 4;
