"""ACLs (acls.conf, keyward-acls.conf(5)): which operation and key ACLs
each request needs, blacklists, groups, per-key, default and whitelist key
ACLs, the key.acl.name attribute, material withheld without GET, the 403
AuthorizationException envelope, authorization before existence checks,
and what `keyward-admin init` grants.

Most of it runs on one pseudo-auth server (any user name is an identity,
so the matrix needs no certificates); the certificate identity under mTLS
is checked against ACLs at the end.
"""

import os
import stat

import pytest

import kwclient
from kwclient import AUTHZ, assert_denied, assert_error, ok_json, quote

OPS = ["CREATE", "DELETE", "ROLLOVER", "GET", "GET_KEYS", "GET_METADATA",
       "SET_KEY_MATERIAL", "GENERATE_EEK", "DECRYPT_EEK"]
KEYOPS = ["MANAGEMENT", "GENERATE_EEK", "DECRYPT_EEK", "READ"]

# The matrix users: "full" holds everything; nop_X lacks only operation
# ACL X; nkey_Y lacks only default key ACL Y.
FULL = "full"
NOP = {op: "nop_" + op.lower() for op in OPS}
NKEY = {kop: "nkey_" + kop.lower() for kop in KEYOPS}
MATRIX_USERS = [FULL] + list(NOP.values()) + list(NKEY.values())
# Users for the per-key tests: every operation ACL, key ACLs only as
# the key lines below give them.
KEY_USERS = ["reader", "owner", "auditor", "gu1", "gu3", "blk", "gb1",
             "nobody_keys"]

MX = "mx"               # the matrix key, under default.key.acl
OWN = "own"             # a key with its own key.acl lines
DOTTED = "a.b.c"        # a key name with dots


