-- The reconciler's schedule lives with the lease: when the instance's next reconcile is due
-- (milliseconds on the store's clock), whoever holds the lease then. And each run records the
-- replica that made it.
ALTER TABLE sync_leases ADD COLUMN next_run_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN holder TEXT NOT NULL DEFAULT '';
