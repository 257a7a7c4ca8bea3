-- 0005: silences, and the subjects waiting for a silence's end.
--
-- A silence holds back the notifications of what its matchers match from
-- start_at to end_at (core/decide); a row lives until the silence ends or
-- is expired, its history is in the log. silenced_pending holds each host
-- (probe '') or probe whose changes a silence held back, with the status
-- last notified before them, so that the silence's end restates the ones
-- that differ, after a restart too. Both are written by the batching
-- writer from the events that change them, in the same transactions as
-- their log rows. Times are unix nanoseconds; host_key is the host's UUID,
-- or its name when it has none.
CREATE TABLE silences (
    id         TEXT    PRIMARY KEY,
    host       TEXT    NOT NULL DEFAULT '',
    grp        TEXT    NOT NULL DEFAULT '',
    probe      TEXT    NOT NULL DEFAULT '',
    start_at   INTEGER NOT NULL,
    end_at     INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE silenced_pending (
    host_key  TEXT    NOT NULL,
    probe     TEXT    NOT NULL DEFAULT '',
    host_uuid TEXT    NOT NULL DEFAULT '',
    host      TEXT    NOT NULL,
    grp       TEXT    NOT NULL DEFAULT '',
    notified  INTEGER NOT NULL,
    PRIMARY KEY (host_key, probe)
);
