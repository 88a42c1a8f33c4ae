-- Conversations (GET /api/conversations): received and sent messages grouped by correspondent.
--
-- A thread is the received messages whose sender is the correspondent and the sent ones whose recipient is;
-- received ones are found by `messages_sender_id`, sent ones by this index.
CREATE INDEX sent_recipient_id ON sent (recipient, id);

-- How far each conversation has been read: received messages with a larger id are unread.
CREATE TABLE conversation_reads (
    peer        TEXT PRIMARY KEY NOT NULL,
    read_up_to  INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Everything received before conversations existed counts as read, so an upgrade does not greet the user with
-- thousands of unread messages.
INSERT INTO conversation_reads (peer, read_up_to, updated_at)
SELECT sender, MAX(id), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
FROM messages WHERE sender <> '' GROUP BY sender;
