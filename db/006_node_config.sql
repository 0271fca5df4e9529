-- 006_node_config.sql: what each server's configuration looks like, so
-- the two nodes of a pair can tell when theirs differ (drift).
--
-- One row per node, upserted by that node's server at start, after each
-- reload of the access control file, and retried by its cluster monitor
-- while the pair cannot take writes.  A row holds fingerprints, never a
-- secret: the SHA-256 of the acls.conf text in force, an HMAC-SHA256 of a
-- fixed constant under the cookie secret (NULL without pseudo auth), the
-- server's version and the schema version it runs against.  Each
-- server's monitor reads its peer's row and compares it with its own.

CREATE TABLE node_config (
	node		text PRIMARY KEY,
	acl_sha256	text NOT NULL,
	cookie_hmac	text,
	version		text NOT NULL,
	schema_version	integer NOT NULL,
	seen_ms		bigint NOT NULL		-- ms since the epoch
);

GRANT SELECT, INSERT, UPDATE ON node_config TO keyward_server;
