"""A node whose only master key is in a PKCS#11 token (issue 12, part 3),
its backups and their restore, with SoftHSM2.

After the move into the token, retiring the file key leaves a token-only
keyring file: it holds no key, the server runs from the token alone, old
EEKs still decrypt, master-key check says where each key is.  keyward-admin
init --hsm-module makes a node token-only from the start.  A backup
of such a node says it is an HSM node and lists every master key its
database refers to as a token key, and holds nothing that could rebuild
it; a restore onto a host whose token holds the key serves the old EEKs;
a restore onto a host whose token lacks it is refused, naming the key,
before anything is written.
"""

import json
import os
import subprocess

import pytest

import backupkit
import hsmkit
import kwclient
import kwtest
from backupkit import Recipient, backup, backups_in, restore, snapshot
from hsmkit import (PIN, TOKEN, Token, admin, check_decrypt,  # noqa: F401
                    hsm_node, softhsm)
from kwtest import SERVER_BIN, free_port

pytestmark = hsmkit.needs_softhsm


@pytest.fixture(scope="module")
def rcp(tmp_root):
    return Recipient(tmp_root, "hsm")


@pytest.fixture
def token_only(hsm_node):
    """hsm_node with its file key retired: the keyring file holds none."""
    node, mat, eek, hsm_id, file_id = hsm_node
    _rc, out, _err = admin(node, "master-key", "retire", file_id)
    assert "token-only" in out, out
    return node, mat, eek, hsm_id, file_id


