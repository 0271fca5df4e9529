-- 002_cache_epoch.sql: a counter that moves whenever a key's current
-- version changes or a key is deleted.
--
-- Each server caches unwrapped versions and each key's current version.
-- A rollover or delete through one node must not leave the other node
-- serving the old current version, or the material of a deleted key under
-- a name created again.  The trigger bumps cache_epoch in the same
-- transaction (so it replicates with the change); each server's cluster
-- monitor reads it every monitor interval and empties its cache when it
-- moved.  Creates do not bump it: a new name has nothing cached.  The
-- trigger is per row, so a statement that changes nothing (a refused
-- roll, a delete of a missing key) writes nothing either.

CREATE TABLE cache_epoch (
	id	int PRIMARY KEY CHECK (id = 1),
	epoch	bigint NOT NULL
);
INSERT INTO cache_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION keyward_bump_cache_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cache_epoch SET epoch = epoch + 1 WHERE id = 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER keys_cache_epoch
	AFTER UPDATE OF current_version OR DELETE ON keys
	FOR EACH ROW EXECUTE FUNCTION keyward_bump_cache_epoch();
