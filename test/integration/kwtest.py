"""kwtest: helpers for keyward's integration tests.

Owns the pieces the fixtures in conftest.py put together: a throw-away PKI
made with the openssl CLI, a PostgreSQL instance run through
scripts/keyward-localdb, keyward servers started from `keyward-admin init`
output, and a small HTTPS client for the KMS REST protocol.  Stdlib only
(plus `cryptography` when present, for the independent AES-CTR check).

Every process started here is remembered and stopped by PID (SIGTERM, then
SIGKILL) at teardown and again at interpreter exit, so an interrupted run
leaves nothing behind.
"""

import atexit
import base64
import binascii
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import warnings

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEYWARD_BUILD", os.path.join(REPO, "build"))
SERVER_BIN = os.path.join(BUILD, "keyward-server")
ADMIN_BIN = os.path.join(BUILD, "keyward-admin")
LOCALDB = os.path.join(REPO, "scripts", "keyward-localdb")

KMS = "/kms/v1/"
CIPHER = "AES/CTR/NoPadding"
IAE = "java.lang.IllegalArgumentException"
IOE = "java.io.IOException"

# Bound on every wait in this suite.
SERVER_START_TIMEOUT = 15.0
SERVER_STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0
CMD_TIMEOUT = 60.0

_LIVE_SERVERS = []      # servers not yet stopped
ALL_SERVERS = []        # every server started in this session
_LIVE_PGS = []


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


# --------------------------------------------------------------- base64

B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url(data):
    """URL-safe base64 without padding (what batch reencrypt sends)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64std(data):
    """Standard base64 with padding (what create/decrypt clients send)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_any(s):
    """Decode base64 in either alphabet, padding optional."""
    s = s.strip()
    s = s.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def resp_b64(value, what="field"):
    """Check a response binary field is base64url without padding; decode."""
    assert isinstance(value, str), "%s is not a string: %r" % (what, value)
    assert B64URL_RE.match(value), \
        "%s is not URL-safe base64 without padding: %r" % (what, value)
    assert len(value) % 4 != 1, "%s has an impossible base64 length: %r" % (what, value)
    return b64decode_any(value)


def secret_forms(data):
    """Every textual form of a secret that must never appear in a log."""
    forms = {b64url(data), b64std(data), b64std(data).rstrip("="),
             base64.urlsafe_b64encode(data).decode("ascii"),
             binascii.hexlify(data).decode("ascii"),
             binascii.hexlify(data).decode("ascii").upper()}
    return {f for f in forms if len(f) >= 16}


# ----------------------------------------------------------- AES-CTR

def flip_iv(iv):
    return bytes(b ^ 0xFF for b in iv)


def aes_ctr(key, counter_block, data):
    """AES-CTR with a 128-bit big-endian counter starting at counter_block,
    computed independently of keyward (cryptography, else openssl enc)."""
    assert len(key) in (16, 32) and len(counter_block) == 16
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        Cipher = None
    if Cipher is not None:
        enc = Cipher(algorithms.AES(key), modes.CTR(counter_block)).encryptor()
        return enc.update(data) + enc.finalize()
    algo = "-aes-128-ctr" if len(key) == 16 else "-aes-256-ctr"
    p = subprocess.run(["openssl", "enc", algo, "-nosalt",
                        "-K", binascii.hexlify(key).decode(),
                        "-iv", binascii.hexlify(counter_block).decode()],
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CMD_TIMEOUT, check=True)
    return p.stdout


def eek_decrypt(key, iv, eek_material):
    """The Hadoop EEK arithmetic: DEK = AES-CTR(K, ~IV, EEK)."""
    return aes_ctr(key, flip_iv(iv), eek_material)


# ------------------------------------------------------------------ PKI

class PKI:
    """A test CA, a server certificate for 127.0.0.1/localhost, a client
    certificate (CN=admin) from that CA and one (CN=admin too) from a CA the
    server does not know."""

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
        env = dict(os.environ)
        env["PGPASSWORD"] = self.password
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

    def conninfo(self, dbname):
        return "host=127.0.0.1 port=%d dbname=%s user=keyward" % (self.port, dbname)

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


# --------------------------------------------------------------- server

class ServerStartError(Exception):
    pass


