-- Full-text search over received messages: a tsvector column kept by PostgreSQL itself (a stored generated
-- column, so no code path can forget it) and a GIN index on it.
--
-- It matches what SQLite's FTS5 index (unicode61, diacritics removed) matches: words are runs of letters and
-- digits (punctuation splits them, as in unicode61, rather than PostgreSQL's parser keeping "example.com" or
-- "a/b" whole), case and accents are folded ("codigo" finds "código"), and no word is a stop word. The sender
-- weighs more than the text in best-match order (weight A against D). Case folding outside ASCII follows the
-- database's LC_CTYPE: create the database with a UTF-8 locale (docs/SCALING.md).

-- Trusted since PostgreSQL 13: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION simrelay_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION simrelay_search
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part, numword, numhword,
        hword_numpart
    WITH unaccent, simple;

-- What a message's words are; the query side (store/postgres/fts.rs) splits typed words the same way.
CREATE FUNCTION simrelay_words(body TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(body, '[[:punct:][:space:]]+', ' ', 'g');

CREATE FUNCTION simrelay_search(sender TEXT, body TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN setweight(to_tsvector('simrelay_search'::regconfig, simrelay_words(body)), 'D')
        || setweight(to_tsvector('simrelay_search'::regconfig, simrelay_words(sender)), 'A');

ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (simrelay_search(sender, text)) STORED;

CREATE INDEX messages_search ON messages USING gin (search);

-- `since` / `until` filters walk received_at.
CREATE INDEX messages_received_at ON messages (received_at);
