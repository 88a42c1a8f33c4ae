-- Messages sent through a provider source ([[sources]]: Twilio, Vonage) and what the provider reported on each.
--
-- A provider gives each message (Vonage: each part) its own id; its status callbacks and delivery receipts
-- name that id. One row per id. `sent_id` is NULL for a callback that arrived before SimRelay recorded the ids
-- (the provider answered the send request after calling back), and is filled in when it does; the status it
-- carried is then applied. The sent message is `delivered` when every part is, `failed` when one failed.
CREATE TABLE provider_sent (
    source       TEXT    NOT NULL,
    provider_id  TEXT    NOT NULL,
    sent_id      INTEGER REFERENCES sent (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL CHECK (status IN ('sent', 'delivered', 'failed')),
    error        TEXT,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (source, provider_id)
);

CREATE INDEX provider_sent_sent ON provider_sent (sent_id);
