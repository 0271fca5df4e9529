"""hsmkit: a SoftHSM2 token for the PKCS#11 master-key tests.

Owns: the softhsm fixture (a token of the test's own, named through
SOFTHSM2_CONF, which every server and keyward-admin run started from the
test inherits), a second, empty token directory (another host's token),
pointing a node's config at a token (keys.hsm_*), and the hsm_node
fixture: a single node moved from its file KEK into the token.  Test
modules import the fixtures by name.
"""

import json
import os
import time

import pytest

import kwclient
import kwtest
import mkeykit

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_UTIL = "/usr/bin/softhsm2-util"
TOKEN = "kwtest"
PIN = "4711-token-pin"
KEY_LABEL = "keyward-kek"
REWRAP_TIMEOUT = 120.0

needs_softhsm = pytest.mark.skipif(not os.path.exists(MODULE),
                                   reason="softhsm2 is not installed")


def write_secret(path, text):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "w") as f:
        f.write(text + "\n")
    return path


class Token:
    """A SoftHSM2 token directory and the config file that names it."""

    def __init__(self, base, label=TOKEN, pin=PIN):
        os.makedirs(base, exist_ok=True)
        self.dir = os.path.join(base, "tokens")
        os.makedirs(self.dir)
        self.conf = os.path.join(base, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write("directories.tokendir = %s\nobjectstore.backend = file\n"
                    "log.level = ERROR\n" % self.dir)
        kwtest.run([SOFTHSM_UTIL, "--init-token", "--free", "--label", label,
                    "--pin", pin, "--so-pin", "so-" + pin],
                   env=dict(os.environ, SOFTHSM2_CONF=self.conf))


@pytest.fixture
def softhsm(tmp_path, monkeypatch):
    """A SoftHSM2 token of our own, labelled TOKEN, with PIN: the
    environment of the servers and admin runs we start names it."""
    tok = Token(str(tmp_path / "hsm"))
    monkeypatch.setenv("SOFTHSM2_CONF", tok.conf)
    return tok


def use_token(node, label=TOKEN, pin=PIN, key_label=KEY_LABEL,
              module=MODULE, pin_file=None):
    """keys.hsm_* of node's config; the PIN file in node.dir unless
    given."""
    if pin_file is None:
        pin_file = write_secret(os.path.join(node.dir, "token.pin"), pin)
    kwtest.conf_set(node.conf, {
        ("keys", "hsm_module"): module, ("keys", "hsm_token_label"): label,
        ("keys", "hsm_key_label"): key_label,
        ("keys", "hsm_pin_file"): pin_file})


def admin(node, *args, check=True):
    return kwtest.run([kwtest.ADMIN_BIN, *args, "-c", node.conf], check=check)


def add_token_kek(node):
    """master-key add --hsm on node: the new id."""
    _rc, out, _err = admin(node, "master-key", "add", "--hsm")
    return out.split("added master key ", 1)[1].split()[0]


def kek_ids(node):
    _rc, out, _err = node.pg.psql("SELECT kek_id, count(*) FROM key_versions "
                                  "GROUP BY kek_id", node.dbname)
    return {line.split("\t")[0]: int(line.split("\t")[1])
            for line in out.splitlines() if line.strip()}


def wait_rewrapped(node, timeout=REWRAP_TIMEOUT):
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


def install_token_kek(pair):
    """Both nodes of pair onto the token SOFTHSM2_CONF names (one PIN
    file), a token key made on A, both servers restarted (keys.hsm_* are
    read at start); returns its id once both report holding it."""
    pin = write_secret(os.path.join(pair.base, "token.pin"), PIN)
    for n in pair.nodes:
        use_token(n, pin_file=pin)
    tok = add_token_kek(pair.a)
    for n in pair.nodes:
        n.stop()
        n.start()
    pair.wait_writable()
    mkeykit.wait_held(pair.a, tok, [pair.a.name, pair.b.name])
    return tok


@pytest.fixture
def hsm_node(servers, softhsm):
    """A node moved from its file KEK into the token: (node, old key's
    material, its EEK, the token KEK's id, the file KEK's id).  Running."""
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
    hsm_id = add_token_kek(node)
    assert hsm_id not in file_ids
    with open(node.master_key_file, "rb") as f:
        assert hsm_id.encode() not in f.read(), \
            "a token KEK must never be written to the keyring file"
    node.start()
    admin(node, "master-key", "rotate", "--to", hsm_id)
    wait_rewrapped(node)
    assert kek_ids(node) == {hsm_id: 1}, "the rewrap did not move every " \
        "version into the token"
    return node, mat, eek, hsm_id, file_ids.pop()
