"""The audit log: one JSON object per line for every key operation
(allowed, denied, failed, unauthenticated) with identity, operation, key,
version, result and status; generate/decrypt aggregated per
audit.aggregate_ms; never key material; `keyward-admin audit` reads it."""

import http.client
import json
import os
import stat
import time

import pytest

import kwclient
import kwtest
from kwclient import assert_denied, ok_json
from kwtest import ADMIN_BIN

ACLS = """# test_audit.py
hadoop.kms.acl.CREATE = admin,alice
hadoop.kms.acl.DELETE = admin,alice
hadoop.kms.acl.ROLLOVER = admin,alice
hadoop.kms.acl.GET = admin,alice
hadoop.kms.acl.GET_KEYS = admin,alice,bob
hadoop.kms.acl.GET_METADATA = admin,alice,bob
hadoop.kms.acl.SET_KEY_MATERIAL = admin,alice
hadoop.kms.acl.GENERATE_EEK = admin,alice,bob
hadoop.kms.acl.DECRYPT_EEK = admin,alice,bob
default.key.acl.ALL = admin,alice
"""

AUDIT_TIMEOUT = 10.0


def user(srv, name):
    return kwclient.Client(srv, cert=None, user=name)


@pytest.fixture(scope="module")
def single(servers):
    """aggregate_ms = 0: every operation is one record."""
    s = servers.make(auth="pseudo", acls=ACLS,
                     settings={("audit", "aggregate_ms"): "0"})
    return s.start()


@pytest.fixture(scope="module")
def aggregated(servers):
    s = servers.make(auth="pseudo", acls=ACLS,
                     settings={("audit", "aggregate_ms"): "300",
                               ("audit", "stderr"): "yes"})
    return s.start()


def summary(r):
    return (r.get("identity"), r.get("op"), r.get("key"), r.get("result"),
            r.get("status"))


def key_records(srv, key):
    return [r for r in srv.audit_records() if r.get("key") == key]


def test_every_operation_recorded(single):
    srv = single
    k = "aud-k"
    alice, bob = user(srv, "alice"), user(srv, "bob")
    anon = user(srv, None)
    expect = []

    def did(resp, identity, op, result, status):
        assert resp.status == status, (op, resp)
        expect.append((identity, op, k, result, status))

    did(alice.create(k), "alice", "CREATE", "OK", 201)
    did(alice.create(k), "alice", "CREATE", "ERROR", 500)
    did(alice.metadata(k), "alice", "GET_METADATA", "OK", 200)
    did(bob.metadata(k), "bob", "GET_METADATA", "DENIED", 403)
    did(anon.metadata(k), None, "GET_METADATA", "UNAUTHENTICATED", 401)
    eeks = []
    for _ in range(3):
        r = alice.generate(k, 1)
        did(r, "alice", "GENERATE_EEK", "OK", 200)
        eeks += r.json()
    did(alice.decrypt(eeks[0]), "alice", "DECRYPT_EEK", "OK", 200)
    did(bob.decrypt(eeks[0]), "bob", "DECRYPT_EEK", "DENIED", 403)
    did(alice.roll(k), "alice", "ROLL_NEW_VERSION", "OK", 200)
    did(alice.reencrypt(eeks[1]), "alice", "REENCRYPT_EEK", "OK", 200)
    did(alice.reencrypt_batch(k, [eeks[2]]), "alice", "REENCRYPT_EEK_BATCH",
        "OK", 200)
    did(alice.current(k), "alice", "GET_CURRENT_KEY", "OK", 200)
    did(alice.keyversion(k + "@0"), "alice", "GET_KEY_VERSION", "OK", 200)
    did(alice.versions(k), "alice", "GET_KEY_VERSIONS", "OK", 200)
    did(alice.invalidate(k), "alice", "INVALIDATE_CACHE", "OK", 200)
    did(alice.delete_key(k), "alice", "DELETE", "OK", 200)
    ok_json(alice.names())
    ok_json(alice.get("keys/metadata", query=[("key", k), ("key", "x")]))
    assert_denied(user(srv, "carol").names(), "carol")

    recs = srv.wait_audit(lambda rs: len([r for r in rs if r.get("key") == k])
                          >= len(expect), AUDIT_TIMEOUT, "%d records of %s"
                          % (len(expect), k))
    recs = key_records(srv, k)
    got = [summary(r) for r in recs]
    # the unauthenticated request has no identity ("-" or none)
    got = [(None if g[0] in ("-", "", None) else g[0],) + g[1:] for g in got]
    assert got == expect, "audit records of %s:\n%s\nexpected:\n%s" % (
        k, "\n".join(map(str, got)), "\n".join(map(str, expect)))
    for r in recs:
        assert isinstance(r.get("time"), str) and r["time"][:2] == "20", r
        assert r.get("node") == srv.name, r
        assert r.get("peer") == "127.0.0.1", r
        assert isinstance(r.get("request_id"), str) and r["request_id"], r
        assert "real_user" not in r or r["real_user"] in (None, ""), r
        assert "count" not in r or r["count"] == 1, \
            "aggregate_ms = 0 aggregated: %r" % r
    assert len({r["request_id"] for r in recs}) == len(recs), \
        "request ids repeat"
    # versions where the operation names one
    by_op = {}
    for r in recs:
        by_op.setdefault((r["op"], r["result"]), r)
    assert by_op[("CREATE", "OK")].get("version") == 0, by_op[("CREATE", "OK")]
    assert by_op[("ROLL_NEW_VERSION", "OK")].get("version") == 1, \
        by_op[("ROLL_NEW_VERSION", "OK")]
    assert by_op[("DECRYPT_EEK", "OK")].get("version") == 0
    assert by_op[("GET_KEY_VERSION", "OK")].get("version") == 0
    # operations without one key
    for want in (("alice", "GET_KEYS", "OK", 200),
                 ("alice", "GET_KEYS_METADATA", "OK", 200),
                 ("carol", "GET_KEYS", "DENIED", 403)):
        srv.wait_audit(lambda rs: any(summary(r)[:2] + summary(r)[3:] == want
                                      for r in rs), AUDIT_TIMEOUT, repr(want))


