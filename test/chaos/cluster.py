"""cluster: a keyward pair on the chaos suite's two namespaced hosts.

Each host (netns.Net's namespace a or b) runs its own PostgreSQL 15, as
the unprivileged user keyward, listening on its end of the database link,
and its own keyward-server, listening on its end of the client link.  The
pair is set up with keyward-admin exactly as README's "Setting up a real
two-host pair" says (init on each host with the master key and cookie
secret copied from a to b, db bootstrap on a, db init-passive on b, db
enable-sync on a), the certificates come from scripts/keyward-certs, and
acls.conf is the one init writes (only CN=admin, the client certificate).

What this module owns: those processes and the process faults on them
(SIGKILL or SIGSTOP/SIGCONT of a database's postmaster and every child,
found by postmaster.pid and `ps --ppid`, never by name; SIGKILL of a
server and its restart; promote and rejoin), and waiting until the pair
is writable.  Every process is remembered and stopped by PID in close().

The suite makes itself a child subreaper: a postmaster outlives the
pg_ctl that started it and would be re-parented to PID 1, which on some
machines never reaps it, and PostgreSQL takes the zombie of a killed
postmaster for a live one (its lock file check), so the database could
not start again.  A thread reaps exactly the postmasters (and their
children) this run has seen, nothing else.
"""

import ctypes
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time

from netns import in_ns
import kwclient
from kwtest import conf_read, run
from pair import children_of, postmaster_of, postmaster_pid

HTTP_PORT = 29600       # inside the namespaces: no clash with anything
DB_PORT = 31381
START_TIMEOUT = 30.0
ADMIN_TIMEOUT = 180.0
STOP_TIMEOUT = 10.0


PR_SET_CHILD_SUBREAPER = 36


class Reaper:
    """Become the subreaper of what we start; reap the database processes
    of the given data directories (read from postmaster.pid and their
    children) when they exit."""

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.pids = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.hosts = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def watch(self, pids):
        with self.lock:
            self.pids.update(pids)

    def _loop(self):
        while not self.stop.wait(0.1):
            for h in self.hosts:
                pm = h.read_pid()
                if pm is not None:
                    self.watch([pm])
            self.reap()

    def reap(self):
        with self.lock:
            pids = list(self.pids)
        for pid in pids:
            try:
                done, _st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                # not (yet) ours; forget it once it is gone
                done = pid if not os.path.exists("/proc/%d" % pid) else 0
            if done:
                with self.lock:
                    self.pids.discard(pid)

    def close(self):
        self.stop.set()
        self.thread.join(5)


class _NoSecrets:
    """kwclient records material it sees for a log-leak test; here it is
    not kept (a long run sees a great many)."""

    def add(self, _item):
        pass


