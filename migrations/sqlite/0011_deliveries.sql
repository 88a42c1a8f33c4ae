-- The outbox: every delivery of a new message to a webhook or forwarder is a row, written by a trigger in the
-- same transaction that commits the message, so no message can be committed without its deliveries (and none
-- delivered that was not committed). The engine sends the rows, retries them with backoff across restarts, and
-- keeps them as the delivery log (`GET /api/deliveries`). migrations/postgres/0011_deliveries.sql is its twin.

-- The targets in effect: the engine writes this table from the settings (the `hook_url` setting and the
-- `forwarders`) at start and after each change. The trigger reads only the filters; how to reach a target is in
-- the settings.
CREATE TABLE delivery_targets (
    name         TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('webhook', 'ntfy', 'gotify', 'telegram', 'email')),
    only_codes   INTEGER NOT NULL DEFAULT 0 CHECK (only_codes IN (0, 1)),
    -- A LIKE pattern (`%`, `_`, escaped with `\`), lower-cased, matched against the lower-cased sender; NULL
    -- matches every sender. LIKE rather than GLOB because PostgreSQL has it too (its twin of this migration).
    sender_like  TEXT,
    -- A modem id; NULL matches every modem.
    modem        TEXT
);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Sent with every attempt (`X-SimRelay-Event-Id`), so receivers drop repeats.
    event_id     TEXT NOT NULL UNIQUE,
    target       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    -- The message is read when each attempt is made (a purged code stays purged); SET NULL keeps the log row
    -- when retention or the user deletes the message, and a pending delivery of a deleted message fails.
    message_id   INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    -- Milliseconds since 1970 (UTC). Retries stop 24 hours after `window_start` (the commit, or a replay).
    window_start INTEGER NOT NULL,
    -- When the next attempt is due (milliseconds); NULL unless pending.
    next_try     INTEGER,
    last_try_at  TEXT,
    delivered_at TEXT,
    last_error   TEXT
);

CREATE INDEX deliveries_due ON deliveries (next_try) WHERE status = 'pending';
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_target ON deliveries (target, id);

-- Runs inside the INSERT of `Store::insert_messages`, so in its transaction; a repeated PDU (ON CONFLICT DO
-- NOTHING) inserts no row and so queues nothing.
CREATE TRIGGER messages_outbox AFTER INSERT ON messages
BEGIN
    INSERT INTO deliveries (event_id, target, kind, message_id, created_at, window_start, next_try)
    SELECT lower(hex(randomblob(16))), t.name, t.kind, NEW.id, NEW.received_at,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM delivery_targets AS t
    WHERE (t.only_codes = 0 OR NEW.code IS NOT NULL)
      AND (t.modem IS NULL OR t.modem = NEW.modem)
      AND (t.sender_like IS NULL OR lower(NEW.sender) LIKE t.sender_like ESCAPE '\');
END;

-- The webhook signing key SimRelay made when none was configured (`hook_secret`): the default below the
-- config file and a change saved through the settings, kept so it stays the same across restarts.
CREATE TABLE generated_secrets (
    name    TEXT PRIMARY KEY NOT NULL,
    secret  TEXT NOT NULL
);

-- The recipient a Home Assistant notify entity sends to, per modem (set from Home Assistant's text entity).
CREATE TABLE ha_recipients (
    modem      TEXT PRIMARY KEY NOT NULL,
    recipient  TEXT NOT NULL
);

-- Modems announced to Home Assistant (per discovery prefix), so one removed while SimRelay was stopped is
-- cleaned up at the next connection.
CREATE TABLE ha_announced (
    discovery_prefix TEXT NOT NULL,
    modem            TEXT NOT NULL,
    PRIMARY KEY (discovery_prefix, modem)
);
