-- 0012: the status a logged change went to.
--
-- A restart replays the last window of changes for flap detection; the
-- status of each tells it which one people heard as the start of the
-- flapping, so that its end is notified from that status, not from the one
-- the subject was left at. 0 on rows written before this column (and on
-- rows that are no change): the replay then takes the recorded status.
ALTER TABLE logs ADD COLUMN status INTEGER NOT NULL DEFAULT 0;
