"""Forged backups (issue 10): whoever can write where backups are kept
holds only the recipients' public certificates.  Each forgery is refused
with its own message, and nothing is written: not the target config or
data directory, not a file outside them, no command run.

Forgeries an attacker can make: an unsigned backup, one signed by a key of
their own, one whose signature is cut short or does not match.  Forgeries
that need the node's signing key (a compromised or buggy producer), to
show the next lines of defence: an archive with a symbolic link, a hard
link, a device, an absolute path or a ".." member, and a database dump that
is a psql script with a `\\!` shell command in it."""

import hashlib
import io
import os
import tarfile

import pytest

import backupkit
import kwtest
from backupkit import Recipient, backup, backups_in, restore, snapshot
from pair import Key


@pytest.fixture(scope="module")
def kit(servers, tmp_root):
    """A node with keys, a recipient, an attacker's signing key, a good
    backup and the archive inside it."""
    s = servers.start(auth="mtls")
    c = s.client()
    s.keys = [Key(c, "fg-%d" % i, 128) for i in range(2)]
    base = os.path.join(tmp_root, "forged")
    os.makedirs(base)
    rcp = Recipient(base, "ops")
    mallory = Recipient(base, "mallory")
    out = os.path.join(base, "backups")
    os.makedirs(out)
    backup(s.confdir, out, recipients=[rcp])
    (f,) = backups_in(out)
    good = os.path.join(out, f)

    class Kit:
        pass
    k = Kit()
    k.node, k.base, k.rcp, k.mallory, k.good = s, base, rcp, mallory, good
    k.tar = backupkit.unwrap(good, rcp, base)
    k.signer = backupkit.signer(s.confdir)
    k.sign_key = os.path.join(s.confdir, "backup-signing.key")
    return k


def sign(data, cert, key, dest):
    """data signed (CMS SignedData, DER) by cert/key, as keyward-backup
    does it."""
    i, o = dest + ".in", dest + ".signed"
    with open(i, "wb") as f:
        f.write(data)
    kwtest.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-md",
                "sha256", "-outform", "DER", "-signer", cert, "-inkey", key,
                "-in", i, "-out", o])
    with open(o, "rb") as f:
        out = f.read()
    os.remove(i)
    os.remove(o)
    return out


def encrypt(data, rcp, dest):
    """data encrypted to rcp into the file dest (a .kwb)."""
    i = dest + ".in"
    with open(i, "wb") as f:
        f.write(data)
    kwtest.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-gcm",
                "-outform", "DER", "-in", i, "-out", dest, rcp.cert])
    os.remove(i)


def rebuild(tar_bytes, extra=(), replace=None):
    """The archive with the members of tar_bytes (contents replaced from
    replace {name: bytes}, the manifest's checksums made to match), plus
    extra TarInfo members (with their data, or None)."""
    replace = replace or {}
    old = backupkit.members(tar_bytes)
    files = {n: replace.get(n, d) for n, d in old.items()}
    man = files["MANIFEST"].decode().splitlines()
    for n, d in replace.items():
        man = [("sha256 %s %s" % (hashlib.sha256(d).hexdigest(), n))
               if ln.startswith("sha256 ") and ln.endswith(" " + n) else ln
               for ln in man]
    files["MANIFEST"] = ("\n".join(man) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w",
                      format=tarfile.USTAR_FORMAT) as t:
        for n in sorted(files):
            ti = tarfile.TarInfo(n)
            ti.size = len(files[n])
            ti.mode = 0o600
            t.addfile(ti, io.BytesIO(files[n]))
        for ti, data in extra:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, kind, target=None, data=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = 0o644
    if target is not None:
        ti.linkname = target
    if data is not None:
        ti.size = len(data)
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = 1, 3
    return ti, data


def forge(kit, case, d):
    """The forged backup file for case in d; also where an escape would
    land (the file the attacker wants written) and the marker file of the
    dump's shell command."""
    outside = os.path.join(d, "outside")
    marker = os.path.join(d, "marker")
    os.makedirs(outside)
    trusted = (kit.signer, kit.sign_key)
    escaped = os.path.join(outside, "pwned")
    if case == "unsigned":
        inner = kit.tar
    elif case == "untrusted-signer":
        inner = sign(kit.tar, kit.mallory.cert, kit.mallory.key,
                     os.path.join(d, "s"))
    elif case == "truncated-signature":
        inner = sign(kit.tar, *trusted, os.path.join(d, "s"))[:-40]
    elif case == "bad-signature":
        inner = bytearray(sign(kit.tar, *trusted, os.path.join(d, "s")))
        at = bytes(inner).index(b"keyward-backup-format 2")
        inner[at + len("keyward-backup-format ")] = ord("3")
        inner = bytes(inner)
    else:
        extra = {
            # the review's attack: a link out, then a file through it
            "symlink": [member("conf/evil", tarfile.SYMTYPE, outside),
                        member("conf/evil/pwned", tarfile.REGTYPE,
                               data=b"owned\n")],
            "hardlink": [member("conf/evil", tarfile.LNKTYPE, escaped)],
            "device": [member("conf/evil", tarfile.CHRTYPE)],
            "fifo": [member("conf/evil", tarfile.FIFOTYPE)],
            "absolute": [member(escaped, tarfile.REGTYPE, data=b"owned\n")],
            "dotdot": [member("conf/../../../" + os.path.relpath(
                escaped, "/"), tarfile.REGTYPE, data=b"owned\n")],
            "shell-in-dump": [],
        }[case]
        replace = {}
        if case == "shell-in-dump":
            replace["db/keyward.dump"] = (
                "-- a psql script, not a pg_dump archive\n"
                "\\! touch %s\n" % marker).encode()
        inner = sign(rebuild(kit.tar, extra, replace), *trusted,
                     os.path.join(d, "s"))
    f = os.path.join(d, "forged.kwb")
    encrypt(inner, kit.rcp, f)
    return f, escaped, marker


