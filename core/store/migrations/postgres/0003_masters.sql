-- 0003: the masters' heartbeats (see migrations/sqlite/0017_masters.sql).
CREATE TABLE masters (
    instance   TEXT   PRIMARY KEY,
    hostname   TEXT   NOT NULL,
    url        TEXT   NOT NULL DEFAULT '',
    version    TEXT   NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    beat_at    BIGINT NOT NULL
);
