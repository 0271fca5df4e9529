#!/usr/bin/python3
"""test/bench/writeload.py: write throughput of a pair against pgbench.

Builds one active/passive pair (test/integration/pair.py: two PostgreSQL
15 with synchronous replication, remote_apply; two keyward servers with
default settings) and, for each client count, measures over keep-alive
HTTPS with a client certificate (mutual TLS, the production set-up; CN=admin,
which the ACLs `keyward-admin init` writes admit):

  create  POST /kms/v1/keys, a fresh name each time;
  roll    POST /kms/v1/key/NAME, each client rolling a key of its own;

each client a process of its own (multiprocessing, a minimal HTTP/1.1
client over Python's ssl: http.client costs more CPU per request than
the server does), all
started together after their TLS handshake, each stopping at the time
bound or its share of the count bound, whichever comes first.  Then
pgbench runs a single-row INSERT (one transaction each, as the server's
database role, over TCP) on the same primary with the same number of
clients for the same time: the ceiling the ratio is taken against.

With --profile DIR, while each keyward run goes on it also records
(into DIR, and summed up on stdout): wait events of the primary's
backends and ungranted locks (pg_stat_activity and pg_locks sampled
every 20 ms), mean time per statement (pg_stat_statements, loaded on
the primary for the run) and `perf record -g` of the active's server.

Exit 1 when a step completes no successful operation (or the set-up
fails), whatever the rates; the figures are printed, not judged.

    writeload.py [--clients 1,8,16,64] [--seconds 10] [--ops create,roll]
                 [--count 1000000] [--no-pgbench] [--profile DIR]
                 [--pool-size N]
"""

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import kwtest  # noqa: E402
import pair as pairmod  # noqa: E402
from benchlib import (LocalPKI, NoSuccess, pgbench_inserts,  # noqa: E402
                      pgbench_table, say)
from pair import Pair, Template  # noqa: E402

HTTP_TIMEOUT = 15.0
START_TIMEOUT = 60.0
SAMPLE_EVERY_S = 0.02

# -------------------------------------------------------------- clients

