-- 0009: API tokens (Authorization: Bearer).
--
-- A token is shown once when it is created; only the SHA-256 of its secret
-- is kept. Revoking keeps the row, with who revoked it and when, so the
-- list still says who held what.
CREATE TABLE tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    expires    INTEGER NOT NULL DEFAULT 0, -- unix seconds, 0: never
    last_used  INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0,
    revoked_by TEXT    NOT NULL DEFAULT ''
);
