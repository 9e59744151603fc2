-- Sets the schema's version to 2 and changes nothing else. Version 2 added
-- the notify triggers on PostgreSQL, which SQLite does not need (one
-- process owns the file); this file keeps the versions of both dialects
-- the same.
UPDATE hybrid_sessions_schema SET version = 2;