class _Conn:
    """One keep-alive HTTPS connection speaking just enough HTTP/1.1 for
    a POST with a JSON body and an answer with Content-Length: lighter
    than http.client, whose per-request parsing would cost more CPU than
    the server it measures on a small machine."""

    def __init__(self, port, ctx):
        self.port, self.ctx = port, ctx
        self.sock = None
        self.buf = b""

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port),
                                       timeout=HTTP_TIMEOUT)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buf = b""

    def post(self, path, body):
        """The answer's status; raises OSError on a broken connection."""
        if self.sock is None:
            self.connect()
        self.sock.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s"
                          % (path.encode(), len(body), body))
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v)
            elif k == b"connection" and v.strip().lower() == b"close":
                close = True
        while len(self.buf) < length:
            self._more()
        self.buf = self.buf[length:]
        if close:
            self.close()
        return status

    def _more(self):
        d = self.sock.recv(65536)
        if not d:
            raise OSError("connection closed by the server")
        self.buf += d

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _client(port, ca, cert, key, op, prefix, secs, count, barrier, out):
    """One client process: (ok, other, seconds, first error) into out."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    conn = _Conn(port, ctx)
    ok = other = 0
    err = ""
    try:
        conn.connect()
        if op == "roll":
            st = conn.post("/kms/v1/keys", json.dumps(
                {"name": prefix, "length": 128}).encode())
            if st != 201:
                err = "create of the key to roll answered %d" % st
        barrier.wait(START_TIMEOUT)
        t0 = time.monotonic()
        end = t0 + secs
        i = 0
        roll_path = "/kms/v1/key/%s" % prefix
        # refusals are counted and the client goes on; a failed set-up or
        # a broken connection ends it
        while not err.startswith("create of") and i < count and \
                time.monotonic() < end:
            i += 1
            if op == "create":
                st = conn.post("/kms/v1/keys", b'{"name":"%s-%d",'
                               b'"length":128}' % (prefix.encode(), i))
            else:
                st = conn.post(roll_path, b"{}")
            if st in (200, 201):
                ok += 1
            else:
                other += 1
                if other == 1:
                    err = "first refusal: %d" % st
        secs_used = time.monotonic() - t0
    except Exception as e:  # reported, counted as no success
        err = "%s: %s" % (type(e).__name__, e)
        secs_used = 0.0
        try:
            barrier.abort()
        except Exception:
            pass
    conn.close()
    out.put((ok, other, secs_used, err))


def keyward_run(node, pki, op, clients, secs, count):
    """(ok/s, ok, other, first error) of op with clients processes."""
    cert, key = pki.cert("admin")
    barrier = mp.Barrier(clients)
    out = mp.Queue()
    prefix = "wl-%s-%s" % (op, os.urandom(3).hex())
    per = max(1, count // clients)
    procs = [mp.Process(target=_client, args=(
        node.port, pki.ca_pem, cert, key, op, "%s-%d" % (prefix, i), secs,
        per, barrier, out), daemon=True) for i in range(clients)]
    for p in procs:
        p.start()
    res = []
    deadline = time.monotonic() + secs + START_TIMEOUT + HTTP_TIMEOUT
    while len(res) < clients and time.monotonic() < deadline:
        try:
            res.append(out.get(timeout=1.0))
        except Exception:
            pass
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)
    ok = sum(r[0] for r in res)
    other = sum(r[1] for r in res)
    span = max([r[2] for r in res] + [0.0])
    errs = [r[3] for r in res if r[3]]
    return (ok / span if span > 0 else 0.0), ok, other, \
        (errs[0] if errs else "")


# ------------------------------------------------------------------ CPU

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, own CPU s, reaped children's CPU s) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            f_ = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(f_[1]), (int(f_[11]) + int(f_[12])) / TICK,
            (int(f_[13]) + int(f_[14])) / TICK)


def cpu_now(p):
    """CPU seconds used so far by (PostgreSQL: both instances, all their
    processes, reaped ones included; the two keyward servers; this
    process's reaped children: the load clients, pgbench)."""
    pms = [db.pid() for db in p.dbs]
    pg = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = _stat(int(d))
        if st is not None and st[0] in pms:
            pg += st[1]
    for pm in pms:
        st = _stat(pm) if pm else None
        if st is not None:
            pg += st[1] + st[2]
    srv = 0.0
    for n in p.nodes:
        st = _stat(n.proc.pid) if n.proc is not None else None
        if st is not None:
            srv += st[1]
    t = os.times()
    return pg, srv, t.children_user + t.children_system


def cpu_per_op(before, after, ops):
    """CPU ms per operation: (PostgreSQL, servers, clients)."""
    return tuple(1000.0 * (a - b) / max(1, ops)
                 for a, b in zip(after, before))


# -------------------------------------------------------------- profile

SAMPLE_SQL = (
    "SELECT 'w', coalesce(wait_event_type, 'CPU'), coalesce(wait_event, "
    "'-'), count(*) FROM pg_stat_activity WHERE application_name = "
    "'keyward' AND state = 'active' GROUP BY 2, 3 UNION ALL "
    "SELECT 'l', locktype, coalesce(relation::regclass::text, '-'), "
    "count(*) FROM pg_locks WHERE NOT granted GROUP BY 2, 3;\n"
    "SELECT 'z', pg_sleep(%s), '', 0;\n" % SAMPLE_EVERY_S)


class Sampler:
    """pg_stat_activity and pg_locks of db sampled in one psql session
    for secs seconds (a script of that many samples)."""

    def __init__(self, db, secs, path):
        n = max(1, int(secs / SAMPLE_EVERY_S))
        self.path = path
        with open(path + ".sql", "w") as f:
            f.write(SAMPLE_SQL * n)
        self.proc = subprocess.Popen(
            [os.path.join(pairmod.bindir(), "psql"), "-X", "-q", "-A", "-t",
             "-F", "|", "-h", db.sockdir, "-p", str(db.port), "-U",
             kwtest.SUPERUSER, "-d", pairmod.DBNAME, "-f", path + ".sql"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=db.env())

    def result(self, timeout):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        waits, locks, samples = {}, {}, 0
        for line in out.decode("utf-8", "replace").splitlines():
            f = line.split("|")
            if len(f) != 4:
                continue
            if f[0] == "z":
                samples += 1
            elif f[0] == "w":
                k = "%s/%s" % (f[1], f[2])
                waits[k] = waits.get(k, 0) + int(f[3])
            elif f[0] == "l":
                k = "%s %s" % (f[1], f[2])
                locks[k] = locks.get(k, 0) + int(f[3])
        with open(self.path + ".txt", "w") as f:
            f.write("samples %d\n" % samples)
            for k, v in sorted(waits.items(), key=lambda x: -x[1]):
                f.write("wait %-40s %d\n" % (k, v))
            for k, v in sorted(locks.items(), key=lambda x: -x[1]):
                f.write("lock %-40s %d\n" % (k, v))
        return samples, waits, locks


def enable_statements(p):
    """Load pg_stat_statements on the primary (a restart), then wait
    for the pair to be writable again."""
    p.db_a.psql("ALTER SYSTEM SET shared_preload_libraries = "
                "'pg_stat_statements'")
    p.db_a.stop()
    p.db_a.start()
    p.db_a.wait_sync(p.db_b)
    p.db_a.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def statements(db, path, top=8):
    rows = db.psql("SELECT calls, round(mean_exec_time::numeric, 3), "
                   "round(total_exec_time::numeric, 1), "
                   "regexp_replace(left(query, 90), '\\s+', ' ', 'g') "
                   "FROM pg_stat_statements WHERE calls > 10 "
                   "ORDER BY total_exec_time DESC LIMIT %d" % top) or []
    with open(path, "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    return rows


def perf_start(pid, path, secs):
    if shutil.which("perf") is None:
        return None
    return subprocess.Popen(["perf", "record", "-q", "-F", "499", "-g",
                             "-p", str(pid), "-o", path, "--", "sleep",
                             str(secs)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def perf_top(path, n=12):
    p = subprocess.run(["perf", "report", "-i", path, "--stdio",
                        "--no-children", "--sort", "dso,symbol",
                        "-g", "none", "--percent-limit", "1"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=120)
    lines = [ln for ln in p.stdout.decode("utf-8", "replace").splitlines()
             if ln.strip() and not ln.startswith("#")]
    with open(path + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines[:n]


def profiled_run(p, pki, op, c, secs, count, pdir):
    tag = "%s-%d" % (op, c)
    p.db_a.psql("SELECT pg_stat_statements_reset()")
    # the samplers start a little late and end a little early
    smp = Sampler(p.db_a, max(1, secs - 2), os.path.join(pdir, tag + "-pg"))
    perf = perf_start(p.a.proc.pid, os.path.join(pdir, tag + ".perf"),
                      max(1, secs - 2))
    res = keyward_run(p.a, pki, op, c, secs, count)
    samples, waits, locks = smp.result(secs + 30)
    say("     profile %s: %d samples of the primary's active keyward "
        "backends (sum over samples):" % (tag, samples))
    for k, v in sorted(waits.items(), key=lambda x: -x[1])[:6]:
        say("       wait %-36s %6d  (%.2f per sample)" % (k, v,
                                                         v / max(1, samples)))
    for k, v in sorted(locks.items(), key=lambda x: -x[1])[:4]:
        say("       lock not granted %-24s %6d" % (k, v))
    say("       statements (calls, mean ms, total ms, text):")
    for r in statements(p.db_a, os.path.join(pdir, tag + "-stmts.txt")):
        say("         %s" % "  ".join(r))
    if perf is not None:
        perf.wait(secs + 30)
        say("       perf of the active's server (top symbols):")
        for ln in perf_top(os.path.join(pdir, tag + ".perf")):
            say("         " + ln.strip())
    return res


# ----------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", default="1,8,16,64")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--ops", default="create,roll")
    ap.add_argument("--count", type=int, default=1000000,
                    help="bound on operations per run")
    ap.add_argument("--no-pgbench", action="store_true")
    ap.add_argument("--profile", metavar="DIR")
    ap.add_argument("--pool-size", type=int,
                    help="the servers' db.pool_size (default: theirs)")
    a = ap.parse_args()
    clients = [int(x) for x in a.clients.split(",")]
    ops = a.ops.split(",")
    for b in (kwtest.SERVER_BIN, kwtest.ADMIN_BIN):
        if not os.access(b, os.X_OK):
            say("writeload: %s is not built (make all)" % b)
            return 1
    root = kwtest.make_tmp_root()
    p = None
    rc = 1

    def on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, on_term)
    try:
        pki = LocalPKI(root)
        # production settings: the cache on (pair.py turns it off)
        settings = {("keys", "cache_ttl_ms"): "10000"}
        if a.pool_size:
            settings[("db", "pool_size")] = str(a.pool_size)
        p = Pair(root, pki, Template(root), auth="mtls", settings=settings,
                 start_servers=False)
        if a.profile:
            os.makedirs(a.profile, exist_ok=True)
            enable_statements(p)
        p.start_servers()
        p.wait_writable()
        if not a.no_pgbench:
            pgbench_table(p.db_a)
        say("writeload: pair up; %d CPUs; %d s a run; mTLS as CN=admin"
            % (os.cpu_count(), a.seconds))
        rows = []
        for op in ops:
            for c in clients:
                c0 = cpu_now(p)
                if a.profile:
                    rps, ok, other, err = profiled_run(p, pki, op, c,
                                                       a.seconds, a.count,
                                                       a.profile)
                else:
                    rps, ok, other, err = keyward_run(p.a, pki, op, c,
                                                      a.seconds, a.count)
                kcpu = cpu_per_op(c0, cpu_now(p), ok)
                if ok <= 0:
                    raise NoSuccess("%s with %d clients: no success (%d "
                                    "refused; %s)" % (op, c, other, err))
                pg, pcpu = None, None
                if not a.no_pgbench:
                    c0 = cpu_now(p)
                    pg = pgbench_inserts(p.db_a, c, a.seconds, root,
                                         pairmod.bindir())[0]
                    pcpu = cpu_per_op(c0, cpu_now(p), int(pg * a.seconds))
                rows.append((op, c, rps, other, pg, kcpu, pcpu))
                say("   %-6s %3d clients: %7.0f/s (%d ok, %d refused)%s"
                    % (op, c, rps, ok, other, "" if pg is None else
                       "; pgbench %.0f tps, ratio %.2f" % (pg, rps / pg)))
        say("\nCPU ms per operation: PostgreSQL (both instances) / keyward "
            "servers / clients\n(keyward's clients: Python; pgbench's: "
            "C); %d CPUs, shared with whatever else runs" % os.cpu_count())
        say("\n| op | clients | keyward/s | pgbench tps | ratio | "
            "keyward CPU ms/op pg/srv/cli | pgbench CPU ms/op pg/cli |")
        say("| --- | --- | --- | --- | --- | --- | --- |")
        for op, c, rps, other, pg, kcpu, pcpu in rows:
            say("| %s | %d | %.0f | %s | %s | %.2f/%.2f/%.2f | %s |"
                % (op, c, rps, "-" if pg is None else "%.0f" % pg,
                   "-" if pg is None else "%.2f" % (rps / pg),
                   kcpu[0], kcpu[1], kcpu[2], "-" if pcpu is None else
                   "%.2f/%.2f" % (pcpu[0], pcpu[2])))
        rc = 0
    except Exception as e:
        say("writeload: %s: %s" % (type(e).__name__, e))
        if p is not None:
            for n in p.nodes:
                say("--- %s server log\n%s" % (n.name, n.log(30)))
    finally:
        if p is not None:
            p.close()
        kwtest.stop_everything()
        if os.environ.get("KEYWARD_TEST_KEEP"):
            say("keeping", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