def test_audit_file_mode(single):
    path = single.audit_file
    assert path == os.path.join(single.confdir, "audit.log")
    single.wait_audit(lambda rs: rs, AUDIT_TIMEOUT)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_aggregation(aggregated):
    """aggregate_ms = 300: 20 decrypts by alice show up as fewer records
    whose counts sum to 20; bob's denied decrypt is one record."""
    srv = aggregated
    k = "agg-k"
    alice = user(srv, "alice")
    ok_json(alice.create(k), 201)
    eek = ok_json(alice.generate(k, 1))[0]
    for _ in range(20):
        ok_json(alice.decrypt(eek))
    assert_denied(user(srv, "bob").decrypt(eek), "bob")

    def dec(rs):
        return [r for r in rs if r.get("key") == k and r.get("op") == "DECRYPT_EEK"
                and r.get("identity") == "alice" and r.get("result") == "OK"]
    srv.wait_audit(lambda rs: sum(r.get("count", 1) for r in dec(rs)) >= 20,
                   5.0, "20 aggregated decrypts")
    recs = dec(srv.audit_records())
    assert sum(r.get("count", 1) for r in recs) == 20, recs
    assert len(recs) < 20, "not aggregated: %d records" % len(recs)
    for r in recs:
        assert isinstance(r.get("count"), int) and r["count"] >= 1, r
        assert isinstance(r.get("interval_ms"), int) and r["interval_ms"] >= 0, r
        assert r.get("status") == 200 and r.get("node") == srv.name, r
    assert any(r["count"] > 1 for r in recs), recs
    denied = srv.wait_audit(
        lambda rs: [r for r in rs if r.get("key") == k and r.get("identity") == "bob"],
        AUDIT_TIMEOUT, "bob's denied decrypt")
    assert len(denied) == 1, denied
    d = denied[0]
    assert (d.get("op"), d.get("result"), d.get("status")) == \
        ("DECRYPT_EEK", "DENIED", 403), d
    assert d.get("count", 1) == 1, d
    # writes are not aggregated
    creates = [r for r in srv.audit_records()
               if r.get("key") == k and r.get("op") == "CREATE"]
    assert len(creates) == 1 and creates[0].get("count", 1) == 1, creates


