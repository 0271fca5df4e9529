"""Encrypted key versions: generate, decrypt, re-encrypt (single and batch),
checked against an independent AES-CTR computation."""

import pytest

from kwclient import (IAE, assert_dek, assert_eek, assert_error,
                    assert_keyversion, b64url, b64decode_any, eek_decrypt,
                    ok_json, quote)


def a_key_is_gone(client, name):
    return name not in ok_json(client.names())


def make_key(client, name, length=128):
    kv = ok_json(client.create(name, length=length), 201)
    return assert_keyversion(kv, name, 0, length)


@pytest.mark.parametrize("length", [128, 256])
def test_generate_shape(client, keyname, length):
    make_key(client, keyname, length)
    m1 = assert_keyversion(ok_json(client.roll(keyname)), keyname, 1, length)
    eeks = ok_json(client.generate(keyname, 5))
    assert isinstance(eeks, list) and len(eeks) == 5, eeks
    parts = [assert_eek(e, keyname, 1, length) for e in eeks]
    ivs = {iv for iv, _m in parts}
    mats = {m for _iv, m in parts}
    assert len(ivs) == 5, "IVs repeat: %r" % eeks
    assert len(mats) == 5, "EEK materials repeat: %r" % eeks
    # each EEK is the current version's encryption of its DEK
    for e, (iv, m) in zip(eeks, parts):
        dek = assert_dek(ok_json(client.decrypt(e)), keyname, length)
        assert eek_decrypt(m1, iv, m) == dek
        assert dek != m, "EEK material equals the DEK"


def test_generate_default_num_keys(client, keyname):
    make_key(client, keyname)
    eeks = ok_json(client.get("key/%s/_eek" % quote(keyname),
                              query=[("eek_op", "generate")]))
    assert isinstance(eeks, list) and len(eeks) == 1, eeks
    assert_eek(eeks[0], keyname, 0, 128)


def test_two_generates_differ(client, keyname):
    make_key(client, keyname)
    a = ok_json(client.generate(keyname, 1))[0]
    b = ok_json(client.generate(keyname, 1))[0]
    assert a["iv"] != b["iv"]
    assert a["encryptedKeyVersion"]["material"] != b["encryptedKeyVersion"]["material"]
    da = ok_json(client.decrypt(a))["material"]
    db = ok_json(client.decrypt(b))["material"]
    assert da != db


