-- 001_schema.sql: keyward's first schema.
--
-- Run by the migrator (db/migrate.c) inside one transaction that also
-- records the version in schema_version, so this file holds no BEGIN or
-- COMMIT.  The migrator creates schema_version itself.
--
-- Key material is never stored here in clear: key_versions.wrapped is
-- AES-256-GCM under the master key identified by kek_id.

-- One row per key.  current_version is the highest version; versions are
-- numbered 0, 1, ... without gaps, so a key has current_version + 1 of them.
CREATE TABLE keys (
	id		bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	cipher		text NOT NULL,
	length		int NOT NULL CHECK (length IN (128, 256)),
	description	text NULL,
	attributes	text NULL,		-- JSON object text, as given
	created_ms	bigint NOT NULL,	-- ms since the epoch
	current_version	int NOT NULL DEFAULT 0 CHECK (current_version >= 0)
);

-- Immutable once written; rollover appends one row.
CREATE TABLE key_versions (
	key_id		bigint NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
	version		int NOT NULL CHECK (version >= 0),
	kek_id		text NOT NULL,
	wrapped		bytea NOT NULL,
	created_ms	bigint NOT NULL,
	PRIMARY KEY (key_id, version)
);

-- The master-key check value: a server whose master key does not produce
-- this value refuses to start.  At most one row.
CREATE TABLE kek_check (
	id		int PRIMARY KEY CHECK (id = 1),
	kek_id		text NOT NULL,
	check_value	bytea NOT NULL,
	created_ms	bigint NOT NULL
);
