-- Outgoing messages (POST /api/send) and their progress.
--
-- Kept apart from `messages` because they have a recipient and a delivery status instead of a sender and a
-- code; ids are their own sequence (`GET /api/sent/{id}`).

CREATE TABLE sent (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    modem         TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    -- queued → sending → sent | failed (later: delivered, from status reports)
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'delivered')),
    error         TEXT,
    -- TP-MR the network gave each part, comma-separated; status reports are matched on these.
    message_refs  TEXT,
    parts         INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE INDEX sent_modem_id ON sent (modem, id);
