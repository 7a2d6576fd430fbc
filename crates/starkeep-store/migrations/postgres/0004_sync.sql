-- Account sync state.
-- Which target accounts sync created: 'pending' is written before the CREATE, 'owned' after it,
-- so a crash in between leaves a record that the next run resolves (never an orphan).
CREATE TABLE sync_ownership (
    instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'owned')),
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (instance_id, name)
);

-- Who reconciles an instance now: one holder at a time, until the lease expires.
CREATE TABLE sync_leases (
    instance_id  TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    holder       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- The last reconcile of each instance; the report is JSON (counts and per-account reasons).
CREATE TABLE sync_runs (
    instance_id  TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    started_at   BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    report       TEXT NOT NULL
);
