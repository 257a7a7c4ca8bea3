-- 0018: metric history packed in blocks.
--
-- A point row of history_raw costs about 25 bytes and a bucket row of
-- history_5m about 40, which put a week of one host (100 series, a point a
-- minute) at 12.7 MB. Once an hour has been rolled up, its points move to
-- one row per series holding them encoded (history_raw_blocks), and so do
-- its buckets (history_5m_blocks): t is the hour's start in unix
-- milliseconds, data the encoding of history_block.go (times as
-- delta-of-delta varints, each value against the one before it, XORed or
-- as a whole-number difference, exact). The row
-- tables stay as they were, for the points of the hour being written and
-- for late ones, which the next maintenance packs; the rows of a file
-- written before this migration are packed the same way. WITHOUT ROWID,
-- as the row tables: a block is a few hundred bytes (an hour of a series),
-- under what such a table keeps in its page, and costs no second index.
CREATE TABLE history_raw_blocks (
    series INTEGER NOT NULL,
    t      INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (series, t)
) STRICT, WITHOUT ROWID;

CREATE TABLE history_5m_blocks (
    series INTEGER NOT NULL,
    t      INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (series, t)
) STRICT, WITHOUT ROWID;
