-- What a message is besides its text (issue #17): binary data and WAP push (`content`, the JSON of the API's
-- MessageContent; NULL for plain text), class 0 "flash" messages, message-waiting indications (`indications`, the
-- JSON array of the API's Indication; NULL when none), and PDUs whose user data ended early (`truncated`).
-- Rows stored before this migration keep NULL and 0: plain text, as they were shown.
ALTER TABLE messages ADD COLUMN content TEXT;
ALTER TABLE messages ADD COLUMN flash INTEGER NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
ALTER TABLE messages ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1));
ALTER TABLE messages ADD COLUMN indications TEXT;

-- What the network last said is waiting for each modem's SIM (voicemail, fax, e-mail, video, other), by modem id.
-- Written in the same transaction as the message that carried the indication, so a re-read duplicate (which is
-- not committed again) never brings back an indication a later message cleared. A cleared kind has no row.
CREATE TABLE modem_waiting (
    modem       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    -- How many, when the network said; NULL when it only said "some".
    count       INTEGER,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (modem, kind)
);
