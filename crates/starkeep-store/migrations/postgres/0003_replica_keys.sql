-- Keys that every replica must share (token signing, secret encryption), sealed with the
-- operator's master key. Used when the store is shared (PostgreSQL); kept in the SQLite schema
-- too so that both stores have the same tables.
CREATE TABLE replica_keys (
    name        TEXT PRIMARY KEY,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
