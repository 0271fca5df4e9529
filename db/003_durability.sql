-- 003_durability.sql: nothing is served before both databases hold it.
--
-- A synchronous commit that the server cancels at its commit deadline
-- (the standby froze or went away) stays committed on the primary, so
-- without more, readers on the primary would see a key, a version or a
-- delete that the standby may never get.  Every key write therefore
-- marks what it changes as unsettled:
--
--   keys.pending          the key was created by a write not yet known
--                         to be on the standby
--   key_versions.pending  the same for a version (create's version 0, a
--                         rollover's new one)
--   keys.deleting         a delete was written; the row goes once the
--                         delete is known to be on the standby
--
-- Once the write is acknowledged (the standby applied it), the writing
-- server settles it: clears the flags, or removes the deleted key.  A
-- reader that finds a flag on a primary asks the standby, whose rows are
-- on both nodes by construction; when the standby cannot answer, the
-- reader uses only settled rows.  A reader on a standby ignores pending
-- (everything a standby holds, the primary holds too) and treats a
-- deleting key as gone.  See db/DURABILITY.md.
--
-- Existing rows were written by acknowledged writes: they start settled.

ALTER TABLE keys ADD COLUMN pending boolean NOT NULL DEFAULT false;
ALTER TABLE keys ADD COLUMN deleting boolean NOT NULL DEFAULT false;
ALTER TABLE key_versions ADD COLUMN pending boolean NOT NULL DEFAULT false;

-- What the settler looks for, small because settled rows are left out.
CREATE INDEX keys_unsettled ON keys (id) WHERE pending OR deleting;
CREATE INDEX key_versions_unsettled ON key_versions (key_id, version)
	WHERE pending;

-- A delete is now first an UPDATE of deleting: caches must drop then.
DROP TRIGGER keys_cache_epoch ON keys;
CREATE TRIGGER keys_cache_epoch
	AFTER UPDATE OF current_version, deleting OR DELETE ON keys
	FOR EACH ROW EXECUTE FUNCTION keyward_bump_cache_epoch();
