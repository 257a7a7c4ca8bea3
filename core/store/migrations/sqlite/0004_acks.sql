-- 0004: acknowledgements.
--
-- An operator's "I am on it" for a host (probe '') or a probe, as the
-- core's decisions hold it (core/decide), so that a restart does not page
-- again about a problem someone acknowledged. Written by the batching
-- writer from the events that give, remove or end an acknowledgement, in
-- the same transactions as their log rows. host_key is the host's UUID, or
-- its name when it has none. Times are unix nanoseconds.
CREATE TABLE acks (
    host_key   TEXT    NOT NULL,
    probe      TEXT    NOT NULL DEFAULT '',
    host_uuid  TEXT    NOT NULL DEFAULT '',
    host       TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    sticky     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0, -- 0: until it ends otherwise
    PRIMARY KEY (host_key, probe)
);
