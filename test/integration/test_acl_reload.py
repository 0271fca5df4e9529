"""acls.conf is re-read while the server runs: when its modification time
changes (every acl.check_interval_ms) and on SIGHUP.  A file that does not
parse keeps the rules in force and is reported in the log naming the
file.  At start a missing or group/world-writable acls.conf stops the
server."""

import os
import signal
import subprocess
import threading
import time

import pytest

import kwclient
from kwclient import assert_denied, ok_json
from kwtest import SERVER_BIN

RELOAD_TIMEOUT = 10.0
START_TIMEOUT = 10.0


def rules(*names_users):
    """acls.conf text: admin may do everything; GET_KEYS for the users
    given."""
    users = ",".join(("admin",) + names_users)
    return ("# test_acl_reload.py\n"
            "hadoop.kms.acl.GET_KEYS = %s\n"
            "hadoop.kms.acl.CREATE = admin\n"
            "default.key.acl.ALL = admin\n" % users)


BROKEN_SUFFIX = "hadoop.kms.acl.BOGUS = x\n"


def names_status(srv, user):
    return kwclient.Client(srv, cert=None, user=user).names().status


def wait_status(srv, user, want, timeout=RELOAD_TIMEOUT):
    """Poll GET keys/names as user until it answers want."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = kwclient.Client(srv, cert=None, user=user).names()
        if last.status == want:
            return last
        time.sleep(0.1)
    raise AssertionError("%s still gets %r after %.0f s, expected %d"
                         % (user, last, timeout, want))


def wait_log(srv, offset, pred, timeout=RELOAD_TIMEOUT):
    """Poll the server log (from byte offset) for a line pred accepts."""
    deadline = time.monotonic() + timeout
    while True:
        with open(srv.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        for line in text.splitlines():
            if pred(line):
                return line
        if time.monotonic() >= deadline:
            raise AssertionError("no such log line after %.0f s; new log:\n%s"
                                 % (timeout, text[-3000:]))
        time.sleep(0.1)


def log_size(srv):
    return os.path.getsize(srv.log_path)


def names_acl_file(srv):
    path = srv.acl_file

    def pred(line):
        low = line.lower()
        return ("error" in low or "warn" in low) and \
            (path in line or os.path.basename(path) in line)
    return pred


@pytest.fixture(scope="module")
def mtime_srv(servers):
    """Checks acls.conf's mtime every 200 ms."""
    s = servers.make(auth="pseudo", acls=rules("alice"),
                     settings={("acl", "check_interval_ms"): "200"})
    return s.start()


@pytest.fixture(scope="module")
def hup_srv(servers):
    """Checks the mtime only every 10 min: SIGHUP is the only way."""
    s = servers.make(auth="pseudo", acls=rules("alice"),
                     settings={("acl", "check_interval_ms"): "600000"})
    return s.start()


def test_reload_on_mtime_change(mtime_srv):
    srv = mtime_srv
    assert names_status(srv, "alice") == 200
    assert_denied(kwclient.Client(srv, cert=None, user="bob").names(), "bob")
    srv.write_acls(rules("bob"))
    wait_status(srv, "bob", 200)
    assert_denied(kwclient.Client(srv, cert=None, user="alice").names(), "alice")
    # and back
    srv.write_acls(rules("alice"))
    wait_status(srv, "alice", 200)
    wait_status(srv, "bob", 403)


def test_reload_on_sighup(hup_srv):
    srv = hup_srv
    assert names_status(srv, "alice") == 200
    assert names_status(srv, "carol") == 403
    srv.write_acls(rules("carol"))
    srv.signal(signal.SIGHUP)
    wait_status(srv, "carol", 200)
    assert_denied(kwclient.Client(srv, cert=None, user="alice").names(), "alice")
    srv.write_acls(rules("alice"))
    srv.signal(signal.SIGHUP)
    wait_status(srv, "alice", 200)