def test_audit_on_stderr(aggregated):
    """audit.stderr = yes: records also go to the server log."""
    srv = aggregated
    ok_json(user(srv, "alice").metadata("agg-k"))
    deadline = time.monotonic() + AUDIT_TIMEOUT
    while True:
        lines = [l for l in srv.log_text().splitlines()
                 if "audit: " in l and "GET_METADATA" in l]
        if lines:
            break
        assert time.monotonic() < deadline, "no audit line in the log:\n" + srv.log(30)
        time.sleep(0.1)
    rec = json.loads(lines[-1].split("audit: ", 1)[1])
    assert rec["op"] == "GET_METADATA" and rec["identity"] == "alice", rec


def test_audit_holds_no_material(single, aggregated):
    """No textual form of any key material or DEK seen on the wire."""
    checked = 0
    for srv in (single, aggregated):
        srv.wait_audit(lambda rs: rs, AUDIT_TIMEOUT)
        with open(srv.audit_file, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        assert "material" not in text.lower(), "a material field in the audit log"
        for sec in srv.secrets:
            for form in kwclient.secret_forms(sec):
                assert form not in text, "key material (%s...) in %s" % (
                    form[:6], srv.audit_file)
            checked += 1
    assert checked >= 10, "too few secrets seen (%d)" % checked


def admin_audit(srv, *args):
    rc, out, err = kwtest.run([ADMIN_BIN, "audit", "-c", srv.conf] + list(args),
                              check=False)
    assert rc == 0, "keyward-admin audit %s: exit %d\n%s%s" % (
        " ".join(args), rc, out, err)
    return out


def test_admin_audit_command(single):
    srv = single
    # something by alice and by bob, all written
    ok_json(user(srv, "alice").names())
    ok_json(user(srv, "bob").names())
    srv.wait_audit(lambda rs: rs and rs[-1].get("identity") == "bob",
                   AUDIT_TIMEOUT, "bob's names")
    recs = srv.audit_records()
    out = admin_audit(srv, "-n", "5", "--json")
    lines = [l for l in out.splitlines() if l.strip()]
    assert [json.loads(l) for l in lines] == recs[-5:], out
    out = admin_audit(srv, "-n", "1000", "--json", "--user", "alice")
    got = [json.loads(l) for l in out.splitlines() if l.strip()]
    want = [r for r in recs if r.get("identity") == "alice"]
    assert got and all(r.get("identity") == "alice" for r in got), out[-2000:]
    assert got == want, "--user alice printed %d of %d records" % (len(got), len(want))
    # the human form names the user and the operation
    out = admin_audit(srv, "-n", "1", "--user", "bob")
    assert "bob" in out and "GET_KEYS" in out, out


def test_audit_file_disabled(servers, single):
    """[audit] file = "": no audit file is written (where a server with
    the default writes one)."""
    assert single.audit_records(), "the default server wrote no audit file"
    srv = servers.start(settings={("audit", "file"): '""'})
    c = srv.client()
    ok_json(c.create("noaudit-k"), 201)
    ok_json(c.metadata("noaudit-k"))
    assert srv.stop() == 0
    assert not os.path.exists(os.path.join(srv.confdir, "audit.log")), \
        os.listdir(srv.confdir)


# ------------------------------------------------ escaping, rotation, stop

HOSTILE_CN = 'mallory","op":"FAKE","result":"OK'
HOSTILE_KEYS = ['q"uote', 'back\\slash', 'uni-\u043a\u043b\u044e\u0447-\U0001f511',
                'k","op":"FAKE","result":"OK']


def test_hostile_names_escaped(servers, pki):
    """A certificate CN and key names full of JSON syntax come out as
    exactly those strings, one record each, without forged members."""
    srv = servers.start(settings={("audit", "aggregate_ms"): "0"})
    cert = pki.issue("client-hostile", HOSTILE_CN)
    r = kwclient.Client(srv, cert=cert).names()
    assert_denied(r, "mallory")
    admin = srv.client()
    for k in HOSTILE_KEYS:
        ok_json(admin.create(k), 201)
        ok_json(admin.metadata(k))
    srv.wait_audit(
        lambda rs: len([r for r in rs if r.get("key") in HOSTILE_KEYS]) >= 2 * len(HOSTILE_KEYS),
        AUDIT_TIMEOUT, "records of the hostile key names")
    recs = srv.audit_records()
    assert not [r for r in recs if r.get("op") == "FAKE"], recs
    # the identity is the CN exactly as the certificate holds it (not
    # GnuTLS's RFC 4514 text with \" and \,), one string in one record
    evil = [r for r in recs if str(r.get("identity")).startswith("mallory")]
    assert len(evil) == 1 and evil[0]["op"] == "GET_KEYS" and \
        evil[0]["result"] == "DENIED", evil
    assert evil[0]["identity"] == HOSTILE_CN, evil
    for k in HOSTILE_KEYS:
        mine = [(r["op"], r["result"]) for r in recs if r.get("key") == k]
        assert mine == [("CREATE", "OK"), ("GET_METADATA", "OK")], (k, mine)
    # one line per record: as many lines as records
    with open(srv.audit_file, "rb") as f:
        assert f.read().count(b"\n") == len(srv.audit_records())
    srv.stop()


def test_pending_aggregates_written_on_stop(servers):
    """Aggregated decrypts still in their 10 s window are written when
    the server stops (SIGTERM)."""
    srv = servers.make(auth="pseudo", acls=ACLS).start()     # default 10000 ms
    alice = user(srv, "alice")
    ok_json(alice.create("stop-k"), 201)
    eek = ok_json(alice.generate("stop-k", 1))[0]
    for _ in range(5):
        ok_json(alice.decrypt(eek))
    assert srv.stop() == 0
    dec = [r for r in srv.audit_records()
           if r.get("key") == "stop-k" and r.get("op") == "DECRYPT_EEK"]
    assert sum(r.get("count", 1) for r in dec) == 5, dec
    gen = [r for r in srv.audit_records()
           if r.get("key") == "stop-k" and r.get("op") == "GENERATE_EEK"]
    assert sum(r.get("count", 1) for r in gen) == 1, gen


class KeepAlive:
    """Many requests over one HTTPS connection (reconnecting when the
    server closes it), for volume."""

    def __init__(self, srv, name):
        self.c = user(srv, name)
        self.srv = srv
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.srv.port, context=self.c.context(),
                    timeout=kwclient.HTTP_TIMEOUT)
            try:
                self.conn.request("GET", self.c.url(path))
                r = self.conn.getresponse()
                r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if r.will_close:
                self.conn.close()
                self.conn = None
            return r.status

    def close(self):
        if self.conn is not None:
            self.conn.close()


