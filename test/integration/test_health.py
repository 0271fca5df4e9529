"""GET /v1/health, including a database that goes away and comes back."""

import time

import pytest

import kwclient
import kwtest
from kwclient import ok_json


def db_status_present(body):
    return any("db" in k.lower() or "database" in k.lower() for k in body)


def test_health_content(api_server, client):
    r = client.get("/v1/health")
    body = ok_json(r)
    assert isinstance(body, dict), body
    assert body.get("node") == api_server.name, body
    assert isinstance(body.get("version"), str) and body["version"], body
    assert db_status_present(body), "no database status in %r" % body


def wait_health(client, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = client.get("/v1/health")
            if last.status == want:
                return last
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("health did not become %d within %.0f s; last: %r"
                         % (want, timeout, last))


_npg = [0]


@pytest.fixture
def own_pg(tmp_root, binaries):
    _npg[0] += 1
    inst = kwtest.Postgres(tmp_root, name="pg-health-%d" % _npg[0])
    yield inst
    inst.stop()


def test_health_503_when_db_down(own_pg, pki, tmp_root, request):
    srv = kwtest.Server(tmp_root, own_pg, pki, name="kw-health")
    request.addfinalizer(srv.stop)
    srv.start()
    c = srv.client()
    ok_json(c.create("health-key"), 201)
    assert ok_json(c.get("/v1/health"))["node"] == "kw-health"

    own_pg.stop()
    r = wait_health(c, 503)
    if r.body:
        body = r.json()
        # still says who it is, and why it is unhealthy
        if "node" in body:
            assert body["node"] == "kw-health", body
        else:
            kwclient.assert_error(r, 503)
    # a write is refused with the IOException envelope, not a hang
    r = c.create("health-key-2")
    assert r.status in (500, 503), r
    kwclient.assert_error(r, r.status, kwclient.IOE)

    own_pg.start()
    wait_health(c, 200)
    assert "health-key" in ok_json(c.names())
    ok_json(c.create("health-key-3"), 201)


# ------------------------------------------ no database details to strangers

def leaked_db_details(body, ports, users, path):
    """The database details (host, port, user, libpq's words) found in an
    unauthenticated answer; [] when there are none."""
    text = body.decode("utf-8", "replace")
    bad = [str(p) for p in ports] + list(users) + [
        "host", "port", "user", "password", "FATAL", "server", "localhost",
        "::1"]
    if path == "/v1/health":    # /v1/cluster publishes this node's URL
        bad.append("127.0.0.1")
    return [b for b in bad if b in text]


def db_errors(client):
    """(status, [local error, peer error]) of a health answer."""
    r = client.get("/v1/health")
    dbs = r.json().get("databases") or {}
    return r.status, [(dbs.get(k) or {}).get("error") for k in ("local", "peer")]


def wait_errors(client, want, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = db_errors(client)
        if last == want:
            return
        time.sleep(0.2)
    raise AssertionError("health did not become %r within %.0f s; last: %r"
                         % (want, timeout, last))


def test_health_and_cluster_hide_database_errors(own_pg, pki, tmp_root, request):
    """/v1/health and /v1/cluster need no identity, so they give a reason
    in keyward's words (connection refused, authentication failed) and
    never libpq's text with the database's host, port or user; the
    details go to the log."""
    dead_port = kwtest.free_port()
    # a peer where nothing listens (connection refused) ...
    srv = kwtest.Server(tmp_root, own_pg, pki, name="kw-hide", settings={
        ("db", "peer"): "host=localhost port=%d dbname=keyward "
                        "user=peer-user-x" % dead_port})
    request.addfinalizer(srv.stop)
    srv.start(ready=(429,))
    # ... and a live one that refuses the user
    srv2 = kwtest.Server(tmp_root, own_pg, pki, name="kw-hide2", settings={
        ("db", "peer"): "host=localhost port=%d dbname=keyward "
                        "user=no-such-role-y" % own_pg.port})
    request.addfinalizer(srv2.stop)
    srv2.start(ready=(429,))
    c, c2 = kwclient.Client(srv, cert=None), kwclient.Client(srv2, cert=None)
    users = ["peer-user-x", "no-such-role-y", "keyward"]
    ports = [dead_port, own_pg.port]

    def no_details():
        for cl in (c, c2):
            for path in ("/v1/health", "/v1/cluster"):
                r = cl.get(path)
                assert r.status in (200, 429, 503), r
                assert leaked_db_details(r.body, ports, users, path) == [], \
                    (path, r)

    wait_errors(c, (429, [None, "connection refused"]))
    wait_errors(c2, (429, [None, "authentication failed"]))
    no_details()
    # the local database goes away under both
    own_pg.stop()
    try:
        wait_errors(c, (503, ["connection refused", "connection refused"]))
        wait_errors(c2, (503, ["connection refused", "connection refused"]))
        no_details()
    finally:
        own_pg.start()
    wait_errors(c2, (429, [None, "authentication failed"]))
    # the details are in the log, for the operator
    assert 'port %d failed: Connection refused' % dead_port in srv.log_text(), \
        srv.log()
    assert 'password authentication failed for user "no-such-role-y"' in \
        srv2.log_text(), srv2.log()