def check_broken_kept(srv, trigger):
    """A file that does not parse (it would allow carol and deny alice)
    changes nothing; the log names the file; a good file then works."""
    assert names_status(srv, "alice") == 200
    assert names_status(srv, "carol") == 403
    off = log_size(srv)
    srv.write_acls(rules("carol") + BROKEN_SUFFIX)
    trigger()
    wait_log(srv, off, names_acl_file(srv))
    assert names_status(srv, "alice") == 200, "old rules dropped"
    assert_denied(kwclient.Client(srv, cert=None, user="carol").names(),
                  "carol")
    # still alive and a good file is taken again
    srv.write_acls(rules("carol"))
    trigger()
    wait_status(srv, "carol", 200)
    srv.write_acls(rules("alice"))
    trigger()
    wait_status(srv, "alice", 200)
    assert srv.proc.poll() is None


def test_broken_file_keeps_rules_mtime(mtime_srv):
    check_broken_kept(mtime_srv, lambda: None)


def test_broken_file_keeps_rules_sighup(hup_srv):
    check_broken_kept(hup_srv, lambda: hup_srv.signal(signal.SIGHUP))


def test_loose_mode_on_reload_is_refused(mtime_srv):
    """A reload finding the file world-writable keeps the old rules."""
    srv = mtime_srv
    assert names_status(srv, "alice") == 200
    off = log_size(srv)
    srv.write_acls(rules("carol"), mode=0o666)
    try:
        wait_log(srv, off, names_acl_file(srv))
        assert names_status(srv, "carol") == 403
        assert names_status(srv, "alice") == 200
    finally:
        os.chmod(srv.acl_file, 0o600)
    # same content, now 0600, newer mtime: taken
    srv.write_acls(rules("carol"))
    wait_status(srv, "carol", 200)
    srv.write_acls(rules("alice"))
    wait_status(srv, "alice", 200)


def test_reloads_under_load(mtime_srv):
    """Requests racing ~30 reloads (mtime and SIGHUP): alice, allowed by
    every version of the file, is always served; bob gets 200 or 403,
    nothing else; the server survives."""
    srv = mtime_srv
    stop = threading.Event()
    results = {"alice": [], "bob": []}
    errors = []

    def hammer(name):
        c = kwclient.Client(srv, cert=None, user=name)
        for _ in range(400):
            if stop.is_set():
                return
            try:
                results[name].append(c.names().status)
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append("%s: %r" % (name, e))
                return

    threads = [threading.Thread(target=hammer, args=(n,))
               for n in ("alice", "alice", "alice", "bob")]
    for t in threads:
        t.start()
    try:
        for i in range(30):
            srv.write_acls(rules("alice", "bob") if i % 2 == 0 else rules("alice"))
            if i % 3 == 0:
                srv.signal(signal.SIGHUP)
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert srv.proc.poll() is None, "server died:\n" + srv.log(40)
    bad = [s for s in results["alice"] if s != 200]
    assert results["alice"] and not bad, "alice got %r" % sorted(set(bad))
    # both rule sets were in force while the requests ran
    assert set(results["bob"]) == {200, 403}, set(results["bob"])
    srv.write_acls(rules("alice"))
    wait_status(srv, "bob", 403)


# ---------------------------------------------------------------- start

def run_server(srv):
    try:
        p = subprocess.run([SERVER_BIN, "-c", srv.conf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("keyward-server started (ran %d s) though it should "
                    "have refused" % START_TIMEOUT)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def test_start_refused_without_acls(servers):
    srv = servers.make()
    os.unlink(srv.acl_file)
    rc, out = run_server(srv)
    assert rc != 0, out
    assert srv.acl_file in out or "acls.conf" in out, out


def test_start_refused_with_loose_acls(servers):
    srv = servers.make()
    os.chmod(srv.acl_file, 0o666)
    rc, out = run_server(srv)
    assert rc != 0, out
    assert srv.acl_file in out or "acls.conf" in out, out

