-- Delivery reports for sent messages; as migrations/sqlite/0004_delivery_reports.sql. The references reported
-- delivered so far, comma-separated:
ALTER TABLE sent ADD COLUMN delivered_refs TEXT;
