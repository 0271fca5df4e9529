"""backupkit: helpers for the keyward-backup / keyward-restore tests.

Owns: a backup recipient (a self-signed certificate and its key, made with
the openssl CLI) and a wrong one, running the two scripts, opening a backup
the way keyward-restore does not (openssl and pg_restore, to look inside),
and a restored node that keyward-server can run on (with the kwtest.Server
start, stop, log and client).  The pair and the PKI come from pair.py and
kwtest.py; forged backups from test_backup_forged.py.
"""

import io
import os
import subprocess
import tarfile

import kwtest
from kwtest import REPO, run

BACKUP = os.path.join(REPO, "scripts", "keyward-backup")
RESTORE = os.path.join(REPO, "scripts", "keyward-restore")
SCRIPT_TIMEOUT = 120


class Recipient:
    """A backup recipient: cert.pem and key.pem in dir."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, "recipient-" + name)
        os.makedirs(self.dir, mode=0o700)
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self.key, "-out", self.cert, "-days", "3",
             "-subj", "/CN=keyward backup " + name])
        os.chmod(self.key, 0o600)


def script_env(stage=None):
    """The environment the scripts run in: this build's keyward-admin, and
    the staging directory (TMPDIR) when given."""
    env = dict(os.environ, KEYWARD_ADMIN=kwtest.ADMIN_BIN)
    if stage is not None:
        env["TMPDIR"] = stage
    return env


def script(path, *args, check=True, timeout=SCRIPT_TIMEOUT, stage=None):
    """Run a script with sh; (rc, stdout, stderr)."""
    return run(["sh", path, *args], timeout=timeout, check=check,
               env=script_env(stage))


def backup(confdir, output, *args, recipients=(), check=True, stage=None):
    a = ["--confdir", confdir, "--output", output]
    for r in recipients:
        a += ["--recipient", r.cert]
    return script(BACKUP, *a, *args, check=check, stage=stage)


def restore(*args, check=True):
    return script(RESTORE, *args, check=check)


def signer(confdir):
    """The backup signing certificate keyward-admin init made in confdir."""
    return os.path.join(confdir, "backup-signing.pem")


def unwrap(path, rcp, dest):
    """The signed archive inside a backup (the tar bytes), with openssl:
    decrypted with rcp's key, the signature checked against nothing but
    itself (the tests look inside; keyward-restore checks the signer)."""
    signed = os.path.join(dest, "b.signed")
    tar = os.path.join(dest, "b.tar")
    run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER",
         "-in", path, "-inkey", rcp.key, "-out", signed])
    run(["openssl", "cms", "-verify", "-noverify", "-binary", "-inform",
         "DER", "-in", signed, "-out", tar])
    with open(tar, "rb") as f:
        data = f.read()
    os.remove(signed)
    os.remove(tar)
    return data


def members(tar_bytes):
    """{name: bytes} of the regular files of an archive."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers()
                if m.isfile()}


def dump_tables(dump_bytes, dest):
    """The data of a pg_dump -Fc archive as pg_restore prints it (text)."""
    f = os.path.join(dest, "dump.tmp")
    with open(f, "wb") as fh:
        fh.write(dump_bytes)
    try:
        bindir = run(["pg_config", "--bindir"])[1].strip()
        return run([os.path.join(bindir, "pg_restore"), "--data-only",
                    "-f", "-", f])[1]
    finally:
        os.remove(f)


def backups_in(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".kwb"))


def snapshot(path):
    """{relative path: (size, mtime_ns, mode)} of every file under path
    ({} when it does not exist): to show a directory was not touched."""
    out = {}
    if not os.path.exists(path):
        return out
    for dp, _dn, fn in os.walk(path):
        for f in fn:
            p = os.path.join(dp, f)
            st = os.lstat(p)
            out[os.path.relpath(p, path)] = (st.st_size, st.st_mtime_ns,
                                             st.st_mode)
    return out


class RestoredNode(kwtest.Server):
    """A node made by keyward-restore: its config dir and database exist;
    only keyward-server is started here."""

    def __init__(self, base, name, confdir, port, pki, datadir):
        kwtest.Server._seq += 1
        self.name = name
        self.dir = base
        self.confdir = confdir
        self.conf = os.path.join(confdir, "keyward.conf")
        self.log_path = os.path.join(base, "server.log")
        self.pki = pki
        self.pg = None
        self.auth = "mtls"
        self.port = port
        self.proc = None
        self.returncode = None
        self.secrets = set()
        self.verify_ca = pki.ca_pem
        self.datadir = datadir

    def stop_db(self):
        stop_db(self.datadir)


def stop_db(datadir):
    """Stop the PostgreSQL of datadir, if any (keyward-admin db stop)."""
    if os.path.exists(os.path.join(datadir, "postmaster.pid")):
        subprocess.run([kwtest.ADMIN_BIN, "db", "stop", "--datadir",
                        datadir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


class NewPassive:
    """The passive of a new pair, made from a restored active the way the
    README says: its master key copied, keyward-admin init, db
    init-passive."""

    def __init__(self, base, active, conninfo, datadir, pki):
        self.confdir = os.path.join(base, "b-conf")
        self.conf = os.path.join(self.confdir, "keyward.conf")
        self.conninfo = conninfo
        self.datadir = datadir
        os.makedirs(self.confdir, mode=0o750)
        shown = run([kwtest.ADMIN_BIN, "config", "show", "-c",
                     active.conf])[1]
        conf = dict(ln.split(" = ", 1) for ln in shown.splitlines())
        self.password_file = conf["db.password_file"]
        mk = os.path.join(self.confdir, "master.key")
        with open(conf["keys.master_key_file"], "rb") as f:
            data = f.read()
        with open(os.open(mk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                  "wb") as f:
            f.write(data)
        run([kwtest.ADMIN_BIN, "init", "--confdir", self.confdir,
             "--node-name", "kw-new-b",
             "--listen", "127.0.0.1:%d" % kwtest.free_port(),
             "--db-local", conninfo, "--db-peer", conf["db.local"],
             "--db-admin", "host=%s.sock port=%s dbname=keyward user=%s" % (
                 datadir, conninfo.split("port=")[1].split()[0],
                 kwtest.SUPERUSER),
             "--db-password-file", self.password_file, "--auth", "mtls",
             "--tls-cert", pki.server_pem, "--tls-key", pki.server_key,
             "--client-ca", pki.ca_pem])
        run([kwtest.ADMIN_BIN, "db", "init-passive", "-c", self.conf,
             "--datadir", datadir], timeout=SCRIPT_TIMEOUT)


def new_passive(base, active, conninfo, datadir, pki):
    return NewPassive(base, active, conninfo, datadir, pki)


def psql(db, sql):
    """One value from sql run on db (a NewPassive: its conninfo)."""
    with open(db.password_file) as f:
        passfile = kwtest.PassFile(f.readline().strip())
    env = passfile.env()
    env["PGCONNECT_TIMEOUT"] = "5"
    bindir = run(["pg_config", "--bindir"])[1].strip()
    try:
        return run([os.path.join(bindir, "psql"), "-X", "-At", "-d",
                    db.conninfo, "-c", sql], env=env, timeout=30)[1].strip()
    finally:
        passfile.remove()
