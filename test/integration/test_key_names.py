"""Key names with awkward characters round-trip through every operation;
names some operation could not address afterwards are refused at create."""

import urllib.parse

import pytest

from kwclient import (IAE, assert_dek, assert_eek, assert_error,
                      assert_keyversion, ok_json, quote)

NAMES = [
    "with space",
    "per%cent",
    "per%25cent-encoded-looking",
    "it's",
    'say "hi"',
    "{braces}",
    "back\\slash",
    "a/b/c",
    "plus+sign",
    "at@sign",
    "at@sign@2",
    "ключ-🔑",
    "q?x=1&y=2#frag",
    "caret^pipe|[brackets]<lt>",
    "semi;colon,comma=eq",
    # odd, but every operation reaches them: accepted
    "_eek",
    "_metadata",
    "keys",
    "x/_eek/y",
    "x/_versionsx",
    "x/_eek@1",
    " lead",
    "trail ",
    "a..b",
    ".hidden/x",
]

# Refused at create (400): some operation could not address them, or
# clients and proxies would rewrite their paths.
REFUSED = [
    "x/_eek",
    "x/_metadata",
    "x/_currentversion",
    "x/_versions",
    "x/_invalidatecache",
    "x/_reencryptbatch",
    "a/b/_eek",
    "",
    " ",
    "\u00a0\u3000",
    "c1\u0085x",
    "tab\tname",
    "/lead",
    "trail/",
    "a//b",
    ".",
    "..",
    "a/../b",
    "a/./b",
]


@pytest.mark.parametrize("name", NAMES, ids=lambda n: n.encode("unicode_escape").decode())
def test_name_round_trip(client, name):
    r = client.create(name, length=128, description="desc of " + name)
    kv = ok_json(r, 201)
    m0 = assert_keyversion(kv, name, 0, 128)
    loc = r.header("Location") or ""
    assert urllib.parse.unquote(loc).endswith("/v1/key/" + name) or \
        loc.endswith("/v1/key/" + quote(name)), loc

    meta = ok_json(client.metadata(name))
    assert meta["name"] == name and meta["versions"] == 1, meta
    assert meta["description"] == "desc of " + name, meta
    assert name in ok_json(client.names())
    bulk = ok_json(client.get("keys/metadata", query=[("key", name)]))
    assert len(bulk) == 1 and bulk[0]["name"] == name, bulk

    assert assert_keyversion(ok_json(client.current(name)), name, 0, 128) == m0
    assert assert_keyversion(ok_json(client.keyversion(name + "@0")), name, 0, 128) == m0
    vers = ok_json(client.versions(name))
    assert [v["versionName"] for v in vers] == [name + "@0"], vers

    m1 = assert_keyversion(ok_json(client.roll(name)), name, 1, 128)
    e = ok_json(client.generate(name, 2))
    assert len(e) == 2
    assert_eek(e[0], name, 1, 128)
    d = assert_dek(ok_json(client.decrypt(e[0])), name, 128)
    assert assert_dek(ok_json(client.decrypt(e[0])), name, 128) == d
    assert m1 != m0

    assert client.invalidate(name).status == 200
    assert client.delete_key(name).status == 200
    assert ok_json(client.metadata(name)) == {}
    assert name not in ok_json(client.names())


def test_similar_names_are_distinct(client):
    """Percent-decoding happens once: 'x%41' is not 'xA'."""
    a, b = "pct-x%41", "pct-xA"
    ka = assert_keyversion(ok_json(client.create(a), 201), a, 0, 128)
    assert ok_json(client.metadata(b)) == {}
    kb = assert_keyversion(ok_json(client.create(b), 201), b, 0, 128)
    assert ka != kb
    assert assert_keyversion(ok_json(client.current(a)), a, 0, 128) == ka
    assert assert_keyversion(ok_json(client.current(b)), b, 0, 128) == kb


@pytest.mark.parametrize("name", REFUSED, ids=lambda n: n.encode("unicode_escape").decode() or "empty")
def test_unaddressable_name_refused(client, name):
    before = ok_json(client.names())
    assert_error(client.create(name), 400, IAE, contains="invalid key name")
    assert ok_json(client.names()) == before
    if name.strip() and "\t" not in name:
        # nothing under that name for any operation to find
        assert ok_json(client.get("keys/metadata", query=[("key", name)])) == [{}]
