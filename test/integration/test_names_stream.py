"""GET /kms/v1/keys/names and bulk metadata answered as a stream once they
are long: the body is byte for byte the one the server builds in memory
for short answers (compact JSON, the same element text), through both
nodes of a pair, and listing 100,000 names does not grow the server's
memory by the size of the list."""

import json
import socket
import time
from urllib.parse import quote

from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  create_key)

AWKWARD = ['q"uote', "back\\slash", "mid/slash", "ünï-cödé", "tab less",
           "zz-last", "A-upper", "0-digit"]


def compact(value):
    """The text jansson's JSON_COMPACT makes (UTF-8, no escaped '/')."""
    return json.dumps(value, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def byte_order(names):
    return sorted(names, key=lambda n: n.encode("utf-8"))


def names_body(client):
    r = client.names()
    assert r.status == 200, r
    assert r.content_type == "application/json", r.headers
    return r.body


def bulk_metadata(client, names):
    q = "&".join("key=" + quote(n, safe="") for n in names)
    r = client.get("keys/metadata?" + q)
    assert r.status == 200, r
    return r.body


def test_streamed_bodies_match_the_built_ones(pair):
    ca, cb = pair.a.client(), pair.b.client()
    for n in AWKWARD:
        create_key(ca, n)
    # short: built in memory
    short = names_body(ca)
    assert short == compact(byte_order(AWKWARD)), short
    assert names_body(cb) == short

    # long (three database batches and a part): streamed, same text
    _rc, out, err = pair.a.admin("keys", "import", "--count", "2500",
                                 "--prefix", "s-", "--versions", "1")
    assert "imported 2500" in out, out + err
    every = byte_order(AWKWARD + ["s-%d" % i for i in range(2500)])
    for c in (ca, cb):
        r = c.names()
        assert r.status == 200 and r.content_type == "application/json", r
        assert r.body == compact(every), r.body[:200]

    # bulk metadata: the elements are the single answers' bodies
    some = AWKWARD + ["missing-key"] + ["s-%d" % i for i in range(0, 2500, 97)]
    assert len(some) > 16  # past the inline limit: streamed
    for c in (ca, cb):
        singles = [c.metadata(n) for n in some]
        assert all(s.status == 200 for s in singles)
        expect = b"[" + b",".join(s.body for s in singles) + b"]"
        assert bulk_metadata(c, some) == expect
        few = some[:5]
        assert bulk_metadata(c, few) == \
            b"[" + b",".join(s.body for s in singles[:5]) + b"]"
        assert json.loads(bulk_metadata(c, some))[len(AWKWARD)] == {}

    # a refusal still comes before the first byte: a status, not a cut
    r = ca.get("keys/metadata?" + "&".join(
        ["key=s-%d" % i for i in range(40)] + ["key=bad%01name"]))
    assert r.status == 400, r


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


def test_listing_100k_names_keeps_memory_flat(pair):
    n = 100000
    _rc, out, err = pair.a.admin("keys", "import", "--count", str(n),
                                 "--prefix", "big-", "--versions", "1",
                                 "--batch", "10000", timeout=300)
    assert "imported %d" % n in out, out + err
    c = pair.a.client()
    # warm up the connection, the pool and the allocator with a short list
    ok_json(c.get("keys/metadata?key=big-1"))
    pid = pair.a.proc.pid
    before = vm_hwm_kb(pid)
    t0 = time.monotonic()
    for _ in range(3):
        body = names_body(c)
        assert body.startswith(b'["big-0","big-1","big-10"'), body[:60]
        assert body.count(b",") == n - 1
    took = time.monotonic() - t0
    grown = vm_hwm_kb(pid) - before
    # the list is 1.2 MB of JSON, 100,000 strings: held at once it costs
    # far more than this; streamed, only a batch of 1,000 names is held
    print("names: peak RSS +%d kB, 3 listings in %.1f s" % (grown, took))
    assert grown < 4096, "server peak RSS grew by %d kB (%.1f s)" % (
        grown, took)


def open_slow_listing(client, rcvbuf=4096):
    """GET keys/names over a socket with a small receive buffer whose
    reader stops after the status line: the server is left holding the
    rest.  Returns the TLS socket (close it to let the server go)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(30)
    raw.connect((client.host, client.server.port))
    s = client.context().wrap_socket(raw, server_hostname=client.host)
    s.sendall(b"GET /kms/v1/keys/names HTTP/1.1\r\nHost: %s\r\n"
              b"Accept: application/json\r\n\r\n" % client.host.encode())
    head = s.recv(64)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def test_slow_long_listings_are_capped(pair):
    """A long names answer holds a database connection until the client
    has read it: two slow readers at most; a third long listing gets 503
    at once, while other reads keep being served; once a slow reader goes,
    a listing is answered again."""
    n = 60000
    prefix = "slow-reader-" + "x" * 180 + "-"     # a ~12 MB answer
    _rc, out, err = pair.a.admin("keys", "import", "--count", str(n),
                                 "--prefix", prefix, "--versions", "1",
                                 "--batch", "10000", timeout=300)
    assert "imported %d" % n in out, out + err
    c = pair.a.client()
    slow = [open_slow_listing(c) for _ in range(2)]
    try:
        r = c.names()
        assert r.status == 503, (r.status, r.body[:200])
        assert b"long key name listings" in r.body, r.body
        # the pool is not taken: a read that needs the database answers
        ok_json(c.metadata(prefix + "7"))
    finally:
        for s in slow:
            s.close()
    deadline = time.monotonic() + 30
    while True:
        r = c.names()
        if r.status == 200:
            break
        assert time.monotonic() < deadline, (r.status, r.body[:200])
        time.sleep(0.2)
    assert r.body.count(b",") == n - 1
