-- Settings changed at run time (PATCH /api/settings, the desktop tray), one row per setting that was changed.
--
-- Only changed settings have a row: a setting without one follows the config file and the environment, so a
-- key the user never touched in the UI can still be set in config.toml. `value` is the setting's JSON value.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
