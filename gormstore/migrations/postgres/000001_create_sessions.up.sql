-- Creates the table of gormstore's sessions on PostgreSQL, with its
-- indexes, as Store.Migrate does, and the table of the schema's version
-- at version 1.
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

-- The schema's version: once it is current, Store.Migrate sees that there
-- is nothing to do (it then takes no lock and runs no DDL).
CREATE TABLE hybrid_sessions_schema (version integer NOT NULL);
INSERT INTO hybrid_sessions_schema (version) VALUES (1);
