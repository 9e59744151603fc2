-- Removes the triggers of 000002_notify_triggers.up.sql and their
-- function, and sets the schema's version back to 1.
DROP TRIGGER IF EXISTS hybrid_sessions_notify_delete ON hybrid_sessions;
DROP TRIGGER IF EXISTS hybrid_sessions_notify ON hybrid_sessions;
DROP FUNCTION IF EXISTS hybrid_sessions_notify();
UPDATE hybrid_sessions_schema SET version = 1;
