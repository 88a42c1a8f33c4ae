-- The outbox, as migrations/sqlite/0011_deliveries.sql: every delivery of a new message to a webhook or
-- forwarder is a row, written by a trigger in the same transaction that commits the message. Times the log
-- shows are TIMESTAMPTZ; `window_start` and `next_try` stay milliseconds since 1970, as in SQLite, because the
-- engine computes the retry schedule in that unit.

CREATE TABLE delivery_targets (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('webhook', 'ntfy', 'gotify', 'telegram', 'email')),
    only_codes   BOOLEAN NOT NULL DEFAULT false,
    -- A LIKE pattern (`%`, `_`, escaped with `\`), lower-cased; NULL matches every sender.
    sender_like  TEXT,
    modem        TEXT
);

CREATE TABLE deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    target       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    message_id   BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    window_start BIGINT NOT NULL,
    next_try     BIGINT,
    last_try_at  TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    last_error   TEXT
);

CREATE INDEX deliveries_due ON deliveries (next_try) WHERE status = 'pending';
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_target ON deliveries (target, id);

-- Runs inside the INSERT that commits a message, so in its transaction; a repeated PDU (ON CONFLICT DO
-- NOTHING) inserts no row and so queues nothing. gen_random_uuid() is built in since PostgreSQL 13.
CREATE FUNCTION simrelay_messages_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deliveries (event_id, target, kind, message_id, created_at, window_start, next_try)
    SELECT replace(gen_random_uuid()::text, '-', ''), t.name, t.kind, NEW.id, NEW.received_at,
           (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
           (extract(epoch FROM clock_timestamp()) * 1000)::bigint
    FROM delivery_targets AS t
    WHERE (NOT t.only_codes OR NEW.code IS NOT NULL)
      AND (t.modem IS NULL OR t.modem = NEW.modem)
      AND (t.sender_like IS NULL OR lower(NEW.sender) LIKE t.sender_like ESCAPE '\');
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_outbox AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION simrelay_messages_outbox();

CREATE TABLE generated_secrets (
    name    TEXT PRIMARY KEY,
    secret  TEXT NOT NULL
);

CREATE TABLE ha_recipients (
    modem      TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL
);

CREATE TABLE ha_announced (
    discovery_prefix TEXT NOT NULL,
    modem            TEXT NOT NULL,
    PRIMARY KEY (discovery_prefix, modem)
);
