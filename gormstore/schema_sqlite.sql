-- The table of gormstore on SQLite, as Store.Migrate creates it.
-- Apply it instead of calling Migrate when the schema is managed by hand.
-- Times are text, "2006-01-02 15:04:05.000000+00:00", always in UTC.
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

-- The schema's version, which tells Store.Migrate that there is nothing to
-- do (it then takes no lock and runs no DDL).
CREATE TABLE hybrid_sessions_schema (version integer NOT NULL);
INSERT INTO hybrid_sessions_schema (version) VALUES (2);
