-- A modem's signal over time, for the Modems screen's 24-hour chart (GET /api/modems/{id}/health). Written from
-- the statuses the driver already publishes (its own reports and the refresh while someone watches), never
-- polled for. At most one row per modem and minute (`minute` = Unix time / 60; a later status in the same minute
-- replaces the earlier one), and rows older than 7 days are deleted as new ones are written: a week of one modem
-- is at most 10 080 rows, whatever the modem chatters.
CREATE TABLE signal_samples (
    modem   TEXT    NOT NULL,
    minute  INTEGER NOT NULL,
    dbm     INTEGER NOT NULL,
    PRIMARY KEY (modem, minute)
);
