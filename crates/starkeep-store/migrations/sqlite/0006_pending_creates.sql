-- Account creates on SQL engines that have begun and not yet finished. A row is written before
-- the CREATE USER and removed once the account is whole (or was never made); a row that outlives
-- its request (a timeout, a lost backend, a killed process) tells the repair loop which account
-- to check and, if it never reached its commit point, drop.
CREATE TABLE pending_creates (
    attempt      TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    started_at   BIGINT NOT NULL
);
CREATE INDEX pending_creates_started ON pending_creates (started_at);
