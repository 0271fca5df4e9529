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


@pytest.fixture
def own_pg(tmp_root, binaries):
    inst = kwtest.Postgres(tmp_root, name="pg-health")
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
