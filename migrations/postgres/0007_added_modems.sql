-- Modems added at run time; as migrations/sqlite/0007_added_modems.sql.
CREATE TABLE added_modems (
    port      TEXT PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('serial', 'demo')),
    label     TEXT,
    added_at  TIMESTAMPTZ NOT NULL
);
