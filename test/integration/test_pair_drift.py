"""Configuration drift between the two nodes (issue 11, part 4).

Each node publishes in /v1/cluster fingerprints of its configuration: the
SHA-256 of its acls.conf text, an HMAC of a constant under its cookie
secret (never the secret), its version and schema version; each reads its
peer's (table node_config) and /v1/health lists what differs ("drift"),
without changing the status code.  Edited on one node, the ACL file is
named by both nodes' health; put back, the warning goes."""

import hashlib
import os
import signal
import time

from pair import pair, pair_factory, pair_template  # noqa: F401 (fixtures)

DRIFT_TIMEOUT = 20.0    # the watcher, a publish and a read: about 2 s


def cluster(node):
    r = node.client().get("/v1/cluster")
    assert r.status == 200, r
    return r.json()


def wait_drift(nodes_want, timeout=DRIFT_TIMEOUT):
    """Poll each node's health until its "drift" list equals the wanted
    one; the status code must stay 200 throughout (a healthy pair)."""
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        done = True
        for node, want in nodes_want:
            status, body = node.health()
            assert status == 200, "health of %s: %d %r" % (node.name,
                                                           status, body)
            last[node.name] = body.get("drift")
            if last[node.name] != want:
                done = False
        if done:
            return
        time.sleep(0.2)
    raise AssertionError("drift not as wanted after %.0f s: got %r, want %r"
                         % (timeout, last, {n.name: w for n, w in
                                            nodes_want}))


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def peer_config(node):
    """(own config, peer's config) from node's /v1/cluster."""
    c = cluster(node)
    by = {n["name"]: n for n in c["nodes"]}
    return by[node.name]["config"], by[node.peer_name]["config"]


def wait_peer_config(node, pred, timeout=DRIFT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        own, peer = peer_config(node)
        if peer is not None and pred(own, peer):
            return own, peer
        if time.monotonic() > deadline:
            raise AssertionError("%s: peer config %r (own %r)"
                                 % (node.name, peer, own))
        time.sleep(0.2)


def test_acl_drift_named_by_both_nodes(pair):
    a, b = pair.a, pair.b
    with open(a.acl_file) as f:
        acls = f.read()
    # both start with the same file: fingerprints published and equal
    b.write_acls(acls)
    wait_drift([(a, []), (b, [])])
    own, peer = wait_peer_config(a, lambda o, p: o == p)
    assert own["acl_sha256"] == file_sha256(a.acl_file)
    assert own["cookie_hmac"] is None          # mtls: no cookie secret
    assert own["version"] == a.health()[1]["version"]
    assert isinstance(own["schema_version"], int) and \
        own["schema_version"] >= 6
    c = cluster(a)
    assert c["drift"] == []

    # B's rules change (the watcher reloads them): both nodes say so
    b.write_acls(acls + "group.drifters = drifter\n")
    wait_drift([(a, ["acls.conf differs from kw-b's"]),
                (b, ["acls.conf differs from kw-a's"])])
    own, peer = wait_peer_config(
        a, lambda o, p: p["acl_sha256"] == file_sha256(b.acl_file))
    assert own["acl_sha256"] != peer["acl_sha256"]
    assert cluster(b)["drift"] == ["acls.conf differs from kw-a's"]
    m = b.client().get("/metrics")
    assert m.status == 200, m
    assert "\nkeyward_config_drift 1\n" in m.body.decode(), m.body[:2000]

    # put back (SIGHUP this time): the warning goes on both
    b.write_acls(acls)
    b.signal(signal.SIGHUP)
    wait_drift([(a, []), (b, [])])
    assert cluster(a)["drift"] == []


def test_cookie_secret_drift(pair_factory):
    p = pair_factory(auth="pseudo")
    a, b = p.a, p.b
    wait_drift([(a, []), (b, [])])
    own, peer = wait_peer_config(a, lambda o, q: o == q)
    secret = open(a.cookie_secret_file, "rb").read()
    assert own["cookie_hmac"] and len(own["cookie_hmac"]) == 64
    assert secret.hex() not in own["cookie_hmac"]
    # B gets a secret of its own and restarts
    b.stop()
    with open(b.cookie_secret_file, "wb") as f:
        f.write(os.urandom(48))
    b.start()
    wait_drift([(a, ["cookie secret differs from the peer's"]),
                (b, ["cookie secret differs from the peer's"])])
    body = a.health()[1]
    assert secret.hex() not in str(body)
