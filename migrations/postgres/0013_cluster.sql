-- Several nodes on one database (docs/SCALING.md). Each node's connections are named `simrelay:<node>`
-- (application_name), so the database knows who wrote what.
--
-- Events cross nodes with LISTEN/NOTIFY on the channel `simrelay`: triggers notify inside the writing
-- transaction, and PostgreSQL delivers a notification only when (and if) that transaction commits, so no node
-- ever hears of something a rollback undid. A payload names rows; the nodes read them.

-- Remembered modem ids and modems added at run time belong to a node: each node has its own /dev/ttyUSB2 and
-- starts only the modems added on it. Rows from before are the unnamed node's (''), as on SQLite.
ALTER TABLE modem_ids ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE modem_ids DROP CONSTRAINT modem_ids_pkey, ADD PRIMARY KEY (node, port);
ALTER TABLE added_modems ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE added_modems DROP CONSTRAINT added_modems_pkey, ADD PRIMARY KEY (node, port);

CREATE FUNCTION simrelay_node() RETURNS TEXT
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN current_setting('application_name') LIKE 'simrelay:%'
                THEN substr(current_setting('application_name'), 10) ELSE '' END;

-- The node that committed each message (its catch-up after a lost connection skips its own).
ALTER TABLE messages ADD COLUMN node TEXT NOT NULL DEFAULT simrelay_node();

CREATE FUNCTION simrelay_notify_messages() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT;
BEGIN
    -- One notification per statement (a group commit); an import writes its rows in batches of at most 500,
    -- so the payload stays far below PostgreSQL's 8,000 bytes.
    SELECT string_agg(id::TEXT, ',' ORDER BY id) INTO ids FROM new_rows;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('simrelay', json_build_object('kind', 'sms', 'node', simrelay_node(), 'ids', ids)::TEXT);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER messages_notify AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION simrelay_notify_messages();

CREATE FUNCTION simrelay_notify_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('simrelay', json_build_object('kind', 'sent', 'node', simrelay_node(), 'ids', NEW.id::TEXT)::TEXT);
    RETURN NULL;
END $$;

CREATE TRIGGER sent_notify AFTER INSERT OR UPDATE ON sent
    FOR EACH ROW EXECUTE FUNCTION simrelay_notify_sent();

CREATE FUNCTION simrelay_notify_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('simrelay', json_build_object('kind', 'settings', 'node', simrelay_node())::TEXT);
    RETURN NULL;
END $$;

CREATE TRIGGER settings_notify AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION simrelay_notify_settings();

-- The status of every node's modems (the JSON of the API's ModemStatus, which names the node), so any node's
-- /api/modems and UI list them all.
CREATE TABLE modem_status (
    id          TEXT PRIMARY KEY,
    node        TEXT NOT NULL,
    status      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION simrelay_notify_modem() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('simrelay', json_build_object('kind', 'modem_removed', 'node', simrelay_node(), 'ids', OLD.id)::TEXT);
    ELSE
        PERFORM pg_notify('simrelay', json_build_object('kind', 'modem', 'node', simrelay_node(), 'ids', NEW.id)::TEXT);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER modem_status_notify AFTER INSERT OR UPDATE OR DELETE ON modem_status
    FOR EACH ROW EXECUTE FUNCTION simrelay_notify_modem();

-- Work that must happen once per message cluster-wide (a hook run): the node whose claim inserts the row does
-- it; see store/claims.rs.
CREATE TABLE claims (
    kind        TEXT   NOT NULL,
    message_id  BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    node        TEXT   NOT NULL DEFAULT simrelay_node(),
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, message_id)
);

-- Which node drives a modem that several nodes are given (the same port: a standby relay beside the active
-- one): the holder renews its lease while it runs; when it dies, the lease runs out and another node takes the
-- modem over. See store/claims.rs.
CREATE TABLE modem_claims (
    port        TEXT PRIMARY KEY,
    node        TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
