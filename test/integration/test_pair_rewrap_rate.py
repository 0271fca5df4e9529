"""The rewrap's rate with load running: a figure, not a check of speed.

Skipped unless KEYWARD_REWRAP_VERSIONS names how many versions to rewrap
(say 100000).  KEYWARD_REWRAP_TO=hsm rotates into a SoftHSM2 token shared
by both nodes (hsmkit.install_token_kek) instead of a new file key, so
every rewrap is an AES-GCM encryption in the token.  The versions are written straight into the primary
(wrapped here, with the same AES-256-GCM and associated data as
lib/crypto.c, under the pair's master key), then a master key rotation
runs while creates, generates and decrypts go through both nodes.
Prints versions per second and the load's requests per second; asserts
only what must hold: no failed request, no wrong data key, every version
under the new key, the sampled materials unchanged.
"""

import hashlib
import hmac
import os
import struct
import time

import pytest

import hsmkit
import kwclient
import mkeykit
from hsmkit import softhsm  # noqa: F401 (fixture, with KEYWARD_REWRAP_TO=hsm)
from kwtest import run
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  bindir)
from test_pair_rotation import Load, old_keys

N = int(os.environ.get("KEYWARD_REWRAP_VERSIONS", "0"))
TO = os.environ.get("KEYWARD_REWRAP_TO", "file")
BULK_ID = 10_000_000        # key ids far above what the load's creates get


def kek_id(kek):
    return hmac.new(kek, b"keyward kek check v1",
                    hashlib.sha256).digest()[:8].hex()


def wrap(aes, kid, name, version, material):
    nonce = os.urandom(12)
    aad = b"keyward-wrap-v1\0" + kid.encode() + b"\0" + \
        struct.pack(">I", version) + name.encode()
    return nonce + aes.encrypt(nonce, material, aad)


def bulk_load(pair, n):
    """n keys with one version each, written into A's database; returns
    {name: material} of a sample."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    with open(pair.a.master_key_file, "rb") as f:
        kek = f.read()
    assert len(kek) == 32
    kid, aes = kek_id(kek), AESGCM(kek)
    sample = {}
    path = os.path.join(pair.base, "bulk.sql")
    with open(path, "w") as f:
        f.write("COPY keys (id, name, cipher, length, created_ms) FROM stdin;\n")
        for i in range(n):
            f.write("%d\tbulk-%d\tAES/CTR/NoPadding\t128\t0\n" % (BULK_ID + i, i))
        f.write("\\.\nCOPY key_versions (key_id, version, kek_id, wrapped,"
                " created_ms) FROM stdin;\n")
        for i in range(n):
            name = "bulk-%d" % i
            mat = os.urandom(16)
            if i % (n // 50 or 1) == 0:
                sample[name] = mat
            f.write("%d\t0\t%s\t\\\\x%s\t0\n" % (
                BULK_ID + i, kid, wrap(aes, kid, name, 0, mat).hex()))
        f.write("\\.\n")
    os.chmod(path, 0o644)
    db = pair.db_a
    run([os.path.join(bindir(), "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-h", db.sockdir, "-p", str(db.port), "-U", "keyward", "-d",
         "keyward", "-f", path], timeout=600, env=db.env())
    return sample


@pytest.mark.skipif(N <= 0, reason="set KEYWARD_REWRAP_VERSIONS to measure")
def test_rewrap_rate(pair, request):
    sample = bulk_load(pair, N)
    for name, mat in list(sample.items())[:5]:
        kv = kwclient.ok_json(pair.b.client().current(name))
        assert kwclient.assert_keyversion(kv, name, 0, 128) == mat
    keys = old_keys(pair, 10, rolls=0)
    if TO == "hsm":
        request.getfixturevalue("softhsm")
        new = hsmkit.install_token_kek(pair)
    else:
        new = mkeykit.add_and_install(pair)

    load = Load(pair, keys)
    load.start()
    try:
        time.sleep(2.0)
        r0, t0 = load.requests, time.monotonic()
        pair.a.admin("master-key", "rotate")
        st = mkeykit.wait_rewrapped(pair.a, timeout=1800)
        t1, r1 = time.monotonic(), load.requests
    finally:
        load.stop()
    assert load.failures == [], load.failures[:5]
    assert load.wrong == [], load.wrong[:5]
    assert st["active"] == new
    assert set(mkeykit.db_kek_ids(pair.db_b)) == {new}
    for name, mat in sample.items():
        kv = kwclient.ok_json(pair.a.client().current(name))
        assert kwclient.assert_keyversion(kv, name, 0, 128) == mat
    secs = t1 - t0
    print("\nrewrap of %d versions (+%d made by the load) into a %s key "
          "in %.1f s: "
          "%.0f versions/s; load meanwhile %d requests, %.1f requests/s, "
          "0 failed, 0 wrong" % (N, len(load.made), TO, secs,
                                 st["versions"] / secs, r1 - r0,
                                 (r1 - r0) / secs))
