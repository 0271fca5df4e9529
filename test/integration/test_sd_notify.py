"""keyward-server and systemd's Type=notify: with NOTIFY_SOCKET set it says
READY=1 only once it answers HTTPS (TLS loaded, pools warm), RELOADING=1
then READY=1 around a SIGHUP reload, and STOPPING=1 on SIGTERM.  The test
plays the service manager: a Unix datagram socket of its own."""

import os
import signal
import socket
import subprocess

import pytest

import kwtest
from kwtest import SERVER_BIN

WAIT = 15.0          # seconds to wait for one message (a loaded box is slow)


@pytest.fixture
def notify_socket(tmp_root):
    path = os.path.join(tmp_root, "notify-%d.sock" % os.getpid())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(WAIT)
    yield s, path
    s.close()
    os.unlink(path)


def next_message(sock):
    """The next datagram as a dict of NAME=VALUE lines."""
    try:
        data = sock.recv(4096)
    except socket.timeout:
        pytest.fail("no sd_notify message within %.0f s" % WAIT)
    return dict(line.split("=", 1)
                for line in data.decode("utf-8").split("\n") if line)


def test_ready_reload_stopping(servers, notify_socket):
    sock, path = notify_socket
    srv = servers.make(auth="mtls")
    env = dict(os.environ, NOTIFY_SOCKET=path)
    logf = open(srv.log_path, "ab")
    try:
        srv.proc = subprocess.Popen(
            [SERVER_BIN, "-c", srv.conf], stdin=subprocess.DEVNULL,
            stdout=logf, stderr=logf, start_new_session=True, env=env)
    finally:
        logf.close()
    kwtest._LIVE_SERVERS.append(srv)

    msg = next_message(sock)
    assert msg.get("READY") == "1", msg
    assert msg.get("STATUS"), "READY without a STATUS line: %r" % msg
    # READY means serving: the very first request is answered, no retry
    r = srv.client(cert="admin").get("/v1/health")
    assert r.status == 200, (r.status, r.body[:300])

    srv.signal(signal.SIGHUP)
    msg = next_message(sock)
    assert msg.get("RELOADING") == "1", msg
    assert int(msg["MONOTONIC_USEC"]) > 0
    msg = next_message(sock)
    assert msg.get("READY") == "1", msg
    assert srv.client(cert="admin").get("/v1/health").status == 200

    srv.proc.send_signal(signal.SIGTERM)
    msg = next_message(sock)
    assert msg == {"STOPPING": "1"}, msg
    assert srv.stop() == 0, srv.log()


def test_check_mode_sends_nothing(servers, notify_socket):
    """keyward-server -n checks and exits: it never claims to be ready."""
    sock, path = notify_socket
    srv = servers.make(auth="mtls")
    p = subprocess.run([SERVER_BIN, "-n", "-c", srv.conf],
                       env=dict(os.environ, NOTIFY_SOCKET=path),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=kwtest.CMD_TIMEOUT)
    assert p.returncode == 0, p.stderr
    sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        sock.recv(4096)
