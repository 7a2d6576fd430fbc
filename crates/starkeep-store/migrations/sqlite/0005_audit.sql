-- The audit trail: one row per change requested through the API (never a password).
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    at_ms        BIGINT NOT NULL,
    request_id   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    action       TEXT NOT NULL,
    account      TEXT,
    status       BIGINT NOT NULL,
    error_code   TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (at_ms);
