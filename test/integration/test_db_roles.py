"""Least privilege in the database (db/004_roles.sql): keyward-server
connects as keyward_server, which may run its statements on keyward's
tables and nothing else; replication uses keyward_repl, which reads no
table; the superuser is reachable only over the node's Unix socket.  An
install from before the roles gets them from `keyward-admin db migrate`.
The pair tests (test_pair_*) run on this layout and show that the pair
still replicates, fails over and rejoins."""

import os
import re

import pytest

import kwclient
import kwtest
from kwclient import ok_json
from kwtest import ADMIN_BIN, REPL_ROLE, SERVER_ROLE, SUPERUSER, run
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  bindir, create_key, current_material)

# What keyward_server must not do: (what, SQL, the refusal PostgreSQL gives)
FORBIDDEN = [
    ("create a table", "CREATE TABLE evil (x int)",
     "permission denied for schema public"),
    ("create a temporary table", "CREATE TEMP TABLE evil (x int)",
     "permission denied to create temporary tables"),
    ("drop a table", "DROP TABLE key_versions", "must be owner of table"),
    ("alter a table", "ALTER TABLE keys ADD COLUMN evil int",
     "must be owner of table"),
    ("create a function",
     "CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
     "permission denied for schema public"),
    ("read pg_authid", "SELECT rolpassword FROM pg_authid",
     "permission denied for table pg_authid"),
    ("run a program", "COPY (SELECT 1) TO PROGRAM 'true'",
     "pg_execute_server_program role to COPY to or from an external program"),
    ("write a server file", "COPY (SELECT 1) TO '/tmp/keyward-evil'",
     "pg_write_server_files role to COPY to a file"),
    ("create a role", "CREATE ROLE evil", "permission denied to create role"),
    ("write the check value", "UPDATE kek_check SET created_ms = 0",
     "permission denied for table kek_check"),
    ("write the schema version", "DELETE FROM schema_version",
     "permission denied for table schema_version"),
]


def refused(res, why):
    """res (rc, out, err) of psql failed saying why."""
    rc, out, err = res
    assert rc != 0, "succeeded, expected %r:\n%s" % (why, out)
    assert why in err, "refused with %r, expected %r" % (err.strip(), why)


def role_attrs(pg, dbname, role):
    """(super, createrole, createdb, replication, bypassrls, login)."""
    rc, out, err = pg.psql(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, "
        "rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = '%s'"
        % role, dbname)
    assert out.strip(), "no role %s" % role
    return tuple(v == "t" for v in out.strip().split("\t"))


@pytest.fixture(scope="module")
def srv(servers):
    """A migrated single node whose server connects as keyward_server."""
    return servers.start()


def test_server_connects_as_its_role(srv):
    conf = kwtest.conf_read(srv.conf)["db"]
    assert "user=%s" % SERVER_ROLE in conf["local"], conf
    assert "user=%s" % SUPERUSER in conf["admin"], conf
    # its connections, seen by the superuser, are the role's
    c = srv.client()
    create_key(c, "roles-who")
    rc, out, _e = srv.pg.psql(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = "
        "current_database() AND application_name <> 'psql' AND pid <> "
        "pg_backend_pid()", srv.dbname)
    assert out.split() == [SERVER_ROLE], out


def test_server_role_attributes(srv):
    assert role_attrs(srv.pg, srv.dbname, SERVER_ROLE) == \
        (False, False, False, False, False, True)
    rc, out, _e = srv.pg.psql(
        "SELECT pg_has_role('%s', 'pg_monitor', 'USAGE')" % SERVER_ROLE,
        srv.dbname)
    assert out.strip() == "t", "keyward_server is not in pg_monitor"


@pytest.mark.parametrize("what,sql,why", FORBIDDEN,
                         ids=[f[0] for f in FORBIDDEN])
def test_server_role_may_not(srv, what, sql, why):
    refused(srv.pg.psql(sql, srv.dbname, user=SERVER_ROLE, check=False), why)


