"""A master key inside a PKCS#11 token (issue 12, part 3), with SoftHSM2.

A node starts on its file KEK, makes a key and an EEK; keyward-admin
master-key add --hsm makes an AES key in the token (never in the file),
the node is rotated to it, the rewrap moves every version under it, and
from then on versions are wrapped and unwrapped in the token: new keys
work, the old EEK decrypts to the same DEK after a restart (a cold
cache), verify passes.  The server refuses to start, saying why, with the
token absent, a wrong PIN, the key missing or no module.  Each test has
its own token directory (SOFTHSM2_CONF names a temporary config).
"""

import os
import subprocess

import pytest

import hsmkit
import kwclient
from hsmkit import (PIN, admin, check_decrypt, hsm_node,  # noqa: F401
                    kek_ids, softhsm, use_token)
from kwtest import SERVER_BIN

START_TIMEOUT = 20

pytestmark = hsmkit.needs_softhsm


def run_server(node):
    """keyward-server expected to refuse to start: (rc, output)."""
    try:
        p = subprocess.run([SERVER_BIN, "-c", node.conf],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("keyward-server still running: it should have refused")
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def test_token_kek_wraps_and_unwraps(hsm_node):
    node, mat, eek, hsm_id, _file_id = hsm_node
    c = node.client()
    # a new key is wrapped in the token
    mat2 = kwclient.assert_keyversion(kwclient.ok_json(
        c.create("hsm-new", length=256), 201), "hsm-new", 0, 256)
    assert kek_ids(node) == {hsm_id: 2}
    eek2 = kwclient.ok_json(c.generate("hsm-new", 1))[0]
    # a cold cache: every unwrap goes through the token
    node.stop()
    node.start()
    c = node.client()
    check_decrypt(c, eek, "hsm-old", mat)
    check_decrypt(c, eek2, "hsm-new", mat2)
    kv = kwclient.ok_json(c.current("hsm-new"))
    assert kwclient.assert_keyversion(kv, "hsm-new", 0, 256) == mat2
    _rc, out, _err = admin(node, "verify")
    assert "master key %s: 2 versions" % hsm_id in out, out


@pytest.mark.parametrize("case", ["absent", "wrong-pin", "key-missing",
                                  "no-module"])
def test_refuses_to_start(hsm_node, case):
    node, _mat, _eek, _hsm_id, _file_id = hsm_node
    node.stop()
    if case == "absent":
        use_token(node, label="no-such-token")
        want = 'no PKCS#11 token labelled "no-such-token" is present'
    elif case == "wrong-pin":
        use_token(node, pin="0000-wrong")
        want = "wrong PIN"
    elif case == "key-missing":
        use_token(node, key_label="other-label")
        want = 'holds no master key labelled "other-label"'
    else:
        use_token(node, module=os.path.join(node.dir, "nope.so"))
        want = "could not load PKCS#11 module"
    rc, out = run_server(node)
    assert rc != 0
    assert want in out, out
    assert PIN not in out and "0000-wrong" not in out
