-- 0015: metric history.
--
-- history_series names each series once: a host, a probe and the tag set
-- of one of its metrics (tags as JSON with sorted keys, '{}' for none), so
-- a point costs its series id, a time and a value. history_raw keeps every
-- point for the raw retention (v NULL: the probe sent NaN or ±Inf, a gap);
-- history_5m keeps 5-minute buckets of the non-null points (min, max, sum
-- and count for the average, last with its time) for the longer retention.
-- history_meta holds rolled_until: raw points before it are in the
-- buckets. history_runs holds each run of the daemon, from its start to
-- the last minute it was seen running, so a status timeline shows the time
-- between two runs as unknown rather than as the status before the stop. Times are unix milliseconds. Both point tables are keyed by
-- (series, t) without a rowid: a query reads one series' range in key
-- order and a point costs no second index.
CREATE TABLE history_series (
    id    INTEGER PRIMARY KEY,
    host  TEXT    NOT NULL,
    probe TEXT    NOT NULL,
    tags  TEXT    NOT NULL,
    UNIQUE (host, probe, tags)
) STRICT;

CREATE TABLE history_raw (
    series INTEGER NOT NULL,
    t      INTEGER NOT NULL,
    v      REAL,
    PRIMARY KEY (series, t)
) STRICT, WITHOUT ROWID;

CREATE TABLE history_5m (
    series INTEGER NOT NULL,
    t      INTEGER NOT NULL,
    min    REAL    NOT NULL,
    max    REAL    NOT NULL,
    sum    REAL    NOT NULL,
    count  INTEGER NOT NULL,
    last   REAL    NOT NULL,
    last_t INTEGER NOT NULL,
    PRIMARY KEY (series, t)
) STRICT, WITHOUT ROWID;

CREATE TABLE history_meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE history_runs (
    start INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
) STRICT;
