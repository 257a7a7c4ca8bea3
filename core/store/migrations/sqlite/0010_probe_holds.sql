-- 0010: local probes an operator disabled (POST …/probes/:probe/disable).
--
-- A probe disabled for an hour is still disabled after a restart in the
-- middle of that hour, and runs again at its end; one disabled without end
-- stays so until enabled. Ended holds are deleted.
CREATE TABLE probe_holds (
    probe  TEXT    NOT NULL PRIMARY KEY,
    reason TEXT    NOT NULL,
    by     TEXT    NOT NULL,
    since  INTEGER NOT NULL,
    until  INTEGER NOT NULL DEFAULT 0 -- unix seconds, 0: until enabled
);
