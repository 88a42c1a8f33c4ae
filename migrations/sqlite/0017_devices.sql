-- Paired devices and waiting pairing codes kept in the database, as nodes of a cluster share them (see
-- migrations/postgres/0017_devices.sql and docs/SCALING.md). A relay on SQLite keeps its devices in tokens.toml
-- as before and leaves these tables empty; they exist so the store's code and its tests are the same on both.
CREATE TABLE devices (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT,
    last_ip     TEXT
);

CREATE TABLE pairing_codes (
    code_sha256 TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
