-- A configured modem port is claimed per machine, not per path: two machines each have a /dev/ttyUSB0, and a
-- node on each must drive its own (store/claims.rs). Nodes on one machine given the same port (a standby) still
-- share one claim. `machine` is the host's /etc/machine-id (else its host name); `port` the port's stable name
-- (its /dev/serial/by-id link when it has one). Claims are leases renewed every few seconds, so the old rows are
-- dropped: their holders claim again within a third of a lease.
DROP TABLE modem_claims;
CREATE TABLE modem_claims (
    machine     TEXT NOT NULL,
    port        TEXT NOT NULL,
    node        TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (machine, port)
);
