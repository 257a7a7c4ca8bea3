-- 0008: changes put off by a notify block's quiet hours.
--
-- A change below a block's quiet_hours min_level, made while they last, is
-- sent to that block (instance) only when they end (until, unix
-- nanoseconds): then one notification per host delivers every change kept
-- here for that instance and host, and its rows go in the transaction
-- that queues it in the outbox. Written by the batching writer with the
-- change itself, so a kill -9 in the night loses none and sends none
-- twice.
CREATE TABLE delays (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    instance   TEXT    NOT NULL,
    host_key   TEXT    NOT NULL,
    host_uuid  TEXT    NOT NULL DEFAULT '',
    host       TEXT    NOT NULL,
    grp        TEXT    NOT NULL DEFAULT '',
    probe      TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL,
    old_status INTEGER NOT NULL,
    new_status INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    until      INTEGER NOT NULL,
    message    TEXT    NOT NULL
) STRICT;

CREATE INDEX delays_host ON delays (instance, host_key, until);