class Server:
    """A keyward node: config dir made by `keyward-admin init`, its own
    database (migrated), and a keyward-server process once started."""

    _seq = 0

    def __init__(self, root, pg, pki, name=None, auth="mtls", settings=None,
                 own_tls=True):
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
        cmd = [ADMIN_BIN, "init", "--confdir", self.confdir,
               "--node-name", self.name,
               "--listen", "127.0.0.1:%d" % self.port,
               "--db-local", pg.conninfo(self.dbname),
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
        _rc, self.init_out, self.init_err = run(cmd)
        if settings:
            conf_set(self.conf, settings)
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

    # -- process
    def start(self, timeout=SERVER_START_TIMEOUT):
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [SERVER_BIN, "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=logf, stderr=logf, start_new_session=True)
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
                if r.status == 200:
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
    """Stop every server and PostgreSQL this process started (by PID)."""
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


atexit.register(stop_everything)


# --------------------------------------------------------------- client

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        assert self.content_type == "application/json", \
            "Content-Type is %r, not application/json: %r" % (
                self.headers.get("Content-Type"), self)
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("body is not JSON (%s): %r" % (e, self.body[:500]))

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.reason, self.body[:600])


def quote(name):
    """A key or version name as one path segment."""
    return urllib.parse.quote(name, safe="")


class Client:
    """One HTTPS request per connection to a keyward server.

    cert: "admin" (CA-signed, CN=admin), "rogue" (unknown CA) or None.
    user: pseudo-auth user name added as ?user.name= (default: "admin"
    when the server runs pseudo auth and cert is not given explicitly).
    """

    _unset = object()

    def __init__(self, server, cert=_unset, user=_unset, tls_version=None,
                 ciphers=None):
        self.server = server
        if cert is Client._unset:
            cert = "admin" if server.auth == "mtls" else None
        if user is Client._unset:
            user = "admin" if server.auth == "pseudo" else None
        self.cert = cert
        self.user = user
        self.tls_version = tls_version
        self.ciphers = ciphers

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.server.verify_ca:
            ctx.load_verify_locations(self.server.verify_ca)
            ctx.check_hostname = True
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.ciphers:
            ctx.set_ciphers(self.ciphers)
        if self.tls_version is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = self.tls_version
                ctx.maximum_version = self.tls_version
        pki = self.server.pki
        if self.cert == "admin":
            ctx.load_cert_chain(pki.client_pem, pki.client_key)
        elif self.cert == "rogue":
            ctx.load_cert_chain(pki.rogue_pem, pki.rogue_key)
        elif self.cert is not None:
            raise ValueError(self.cert)
        return ctx

    def url(self, path, query=()):
        if not path.startswith("/"):
            path = KMS + path
        q = list(query)
        if self.user is not None:
            q.append(("user.name", self.user))
        if q:
            path += "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote,
                                                 safe="")
        return path

    def request(self, method, path, body=None, query=(), raw=None,
                headers=None):
        hdrs = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
            self._remember(body)
        if headers:
            hdrs.update(headers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = self.context()
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                           context=ctx, timeout=HTTP_TIMEOUT)
        try:
            conn.request(method, self.url(path, query), body=data, headers=hdrs)
            r = conn.getresponse()
            resp = Response(r.status, r.reason, r.headers, r.read())
        finally:
            conn.close()
        if resp.content_type == "application/json" and resp.body:
            try:
                self._remember(json.loads(resp.body.decode("utf-8")))
            except ValueError:
                pass
        return resp

    def _remember(self, obj):
        """Record every key material/DEK seen, for the log-leak test."""
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "material" and isinstance(v, str):
                    try:
                        raw = b64decode_any(v)
                    except (ValueError, binascii.Error):
                        continue
                    if len(raw) >= 16:
                        self.server.secrets.add(raw)
                else:
                    self._remember(v)
        elif isinstance(obj, list):
            for v in obj:
                self._remember(v)

    def raw_exchange(self, data, timeout=10.0, close_write=False):
        """Send raw bytes over one TLS connection and read until the server
        closes it or timeout passes.  Returns (bytes, closed_by_server,
        seconds taken)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = self.context()
        t0 = time.monotonic()
        got, closed = b"", False
        with socket.create_connection(("127.0.0.1", self.server.port),
                                      timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                t.sendall(data)
                deadline = t0 + timeout
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    t.settimeout(left)
                    try:
                        chunk = t.recv(65536)
                    except socket.timeout:
                        break
                    except (ssl.SSLError, ConnectionError):
                        closed = True
                        break
                    if not chunk:
                        closed = True
                        break
                    got += chunk
        return got, closed, time.monotonic() - t0

    def get(self, path, query=(), **kw):
        return self.request("GET", path, query=query, **kw)

    def post(self, path, body=None, query=(), **kw):
        return self.request("POST", path, body=body, query=query, **kw)

    def delete(self, path, query=(), **kw):
        return self.request("DELETE", path, query=query, **kw)

    def put(self, path, body=None, query=(), **kw):
        return self.request("PUT", path, body=body, query=query, **kw)

    # -- KMS operations (return Response; callers assert)
    def create(self, name, length=None, material=None, **extra):
        body = {"name": name, "cipher": CIPHER}
        if length is not None:
            body["length"] = length
        if material is not None:
            body["material"] = material
        body.update(extra)
        return self.post("keys", body)

    def roll(self, name, material=None):
        return self.post("key/" + quote(name),
                         {} if material is None else {"material": material})

    def metadata(self, name):
        return self.get("key/%s/_metadata" % quote(name))

    def names(self):
        return self.get("keys/names")

    def current(self, name):
        return self.get("key/%s/_currentversion" % quote(name))

    def versions(self, name):
        return self.get("key/%s/_versions" % quote(name))

    def keyversion(self, version_name):
        return self.get("keyversion/" + quote(version_name))

    def generate(self, name, num_keys=None):
        q = [("eek_op", "generate")]
        if num_keys is not None:
            q.append(("num_keys", str(num_keys)))
        return self.get("key/%s/_eek" % quote(name), query=q)

    def eek_op(self, op, eek, body_name=None):
        """decrypt/reencrypt an EEK (the dict a generate returned) the way
        the Java client sends it: standard base64 with padding."""
        name = body_name if body_name is not None else eek["encryptedKeyVersion"]["name"]
        body = {"name": name,
                "iv": b64std(b64decode_any(eek["iv"])),
                "material": b64std(b64decode_any(eek["encryptedKeyVersion"]["material"]))}
        return self.post("keyversion/%s/_eek" % quote(eek["versionName"]), body,
                         query=[("eek_op", op)])

    def decrypt(self, eek, **kw):
        return self.eek_op("decrypt", eek, **kw)

    def reencrypt(self, eek, **kw):
        return self.eek_op("reencrypt", eek, **kw)

    def reencrypt_batch(self, name, eeks):
        return self.post("key/%s/_reencryptbatch" % quote(name), eeks)

    def invalidate(self, name):
        return self.post("key/%s/_invalidatecache" % quote(name))

    def delete_key(self, name):
        return self.delete("key/" + quote(name))


# ------------------------------------------------------------ assertions

def ok_json(resp, status=200):
    """Assert status and a JSON body; return the decoded body."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    return resp.json()


