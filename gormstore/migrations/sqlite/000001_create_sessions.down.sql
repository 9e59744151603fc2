-- Drops the tables of 000001_create_sessions.up.sql (their indexes go
-- with them).
DROP TABLE IF EXISTS hybrid_sessions_schema;
DROP TABLE IF EXISTS hybrid_sessions;
