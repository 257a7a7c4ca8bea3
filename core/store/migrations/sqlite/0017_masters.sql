-- 0017: the masters' heartbeats.
--
-- Each master writes its own row every few seconds (beat_at, unix
-- nanoseconds; on PostgreSQL the server's clock, so that masters whose
-- clocks differ still compare alike): what it reports of the masters
-- sharing its database (GET /api/cluster), up while its beat is recent.
-- A row not written for a day is deleted by the next beat.
CREATE TABLE masters (
    instance   TEXT    PRIMARY KEY,
    hostname   TEXT    NOT NULL,
    url        TEXT    NOT NULL DEFAULT '',
    version    TEXT    NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    beat_at    INTEGER NOT NULL
) STRICT;
