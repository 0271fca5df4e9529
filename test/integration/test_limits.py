"""Connection hardening: at most limits.max_connections_per_ip connections
from one address (others still served), request headers bounded by
limits.max_header_bytes, a request body trickled in is cut off after
limits.request_timeout_s, and no core dumps (RLIMIT_CORE 0)."""

import http.client
import re
import resource
import socket
import ssl
import threading
import time
import warnings

import pytest

import kwclient
from kwclient import ok_json

PER_IP = 4
HEADER_BYTES = 8192     # below libmicrohttpd's own 32 KiB default
BODY_TIMEOUT_S = 2
REFUSED = (ssl.SSLError, ConnectionError, http.client.HTTPException)


# started allowed to dump core, to see the server forbid it itself
CORE_START = resource.getrlimit(resource.RLIMIT_CORE)[1]


@pytest.fixture(scope="module")
def srv(servers):
    return servers.make(settings={
        ("limits", "max_connections_per_ip"): str(PER_IP),
        ("limits", "max_header_bytes"): str(HEADER_BYTES)}).start(
            core_limit=CORE_START)


@pytest.fixture(scope="module")
def slow_srv(servers):
    return servers.make(settings={
        ("limits", "request_timeout_s"): str(BODY_TIMEOUT_S)}).start()


