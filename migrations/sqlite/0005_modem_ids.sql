-- The id each configured modem port last turned out to have.
--
-- A modem's id (`imei:...`, `iccid:...`) is learned from the modem when SimRelay first talks to it. Remembering it
-- by port lets the engine list and address a modem under that id even when it is absent at start-up, instead of
-- under its port path. Messages keep whatever id they were stored under; nothing here rewrites them.
CREATE TABLE modem_ids (
    port     TEXT PRIMARY KEY,
    id       TEXT NOT NULL,
    seen_at  TEXT NOT NULL
);
