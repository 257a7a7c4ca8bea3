-- 0001: the status-change log.
--
-- The original's `logs` table, with `date` as unix nanoseconds so both the
-- original's microsecond `Date` text and its `Timestamp` seconds round-trip.
-- AUTOINCREMENT keeps ids strictly increasing even after retention has
-- deleted every row, so an id can serve as a "newer than" cursor.
-- STRICT makes SQLite reject a value of the wrong type instead of storing it.
CREATE TABLE logs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    date    INTEGER NOT NULL,
    level   INTEGER NOT NULL,
    grp     TEXT    NOT NULL DEFAULT '',
    host    TEXT    NOT NULL DEFAULT '',
    probe   TEXT    NOT NULL DEFAULT '',
    message TEXT    NOT NULL DEFAULT ''
) STRICT;

-- One index per filter the API offers, each ending in (date, id) descending so
-- a newest-first page is read straight off the index without a sort:
--   /api/logs                                   -> logs_date (also serves Prune)
--   /api/hosts/:host/logs                       -> logs_host
--   /api/groups/:group/logs                     -> logs_grp
--   /api/probes/:probe/logs                     -> logs_probe
--   /api/hosts/:host/probes/:probe/logs         -> logs_host_probe
--   /api/groups/:group/probes/:probe/logs       -> logs_grp_probe
CREATE INDEX logs_date       ON logs (date DESC, id DESC);
CREATE INDEX logs_host       ON logs (host, date DESC, id DESC);
CREATE INDEX logs_grp        ON logs (grp, date DESC, id DESC);
CREATE INDEX logs_probe      ON logs (probe, date DESC, id DESC);
CREATE INDEX logs_host_probe ON logs (host, probe, date DESC, id DESC);
CREATE INDEX logs_grp_probe  ON logs (grp, probe, date DESC, id DESC);
