-- 0014: free-text search of the log, and its level filter.
--
-- logs_fts is an FTS4 index over each row's message, host and probe, with
-- logs as its content (external content: the text is stored once, in logs;
-- the index holds the terms). FTS4 is built into the SQLite of
-- mattn/go-sqlite3 by default (SQLITE_ENABLE_FTS3), where FTS5 would need
-- the sqlite_fts5 build tag on every build and test command. The unicode61
-- tokenizer folds case and splits at punctuation, so "loadgen-000001" is
-- the two terms loadgen and 000001, found as the phrase "loadgen 000001".
-- Rows are indexed by the store's own writes, one statement per batch
-- (store.indexLogs), not by an insert trigger: FTS4 writes its pending
-- terms out as a new segment at every statement savepoint, so a trigger
-- on each row's INSERT made one segment per row and merges without end
-- (five times the cost of a row). The delete trigger keeps the index in
-- step with retention (logs rows are never updated).
CREATE VIRTUAL TABLE logs_fts USING fts4(content="logs", message, host, probe, tokenize=unicode61);
CREATE TRIGGER logs_fts_delete BEFORE DELETE ON logs BEGIN
    DELETE FROM logs_fts WHERE docid = old.id;
END;
-- Rows written before this migration.
INSERT INTO logs_fts (logs_fts) VALUES ('rebuild');

-- The level filter (GET /api/logs?level=crit): rare levels are found
-- through the index, then sorted, instead of scanning the whole log.
CREATE INDEX logs_level ON logs (level, date DESC, id DESC);
