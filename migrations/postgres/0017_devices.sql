-- Paired devices shared by every node of a cluster: a phone paired on one node works on all, and a revocation
-- on one reaches the others within a moment (the trigger notifies them; they read the table again). Only a
-- SHA-256 of each token is kept, as in tokens.toml, which a relay on SQLite still uses. `seq` keeps the order
-- devices were paired in; `created_at` and `last_seen` are RFC 3339 text, as the API shows them.
CREATE TABLE devices (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT,
    last_ip     TEXT
);

-- One-time pairing codes (their SHA-256) waiting to be exchanged: a code made on one node may be redeemed on
-- any (a load balancer in front of the nodes), and only once, since the exchange deletes the row.
CREATE TABLE pairing_codes (
    code_sha256 TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION simrelay_notify_devices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('simrelay', json_build_object('kind', 'devices', 'node', simrelay_node())::TEXT);
    RETURN NULL;
END $$;

CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION simrelay_notify_devices();

-- `simrelay copy-db` writes history, not news: inside its transactions (`SET LOCAL simrelay.quiet = 'on'`) the
-- messages and sent messages it writes notify no node, so a node running on the target does not publish them
-- (nor run hooks or MQTT for them) as if they had just arrived. Otherwise as in 0013_cluster.sql.
CREATE OR REPLACE FUNCTION simrelay_notify_messages() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT;
BEGIN
    IF current_setting('simrelay.quiet', true) = 'on' THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(id::TEXT, ',' ORDER BY id) INTO ids FROM new_rows;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('simrelay', json_build_object('kind', 'sms', 'node', simrelay_node(), 'ids', ids)::TEXT);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION simrelay_notify_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('simrelay.quiet', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('simrelay', json_build_object('kind', 'sent', 'node', simrelay_node(), 'ids', NEW.id::TEXT)::TEXT);
    RETURN NULL;
END $$;
