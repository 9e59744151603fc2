-- Drops the tables of 000003_token_keys.up.sql: tokens are no longer
-- tagged by this schema's keys.
DROP TABLE IF EXISTS hybrid_sessions_untagged;
DROP TABLE IF EXISTS hybrid_sessions_keys;
UPDATE hybrid_sessions_schema SET version = 2;
