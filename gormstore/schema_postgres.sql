-- The table of gormstore on PostgreSQL, as Store.Migrate creates it.
-- Apply it instead of calling Migrate when the schema is managed by hand.
CREATE TABLE hybrid_sessions (
    id         varchar(64) NOT NULL,  -- hex SHA-256 of the token, never the token
    user_id    text        NOT NULL,  -- empty when anonymous
    data       bytea       NOT NULL,
    version    bigint      NOT NULL,
    persistent boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    deadline   timestamptz NOT NULL,  -- absolute expiry
    expires_at timestamptz NOT NULL,  -- effective expiry
    PRIMARY KEY (id)
);
CREATE INDEX hybrid_sessions_expires_at_idx ON hybrid_sessions (expires_at);
CREATE INDEX hybrid_sessions_user_id_idx ON hybrid_sessions (user_id);

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
CREATE TRIGGER hybrid_sessions_notify AFTER UPDATE OR DELETE ON hybrid_sessions
	FOR EACH ROW EXECUTE FUNCTION hybrid_sessions_notify();