@pytest.mark.parametrize("length", [128, 256])
def test_decrypt_is_stable_and_matches_aes_ctr(client, keyname, length):
    k0 = make_key(client, keyname, length)
    e = ok_json(client.generate(keyname, 1))[0]
    iv, m = assert_eek(e, keyname, 0, length)
    d1 = assert_dek(ok_json(client.decrypt(e)), keyname, length)
    d2 = assert_dek(ok_json(client.decrypt(e)), keyname, length)
    assert d1 == d2
    assert eek_decrypt(k0, iv, m) == d1
    # and the arithmetic the other way round: a DEK we encrypt ourselves
    # with the flipped IV decrypts on the server to that DEK
    mine = bytes(range(length // 8))
    eek = {"versionName": keyname + "@0", "iv": e["iv"],
           "encryptedKeyVersion": {"name": keyname, "versionName": "EEK",
                                   "material": b64url(eek_decrypt(k0, iv, mine))}}
    assert assert_dek(ok_json(client.decrypt(eek)), keyname, length) == mine


def test_decrypt_accepts_urlsafe_unpadded(client, keyname):
    make_key(client, keyname)
    e = ok_json(client.generate(keyname, 1))[0]
    d1 = ok_json(client.decrypt(e))["material"]
    r = client.post("keyversion/%s/_eek" % quote(e["versionName"]),
                    {"name": keyname, "iv": e["iv"],
                     "material": e["encryptedKeyVersion"]["material"]},
                    query=[("eek_op", "decrypt")])
    assert ok_json(r)["material"] == d1


def test_decrypt_old_version_after_roll(client, keyname):
    make_key(client, keyname)
    e0 = ok_json(client.generate(keyname, 1))[0]
    d0 = ok_json(client.decrypt(e0))["material"]
    ok_json(client.roll(keyname))
    assert ok_json(client.decrypt(e0))["material"] == d0


def test_reencrypt_after_roll(client, keyname):
    k0 = make_key(client, keyname)
    e0 = ok_json(client.generate(keyname, 1))[0]
    dek = assert_dek(ok_json(client.decrypt(e0)), keyname, 128)
    k1 = assert_keyversion(ok_json(client.roll(keyname)), keyname, 1, 128)
    assert client.invalidate(keyname).status == 200

    e1 = ok_json(client.reencrypt(e0))
    iv1, m1 = assert_eek(e1, keyname, 1, 128)
    assert iv1 == b64decode_any(e0["iv"]), "reencrypt changed the IV"
    assert m1 != b64decode_any(e0["encryptedKeyVersion"]["material"])
    assert eek_decrypt(k1, iv1, m1) == dek
    assert eek_decrypt(k0, iv1, m1) != dek
    assert assert_dek(ok_json(client.decrypt(e1)), keyname, 128) == dek


def test_reencrypt_current_is_unchanged(client, keyname):
    make_key(client, keyname)
    ok_json(client.roll(keyname))
    e = ok_json(client.generate(keyname, 1))[0]
    r = ok_json(client.reencrypt(e))
    assert_eek(r, keyname, 1, 128)
    assert r["versionName"] == e["versionName"]
    assert b64decode_any(r["iv"]) == b64decode_any(e["iv"])
    assert (b64decode_any(r["encryptedKeyVersion"]["material"])
            == b64decode_any(e["encryptedKeyVersion"]["material"]))


def test_reencrypt_batch(client, keyname):
    make_key(client, keyname)
    old = ok_json(client.generate(keyname, 3))
    ok_json(client.roll(keyname))
    mid = ok_json(client.generate(keyname, 2))
    k2 = assert_keyversion(ok_json(client.roll(keyname)), keyname, 2, 128)
    cur = ok_json(client.generate(keyname, 1))
    batch = [old[0], mid[0], cur[0], old[1], mid[1], old[2]]
    deks = [ok_json(client.decrypt(e))["material"] for e in batch]
    # the protocol's EEK shape, binary fields URL-safe base64 without padding
    body = [{"versionName": e["versionName"],
             "iv": b64url(b64decode_any(e["iv"])),
             "encryptedKeyVersion": {
                 "name": keyname, "versionName": "EEK",
                 "material": b64url(b64decode_any(e["encryptedKeyVersion"]["material"]))}}
            for e in batch]
    res = ok_json(client.reencrypt_batch(keyname, body))
    assert isinstance(res, list) and len(res) == len(batch), res
    for src, out, dek in zip(batch, res, deks):
        iv, m = assert_eek(out, keyname, 2, 128)
        assert iv == b64decode_any(src["iv"]), "batch changed an IV (order?)"
        assert eek_decrypt(k2, iv, m) == b64decode_any(dek)
        assert ok_json(client.decrypt(out))["material"] == dek
    # the one already current came back unchanged
    assert (b64decode_any(res[2]["encryptedKeyVersion"]["material"])
            == b64decode_any(cur[0]["encryptedKeyVersion"]["material"]))


def test_reencrypt_batch_empty(client, keyname):
    make_key(client, keyname)
    assert ok_json(client.reencrypt_batch(keyname, [])) == []


def test_decrypt_after_delete(client, keyname):
    make_key(client, keyname)
    e = ok_json(client.generate(keyname, 1))[0]
    ok_json(client.decrypt(e))
    assert client.delete_key(keyname).status == 200
    assert_error(client.decrypt(e), 400, IAE, "'%s@0' not found" % keyname)
    assert_error(client.reencrypt(e), 400, IAE, "'%s@0' not found" % keyname)
    assert a_key_is_gone(client, keyname)


def test_decrypt_missing_version(client, keyname):
    make_key(client, keyname)
    e = ok_json(client.generate(keyname, 1))[0]
    e["versionName"] = keyname + "@7"
    assert_error(client.decrypt(e), 400, IAE, "'%s@7' not found" % keyname)


def test_decrypt_version_of_another_key(client, keyname):
    """URL names A@0, body names key B: the version does not belong to B."""
    a, b = keyname + "-a", keyname + "-b"
    make_key(client, a)
    make_key(client, b)
    e = ok_json(client.generate(a, 1))[0]
    r = client.decrypt(e, body_name=b)
    rex = assert_error(r, 400, IAE, "not found")
    assert ("'%s@0'" % a) in rex["message"] or ("'%s@0'" % b) in rex["message"], rex
