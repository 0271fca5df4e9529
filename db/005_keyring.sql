-- 005_keyring.sql: a keyring of master keys (KEKs), rotation and rewrap.
--
-- kek_check (001) keeps its one row, which now means the *active* master
-- key: the one every server wraps new versions under.  Rotation is an
-- UPDATE of that row, a write like any other (acknowledged by both
-- databases).  Each server's cluster monitor reads it every probe, so
-- both pick a rotation up without a restart.  An older server that only
-- knew one master key still finds the check value where it looked.
--
-- kek_holders: the KEKs each server holds in its keyring, recorded by
-- the server at start and after every reload.  A rotation is refused
-- unless every node of the pair holds the new KEK (same check value), so
-- no server is ever asked to unwrap what it cannot.
--
-- Existing versions keep their kek_id until the servers' background
-- rewrap moves them to the active KEK, batch by batch, each batch one
-- acknowledged write that changes kek_id and wrapped (never the
-- material).  The index serves the rewrap (versions not under the
-- active KEK, two range scans), the count of versions per KEK (status,
-- the refusal to retire a KEK still referred to) and the start check
-- that a server holds every KEK a version is wrapped under.

CREATE TABLE kek_holders (
	node		text NOT NULL,
	kek_id		text NOT NULL,
	check_value	bytea NOT NULL,
	seen_ms		bigint NOT NULL,	-- ms since the epoch
	PRIMARY KEY (node, kek_id)
);

CREATE INDEX key_versions_kek ON key_versions (kek_id, key_id, version);

-- Servers record what they hold; only the superuser ([db] admin, used
-- by keyward-admin master-key rotate) changes which key is active.
GRANT SELECT, INSERT, UPDATE, DELETE ON kek_holders TO keyward_server;
