"""kwtest: helpers for keyward's integration tests.

Owns the pieces the fixtures in conftest.py put together: a throw-away PKI
made with the openssl CLI, a PostgreSQL instance run through
scripts/keyward-localdb, keyward servers started from `keyward-admin init`
output.  The HTTP client and the assertions live in kwclient.py.

Every process started here is remembered and stopped by PID (SIGTERM, then
SIGKILL) at teardown and again at interpreter exit, so an interrupted run
leaves nothing behind.
"""

import atexit
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from kwclient import Client

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEYWARD_BUILD", os.path.join(REPO, "build"))
SERVER_BIN = os.path.join(BUILD, "keyward-server")
ADMIN_BIN = os.path.join(BUILD, "keyward-admin")
LOCALDB = os.path.join(REPO, "scripts", "keyward-localdb")

# Bound on every wait in this suite.
SERVER_START_TIMEOUT = 15.0
SERVER_STOP_TIMEOUT = 10.0
CMD_TIMEOUT = 60.0

_LIVE_SERVERS = []      # servers not yet stopped
ALL_SERVERS = []        # every server started in this session
_LIVE_PGS = []
_PASSFILES = []

# the roles db/004_roles.sql makes; the superuser is "keyward"
SERVER_ROLE = "keyward_server"
REPL_ROLE = "keyward_repl"
SUPERUSER = "keyward"


# ----------------------------------------------------------------- misc

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=CMD_TIMEOUT, check=True, env=None, **kw):
    """Run cmd (a list), capture output; raise with the output on failure."""
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env, **kw)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise RuntimeError("command failed (exit %d): %s\nstdout:\n%s\nstderr:\n%s"
                           % (p.returncode, " ".join(cmd), out, err))
    return p.returncode, out, err


def tail(path, lines=200):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(could not read %s: %s)" % (path, e)
    return "\n".join(data.splitlines()[-lines:])


# ------------------------------------------------------------------ PKI

