"""The Debian package (make deb): lintian finds no error or warning; in a
throwaway root (troot.py: this machine's root under an overlay, so the host
is untouched) it installs, makes the keyward user and directories, its
systemd units verify clean and the server's sandbox scores 2.0 or better,
the packaged keyward-init sets up a node whose PostgreSQL and server run
from the units' own command lines (Type=notify: both say READY=1) and
answer, and so does the backup unit's command; remove keeps the key
material, purge leaves nothing behind but the (encrypted) backups.

KEYWARD_DEB_DIR names the directory make deb filled (default build/deb).
Skipped, saying why, when not root or a tool is missing."""

import glob
import os
import re
import shlex
import shutil
import socket
import subprocess

import pytest

import troot

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEB_DIR = os.environ.get("KEYWARD_DEB_DIR", os.path.join(REPO, "build", "deb"))
UNITS = ["keyward-server.service", "keyward-postgresql.service",
         "keyward-backup.service", "keyward-backup.timer"]
UNIT_DIR = "/lib/systemd/system"
PROGRAMS = ["keyward-server", "keyward-admin", "keyward-init",
            "keyward-backup", "keyward-restore"]
WAIT = 60.0           # seconds for one sd_notify message (loaded box)

if os.geteuid() != 0:
    pytest.skip("the package tests install into a throwaway root: run as "
                "root", allow_module_level=True)
for tool in ("lintian", "systemd-analyze", "unshare", "nsenter", "dpkg"):
    if shutil.which(tool) is None:
        pytest.skip("%s is not installed (make deps)" % tool,
                    allow_module_level=True)


def one(pattern):
    found = glob.glob(os.path.join(DEB_DIR, pattern))
    assert len(found) == 1, "want one %s in %s (run make deb), found %r" % (
        pattern, DEB_DIR, found)
    return found[0]


@pytest.fixture(scope="module")
def deb():
    return one("keyward_*.deb")


@pytest.fixture
def root(deb):
    r = troot.Root()
    try:
        shutil.copy(deb, r.share)
        # the host may have a keyward user (the integration tests make
        # one); the package must make its own
        r.run(["sh", "-c", "if getent passwd keyward >/dev/null; then "
               "userdel keyward; fi; if getent group keyward >/dev/null; "
               "then groupdel keyward; fi; rm -rf /etc/keyward "
               "/var/lib/keyward /var/backups/keyward /var/log/keyward"])
        yield r
    finally:
        r.close()


def install(r, deb):
    return r.run(["dpkg", "-i", troot.SHARE + "/" + os.path.basename(deb)])


def stat(r, path):
    """(mode, owner, group) of path inside the root, or None."""
    rc, out, _ = r.run(["stat", "-c", "%a %U %G", path], check=False)
    return tuple(out.split()) if rc == 0 else None


def test_lintian_clean():
    changes = one("keyward_*.changes")
    p = subprocess.run(["lintian", "--fail-on", "error,warning", changes],
                       capture_output=True, timeout=600)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    tags = [ln for ln in out.splitlines() if re.match(r"^[EW]: ", ln)]
    assert not tags and p.returncode == 0, out


def test_units_verify_and_sandbox(root, deb):
    install(root, deb)
    with_man = root.run(["sh", "-c", "command -v man"], check=False)[0] == 0
    rc, out, err = root.run(
        ["systemd-analyze", "verify", "--man=%s" % ("yes" if with_man else "no")]
        + ["%s/%s" % (UNIT_DIR, u) for u in UNITS], check=False)
    # an unknown or misspelt directive is only a message: clean means silent
    assert rc == 0 and not (out + err).strip(), (rc, out + err)

    rc, out, err = root.run(
        ["systemd-analyze", "security", "--offline=true", "--man=no",
         "%s/keyward-server.service" % UNIT_DIR], check=False)
    m = re.search(r"Overall exposure level for keyward-server\.service: "
                  r"([0-9.]+)", out + err)
    assert m, out + err
    print("systemd-analyze security keyward-server.service: %s" % m.group(1))
    assert float(m.group(1)) <= 2.0, out


def exec_lines(r, unit, key):
    """The command lines of key= in an installed unit, as argv lists."""
    rc, text, _ = r.run(["cat", "%s/%s" % (UNIT_DIR, unit)])
    return [shlex.split(ln.split("=", 1)[1]) for ln in text.splitlines()
            if ln.startswith(key + "=")]


