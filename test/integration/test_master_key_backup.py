"""Backups of a node after a master key rotation and of a node whose
keyring is sealed (issue 12): the backup carries the keyring (sealed as it
is, never the passphrase), and a restore drill proves every version
unwraps under the restored keyring."""

import os

import pytest

import backupkit
import kwtest
import mkeykit
from backupkit import Recipient, backup, backups_in, restore
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, unique)


@pytest.fixture(scope="module")
def rcp(tmp_root):
    return Recipient(tmp_root, "mkey")


def one_backup(confdir, rcp, where):
    os.makedirs(where)
    backup(confdir, where, recipients=[rcp])
    (f,) = backups_in(where)
    return os.path.join(where, f)


def keyring_member(path, rcp, dest):
    """The master key file inside a backup, and every member's bytes."""
    m = backupkit.members(backupkit.unwrap(path, rcp, dest))
    (name,) = [n for n in m if n.endswith("master.key")]
    return m[name], m


def test_backup_of_rotated_node(pair, rcp, tmp_root):
    keys = [Key(pair.a.client(), unique("bkr"), 128, rolls=1)
            for _ in range(5)]
    old = mkeykit.status(pair.a)["active"]
    new = mkeykit.add_and_install(pair)
    pair.a.admin("master-key", "rotate")
    mkeykit.wait_rewrapped(pair.a)
    # one more key after the rotation, under the new master key only
    keys.append(Key(pair.b.client(), unique("bkr"), 256))

    dest = os.path.join(tmp_root, "bk-rotated")
    f = one_backup(pair.a.confdir, rcp, dest)
    ring, _m = keyring_member(f, rcp, dest)
    assert ring.startswith(b"keyward-keyring v1\n")
    assert ("kek %s " % old).encode() in ring and \
        ("kek %s " % new).encode() in ring
    _rc, so, se = restore("--input", f, "--key", rcp.key, "--signer",
                          backupkit.signer(pair.a.confdir), "--verify-only")
    assert "verified: 6 keys, 11 versions" in so, so + se
    assert "is GOOD" in so, so


def test_backup_of_sealed_node(servers, rcp, tmp_root):
    node = servers.make()
    node.start()
    c = node.client()
    keys = [Key(c, "bks-%d" % i, 128, rolls=i) for i in range(3)]
    node.stop()
    pw = os.path.join(node.dir, "seal.pass")
    secret = "the sealed node's passphrase"
    with open(os.open(pw, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
        fh.write(secret + "\n")
    kwtest.run([kwtest.ADMIN_BIN, "master-key", "seal", "-c", node.conf,
                "--new-passphrase-file", pw, "--scrypt-n", "1024"])

    dest = os.path.join(tmp_root, "bk-sealed")
    f = one_backup(node.confdir, rcp, dest)
    ring, members = keyring_member(f, rcp, dest)
    assert ring.startswith(b"keyward-keyring-sealed v1\n")
    for name, data in members.items():
        assert secret.encode() not in data, name

    # without the passphrase the drill cannot open the keyring, and says so
    rc, so, se = restore("--input", f, "--key", rcp.key, "--signer",
                         backupkit.signer(node.confdir), "--verify-only",
                         check=False)
    assert rc == 1 and "is sealed and no passphrase was given" in so + se, \
        so + se
    _rc, so, se = restore("--input", f, "--key", rcp.key, "--signer",
                          backupkit.signer(node.confdir), "--verify-only",
                          "--passphrase-file", pw)
    assert "verified: 3 keys, %d versions" % sum(
        len(k.materials) for k in keys) in so, so + se
    assert "is GOOD" in so, so
