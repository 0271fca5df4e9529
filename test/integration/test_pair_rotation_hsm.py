"""Rotation between a file master key and a PKCS#11 token key, both
directions, on a running pair (issue 12, part 3), with SoftHSM2.

Both nodes reach the same token (one token directory through
SOFTHSM2_CONF, as two hosts reach one HSM).  File -> token: keys.hsm_* on
both nodes, master-key add --hsm on A, both servers restarted (the token
is opened at start), rotate, the rewrap moves every version on both
databases into the token, the file key is retired on both nodes (their
keyring files become token-only), SIGHUP.  Token -> file: a new file key
added on A and installed on B, SIGHUP, rotate, the rewrap moves every
version back out.  EEKs made before the first rotation decrypt through
both nodes after each step, with every read going to a database (the
pair's cache is off), so every unwrap is under the key its row names.
"""

import signal
import time

import hsmkit
import mkeykit
from hsmkit import softhsm  # noqa: F401 (fixture)
from pair import (pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, unique)

pytestmark = hsmkit.needs_softhsm


def check_all(pair, keys):
    for k in keys:
        k.check_reads(pair.a.client())
        k.check_reads(pair.b.client())


def wait_only(pair, kek_id, n):
    """Every version on both databases is under kek_id (bounded wait)."""
    mkeykit.wait_rewrapped(pair.a)
    for db in pair.dbs:
        assert mkeykit.db_kek_ids(db) == {kek_id: n}, db.name


def wait_dropped(node, kek_id, timeout=30.0):
    """Wait until no server reports holding kek_id (both reloaded)."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = mkeykit.status(node)
        k = mkeykit.kek(st, kek_id)
        if k is None or not k["held_by"]:
            return
        time.sleep(0.2)
    raise AssertionError("a server still holds %s: %r" % (kek_id, st))


def test_file_to_token_and_back(pair_factory, softhsm):  # noqa: F811
    pair = pair_factory()
    keys = [Key(pair.a.client(), unique("p-hsm"), 128, rolls=1)
            for _ in range(3)]
    keys.append(Key(pair.b.client(), unique("p-hsm"), 256))
    nversions = sum(len(k.materials) for k in keys)
    file_id = mkeykit.status(pair.a)["active"]

    # file -> token
    tok = hsmkit.install_token_kek(pair)
    pair.a.admin("master-key", "rotate", "--to", tok)
    wait_only(pair, tok, nversions)
    check_all(pair, keys)
    for n in pair.nodes:
        _rc, out, _err = n.admin("master-key", "retire", file_id)
        assert "token-only" in out, out
        with open(n.master_key_file) as f:
            assert "\nkek " not in f.read()
        n.signal(signal.SIGHUP)
    wait_dropped(pair.a, file_id)
    check_all(pair, keys)
    # a key made now is wrapped in the token on both databases
    keys.append(Key(pair.b.client(), unique("p-hsm"), 128))
    nversions += 1
    wait_only(pair, tok, nversions)

    # token -> file
    new = mkeykit.add_and_install(pair)
    pair.a.admin("master-key", "rotate", "--to", new)
    wait_only(pair, new, nversions)
    check_all(pair, keys)
    for n in pair.nodes:
        _rc, out, _err = n.admin("master-key", "check")
        assert out == "master key %s: in the keyring file\n" % new, out
