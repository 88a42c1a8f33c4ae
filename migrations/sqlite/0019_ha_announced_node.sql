-- Which node announced each modem to Home Assistant, so that in a cluster a node removes only the entities it
-- announced (as migrations/postgres/0019_ha_announced_node.sql). On SQLite the node is always ''.
ALTER TABLE ha_announced ADD COLUMN node TEXT NOT NULL DEFAULT '';
