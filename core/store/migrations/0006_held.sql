-- 0006: why a logged change was not notified.
--
-- held is the reason the core's decisions held the change back
-- (acknowledged, silenced, …), '' for a change that was notified (or that
-- no notifier was asked about). The partial index serves the held-back
-- view (GET /api/held), newest first, without touching the other rows.
ALTER TABLE logs ADD COLUMN held TEXT NOT NULL DEFAULT '';
CREATE INDEX logs_held ON logs (date DESC, id DESC) WHERE held <> '';
