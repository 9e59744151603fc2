-- Creates the key ring that tags session tokens, hybrid_sessions_keys (the
-- store adds its first key on first use, as Store.Migrate does), and
-- hybrid_sessions_untagged, which gets a row when the database already
-- holds sessions: their untagged tokens then keep working for one session
-- lifetime after it (docs/security.md, "Tokens from before tagging").
-- Times are text, "2006-01-02 15:04:05.000000+00:00", always in UTC.
CREATE TABLE hybrid_sessions_keys (
    id         integer  NOT NULL,  -- its low byte goes into the tokens it tags
    secret     blob     NOT NULL,
    signs_from datetime NOT NULL,  -- tags new tokens from then on, until a newer key does
    PRIMARY KEY (id)
);
CREATE TABLE hybrid_sessions_untagged (
    since datetime NOT NULL
);
INSERT INTO hybrid_sessions_untagged (since)
    SELECT strftime('%Y-%m-%d %H:%M:%f000+00:00', 'now') WHERE EXISTS (SELECT 1 FROM hybrid_sessions);
UPDATE hybrid_sessions_schema SET version = 3;
