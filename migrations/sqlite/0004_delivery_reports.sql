-- Delivery reports (SMS-STATUS-REPORT) for sent messages.
--
-- A multipart message gets one report per part; it is `delivered` only when every part's reference
-- (in `message_refs`) has a report saying so. The references reported delivered so far, comma-separated:
ALTER TABLE sent ADD COLUMN delivered_refs TEXT;