def test_rotation(servers):
    """max_bytes 65536, keep 2: audit.log, .1 and .2, each at most
    max_bytes, whole JSON lines, 0600, in order without a gap; no .3."""
    srv = servers.make(auth="pseudo", acls=ACLS, settings={
        ("audit", "max_bytes"): "65536", ("audit", "keep"): "2",
        ("audit", "aggregate_ms"): "0"}).start()
    pad = "r" * 900
    ka = KeepAlive(srv, "bob")          # denied: no database work
    n = 260                             # ~1.2 KB a record: > 3 files
    try:
        for i in range(n):
            assert ka.get("key/%s-%04d/_currentversion" % (pad, i)) == 403
    finally:
        ka.close()
    path = srv.audit_file
    last = "%s-%04d" % (pad, n - 1)
    srv.wait_audit(lambda rs: rs and rs[-1].get("key") == last, AUDIT_TIMEOUT,
                   "the last record")
    assert not os.path.exists(path + ".3"), os.listdir(srv.confdir)
    seq = []
    for f in (path + ".2", path + ".1", path):
        assert os.path.exists(f), os.listdir(srv.confdir)
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
        size = os.path.getsize(f)
        assert 0 < size <= 65536, (f, size)
        with open(f, "rb") as fh:
            data = fh.read().decode("utf-8")
        assert data.endswith("\n"), f
        for line in data.splitlines():
            rec = json.loads(line)
            if rec.get("identity") == "bob" and rec.get("key", "").startswith(pad):
                seq.append(int(rec["key"].rsplit("-", 1)[1]))
    assert seq == list(range(seq[0], n)), "gap or disorder across rotated files"
    assert len(seq) > 2 * 65536 // 1400, len(seq)
    srv.stop()
