-- The budget ledger: each action's share of each budget (`budget` and `rate` conditions)
-- it counts towards, written when the action is decided and removed when it ends without
-- running. A window's figure is the sum and count of a key's entries younger than it.

CREATE TABLE IF NOT EXISTS sentinel_budget_ledger (
    -- The budget (pack/rule and the condition's JSON pointer) and its `per` values.
    budget_key TEXT NOT NULL,
    action_id  TEXT NOT NULL,
    -- The summed value, or 1 for a rate.
    amount     DOUBLE PRECISION NOT NULL,
    -- When the action was decided, in milliseconds since the Unix epoch.
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (budget_key, action_id)
);

CREATE INDEX IF NOT EXISTS sentinel_budget_ledger_action
    ON sentinel_budget_ledger (action_id);
