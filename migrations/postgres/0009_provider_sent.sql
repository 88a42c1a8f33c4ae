-- Messages sent through a provider source and what the provider reported on each; as
-- migrations/sqlite/0009_provider_sent.sql.
CREATE TABLE provider_sent (
    source       TEXT    NOT NULL,
    provider_id  TEXT    NOT NULL,
    sent_id      BIGINT  REFERENCES sent (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL CHECK (status IN ('sent', 'delivered', 'failed')),
    error        TEXT,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, provider_id)
);

CREATE INDEX provider_sent_sent ON provider_sent (sent_id);
