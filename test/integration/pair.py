"""pair: an active/passive keyward pair for the failure tests.

Two nodes, each a keyward-server plus its own PostgreSQL 15 instance; the
databases are a primary and a hot standby with synchronous streaming
replication (remote_apply, synchronous_standby_names = '*').  Node A's
database listens on 127.0.0.1, node B's on 127.0.0.2 (each with its Unix
socket beside its own data directory); both servers listen on 127.0.0.1 (the
shared HTTPS client connects there) on ports of their own.

What this module owns: building a pair (from a data directory template
made once per session, so a pair costs a copy, a base backup and two
server starts), the failure actions (SIGKILL, SIGSTOP/SIGCONT of a
database's postmaster and its children, by the PIDs read from
postmaster.pid and `ps --ppid`, never by name), promotion and rejoin, and
waiting for the pair to be writable.  When keyward-admin has the pair
commands (db bootstrap, db init-passive, db enable-sync, promote,
rejoin), the pair is driven through them, so the tests cover them too;
otherwise it is set up with PostgreSQL's tools directly.  KEYWARD_PAIR_PG=1
forces the PostgreSQL tools.

Everything started is stopped at teardown (a frozen database is thawed
first) and again at interpreter exit; the data directories are removed
unless KEYWARD_TEST_KEEP is set, the logs stay in the session's temp dir.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import kwclient
import kwtest
from kwtest import ADMIN_BIN, LOCALDB, run

RUN_USER = os.environ.get("KEYWARD_LOCALDB_USER", "keyward")
IS_ROOT = os.geteuid() == 0
HOST_A = "127.0.0.1"
HOST_B = "127.0.0.2"
DBNAME = "keyward"

# bounds on the waits in this module (seconds)
PG_CMD_TIMEOUT = 60.0
SYNC_TIMEOUT = 20.0
WRITABLE_TIMEOUT = 20.0
PSQL_TIMEOUT = 10.0
CHILD_EXIT_TIMEOUT = 10.0

# settings shared by both databases (appended to the template's
# postgresql.conf; node-specific ones go to keyward-node.conf)
SHARED_PG_CONF = """
# added by test/integration/pair.py
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_log_hints = on
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
wal_sender_timeout = 5s
wal_receiver_timeout = 5s
wal_retrieve_retry_interval = 1s
synchronous_commit = remote_apply
synchronous_standby_names = ''
log_line_prefix = '%m [%p] %q%u@%d '
include = 'keyward-node.conf'
"""

HBA_EXTRA = """
# added by test/integration/pair.py: both nodes' database addresses
host    all          keyward   127.0.0.0/8          scram-sha-256
host    replication  keyward   127.0.0.0/8          scram-sha-256
"""

_bindir = None
_LIVE_PAIRS = []


def bindir():
    global _bindir
    if _bindir is None:
        _bindir = os.environ.get("PG_BINDIR") or \
            run(["pg_config", "--bindir"])[1].strip()
    return _bindir


def as_pg_user(cmd):
    """cmd (a list) run as the database service user when we are root."""
    if IS_ROOT:
        return ["runuser", "-u", RUN_USER, "--"] + cmd
    return cmd


def chown_pg(path):
    if IS_ROOT:
        shutil.chown(path, RUN_USER, RUN_USER)


def use_admin():
    """Drive the pair through keyward-admin's pair commands?"""
    return all(admin_has(*c) for c in (("db", "bootstrap"),
                                       ("db", "init-passive"),
                                       ("db", "enable-sync"), ("promote",),
                                       ("rejoin",)))


