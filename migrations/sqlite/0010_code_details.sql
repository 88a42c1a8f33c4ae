-- What the extractor knows about a message's code beyond the code itself (issue 22), and the user's corrections.
--
-- `code_confidence`: 0..1, how clearly the message presents its code (1 for an origin-bound code).
-- `code_origin`, `code_origin_embedded`: the hosts of an origin-bound message (`@example.com #123456`).
-- `code_alternatives`: JSON array of the other plausible codes, best first:
--   [{"code": "55102288", "start": 15, "end": 23, "confidence": 0.62}, ...] (byte offsets into `text`).
-- Rows written before this migration have NULL in all four; readers treat that as "not known".
ALTER TABLE messages ADD COLUMN code_confidence REAL;
ALTER TABLE messages ADD COLUMN code_origin TEXT;
ALTER TABLE messages ADD COLUMN code_origin_embedded TEXT;
ALTER TABLE messages ADD COLUMN code_alternatives TEXT;

-- A user's word about a sender's codes, applied to the sender's later messages as they commit: `no_code` (this sender never sends
-- codes) or `shape` (this sender's code is the one with `code_kind` and `code_len`, e.g. numeric 8). One per sender:
-- a new correction replaces the old one.
CREATE TABLE code_corrections (
    sender      TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('no_code', 'shape')),
    code_kind   TEXT CHECK (code_kind IN ('numeric', 'alphanumeric')),
    code_len    INTEGER CHECK (code_len BETWEEN 1 AND 64),
    created_at  TEXT NOT NULL,
    CHECK ((kind = 'shape') = (code_kind IS NOT NULL AND code_len IS NOT NULL))
);
