-- 0002: the notification outbox.
--
-- Every notification that passed a notifier's filter is written here before
-- any delivery is attempted, so a crash of the daemon or of a plugin never
-- loses one: rows still 'pending' at start-up are delivered then.
--
-- One row per (event, notifier instance). state is one of
--   pending    waiting for its first or next attempt (next_at);
--   held       a fallback row: it becomes pending only when the delivery of
--              the same event to the instance named in fallback_for fails,
--              and cancelled when that delivery succeeds;
--   delivered  Send returned success (kept for a while, then pruned);
--   dead       gave up after the maximum number of attempts; visible in the
--              API until retried;
--   cancelled  a held row whose primary delivery succeeded.
-- Times are unix nanoseconds, like the logs table. payload is the JSON of
-- the notification, built once at enqueue time so every retry sends the same
-- bytes (and the same EventId).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL,
    instance     TEXT    NOT NULL,
    host         TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'held', 'delivered', 'dead', 'cancelled')),
    fallback_for TEXT    NOT NULL DEFAULT '',
    payload      TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Due rows: the dispatcher's "what can be sent now" and "when to wake up".
CREATE INDEX outbox_due ON outbox (state, next_at);
-- Per-host ordering: a pending row is deliverable only when no older pending
-- row exists for the same instance and host. Partial, so it only ever holds
-- the (small) backlog.
CREATE INDEX outbox_order ON outbox (instance, host, id) WHERE state = 'pending';
-- Fallback release/cancel by event.
CREATE INDEX outbox_event ON outbox (event_id);
