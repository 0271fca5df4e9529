"""GET /metrics: Prometheus text that `promtool check metrics` accepts,
counting what happened (requests, refused certificates, failed TLS
handshakes) and never naming a key or a client; served over HTTPS to an
authenticated client, and on metrics.listen over plain HTTP to anyone."""

import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

import kwtest
from kwclient import ok_json

WAIT_S = 15.0           # bound on every wait for a counter to move
PROMTOOL = shutil.which("promtool")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def samples(text):
    """{(name, labels text): value} of an exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(text, name, labels=""):
    return samples(text).get((name, labels))


def scrape(client):
    r = client.get("/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), \
        r.header("Content-Type")
    return r.body.decode("utf-8")


def promtool_check(text):
    if PROMTOOL is None:
        pytest.fail("promtool missing: scripts/keyward-deps installs "
                    "prometheus")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    assert p.returncode == 0 and not p.stdout.strip(), \
        "promtool check metrics: exit %d\n%s" % (
            p.returncode, p.stdout.decode("utf-8", "replace"))


def wait_value(client, name, labels, pred, what):
    deadline = time.monotonic() + WAIT_S
    last = None
    while time.monotonic() < deadline:
        last = value(scrape(client), name, labels)
        if last is not None and pred(last):
            return last
        time.sleep(0.1)
    raise AssertionError("%s: %s%s is %r after %.0f s"
                         % (what, name, labels, last, WAIT_S))


def test_metrics_count_and_pass_promtool(api_server, client):
    secret_name = "metrics-do-not-label-me"
    before = scrape(client)
    created = value(before, "keyward_requests_total",
                    '{op="CREATE",code="201"}') or 0
    audited = value(before, "keyward_audit_records_total")
    ok_json(client.create(secret_name), 201)
    ok_json(client.generate(secret_name, num_keys=2))
    assert client.get("/kms/v1/no-such-resource").status == 404
    text = scrape(client)
    promtool_check(text)
    assert value(text, "keyward_requests_total",
                 '{op="CREATE",code="201"}') == created + 1, text
    assert value(text, "keyward_requests_total",
                 '{op="NONE",code="404"}') >= 1, text
    assert value(text, "keyward_request_duration_seconds_count",
                 '{op="GENERATE_EEK"}') >= 1, text
    assert value(text, "keyward_build_info",
                 '{version="0.1.0",node="%s"}' % api_server.name) == 1, text
    assert value(text, "keyward_database_up", '{database="local"}') == 1
    # the create (generate is aggregated: written later)
    assert value(text, "keyward_audit_records_total") == audited + 1, text
    assert value(text, "keyward_cache_lookups_total",
                 '{kind="version",result="miss"}') is not None, text
    # no key names, no identities
    assert "metrics-" not in text and "admin" not in text, text


def test_metrics_need_an_identity_on_https(api_server):
    r = api_server.client(cert=None).get("/metrics")
    assert r.status == 401, r
    r = api_server.client(cert="rogue").get("/metrics")
    assert r.status == 401, r


def test_refused_certificates_and_failed_handshakes(api_server, client):
    text = scrape(client)
    refused = value(text, "keyward_client_certificates_refused_total")
    failed = value(text, "keyward_tls_handshake_failures_total")
    assert api_server.client(cert="rogue").names().status == 401
    wait_value(client, "keyward_client_certificates_refused_total", "",
               lambda v: v >= refused + 1, "after a rogue certificate")
    # a TCP connection that never starts TLS, and one that sends junk
    with socket.create_connection(("127.0.0.1", api_server.port), 10):
        pass
    with socket.create_connection(("127.0.0.1", api_server.port), 10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.settimeout(10)
        try:
            s.recv(100)
        except OSError:
            pass
    wait_value(client, "keyward_tls_handshake_failures_total", "",
               lambda v: v >= failed + 2, "after two failed handshakes")
    # requests that succeed are not handshake failures
    for _ in range(3):
        ok_json(client.names())
    time.sleep(0.5)
    assert value(scrape(client), "keyward_tls_handshake_failures_total") \
        == failed + 2


def http_get(port, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_metrics_listen_plain_http(servers):
    mport = kwtest.free_port()
    srv = servers.start(name="kw-metrics-listen",
                        settings={("metrics", "listen"):
                                  "127.0.0.1:%d" % mport})
    status, ctype, body = http_get(mport, "/metrics")
    assert status == 200 and ctype.startswith("text/plain"), (status, ctype)
    text = body.decode()
    promtool_check(text)
    assert value(text, "keyward_build_info",
                 '{version="0.1.0",node="kw-metrics-listen"}') == 1, text
    # only /metrics, only GET
    assert http_get(mport, "/v1/health")[0] == 404
    assert http_get(mport, "/kms/v1/keys/names")[0] == 404
    assert http_get(mport, "/metrics", method="POST")[0] == 405
    assert "metrics on http://127.0.0.1:%d/metrics" % mport in srv.log_text()


def test_metrics_listen_refused_when_bad(servers):
    srv = servers.make(name="kw-metrics-bad")
    kwtest.conf_set(srv.conf, {("metrics", "listen"): "127.0.0.1"})
    with pytest.raises(kwtest.ServerStartError):
        srv.start()
    assert "metrics.listen = 127.0.0.1: expected HOST:PORT" in srv.log_text()