class Host:
    """One host: its namespace, config, database and server process."""

    def __init__(self, cluster, key):
        self.cluster = cluster
        self.key = key                      # "a" or "b"
        self.name = "kw-" + key
        net = cluster.net
        self.ns = net.ns[key]
        self.host = net.host_addr[key]      # kwclient connects here
        self.port = HTTP_PORT
        self.db_host = net.db_addr[key]
        self.confdir = os.path.join(cluster.dir, "node-" + key)
        self.conf = os.path.join(self.confdir, "keyward.conf")
        self.datadir = os.path.join(cluster.dir, "db-" + key)
        self.log_path = os.path.join(cluster.dir, "server-%s.log" % key)
        self.auth = "mtls"
        self.verify_ca = cluster.ca
        self.secrets = _NoSecrets()
        self.pki = None                     # kwclient: cert given as files
        self.proc = None
        self.frozen = []

    def client(self, timeout):
        return kwclient.Client(self, cert=self.cluster.client_cert,
                               timeout=timeout)

    def admin(self, *args, check=True, timeout=ADMIN_TIMEOUT):
        """keyward-admin ARGS run in this host's namespace."""
        return run(in_ns(self.ns, [self.cluster.admin_bin, *args]),
                   timeout=timeout, check=check)

    # -- server
    def start_server(self):
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                in_ns(self.ns, [self.cluster.server_bin, "-c", self.conf]),
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                start_new_session=True)
        finally:
            logf.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("keyward-server %s exited %d at start; "
                                   "see %s" % (self.name,
                                               self.proc.returncode,
                                               self.log_path))
            if self.health(timeout=2.0) is not None:
                return
            time.sleep(0.2)
        raise RuntimeError("keyward-server %s does not answer after %.0f s"
                           % (self.name, START_TIMEOUT))

    def kill_server(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def stop_server(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(STOP_TIMEOUT)

    def health(self, timeout=3.0):
        """(status, body) of /v1/health, or None when it does not answer."""
        try:
            r = self.client(timeout).get("/v1/health")
            return r.status, r.json()
        except (OSError, http.client.HTTPException, ValueError):
            return None

    # -- database
    def read_pid(self):
        return postmaster_pid(self.datadir)

    def postmaster(self):
        return postmaster_of(self.datadir)

    def db_running(self):
        return self.postmaster() is not None

    def db_tree(self):
        pm = self.postmaster()
        return [] if pm is None else [pm] + children_of(pm.pid)

    def kill_db(self):
        """SIGKILL the postmaster and every child (postmaster first, so it
        starts no new one); waits until they are gone."""
        tree = self.db_tree()
        self.cluster.reaper.watch(p.pid for p in tree)
        for p in tree:
            p.signal(signal.SIGKILL)
        # gone, not only dead: reaped (see Reaper)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(not p.gone() for p in tree) and \
                time.monotonic() < deadline:
            self.cluster.reaper.reap()
            time.sleep(0.05)

    def freeze_db(self):
        """SIGSTOP the postmaster, then every child."""
        pm = self.postmaster()
        if pm is None:
            return
        pm.signal(signal.SIGSTOP)
        self.frozen.append(pm)
        for c in children_of(pm.pid):
            c.signal(signal.SIGSTOP)
            self.frozen.append(c)

    def thaw_db(self):
        for p in reversed(self.frozen):
            p.signal(signal.SIGCONT)
        self.frozen = []

    def start_db(self):
        if not self.db_running():
            self.admin("db", "start", "--datadir", self.datadir)

    def stop_db(self):
        self.thaw_db()
        if self.db_running():
            rc, _o, _e = self.admin("db", "stop", "--datadir", self.datadir,
                                    check=False, timeout=60)
            if rc != 0:
                self.kill_db()

    def is_primary(self):
        h = self.health()
        if h is None:
            return None
        return h[1].get("databases", {}).get("local", {}).get("role") == \
            "primary"


class Cluster:
    """The two hosts of one run; close() stops everything it started."""

    def __init__(self, net, workdir, bindir, repo, log=print,
                 listen_any=False, cert_ips=()):
        """listen_any: the servers listen on 0.0.0.0 (a floating address
        can reach them); cert_ips: more addresses the server certificate
        names."""
        self.net = net
        self.listen_any = listen_any
        self.cert_ips = list(cert_ips)
        self.dir = workdir
        self.log = log
        self.server_bin = os.path.join(bindir, "keyward-server")
        self.admin_bin = os.path.join(bindir, "keyward-admin")
        self.repo = repo
        pki = os.path.join(workdir, "pki")
        self.ca = os.path.join(pki, "ca.pem")
        self.client_cert = (os.path.join(pki, "client.pem"),
                            os.path.join(pki, "client.key"))
        self.pki = pki
        self.hosts = {"a": Host(self, "a"), "b": Host(self, "b")}
        self.primary = "a"                  # whose database is primary
        self.reaper = Reaper()
        self.reaper.hosts = list(self.hosts.values())

    @property
    def a(self):
        return self.hosts["a"]

    @property
    def b(self):
        return self.hosts["b"]

    def other(self, key):
        return "b" if key == "a" else "a"

    # -- setting up
    def setup(self):
        run(["sh", os.path.join(self.repo, "scripts", "keyward-certs"),
             self.pki, self.a.host, self.b.host, *self.cert_ips])
        self.password_file = os.path.join(self.dir, "db.pass")
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT |
                     os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(24).hex() + "\n")
        self._init(self.a, self.b)
        # b gets a's master key and cookie secret before its own init
        os.makedirs(self.b.confdir, mode=0o750)
        for f in ("master.key", "auth-cookie.secret"):
            shutil.copyfile(os.path.join(self.a.confdir, f),
                            os.path.join(self.b.confdir, f))
            os.chmod(os.path.join(self.b.confdir, f), 0o600)
        self._init(self.b, self.a)
        self.a.admin("db", "bootstrap", "-c", self.a.conf, "--datadir",
                     self.a.datadir)
        self.b.admin("db", "init-passive", "-c", self.b.conf, "--datadir",
                     self.b.datadir, "--from",
                     "%s:%d" % (self.a.db_host, DB_PORT))
        self.a.admin("db", "enable-sync", "-c", self.a.conf)
        for h in self.hosts.values():
            h.start_server()

    def _init(self, h, peer):
        run([self.admin_bin, "init", "--confdir", h.confdir,
             "--node-name", h.name,
             "--listen", "%s:%d" % ("0.0.0.0" if self.listen_any else h.host,
                                    HTTP_PORT),
             "--url", "https://%s:%d" % (h.host, HTTP_PORT),
             "--peer-name", peer.name,
             "--peer-url", "https://%s:%d" % (peer.host, HTTP_PORT),
             "--db-local", "host=%s port=%d dbname=keyward user=keyward"
             % (h.db_host, DB_PORT),
             "--db-peer", "host=%s port=%d dbname=keyward user=keyward"
             % (peer.db_host, DB_PORT),
             "--db-password-file", self.password_file,
             "--tls-cert", os.path.join(self.pki, "server.pem"),
             "--tls-key", os.path.join(self.pki, "server.key"),
             "--client-ca", self.ca])

    def setting(self, section, key, default):
        v = conf_read(self.a.conf).get(section, {}).get(key)
        return default if v is None else v

    # -- failover
    def promote(self, key):
        """Promote key's database (its peer's is stopped or dead)."""
        self.hosts[key].admin("promote", "-c", self.hosts[key].conf)
        self.primary = key

    def rejoin(self, key):
        """Make key's (stopped or dead) database a standby of the other's."""
        h, p = self.hosts[key], self.hosts[self.other(key)]
        h.thaw_db()
        _rc, out, err = h.admin("rejoin", "-c", h.conf, "--datadir",
                                h.datadir, "--from",
                                "%s:%d" % (p.db_host, DB_PORT))
        return "base backup" if "base backup" in out + err else "pg_rewind"

    def wait_writable(self, timeout):
        """Wait until both servers' health says 200; returns seconds
        waited, or raises with the last answers."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        last = {}
        while time.monotonic() < deadline:
            ok = True
            for k, h in self.hosts.items():
                r = h.health()
                last[k] = r if r is None else (r[0], r[1].get("reason"))
                ok = ok and r is not None and r[0] == 200
            if ok:
                return time.monotonic() - t0
            time.sleep(0.25)
        raise RuntimeError("pair not writable %.0f s after healing: %s"
                           % (timeout, json.dumps(last)))

    # -- teardown
    def close(self):
        for h in self.hosts.values():
            h.thaw_db()
        for h in self.hosts.values():
            try:
                h.stop_server()
            except Exception as e:          # keep stopping the rest
                self.log("chaos: stopping server %s: %s" % (h.name, e))
        for h in self.hosts.values():
            try:
                h.stop_db()
            except Exception as e:
                self.log("chaos: stopping database %s: %s" % (h.name, e))
                h.kill_db()
        self.reaper.reap()
        self.reaper.close()
