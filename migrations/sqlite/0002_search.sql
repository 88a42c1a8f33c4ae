-- Full-text search over received messages: an FTS5 index with external content (the text lives once, in
-- `messages`), kept in sync by triggers so no code path can forget to update it.
--
-- unicode61 with diacritics removed lets "codigo" find "código". Scripts without spaces (Chinese, Japanese)
-- are indexed as whole runs, so there a search matches from the start of a run (prefix queries).

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    sender,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Index what earlier versions stored.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text, sender) VALUES (new.id, new.text, new.sender);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text, sender) VALUES ('delete', old.id, old.text, old.sender);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, sender ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text, sender) VALUES ('delete', old.id, old.text, old.sender);
    INSERT INTO messages_fts (rowid, text, sender) VALUES (new.id, new.text, new.sender);
END;

-- `since` / `until` filters walk received_at.
CREATE INDEX messages_received_at ON messages (received_at);
