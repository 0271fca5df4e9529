"""The floating address (issue 11, part 5), for real: two hosts in network
namespaces (netns.py) with a keyward pair (cluster.py), a shared client
network (a bridge in the root namespace with a veth to each host), and on
each host a keepalived configured from packaging/keepalived/keyward.conf
with its check script packaging/keepalived/keyward-vrrp-check, VRRP by
unicast between the hosts.  The address must sit on the active (the
writable node); when the active's database is killed it must move to the
passive, and reads sent to it from the root namespace must keep being
answered, by kw-b in the end.

Needs root, keepalived and curl; skipped otherwise.  Every wait is bounded;
every process is stopped by PID; the namespaces, links and bridge are
removed at the end.  Addresses: a /28 of the run's 198.18.0.0/15 subnet
(.16-.31, above the ones netns.py uses).

    python3 -m pytest -q -p no:cacheprovider test/chaos/test_keepalived.py
"""

import http.client
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
sys.path.insert(0, HERE)

import cluster          # noqa: E402
import kwclient         # noqa: E402
import netns            # noqa: E402
from netns import in_ns, sh  # noqa: E402

TEMPLATE = os.path.join(REPO, "packaging", "keepalived", "keyward.conf")
CHECK = os.path.join(REPO, "packaging", "keepalived", "keyward-vrrp-check")
LAN_DEV = "kwlan"
VIP_TIMEOUT = 40.0          # keepalived: rise 2 x 1 s, adverts, a move
MOVE_TIMEOUT = 40.0
READ_TIMEOUT = 3.0          # one read through the address
STOP_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("keepalived") is None or
    shutil.which("curl") is None,
    reason="needs root, keepalived and curl")


def bindir():
    d = os.environ.get("CHAOS_BIN") or os.environ.get("BUILD") or "build"
    return d if os.path.isabs(d) else os.path.join(REPO, d)


class Lan:
    """The clients' network: bridge BR in the root namespace (.17), a veth
    to each host (LAN_DEV, .18 and .19), the floating address .20."""

    def __init__(self, net):
        base = net.subnet.network_address + 16
        self.net = net
        self.tag = "%x" % (net.pid & 0xfffff)
        self.br = "kwvb" + self.tag
        self.root_addr = str(base + 1)
        self.addr = {"a": str(base + 2), "b": str(base + 3)}
        self.vip = str(base + 4)
        self.prefix = 28
        self.devs = []

    def up(self):
        sh(["ip", "link", "add", self.br, "type", "bridge"])
        self.devs.append(self.br)
        sh(["ip", "addr", "add", "%s/%d" % (self.root_addr, self.prefix),
            "dev", self.br])
        sh(["ip", "link", "set", self.br, "up"])
        for k in ("a", "b"):
            root_end, tmp = "kwv%s%s" % (self.tag, k), "kww%s%s" % (self.tag,
                                                                     k)
            sh(["ip", "link", "add", root_end, "type", "veth", "peer",
                "name", tmp])
            self.devs.append(root_end)
            ns = self.net.ns[k]
            sh(["ip", "link", "set", tmp, "netns", ns])
            sh(in_ns(ns, ["ip", "link", "set", tmp, "name", LAN_DEV]))
            sh(in_ns(ns, ["ip", "addr", "add", "%s/%d" % (self.addr[k],
                                                          self.prefix),
                          "dev", LAN_DEV]))
            sh(in_ns(ns, ["ip", "link", "set", LAN_DEV, "up"]))
            sh(["ip", "link", "set", root_end, "master", self.br])
            sh(["ip", "link", "set", root_end, "up"])

    def close(self):
        for dev in reversed(self.devs):
            sh(["ip", "link", "del", dev], check=False)
        self.devs = []

    def holder(self):
        """Which hosts have the floating address on LAN_DEV."""
        have = []
        for k in ("a", "b"):
            _rc, out = sh(in_ns(self.net.ns[k], ["ip", "-4", "-o", "addr",
                                                 "show", "dev", LAN_DEV]),
                          check=False)
            if " %s/" % self.vip in out:
                have.append(k)
        return have


def render(lan, host, peer_key, ca, vrid):
    with open(TEMPLATE) as f:
        text = f.read()
    subs = {"@NODE@": host.name, "@INTERFACE@": LAN_DEV,
            "@SELF_IP@": lan.addr[host.key],
            "@PEER_IP@": lan.addr[peer_key],
            "@VIP@": "%s/%d" % (lan.vip, lan.prefix), "@VRID@": str(vrid),
            "@URL@": "https://127.0.0.1:%d" % cluster.HTTP_PORT,
            "@CA@": ca, "@CHECK@": CHECK}
    for k, v in subs.items():
        text = text.replace(k, v)
    assert "@" not in text.split("global_defs")[1], "unreplaced: %s" % text
    return text


