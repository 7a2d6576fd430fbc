-- Account sync onto a target that does not show stored password hashes (StarRocks): the hash
-- sync last applied to each account it owns, sealed with the store's secret key, so that a
-- reconcile can tell whether the source's hash changed without asking the target. NULL: none
-- recorded (the next reconcile applies the source's hash once and records it).
ALTER TABLE sync_ownership ADD COLUMN applied_hash TEXT;
