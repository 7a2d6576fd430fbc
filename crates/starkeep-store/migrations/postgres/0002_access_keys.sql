-- Access keys (AK/SK) of IAM users (PostgreSQL). Mirrors migrations/sqlite/0002_access_keys.sql:
-- the secret key is kept sealed by starkeep-auth's secret box, never in plain text.
CREATE TABLE access_keys (
    access_key     TEXT COLLATE "C" PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX access_keys_by_project ON access_keys (project_id, access_key);
