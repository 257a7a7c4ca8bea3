-- 0002: each notification queued once and delivered by one master at a
-- time (see migrations/sqlite/0016_outbox_once.sql).
ALTER TABLE outbox ADD COLUMN dedup_key TEXT;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_gen BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_dedup ON outbox (instance, dedup_key);
