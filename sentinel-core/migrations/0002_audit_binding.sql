-- Binds each action's record to its audit trail, and keeps checkpoints of the chain.

-- The digest of the action's record as each event left it (empty for older events).
ALTER TABLE sentinel_audit ADD COLUMN state_hash TEXT NOT NULL DEFAULT '';

-- The chain head written down from time to time, optionally signed (HMAC-SHA256) with a key
-- the database does not hold: a rewrite of the chain up to a checkpoint is detected.
CREATE TABLE IF NOT EXISTS sentinel_checkpoints (
    seq  BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at   TEXT NOT NULL,
    mac  TEXT
);