def admin_has(*words):
    """Does keyward-admin have the command `words` (its --help exits 0)?"""
    if os.environ.get("KEYWARD_PAIR_PG"):
        return False
    try:
        p = subprocess.run([ADMIN_BIN, *words, "--help"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


# ------------------------------------------------------------ processes

def _proc_start_time(pid):
    """(start time, state) of a process from /proc, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[19], rest[0]        # starttime, state


class Proc:
    """A process remembered with its start time, so a recycled PID is
    never signalled."""

    def __init__(self, pid):
        self.pid = pid
        st = _proc_start_time(pid)
        self.start = st[0] if st else None

    def alive(self):
        st = _proc_start_time(self.pid)
        return st is not None and st[0] == self.start and st[1] != "Z"

    def gone(self):
        """Not even a zombie: PostgreSQL's lock-file check (kill(pid, 0))
        still counts a zombie postmaster as running."""
        st = _proc_start_time(self.pid)
        return st is None or st[0] != self.start

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def __repr__(self):
        return "<pid %d>" % self.pid


def postmaster_pid(datadir):
    """The PID in datadir's postmaster.pid, or None."""
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def postmaster_of(datadir):
    """A Proc of datadir's postmaster when it is alive, else None."""
    pid = postmaster_pid(datadir)
    p = Proc(pid) if pid is not None else None
    return p if p is not None and p.alive() else None


def children_of(pid):
    """The child processes of pid (ps --ppid)."""
    p = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    return [Proc(int(x)) for x in p.stdout.split()]


def wait_gone(procs, timeout):
    """Wait until none of procs runs; returns those still running."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in procs if p.alive()]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


# ------------------------------------------------------------ database

class PairDB:
    """One PostgreSQL instance of the pair: its data directory (owned by
    the service user), its log (outside the data directory, so a base
    backup or a rewind does not carry it over) and its processes."""

    def __init__(self, base, node, host, port, password_file, admin=False):
        self.node = node                    # "kw-a"
        self.admin = admin                  # started/stopped by keyward-admin
        self.slot = node.replace("-", "_")  # slot and application_name
        self.host = host
        self.port = port
        self.password_file = password_file
        self.dir = os.path.join(base, "db-" + node)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o700)
        chown_pg(self.dir)
        self.datadir = os.path.join(self.dir, "data")
        # keyward-admin keeps the log beside the data directory too
        self.logfile = self.datadir + ".log" if admin else \
            os.path.join(self.dir, "postgres.log")
        self.frozen = []                    # Procs stopped by freeze()
        self.killed = []                    # children left by kill()
        self.killed_pm = []                 # postmasters killed
        self._passfile = None

    # -- addresses
    @property
    def password(self):
        with open(self.password_file) as f:
            return f.readline().strip()

    def conninfo(self, dbname=DBNAME, user=None):
        """Over TCP as user: by default the server's role when the pair
        is set up by keyward-admin, else the superuser."""
        if user is None:
            user = kwtest.SERVER_ROLE if self.admin else kwtest.SUPERUSER
        return "host=%s port=%d dbname=%s user=%s" % (
            self.host, self.port, dbname, user)

    @property
    def sockdir(self):
        """The Unix socket's directory: keyward-admin's beside the data
        directory, pair.py's own in self.dir."""
        return self.datadir + ".sock" if self.admin else self.dir

    def admin_conninfo(self):
        """The superuser over the Unix socket ([db] admin)."""
        return "host=%s port=%d dbname=%s user=%s" % (
            self.sockdir, self.port, DBNAME, kwtest.SUPERUSER)

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    def env(self):
        """The environment of a client program: the password through a
        private password file the service user can read too."""
        if self._passfile is None:
            self._passfile = kwtest.PassFile(self.password, owner=RUN_USER)
        env = self._passfile.env()
        env["PGCONNECT_TIMEOUT"] = "3"
        for k in ("PGSERVICE", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
            env.pop(k, None)
        return env

    # -- files
    def write_node_conf(self):
        """keyward-node.conf: what differs between the two nodes (a base
        backup or rewind copies the other node's).  The Unix socket goes
        beside the data directory, not in it: pg_rewind fails on a socket
        in the source's data directory ("could not open file
        ".s.PGSQL.N" for reading: No such device or address")."""
        path = os.path.join(self.datadir, "keyward-node.conf")
        with open(path, "w") as f:
            f.write("# node %s (test/integration/pair.py)\n"
                    "listen_addresses = '%s'\nport = %d\n"
                    "unix_socket_directories = '%s'\ncluster_name = '%s'\n"
                    % (self.node, self.host, self.port, self.dir,
                       self.slot))
        os.chmod(path, 0o600)
        chown_pg(path)

    def write_standby_conf(self, primary):
        """standby.signal and where to stream from (appended to
        postgresql.auto.conf: the last setting wins)."""
        sig = os.path.join(self.datadir, "standby.signal")
        open(sig, "w").close()
        chown_pg(sig)
        ci = "host=%s port=%d user=keyward password=%s application_name=%s" % (
            primary.host, primary.port, self.password, self.slot)
        with open(os.path.join(self.datadir, "postgresql.auto.conf"), "a") as f:
            f.write("primary_conninfo = '%s'\nprimary_slot_name = '%s'\n"
                    % (ci.replace("'", "''"), self.slot))

    # -- process control
    def pid(self):
        """The postmaster's PID from postmaster.pid, or None."""
        return postmaster_pid(self.datadir)

    def postmaster(self):
        return postmaster_of(self.datadir)

    def running(self):
        return self.postmaster() is not None

    def pg_ctl(self, *args, timeout=PG_CMD_TIMEOUT, check=True):
        return run(as_pg_user([os.path.join(bindir(), "pg_ctl"), "-D",
                               self.datadir, *args]),
                   timeout=timeout, check=check)

    def start(self):
        """Start and wait until it accepts connections (after a kill:
        once the old processes are gone, or the lock file and shared
        memory still count as in use)."""
        self.reap()
        _track(self)
        if self.admin:
            run([ADMIN_BIN, "db", "start", "--datadir", self.datadir],
                timeout=PG_CMD_TIMEOUT + 30)
        else:
            self.pg_ctl("-l", self.logfile, "-w", "-t", "30", "-s", "start")

    def stop(self):
        """Fast shutdown; SIGKILL (postmaster and children) if it hangs.
        A frozen instance is thawed first."""
        self.thaw()
        if self.running():
            if self.admin:
                rc, _o, _e = run([ADMIN_BIN, "db", "stop", "--datadir",
                                  self.datadir], timeout=60, check=False)
            else:
                rc, _o, _e = self.pg_ctl("-m", "fast", "-w", "-t", "20",
                                         "-s", "stop", timeout=30,
                                         check=False)
            if rc != 0 and self.running():
                self.kill()
        self.reap()

    def kill(self, sig=signal.SIGKILL):
        """SIGKILL the postmaster (its children notice and exit by
        themselves; reap() waits for them).  Returns the time of the
        kill (monotonic)."""
        pm = self.postmaster()
        assert pm is not None, "database of %s is not running" % self.node
        kids = children_of(pm.pid)
        t = time.monotonic()
        pm.signal(sig)
        self.killed.extend(kids)
        self.killed_pm.append(pm)
        return t

    def reap(self):
        """Wait for the children a kill left (SIGKILL those that linger)
        and for the dead postmaster to be reaped."""
        if self.killed:
            left = wait_gone(self.killed, CHILD_EXIT_TIMEOUT)
            for p in left:
                p.signal(signal.SIGKILL)
            wait_gone(left, CHILD_EXIT_TIMEOUT)
            self.killed = []
        deadline = time.monotonic() + CHILD_EXIT_TIMEOUT
        while any(not p.gone() for p in self.killed_pm) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        self.killed_pm = []

    def freeze(self):
        """SIGSTOP the postmaster, then every child (walreceiver, startup,
        backends...); the postmaster first, so it forks no new one."""
        pm = self.postmaster()
        assert pm is not None, "database of %s is not running" % self.node
        pm.signal(signal.SIGSTOP)
        self.frozen.append(pm)
        for c in children_of(pm.pid):
            c.signal(signal.SIGSTOP)
            self.frozen.append(c)
        return self.frozen

    def thaw(self):
        for p in reversed(self.frozen):
            p.signal(signal.SIGCONT)
        self.frozen = []

    # -- SQL
    def psql(self, sql, dbname=DBNAME, timeout=PSQL_TIMEOUT, check=True,
             user=None):
        """Run sql with psql; returns the rows as lists of strings
        (unaligned, tab-separated).  As the superuser over the Unix
        socket (the only way it may connect to a pair keyward-admin set
        up), or as user over TCP."""
        if user is None:
            where = ["-h", self.sockdir, "-p", str(self.port), "-U",
                     kwtest.SUPERUSER, "-d", dbname]
        else:
            where = ["-d", self.conninfo(dbname, user)]
        rc, out, err = run([os.path.join(bindir(), "psql"), "-X", "-q", "-A",
                            "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            *where, "-c", sql],
                           timeout=timeout, env=self.env(), check=check)
        if rc != 0:
            return None
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def in_recovery(self):
        return self.psql("SELECT pg_is_in_recovery()")[0][0] == "t"

    def wait_primary(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.psql("SELECT pg_is_in_recovery()", check=False)
            if r and r[0][0] == "f":
                return
            time.sleep(0.1)
        raise AssertionError("database of %s is not primary after %.0f s"
                             % (self.node, timeout))

    def standby_state(self, app_name):
        r = self.psql("SELECT state, sync_state FROM pg_stat_replication "
                      "WHERE application_name = '%s'" % app_name, check=False)
        return tuple(r[0]) if r else None

    def wait_sync(self, standby, timeout=SYNC_TIMEOUT):
        """Wait until standby streams from this primary in sync mode."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.standby_state(standby.slot)
            if st == ("streaming", "sync"):
                return
            time.sleep(0.1)
        raise AssertionError("%s does not stream in sync from %s after %.0f s "
                             "(last: %r)\n%s" % (standby.node, self.node,
                                                 timeout, st, standby.log()))

    def log(self, lines=60):
        return "--- %s (%s)\n%s" % (self.logfile, self.node,
                                    kwtest.tail(self.logfile, lines))


def _track(db):
    if db not in _LIVE_DBS:
        _LIVE_DBS.append(db)


_LIVE_DBS = []


def _stop_all_dbs():
    for db in list(_LIVE_DBS):
        try:
            db.stop()
        except Exception:
            pass
        _LIVE_DBS.remove(db)


atexit.register(_stop_all_dbs)


# ------------------------------------------------------------ template

class Template:
    """A stopped, initialised primary data directory (keyward-localdb
    init: superuser keyward with a password, database keyward) with the
    pair's shared settings, copied for each pair's node A."""

    def __init__(self, root):
        self.root = root
        self.made = False

    def make(self):
        if self.made:
            return
        self.made = True
        root = self.root
        self.dir = os.path.join(root, "pair-template")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o711)
        self.datadir = os.path.join(self.dir, "data")
        self.password_file = os.path.join(self.dir, "db.pass")
        run(["sh", LOCALDB, "init", self.datadir, str(kwtest.free_port()),
             self.password_file], timeout=120)
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(SHARED_PG_CONF)
        with open(os.path.join(self.datadir, "pg_hba.conf"), "a") as f:
            f.write(HBA_EXTRA)
        # the log of the init start would be copied into every pair
        try:
            os.unlink(os.path.join(self.datadir, "postgres.log"))
        except OSError:
            pass

    def copy_to(self, db):
        self.make()
        run(["cp", "-a", self.datadir, db.datadir])
        db.write_node_conf()


# ---------------------------------------------------------------- nodes

class PairNode(kwtest.Server):
    """A keyward node of the pair: a config dir from `keyward-admin init`
    naming its own database (local) and its peer's, and a keyward-server
    process once started.  Start, stop, logs and the client come from
    kwtest.Server."""

    def __init__(self, pair, name, peer_name, db, peer_db, auth="mtls",
                 settings=None):
        kwtest.Server._seq += 1
        self.pair = pair
        self.name = name
        self.peer_name = peer_name
        self.db = db
        self.dir = os.path.join(pair.base, name)
        os.makedirs(self.dir, mode=0o700)
        self.confdir = os.path.join(self.dir, "conf")
        self.conf = os.path.join(self.confdir, "keyward.conf")
        self.log_path = os.path.join(self.dir, "server.log")
        self.pki = pair.pki
        self.pg = None
        self.auth = auth
        self.port = kwtest.free_port()
        self.proc = None
        self.returncode = None
        self.secrets = set()
        self.verify_ca = pair.pki.ca_pem
        tlsdir = os.path.join(self.dir, "tls")
        os.makedirs(tlsdir, mode=0o700)
        cert = os.path.join(tlsdir, "server.pem")
        key = os.path.join(tlsdir, "server.key")
        shutil.copyfile(pair.pki.server_pem, cert)
        shutil.copyfile(pair.pki.server_key, key)
        os.chmod(key, 0o600)
        cmd = [ADMIN_BIN, "init", "--confdir", self.confdir,
               "--node-name", name, "--listen", "127.0.0.1:%d" % self.port,
               "--db-local", db.conninfo(),
               "--db-password-file", pair.password_file,
               "--auth", auth, "--tls-cert", cert, "--tls-key", key]
        if auth == "mtls":
            cmd += ["--client-ca", pair.pki.ca_pem]
        if pair.use_admin:
            # keyward-admin's set-up steps: the superuser over the socket
            cmd += ["--db-admin", db.admin_conninfo()]
        _rc, self.init_out, self.init_err = run(cmd)
        conf = {("node", "peer_name"): peer_name,
                ("node", "url"): "https://127.0.0.1:%d" % self.port,
                ("db", "peer"): peer_db.conninfo(),
                # every read goes to a database: the failover is what is
                # under test, not the cache
                ("keys", "cache_ttl_ms"): "0"}
        conf.update(settings or {})
        kwtest.conf_set(self.conf, conf)

    def set_peer_url(self, url):
        kwtest.conf_set(self.conf, {("node", "peer_url"): url})

    def setting(self, section, key, default=None):
        return kwtest.conf_read(self.conf).get(section, {}).get(key, default)

    def admin(self, *args, timeout=120, check=True):
        """Run keyward-admin ARGS -c this node's config."""
        return run([ADMIN_BIN, *args, "-c", self.conf], timeout=timeout,
                   check=check)

    def health(self, timeout=None):
        """(status, body) of GET /v1/health."""
        r = self.client().get("/v1/health")
        return r.status, r.json()


# ----------------------------------------------------------------- pair

class Pair:
    """Node A (active: its database is the primary) and node B (passive:
    a synchronous hot standby of A's), each with a keyward-server."""

    _seq = 0

    def __init__(self, root, pki, template, auth="mtls", settings=None,
                 start_servers=True):
        Pair._seq += 1
        self.base = os.path.join(root, "pair-%d" % Pair._seq)
        os.makedirs(self.base)
        os.chmod(self.base, 0o711)
        self.pki = pki
        self.template = template
        self.use_admin = use_admin()
        self.rejoin_method = None
        _LIVE_PAIRS.append(self)
        self.password_file = os.path.join(self.base, "db.pass")
        if self.use_admin:
            with open(os.open(self.password_file,
                              os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                      "w") as f:
                f.write(os.urandom(18).hex() + "\n")
        else:
            template.make()
            shutil.copyfile(template.password_file, self.password_file)
            os.chmod(self.password_file, 0o600)
        self.db_a = PairDB(self.base, "kw-a", HOST_A, kwtest.free_port(),
                           self.password_file, self.use_admin)
        self.db_b = PairDB(self.base, "kw-b", HOST_B, kwtest.free_port(),
                           self.password_file, self.use_admin)
        self.a = PairNode(self, "kw-a", "kw-b", self.db_a, self.db_b, auth,
                          settings)
        self.b = PairNode(self, "kw-b", "kw-a", self.db_b, self.db_a, auth,
                          settings)
        self.a.set_peer_url("https://127.0.0.1:%d" % self.b.port)
        self.b.set_peer_url("https://127.0.0.1:%d" % self.a.port)
        t0 = time.monotonic()
        self._build()
        self.setup_s = time.monotonic() - t0
        if start_servers:
            self.start_servers()

    @property
    def nodes(self):
        return (self.a, self.b)

    @property
    def dbs(self):
        return (self.db_a, self.db_b)

    def node_of(self, db):
        return self.a if db is self.db_a else self.b

    # -- building
    def _build(self):
        if self.use_admin:
            return self._build_admin()
        # node A: the primary, from the template; schema and master key
        # check value through keyward-admin
        self.template.copy_to(self.db_a)
        self.db_a.start()
        self.a.admin("db", "migrate")
        # node B: a base backup of A streaming through its own slot
        self.init_passive(self.db_b, self.db_a)
        self.enable_sync(self.db_a, self.db_b)
        # both nodes serve the same keys: B gets A's master key
        self._share_secrets()

    def _share_secrets(self):
        """B gets A's master key, and A's hadoop.auth cookie secret so
        that a cookie issued by one node is accepted by the other."""
        shutil.copyfile(self.a.master_key_file, self.b.master_key_file)
        os.chmod(self.b.master_key_file, 0o600)
        a_secret = self.a.cookie_secret_file
        if os.path.exists(a_secret):
            shutil.copyfile(a_secret, self.b.cookie_secret_file)
            os.chmod(self.b.cookie_secret_file, 0o600)

    def _build_admin(self):
        """The operator's way: db bootstrap on A, the master key copied,
        db init-passive on B, db enable-sync."""
        _track(self.db_a)
        self.out_bootstrap = self.a.admin("db", "bootstrap", "--datadir",
                                          self.db_a.datadir)[1]
        self._share_secrets()
        _track(self.db_b)
        self.out_init_passive = self.b.admin("db", "init-passive",
                                             "--datadir", self.db_b.datadir)[1]
        self.out_enable_sync = self.a.admin("db", "enable-sync")[1]
        self.db_a.wait_sync(self.db_b)

    def init_passive(self, db, primary):
        """A fresh base backup of primary into db's data directory, made
        a standby streaming through slot db.slot, and started."""
        if os.path.exists(db.datadir):
            shutil.rmtree(db.datadir)
        primary.psql("SELECT pg_drop_replication_slot('%s') FROM "
                     "pg_replication_slots WHERE slot_name = '%s'"
                     % (db.slot, db.slot))
        run(as_pg_user([os.path.join(bindir(), "pg_basebackup"),
                        "-h", primary.host, "-p", str(primary.port),
                        "-U", "keyward", "-D", db.datadir, "-X", "stream",
                        "-C", "-S", db.slot, "-c", "fast", "--no-sync"]),
            timeout=PG_CMD_TIMEOUT, env=primary.env())
        db.write_node_conf()
        db.write_standby_conf(primary)
        db.start()

    def enable_sync(self, primary, standby):
        """synchronous_standby_names = '*' on primary; wait for sync."""
        if self.use_admin:
            self.node_of(primary).admin("db", "enable-sync")
            primary.wait_sync(standby)
            return
        primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.psql("SELECT pg_reload_conf()")
        primary.wait_sync(standby)

    def promote(self, db):
        """Make db (a standby) primary and wait until it is.  Its old
        primary is expected dead (the fence is keyward-admin's business)."""
        self.reap_all()
        if self.use_admin:
            self.out_promote = self.node_of(db).admin("promote")[1]
        else:
            run(as_pg_user([os.path.join(bindir(), "pg_ctl"), "-D",
                            db.datadir, "-w", "-t", "30", "-s", "promote"]),
                timeout=PG_CMD_TIMEOUT)
        db.wait_primary()

    def rejoin(self, db, primary):
        """Turn db (a former primary, stopped or killed) into a standby of
        primary: pg_rewind, or a fresh base backup when that fails; then
        sync on."""
        if self.use_admin:
            db.reap()
            _rc, out, err = self.node_of(db).admin("rejoin", "--datadir",
                                                   db.datadir)
            self.rewind_output = out + err
            self.rejoin_method = "base backup" if "fresh base backup" in \
                out else "pg_rewind"
            primary.wait_sync(db)
            return
        if db.running():
            db.stop()
        db.reap()
        primary.psql("SELECT pg_create_physical_replication_slot('%s', true) "
                     "WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots "
                     "WHERE slot_name = '%s')" % (db.slot, db.slot))
        # a freshly promoted primary writes its new timeline into
        # pg_control only at its next checkpoint; pg_rewind reads it there
        # (and says "same timeline, no rewind required" without it)
        primary.psql("CHECKPOINT")
        rc, out, err = run(as_pg_user([
            os.path.join(bindir(), "pg_rewind"), "-D", db.datadir,
            "--source-server", primary.conninfo(), "--no-sync"]),
            timeout=PG_CMD_TIMEOUT, env=primary.env(), check=False)
        self.rejoin_method = "pg_rewind" if rc == 0 else "base backup"
        self.rewind_output = out + err
        if rc == 0:
            db.write_node_conf()
            db.write_standby_conf(primary)
            db.start()
        else:
            self.init_passive(db, primary)
        self.enable_sync(primary, db)

    def reap_all(self):
        for db in self.dbs:
            db.reap()

    # -- servers
    def start_servers(self):
        for n in self.nodes:
            n.start()

    def wait_writable(self, timeout=WRITABLE_TIMEOUT, nodes=None):
        """Wait until health says 200 (writable) on every node."""
        deadline = time.monotonic() + timeout
        pending = list(nodes or self.nodes)
        last = {}
        while pending and time.monotonic() < deadline:
            for n in list(pending):
                try:
                    st, body = n.health()
                    last[n.name] = (st, body)
                    if st == 200:
                        pending.remove(n)
                except (OSError, AssertionError) as e:
                    last[n.name] = e
            if pending:
                time.sleep(0.1)
        assert not pending, "not writable after %.0f s: %r" % (timeout, last)

    # -- teardown
    def close(self):
        for db in self.dbs:
            db.thaw()
        for n in self.nodes:
            try:
                n.stop()
            except Exception:
                pass
        for db in self.dbs:
            try:
                db.stop()
            except Exception:
                pass
        if self in _LIVE_PAIRS:
            _LIVE_PAIRS.remove(self)
        if not os.environ.get("KEYWARD_TEST_KEEP"):
            for db in self.dbs:
                shutil.rmtree(db.datadir, ignore_errors=True)

    def logs(self):
        out = []
        for db in self.dbs:
            out.append(db.log())
        return "\n".join(out)


def _close_all_pairs():
    for p in list(_LIVE_PAIRS):
        try:
            p.close()
        except Exception:
            pass


atexit.register(_close_all_pairs)


# ------------------------------------------------------------- fixtures
# Test modules import these names so pytest finds them.

_TEMPLATES = {}


@pytest.fixture(scope="session")
def pair_template(binaries, tmp_root):
    # each test module imports this fixture (so each has its own
    # session-scoped copy): make the template once per temp dir
    if tmp_root not in _TEMPLATES:
        _TEMPLATES[tmp_root] = Template(tmp_root)
    return _TEMPLATES[tmp_root]


@pytest.fixture
def pair_factory(pair_template, tmp_root, pki, request):
    """Make pairs (each fresh); all closed at the end of the test, with
    the databases' logs attached when it failed."""
    made = []

    def make(**kw):
        p = Pair(tmp_root, pki, pair_template, **kw)
        made.append(p)
        return p

    failed_before = request.session.testsfailed
    yield make
    failed = request.session.testsfailed > failed_before
    for p in made:
        if failed:
            # shown with the failing test's report (captured teardown)
            print(p.logs())
        p.close()


@pytest.fixture
def pair(pair_factory):
    """A fresh healthy pair, both servers started (mTLS)."""
    return pair_factory()


# ---------------------------------------------------- client helpers

class Call:
    """One timed request: what, where, when, how long, what came back."""

    def __init__(self, node, op, t0, t1, resp=None, exc=None, name=None):
        self.node, self.op, self.t0, self.t1 = node, op, t0, t1
        self.resp, self.exc, self.name = resp, exc, name

    @property
    def secs(self):
        return self.t1 - self.t0

    @property
    def status(self):
        return self.resp.status if self.resp is not None else None

    def __repr__(self):
        what = self.resp if self.resp is not None else repr(self.exc)
        return "<%s %s %s at %.3f took %.3fs %s>" % (
            self.node, self.op, self.name or "", self.t0, self.secs, what)


def timed(node, op, fn, *args, name=None, origin=0.0):
    """Run fn(*args) (a client call), timing it; never raises for a
    transport error (recorded in .exc).  Times are relative to origin."""
    t0 = time.monotonic()
    try:
        r = fn(*args)
        return Call(node.name, op, t0 - origin, time.monotonic() - origin,
                    resp=r, name=name)
    except (OSError, http.client.HTTPException) as e:
        return Call(node.name, op, t0 - origin, time.monotonic() - origin,
                    exc=e, name=name)


def refusal(resp):
    """The RemoteException of a 503 write refusal (asserts the envelope)."""
    return kwclient.assert_error(resp, 503, kwclient.IOE)


def assert_refused_naming(resp, via, unhealthy):
    """resp is a 503 'writes refused by node VIA: REASON' whose reason
    names the unhealthy node."""
    rex = refusal(resp)
    msg = rex["message"]
    prefix = "writes refused by node %s: " % via
    assert msg.startswith(prefix), "refusal message %r does not start %r" % (
        msg, prefix)
    assert unhealthy in msg[len(prefix):], \
        "refusal reason %r does not name %s" % (msg, unhealthy)
    return msg


def create_key(client, name, length=128):
    """Create a key; return its material (asserts 201 and the KeyVersion)."""
    kv = kwclient.ok_json(client.create(name, length=length), 201)
    return kwclient.assert_keyversion(kv, name, 0, length)


def current_material(client, name, version, length=None):
    kv = kwclient.ok_json(client.current(name))
    return kwclient.assert_keyversion(kv, name, version, length)


def check_eek_roundtrip(gen_client, dec_client, name, version, material,
                        length):
    """Generate an EEK through gen_client, decrypt it through dec_client,
    and check the DEK against an independent AES-CTR with material."""
    eeks = kwclient.ok_json(gen_client.generate(name, 1))
    assert isinstance(eeks, list) and len(eeks) == 1, eeks
    return check_decrypt(dec_client, eeks[0], name, version, material, length)


def check_decrypt(client, eek, name, version, material, length):
    iv, emat = kwclient.assert_eek(eek, name, version, length)
    dek = kwclient.assert_dek(kwclient.ok_json(client.decrypt(eek)), name,
                              length)
    assert dek == kwclient.eek_decrypt(material, iv, emat), \
        "DEK from %s does not match AES-CTR under %s@%d" % (
            client.server.name, name, version)
    return dek


def db_key_rows(db, name):
    """(version, kek_id, hex of wrapped) of every version of key name in
    db, oldest first ([] when absent)."""
    lit = "'" + name.replace("'", "''") + "'"
    rows = db.psql("SELECT v.version, v.kek_id, encode(v.wrapped, 'hex') "
                   "FROM keys k JOIN key_versions v ON v.key_id = k.id "
                   "WHERE k.name = %s ORDER BY v.version" % lit)
    return [(int(r[0]), r[1], r[2]) for r in rows]


def db_key_versions(db):
    """{name: number of versions} of every key in db, in one query."""
    rows = db.psql("SELECT k.name, count(v.version) FROM keys k "
                   "LEFT JOIN key_versions v ON v.key_id = k.id "
                   "GROUP BY k.name")
    return {r[0]: int(r[1]) for r in rows}


def run_for(seconds, fn, threads=1):
    """Run fn(stop_event, index) in threads until seconds pass; join."""
    stop = threading.Event()
    ts = [threading.Thread(target=fn, args=(stop, i), daemon=True)
          for i in range(threads)]
    for t in ts:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join(60)
    return not any(t.is_alive() for t in ts)


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)[:3000]


def unique(prefix):
    return "%s-%s" % (prefix, os.urandom(4).hex())


class Key:
    """A key the test made: its versions' material and EEKs made from
    it, to check reads against after a failure."""

    def __init__(self, client, name, length=128, rolls=0):
        self.name, self.length = name, length
        self.materials = [create_key(client, name, length)]
        for v in range(1, rolls + 1):
            kv = kwclient.ok_json(client.roll(name))
            self.materials.append(kwclient.assert_keyversion(kv, name, v,
                                                              length))
        self.eeks = kwclient.ok_json(client.generate(name, 2))
        assert len(self.eeks) == 2, self.eeks

    @property
    def version(self):
        return len(self.materials) - 1

    def check_reads(self, client, other=None):
        """Every read of this key through client answers with the content
        it was made with; EEKs generated here decrypt through other."""
        n, v = self.name, self.version
        md = kwclient.ok_json(client.metadata(n))
        assert md.get("name") == n and md.get("versions") == v + 1 and \
            md.get("length") == self.length, md
        assert current_material(client, n, v, self.length) == \
            self.materials[v]
        for i, mat in enumerate(self.materials):
            kv = kwclient.ok_json(client.keyversion("%s@%d" % (n, i)))
            assert kwclient.assert_keyversion(kv, n, i, self.length) == mat
        vs = kwclient.ok_json(client.versions(n))
        assert [kwclient.assert_keyversion(x, n, i, self.length)
                for i, x in enumerate(vs)] == self.materials, vs
        for e in self.eeks:
            check_decrypt(client, e, n, v, self.materials[v], self.length)
        check_eek_roundtrip(client, other or client, n, v, self.materials[v],
                            self.length)


def refused_naming(call, unhealthy):
    """Is call a 503 'writes refused by node X: ...' naming unhealthy?"""
    if call.status != 503:
        return False
    try:
        msg = call.resp.json()["RemoteException"]["message"]
    except (AssertionError, KeyError, TypeError):
        return False
    return msg.startswith("writes refused by node ") and \
        unhealthy in msg.split(": ", 1)[-1]


def probe_writes(nodes, origin, seconds, every=0.05,
                 until=lambda c: c.status == 503):
    """Start a create (fresh name) every `every` seconds, alternating
    nodes, each in its own thread, until one answers as until() wants
    (default: refused, 503) or seconds pass; returns every Call (times
    relative to origin), by end time."""
    calls, lock, threads = [], threading.Lock(), []

    def one(node, name):
        c = timed(node, "create", node.client().create, name, name=name,
                  origin=origin)
        with lock:
            calls.append(c)

    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        with lock:
            if any(until(c) for c in calls):
                break
        t = threading.Thread(target=one, daemon=True,
                             args=(nodes[i % len(nodes)], unique("probe")))
        t.start()
        threads.append(t)
        i += 1
        time.sleep(every)
    for t in threads:
        t.join(60)
    return sorted(calls, key=lambda c: c.t1)


def wait_write_ok(node, timeout=15.0, prefix="after"):
    """Create keys through node until one is accepted (201); returns
    (seconds waited, name, material, the Calls refused meanwhile)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    seen = []
    while time.monotonic() < deadline:
        name = unique(prefix)
        c = timed(node, "create", node.client().create, name, name=name,
                  origin=t0)
        if c.status == 201:
            kv = c.resp.json()
            return (time.monotonic() - t0, name,
                    kwclient.assert_keyversion(kv, name, 0), seen)
        seen.append(c)
        time.sleep(0.2)
    raise AssertionError("%s accepted no write within %.0f s; last: %r"
                         % (node.name, timeout, seen[-3:]))


def assert_health(node, status, role, local, peer, reason_names=None):
    """GET /v1/health on node says status, role and both databases'
    roles; when not writable the reason names reason_names."""
    st, h = node.health()
    assert st == status, "health of %s: %d %s" % (node.name, st, dump(h))
    assert h["node"] == node.name and h["role"] == role, dump(h)
    assert h["writable"] is (status == 200), dump(h)
    assert h["readable"] is (status != 503), dump(h)
    assert h["databases"]["local"]["role"] == local, dump(h)
    assert h["databases"]["peer"]["role"] == peer, dump(h)
    if reason_names is not None:
        assert isinstance(h.get("reason"), str) and \
            reason_names in h["reason"], dump(h)
    return h


def wait_health(node, status, timeout, role=None):
    """Poll node's health until it answers status (and names role);
    returns the body."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            st, body = node.health()
            if st == status and role in (None, body.get("role")):
                return body
            last = (st, body)
        except (OSError, AssertionError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError("health of %s not %d within %.0f s; last: %r"
                         % (node.name, status, timeout, last))


def admin_status(node):
    """`keyward-admin status --json` on node: (exit status, body), or None
    when the pair is not driven by keyward-admin."""
    if not node.pair.use_admin:
        return None
    rc, out, err = node.admin("status", "--json", check=False, timeout=60)
    assert rc in (0, 1), "status exited %d: %s%s" % (rc, out, err)
    try:
        return rc, json.loads(out)
    except ValueError:
        raise AssertionError("status --json printed no JSON:\n%s%s"
                             % (out, err))


def assert_admin_status(node, writable, roles, why_names=None):
    """keyward-admin status --json agrees: writable, {node: role}, and
    when not writable the reason names why_names (skipped when the pair
    is set up without keyward-admin)."""
    st = admin_status(node)
    if st is None:
        return None
    rc, body = st
    assert rc == (0 if writable else 1), (rc, dump(body))
    assert body["node"] == node.name and body["writable"] is writable, \
        dump(body)
    assert {d["name"]: d["role"] for d in body["databases"]} == roles, \
        dump(body)
    if why_names is not None:
        assert why_names in body["why"], dump(body)
    return body