class PKI:
    """A test CA, a server certificate for 127.0.0.1/localhost, a client
    certificate (CN=admin) from that CA and one (CN=admin too) from a CA the
    server does not know.  More client certificates from the test CA are
    issued on first use by name (see cert() and CLIENT_CERTS)."""

    # name -> (CN, subjectAltName or None, expired? [, extendedKeyUsage
    # or None for no such extension; default clientAuth])
    CLIENT_CERTS = {
        "alice": ("alice", None, False),
        "bob": ("bob", None, False),
        "carol": ("carol", None, False),
        "dave": ("dave", None, False),
        "proxy": ("proxy", None, False),
        "farproxy": ("farproxy", None, False),
        "cidrproxy": ("cidrproxy", None, False),
        # valid from three days ago to yesterday
        "expired": ("admin", None, True),
        # CN admin, identity under auth.identity = san-uri / san-dns
        "uri-alice": ("admin", "URI:spiffe://keyward.test/alice", False),
        "uri-bob": ("admin", "URI:spiffe://keyward.test/bob", False),
        "dns-alice": ("admin", "DNS:alice.clients.keyward.test", False),
        # more CN=admin certificates: to revoke, or with other key usages
        "admin2": ("admin", None, False),
        "revoked": ("admin", None, False),
        "server-only": ("admin", None, False, "serverAuth"),
        "both-eku": ("admin", None, False, "serverAuth,clientAuth"),
        "no-eku": ("admin", None, False, None),
    }

    def __init__(self, root):
        self.dir = os.path.join(root, "pki")
        os.makedirs(self.dir, mode=0o700)
        d = self.dir
        self.ca_pem, self.ca_key = self._ca("ca", "keyward test CA")
        self.rogue_ca_pem, self.rogue_ca_key = self._ca("rogue-ca", "unknown CA")
        self.server_pem, self.server_key = self._leaf(
            "server", "localhost", self.ca_pem, self.ca_key,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n")
        self.client_pem, self.client_key = self._leaf(
            "client-admin", "admin", self.ca_pem, self.ca_key,
            "extendedKeyUsage=clientAuth\n")
        self.rogue_pem, self.rogue_key = self._leaf(
            "rogue-admin", "admin", self.rogue_ca_pem, self.rogue_ca_key,
            "extendedKeyUsage=clientAuth\n")
        assert os.path.isdir(d)
        self._issued = {"admin": (self.client_pem, self.client_key),
                        "rogue": (self.rogue_pem, self.rogue_key)}

    def cert(self, name):
        """(pem, key) of the client certificate called name: "admin",
        "rogue", or one of CLIENT_CERTS (issued now if not yet)."""
        if name not in self._issued:
            cn, san, expired, *eku = self.CLIENT_CERTS[name]
            self._issued[name] = self.issue(
                "client-" + name, cn, san=san, expired=expired,
                eku=eku[0] if eku else "clientAuth")
        return self._issued[name]

    def issue(self, name, cn, san=None, expired=False, eku="clientAuth"):
        """A client certificate from the test CA: CN=cn, subjectAltName
        san (openssl syntax, e.g. "URI:spiffe://x/y") if given; expired:
        valid from three days ago until yesterday (made with `openssl ca`,
        as `openssl x509` in OpenSSL 3.0 cannot backdate); eku: its
        extendedKeyUsage, None for none."""
        ext = "extendedKeyUsage=%s\n" % eku if eku else ""
        if san:
            ext += "subjectAltName=%s\n" % san
        if not expired:
            return self._leaf(name, cn, self.ca_pem, self.ca_key, ext)
        return self._expired_leaf(name, cn, ext)

    def _expired_leaf(self, name, cn, ext):
        d = os.path.join(self.dir, name + ".ca")
        os.makedirs(d)
        pem = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("%016X\n" % int.from_bytes(os.urandom(7), "big"))
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = tca\n"
                    "[tca]\ndir = %s\ndatabase = $dir/index.txt\n"
                    "serial = $dir/serial\nnew_certs_dir = $dir\n"
                    "default_md = sha256\npolicy = anything\n"
                    "unique_subject = no\ncopy_extensions = none\n"
                    "[anything]\ncommonName = supplied\n"
                    "[ext]\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n%s"
                    % (d, ext))
        fmt = "%Y%m%d%H%M%SZ"
        now = time.time()
        start = time.strftime(fmt, time.gmtime(now - 3 * 86400))
        end = time.strftime(fmt, time.gmtime(now - 86400))
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + cn])
        run(["openssl", "ca", "-batch", "-config", cnf, "-in", csr,
             "-out", pem, "-cert", self.ca_pem, "-keyfile", self.ca_key,
             "-startdate", start, "-enddate", end, "-extensions", "ext",
             "-notext"])
        os.chmod(key, 0o600)
        return pem, key

    _ncrl = 0

    def crl(self, path, revoked=(), ca="test"):
        """Write to path (atomically, with a modification time later than
        any it had) a PEM CRL of the test CA (ca="rogue": of the CA the
        server does not know) listing the client certificates named in
        revoked (names as for cert()), made with `openssl ca -gencrl`."""
        PKI._ncrl += 1
        d = os.path.join(self.dir, "crl-%d" % PKI._ncrl)
        os.makedirs(d)
        ca_pem, ca_key = ((self.ca_pem, self.ca_key) if ca == "test" else
                          (self.rogue_ca_pem, self.rogue_ca_key))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("%02X\n" % PKI._ncrl)
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = tca\n"
                    "[tca]\ndir = %s\ndatabase = $dir/index.txt\n"
                    "crlnumber = $dir/crlnumber\ndefault_md = sha256\n"
                    "default_crl_days = 2\n" % d)
        for name in revoked:
            run(["openssl", "ca", "-config", cnf, "-cert", ca_pem,
                 "-keyfile", ca_key, "-revoke", self.cert(name)[0]])
        tmp = path + ".tmp"
        run(["openssl", "ca", "-config", cnf, "-cert", ca_pem, "-keyfile",
             ca_key, "-gencrl", "-out", tmp])
        try:
            old = os.stat(path).st_mtime
        except FileNotFoundError:
            old = 0.0
        mtime = max(time.time(), old + 2.0)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
        return path

    def _ca(self, name, cn):
        pem = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", pem, "-days", "3", "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        return pem, key

    def _leaf(self, name, cn, ca_pem, ca_key, ext):
        pem = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        extf = os.path.join(self.dir, name + ".ext")
        with open(extf, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n" + ext)
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + cn])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_pem,
             "-CAkey", ca_key, "-CAcreateserial", "-out", pem, "-days", "3",
             "-extfile", extf])
        os.chmod(key, 0o600)
        return pem, key


# ----------------------------------------------------------- PostgreSQL

