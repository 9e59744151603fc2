-- Drops the columns of 000004_session_details.up.sql.
ALTER TABLE hybrid_sessions DROP COLUMN user_agent;
ALTER TABLE hybrid_sessions DROP COLUMN ip;
ALTER TABLE hybrid_sessions DROP COLUMN last_seen_at;
ALTER TABLE hybrid_sessions DROP COLUMN authenticated_at;
ALTER TABLE hybrid_sessions DROP COLUMN handle;
UPDATE hybrid_sessions_schema SET version = 3;
