-- The trigger of gormstore on PostgreSQL, as Store.Migrate installs it
-- (idempotent). Apply it after schema_postgres.sql when the schema is
-- managed by hand.
-- Announce changes to the other app instances (see Store.Invalidations):
-- every change of a session's data and every removal of a live session
-- sends NOTIFY hybrid_sessions '<id>:<version>' (version 0: removed).
CREATE OR REPLACE FUNCTION hybrid_sessions_notify() RETURNS trigger AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		IF OLD.expires_at > now() THEN
			PERFORM pg_notify('hybrid_sessions', OLD.id || ':0');
		END IF;
		RETURN OLD;
	END IF;
	IF NEW.version <> OLD.version THEN
		PERFORM pg_notify('hybrid_sessions', NEW.id || ':' || NEW.version);
	END IF;
	RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS hybrid_sessions_notify ON hybrid_sessions;
CREATE TRIGGER hybrid_sessions_notify AFTER UPDATE OR DELETE ON hybrid_sessions
	FOR EACH ROW EXECUTE FUNCTION hybrid_sessions_notify();
