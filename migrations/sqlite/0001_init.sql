-- SimRelay's first schema: received messages and every raw PDU they came from.
--
-- Later migrations add to this (full-text search, sent messages, retention); they never rewrite it, because
-- `sqlx::migrate!` checks the checksum of every applied migration.
--
-- Times are TEXT in RFC 3339. `received_at` is always written in UTC with a fixed width
-- (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`) so that text comparison orders it; `sent_at` keeps the offset the
-- network sent, because that is what the user expects to see.

-- One row per message as the user sees it; a multipart SMS is one row.
CREATE TABLE messages (
    -- AUTOINCREMENT: an id is never reused after a delete, so `after=<id>` cursors and long polls stay correct.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    modem         TEXT    NOT NULL,
    sender        TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    code          TEXT,
    -- Byte range [code_start, code_end) of the code in `text`.
    code_start    INTEGER,
    code_end      INTEGER,
    sent_at       TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    encoding      TEXT,
    -- Set when the PDU did not decode; the message then shows the raw PDU as hex and this error.
    decode_error  TEXT,
    -- 1 for a multipart message delivered before all its parts arrived.
    incomplete    INTEGER NOT NULL DEFAULT 0 CHECK (incomplete IN (0, 1)),
    -- Lower-case hex SHA-256 of the raw PDU (for a multipart message: of its parts' hashes in order).
    -- Re-reading the same SIM slot after a crash, or a modem that reports one SMS twice (+CMT and +CMTI),
    -- hits this constraint and is a harmless no-op.
    pdu_sha256    TEXT    NOT NULL,
    UNIQUE (modem, pdu_sha256),
    CHECK ((code_start IS NULL) = (code_end IS NULL))
);

-- Filters of `GET /api/messages` and `/api/codes/*` walk these newest-first.
CREATE INDEX messages_sender_id ON messages (sender, id);
CREATE INDEX messages_modem_id ON messages (modem, id);
CREATE INDEX messages_code_id ON messages (id) WHERE code IS NOT NULL;

-- Every raw PDU read from a modem, including parts of multipart sets still waiting for their siblings
-- (`message_id` NULL), so an incomplete set survives a restart and nothing read from a SIM is ever lost.
CREATE TABLE pdus (
    id            INTEGER PRIMARY KEY,
    message_id    INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    modem         TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    raw           BLOB    NOT NULL,
    received_at   TEXT    NOT NULL,
    -- Multipart key (3GPP TS 23.040 concatenation IE): NULL for a single-part SMS.
    sender        TEXT,
    concat_ref    INTEGER,
    concat_total  INTEGER,
    concat_seq    INTEGER,
    UNIQUE (modem, sha256)
);

CREATE INDEX pdus_message ON pdus (message_id);
-- Finds the waiting siblings of a part.
CREATE INDEX pdus_pending ON pdus (modem, sender, concat_ref, concat_total) WHERE message_id IS NULL;
