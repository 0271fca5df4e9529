"""Bad input: each case gets a clear error (status, Hadoop envelope,
exception class) and leaves the server healthy and the data undamaged.

This module runs its own server with small limits:
max_body_bytes 4096, max_num_keys 50, max_batch 10, request_timeout_s 5.
"""

import json
import os

import pytest

from kwclient import (IAE, IOE, assert_error, assert_healthy,
                    assert_keyversion, b64std, b64url, b64decode_any,
                    ok_json, quote)

MAX_BODY = 4096
MAX_NUM_KEYS = 50
MAX_BATCH = 10
REQUEST_TIMEOUT = 5


@pytest.fixture(scope="module")
def bad_server(servers):
    return servers.start(settings={
        ("limits", "max_body_bytes"): str(MAX_BODY),
        ("limits", "max_num_keys"): str(MAX_NUM_KEYS),
        ("limits", "max_batch"): str(MAX_BATCH),
        ("limits", "request_timeout_s"): str(REQUEST_TIMEOUT),
    })


@pytest.fixture(scope="module")
def c(bad_server):
    return bad_server.client()


@pytest.fixture(scope="module")
def key(c):
    """A key with one version and one EEK, shared by the cases below."""
    name = "bad-input-key"
    m0 = assert_keyversion(ok_json(c.create(name), 201), name, 0, 128)
    eek = ok_json(c.generate(name, 1))[0]
    dek = ok_json(c.decrypt(eek))["material"]
    return {"name": name, "m0": m0, "eek": eek, "dek": dek}


def check_key_intact(c, key):
    cur = ok_json(c.current(key["name"]))
    assert assert_keyversion(cur, key["name"], 0, 128) == key["m0"]
    assert ok_json(c.metadata(key["name"]))["versions"] == 1
    assert ok_json(c.decrypt(key["eek"]))["material"] == key["dek"]


