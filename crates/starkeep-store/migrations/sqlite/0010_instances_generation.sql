-- A number that grows with every change to the instances table, whoever makes it (`serve`, the
-- command line, another process): one cheap read tells a process that the instances it looked
-- up are still as they were, while audit events and accounts commit all the time.
CREATE TABLE store_generations (
    what  TEXT PRIMARY KEY,
    n     BIGINT NOT NULL
);
INSERT INTO store_generations (what, n) VALUES ('instances', 0);
CREATE TRIGGER instances_generation_on_insert AFTER INSERT ON instances
BEGIN
    UPDATE store_generations SET n = n + 1 WHERE what = 'instances';
END;
CREATE TRIGGER instances_generation_on_update AFTER UPDATE ON instances
BEGIN
    UPDATE store_generations SET n = n + 1 WHERE what = 'instances';
END;
CREATE TRIGGER instances_generation_on_delete AFTER DELETE ON instances
BEGIN
    UPDATE store_generations SET n = n + 1 WHERE what = 'instances';
END;
