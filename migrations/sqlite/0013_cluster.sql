-- Remembered modem ids and modems added at run time belong to a node: with PostgreSQL several nodes share one
-- database and each has its own ports. SQLite is one node, named '' here, so this only gives the tables the same
-- shape as on PostgreSQL (the store's SQL is shared). SQLite cannot change a primary key in place: copy.
CREATE TABLE modem_ids_by_node (
    node     TEXT NOT NULL DEFAULT '',
    port     TEXT NOT NULL,
    id       TEXT NOT NULL,
    seen_at  TEXT NOT NULL,
    PRIMARY KEY (node, port)
);
INSERT INTO modem_ids_by_node (node, port, id, seen_at) SELECT '', port, id, seen_at FROM modem_ids;
DROP TABLE modem_ids;
ALTER TABLE modem_ids_by_node RENAME TO modem_ids;

CREATE TABLE added_modems_by_node (
    node      TEXT NOT NULL DEFAULT '',
    port      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('serial', 'demo')),
    label     TEXT,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (node, port)
);
INSERT INTO added_modems_by_node (node, port, kind, label, added_at)
    SELECT '', port, kind, label, added_at FROM added_modems;
DROP TABLE added_modems;
ALTER TABLE added_modems_by_node RENAME TO added_modems;

-- Work that must happen once per message (store/claims.rs): with one SQLite node every claim succeeds once; the
-- table exists so a claim is the same code on both backends (PostgreSQL: migrations/postgres/0013_cluster.sql).
CREATE TABLE claims (
    kind        TEXT    NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    node        TEXT    NOT NULL DEFAULT '',
    claimed_at  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (kind, message_id)
);

-- Which node drives a modem several nodes are given (store/claims.rs); one SQLite node always holds its own.
CREATE TABLE modem_claims (
    port        TEXT PRIMARY KEY,
    node        TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
