-- 0006: why a logged change was not notified, and what kind of change it
-- was.
--
-- held is the reason the core's decisions held the change back
-- (acknowledged, silenced, …), '' for a change that was notified (or that
-- no notifier was asked about). The partial index serves the held-back
-- view (GET /api/held), newest first, without touching the other rows.
-- kind is the event kind (probe_changed, host_down, …; '' for rows
-- appended by hand): a restart replays the last hour of changes from it
-- for flap detection.
ALTER TABLE logs ADD COLUMN held TEXT NOT NULL DEFAULT '';
ALTER TABLE logs ADD COLUMN kind TEXT NOT NULL DEFAULT '';
CREATE INDEX logs_held ON logs (date DESC, id DESC) WHERE held <> '';
CREATE INDEX logs_changes ON logs (date) WHERE kind IN ('probe_changed', 'host_down', 'host_up');
