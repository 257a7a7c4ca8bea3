-- 0013: how many results in a row a soft change has had.
--
-- Written with each result that counts toward the change (soft 2/3), so a
-- restart counts on from there instead of from one: the change is confirmed
-- at its Nth result whatever restart came in between. Rows from before
-- count one.
ALTER TABLE soft_states ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
