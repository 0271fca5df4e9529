"""keyward-admin init / db migrate, and keyward-server's start-up checks:
it refuses to start on a bad master key or a loose TLS key, and says why."""

import os
import signal
import subprocess
import threading
import time

import pytest

import kwclient
import kwtest
from kwclient import ok_json
from kwtest import ADMIN_BIN, SERVER_BIN

START_TIMEOUT = 10


def run_server(srv, *args):
    """Run keyward-server expecting it to exit by itself; fail if it is
    still running after START_TIMEOUT."""
    try:
        p = subprocess.run([SERVER_BIN, "-c", srv.conf, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail("keyward-server %s did not exit within %d s (it should have "
                    "refused to start); stderr:\n%s"
                    % (" ".join(args), START_TIMEOUT,
                       (e.stderr or b"").decode("utf-8", "replace")))
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


@pytest.fixture
def node(servers):
    """A configured and migrated node that has not been started."""
    return servers.make()


def test_init_makes_files(servers, tmp_root, pki):
    confdir = os.path.join(tmp_root, "init-only")
    rc, out, err = kwtest.run([ADMIN_BIN, "init", "--confdir", confdir,
                               "--node-name", "kw-init", "--auth", "pseudo",
                               "--listen", "127.0.0.1:%d" % kwtest.free_port()])
    conf = os.path.join(confdir, "keyward.conf")
    mk = os.path.join(confdir, "master.key")
    for f in (conf, mk, os.path.join(confdir, "tls", "server.pem"),
              os.path.join(confdir, "tls", "server.key")):
        assert os.path.isfile(f), "%s not made; output:\n%s%s" % (f, out, err)
    assert os.path.getsize(mk) == 32
    assert os.stat(mk).st_mode & 0o777 == 0o600
    assert os.stat(os.path.join(confdir, "tls", "server.key")).st_mode & 0o077 == 0
    assert "master.key" in out + err, "init does not say what it made"
    cfg = kwtest.conf_read(conf)
    assert cfg["node"]["name"] == "kw-init"
    assert cfg["auth"]["mode"] == "pseudo"

    # a second init must not replace the master key silently
    with open(mk, "rb") as f:
        before = f.read()
    rc, out, err = kwtest.run([ADMIN_BIN, "init", "--confdir", confdir,
                               "--node-name", "kw-init", "--auth", "pseudo"],
                              check=False)
    assert rc != 0, "init over an existing config succeeded:\n%s%s" % (out, err)
    with open(mk, "rb") as f:
        assert f.read() == before


def test_init_mtls_requires_client_ca(tmp_root):
    confdir = os.path.join(tmp_root, "init-no-ca")
    rc, out, err = kwtest.run([ADMIN_BIN, "init", "--confdir", confdir,
                               "--auth", "mtls"], check=False)
    assert rc != 0
    assert "client-ca" in (out + err), out + err
    assert not os.path.exists(os.path.join(confdir, "master.key"))


def test_check_config(node):
    rc, out = run_server(node, "-n")
    assert rc == 0, out
    kwtest.conf_set(node.conf, {("limits", "max_body_bytes"): "10"})
    rc, out = run_server(node, "-n")
    assert rc == 1, out
    assert "max_body_bytes" in out, out


def test_starts_and_stops_cleanly(node):
    """Control for the refusals below: the untouched node starts, serves,
    and exits 0 on SIGTERM."""
    node.start()
    ok_json(node.client().names())
    t0 = time.monotonic()
    rc = node.stop()
    assert rc == 0, "exit status %r after SIGTERM; log:\n%s" % (rc, node.log())
    assert time.monotonic() - t0 < kwtest.SERVER_STOP_TIMEOUT
    assert not getattr(node, "killed", False)


def test_master_key_31_bytes(node):
    with open(node.master_key_file, "rb") as f:
        mk = f.read()
    assert len(mk) == 32
    with open(node.master_key_file, "wb") as f:
        f.write(mk[:31])
    os.chmod(node.master_key_file, 0o600)
    rc, out = run_server(node)
    assert rc != 0, out
    assert "master.key" in out or os.path.basename(node.master_key_file) in out, out


def test_master_key_mode_0644(node):
    os.chmod(node.master_key_file, 0o644)
    rc, out = run_server(node)
    assert rc != 0, out
    assert os.path.basename(node.master_key_file) in out, out


def test_master_key_group_readable(node):
    os.chmod(node.master_key_file, 0o640)
    rc, out = run_server(node)
    assert rc != 0, out
    assert os.path.basename(node.master_key_file) in out, out


def test_master_key_mismatch(node):
    """A valid 32-byte key that is not the one the database was migrated
    with must be refused before any key is served."""
    with open(node.master_key_file, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(node.master_key_file, 0o600)
    rc, out = run_server(node)
    assert rc != 0, out
    assert "master key" in out.lower(), out


def test_tls_key_mode_0644(node):
    os.chmod(node.tls_key_file, 0o644)
    rc, out = run_server(node)
    assert rc != 0, out
    assert os.path.basename(node.tls_key_file) in out, out


def test_migrate_is_idempotent(node):
    kwtest.run([ADMIN_BIN, "db", "migrate", "-c", node.conf])
    node.start()
    c = node.client()
    ok_json(c.create("after-remigrate"), 201)
    node.stop()
    kwtest.run([ADMIN_BIN, "db", "migrate", "-c", node.conf])
    node.start()
    assert "after-remigrate" in ok_json(c.names())


def test_keys_survive_restart(node):
    node.start()
    c = node.client()
    m0 = kwclient.assert_keyversion(ok_json(c.create("persist"), 201), "persist", 0, 128)
    e = ok_json(c.generate("persist", 1))[0]
    dek = ok_json(c.decrypt(e))["material"]
    assert node.stop() == 0
    node.start()
    assert kwclient.assert_keyversion(ok_json(c.current("persist")), "persist", 0, 128) == m0
    assert ok_json(c.decrypt(e))["material"] == dek


def test_waits_for_a_slow_database(node, pg):
    """A database that does not answer for a few seconds at start-up (a
    loaded machine) delays the start instead of failing it: the server
    tries its first reads again, and says so."""
    kwtest.conf_set(node.conf, {("db", "connect_timeout_s"): "1"})
    with open(os.path.join(pg.datadir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    os.kill(postmaster, signal.SIGSTOP)
    resume = threading.Timer(3.0, os.kill, (postmaster, signal.SIGCONT))
    resume.start()
    try:
        node.start()
    finally:
        resume.join()
        os.kill(postmaster, signal.SIGCONT)
    assert "trying again" in node.log(), node.log()
    ok_json(node.client().names())
