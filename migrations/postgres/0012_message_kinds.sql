-- What a message is besides its text (issue #17): binary data and WAP push (`content`, the JSON of the API's
-- MessageContent; NULL for plain text), class 0 "flash" messages, message-waiting indications (`indications`, the
-- JSON array of the API's Indication; NULL when none), and PDUs whose user data ended early (`truncated`).
-- Rows stored before this migration keep NULL and FALSE: plain text, as they were shown.
ALTER TABLE messages
    ADD COLUMN content TEXT,
    ADD COLUMN flash BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN truncated BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN indications TEXT;

-- What the network last said is waiting for each modem's SIM, by modem id; see migrations/sqlite/0012.
CREATE TABLE modem_waiting (
    modem       TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    count       BIGINT,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (modem, kind)
);
