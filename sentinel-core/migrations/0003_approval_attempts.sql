-- Approval attempts: each try at getting a human's answer about a pending action through one
-- channel (a phone call...), so that a restarted process or another instance carries on.
-- Channel-agnostic: the channel serialises its own state into state_json.

CREATE TABLE IF NOT EXISTS sentinel_approval_attempts (
    action_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL,
    state_json TEXT NOT NULL,
    -- Incremented by every write; writers update only over the version they read.
    version    BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (action_id, seq)
);

CREATE INDEX IF NOT EXISTS sentinel_approval_attempts_status
    ON sentinel_approval_attempts (status);

-- The ids a channel's provider gives an attempt (a call's call_control_id, leg and session
-- ids): a webhook finds its attempt by any of them.
CREATE TABLE IF NOT EXISTS sentinel_attempt_ids (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

CREATE INDEX IF NOT EXISTS sentinel_attempt_ids_attempt
    ON sentinel_attempt_ids (action_id, seq);
