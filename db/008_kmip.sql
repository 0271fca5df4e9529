-- 008_kmip.sql: the managed objects of the KMIP listener (kmip/).
--
-- One row per KMIP object (today: symmetric keys).  The Unique
-- Identifier is the server's; the material is wrapped under the active
-- master key like key_versions.wrapped (kek_id names the KEK, the
-- wrapping binds "kmip:<uid>") and is dropped (NULL) when the object is
-- destroyed, while the row and its attributes stay, as KMIP wants.
--
-- state is KMIP's State enumeration (1 Pre-Active, 2 Active,
-- 3 Deactivated, 4 Compromised, 5 Destroyed, 6 Destroyed Compromised);
-- the *_ms columns are its dates (ms since the epoch, NULL: not yet).
-- attrs holds the attributes a client names and searches by, as JSON:
-- {"name": [..], "asi": [{"ns": .., "data": ..}], "group": [..],
--  "custom": {"x-..": [..]}}; Locate matches them with @>.
--
-- pending is the durability mark of 003_durability.sql: a write sets it
-- in the statement that writes; the writing server clears it once the
-- write is acknowledged; a reader on a primary never uses a pending row
-- without the standby confirming it (db/kmipsql.c, db/DURABILITY.md).

CREATE TABLE kmip_objects (
	uid		text PRIMARY KEY,
	object_type	int NOT NULL,
	state		int NOT NULL CHECK (state BETWEEN 1 AND 6),
	algorithm	int NOT NULL,
	length		int NOT NULL CHECK (length > 0),
	usage_mask	int NOT NULL DEFAULT 0,
	attrs		jsonb NOT NULL DEFAULT '{}',
	kek_id		text NULL,
	wrapped		bytea NULL,
	initial_ms	bigint NOT NULL,
	activation_ms	bigint NULL,
	deactivation_ms	bigint NULL,
	compromise_ms	bigint NULL,
	destroy_ms	bigint NULL,
	revocation	int NULL,		-- Revocation Reason Code
	last_change_ms	bigint NOT NULL,
	rev		bigint NOT NULL DEFAULT 1,	-- counts writes: updates
						-- and settling check it
	pending		boolean NOT NULL DEFAULT true,
	CHECK ((kek_id IS NULL) = (wrapped IS NULL))
);

CREATE INDEX kmip_objects_attrs ON kmip_objects USING gin (attrs);
CREATE INDEX kmip_objects_kek ON kmip_objects (kek_id) WHERE kek_id IS NOT NULL;
CREATE INDEX kmip_objects_unsettled ON kmip_objects (uid) WHERE pending;

GRANT SELECT, INSERT, UPDATE, DELETE ON kmip_objects TO keyward_server;