CASES = {
    "unsigned": "UNSIGNED",
    "untrusted-signer": "UNKNOWN SIGNER",
    "truncated-signature": "TRUNCATED SIGNATURE",
    "bad-signature": "BAD SIGNATURE",
    "symlink": "is a symbolic link",
    "hardlink": "is a hard link",
    "device": "is a character device",
    "fifo": "is a fifo",
    "absolute": "has an absolute path",
    "dotdot": "has a \"..\" component",
    "shell-in-dump": "not a pg_dump archive",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forged_backup_refused_target_untouched(kit, case):
    d = os.path.join(kit.base, case)
    os.makedirs(d)
    f, escaped, marker = forge(kit, case, d)
    confdir, datadir = os.path.join(d, "conf"), os.path.join(d, "data")
    os.makedirs(confdir)
    before = snapshot(d)
    rc, so, se = restore("--input", f, "--key", kit.rcp.key,
                         "--signer", kit.signer, "--confdir", confdir,
                         "--datadir", datadir,
                         "--db-port", str(kwtest.free_port()), check=False)
    assert rc == 1, (rc, so, se)
    assert CASES[case] in se, se
    assert "nothing restored" in se, se
    assert snapshot(d) == before
    assert os.listdir(confdir) == [] and not os.path.exists(datadir)
    assert not os.path.exists(escaped) and not os.path.exists(marker)
    assert os.listdir(os.path.join(d, "outside")) == []


@pytest.mark.parametrize("case", ["symlink", "shell-in-dump"])
def test_forged_backup_refused_by_the_drill(kit, case):
    """--verify-only was as exposed as a restore: the same refusals."""
    d = os.path.join(kit.base, "drill-" + case)
    os.makedirs(d)
    f, escaped, marker = forge(kit, case, d)
    rc, so, se = restore("--input", f, "--key", kit.rcp.key, "--signer",
                         kit.signer, "--verify-only", check=False)
    assert rc == 1 and CASES[case] in se, (rc, so, se)
    assert not os.path.exists(escaped) and not os.path.exists(marker)


def test_unsigned_only_with_the_loud_flag(kit):
    """An unsigned backup is taken with --insecure-unsigned, which says
    so; the good backup's signer is named; --signer is required."""
    d = os.path.join(kit.base, "unsigned-ok")
    os.makedirs(d)
    f, _e, _m = forge(kit, "unsigned", d)
    rc, so, se = restore("--input", f, "--key", kit.rcp.key,
                         "--verify-only", check=False)
    assert rc == 2 and "--signer" in se, se
    _rc, so, se = restore("--input", f, "--key", kit.rcp.key,
                          "--insecure-unsigned", "--verify-only")
    assert "NOT SIGNED" in se and "is GOOD" in so, (so, se)
    _rc, so, se = restore("--input", kit.good, "--key", kit.rcp.key,
                          "--signer", kit.mallory.cert, "--signer",
                          kit.signer, "--verify-only")
    assert "signed by /CN=keyward backups of %s" % kit.node.name in so, so


def test_backup_without_signing_key_says_what_to_run(servers, tmp_root):
    """A node set up before backups were signed: the backup names the
    command that makes the key, and writes nothing."""
    s = servers.make(auth="mtls")
    for n in ("backup-signing.key", "backup-signing.pem"):
        os.remove(os.path.join(s.confdir, n))
    out = os.path.join(tmp_root, "backups-nokey")
    os.makedirs(out)
    rc, so, se = backup(s.confdir, out, "--cleartext", check=False)
    assert rc == 1, (rc, so, se)
    assert "keyward-admin backup keygen -c %s" % s.conf in se, se
    assert os.listdir(out) == []
    _rc, so, _se = kwtest.run([kwtest.ADMIN_BIN, "backup", "keygen", "-c",
                               s.conf])
    key = os.path.join(s.confdir, "backup-signing.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert "made backup signing key" in so, so