class Keepalived:
    def __init__(self, host, conf, rundir):
        self.host = host
        self.conf = conf
        self.rundir = rundir
        self.log_path = os.path.join(rundir, "keepalived.log")
        self.proc = None

    def start(self):
        p = self.rundir
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                in_ns(self.host.ns, [
                    "keepalived", "--dont-fork", "--log-console",
                    "--log-detail", "--vrrp", "-f", self.conf,
                    "-p", os.path.join(p, "keepalived.pid"),
                    "-r", os.path.join(p, "vrrp.pid"),
                    "-c", os.path.join(p, "checkers.pid")]),
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                start_new_session=True)
        finally:
            logf.close()

    def stop(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(STOP_TIMEOUT)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-6000:]
        except OSError:
            return ""


class Vip:
    """What kwclient needs to talk to the floating address."""

    def __init__(self, addr, ca):
        self.host = addr
        self.port = cluster.HTTP_PORT
        self.auth = "mtls"
        self.verify_ca = ca
        self.pki = None
        self.secrets = cluster._NoSecrets()


def wait_holder(lan, want, timeout, kas):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lan.holder() == [want]:
            return
        time.sleep(0.25)
    raise AssertionError("floating address on %r, not only on %s, after "
                         "%.0f s\n%s" % (lan.holder(), want, timeout,
                                         "\n".join("--- keepalived %s\n%s"
                                                   % (k.host.name, k.log())
                                                   for k in kas)))


def read_via(vip, cert, path):
    """(status, body) of GET path through the floating address, or the
    exception (a connection cut by the move)."""
    try:
        r = kwclient.Client(vip, cert=cert, timeout=READ_TIMEOUT).get(path)
        return r.status, r.json()
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        return None, repr(e)


@pytest.fixture
def world():
    netns.remove_leftovers(print)
    w = {"dir": tempfile.mkdtemp(prefix="kwvip-%d-" % os.getpid())}
    os.chmod(w["dir"], 0o711)
    net = netns.Net()
    w["net"] = net
    kas = w["kas"] = []
    try:
        net.up()
        lan = w["lan"] = Lan(net)
        lan.up()
        cl = w["cluster"] = cluster.Cluster(net, w["dir"], bindir(), REPO,
                                            listen_any=True,
                                            cert_ips=[lan.vip])
        cl.setup()
        # keepalived runs the check as keyward: a CA it can read
        vdir = os.path.join(w["dir"], "vrrp")
        os.makedirs(vdir, mode=0o755)
        ca = os.path.join(vdir, "ca.pem")
        shutil.copyfile(cl.ca, ca)
        os.chmod(ca, 0o644)
        w["ca"] = ca
        vrid = 1 + net.pid % 250
        for k, peer in (("a", "b"), ("b", "a")):
            d = os.path.join(vdir, k)
            os.makedirs(d, mode=0o700)
            conf = os.path.join(d, "keepalived.conf")
            with open(conf, "w") as f:
                f.write(render(lan, cl.hosts[k], peer, ca, vrid))
            kas.append(Keepalived(cl.hosts[k], conf, d))
        yield w
    finally:
        for k in kas:
            k.stop()
        if "cluster" in w:
            w["cluster"].close()
        if "lan" in w:
            w["lan"].close()
        net.close()
        if not os.environ.get("CHAOS_KEEP"):
            shutil.rmtree(w["dir"], ignore_errors=True)


def test_address_follows_the_writable_node(world):
    cl, lan, kas = world["cluster"], world["lan"], world["kas"]
    cl.wait_writable(30.0)
    for k in kas:
        k.start()
    wait_holder(lan, "a", VIP_TIMEOUT, kas)

    vip = Vip(lan.vip, world["cluster"].ca)
    cert = cl.client_cert
    status, body = read_via(vip, cert, "/v1/health")
    assert status == 200 and body["node"] == "kw-a", (status, body)
    c = kwclient.Client(vip, cert=cert, timeout=10.0)
    r = c.create("vip-key")
    assert r.status == 201, r
    want = c.get("/kms/v1/key/vip-key/_metadata")
    assert want.status == 200, want
    meta = want.json()

    # readers through the address while the active's database dies
    answers, stop = [], threading.Event()

    def reader():
        t_end = time.monotonic() + MOVE_TIMEOUT + 20.0
        while not stop.is_set() and time.monotonic() < t_end:
            answers.append(read_via(vip, cert,
                                    "/kms/v1/key/vip-key/_metadata"))
            time.sleep(0.1)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        cl.a.kill_db()
        wait_holder(lan, "b", MOVE_TIMEOUT, kas)
        n_before = len(answers)
        # five more reads after the move, answered by kw-b
        deadline = time.monotonic() + 20.0
        while len(answers) < n_before + 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        t.join(READ_TIMEOUT + 5.0)
    status, body = read_via(vip, cert, "/v1/health")
    assert status == 429 and body["node"] == "kw-b", (status, body)

    cut = [a for a in answers if a[0] is None]
    bad = [a for a in answers if a[0] is not None and
           (a[0] != 200 or a[1] != meta)]
    after = answers[n_before:]
    print("reads through the address: %d answered, %d cut by the move"
          % (len(answers) - len(cut), len(cut)))
    # every answer that came was right; the reads after the move all came
    assert not bad, bad[:5]
    assert len(after) >= 5 and all(a[0] == 200 for a in after), after
    assert len(cut) < len(answers) / 2, answers
