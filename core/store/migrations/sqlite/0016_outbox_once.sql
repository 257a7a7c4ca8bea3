-- 0016: each notification queued once and delivered by one master at a
-- time.
--
-- dedup_key names the change a row notifies (the host's UUID, the probe,
-- the transition and the probe result's own time), the same on every
-- master that observes it: rows are inserted with ON CONFLICT DO NOTHING,
-- so two masters sharing a database queue one row per change and notifier
-- instance. NULL for the rows of events without such a key (each queued
-- as it comes), which the unique index does not compare.
--
-- A pending row is claimed for delivery by one master (lease_owner) until
-- lease_until (unix nanoseconds); lease_gen counts the claims, and a
-- delivery result is applied only with the generation it was claimed
-- under, so a master whose lease ran out cannot mark done a row another
-- master has claimed since.
ALTER TABLE outbox ADD COLUMN dedup_key TEXT;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_gen INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_dedup ON outbox (instance, dedup_key);