def acls_text():
    lines = ["# test_acl.py", "group.readers = gu1,gu2",
             "group.blkgroup = gb1"]
    for op in OPS:
        users = ["admin", FULL] + [NOP[o] for o in OPS if o != op] + \
            list(NKEY.values()) + KEY_USERS
        if op == "GET_KEYS":
            # everyone, but for a blacklist (a user and a group)
            lines.append("hadoop.kms.acl.GET_KEYS = *")
            lines.append("hadoop.kms.blacklist.GET_KEYS = %s,blk blkgroup"
                         % NOP[op])
        else:
            lines.append("hadoop.kms.acl.%s = %s" % (op, ",".join(users)))
    for kop in KEYOPS:
        users = ["admin", FULL] + list(NOP.values()) + \
            [NKEY[k] for k in KEYOPS if k != kop]
        grp = " readers" if kop == "READ" else ""
        lines.append("default.key.acl.%s = %s%s" % (kop, ",".join(users), grp))
    lines += [
        # OWN: governed by these lines only; ALL fills every key ACL but
        # READ, which is set explicitly
        "key.acl.%s.READ = reader readers" % OWN,
        "key.acl.%s.READ = - readers" % "grpkey",
        "key.acl.grpkey.MANAGEMENT = admin",
        "key.acl.%s.ALL = owner" % OWN,
        "key.acl.%s.READ = reader" % DOTTED,
        "key.acl.%s.MANAGEMENT = owner" % DOTTED,
        "whitelist.key.acl.READ = auditor",
        "",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def srv(servers):
    s = servers.make(auth="pseudo", acls=acls_text())
    s.start()
    return s


def as_user(srv, user, **kw):
    return kwclient.Client(srv, cert=None, user=user, **kw)


@pytest.fixture(scope="module")
def admin(srv):
    return as_user(srv, "admin")


@pytest.fixture(scope="module")
def mx(srv, admin):
    """The matrix key (two versions) and an EEK of it decrypted by admin."""
    ok_json(admin.create(MX), 201)
    ok_json(admin.roll(MX))
    eek = ok_json(admin.generate(MX, 1))[0]
    dek = ok_json(admin.decrypt(eek))["material"]
    return {"eek": eek, "dek": dek}


_seq = [0]


def fresh(prefix):
    _seq[0] += 1
    return "%s-%d" % (prefix, _seq[0])


def material_rule(resp_kv, user, name, version):
    """Create/roll answers carry material only for holders of op GET."""
    assert resp_kv.get("name") == name, resp_kv
    assert resp_kv.get("versionName") == "%s@%d" % (name, version), resp_kv
    assert "material" in resp_kv, resp_kv
    if user == NOP["GET"]:
        assert resp_kv["material"] is None, \
            "%s (no GET) got material: %r" % (user, resp_kv)
    else:
        kwclient.resp_b64(resp_kv["material"], "material")


# ---------------------------------------------------------------- matrix
# kind -> (operation ACLs, key ACLs, run(user client, admin, ctx) ->
# (response, check on success, check on denial))

def k_create(c, admin, ctx, material=False):
    name = fresh("cr")
    extra = {}
    if material:
        extra["material"] = kwclient.b64std(os.urandom(16))
    r = c.create(name, **extra)

    def ok():
        body = ok_json(r, 201)
        material_rule(body, c.user, name, 0)
        assert ok_json(admin.metadata(name))["name"] == name

    def denied():
        assert ok_json(admin.metadata(name)) == {}, "denied create made the key"
    return r, ok, denied


def k_delete(c, admin, ctx):
    name = fresh("del")
    ok_json(admin.create(name), 201)
    r = c.delete_key(name)

    def ok():
        assert r.status == 200, r
        assert ok_json(admin.metadata(name)) == {}

    def denied():
        assert ok_json(admin.metadata(name))["name"] == name, "denied delete deleted"
    return r, ok, denied


def k_roll(c, admin, ctx, material=False):
    name = fresh("roll")
    ok_json(admin.create(name), 201)
    r = c.roll(name, material=kwclient.b64std(os.urandom(16)) if material else None)

    def ok():
        material_rule(ok_json(r), c.user, name, 1)
        assert ok_json(admin.metadata(name))["versions"] == 2

    def denied():
        assert ok_json(admin.metadata(name))["versions"] == 1, "denied roll rolled"
    return r, ok, denied


def simple(call, check):
    def run(c, admin, ctx):
        r = call(c, ctx)
        return r, (lambda: check(r, ctx)), (lambda: None)
    return run


def chk_eek(r, ctx):
    e = ok_json(r)
    assert isinstance(e, list) and len(e) == 1, e
    kwclient.assert_eek(e[0], MX, 1, 128)


MATRIX = {
    "create": (["CREATE"], ["MANAGEMENT"], k_create),
    "create_material": (["CREATE", "SET_KEY_MATERIAL"], ["MANAGEMENT"],
                        lambda c, a, x: k_create(c, a, x, material=True)),
    "delete": (["DELETE"], ["MANAGEMENT"], k_delete),
    "roll": (["ROLLOVER"], ["MANAGEMENT"], k_roll),
    "roll_material": (["ROLLOVER", "SET_KEY_MATERIAL"], ["MANAGEMENT"],
                      lambda c, a, x: k_roll(c, a, x, material=True)),
    "invalidate": (["ROLLOVER"], ["MANAGEMENT"], simple(
        lambda c, x: c.invalidate(MX),
        lambda r, x: r.status == 200 or pytest.fail(repr(r)))),
    "names": (["GET_KEYS"], [], simple(
        lambda c, x: c.names(),
        lambda r, x: MX in ok_json(r) or pytest.fail(repr(r)))),
    "metadata": (["GET_METADATA"], ["READ"], simple(
        lambda c, x: c.metadata(MX),
        lambda r, x: ok_json(r)["versions"] == 2 or pytest.fail(repr(r)))),
    "bulk_metadata": (["GET_METADATA"], ["READ"], simple(
        lambda c, x: c.get("keys/metadata", query=[("key", MX)]),
        lambda r, x: ok_json(r)[0]["name"] == MX or pytest.fail(repr(r)))),
    "current": (["GET"], ["READ"], simple(
        lambda c, x: c.current(MX),
        lambda r, x: kwclient.assert_keyversion(ok_json(r), MX, 1, 128))),
    "version": (["GET"], ["READ"], simple(
        lambda c, x: c.keyversion(MX + "@0"),
        lambda r, x: kwclient.assert_keyversion(ok_json(r), MX, 0, 128))),
    "versions": (["GET"], ["READ"], simple(
        lambda c, x: c.versions(MX),
        lambda r, x: len(ok_json(r)) == 2 or pytest.fail(repr(r)))),
    "generate": (["GENERATE_EEK"], ["GENERATE_EEK"], simple(
        lambda c, x: c.generate(MX, 1), chk_eek)),
    "decrypt": (["DECRYPT_EEK"], ["DECRYPT_EEK"], simple(
        lambda c, x: c.decrypt(x["eek"]),
        lambda r, x: ok_json(r)["material"] == x["dek"] or pytest.fail(repr(r)))),
    "reencrypt": (["GENERATE_EEK"], ["GENERATE_EEK"], simple(
        lambda c, x: c.reencrypt(x["eek"]),
        lambda r, x: kwclient.assert_eek(ok_json(r), MX, 1, 128))),
    "reencrypt_batch": (["GENERATE_EEK"], ["GENERATE_EEK"], simple(
        lambda c, x: c.reencrypt_batch(MX, [x["eek"]]), chk_eek)),
}


def lacks(user, ops, keyops):
    """The needed ACL user lacks, or None."""
    for op in ops:
        if user == NOP[op]:
            return "operation ACL " + op
    for kop in keyops:
        if user == NKEY[kop]:
            return "key ACL " + kop
    return None


@pytest.mark.parametrize("kind", list(MATRIX))
def test_acl_matrix(srv, admin, mx, kind):
    """Every user holding the ACLs the request needs is served (whatever
    else it lacks); every user lacking one of them gets 403."""
    ops, keyops, run = MATRIX[kind]
    problems = []
    for user in MATRIX_USERS:
        c = as_user(srv, user)
        r, ok, denied = run(c, admin, mx)
        missing = lacks(user, ops, keyops)
        try:
            if missing:
                assert r.status == 403, "lacks %s, got %r" % (missing, r)
                assert_denied(r, user, srv.secrets)
                denied()
            else:
                assert r.status < 300, "holds what %s needs, got %r" % (kind, r)
                ok()
        except AssertionError as e:
            problems.append("%s: %s" % (user, e))
    assert not problems, "%s:\n  %s" % (kind, "\n  ".join(problems))


def test_denial_envelope(srv, mx):
    r = as_user(srv, NKEY["READ"]).current(MX)
    rex = assert_denied(r, NKEY["READ"], srv.secrets)
    assert rex["exception"] == "AuthorizationException", rex
    assert rex["javaClassName"] == AUTHZ, rex
    assert r.content_type == "application/json", r


def test_authorization_before_existence(srv, admin, mx):
    """A denied user learns nothing about whether a key exists: 403 for a
    missing key too, where an allowed user gets {} / [] / 500 / 400."""
    missing = "no-such-key"
    eek = dict(mx["eek"], versionName=missing + "@0")
    eek["encryptedKeyVersion"] = dict(eek["encryptedKeyVersion"], name=missing)
    cases = [
        ("metadata", NKEY["READ"], lambda c: c.metadata(missing), (200,)),
        ("bulk", NKEY["READ"], lambda c: c.get("keys/metadata",
                                                query=[("key", missing)]), (200,)),
        ("current", NOP["GET"], lambda c: c.current(missing), (200,)),
        ("version", NKEY["READ"], lambda c: c.keyversion(missing + "@0"), (200,)),
        ("versions", NOP["GET"], lambda c: c.versions(missing), (200,)),
        ("roll", NKEY["MANAGEMENT"], lambda c: c.roll(missing), (500,)),
        ("delete", NOP["DELETE"], lambda c: c.delete_key(missing), (500,)),
        ("invalidate", NKEY["MANAGEMENT"], lambda c: c.invalidate(missing),
         (200, 500)),
        ("generate", NKEY["GENERATE_EEK"], lambda c: c.generate(missing, 1), (500,)),
        ("decrypt", NOP["DECRYPT_EEK"], lambda c: c.decrypt(eek), (400,)),
        ("reencrypt", NKEY["GENERATE_EEK"], lambda c: c.reencrypt(eek),
         (400, 500)),
    ]
    problems = []
    for what, user, call, allowed_status in cases:
        # an allowed user: the usual answer for a missing key
        r = call(as_user(srv, FULL))
        if r.status not in allowed_status:
            problems.append("%s by %s: expected %s, got %r"
                            % (what, FULL, allowed_status, r))
        r = call(as_user(srv, user))
        try:
            assert_denied(r, user)
        except AssertionError as e:
            problems.append("%s by %s: %s" % (what, user, e))
    assert not problems, "\n".join(problems)


def test_blacklist(srv, mx):
    """hadoop.kms.acl.GET_KEYS = * with a blacklist of a user and a
    group: anyone else is served, the listed ones are not."""
    ok_json(as_user(srv, "some-random-user").names())
    for user in ("blk", "gb1", NOP["GET_KEYS"]):
        assert_denied(as_user(srv, user).names(), user)


def test_group_in_acl(srv, mx):
    """gu1 is in group readers, which default.key.acl.READ names; gu3 is
    in no group.  Both hold every operation ACL."""
    assert ok_json(as_user(srv, "gu1").metadata(MX))["name"] == MX
    assert_denied(as_user(srv, "gu3").metadata(MX), "gu3")
    # gu1 has no default GENERATE_EEK
    assert_denied(as_user(srv, "gu1").generate(MX, 1), "gu1")


@pytest.fixture(scope="module")
def own_keys(srv, admin):
    """OWN, the dotted key and the groups-only key, made by whoever their
    MANAGEMENT ACL names."""
    owner = as_user(srv, "owner")
    ok_json(owner.create(OWN), 201)
    ok_json(owner.create(DOTTED), 201)
    ok_json(admin.create("grpkey"), 201)
    return owner


def test_key_acl_overrides_default(srv, own_keys):
    """A key with key.acl lines is governed by them only: full (all
    default key ACLs) may not touch OWN."""
    full = as_user(srv, FULL)
    for call in (lambda: full.metadata(OWN), lambda: full.current(OWN),
                 lambda: full.generate(OWN, 1), lambda: full.roll(OWN),
                 lambda: full.delete_key(OWN)):
        assert_denied(call(), FULL, srv.secrets)


def test_key_acl_all_fills_unset(srv, own_keys):
    """key.acl.own.ALL = owner fills MANAGEMENT, GENERATE_EEK and
    DECRYPT_EEK; READ is set explicitly (to reader), so owner lacks it."""
    owner = own_keys
    eek = ok_json(owner.generate(OWN, 1))[0]
    ok_json(owner.decrypt(eek))
    r = owner.invalidate(OWN)
    assert r.status == 200, r
    assert_denied(owner.metadata(OWN), "owner")
    assert_denied(owner.current(OWN), "owner")
    reader = as_user(srv, "reader")
    assert ok_json(reader.metadata(OWN))["name"] == OWN
    kwclient.assert_keyversion(ok_json(reader.current(OWN)), OWN, 0, 128)
    assert_denied(reader.generate(OWN, 1), "reader")
    assert_denied(reader.decrypt(eek), "reader")
    # reader is not in the default READ
    assert_denied(reader.metadata(MX), "reader")


def test_key_acl_groups_only(srv, own_keys, mx):
    """key.acl.grpkey.READ = "- readers": the group, no user."""
    assert ok_json(as_user(srv, "gu1").metadata("grpkey"))["name"] == "grpkey"
    assert_denied(as_user(srv, FULL).metadata("grpkey"), FULL)
    # OWN's READ = "reader readers": a user and a group
    assert ok_json(as_user(srv, "gu1").metadata(OWN))["name"] == OWN


def test_key_acl_dotted_name(srv, own_keys):
    """key.acl.a.b.c.READ names key "a.b.c" (the key name runs to the
    last dot)."""
    assert ok_json(as_user(srv, "reader").metadata(DOTTED))["name"] == DOTTED
    assert_denied(as_user(srv, FULL).metadata(DOTTED), FULL)
    assert_denied(as_user(srv, "owner").metadata(DOTTED), "owner")


def test_whitelist(srv, own_keys, mx):
    """whitelist.key.acl.READ = auditor: READ on every key, own lines or
    default; nothing else."""
    aud = as_user(srv, "auditor")
    assert ok_json(aud.metadata(OWN))["name"] == OWN
    assert ok_json(aud.metadata(MX))["name"] == MX
    kwclient.assert_keyversion(ok_json(aud.current(MX)), MX, 1, 128)
    assert_denied(aud.generate(MX, 1), "auditor")
    assert_denied(aud.generate(OWN, 1), "auditor")


def test_key_acl_name_attribute(srv, own_keys, admin):
    """A key created with attribute key.acl.name = own is governed by
    key.acl.own lines, for its creation too."""
    full = as_user(srv, FULL)
    r = full.create("alias-denied", attributes={"key.acl.name": OWN})
    assert_denied(r, FULL)
    # not made (admin reads keys without key.acl lines of their own)
    assert ok_json(admin.metadata("alias-denied")) == {}
    owner = own_keys
    body = ok_json(owner.create("alias-k", attributes={"key.acl.name": OWN}), 201)
    assert body["versionName"] == "alias-k@0", body
    reader = as_user(srv, "reader")
    md = ok_json(reader.metadata("alias-k"))
    assert md["attributes"] == {"key.acl.name": OWN}, md
    ok_json(owner.generate("alias-k", 1))
    assert_denied(full.metadata("alias-k"), FULL)
    assert_denied(full.generate("alias-k", 1), FULL)
    assert_denied(reader.generate("alias-k", 1), "reader")


def test_bulk_metadata_all_or_nothing(srv, own_keys, mx):
    """Bulk metadata needs READ on every key named: one denied -> 403."""
    reader = as_user(srv, "reader")
    got = ok_json(reader.get("keys/metadata", query=[("key", OWN), ("key", DOTTED)]))
    assert [m["name"] for m in got] == [OWN, DOTTED], got
    r = reader.get("keys/metadata", query=[("key", OWN), ("key", MX)])
    assert_denied(r, "reader")
    assert b'"versions"' not in r.body, r


def test_health_and_cluster_need_no_acl(srv):
    for c in (as_user(srv, "nobody_at_all"), as_user(srv, None)):
        for path in ("/v1/health", "/v1/cluster"):
            r = c.get(path)
            assert r.status == 200, "%s for %s: %r" % (path, c.user, r)


# ------------------------------------------------ init's acls, mTLS names

def test_init_writes_acls_for_admin(servers):
    """init's acls.conf (0600) grants the admin (default "admin")
    everything and nobody else anything; it writes auth-cookie.secret
    (0600) too."""
    srv = servers.start(auth="mtls")
    for f in (srv.acl_file, os.path.join(srv.confdir, "auth-cookie.secret")):
        st = os.stat(f)
        assert stat.S_IMODE(st.st_mode) == 0o600, "%s mode %o" % (f, st.st_mode)
    assert os.path.getsize(os.path.join(srv.confdir, "auth-cookie.secret")) >= 32
    adm = srv.client()
    ok_json(adm.create("init-k"), 201)
    eek = ok_json(adm.generate("init-k", 1))[0]
    ok_json(adm.decrypt(eek))
    ok_json(adm.roll("init-k"))
    alice = srv.client(cert="alice")
    for r in (alice.names(), alice.metadata("init-k"), alice.create("init-a"),
              alice.generate("init-k", 1), alice.decrypt(eek)):
        assert_denied(r, "alice", srv.secrets)
    assert ok_json(adm.metadata("init-a")) == {}
    assert adm.delete_key("init-k").status == 200
    srv.stop()


def test_init_admin_option(servers):
    """init --admin ops: ops may do everything, "admin" nothing."""
    srv = servers.start(auth="pseudo", init_args=["--admin", "ops"])
    ops = as_user(srv, "ops")
    ok_json(ops.create("ops-k"), 201)
    assert kwclient.resp_b64(ok_json(ops.roll("ops-k"))["material"])
    eek = ok_json(ops.generate("ops-k", 1))[0]
    ok_json(ops.decrypt(eek))
    assert "ops-k" in ok_json(ops.names())
    adm = as_user(srv, "admin")
    for r in (adm.names(), adm.metadata("ops-k"), adm.create("adm-k")):
        assert_denied(r, "admin")
    assert ops.delete_key("ops-k").status == 200
    srv.stop()


def test_mtls_cn_is_the_acl_identity(servers):
    """Under mTLS the certificate's CN is the name the ACLs see; an empty
    or missing ACL line lets nobody in."""
    srv = servers.start(auth="mtls", acls="\n".join([
        "hadoop.kms.acl.GET_KEYS = admin,alice",
        "hadoop.kms.acl.CREATE = admin",
        "hadoop.kms.acl.GET =",
        "default.key.acl.ALL = admin", ""]))
    ok_json(srv.client().create("cn-k"), 201)
    assert "cn-k" in ok_json(srv.client(cert="alice").names())
    assert_denied(srv.client(cert="bob").names(), "bob")
    assert_denied(srv.client(cert="alice").create("cn-a"), "alice")
    # an empty ACL and a missing one grant nobody, admin included
    assert_denied(srv.client().current("cn-k"), "admin")
    assert_denied(srv.client().delete_key("cn-k"), "admin")
    srv.stop()