def test_server_role_runs_every_key_operation(srv):
    c = srv.client()
    mat0 = create_key(c, "roles-ops", 256)
    kv = ok_json(c.roll("roles-ops"))
    mat1 = kwclient.assert_keyversion(kv, "roles-ops", 1, 256)
    assert current_material(c, "roles-ops", 1, 256) == mat1 != mat0
    md = ok_json(c.metadata("roles-ops"))
    assert md["versions"] == 2, md
    assert "roles-ops" in ok_json(c.names())
    eek = ok_json(c.generate("roles-ops", 1))[0]
    iv, emat = kwclient.assert_eek(eek, "roles-ops", 1, 256)
    dek = kwclient.assert_dek(ok_json(c.decrypt(eek)), "roles-ops", 256)
    assert dek == kwclient.eek_decrypt(mat1, iv, emat)
    assert c.delete_key("roles-ops").status == 200
    assert "roles-ops" not in ok_json(c.names())


def test_replication_role_reads_no_table(srv):
    assert role_attrs(srv.pg, srv.dbname, REPL_ROLE) == \
        (False, False, False, True, False, True)
    for table in ("keys", "key_versions", "kek_check", "cache_epoch"):
        refused(srv.pg.psql("SELECT * FROM %s" % table, srv.dbname,
                            user=REPL_ROLE, check=False),
                "permission denied for table %s" % table)
    rc, out, _e = srv.pg.psql(
        "SELECT pg_has_role('%s', 'pg_monitor', 'USAGE')" % REPL_ROLE,
        srv.dbname)
    assert out.strip() == "f"


def old_install(servers, pg, name):
    """A database as keyward-admin made it before the roles: migrations
    001 and 002 applied by the superuser, which [db] local names."""
    s = servers.make(name=name)
    db = pg.createdb("old")
    sql = ["CREATE TABLE schema_version (version int PRIMARY KEY, "
           "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"]
    for f in ("001_schema.sql", "002_cache_epoch.sql"):
        with open(os.path.join(kwtest.REPO, "db", f)) as fh:
            sql.append(fh.read())
        sql.append("INSERT INTO schema_version (version, name) VALUES "
                   "(%d, '%s')" % (int(f[:3]), f))
    path = os.path.join(s.dir, "old.sql")
    with open(path, "w") as fh:
        fh.write(";\n".join(sql) + ";\n")
    run([os.path.join(pg.bindir(), "psql"), "-X", "-q", "-v",
         "ON_ERROR_STOP=1", "-d", pg.conninfo(db), "-f", path],
        env=pg.client_env())
    kwtest.conf_set(s.conf, {("db", "local"): pg.conninfo(db),
                             ("db", "admin"): None})
    return s, db


def test_old_install_gets_the_roles_from_migrate(servers, pg):
    s, db = old_install(servers, pg, "kw-old")
    grants = ("SELECT has_table_privilege('%s', 'keys', 'INSERT'), "
              "has_table_privilege('%s', 'key_versions', 'DELETE'), "
              "has_table_privilege('%s', 'cache_epoch', 'UPDATE'), "
              "has_table_privilege('%s', 'kek_check', 'SELECT'), "
              "has_table_privilege('%s', 'kek_check', 'INSERT'), "
              "has_schema_privilege('%s', 'public', 'CREATE')"
              % ((SERVER_ROLE,) * 6))
    # db migrate as the old config has it: [db] local is the superuser
    _rc, out, _e = run([ADMIN_BIN, "db", "migrate", "-c", s.conf])
    assert re.search(r"schema at version (\d+)", out), out
    assert "roles %s and %s have the password" % (SERVER_ROLE, REPL_ROLE) \
        in out, out
    _rc, got, _e = pg.psql(grants, db)
    assert got.split("\t") == ["t", "t", "t", "t", "f", "f\n"], got
    for what, sql, why in FORBIDDEN:
        refused(pg.psql(sql, db, user=SERVER_ROLE, check=False), why)
    # the operator switches the server to its role: it works
    kwtest.conf_set(s.conf, {("db", "local"): pg.conninfo(db, SERVER_ROLE),
                             ("db", "admin"): pg.conninfo(db)})
    run([ADMIN_BIN, "db", "migrate", "-c", s.conf])
    s.start()
    try:
        c = s.client()
        mat = create_key(c, "old-1")
        assert current_material(c, "old-1", 0) == mat
        ok_json(c.roll("old-1"))
        assert c.delete_key("old-1").status == 200
    finally:
        s.stop()


