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

import json
import os
import subprocess
import time

import pytest

import kwclient
import kwtest
from kwtest import SERVER_BIN

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_UTIL = "/usr/bin/softhsm2-util"
TOKEN = "kwtest"
PIN = "4711-token-pin"
START_TIMEOUT = 20

pytestmark = pytest.mark.skipif(not os.path.exists(MODULE),
                                reason="softhsm2 is not installed")


def admin(node, *args, check=True):
    return kwtest.run([kwtest.ADMIN_BIN, *args, "-c", node.conf], check=check)


def write_secret(path, text):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "w") as f:
        f.write(text + "\n")
    return path


@pytest.fixture
def softhsm(tmp_path, monkeypatch):
    """A SoftHSM2 token of our own, labelled TOKEN, with PIN: the
    environment of the servers and admin runs we start names it."""
    tokdir = tmp_path / "tokens"
    tokdir.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\n"
                    "log.level = ERROR\n" % tokdir)
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    kwtest.run([SOFTHSM_UTIL, "--init-token", "--free", "--label", TOKEN,
                "--pin", PIN, "--so-pin", "so-" + PIN])
    return tokdir


def use_token(node, label=TOKEN, pin=PIN, key_label="keyward-kek",
              module=MODULE):
    pinfile = write_secret(os.path.join(node.dir, "token.pin"), pin)
    kwtest.conf_set(node.conf, {
        ("keys", "hsm_module"): module, ("keys", "hsm_token_label"): label,
        ("keys", "hsm_key_label"): key_label,
        ("keys", "hsm_pin_file"): pinfile})


def run_server(node):
    """keyward-server expected to refuse to start: (rc, output)."""
    try:
        p = subprocess.run([SERVER_BIN, "-c", node.conf],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("keyward-server still running: it should have refused")
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def kek_ids(node):
    _rc, out, _err = node.pg.psql("SELECT kek_id, count(*) FROM key_versions "
                                  "GROUP BY kek_id", node.dbname)
    return {line.split("\t")[0]: int(line.split("\t")[1])
            for line in out.splitlines() if line.strip()}


def wait_rewrapped(node, timeout=120.0):
    """Bounded wait until master-key status says the rewrap is done."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        _rc, out, _err = admin(node, "master-key", "status", "--json")
        st = json.loads(out)
        if st["rewrap_done"]:
            return st
        time.sleep(0.2)
    raise AssertionError("rewrap not done after %.0f s: %r" % (timeout, st))


def check_decrypt(client, eek, name, mat):
    iv, emat = kwclient.assert_eek(eek, name, 0, 256)
    dek = kwclient.assert_dek(kwclient.ok_json(client.decrypt(eek)), name,
                              256)
    assert dek == kwclient.eek_decrypt(mat, iv, emat)


@pytest.fixture
def hsm_node(servers, softhsm):
    """A node moved from its file KEK into the token: (node, old key's
    material, its EEK, the token KEK's id).  Running."""
    node = servers.make()
    node.start()
    c = node.client()
    mat = kwclient.assert_keyversion(kwclient.ok_json(
        c.create("hsm-old", length=256), 201), "hsm-old", 0, 256)
    eek = kwclient.ok_json(c.generate("hsm-old", 1))[0]
    node.stop()
    file_ids = set(kek_ids(node))
    assert len(file_ids) == 1
    use_token(node)
    _rc, out, _err = admin(node, "master-key", "add", "--hsm")
    hsm_id = out.split("added master key ", 1)[1].split()[0]
    assert hsm_id not in file_ids
    with open(node.master_key_file, "rb") as f:
        assert hsm_id.encode() not in f.read(), \
            "a token KEK must never be written to the keyring file"
    node.start()
    admin(node, "master-key", "rotate", "--to", hsm_id)
    wait_rewrapped(node)
    assert kek_ids(node) == {hsm_id: 1}, "the rewrap did not move every " \
        "version into the token"
    return node, mat, eek, hsm_id


def test_token_kek_wraps_and_unwraps(hsm_node):
    node, mat, eek, hsm_id = hsm_node
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
    node, _mat, _eek, _hsm_id = hsm_node
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
