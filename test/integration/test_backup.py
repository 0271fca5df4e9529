"""keyward-backup and keyward-restore (issue 4): an encrypted backup of the
passive taken while a writer creates keys on the active, restored onto new
directories and ports, serves every key exactly as the source did; damaged,
cut and foreign backups are refused before anything is touched; --roll,
the lock and the cron entry."""

import base64
import fcntl
import os
import re
import subprocess
import threading

import pytest

import backupkit
import kwtest
from backupkit import Recipient, backup, backups_in, restore, snapshot
from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, unique)

CRON = os.path.join(kwtest.REPO, "packaging", "cron.d", "keyward-backup")


@pytest.fixture(scope="module")
def recipients(tmp_root):
    return Recipient(tmp_root, "ops"), Recipient(tmp_root, "wrong")


@pytest.fixture(scope="module")
def node(servers):
    """A single node with a few keys: the source of the cheap tests."""
    s = servers.start(auth="mtls")
    c = s.client()
    s.keys = [Key(c, "bk-%d" % i, 128 if i % 2 else 256, rolls=i % 3)
              for i in range(4)]
    return s


@pytest.fixture(scope="module")
def good_backup(node, recipients, tmp_root):
    out = os.path.join(tmp_root, "backups-good")
    os.makedirs(out)
    backup(node.confdir, out, recipients=[recipients[0]])
    (f,) = backups_in(out)
    return os.path.join(out, f)


def decrypt(path, rcp, dest):
    """The backup's tar members {name: bytes}, decrypted with openssl."""
    return backupkit.members(backupkit.unwrap(path, rcp, dest))


def dump_key_names(members, dest):
    """Names in the keys table of the backup's dump."""
    sql = backupkit.dump_tables(members["db/keyward.dump"], dest)
    block = sql.split("COPY public.keys ", 1)[1].split("\n\\.\n", 1)[0]
    return {line.split("\t")[1] for line in block.splitlines()[1:]}


def test_backup_of_passive_under_writes_restores_identically(
        pair, recipients, tmp_root, pki):
    rcp = recipients[0]
    a = pair.a.client()
    keys = [Key(a, unique("src"), 256, rolls=2), Key(a, unique("src"), 128)]
    described = unique("described")
    ok_json(a.create(described, length=128, description="for the drill",
                     attributes={"owner": "ops", "tier": "1"}), 201)
    known = keys[0]

    # a writer on the active all through the backup of the passive
    stop, written, errors = threading.Event(), [], []

    def writer():
        c = pair.a.client()
        i = 0
        while not stop.is_set() and i < 400:
            n = "w-%d-%s" % (i, os.urandom(3).hex())
            r = c.create(n, length=128)
            (written if r.status == 201 else errors).append((n, r.status))
            i += 1

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    out = os.path.join(pair.base, "backups")
    os.makedirs(out)
    try:
        _rc, so, _se = backup(pair.b.confdir, out, "-v", recipients=[rcp])
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[:5]
    assert written, "the writer created nothing"
    (name,) = backups_in(out)
    path = os.path.join(out, name)
    assert re.fullmatch(r"keyward-kw-b-\d{8}T\d{6}Z\.kwb", name), name
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "wrote " + path in so, so
    assert os.listdir(out) == [".keyward-backup.lock", name] or \
        sorted(os.listdir(out)) == sorted([".keyward-backup.lock", name])

    # nothing readable without the recipient's key
    data = open(path, "rb").read()
    for secret in (known.name.encode(), described.encode(),
                   base64.b64encode(known.materials[0]),
                   base64.urlsafe_b64encode(known.materials[0]).rstrip(b"="),
                   known.materials[0], b"COPY public.keys", b"MANIFEST"):
        assert secret not in data, "found %r in the backup in clear" % secret

    # what the backup holds: the keys made before it, and a consistent
    # prefix of the writer's
    members = decrypt(path, rcp, pair.base)
    in_dump = dump_key_names(members, pair.base)
    assert {k.name for k in keys} | {described} <= in_dump
    assert in_dump <= {k.name for k in keys} | {described} | \
        {n for n, _s in written}
    manifest = members["MANIFEST"].decode()
    assert "keys %d\n" % len(in_dump) in manifest, manifest
    assert "node kw-b\n" in manifest and "keyward-version " in manifest

    # restore onto new directories and ports
    base = os.path.join(tmp_root, "restored-%s" % os.urandom(3).hex())
    os.makedirs(base)
    os.chmod(base, 0o711)
    confdir, datadir = os.path.join(base, "conf"), os.path.join(base, "data")
    db_port, port = kwtest.free_port(), kwtest.free_port()
    # the new pair's passive will be 127.0.0.2:b_port
    b_port = kwtest.free_port()
    b_conninfo = "host=127.0.0.2 port=%d dbname=keyward user=keyward_server" \
        % b_port
    _rc, so, se = restore("--input", path, "--key", rcp.key, "--cert",
                          rcp.cert, "--signer", backupkit.signer(
                              pair.b.confdir),
                          "--signer", backupkit.signer(pair.a.confdir),
                          "--confdir", confdir, "--datadir", datadir,
                          "--db-port", str(db_port), "--db-host", "127.0.0.1",
                          "--listen", "127.0.0.1:%d" % port,
                          "--db-peer", b_conninfo)
    assert "verified: %d keys" % len(in_dump) in so, so + se
    assert "signature good: signed by /CN=keyward backups of kw-b" in so, so
    node = backupkit.RestoredNode(base, "kw-restored", confdir, port, pki,
                                  datadir)
    b_datadir = os.path.join(base, "b-data")
    try:
        # the restored node is the active of a new pair: a passive from it
        newb = backupkit.new_passive(base, node, b_conninfo, b_datadir, pki)
        kwtest.run([kwtest.ADMIN_BIN, "db", "enable-sync", "-c", node.conf])
        node.start()
        r = node.client()
        assert set(ok_json(r.names())) == in_dump
        for k in keys:
            k.check_reads(r)        # materials, metadata, old EEKs decrypt
        for n in sorted(in_dump):
            assert ok_json(r.metadata(n)) == ok_json(a.metadata(n)), n
            assert ok_json(r.versions(n)) == ok_json(a.versions(n)), n
        md = ok_json(r.metadata(described))
        assert md["description"] == "for the drill"
        assert md["attributes"] == {"owner": "ops", "tier": "1"}
        # writes are acknowledged by the new pair and reach its passive
        after = unique("after")
        ok_json(r.create(after, length=128), 201)
        assert backupkit.psql(newb, "SELECT count(*) FROM keys WHERE "
                              "name = '%s'" % after) == "1"
        # status exits 0 only when the pair accepts writes
        kwtest.run([kwtest.ADMIN_BIN, "status", "-c", node.conf])
    finally:
        node.stop()
        node.stop_db()
        backupkit.stop_db(b_datadir)


