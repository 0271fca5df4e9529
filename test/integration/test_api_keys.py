"""KMS key management: create, roll, read versions and metadata, delete."""

import os
import time
import urllib.parse

import pytest

from kwclient import (CIPHER, IOE, assert_error, assert_keyversion, b64std,
                    ok_json, quote)


def std_b64_with_plus_slash():
    """16 random bytes whose standard base64 uses '+' or '/' (so a server
    that only knows the URL-safe alphabet fails) and '==' padding."""
    while True:
        raw = os.urandom(16)
        s = b64std(raw)
        if ("+" in s or "/" in s) and s.endswith("=="):
            return raw, s


def test_create_128(client, keyname):
    r = client.create(keyname, length=128)
    kv = ok_json(r, 201)
    assert_keyversion(kv, keyname, 0, 128)
    loc = r.header("Location")
    assert loc, "no Location header: %r" % r.headers
    assert urllib.parse.unquote(loc).endswith("/v1/key/" + keyname), loc


def test_create_256(client, keyname):
    kv = ok_json(client.create(keyname, length=256), 201)
    assert_keyversion(kv, keyname, 0, 256)
    meta = ok_json(client.metadata(keyname))
    assert meta["length"] == 256, meta


def test_create_defaults(client, keyname):
    """cipher and length may be omitted: AES/CTR/NoPadding, 128 bits."""
    kv = ok_json(client.post("keys", {"name": keyname}), 201)
    assert_keyversion(kv, keyname, 0, 128)
    meta = ok_json(client.metadata(keyname))
    assert meta["cipher"] == CIPHER and meta["length"] == 128, meta
    assert meta["description"] in (None, ""), meta
    assert meta["attributes"] in (None, {}), meta


def test_create_materials_are_random(client, keyname):
    a = assert_keyversion(ok_json(client.create(keyname + "-a"), 201), keyname + "-a", 0, 128)
    b = assert_keyversion(ok_json(client.create(keyname + "-b"), 201), keyname + "-b", 0, 128)
    assert a != b
    assert a != bytes(16)


def test_create_with_material(client, keyname):
    raw, s = std_b64_with_plus_slash()
    kv = ok_json(client.create(keyname, length=128, material=s), 201)
    assert assert_keyversion(kv, keyname, 0, 128) == raw
    cur = ok_json(client.current(keyname))
    assert assert_keyversion(cur, keyname, 0, 128) == raw


def test_create_with_material_256_urlsafe_unpadded(client, keyname):
    raw = os.urandom(32)
    s = b64std(raw).replace("+", "-").replace("/", "_").rstrip("=")
    kv = ok_json(client.create(keyname, length=256, material=s), 201)
    assert assert_keyversion(kv, keyname, 0, 256) == raw


def test_roll_and_versions(client, keyname):
    before_ms = int(time.time() * 1000)
    m0 = assert_keyversion(ok_json(client.create(
        keyname, length=128, description="rolled key",
        attributes={"team": "storage", "key.acl.name": "x"}), 201), keyname, 0, 128)
    after_ms = int(time.time() * 1000)

    m1 = assert_keyversion(ok_json(client.roll(keyname)), keyname, 1, 128)
    assert m1 != m0
    raw2, s2 = std_b64_with_plus_slash()
    m2 = assert_keyversion(ok_json(client.roll(keyname, material=s2)), keyname, 2, 128)
    assert m2 == raw2

    vers = ok_json(client.versions(keyname))
    assert isinstance(vers, list) and len(vers) == 3, vers
    got = [assert_keyversion(v, keyname, i, 128) for i, v in enumerate(vers)]
    assert got == [m0, m1, m2]

    cur = ok_json(client.current(keyname))
    assert assert_keyversion(cur, keyname, 2, 128) == m2
    for i, m in enumerate((m0, m1, m2)):
        kv = ok_json(client.keyversion("%s@%d" % (keyname, i)))
        assert assert_keyversion(kv, keyname, i, 128) == m

    for path in ("key/%s/_metadata" % quote(keyname), "key/" + quote(keyname)):
        meta = ok_json(client.get(path))
        assert meta == {
            "name": keyname, "cipher": CIPHER, "length": 128,
            "description": "rolled key",
            "attributes": {"team": "storage", "key.acl.name": "x"},
            "created": meta.get("created"), "versions": 3}, meta
        created = meta["created"]
        assert isinstance(created, int) and not isinstance(created, bool), meta
        # epoch milliseconds taken at creation (allow clock granularity)
        assert before_ms - 2000 <= created <= after_ms + 2000, \
            (before_ms, created, after_ms)


