-- Incoming calls (issue 17): one row per call however often it rang, listed in the history
-- (GET /api/calls) beside the messages. `caller` is NULL when the network withheld the number.
-- `rejected`: the modem hung up on it (the per-modem "reject calls" setting).
CREATE TABLE calls (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    modem     TEXT    NOT NULL,
    caller    TEXT,
    at        TEXT    NOT NULL,
    rejected  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX calls_modem_id ON calls (modem, id);