def assert_error_any(resp, status):
    """Status must match; a body, if any, must be the Hadoop envelope."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if resp.body.strip():
        assert_error(resp, status)


# ------------------------------------------------------------- create

CREATE_CASES = [
    ("malformed", b'{"name": "bad-c1", "length": 128', IAE, 400, None),
    ("not-json", b"name=bad-c2", IAE, 400, None),
    ("array", b'["bad-c3"]', IAE, 400, None),
    ("string", b'"bad-c4"', IAE, 400, None),
    ("empty-body", b"", IAE, 400, None),
    ("no-name", b'{"cipher": "AES/CTR/NoPadding", "length": 128}', IAE, 400, None),
    ("empty-name", b'{"name": ""}', IAE, 400, None),
    ("name-number", b'{"name": 5}', IAE, 400, None),
    ("name-null", b'{"name": null}', IAE, 400, None),
    ("length-100", b'{"name": "bad-c9", "length": 100}', IAE, 400, None),
    ("length-512", b'{"name": "bad-c10", "length": 512}', IAE, 400, None),
    ("length-0", b'{"name": "bad-c11", "length": 0}', IAE, 400, None),
    ("length-string", b'{"name": "bad-c12", "length": "abc"}', IAE, 400, None),
    ("material-bad-b64", b'{"name": "bad-c13", "material": "!!!not*base64!!!"}', IAE, 400, None),
    ("material-number", b'{"name": "bad-c14", "material": 12}', IAE, 400, None),
    ("attributes-array", b'{"name": "bad-c15", "attributes": ["a"]}', IAE, 400, None),
    ("material-32-for-128", json.dumps(
        {"name": "bad-c16", "length": 128, "material": b64std(os.urandom(32))}).encode(),
     IOE, 500, "Wrong key length"),
    ("material-16-for-256", json.dumps(
        {"name": "bad-c17", "length": 256, "material": b64std(os.urandom(16))}).encode(),
     IOE, 500, "Wrong key length"),
    ("material-15", json.dumps(
        {"name": "bad-c18", "material": b64std(os.urandom(15))}).encode(),
     IOE, 500, "Wrong key length"),
]


@pytest.mark.parametrize("raw,cls,status,contains",
                         [x[1:] for x in CREATE_CASES], ids=[x[0] for x in CREATE_CASES])
def test_create_bad(c, raw, cls, status, contains):
    before = set(assert_healthy(c))
    assert_error(c.post("keys", raw=raw), status, cls, contains)
    after = set(assert_healthy(c))
    assert after == before, "a failed create left keys behind: %r" % (after - before)


def test_body_over_limit(c):
    body = {"name": "bad-big", "description": "x" * (MAX_BODY + 100)}
    r = c.post("keys", body)
    assert_error_any(r, 413)
    assert ok_json(c.metadata("bad-big")) == {}
    names = assert_healthy(c)
    assert "bad-big" not in names


def test_declared_length_over_limit(c):
    """A Content-Length over the limit is refused without waiting for the
    body (a client must not be able to make the server buffer it)."""
    head = ("POST /kms/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "\r\n{\"name\": \"bad-declared\"" % (100 * 1024 * 1024))
    got, _closed, took = c.raw_exchange(head.encode(), timeout=10)
    assert got.startswith(b"HTTP/1.1 413"), (got[:300], took)
    assert ok_json(c.metadata("bad-declared")) == {}
    assert_healthy(c)


def test_chunked_body_over_limit(c):
    body = json.dumps({"name": "bad-chunked", "description": "z" * (MAX_BODY * 2)}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                      for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
    req = (b"POST /kms/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    got, _closed, took = c.raw_exchange(req + chunks, timeout=10)
    assert got.startswith(b"HTTP/1.1 413"), (got[:300], took)
    assert ok_json(c.metadata("bad-chunked")) == {}
    assert_healthy(c)


def test_slow_client_is_dropped(c):
    """A request that never completes is dropped after request_timeout_s,
    and other clients are served meanwhile."""
    import threading
    result = {}

    def slow():
        result["r"] = c.raw_exchange(
            b"GET /kms/v1/keys/names HTTP/1.1\r\nHost: 127.0.0.1\r\n", timeout=15)

    th = threading.Thread(target=slow, daemon=True)
    th.start()
    assert_healthy(c)
    th.join(20)
    assert "r" in result
    got, closed, took = result["r"]
    assert closed, "connection still open after %.1f s" % took
    assert took < REQUEST_TIMEOUT + 6, took
    assert b"keys" not in got
    assert_healthy(c)


def test_body_under_limit_is_fine(c):
    """Control for the 413 case: a body close to the limit is accepted."""
    body = {"name": "bad-almost-big", "description": "y" * (MAX_BODY - 200)}
    assert len(json.dumps(body)) < MAX_BODY
    ok_json(c.post("keys", body), 201)
    assert ok_json(c.metadata("bad-almost-big"))["description"] == body["description"]
    assert_healthy(c)


# --------------------------------------------------------------- roll

ROLL_CASES = [
    ("malformed", b'{"material": ', IAE, 400, None),
    ("array", b"[]", IAE, 400, None),
    ("material-bad-b64", b'{"material": "%%%%"}', IAE, 400, None),
    ("material-15", json.dumps({"material": b64std(os.urandom(15))}).encode(),
     IOE, 500, "Wrong key length"),
    ("material-32", json.dumps({"material": b64std(os.urandom(32))}).encode(),
     IOE, 500, "Wrong key length"),
]


@pytest.mark.parametrize("raw,cls,status,contains",
                         [x[1:] for x in ROLL_CASES], ids=[x[0] for x in ROLL_CASES])
def test_roll_bad(c, key, raw, cls, status, contains):
    assert_error(c.post("key/" + quote(key["name"]), raw=raw), status, cls, contains)
    assert_healthy(c)
    check_key_intact(c, key)


# ------------------------------------------------- decrypt / reencrypt

def eek_body(key, **change):
    e = key["eek"]
    body = {"name": key["name"],
            "iv": b64std(b64decode_any(e["iv"])),
            "material": b64std(b64decode_any(e["encryptedKeyVersion"]["material"]))}
    for k, v in change.items():
        if v is None:
            del body[k]
        else:
            body[k] = v
    return json.dumps(body).encode()


EEK_CASES = [
    ("malformed", lambda k: b'{"name": ', "decrypt"),
    ("array", lambda k: b"[" + eek_body(k) + b"]", "decrypt"),
    ("iv-bad-b64", lambda k: eek_body(k, iv="***"), "decrypt"),
    ("material-bad-b64", lambda k: eek_body(k, material="@@@@"), "decrypt"),
    ("iv-15-bytes", lambda k: eek_body(k, iv=b64std(os.urandom(15))), "decrypt"),
    ("iv-17-bytes", lambda k: eek_body(k, iv=b64std(os.urandom(17))), "decrypt"),
    ("iv-empty", lambda k: eek_body(k, iv=""), "decrypt"),
    ("no-iv", lambda k: eek_body(k, iv=None), "decrypt"),
    ("no-material", lambda k: eek_body(k, material=None), "decrypt"),
    ("iv-number", lambda k: eek_body(k, iv=7), "decrypt"),
    ("reencrypt-iv-15", lambda k: eek_body(k, iv=b64std(os.urandom(15))), "reencrypt"),
    ("reencrypt-no-material", lambda k: eek_body(k, material=None), "reencrypt"),
    ("unknown-op", lambda k: eek_body(k), "bogus"),
    ("generate-op-on-post", lambda k: eek_body(k), "generate"),
    ("missing-op", lambda k: eek_body(k), None),
]


@pytest.mark.parametrize("make,op", [x[1:] for x in EEK_CASES],
                         ids=[x[0] for x in EEK_CASES])
def test_eek_op_bad(c, key, make, op):
    q = [] if op is None else [("eek_op", op)]
    r = c.post("keyversion/%s/_eek" % quote(key["name"] + "@0"), raw=make(key), query=q)
    assert_error(r, 400, IAE)
    assert_healthy(c)
    check_key_intact(c, key)


# ----------------------------------------------------------- generate

@pytest.mark.parametrize("num_keys", ["0", "-1", "1000000", "abc", "", "1.5",
                                      str(MAX_NUM_KEYS + 1), "0x10", "99999999999999999999"])
def test_generate_bad_num_keys(c, key, num_keys):
    r = c.get("key/%s/_eek" % quote(key["name"]),
              query=[("eek_op", "generate"), ("num_keys", num_keys)])
    assert_error(r, 400, IAE)
    assert_healthy(c)


def test_generate_at_limit(c, key):
    eeks = ok_json(c.generate(key["name"], MAX_NUM_KEYS))
    assert len(eeks) == MAX_NUM_KEYS
    assert len({e["iv"] for e in eeks}) == MAX_NUM_KEYS


@pytest.mark.parametrize("op", [None, "bogus", "decrypt", "GENERATE"])
def test_generate_bad_op(c, key, op):
    q = [("num_keys", "1")] + ([] if op is None else [("eek_op", op)])
    assert_error(c.get("key/%s/_eek" % quote(key["name"]), query=q), 400, IAE)
    assert_healthy(c)


# -------------------------------------------------------------- batch

def batch_entry(e):
    return {"versionName": e["versionName"],
            "iv": b64url(b64decode_any(e["iv"])),
            "encryptedKeyVersion": {
                "name": e["encryptedKeyVersion"]["name"], "versionName": "EEK",
                "material": b64url(b64decode_any(e["encryptedKeyVersion"]["material"]))}}


def test_batch_object_instead_of_array(c, key):
    r = c.post("key/%s/_reencryptbatch" % quote(key["name"]), batch_entry(key["eek"]))
    assert_error(r, 400, IAE)
    assert_healthy(c)
    check_key_intact(c, key)


def test_batch_malformed(c, key):
    r = c.post("key/%s/_reencryptbatch" % quote(key["name"]), raw=b'[{"versionName": ')
    assert_error(r, 400, IAE)
    assert_healthy(c)


def test_batch_bad_entry(c, key):
    bad = batch_entry(key["eek"])
    bad["iv"] = b64url(os.urandom(15))
    r = c.post("key/%s/_reencryptbatch" % quote(key["name"]),
               [batch_entry(key["eek"]), bad])
    assert_error(r, 400, IAE)
    assert_healthy(c)
    check_key_intact(c, key)


def test_batch_entry_of_another_key(c, key):
    other = "bad-batch-other"
    ok_json(c.create(other), 201)
    e = ok_json(c.generate(other, 1))[0]
    r = c.post("key/%s/_reencryptbatch" % quote(key["name"]),
               [batch_entry(key["eek"]), batch_entry(e)])
    assert_error(r, 400, IAE)
    assert_healthy(c)


def test_batch_over_limit(c, key):
    eeks = ok_json(c.generate(key["name"], MAX_BATCH + 1))
    body = [batch_entry(e) for e in eeks]
    assert len(json.dumps(body)) < MAX_BODY, "test body would hit the size limit"
    assert_error(c.post("key/%s/_reencryptbatch" % quote(key["name"]), body), 400, IAE)
    assert_healthy(c)
    # control: at the limit it works
    res = ok_json(c.post("key/%s/_reencryptbatch" % quote(key["name"]), body[:MAX_BATCH]))
    assert len(res) == MAX_BATCH


# ------------------------------------------------- paths and methods

@pytest.mark.parametrize("path", ["/kms/v1/bogus", "/kms/v2/keys/names", "/kms/v1/",
                                  "/", "/kms/v1/keysnames", "/kms/v1/keyversion",
                                  "/kms/v1/keys/names/extra", "/v1/nothing"])
def test_unknown_path(c, key, path):
    r = c.get(path)
    assert_error_any(r, 404)
    assert b"material" not in r.body
    assert_healthy(c)


@pytest.mark.parametrize("method,path", [
    ("PUT", "keys"),
    ("DELETE", "keys/names"),
    ("POST", "keys/names"),
    ("PUT", "key/bad-input-key"),
    ("DELETE", "keys"),
    ("DELETE", "keyversion/bad-input-key@0"),
    ("PATCH", "key/bad-input-key/_metadata"),
])
def test_wrong_method(c, key, method, path):
    r = c.request(method, path, raw=b"{}")
    assert_error_any(r, 405)
    assert_healthy(c)
    check_key_intact(c, key)