def test_roll_256_keeps_length(client, keyname):
    ok_json(client.create(keyname, length=256), 201)
    m1 = assert_keyversion(ok_json(client.roll(keyname)), keyname, 1, 256)
    assert len(m1) == 32


def test_bulk_metadata(client, keyname):
    a, b = keyname + "-a", keyname + "-b"
    ok_json(client.create(a, length=128, description="A"), 201)
    ok_json(client.create(b, length=256), 201)
    ok_json(client.roll(b))
    res = ok_json(client.get("keys/metadata",
                             query=[("key", a), ("key", keyname + "-missing"), ("key", b)]))
    assert isinstance(res, list) and len(res) == 3, res
    assert res[0]["name"] == a and res[0]["length"] == 128 and res[0]["versions"] == 1
    assert res[0]["description"] == "A" and res[0]["cipher"] == CIPHER
    assert res[1] == {}
    assert res[2]["name"] == b and res[2]["length"] == 256 and res[2]["versions"] == 2
    assert isinstance(res[2]["created"], int)


def test_names(client, keyname):
    made = [keyname + s for s in ("-1", "-2", "-3")]
    for n in made:
        ok_json(client.create(n), 201)
    names = ok_json(client.names())
    assert isinstance(names, list) and all(isinstance(n, str) for n in names), names
    for n in made:
        assert names.count(n) == 1, (n, names)


def test_invalidate_cache(client, keyname):
    ok_json(client.create(keyname), 201)
    r = client.invalidate(keyname)
    assert r.status == 200, r
    assert r.body == b"", r
    # the key is unharmed
    assert assert_keyversion(ok_json(client.current(keyname)), keyname, 0, 128)


def test_delete(client, keyname):
    ok_json(client.create(keyname), 201)
    ok_json(client.roll(keyname))
    r = client.delete_key(keyname)
    assert r.status == 200, r
    assert r.body == b"", r
    assert ok_json(client.metadata(keyname)) == {}
    assert ok_json(client.versions(keyname)) == []
    assert ok_json(client.current(keyname)) == {}
    assert ok_json(client.keyversion(keyname + "@1")) == {}
    assert keyname not in ok_json(client.names())
    # the name can be used again, starting from version 0
    assert_keyversion(ok_json(client.create(keyname), 201), keyname, 0, 128)
    assert ok_json(client.metadata(keyname))["versions"] == 1


def test_reads_of_missing_key(client, keyname):
    assert ok_json(client.metadata(keyname)) == {}
    assert ok_json(client.get("key/" + quote(keyname))) == {}
    assert ok_json(client.current(keyname)) == {}
    assert ok_json(client.keyversion(keyname + "@0")) == {}
    assert ok_json(client.versions(keyname)) == []


def test_missing_version_of_existing_key(client, keyname):
    ok_json(client.create(keyname), 201)
    assert ok_json(client.keyversion(keyname + "@1")) == {}
    assert ok_json(client.keyversion(keyname + "@99")) == {}


def test_duplicate_create(client, keyname):
    m0 = assert_keyversion(ok_json(client.create(keyname), 201), keyname, 0, 128)
    assert_error(client.create(keyname), 500, IOE)
    assert_error(client.create(keyname, length=256, material=b64std(os.urandom(32))),
                 500, IOE)
    # no damage: the key keeps its one version and material
    cur = ok_json(client.current(keyname))
    assert assert_keyversion(cur, keyname, 0, 128) == m0
    assert ok_json(client.metadata(keyname))["versions"] == 1


@pytest.mark.parametrize("op", ["roll", "delete", "generate"])
def test_write_of_missing_key(client, keyname, op):
    if op == "roll":
        r = client.roll(keyname)
    elif op == "delete":
        r = client.delete_key(keyname)
    else:
        r = client.generate(keyname, 1)
    assert_error(r, 500, IOE)
    assert ok_json(client.metadata(keyname)) == {}
    assert keyname not in ok_json(client.names())
