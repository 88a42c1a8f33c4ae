-- Settings changed at run time, one row per changed setting; as migrations/sqlite/0006_settings.sql.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