class PassFile:
    """A libpq password file for PGPASSFILE: "*:*:*:USER:PASSWORD" (USER
    "*" for any), mode 0600 in a private directory (0700) of its own,
    owned by owner when given and we are root (so PostgreSQL's programs
    run as the service user can read it).  Removed by remove() and at
    interpreter exit.  Passwords never go through PGPASSWORD."""

    def __init__(self, password, user="*", owner=None):
        self.dir = tempfile.mkdtemp(prefix="kw-pgpass-")
        self.path = os.path.join(self.dir, "pgpass")
        esc = lambda s: s.replace("\\", "\\\\").replace(":", "\\:")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("*:*:*:%s:%s\n" % (esc(user), esc(password)))
        if owner is not None and os.geteuid() == 0:
            shutil.chown(self.dir, owner, owner)
            shutil.chown(self.path, owner, owner)
        _PASSFILES.append(self)

    def env(self, base=None):
        """base (default os.environ) with PGPASSFILE set to this file."""
        env = dict(os.environ if base is None else base)
        env.pop("PGPASSWORD", None)
        env["PGPASSFILE"] = self.path
        return env

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _PASSFILES:
            _PASSFILES.remove(self)


class Postgres:
    """One PostgreSQL 15 instance run with scripts/keyward-localdb."""

    def __init__(self, root, name="pg"):
        self.base = os.path.join(root, name)
        os.makedirs(self.base)
        os.chmod(self.base, 0o711)
        self.datadir = os.path.join(self.base, "data")
        self.port = free_port()
        self.password_file = os.path.join(self.base, "db.pass")
        self.running = False
        self._ndb = 0
        self._passfile = None
        run(["sh", LOCALDB, "init", self.datadir, str(self.port),
             self.password_file], timeout=120)
        self.start()

    def start(self):
        _LIVE_PGS.append(self)
        run(["sh", LOCALDB, "start", self.datadir], timeout=90)
        self.running = True

    def stop(self):
        if self in _LIVE_PGS:
            _LIVE_PGS.remove(self)
        if not self.running:
            return
        self.running = False
        run(["sh", LOCALDB, "stop", self.datadir], timeout=90, check=False)

    @property
    def password(self):
        with open(self.password_file) as f:
            return f.readline().strip()

    def client_env(self):
        """The environment of a client program: the password through a
        private password file."""
        if self._passfile is None:
            self._passfile = PassFile(self.password)
        env = self._passfile.env()
        env.pop("PGSERVICE", None)
        return env

    def bindir(self):
        return run(["pg_config", "--bindir"])[1].strip()

    def createdb(self, prefix="kw"):
        """Create a fresh database and return its name."""
        self._ndb += 1
        name = "%s_%d" % (prefix, self._ndb)
        run([os.path.join(self.bindir(), "createdb"), "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "keyward", "-O", "keyward", name],
            env=self.client_env())
        return name

    def conninfo(self, dbname, user=SUPERUSER):
        return "host=127.0.0.1 port=%d dbname=%s user=%s" % (
            self.port, dbname, user)

    def psql(self, sql, dbname, user=SUPERUSER, check=True):
        """Run sql with psql as user (password from the password file);
        (exit status, stdout, stderr), rows unaligned and tab-separated."""
        return run([os.path.join(self.bindir(), "psql"), "-X", "-q", "-A",
                    "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                    "-d", self.conninfo(dbname, user), "-c", sql],
                   env=self.client_env(), check=check, timeout=30)

    def log(self):
        return tail(os.path.join(self.datadir, "postgres.log"))


# --------------------------------------------------------------- config

def conf_read(path):
    """Parse an INI file into {section: {key: value}} (comments dropped)."""
    out, sec = {}, None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                sec = s[1:-1].strip()
                out.setdefault(sec, {})
                continue
            if "=" in s and sec is not None:
                k, v = s.split("=", 1)
                v = v.strip()
                # strip a trailing "; comment" on unquoted values
                m = re.match(r"^(.*?)\s+[;#].*$", v)
                if m:
                    v = m.group(1)
                out[sec][k.strip()] = v
    return out


def conf_set(path, settings):
    """Set {(section, key): value} in an INI file, replacing a key that is
    already there (each key appears once) and adding sections as needed.
    A value of None removes the key."""
    with open(path) as f:
        lines = f.read().splitlines()
    todo = dict(settings)
    out, sec = [], None

    def flush(section):
        for (s, k), v in list(todo.items()):
            if s == section:
                if v is not None:
                    out.append("%s = %s" % (k, v))
                del todo[(s, k)]

    for line in lines:
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            flush(sec)
            sec = s[1:-1].strip()
            out.append(line)
            continue
        if "=" in s and s[0] not in "#;" and sec is not None:
            k = s.split("=", 1)[0].strip()
            if (sec, k) in todo:
                v = todo.pop((sec, k))
                if v is not None:
                    out.append("%s = %s" % (k, v))
                continue
        out.append(line)
    flush(sec)
    for s in sorted({s for (s, _k) in todo}):
        out.append("")
        out.append("[%s]" % s)
        flush(s)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ----------------------------------------------------------------- ACLs

ACL_OPS = ("CREATE", "DELETE", "ROLLOVER", "GET", "GET_KEYS", "GET_METADATA",
           "SET_KEY_MATERIAL", "GENERATE_EEK", "DECRYPT_EEK")


def acls_all(*users):
    """acls.conf text granting users every operation and every key."""
    u = ",".join(users)
    lines = ["hadoop.kms.acl.%s = %s" % (op, u) for op in ACL_OPS]
    lines.append("default.key.acl.ALL = %s" % u)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------- server

class ServerStartError(Exception):
    pass


class Server:
    """A keyward node: config dir made by `keyward-admin init`, its own
    database (migrated), and a keyward-server process once started."""

    _seq = 0

    def __init__(self, root, pg, pki, name=None, auth="mtls", settings=None,
                 own_tls=True, init_args=(), acls=None):
        Server._seq += 1
        self.name = name or "kw-test-%d" % Server._seq
        self.dir = os.path.join(root, "srv-%d-%s" % (Server._seq, self.name))
        os.makedirs(self.dir, mode=0o700)
        self.confdir = os.path.join(self.dir, "conf")
        self.conf = os.path.join(self.confdir, "keyward.conf")
        self.log_path = os.path.join(self.dir, "server.log")
        self.pki = pki
        self.pg = pg
        self.auth = auth
        self.port = free_port()
        self.proc = None
        self.returncode = None
        self.secrets = set()        # raw key material/DEKs seen on the wire
        self.dbname = pg.createdb()
        # the server connects as its own role; db migrate (which makes
        # the roles and gives them the password file's password) as the
        # superuser
        cmd = [ADMIN_BIN, "init", "--confdir", self.confdir,
               "--node-name", self.name,
               "--listen", "127.0.0.1:%d" % self.port,
               "--db-local", pg.conninfo(self.dbname, SERVER_ROLE),
               "--db-admin", pg.conninfo(self.dbname),
               "--db-password-file", pg.password_file,
               "--auth", auth]
        if own_tls:
            tlsdir = os.path.join(self.dir, "tls")
            os.makedirs(tlsdir, mode=0o700)
            cert = os.path.join(tlsdir, "server.pem")
            key = os.path.join(tlsdir, "server.key")
            shutil.copyfile(pki.server_pem, cert)
            shutil.copyfile(pki.server_key, key)
            os.chmod(key, 0o600)
            cmd += ["--tls-cert", cert, "--tls-key", key]
            self.verify_ca = pki.ca_pem
        else:
            self.verify_ca = None   # self-signed by init: do not verify
        if auth == "mtls":
            cmd += ["--client-ca", pki.ca_pem]
        cmd += list(init_args)
        _rc, self.init_out, self.init_err = run(cmd)
        if settings:
            conf_set(self.conf, settings)
        if acls is not None:
            self.write_acls(acls)
        run([ADMIN_BIN, "db", "migrate", "-c", self.conf])

    # -- files named by the config
    def conf_path(self, section, key, default=None):
        v = conf_read(self.conf).get(section, {}).get(key)
        if v is None:
            return default
        v = v.strip('"')
        return v if os.path.isabs(v) else os.path.join(self.confdir, v)

    @property
    def master_key_file(self):
        return self.conf_path("keys", "master_key_file",
                              os.path.join(self.confdir, "master.key"))

    @property
    def tls_key_file(self):
        return self.conf_path("tls", "key_file",
                              os.path.join(self.confdir, "tls", "server.key"))

    @property
    def cookie_secret_file(self):
        return self.conf_path("auth", "cookie_secret_file",
                              os.path.join(self.confdir, "auth-cookie.secret"))

    @property
    def acl_file(self):
        return self.conf_path("acl", "file",
                              os.path.join(self.confdir, "acls.conf"))

    @property
    def audit_file(self):
        v = conf_read(self.conf).get("audit", {}).get("file")
        if v is not None and v.strip('"') == "":
            return None
        return self.conf_path("audit", "file",
                              os.path.join(self.confdir, "audit.log"))

    _acl_mtime = 0.0

    def write_acls(self, text, mode=0o600):
        """Replace the ACL file (mode 0600) with text, atomically, and give
        it a modification time later than any it had, whole seconds
        apart, so a reload by mtime cannot miss it."""
        path = self.acl_file
        tmp = path + ".tmp"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
        try:
            old = os.stat(path).st_mtime
        except FileNotFoundError:
            old = 0.0
        mtime = max(time.time(), old + 2.0, self._acl_mtime + 2.0)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
        self._acl_mtime = mtime

    def audit_records(self):
        """Every record of the audit file (one JSON object a line); a
        line that is not a JSON object fails the test.  [] when there is
        no file yet."""
        path = self.audit_file
        try:
            with open(path, "rb") as f:
                data = f.read().decode("utf-8")
        except FileNotFoundError:
            return []
        out = []
        # the last piece is "" or a line still being written
        lines = data.split("\n")[:-1]
        for n, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise AssertionError("%s:%d is not JSON (%s): %r"
                                     % (path, n, e, line[:300]))
            assert isinstance(rec, dict), "%s:%d: %r" % (path, n, line[:300])
            out.append(rec)
        return out

    def wait_audit(self, pred, timeout=10.0, what="audit records"):
        """Poll the audit file until pred(records) is true (returns its
        value) or timeout passes (fails, showing the last records)."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.audit_records()
            got = pred(recs)
            if got:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "%s not in %s after %.0f s; last records:\n%s"
                    % (what, self.audit_file, timeout,
                       "\n".join(json.dumps(r) for r in recs[-15:])))
            time.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def signal(self, sig):
        assert self.proc is not None and self.proc.poll() is None, \
            "server %s is not running" % self.name
        self.proc.send_signal(sig)

    # -- process
    def start(self, timeout=SERVER_START_TIMEOUT, core_limit=None,
              ready=(200,)):
        """Start and wait until healthy (health answers one of ready).
        core_limit: RLIMIT_CORE (soft and hard) to start the server with,
        to see it lower it."""
        preexec = None
        if core_limit is not None:
            def preexec():
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (core_limit, core_limit))
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [SERVER_BIN, "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=logf, stderr=logf, start_new_session=True,
                preexec_fn=preexec)
        finally:
            logf.close()
        _LIVE_SERVERS.append(self)
        ALL_SERVERS.append(self)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                _LIVE_SERVERS.remove(self)
                raise ServerStartError(
                    "keyward-server %s exited with %d during start-up; log:\n%s"
                    % (self.name, self.proc.returncode, self.log()))
            try:
                r = self.client(cert="admin").get("/v1/health")
                if r.status in ready:
                    return self
                last = "health answered %d: %r" % (r.status, r.body[:300])
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            "keyward-server %s not healthy after %.0f s (last: %s); log:\n%s"
            % (self.name, timeout, last, self.log()))

    def stop(self, timeout=SERVER_STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)
        p = self.proc
        if p is None or p.poll() is not None:
            if p is not None:
                self.returncode = p.returncode
            return self.returncode
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)
            self.killed = True
        self.returncode = p.returncode
        return self.returncode

    def log(self, lines=200):
        return tail(self.log_path, lines)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def client(self, **kw):
        return Client(self, **kw)


def stop_everything():
    """Stop every server and PostgreSQL this process started (by PID);
    remove the password files."""
    for s in list(_LIVE_SERVERS):
        try:
            s.stop()
        except Exception:
            pass
    for pg in list(_LIVE_PGS):
        try:
            pg.stop()
        except Exception:
            pass
    for pf in list(_PASSFILES):
        pf.remove()


atexit.register(stop_everything)


def make_tmp_root():
    root = tempfile.mkdtemp(prefix="keyward-it-")
    # the keyward user must traverse it to reach PostgreSQL's data dir
    os.chmod(root, 0o711)
    return root
