"""make run's pair as a whole: scripts/keyward-run started as `make run`
starts it (in the foreground of its own process group; state in a temp
dir, free ports, the build the tests use), then PyKMIP's client at KMIP 1.2
and 2.0 and the Hadoop KMS protocol through both nodes with the client
certificate the script made; SIGTERM to its process group, as Ctrl-C
signals a terminal's, stops both servers and both databases."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from kmip.core import enums
from kmip.pie.client import ProxyKmipClient

import kwtest
from kwclient import Client, ok_json, secret_forms
from test_kmip import AF, CBC, V12, V20, create_key, failure, state_of

SCRIPT = os.path.join(kwtest.REPO, "scripts", "keyward-run")
ADDR = {"a": "127.0.0.1", "b": "127.0.0.2"}
UP_WITHIN_S = 120.0       # first run: a CA, two initdb, a base backup
STOP_WITHIN_S = 60.0      # SIGTERM -> both servers and databases stopped


class Node:
    """What kwclient.Client needs to reach one node of the run's pair."""

    auth = "mtls"
    pki = None

    def __init__(self, state, host, port):
        self.host, self.port = host, port
        self.verify_ca = os.path.join(state, "ca.pem")
        self.secrets = set()


class MakeRun:
    """scripts/keyward-run with its state under root/run, on free ports."""

    def __init__(self, root):
        self.root = root
        self.state = os.path.join(root, "run")
        ports = set()
        while len(ports) < 3:
            ports.add(kwtest.free_port())
        self.http_port, self.db_port, self.kmip_port = sorted(ports)
        self.out_path = os.path.join(root, "keyward-run.out")
        self.proc = None
        self.pgid = None

    def start(self):
        env = dict(os.environ, KEYWARD_RUN_DIR=self.state,
                   KEYWARD_PORT=str(self.http_port),
                   KEYWARD_DB_PORT=str(self.db_port),
                   KEYWARD_KMIP_PORT=str(self.kmip_port),
                   KEYWARD_BIN=kwtest.BUILD)
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                ["sh", SCRIPT], cwd=self.root, env=env,
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid

    def output(self):
        return kwtest.tail(self.out_path, 400)

    def node(self, n):
        return Node(self.state, ADDR[n], self.http_port)

    def client(self, n):
        cert = (os.path.join(self.state, "client.pem"),
                os.path.join(self.state, "client.key"))
        return Client(self.node(n), cert=cert, timeout=5.0)

    def wait_healthy(self):
        """Until both nodes answer /v1/health with 200 (the pair writable)."""
        deadline = time.monotonic() + UP_WITHIN_S
        left = ["a", "b"]
        while left:
            if self.proc.poll() is not None:
                pytest.fail("keyward-run exited %d before both nodes were "
                            "healthy:\n%s" % (self.proc.returncode,
                                              self.output()))
            if time.monotonic() > deadline:
                pytest.fail("nodes %s not healthy within %.0f s; keyward-run "
                            "said:\n%s" % (left, UP_WITHIN_S, self.output()))
            try:
                if self.client(left[0]).get("/v1/health").status == 200:
                    left.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.5)

    def kmip(self, n, version):
        c = ProxyKmipClient(hostname=ADDR[n], port=self.kmip_port,
                            cert=os.path.join(self.state, "client.pem"),
                            key=os.path.join(self.state, "client.key"),
                            ca=os.path.join(self.state, "ca.pem"),
                            ssl_version="PROTOCOL_TLS", kmip_version=version,
                            config_file=os.devnull)
        c.open()
        return c

    def postmaster_pids(self):
        """{data dir: PID} from the databases' postmaster.pid files."""
        pids = {}
        for d in ("db-a", "db-b"):
            try:
                with open(os.path.join(self.state, d, "postmaster.pid")) as f:
                    pids[d] = int(f.readline())
            except (OSError, ValueError):
                pass
        return pids

    def ps(self):
        """What is left of the script's group, with what each waits on."""
        return kwtest.run(["ps", "-o", "pid,stat,wchan:32,args", "-g",
                           str(self.pgid)], check=False)[1]

    def group_alive(self):
        try:
            os.killpg(self.pgid, 0)
            return True
        except ProcessLookupError:
            return False

    def cleanup(self):
        """Stop whatever is left, by PID: the script's group, then any
        database it left running."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.pgid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_WITHIN_S)
            except subprocess.TimeoutExpired:
                pass
        if self.group_alive():
            os.killpg(self.pgid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)
        for d, pid in self.postmaster_pids().items():
            kwtest.run([kwtest.ADMIN_BIN, "db", "stop", "--datadir",
                        os.path.join(self.state, d)], check=False)
            if alive(pid):
                os.kill(pid, signal.SIGQUIT)


def alive(pid):
    """Whether pid runs (a zombie nobody has reaped yet does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def make_run(binaries):
    root = kwtest.make_tmp_root()
    r = MakeRun(root)
    yield r
    r.cleanup()
    # shown when the test failed (pytest prints a failing test's output)
    print("keyward-run output (%s):\n%s" % (r.out_path, r.output()))
    if os.environ.get("KEYWARD_TEST_KEEP"):
        print("keeping", root)
    else:
        shutil.rmtree(root, ignore_errors=True)


def kmip_crosses_nodes(r, version, tag):
    """An AES-256 key's whole life at one KMIP version, each step through
    the node the brief of issue 14 names; returns its material."""
    a, b = r.kmip("a", version), r.kmip("b", version)
    try:
        name = "make-run-" + tag
        uid = create_key(a, name=name)
        a.activate(uid)
        key = b.get(uid).value
        assert len(key) == 32
        assert key == a.get(uid).value
        assert state_of(b, uid) == enums.State.ACTIVE
        data = b"written through kw-a, read through kw-b: " + tag.encode()
        ct, iv = a.encrypt(data, uid=uid, cryptographic_parameters=CBC)
        assert b.decrypt(ct, uid=uid, iv_counter_nonce=iv,
                         cryptographic_parameters=CBC) == data
        d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        assert (d.update(ct) + d.finalize())[:len(data)] == data
        assert b.locate(attributes=[AF.create_attribute(
            enums.AttributeType.NAME, name)]) == [uid]
        # Destroy takes a key that is no longer Active
        a.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        a.destroy(uid)
        assert state_of(b, uid) == enums.State.DESTROYED
        f = failure(b.get, uid)
        assert f.reason == (enums.ResultReason.OBJECT_DESTROYED
                            if version == V20 else
                            enums.ResultReason.KEY_VALUE_NOT_PRESENT), f
        return key
    finally:
        a.close()
        b.close()


def stop_and_check(r):
    """SIGTERM to the group, as Ctrl-C signals the terminal's: the script
    stops both servers and both databases, then exits.  Returns all it
    printed."""
    dbs = r.postmaster_pids()
    assert set(dbs) == {"db-a", "db-b"}, dbs
    assert all(alive(p) for p in dbs.values()), dbs
    os.killpg(r.pgid, signal.SIGTERM)
    try:
        rc = r.proc.wait(STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        pytest.fail("keyward-run still running %.0f s after SIGTERM; its "
                    "group:\n%s\noutput:\n%s" % (STOP_WITHIN_S, r.ps(),
                                                r.output()))
    out = r.output()
    assert rc == 143, "keyward-run exited %d after SIGTERM:\n%s" % (rc, out)
    assert out.rstrip().endswith("keyward-run: stopped"), out
    # the servers were in the group: nothing of it is left
    assert not r.group_alive(), "left of keyward-run's group:\n" + r.ps()
    # the databases run in sessions of their own: gone by PID (a moment
    # for init to reap them) and with them their pid files
    deadline = time.monotonic() + 10
    while any(alive(p) for p in dbs.values()) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in dbs.values()), \
        "PostgreSQL still running: %s\n%s" % (dbs, out)
    assert r.postmaster_pids() == {}
    for host in ADDR.values():
        for port in (r.http_port, r.kmip_port, r.db_port):
            assert not listening(host, port), (host, port)
    with open(r.out_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def drop_kmip_section(conf):
    """conf as a run from before KMIP left it: no [kmip] section."""
    with open(conf) as f:
        lines = f.read().splitlines(True)
    kept, skip = [], False
    for line in lines:
        if line.startswith("["):
            skip = line.strip() == "[kmip]"
        if not skip:
            kept.append(line)
    with open(conf, "w") as f:
        f.write("".join(kept))


def test_make_run_pair(make_run):
    r = make_run
    r.start()
    r.wait_healthy()
    secrets = []

    for version, tag in ((V12, "1.2"), (V20, "2.0")):
        secrets.append(kmip_crosses_nodes(r, version, tag))

    # the Hadoop KMS protocol on the same pair, same client certificate
    a, b = r.client("a"), r.client("b")
    ok_json(a.create("make-run-kms", length=256), 201)
    meta = ok_json(b.metadata("make-run-kms"))
    assert meta["name"] == "make-run-kms" and meta["length"] == 256 \
        and meta["versions"] == 1, meta
    out = stop_and_check(r)

    # again on the state of a run from before KMIP: the script gives the
    # nodes [kmip] listen, the key made above is still there
    for n in ("a", "b"):
        conf = os.path.join(r.state, "node-" + n, "keyward.conf")
        drop_kmip_section(conf)
        assert "kmip" not in kwtest.conf_read(conf), conf
    r.start()
    r.wait_healthy()
    for n in ("a", "b"):
        conf = os.path.join(r.state, "node-" + n, "keyward.conf")
        assert kwtest.conf_read(conf)["kmip"]["listen"] == \
            "%s:%d" % (ADDR[n], r.kmip_port), conf
    meta = ok_json(r.client("a").metadata("make-run-kms"))
    assert meta["versions"] == 1, meta
    secrets.append(kmip_crosses_nodes(r, V12, "again"))
    out += stop_and_check(r)

    # no key material in what the servers and the script printed
    for key in secrets:
        for form in secret_forms(key):
            assert form not in out, "key material in keyward-run's output"