def assert_error(resp, status, java_class=None, contains=None):
    """Assert a Hadoop RemoteException envelope with this status/class."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"RemoteException"}, \
        "not a RemoteException envelope: %r" % (body,)
    rex = body["RemoteException"]
    assert isinstance(rex, dict), rex
    for k in ("message", "exception", "javaClassName"):
        assert isinstance(rex.get(k), str) and rex[k], \
            "envelope field %r missing or empty: %r" % (k, rex)
    if java_class is not None:
        assert rex["javaClassName"] == java_class, rex
        assert rex["exception"] == java_class.rsplit(".", 1)[1], rex
    if contains is not None:
        assert contains in rex["message"], \
            "message %r does not contain %r" % (rex["message"], contains)
    return rex


def assert_keyversion(kv, name, version, length_bits=None):
    """Assert a KeyVersion object; return its material bytes."""
    assert isinstance(kv, dict), kv
    assert kv.get("name") == name, kv
    assert kv.get("versionName") == "%s@%d" % (name, version), kv
    mat = resp_b64(kv.get("material"), "material")
    if length_bits is not None:
        assert len(mat) == length_bits // 8, \
            "material is %d bytes, expected %d" % (len(mat), length_bits // 8)
    return mat


def assert_eek(e, name, version, length_bits):
    """Assert an EncryptedKeyVersion object; return (iv, eek material)."""
    assert isinstance(e, dict), e
    assert e.get("versionName") == "%s@%d" % (name, version), e
    iv = resp_b64(e.get("iv"), "iv")
    assert len(iv) == 16, "iv is %d bytes" % len(iv)
    ekv = e.get("encryptedKeyVersion")
    assert isinstance(ekv, dict), e
    assert ekv.get("name") == name, e
    assert ekv.get("versionName") == "EEK", e
    mat = resp_b64(ekv.get("material"), "encryptedKeyVersion.material")
    assert len(mat) == length_bits // 8, \
        "EEK material is %d bytes, expected %d" % (len(mat), length_bits // 8)
    return iv, mat


def assert_dek(d, name, length_bits):
    """Assert a decrypted key object; return the DEK bytes."""
    assert isinstance(d, dict), d
    assert d.get("name") == name, d
    assert d.get("versionName") == "EK", d
    dek = resp_b64(d.get("material"), "material")
    assert len(dek) == length_bits // 8, d
    return dek


def assert_healthy(client):
    """The server still answers a health check and a names listing."""
    r = client.get("/v1/health")
    assert r.status == 200, "health after bad input: %r" % r
    names = ok_json(client.names())
    assert isinstance(names, list), names
    return names


def make_tmp_root():
    root = tempfile.mkdtemp(prefix="keyward-it-")
    # the keyward user must traverse it to reach PostgreSQL's data dir
    os.chmod(root, 0o711)
    return root