@pytest.mark.parametrize("damage", ["flip", "truncate", "wrong-key",
                                    "wrong-key-cert"])
def test_bad_backup_refused_and_target_untouched(good_backup, recipients,
                                                 node, tmp_root, damage):
    rcp, wrong = recipients
    d = os.path.join(tmp_root, "bad-" + damage)
    os.makedirs(d)
    f = os.path.join(d, "b.kwb")
    data = bytearray(open(good_backup, "rb").read())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[:len(data) - 1000]
    with open(f, "wb") as fh:
        fh.write(data)
    key = wrong.key if damage.startswith("wrong") else rcp.key
    cert = [] if damage != "wrong-key-cert" else ["--cert", wrong.cert]
    # a config dir that exists (empty) and must stay so
    confdir, datadir = os.path.join(d, "conf"), os.path.join(d, "data")
    os.makedirs(confdir)
    before = (snapshot(d), sorted(os.listdir(d)))
    rc, so, se = restore("--input", f, "--key", key, *cert,
                         "--signer", backupkit.signer(node.confdir),
                         "--confdir", confdir, "--datadir", datadir,
                         "--db-port", str(kwtest.free_port()), check=False)
    assert rc == 1, (rc, so, se)
    want = {"flip": "FAILED AUTHENTICATION", "truncate": "TRUNCATED",
            "wrong-key": "WRONG KEY", "wrong-key-cert": "WRONG KEY"}[damage]
    assert want in se, se
    assert "nothing restored" in se or "not a recipient" in se or \
        "is not the private key" in se, se
    assert (snapshot(d), sorted(os.listdir(d))) == before
    assert not os.path.exists(datadir)


def test_verify_only_and_no_overwrite(good_backup, recipients, node,
                                      tmp_root):
    rcp = recipients[0]
    _rc, so, se = restore("--input", good_backup, "--key", rcp.key,
                          "--signer", backupkit.signer(node.confdir),
                          "--verify-only")
    n = len(node.keys)
    assert "verified: %d keys, %d versions" % (
        n, sum(len(k.materials) for k in node.keys)) in so, so + se
    assert "is GOOD" in so, so
    # an existing config dir is not overwritten without --force
    d = os.path.join(tmp_root, "occupied")
    os.makedirs(os.path.join(d, "conf"))
    with open(os.path.join(d, "conf", "keyward.conf"), "w") as fh:
        fh.write("[node]\nname = precious\n")
    before = snapshot(d)
    rc, so, se = restore("--input", good_backup, "--key", rcp.key,
                         "--signer", backupkit.signer(node.confdir),
                         "--confdir", os.path.join(d, "conf"),
                         "--datadir", os.path.join(d, "data"),
                         "--db-port", str(kwtest.free_port()), check=False)
    assert rc == 1 and "refusing to overwrite" in se, (rc, so, se)
    assert snapshot(d) == before


