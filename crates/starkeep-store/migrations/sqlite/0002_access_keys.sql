-- Access keys (AK/SK) of IAM users, for requests signed with SDK-HMAC-SHA256. The secret key is
-- needed to check signatures, so it is kept sealed (AES-GCM, "v1:..." from starkeep-auth's
-- secret box), never in plain text. A key belongs to one user in one project.
CREATE TABLE access_keys (
    access_key     TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX access_keys_by_project ON access_keys (project_id, access_key);
