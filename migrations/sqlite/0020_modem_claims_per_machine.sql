-- Modem claims per machine and port; as migrations/postgres/0020_modem_claims_per_machine.sql (one SQLite node
-- always holds its own modems: the table only has the same shape as on PostgreSQL).
DROP TABLE modem_claims;
CREATE TABLE modem_claims (
    machine     TEXT NOT NULL,
    port        TEXT NOT NULL,
    node        TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (machine, port)
);
