-- Which node announced each modem to Home Assistant, so that in a cluster a node removes only the entities it
-- announced (as migrations/sqlite/0019_ha_announced_node.sql). Rows from before name no node: no node removes
-- them at its connection; each node takes its modems' rows over when it announces them again.
ALTER TABLE ha_announced ADD COLUMN node TEXT NOT NULL DEFAULT '';
