-- 004_roles.sql: a role for each actor, none of them the superuser.
--
--   keyward_server  what keyward-server connects as ([db] local and
--                   peer): the statements it runs on keyward's tables
--                   and pg_monitor (pg_stat_replication's sync state and
--                   reply times read NULL without it).  It cannot create,
--                   alter or drop anything, read pg_authid, run
--                   COPY ... PROGRAM or make roles.
--   keyward_repl    what the standby streams as (REPLICATION), and what
--                   keyward-admin's pg_basebackup and pg_rewind use on the
--                   other node.  pg_rewind reads the source's data
--                   directory through four functions, granted here in the
--                   keyward database (the one it connects to); it reads
--                   no table.
--
-- The database superuser stays as initdb made it; keyward-admin reaches it
-- only over the node's Unix socket ([db] admin).  The roles and their
-- grants replicate like everything else, so the standby has them too.
-- Every statement is idempotent: a role made by hand or by an earlier run
-- is brought to these attributes.  The passwords are not set here (a
-- migration holds no secret): `keyward-admin db migrate` sets both from
-- [db] password_file after the migrations, as SCRAM verifiers.
--
-- Privileges are granted on whole tables, so a column a later migration
-- adds is covered; a migration that adds a table grants keyward_server
-- what the server does with it.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keyward_server')
	THEN
		CREATE ROLE keyward_server;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keyward_repl')
	THEN
		CREATE ROLE keyward_repl;
	END IF;
END
$$;

ALTER ROLE keyward_server LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	INHERIT NOREPLICATION NOBYPASSRLS;
ALTER ROLE keyward_repl LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOINHERIT REPLICATION NOBYPASSRLS;
GRANT pg_monitor TO keyward_server;

-- Nobody but the owner creates objects here or temporary tables.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DO $$
BEGIN
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC',
	    current_database());
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON keys, key_versions, cache_epoch
	TO keyward_server;
GRANT SELECT ON kek_check, schema_version TO keyward_server;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO keyward_server;

-- pg_rewind with an online source (PostgreSQL's pg_rewind documentation).
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean)
	TO keyward_repl;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean)
	TO keyward_repl;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text)
	TO keyward_repl;
GRANT EXECUTE ON FUNCTION
	pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)
	TO keyward_repl;
