"""The audit log: one JSON object per line for every key operation
(allowed, denied, failed, unauthenticated) with identity, operation, key,
version, result and status; generate/decrypt aggregated per
audit.aggregate_ms; never key material; `keyward-admin audit` reads it."""

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
