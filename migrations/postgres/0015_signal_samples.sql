-- A modem's signal over time; as migrations/sqlite/0015_signal_samples.sql. Modem ids are the same on every node
-- (IMEI-based), and only the node driving a modem records its statuses, so rows are not per node.
CREATE TABLE signal_samples (
    modem   TEXT    NOT NULL,
    minute  BIGINT  NOT NULL,
    dbm     INTEGER NOT NULL,
    PRIMARY KEY (modem, minute)
);