def test_cleartext_says_so(node, tmp_root):
    out = os.path.join(tmp_root, "backups-clear")
    os.makedirs(out)
    _rc, so, se = backup(node.confdir, out, "--cleartext", "-q")
    assert "NOT ENCRYPTED" in se, se
    (f,) = backups_in(out)
    path = os.path.join(out, f)
    # signed all the same: CMS SignedData, the archive inside in clear
    data = open(path, "rb").read()
    assert data[:1] == b"\x30" and b"MANIFEST" in data
    rc, so, se = backup(node.confdir, out, check=False)
    assert rc == 2 and "--recipient" in se, se
    # restore takes it only when told it is cleartext, and says so
    signer = backupkit.signer(node.confdir)
    rc, so, se = restore("--input", path, "--signer", signer,
                         "--verify-only", check=False)
    assert rc == 1 and "NOT ENCRYPTED" in se and "--cleartext" in se, se
    _rc, so, se = restore("--input", path, "--signer", signer,
                          "--cleartext", "--verify-only")
    assert "is GOOD" in so, so + se


def test_roll_keeps_newest_and_nothing_else(node, recipients, tmp_root):
    out = os.path.join(tmp_root, "backups-roll")
    os.makedirs(out)
    others = ["keyward-other-20200101T000000Z.kwb", "notes.txt",
              "keyward-%s-old.kwb" % node.name]
    for o in others:
        with open(os.path.join(out, o), "w") as fh:
            fh.write("keep me\n")
    before = snapshot(out)
    made = []
    for _i in range(5):
        backup(node.confdir, out, "--roll", "3", "-q",
               recipients=[recipients[0]])
        new = [f for f in backups_in(out) if f not in made and
               f.startswith("keyward-%s-2" % node.name)]
        made += new
    assert len(made) == 5, made
    mine = sorted(f for f in backups_in(out)
                  if f.startswith("keyward-%s-2" % node.name))
    assert mine == sorted(made)[-3:], (mine, made)
    after = snapshot(out)
    for o in others:
        assert after[o] == before[o], o
    assert set(os.listdir(out)) == set(mine) | set(others) | \
        {".keyward-backup.lock"}


def test_overlapping_runs_wait_or_exit_cleanly(node, recipients, tmp_root):
    rcp = recipients[0]
    out = os.path.join(tmp_root, "backups-lock")
    os.makedirs(out)
    # a run that cannot get the lock gives up cleanly and writes nothing
    lock = open(os.path.join(out, ".keyward-backup.lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        rc, so, se = backup(node.confdir, out, "--lock-wait", "1",
                            recipients=[rcp], check=False)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    assert rc == 1 and "skipped this run" in se, (rc, so, se)
    assert os.listdir(out) == [".keyward-backup.lock"]
    # two at once: the second waits; both files whole
    env = dict(os.environ, KEYWARD_ADMIN=kwtest.ADMIN_BIN)
    cmd = ["sh", backupkit.BACKUP, "--confdir", node.confdir, "--output",
           out, "--recipient", rcp.cert]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env) for _ in range(2)]
    res = [p.communicate(timeout=120) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], res
    files = backups_in(out)
    assert len(files) == 2, files
    assert not [f for f in os.listdir(out) if f.startswith(".keyward-kw")]
    for f in files:
        m = decrypt(os.path.join(out, f), rcp, out)
        assert m["MANIFEST"].startswith(b"keyward-backup-format 2\n")


