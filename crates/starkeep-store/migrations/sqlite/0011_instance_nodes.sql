-- Extra backends of an instance for `starkeep proxy`: row read replicas and more column nodes,
-- each with its share of its kind's load.
CREATE TABLE instance_nodes (
    instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    addr        TEXT NOT NULL,
    weight      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (instance_id, kind, addr)
);