def test_token_only_install(token_only):
    node, mat, eek, hsm_id, file_id = token_only
    with open(node.master_key_file) as f:
        text = f.read()
    assert "\ntoken-only\n" in text and "\nkek " not in text, text
    # the server runs from the token alone (a cold cache after a restart)
    node.stop()
    node.start()
    check_decrypt(node.client(), eek, "hsm-old", mat)
    _rc, out, _err = admin(node, "master-key", "check")
    assert out == 'master key %s: in token "%s"\n' % (hsm_id, TOKEN), out
    _rc, out, _err = admin(node, "master-key", "status")
    assert '(1 of them in token "%s": the file is token-only)' % TOKEN in \
        out, out
    st = json.loads(admin(node, "master-key", "status", "--json")[1])
    assert [(k["id"], k["in_token"]) for k in st["keks"]] == \
        [(hsm_id, True)], st
    _rc, out, _err = admin(node, "master-key", "check", "--json", hsm_id,
                           file_id, check=False)
    st = json.loads(out)
    assert st["ok"] is False and st["keks"] == [
        {"id": hsm_id, "where": "token"},
        {"id": file_id, "where": "missing"}], st
    # a key in the token is not "retired" from a file that never held it
    rc, _out, err = admin(node, "master-key", "retire", hsm_id, check=False)
    assert rc == 1 and "is in token" in err, err
    # without the token the node has no master key at all, and says so
    node.stop()
    hsmkit.use_token(node, module="")
    rc, out, err = admin(node, "verify", check=False)
    assert rc == 1 and "token-only" in err and "keys.hsm_module is not " \
        "set" in err, err
    p = subprocess.run([SERVER_BIN, "-c", node.conf], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode != 0 and "token-only" in out, out


def test_init_token_only(servers, softhsm, tmp_path):
    """keyward-admin init --hsm-module: a node token-only from the start,
    its key made in the token; a second init finds that key."""
    pin = hsmkit.write_secret(str(tmp_path / "token.pin"), PIN)
    hsm_args = ["--hsm-module", hsmkit.MODULE, "--hsm-pin-file", pin,
                "--hsm-token-label", TOKEN]
    node = servers.make(init_args=hsm_args)
    made = [ln for ln in node.init_out.splitlines()
            if ln.startswith("master key ")]
    assert len(made) == 1 and "(made now;" in made[0], node.init_out
    kid = made[0].split()[2]
    with open(node.master_key_file) as f:
        text = f.read()
    assert "\ntoken-only\n" in text and "\nkek " not in text, text
    node.start()
    c = node.client()
    mat = kwclient.assert_keyversion(kwclient.ok_json(
        c.create("tok-init", length=256), 201), "tok-init", 0, 256)
    eek = kwclient.ok_json(c.generate("tok-init", 1))[0]
    assert hsmkit.kek_ids(node) == {kid: 1}
    node.stop()
    node.start()
    check_decrypt(node.client(), eek, "tok-init", mat)
    # the other node's init: the token already holds the key
    _rc, out, _err = kwtest.run([kwtest.ADMIN_BIN, "init", "--confdir",
                                 str(tmp_path / "second"), "--auth", "pseudo",
                                 *hsm_args])
    assert "master key %s is in token \"%s\" (found there;" % (kid, TOKEN) \
        in out, out
    # a PIN file without a module is a usage error
    rc, _out, err = kwtest.run([kwtest.ADMIN_BIN, "init", "--confdir",
                                str(tmp_path / "third"), "--auth", "pseudo",
                                "--hsm-pin-file", pin], check=False)
    assert rc == 2 and "--hsm-module and --hsm-pin-file" in err, err


def backup_of(node, rcp, where):
    os.makedirs(where)
    backup(node.confdir, where, recipients=[rcp])
    (f,) = backups_in(where)
    return os.path.join(where, f)


def restore_to(f, node, rcp, base, *extra, check=True):
    confdir, datadir = os.path.join(base, "conf"), os.path.join(base, "data")
    return restore("--input", f, "--key", rcp.key, "--signer",
                   backupkit.signer(node.confdir), "--confdir", confdir,
                   "--datadir", datadir, "--db-port", str(free_port()),
                   "--db-host", "127.0.0.1", *extra, check=check)


def test_backup_and_restore_of_token_only_node(token_only, softhsm, rcp,
                                                tmp_root, monkeypatch):
    node, mat, eek, hsm_id, file_id = token_only
    dest = os.path.join(tmp_root, "bk-hsm-%s" % os.urandom(3).hex())
    f = backup_of(node, rcp, dest)
    m = backupkit.members(backupkit.unwrap(f, rcp, dest))
    manifest = m["MANIFEST"].decode()
    # the backup says what it is: an HSM node, and where each key lives
    assert "\nhsm-token %s\n" % TOKEN in manifest, manifest
    assert "\nkek %s token 1\n" % hsm_id in manifest, manifest
    assert file_id not in manifest, manifest
    # nothing that could rebuild the token key: the keyring member is
    # token-only, and no member holds the token's files
    (ring,) = [v for k, v in m.items() if k.endswith("master.key")]
    assert b"\ntoken-only\n" in ring and b"\nkek " not in ring, ring
    tokfiles = [os.path.join(dp, n) for dp, _d, fn in os.walk(softhsm.dir)
                for n in fn]
    assert tokfiles
    for p in tokfiles:
        with open(p, "rb") as fh:
            data = fh.read()
        assert all(data not in v for v in m.values() if len(data) > 16), p

    # onto a host whose token holds the key: restored, and it serves
    base = os.path.join(tmp_root, "rs-hsm-%s" % os.urandom(3).hex())
    os.makedirs(base)
    os.chmod(base, 0o711)
    port = free_port()
    r = backupkit.RestoredNode(base, "kw-hsm-restored",
                               os.path.join(base, "conf"), port, node.pki,
                               os.path.join(base, "data"))
    try:
        _rc, so, se = restore_to(f, node, rcp, base,
                                 "--listen", "127.0.0.1:%d" % port)
        assert "master keys: this host holds all 1 the backup's database " \
            'needs (token "%s")' % TOKEN in so, so + se
        assert "verified: 1 keys, 1 versions" in so, so + se
        r.start()
        check_decrypt(r.client(), eek, "hsm-old", mat)
    finally:
        r.stop()
        r.stop_db()

    # onto a host whose token (same label and PIN) holds another key: the
    # restore is refused before anything is written, and says which key
    other = Token(os.path.join(tmp_root, "other-%s" % os.urandom(3).hex()))
    monkeypatch.setenv("SOFTHSM2_CONF", other.conf)
    foreign = hsmkit.add_token_kek(node)
    assert foreign != hsm_id
    base = os.path.join(tmp_root, "rs-nokey-%s" % os.urandom(3).hex())
    os.makedirs(os.path.join(base, "conf"))
    with open(os.path.join(base, "conf", "keyward.conf"), "w") as fh:
        fh.write("[node]\nname = precious\n")
    before = (snapshot(base), sorted(os.listdir(base)))
    try:
        rc, so, se = restore_to(f, node, rcp, base, "--force", check=False)
    finally:
        backupkit.stop_db(os.path.join(base, "data"))   # were it made
    assert rc == 1, (rc, so, se)
    assert "this host lacks master keys the backup's database needs: %s" % \
        hsm_id in se, se
    assert 'PKCS#11 token "%s"' % TOKEN in se and "nothing restored" in se, se
    assert (snapshot(base), sorted(os.listdir(base))) == before
    # the drill says the same
    rc, so, se = restore("--input", f, "--key", rcp.key, "--signer",
                         backupkit.signer(node.confdir), "--verify-only",
                         check=False)
    assert rc == 1 and "lacks master keys" in se and hsm_id in se, se
    assert PIN not in so + se