def notify_socket(r, name):
    path = os.path.join(r.share, name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)   # the service user sends to it
    s.settimeout(WAIT)
    return s, troot.SHARE + "/" + name


def wait_ready(sock, what, log):
    while True:
        try:
            data = sock.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            with open(log, errors="replace") as f:
                pytest.fail("%s sent no READY=1 within %.0f s; output:\n%s"
                            % (what, WAIT, f.read()[-4000:]))
        if "READY=1" in data.split("\n"):
            return


def as_keyward(argv):
    return ["setpriv", "--reuid=keyward", "--regid=keyward",
            "--init-groups", "--"] + argv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_install_init_run_remove_purge(root, deb, tmp_path):
    r = root
    install(r, deb)

    # the user, the directories, their owners and modes
    rc, out, _ = r.run(["getent", "passwd", "keyward"])
    f = out.strip().split(":")
    assert int(f[2]) < 1000 and f[5] == "/var/lib/keyward", out
    assert stat(r, "/etc/keyward") == ("750", "root", "keyward")
    assert stat(r, "/var/lib/keyward") == ("750", "keyward", "keyward")
    assert stat(r, "/var/backups/keyward") == ("700", "keyward", "keyward")
    for p in PROGRAMS:
        assert r.run(["man", "-w", p], check=False)[0] == 0 or \
            r.run(["test", "-f", "/usr/share/man/man8/%s.8.gz" % p],
                  check=False)[0] == 0, "no manual page for %s" % p
        assert r.run(["test", "-x", "/usr/sbin/" + p], check=False)[0] == 0
    rc, out, _ = r.run(["dpkg-query", "-W", "-f=${Conffiles}", "keyward"])
    assert "/etc/cron.d/keyward-backup" in out
    # the server and its database are enabled, the backup timer is not
    assert r.run(["test", "-L", "/etc/systemd/system/multi-user.target.wants/"
                  "keyward-server.service"], check=False)[0] == 0
    assert r.run(["test", "-e", "/etc/systemd/system/timers.target.wants/"
                  "keyward-backup.timer"], check=False)[0] != 0

    # README "Install from the package": keyward-init, then the owners
    dbport, peerport, port = free_port(), free_port(), free_port()
    r.run(["sh", "-c", "umask 077; openssl rand -hex 24 > /etc/keyward/db.pass"])
    rc, out, err = r.run(
        ["keyward-init", "active", "--confdir", "/etc/keyward",
         "--datadir", "/var/lib/keyward/pgdata", "--node-name", "kw-pkg",
         "--listen", "127.0.0.1:%d" % port, "--auth", "pseudo",
         "--db", "127.0.0.1:%d" % dbport, "--peer-db", "127.0.0.1:%d" % peerport,
         "--db-password-file", "/etc/keyward/db.pass"], timeout=600)
    assert "the active (kw-pkg) is set up" in out, out + err
    r.run(["sh", "-c", """set -e
        cd /etc/keyward
        chown keyward: master.key auth-cookie.secret backup-signing.key \\
            db.pass tls/server.key
        chgrp -R keyward /etc/keyward
        chmod 0640 acls.conf
        keyward-admin config set -c keyward.conf audit.file=/var/log/keyward/audit.log
        install -d -o keyward -g keyward -m 0750 /var/log/keyward
        keyward-admin db stop --datadir /var/lib/keyward/pgdata"""])

    # the units' own command lines, as the unit's user, Type=notify
    logs = {}
    pg_sock, pg_path = notify_socket(r, "pg.sock")
    for argv in exec_lines(r, "keyward-postgresql.service", "ExecStartPre"):
        r.run(as_keyward(argv))
    (pg_argv,) = exec_lines(r, "keyward-postgresql.service", "ExecStart")
    logs["pg"] = str(tmp_path / "postgres.log")
    r.popen(as_keyward(pg_argv), logs["pg"], env={"NOTIFY_SOCKET": pg_path})
    wait_ready(pg_sock, "keyward-postgresql's postgres", logs["pg"])

    srv_sock, srv_path = notify_socket(r, "srv.sock")
    for argv in exec_lines(r, "keyward-server.service", "ExecStartPre"):
        rc, out, err = r.run(as_keyward(argv))      # keyward-server -n
        assert "configuration OK" in out, out + err
    (srv_argv,) = exec_lines(r, "keyward-server.service", "ExecStart")
    logs["srv"] = str(tmp_path / "server.log")
    r.popen(["sh", "-c", 'echo $$ > /kwshare/server.pid; exec "$@"', "sh"] +
            as_keyward(srv_argv), logs["srv"], env={"NOTIFY_SOCKET": srv_path})
    wait_ready(srv_sock, "keyward-server", logs["srv"])
    rc, out, err = r.run(["curl", "-sS", "--max-time", "20", "--cacert",
                          "/etc/keyward/tls/server.pem",
                          "https://127.0.0.1:%d/v1/health" % port], check=False)
    assert '"node"' in out and "kw-pkg" in out, (rc, out, err)
    # the audit log where the unit lets the server write
    assert stat(r, "/var/log/keyward/audit.log") == ("600", "keyward", "keyward")
    with open(os.path.join(r.share, "server.pid")) as fp:
        spid = fp.read().strip()
    r.run(["kill", "-TERM", spid])
    srv_sock.settimeout(WAIT)
    assert srv_sock.recv(4096) == b"STOPPING=1"

    # the backup unit's command as keyward: it reads the config directory
    # and the database, and writes only /var/backups/keyward
    r.run(["sh", "-c", """set -e
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ops \
            -keyout /root/ops.key -out /root/ops.pem 2>/dev/null
        install -d -m 755 /etc/keyward/backup-recipients
        install -m 644 /root/ops.pem /etc/keyward/backup-recipients/ops.pem"""])
    (bk_argv,) = exec_lines(r, "keyward-backup.service", "ExecStart")
    r.run(as_keyward(bk_argv), timeout=600)
    rc, out, _ = r.run(["sh", "-c", "ls /var/backups/keyward/*.kwb"])
    assert re.search(r"/keyward-kw-pkg-[0-9T]+Z\.kwb$", out.strip()), out

    # remove keeps the node: master key, database, user
    r.run(["dpkg", "-r", "keyward"])
    assert r.run(["test", "-s", "/etc/keyward/master.key"], check=False)[0] == 0
    assert r.run(["test", "-f", "/var/lib/keyward/pgdata/PG_VERSION"],
                 check=False)[0] == 0
    assert r.run(["getent", "passwd", "keyward"], check=False)[0] == 0

    # purge (PostgreSQL still running, as after keyward-admin db start)
    rc, out, err = r.run(["dpkg", "-P", "keyward"])
    assert "deletes /etc/keyward" in out + err, "purge does not say it " \
        "deletes the master key:\n" + out + err
    # the backups stay (encrypted; a recipient's key opens them), and it says so
    assert "kept the backups in /var/backups/keyward" in out + err, out + err
    assert r.run(["sh", "-c", "ls /var/backups/keyward/*.kwb"],
                 check=False)[0] == 0
    left = [p for p in ("/etc/keyward", "/var/lib/keyward", "/var/log/keyward",
                        "/etc/cron.d/keyward-backup",
                        "/usr/sbin/keyward-server", UNIT_DIR + "/keyward-server.service",
                        "/etc/systemd/system/multi-user.target.wants/"
                        "keyward-server.service")
            if r.run(["test", "-e", p], check=False)[0] == 0 or
            r.run(["test", "-L", p], check=False)[0] == 0]
    assert not left, "left after purge: %r" % left
    assert r.run(["getent", "passwd", "keyward"], check=False)[0] == 2, \
        "the keyward user survived the purge"
    assert r.run(["getent", "group", "keyward"], check=False)[0] == 2, \
        "the keyward group survived the purge"
    rc, out, _ = r.run(["dpkg-query", "-W", "-f=${Status}", "keyward"],
                       check=False)
    assert "installed" not in out.replace("not-installed", ""), out
    # (a zombie is dead: the root's init, sleep, reaps nothing)
    rc, out, _ = r.run(["ps", "-eo", "stat=,user=,args="])
    alive = [ln for ln in out.splitlines() if not ln.lstrip().startswith("Z")
             and "postgres" in ln]
    assert not alive, "PostgreSQL survived the purge:\n" + out
