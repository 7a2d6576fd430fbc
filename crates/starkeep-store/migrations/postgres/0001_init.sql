-- starkeep metadata, version 1 (PostgreSQL). Mirrors migrations/sqlite/0001_init.sql.
-- Names use the "C" collation so that ORDER BY name gives the same byte order as SQLite.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE iam_users (
    id             TEXT PRIMARY KEY,
    name           TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE project_roles (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'readonly')),
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE instances (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id),
    name              TEXT NOT NULL,
    engine            TEXT NOT NULL,
    settings          TEXT NOT NULL,
    sync_enabled      BIGINT NOT NULL DEFAULT 0,
    sync_changed_at   BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX instances_by_project ON instances (project_id, id);

CREATE TABLE embedded_accounts (
    instance_id    TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name           TEXT COLLATE "C" NOT NULL,
    password_hash  TEXT NOT NULL,
    dml            BIGINT NOT NULL CHECK (dml BETWEEN 0 AND 3),
    ddl            BIGINT NOT NULL CHECK (ddl BETWEEN 0 AND 1),
    databases      TEXT NOT NULL,
    is_system      BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (instance_id, name)
);
