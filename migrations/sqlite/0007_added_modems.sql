-- Modems added at run time (POST /api/modems, the first-run wizard), started again at every start next to the
-- config file's `modems`. `port` is the serial port path, or 'demo' for the built-in demo modem. Removing such a
-- modem (DELETE /api/modems/{id}) deletes its row. Modems from the config file never get a row here.
CREATE TABLE added_modems (
    port      TEXT PRIMARY KEY NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('serial', 'demo')),
    label     TEXT,
    added_at  TEXT NOT NULL
);
