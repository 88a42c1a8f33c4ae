-- Conversations (GET /api/conversations); as migrations/sqlite/0008_conversations.sql.
CREATE INDEX sent_recipient_id ON sent (recipient, id);

-- How far each conversation has been read: received messages with a larger id are unread.
CREATE TABLE conversation_reads (
    peer        TEXT PRIMARY KEY NOT NULL,
    read_up_to  BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Everything received before conversations existed counts as read.
INSERT INTO conversation_reads (peer, read_up_to, updated_at)
SELECT sender, MAX(id), now() FROM messages WHERE sender <> '' GROUP BY sender;