def keepalive_conn(srv, source=None, timeout=5.0):
    """An HTTPS connection that has completed one health request and stays
    open (HTTP/1.1 keep-alive)."""
    c = kwclient.Client(srv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = c.context()
    conn = http.client.HTTPSConnection(
        "127.0.0.1", srv.port, context=ctx, timeout=timeout,
        source_address=(source, 0) if source else None)
    conn.request("GET", "/v1/health")
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (r.status, body)
    assert not r.will_close, "the server closes after each request; " \
        "the per-address test needs keep-alive"
    return conn


def served(srv, source=None):
    """True when a fresh connection from source gets a health answer;
    False when the server closes or resets it without one.  Fails when it
    neither answers nor closes within 5 s."""
    try:
        conn = keepalive_conn(srv, source)
    except TimeoutError:
        pytest.fail("a connection from %s was neither served nor closed "
                    "within 5 s" % (source or "127.0.0.1"))
    except REFUSED:
        return False
    except OSError as e:
        # e.g. EPIPE on a connection already closed by the server
        return False if e.errno is not None else pytest.fail(repr(e))
    conn.close()
    return True


def wait_served(srv, source=None, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        if served(srv, source):
            return
        assert time.monotonic() < deadline, \
            "%s not served again within %.0f s" % (source or "127.0.0.1", timeout)
        time.sleep(0.1)


def test_connections_per_ip(srv):
    wait_served(srv)
    held = []
    try:
        for i in range(PER_IP):
            held.append(keepalive_conn(srv))
        # the next one from 127.0.0.1 is closed at once ...
        assert not served(srv), "connection %d from 127.0.0.1 was served" % (PER_IP + 1)
        # ... while another address is served
        assert served(srv, "127.0.0.2"), "127.0.0.2 was refused"
        # the held connections still work
        for conn in held:
            conn.request("GET", "/v1/health")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
    finally:
        for conn in held:
            conn.close()
    wait_served(srv)


def test_per_ip_slots_freed(srv):
    """Connections that end badly (closed before TLS, an unknown CA,
    closed right after the handshake) give their slot back: afterwards
    exactly PER_IP connections from 127.0.0.1 are served again."""
    c = kwclient.Client(srv)
    rogue = kwclient.Client(srv, cert="rogue")
    for i in range(3 * PER_IP):
        with c.connect(5):
            pass                                # TCP only
        try:
            rogue.names()                       # 401 or a refused handshake
        except REFUSED + (OSError,):
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = c.context()
        with c.connect(5) as s, ctx.wrap_socket(s, server_hostname="127.0.0.1"):
            pass                                # handshake, then gone
    wait_served(srv)
    held = []
    try:
        deadline = time.monotonic() + 5.0
        while len(held) < PER_IP:
            try:
                held.append(keepalive_conn(srv))
            except REFUSED + (OSError,):
                # a slot may take a moment to be noticed free
                assert time.monotonic() < deadline, \
                    "only %d connections served after bad ones" % len(held)
                time.sleep(0.1)
        # and the limit still holds
        assert not served(srv), "connection %d from 127.0.0.1 was served" % (PER_IP + 1)
    finally:
        for conn in held:
            conn.close()


def header_exchange(srv, header_bytes, timeout=10.0):
    """Send a GET /v1/health with an X-Pad header of header_bytes; return
    (status or None, closed without an answer)."""
    c = kwclient.Client(srv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = c.context()
    req = ("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n"
           "Connection: close\r\n\r\n" % ("a" * header_bytes)).encode()
    got = b""
    deadline = time.monotonic() + timeout
    try:
        with c.connect(timeout) as s, \
                ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            try:
                t.sendall(req)
            except (ssl.SSLError, ConnectionError):
                pass        # closed while we sent: read what came back
            while time.monotonic() < deadline:
                t.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    chunk = t.recv(65536)
                except (ssl.SSLError, ConnectionError):
                    break
                if not chunk:
                    break
                got += chunk
            else:
                pytest.fail("no answer and no close within %.0f s" % timeout)
    except (ssl.SSLError, ConnectionError):
        pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    return (int(m.group(1)) if m else None), got


def test_header_limit(srv):
    """max_header_bytes 8192: a 2 KiB header is fine; 12 KiB (which
    libmicrohttpd's default would take) and 64 KiB are refused (413, 414,
    431 or closed without an answer); the server answers afterwards."""
    status, got = header_exchange(srv, 2048)
    assert status == 200, got[:300]
    for size in (12 * 1024, 64 * 1024):
        status, got = header_exchange(srv, size)
        assert status in (None, 413, 414, 431), \
            "%d-byte header with max_header_bytes %d: %r" % (
                size, HEADER_BYTES, got[:300])
        assert b'"node"' not in got, "health answered despite the header"
        assert ok_json(srv.client().names()) is not None


def test_slow_body_cut_off(slow_srv):
    """Content-Length: 100 sent one byte every 0.5 s: closed after about
    request_timeout_s (2 s), long before the 50 s it would take; other
    clients are served meanwhile; nothing is created."""
    srv = slow_srv
    c = kwclient.Client(srv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = c.context()
    body = b'{"name": "slow-k", "cipher": "AES/CTR/NoPadding"}'
    body += b" " * (100 - len(body))
    head = ("POST /kms/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(body)).encode()
    others = []

    def other():
        others.append(srv.client().get("/v1/health").status)

    closed_after = None
    answer = b""
    with c.connect(10) as s, ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        t0 = time.monotonic()
        t.sendall(head)
        for i in range(len(body)):
            if time.monotonic() - t0 > 8:
                break
            if i == 2:
                th = threading.Thread(target=other)
                th.start()
                th.join(10)
            try:
                t.sendall(body[i:i + 1])
            except (ssl.SSLError, ConnectionError, OSError):
                closed_after = time.monotonic() - t0
                break
            t.settimeout(0.5)
            try:
                chunk = t.recv(4096)
            except socket.timeout:
                continue
            except (ssl.SSLError, ConnectionError):
                closed_after = time.monotonic() - t0
                break
            if not chunk:
                closed_after = time.monotonic() - t0
                break
            answer += chunk
    assert closed_after is not None, \
        "server still reading the trickled body after %.1f s" % (time.monotonic() - t0)
    assert closed_after <= 6.5, "closed only after %.1f s" % closed_after
    assert not re.match(rb"HTTP/1\.[01] 2", answer), answer[:300]
    assert others == [200], "another client was not served meanwhile: %r" % others
    ok_json(srv.client().names())
    assert ok_json(srv.client().metadata("slow-k")) == {}


def _closed_within(t, deadline, trickle):
    """Send trickle() one byte at a time every 0.5 s (nothing when None)
    until the server closes t or deadline passes; seconds until closed,
    or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        try:
            if trickle is not None:
                t.sendall(trickle)
            t.settimeout(0.5)
            if not t.recv(4096):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ssl.SSLError, ConnectionError, OSError):
            return time.monotonic() - t0
    return None


def test_slow_headers_cut_off(slow_srv):
    """Request headers trickled in one byte every 0.5 s (each byte would
    restart an idle timeout): the connection is closed about
    request_timeout_s (2 s) after it opened, not after the 15 s the test
    is willing to trickle; other clients are served."""
    srv = slow_srv
    c = kwclient.Client(srv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = c.context()
    with c.connect(10) as s, ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        t.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        closed = _closed_within(t, 15, b"a")
        assert srv.client().get("/v1/health").status == 200
    assert closed is not None, "slow headers still read after 15 s"
    assert closed <= 8, "closed only after %.1f s" % closed


def test_silent_handshake_cut_off(slow_srv):
    """A TCP connection that never starts TLS is closed after about
    request_timeout_s; a keep-alive connection used every second (each
    pause shorter than the timeout) is not."""
    srv = slow_srv
    c = kwclient.Client(srv)
    with c.connect(10) as s:
        closed = _closed_within(s, 15, None)
    assert closed is not None, "silent connection still open after 15 s"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = c.context()
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx,
                                       timeout=10)
    try:
        for _ in range(4):
            conn.request("GET", "/v1/health")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            time.sleep(1)
    finally:
        conn.close()


def test_no_core_dumps(srv):
    if CORE_START == 0:
        pytest.skip("cannot start the server with core dumps allowed")
    with open("/proc/%d/limits" % srv.pid) as f:
        text = f.read()
    m = re.search(r"^Max core file size\s+(\S+)\s+(\S+)", text, re.M)
    assert m, text
    assert m.group(1) == "0", "core dumps allowed: %s" % m.group(0)
