-- 0007: probe changes that await their confirming results (check attempts).
--
-- A change to a new status is notified once `attempts` results in a row
-- show it (core/decide); until then it is soft, kept here so a restart
-- still confirms it (its count starts again). Written by the batching
-- writer from the events that start, confirm or undo a soft change.
CREATE TABLE soft_states (
    host_key  TEXT    NOT NULL,
    probe     TEXT    NOT NULL,
    host_uuid TEXT    NOT NULL DEFAULT '',
    host      TEXT    NOT NULL,
    hard      INTEGER NOT NULL,
    status    INTEGER NOT NULL,
    PRIMARY KEY (host_key, probe)
);
