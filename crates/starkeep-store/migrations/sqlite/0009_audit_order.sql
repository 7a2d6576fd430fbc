-- Events in the order they were recorded: two changes within one millisecond (a fast store
-- records several) keep their order in `starkeep audit`. Each event takes the next number.
ALTER TABLE audit_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_events SET seq = (SELECT COUNT(*) FROM audit_events AS earlier
                               WHERE earlier.at_ms < audit_events.at_ms
                                  OR (earlier.at_ms = audit_events.at_ms AND earlier.id <= audit_events.id));
CREATE INDEX audit_events_by_seq ON audit_events (seq);
