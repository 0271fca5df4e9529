"""A sealed master keyring (issue 12, part 2).

keyward-admin master-key seal encrypts the keyring file under a
passphrase; keyward-server unseals it at start from keys.passphrase_file
or --passphrase-fd, serves the same keys, and refuses to start, saying
why and before it listens, with a wrong or a missing passphrase.
change-passphrase and unseal work and the old passphrase stops working.
"""

import os
import signal
import subprocess
import time

import pytest

import kwclient
import kwtest
from kwtest import SERVER_BIN

START_TIMEOUT = 15
SCRYPT_N = "1024"       # cheap for the tests; the default is 32768


def write_pass(node, name, text):
    path = os.path.join(node.dir, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "w") as f:
        f.write(text + "\n")
    return path


def run_server(node, *args):
    """keyward-server expected to exit by itself: (rc, output)."""
    try:
        p = subprocess.run([SERVER_BIN, "-c", node.conf, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("keyward-server still running: it should have refused")
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def seal(node, pw):
    node_admin(node, "master-key", "seal", "--new-passphrase-file", pw,
               "--scrypt-n", SCRYPT_N)


def node_admin(node, *args, check=True):
    return kwtest.run([kwtest.ADMIN_BIN, *args, "-c", node.conf], check=check)


@pytest.fixture
def sealed(servers):
    """A node with a key, its keyring then sealed under "right"; returns
    (node, material of the key, raw old key, right file, wrong file)."""
    node = servers.make()
    node.start()
    mat = kwclient.assert_keyversion(kwclient.ok_json(
        node.client().create("sealed-k", length=256), 201), "sealed-k", 0, 256)
    node.stop()
    with open(node.master_key_file, "rb") as f:
        raw = f.read()
    assert len(raw) == 32
    right = write_pass(node, "right.pass", "correct horse battery staple")
    wrong = write_pass(node, "wrong.pass", "correct horse battery stapler")
    seal(node, right)
    with open(node.master_key_file, "rb") as f:
        text = f.read()
    assert text.startswith(b"keyward-keyring-sealed v1\n"), text[:60]
    assert raw not in text and raw.hex().encode() not in text
    return node, mat, raw, right, wrong


def current(node):
    kv = kwclient.ok_json(node.client().current("sealed-k"))
    return kwclient.assert_keyversion(kv, "sealed-k", 0, 256)


def test_right_passphrase_file(sealed):
    node, mat, _raw, right, _wrong = sealed
    kwtest.conf_set(node.conf, {("keys", "passphrase_file"): right})
    node.start()
    assert current(node) == mat
    # a reload reads the sealed keyring again
    node.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "master keyring reloaded" not in node.log_text() and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert "master keyring reloaded" in node.log_text(), node.log()
    assert current(node) == mat
    _rc, out, _err = node_admin(node, "verify")
    assert "unwrap-failures 0" in out, out


@pytest.mark.parametrize("how", ["wrong", "missing"])
def test_refused_without_the_passphrase(sealed, how):
    node, _mat, raw, _right, wrong = sealed
    if how == "wrong":
        kwtest.conf_set(node.conf, {("keys", "passphrase_file"): wrong})
        expect = "wrong passphrase: the keyring did not unseal"
    else:
        expect = "is sealed and no passphrase was given"
    for args in ((), ("-n",)):
        rc, out = run_server(node, *args)
        assert rc == 1, out
        assert expect in out and node.master_key_file in out, out
        assert "listening" not in out and "configuration OK" not in out, out
        assert raw.hex() not in out
    # keyward-admin says the same
    rc, _out, err = node_admin(node, "verify", check=False)
    assert rc == 1 and expect in err, err


def test_passphrase_fd(sealed):
    node, mat, _raw, right, _wrong = sealed
    rfd, wfd = os.pipe()
    with open(right, "rb") as f:
        os.write(wfd, f.read())
    os.close(wfd)
    logf = open(node.log_path, "ab")
    try:
        p = subprocess.Popen([SERVER_BIN, "-c", node.conf, "--passphrase-fd",
                              str(rfd)], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf, pass_fds=(rfd,),
                             start_new_session=True)
    finally:
        logf.close()
        os.close(rfd)
    node.proc = p
    try:
        deadline = time.monotonic() + START_TIMEOUT
        ok = False
        while time.monotonic() < deadline and p.poll() is None and not ok:
            try:
                ok = node.client().get("/v1/health").status == 200
            except OSError:
                time.sleep(0.1)
        assert ok, node.log()
        assert current(node) == mat
    finally:
        node.stop()


def test_change_passphrase_and_unseal(sealed):
    node, mat, _raw, right, _wrong = sealed
    new = write_pass(node, "new.pass", "a new passphrase")
    node_admin(node, "master-key", "change-passphrase", "--passphrase-file",
               right, "--new-passphrase-file", new, "--scrypt-n", SCRYPT_N)
    kwtest.conf_set(node.conf, {("keys", "passphrase_file"): right})
    rc, out = run_server(node, "-n")
    assert rc == 1 and "wrong passphrase" in out, out
    kwtest.conf_set(node.conf, {("keys", "passphrase_file"): new})
    node.start()
    assert current(node) == mat
    node.stop()

    node_admin(node, "master-key", "unseal", "--passphrase-file", new)
    with open(node.master_key_file, "rb") as f:
        assert f.read().startswith(b"keyward-keyring v1\n")
    kwtest.conf_set(node.conf, {("keys", "passphrase_file"): ""})
    node.start()
    assert current(node) == mat
