-- Sentinel's durable state. Portable SQL: the same migration runs on SQLite and PostgreSQL.
-- Times are RFC 3339 UTC text with microseconds; JSON columns hold serde_json text.

CREATE TABLE IF NOT EXISTS sentinel_actions (
    id              TEXT PRIMARY KEY,
    agent_id        TEXT NOT NULL,
    action_name     TEXT NOT NULL,
    idempotency_key TEXT,
    action_json     TEXT NOT NULL,
    action_hash     TEXT NOT NULL,
    state           TEXT NOT NULL,
    decision_json   TEXT,
    approval_json   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deadline        TEXT,
    executed_at     TEXT,
    UNIQUE (agent_id, idempotency_key)
);

CREATE INDEX IF NOT EXISTS sentinel_actions_state ON sentinel_actions (state);

-- Append-only audit log; each record carries the hash of the one before (a hash chain).
CREATE TABLE IF NOT EXISTS sentinel_audit (
    seq         BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    action_name TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    channel     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS sentinel_audit_action ON sentinel_audit (action_id, seq);

-- The head of the chain: one row. Every write locks it first, which serialises appends and
-- makes idempotency checks race-free on both databases.
CREATE TABLE IF NOT EXISTS sentinel_chain (
    id        INTEGER PRIMARY KEY,
    last_seq  BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

INSERT INTO sentinel_chain (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT DO NOTHING;
