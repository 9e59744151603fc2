-- Sets the schema's version back to 1, undoing 000002_schema_version.up.sql.
UPDATE hybrid_sessions_schema SET version = 1;
