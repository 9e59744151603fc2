-- Installs the triggers that announce the changes of hybrid_sessions to
-- the other app instances (see Store.Invalidations), and sets the schema's
-- version to 2. Store.Migrate executes this file too, in its transaction:
-- it is idempotent, and Migrate then writes its own version.
--
-- Every change of a session's data and every removal of a live session
-- is announced on the channel hybrid_sessions as '<id>:<version>'
-- (version 0: removed). The triggers run once per statement, not per row:
-- a statement that writes many sessions (a batch of updates, a log out
-- everywhere) sends one notification per 7 900 bytes of them, joined by
-- commas, so that a batch of writes costs one trigger call and one
-- notification.
CREATE OR REPLACE FUNCTION hybrid_sessions_notify() RETURNS trigger AS $$
DECLARE
	payload text := '';
	item text;
BEGIN
	-- EXECUTE, because a DELETE trigger has no new_rows to plan against.
	FOR item IN EXECUTE CASE TG_OP
		WHEN 'DELETE' THEN 'SELECT id || '':0'' FROM old_rows WHERE expires_at > now()'
		ELSE 'SELECT n.id || '':'' || n.version FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version'
	END
	LOOP
		IF length(payload) + length(item) >= 7900 THEN
			PERFORM pg_notify('hybrid_sessions', payload);
			payload := '';
		END IF;
		payload := CASE WHEN payload = '' THEN item ELSE payload || ',' || item END;
	END LOOP;
	IF payload <> '' THEN
		PERFORM pg_notify('hybrid_sessions', payload);
	END IF;
	RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS hybrid_sessions_notify ON hybrid_sessions;
CREATE TRIGGER hybrid_sessions_notify AFTER UPDATE ON hybrid_sessions
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION hybrid_sessions_notify();
DROP TRIGGER IF EXISTS hybrid_sessions_notify_delete ON hybrid_sessions;
CREATE TRIGGER hybrid_sessions_notify_delete AFTER DELETE ON hybrid_sessions
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION hybrid_sessions_notify();

UPDATE hybrid_sessions_schema SET version = 2;
