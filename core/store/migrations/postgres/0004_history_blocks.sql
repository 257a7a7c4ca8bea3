-- 0004: metric history packed in blocks (see
-- migrations/sqlite/0018_history_blocks.sql).
CREATE TABLE history_raw_blocks (
    series BIGINT NOT NULL,
    t      BIGINT NOT NULL,
    data   BYTEA  NOT NULL,
    PRIMARY KEY (series, t)
);

CREATE TABLE history_5m_blocks (
    series BIGINT NOT NULL,
    t      BIGINT NOT NULL,
    data   BYTEA  NOT NULL,
    PRIMARY KEY (series, t)
);
