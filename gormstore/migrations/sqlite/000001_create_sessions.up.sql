-- Creates the table of gormstore's sessions on SQLite, with its indexes,
-- as Store.Migrate does, and the table of the schema's version at
-- version 1. Times are text, "2006-01-02 15:04:05.000000+00:00", always
-- in UTC.
CREATE TABLE hybrid_sessions (
    id         text     NOT NULL,  -- hex SHA-256 of the token, never the token
    user_id    text     NOT NULL,  -- empty when anonymous
    data       blob     NOT NULL,
    version    integer  NOT NULL,
    persistent numeric  NOT NULL,
    created_at datetime NOT NULL,
    deadline   datetime NOT NULL,  -- absolute expiry
    expires_at datetime NOT NULL,  -- effective expiry
    PRIMARY KEY (id)
);
CREATE INDEX hybrid_sessions_expires_at_idx ON hybrid_sessions (expires_at);
CREATE INDEX hybrid_sessions_user_id_idx ON hybrid_sessions (user_id);

-- The schema's version: once it is current, Store.Migrate sees that there
-- is nothing to do (it then runs no DDL).
CREATE TABLE hybrid_sessions_schema (version integer NOT NULL);
INSERT INTO hybrid_sessions_schema (version) VALUES (1);
