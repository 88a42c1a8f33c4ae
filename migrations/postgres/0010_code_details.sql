-- What the extractor knows about a message's code beyond the code itself, and the user's corrections; as
-- migrations/sqlite/0010_code_details.sql.
ALTER TABLE messages ADD COLUMN code_confidence DOUBLE PRECISION;
ALTER TABLE messages ADD COLUMN code_origin TEXT;
ALTER TABLE messages ADD COLUMN code_origin_embedded TEXT;
ALTER TABLE messages ADD COLUMN code_alternatives TEXT;

CREATE TABLE code_corrections (
    sender      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('no_code', 'shape')),
    code_kind   TEXT CHECK (code_kind IN ('numeric', 'alphanumeric')),
    code_len    BIGINT CHECK (code_len BETWEEN 1 AND 64),
    created_at  TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'shape') = (code_kind IS NOT NULL AND code_len IS NOT NULL))
);