# ------------------------------------------------------------------ pair

def test_pair_superuser_only_over_the_socket(pair):
    """Over TCP the superuser is refused (pg_hba.conf); the server's role
    gets only the keyward database; the standby streams as keyward_repl."""
    for db in pair.dbs:
        rows = db.psql("SELECT current_user")      # the socket: fine
        assert rows == [[SUPERUSER]], rows
        for user, dbname in ((SUPERUSER, "keyward"), (SUPERUSER, "postgres"),
                             (SERVER_ROLE, "postgres"),
                             (REPL_ROLE, "postgres")):
            rc, _o, err = run([os.path.join(bindir(), "psql"), "-X", "-At",
                               "-d", db.conninfo(dbname, user), "-c",
                               "SELECT 1"], env=db.env(), check=False)
            assert rc != 0 and "no pg_hba.conf entry" in err, \
                (user, dbname, err)
    rows = pair.db_a.psql("SELECT usename, application_name FROM "
                          "pg_stat_replication")
    assert rows == [[REPL_ROLE, "kw_b"]], rows
    rows = pair.db_a.psql("SELECT DISTINCT usename FROM pg_stat_activity "
                          "WHERE datname = 'keyward' AND application_name "
                          "NOT IN ('psql', 'keyward-admin')")
    assert rows == [[SERVER_ROLE]], rows
    # the server's role on the primary, over TCP as the server connects
    for what, sql, why in FORBIDDEN:
        refused(run([os.path.join(bindir(), "psql"), "-X", "-At", "-d",
                     pair.db_a.conninfo(), "-c", sql], env=pair.db_a.env(),
                    check=False), why)


def test_pair_hba_names_only_the_roles(pair):
    for db in pair.dbs:
        with open(os.path.join(db.datadir, "pg_hba.conf")) as f:
            lines = [ln.split() for ln in f
                     if ln.strip() and not ln.startswith("#")]
        tcp = [ln for ln in lines if ln[0] in ("host", "hostssl")]
        assert tcp and all(ln[-1] == "scram-sha-256" for ln in tcp), lines
        assert {(ln[1], ln[2]) for ln in tcp} == {
            ("keyward", SERVER_ROLE), ("replication", REPL_ROLE),
            ("keyward", REPL_ROLE)}, tcp
        local = [ln for ln in lines if ln[0] == "local"]
        assert {ln[2] for ln in local} == {SUPERUSER}, local
        assert all(ln[3] == "peer" for ln in local), local


def test_scripts_use_no_pgpassword():
    """The scripts and the test harness hand passwords to PostgreSQL's
    programs through private password files, never PGPASSWORD in the
    environment.  (keyward-backup and keyward-restore are not covered
    here.)"""
    files = ["scripts/keyward-init", "scripts/keyward-localdb",
             "scripts/keyward-run", "test/integration/pair.py",
             "test/integration/kwtest.py", "test/integration/conftest.py"]
    for f in files:
        with open(os.path.join(kwtest.REPO, f)) as fh:
            text = fh.read()
        uses = [ln for ln in text.splitlines() if "PGPASSWORD" in ln and
                "pop(" not in ln and "never" not in ln]
        assert not uses, "%s sets PGPASSWORD: %r" % (f, uses)