def test_cron_file_is_valid_cron_d():
    lines = [ln for ln in open(CRON).read().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    jobs = []
    for ln in lines:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", ln):
            continue                        # an environment setting
        f = ln.split(None, 6)
        assert len(f) == 7, "not 5 time fields, a user, a command: %r" % ln
        bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
        for field, (lo, hi) in zip(f[:5], bounds):
            for part in field.split(","):
                rng, _, step = part.partition("/")
                assert step == "" or step.isdigit(), ln
                if rng == "*":
                    continue
                for v in rng.split("-"):
                    assert v.isdigit() and lo <= int(v) <= hi, (field, ln)
        assert re.fullmatch(r"[a-z_][a-z0-9_-]*", f[5]), f[5]
        jobs.append(f)
    assert len(jobs) == 1, jobs
    (job,) = jobs
    assert job[5] == "keyward"
    assert "keyward-backup" in job[6] and "--roll 10" in job[6] and \
        "--recipient" in job[6]
    assert not job[6].rstrip().endswith("%"), "a % in a cron command"
    assert "%" not in job[6].replace("\\%", ""), "an unescaped % ends the command"
    # cron.d files must not be executable nor have a dot in their name
    assert "." not in os.path.basename(CRON)
    assert not os.stat(CRON).st_mode & 0o111


def backup_and_target(s, rcp, tmp_root, name):
    """One backup of server s into s.dir/backups-NAME, and where to restore
    it: (backup file, config dir, data dir) under tmp_root/restored-NAME."""
    out = os.path.join(s.dir, "backups-" + name)
    os.makedirs(out)
    backup(s.confdir, out, recipients=[rcp])
    (f,) = backups_in(out)
    base = os.path.join(tmp_root, "restored-" + name)
    os.makedirs(base)
    os.chmod(base, 0o711)
    return (os.path.join(out, f), os.path.join(base, "conf"),
            os.path.join(base, "data"))


def test_restored_config_names_only_restored_files(servers, recipients,
                                                   tmp_root):
    """Paths into the old config directory (absolute ones too) and files
    outside it all point into the new config directory after a restore."""
    s = servers.make(auth="mtls")
    kwtest.conf_set(s.conf, {("keys", "master_key_file"):
                             os.path.join(s.confdir, "master.key")})
    rcp = recipients[0]
    f, confdir, datadir = backup_and_target(s, rcp, tmp_root, "paths")
    port = kwtest.free_port()
    try:
        restore("--input", f, "--key", rcp.key,
                "--signer", backupkit.signer(s.confdir),
                "--confdir", confdir, "--datadir", datadir,
                "--db-port", str(port), "--db-host", "127.0.0.1",
                "--listen", "127.0.0.1:1234")
        _rc, shown, _e = kwtest.run([kwtest.ADMIN_BIN, "config", "show", "-c",
                                     os.path.join(confdir, "keyward.conf")])
        conf = dict(ln.split(" = ", 1) for ln in shown.splitlines())
        for k in ("keys.master_key_file", "tls.cert_file", "tls.key_file",
                  "tls.client_ca_file", "db.password_file"):
            assert conf[k].startswith(confdir + "/"), (k, conf[k])
            assert os.path.isfile(conf[k]), (k, conf[k])
        assert conf["node.listen"] == "127.0.0.1:1234"
        assert "port=%d" % port in conf["db.local"]
        assert s.dir not in shown, shown
    finally:
        subprocess.run([kwtest.ADMIN_BIN, "db", "stop", "--datadir", datadir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)


def test_quoted_conninfo_survives_the_restore(servers, recipients, tmp_root):
    """db.local with quoted values (a password and a value with a space)
    is moved to the new host and port by libpq's parser, not by splitting
    at spaces; the restored node connects with it."""
    s = servers.make(auth="mtls")
    shown = kwtest.run([kwtest.ADMIN_BIN, "config", "show", "-c", s.conf])[1]
    conf = dict(ln.split(" = ", 1) for ln in shown.splitlines())
    with open(conf["db.password_file"]) as f:
        pw = f.readline().rstrip("\n")
    quoted = "%s password='%s' application_name='key ward'" % (
        conf["db.local"], pw.replace("\\", "\\\\").replace("'", "\\'"))
    kwtest.conf_set(s.conf, {("db", "local"): quoted})
    rcp = recipients[0]
    f, confdir, datadir = backup_and_target(s, rcp, tmp_root, "quoted")
    port = kwtest.free_port()
    try:
        _rc, so, se = restore("--input", f, "--key",
                              rcp.key, "--signer", backupkit.signer(s.confdir),
                              "--confdir", confdir, "--datadir", datadir,
                              "--db-port", str(port), "--db-host", "127.0.0.1")
        assert "verified: 0 keys" in so, so + se
        assert pw not in so + se
        new = os.path.join(confdir, "keyward.conf")
        shown = kwtest.run([kwtest.ADMIN_BIN, "config", "show", "-c", new])[1]
        local = dict(ln.split(" = ", 1) for ln in shown.splitlines())[
            "db.local"]
        assert "application_name='key ward'" in local, local
        assert "password=********" in local, local
        assert "host=127.0.0.1" in local and "port=%d" % port in local, local
        # the password itself, quoted as libpq wants it, and it works
        assert "password='%s'" % pw in open(new).read() or \
            "password=%s " % pw in open(new).read()
        kwtest.run([kwtest.ADMIN_BIN, "verify", "-c", new])
    finally:
        backupkit.stop_db(datadir)
