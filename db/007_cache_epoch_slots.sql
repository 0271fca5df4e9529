-- 007_cache_epoch_slots.sql: the cache epoch in slots, so that rollovers
-- of different keys do not wait for each other.
--
-- Until now every rollover and delete bumped the one cache_epoch row in
-- its own transaction (002).  The row lock is held until the commit, and
-- a commit waits for the synchronous standby (remote_apply), so all
-- rollovers of the pair went one after another, whatever key they
-- rolled: with 8 or more concurrent rollovers the backends waited on
-- that row (Lock/transactionid and tuple locks on cache_epoch), and
-- throughput stayed at one commit's latency.
--
-- Now there are 1024 rows; a change of key K bumps row 1 + K % 1024, so
-- two writes collide only when their keys share a slot (or are the same
-- key, which its own row serialises anyway).  The epoch a server
-- compares is the sum of all rows: every bump moves it, and it never
-- goes back.  The settle sweep bumps a slot drawn at random.  Row 1
-- keeps the epoch so far, so the sum carries on from it.

ALTER TABLE cache_epoch DROP CONSTRAINT cache_epoch_id_check;
ALTER TABLE cache_epoch ADD CONSTRAINT cache_epoch_id_check
	CHECK (id BETWEEN 1 AND 1024);
INSERT INTO cache_epoch (id, epoch)
	SELECT g, 0 FROM generate_series(2, 1024) AS g
	ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION keyward_bump_cache_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE cache_epoch SET epoch = epoch + 1
		    WHERE id = 1 + OLD.id % 1024;
	ELSE
		UPDATE cache_epoch SET epoch = epoch + 1
		    WHERE id = 1 + NEW.id % 1024;
	END IF;
	RETURN NULL;
END
$$;
