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

-- The schema's version, which tells Store.Migrate that there is nothing to
-- do (it then takes no lock and runs no DDL).
CREATE TABLE hybrid_sessions_schema (version integer NOT NULL);
INSERT INTO hybrid_sessions_schema (version) VALUES (2);

-- Then apply notify_postgres.sql: the trigger that keeps the caches of
-- several app instances coherent.
