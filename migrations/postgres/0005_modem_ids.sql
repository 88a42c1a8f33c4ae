-- The id each configured modem port last turned out to have; as migrations/sqlite/0005_modem_ids.sql.
CREATE TABLE modem_ids (
    port     TEXT PRIMARY KEY,
    id       TEXT NOT NULL,
    seen_at  TIMESTAMPTZ NOT NULL
);
