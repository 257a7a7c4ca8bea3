-- 0011: open problems with what their timers run from, and the
-- maintenance occurrences opened.
--
-- problems holds each host (probe '') or probe left at a problem by the
-- last change people were told of (core/decide): notified is its status
-- then, since when it was, renotified_at / escalated_at when it was last
-- renotified and escalated (0: not yet). A restart derives the renotify
-- and escalation times from them, so it neither repeats nor delays one.
-- maintenance_opened holds the silences maintenance windows opened, until
-- their window's end: one ended or expired early is not opened again by a
-- restart inside the window. Both are written by the batching writer from
-- the events that change them. Times are unix nanoseconds; host_key is the
-- host's UUID, or its name when it has none.
CREATE TABLE problems (
    host_key      TEXT    NOT NULL,
    probe         TEXT    NOT NULL DEFAULT '',
    host_uuid     TEXT    NOT NULL DEFAULT '',
    host          TEXT    NOT NULL,
    grp           TEXT    NOT NULL DEFAULT '',
    notified      INTEGER NOT NULL,
    since         INTEGER NOT NULL,
    renotified_at INTEGER NOT NULL DEFAULT 0,
    escalated_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_key, probe)
);

CREATE TABLE maintenance_opened (
    id     TEXT    PRIMARY KEY,
    end_at INTEGER NOT NULL
);
