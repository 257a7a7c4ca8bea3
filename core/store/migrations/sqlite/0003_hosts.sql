-- 0003: what a restart keeps.
--
-- Every host this instance knows (its own and every remote one learned by
-- pull, push or through a relay) and the last known status of each of its
-- probes, so that a restart restores the state instead of relearning it:
-- nothing already notified is notified again, a remote that is away is
-- shown DOWN with when it was last heard, and a probe that recovered while
-- the daemon was stopped is a change from its old status.
--
-- Written by the batching writer in the same transactions as the log rows,
-- from the same events (a probe's row changes only when its status does);
-- last_heard is also saved now and then and at shutdown. Times are unix
-- nanoseconds, like the other tables.
CREATE TABLE hosts (
    uuid       TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    grp        TEXT    NOT NULL DEFAULT '',
    version    TEXT    NOT NULL DEFAULT '',
    parent     TEXT    NOT NULL DEFAULT '',
    origin     TEXT    NOT NULL DEFAULT '',
    -- source delivered the host's documents (a pulled remote's address, a
    -- push client's UUID): the host stays bound to it across a restart.
    source     TEXT    NOT NULL DEFAULT '',
    remote     INTEGER NOT NULL,
    alive      INTEGER NOT NULL,
    last_heard INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- result is the JSON of the probe result as of its last status change.
CREATE TABLE host_probes (
    host_uuid TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    status    INTEGER NOT NULL,
    result    TEXT    NOT NULL,
    PRIMARY KEY (host_uuid, name)
) STRICT, WITHOUT ROWID;
