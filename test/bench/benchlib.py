"""benchlib: what keyward's benchmarks share.

Owns: a small PKI (P-256, scripts/keyward-certs), running wrk and reading its totals (successful answers counted
apart from refusals), a keep-alive HTTPS client for sequential API calls
(the create-latency measurement and the set-up of a key and an EEK), the
percentile and median arithmetic, and the rule every benchmark applies:
a step that completes no successful operation is a failure (NoSuccess),
whatever the figures.  It does not start servers or databases
(test/bench/benchnode, test/integration/pair.py and kwtest.py do).

Every call here is bounded in time: wrk runs for its duration plus a
margin, each HTTP request has a timeout, a create series stops at a count
or a deadline, whichever comes first.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import time
import urllib.parse

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HTTP_TIMEOUT = 15.0
WRK_MARGIN_S = 30


class NoSuccess(Exception):
    """A benchmark step completed no successful operation."""


def say(*a):
    print(*a, flush=True)


def need_wrk():
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make deps)")


# ------------------------------------------------------------------ wrk

class WrkResult:
    """wrk's totals: requests answered, of which non-2xx/3xx (bad), the
    socket errors line, the duration and the average latency."""

    def __init__(self, total, bad, secs, latency, errors, out):
        self.total, self.bad, self.secs = total, bad, secs
        self.latency, self.errors, self.out = latency, errors, out

    @property
    def ok(self):
        return self.total - self.bad

    @property
    def ok_rps(self):
        """Successful answers per second (refusals left out)."""
        return self.ok / self.secs if self.secs > 0 else 0.0


def wrk(url, conns, secs, threads=2, lua=None):
    """Run wrk against url for secs seconds over keep-alive HTTPS; returns
    a WrkResult.  Raises RuntimeError when wrk prints no totals."""
    cmd = ["wrk", "-t%d" % min(threads, conns), "-c%d" % conns,
           "-d%ds" % secs, "--timeout", "5s"]
    if lua:
        cmd += ["-s", lua]
    p = subprocess.run(cmd + [url], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=secs + WRK_MARGIN_S)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(m?s)", out, re.M)
    if not m:
        raise RuntimeError("wrk printed no totals:\n" + out)
    total = int(m.group(1))
    dur = float(m.group(2)) / (1000.0 if m.group(3) == "ms" else 1.0)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)$", out, re.M)
    lat = re.search(r"^\s*Latency\s+(\S+)", out, re.M)
    return WrkResult(total, int(bad.group(1)) if bad else 0, dur,
                     lat.group(1) if lat else "?",
                     errs.group(1).strip() if errs else "", out)


def wrk_decrypt_lua(path, eek):
    """Write a wrk script that POSTs eek (a generate answer's element)
    back for decryption; returns path."""
    body = json.dumps({"name": eek["encryptedKeyVersion"]["name"],
                       "iv": eek["iv"],
                       "material": eek["encryptedKeyVersion"]["material"]})
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.body = %s\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                % json.dumps(body))
    return path


# --------------------------------------------------------------- client

class LocalPKI:
    """What kwtest.Server and pair.py need of a PKI (kwtest.PKI's
    ca_pem, server_pem, server_key and cert("admin")), made by
    scripts/keyward-certs: P-256 keys, so it takes a fraction of the
    time of kwtest.PKI's RSA ones, and the server's certificate is the
    one test/bench/run uses."""

    def __init__(self, root):
        d = os.path.join(root, "certs")
        subprocess.run(["sh", os.path.join(TOP, "scripts", "keyward-certs"),
                        d], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       check=True, timeout=60)
        self.ca_pem = os.path.join(d, "ca.pem")
        self.server_pem = os.path.join(d, "server.pem")
        self.server_key = os.path.join(d, "server.key")
        self._client = (os.path.join(d, "client.pem"),
                        os.path.join(d, "client.key"))

    def cert(self, name):
        assert name == "admin", name
        return self._client


class Conn:
    """One keep-alive HTTPS connection to a keyward server on loopback,
    pseudo auth as user (?user.name=), or mutual TLS with cert, a
    (certificate, key) pair, and user None.  The server's certificate is
    checked against ca when given."""

    def __init__(self, port, user, ca=None, cert=None):
        self.port, self.user = port, user
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if ca:
            self.ctx.load_verify_locations(ca)
        else:
            self.ctx.check_hostname = False
            self.ctx.verify_mode = ssl.CERT_NONE
        if cert:
            self.ctx.load_cert_chain(cert[0], cert[1])
        self.conn = None

    def path(self, path, query=()):
        q = list(query)
        if self.user is not None:
            q.append(("user.name", self.user))
        return "/kms/v1/" + path + "?" + urllib.parse.urlencode(q)

    def url(self, path, query=()):
        return "https://127.0.0.1:%d%s" % (self.port, self.path(path, query))

    def request(self, method, path, body=None, query=()):
        """(status, decoded JSON body or None); one reconnect on a
        dropped keep-alive connection."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=self.ctx,
                    timeout=HTTP_TIMEOUT)
            try:
                self.conn.request(method, self.path(path, query), body=data,
                                  headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        try:
            doc = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            doc = None
        return r.status, doc

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def make_key_and_eek(conn, name):
    """Create key name (128 bits) and generate one EEK of it; returns the
    EEK.  Raises NoSuccess when the server refuses either."""
    st, doc = conn.request("POST", "keys", {"name": name, "length": 128})
    if st != 201:
        raise NoSuccess("create %s answered %d: %s" % (name, st, doc))
    st, doc = conn.request("GET", "key/%s/_eek" % name,
                           query=[("eek_op", "generate"), ("num_keys", "1")])
    if st != 200 or not isinstance(doc, list) or not doc:
        raise NoSuccess("generate of %s answered %d: %s" % (name, st, doc))
    return doc[0]


def creates(conn, prefix, count, max_secs):
    """Create up to count keys (fresh names) one after another over conn,
    stopping at max_secs; returns (latencies in ms of the acknowledged
    creates (201), number of other answers)."""
    lat, other = [], 0
    deadline = time.monotonic() + max_secs
    for i in range(count):
        if time.monotonic() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            st, _doc = conn.request("POST", "keys",
                                    {"name": "%s-%d" % (prefix, i),
                                     "length": 128})
        except (OSError, http.client.HTTPException):
            st = None
        t1 = time.perf_counter()
        if st == 201:
            lat.append((t1 - t0) * 1000.0)
        else:
            other += 1
    return lat, other


# -------------------------------------------------------------- pgbench

# one row per transaction, like a key creation (which writes a key row and
# its version row, after an in-transaction replication check)
PGBENCH_SQL = ("INSERT INTO bench_insert (name, wrapped, created_ms) VALUES "
               "('b-' || nextval('bench_seq'), decode(md5(random()::text) || "
               "md5(random()::text), 'hex'), (extract(epoch FROM "
               "clock_timestamp()) * 1000)::bigint);\n")


def pgbench_table(db, drop=False):
    """Make (or drop) pgbench's table on db (a pair.PairDB), made by the
    superuser (psql's default) and written by the server's role."""
    if drop:
        db.psql("DROP TABLE bench_insert; DROP SEQUENCE bench_seq")
        return
    role = re.search(r"user=(\S+)", db.conninfo()).group(1)
    db.psql("CREATE SEQUENCE bench_seq; CREATE TABLE bench_insert "
            "(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, "
            "wrapped bytea NOT NULL, created_ms bigint NOT NULL); "
            "GRANT INSERT ON bench_insert TO %s; GRANT USAGE ON "
            "bench_seq, bench_insert_id_seq TO %s" % (role, role))


def pgbench_inserts(db, clients, secs, tmp, pgbin):
    """pgbench's single-row INSERT on db (a pair.PairDB, its table made
    by pgbench_table) over TCP as keyward-server connects (db.conninfo():
    its role, or the superuser on a pair set up without keyward-admin),
    clients clients for secs seconds: (tps, average latency text).
    pgbin: PostgreSQL's bin directory.  NoSuccess when no transaction
    completed."""
    script = os.path.join(tmp, "insert.sql")
    with open(script, "w") as f:
        f.write(PGBENCH_SQL)
    p = subprocess.run([os.path.join(pgbin, "pgbench"), "-n",
                        "-f", script, "-c", str(clients),
                        "-j", str(min(clients, 2)), "-T", str(secs),
                        db.conninfo()],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=secs + 60,
                       env=db.env())
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if p.returncode != 0 or not m:
        raise RuntimeError("pgbench failed:\n" + out)
    if float(m.group(1)) <= 0:
        raise NoSuccess("pgbench completed no transaction:\n" + out)
    lat = re.search(r"latency average = ([\d.]+ ms)", out)
    return float(m.group(1)), lat.group(1) if lat else "?"


# ----------------------------------------------------------- arithmetic

def percentile(xs, p):
    """Nearest-rank percentile p (0-100) of xs (non-empty)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def unique(prefix):
    return "%s-%s" % (prefix, os.urandom(4).hex())
