"""Client certificates: revocation ([tls] crl_file) and key usage.

A certificate the CRL lists is refused, and so is one whose extended key
usage lacks clientAuth; the CRL is reloaded when the file changes and on
SIGHUP, a broken one keeps the list in force, and a server does not start
with a CRL it cannot use.
"""

import itertools
import os
import signal
import threading
import time

import pytest

import kwclient
import kwtest
from kwclient import ok_json

_seq = itertools.count(1)
WAIT = 30.0          # bound on every wait for a reload


def crl_path(tmp_root):
    d = os.path.join(tmp_root, "crls")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, "clients-%d.crl" % next(_seq))


def crl_server(servers, pki, tmp_root, revoked=(), check_ms=None):
    """A started mTLS server whose tls.crl_file lists revoked (files
    checked every check_ms when given)."""
    path = pki.crl(crl_path(tmp_root), revoked)
    s = {("tls", "crl_file"): path}
    if check_ms is not None:
        s[("acl", "check_interval_ms")] = str(check_ms)
    return servers.make(auth="mtls", settings=s).start(), path


def status_of(srv, cert):
    """HTTP status of a names listing with cert, 0 when the connection
    itself failed; and the response (or exception)."""
    try:
        r = kwclient.Client(srv, cert=cert).names()
        return r.status, r
    except kwclient_transport_errors() as e:
        return 0, e


def kwclient_transport_errors():
    import http.client
    import ssl
    return (ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)


def assert_refused(srv, cert, contains):
    st, r = status_of(srv, cert)
    assert st == 401, (cert, r)
    rex = kwclient.assert_error(r, 401)
    assert contains in rex["message"], rex
    assert b"material" not in r.body


def wait_status(srv, cert, want, timeout=WAIT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        st, last = status_of(srv, cert)
        if st == want:
            return
        time.sleep(0.2)
    raise AssertionError("%s did not get %d within %.0f s: %r\n%s"
                         % (cert, want, timeout, last, srv.log(40)))


def test_revoked_cert_refused(servers, pki, tmp_root):
    srv, _ = crl_server(servers, pki, tmp_root, revoked=["revoked"])
    assert isinstance(ok_json(kwclient.Client(srv, cert="admin2").names()), list)
    assert_refused(srv, "revoked", "revoked")
    # health needs no identity, even from a revoked certificate
    assert kwclient.Client(srv, cert="revoked").get("/v1/health").status == 200
    assert "revoked certificates" in srv.log_text()
    srv.stop()


def test_server_only_cert_refused(api_server):
    """An extended key usage without clientAuth is refused; with it, or
    with no such extension at all, the certificate is accepted."""
    assert_refused(api_server, "server-only", "clientAuth")
    for cert in ("both-eku", "no-eku", "admin"):
        st, r = status_of(api_server, cert)
        assert st == 200, (cert, r)


def run_load(srv, cert, stop, out, max_requests=2000):
    """Requests with cert until stop is set or max_requests were made;
    each status (0: the connection failed) appended to out."""
    for _ in range(max_requests):
        if stop.is_set():
            return
        out.append(status_of(srv, cert)[0])


def test_crl_swapped_under_load(servers, pki, tmp_root):
    """Two certificates make requests while the CRL is replaced by one
    that revokes the second: it starts failing (and keeps failing), the
    first never fails."""
    srv, path = crl_server(servers, pki, tmp_root, revoked=[],
                           check_ms=200)
    good, victim = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=run_load, args=(srv, c, stop, o), daemon=True)
               for c, o in (("admin2", good), ("revoked", victim))]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + WAIT
        while (len(good) < 5 or len(victim) < 5) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(good) >= 5 and len(victim) >= 5, (good, victim)
        swapped_at = len(victim)
        pki.crl(path, ["revoked"])
        deadline = time.monotonic() + WAIT
        while victim[swapped_at:].count(401) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(WAIT)
    assert good and all(s == 200 for s in good), good
    assert victim[:5] == [200] * 5, victim
    first = victim.index(401)
    assert first >= swapped_at, victim
    assert all(s == 200 for s in victim[:first]), victim
    assert all(s == 401 for s in victim[first:]), victim
    assert victim[first:].count(401) >= 5, victim
    srv.stop()


def test_broken_crl_keeps_old(servers, pki, tmp_root):
    srv, path = crl_server(servers, pki, tmp_root, revoked=["revoked"],
                           check_ms=200)
    assert_refused(srv, "revoked", "revoked")
    for n, (bad, says) in enumerate(((b"not a CRL\n", "holds no CRL"),
                                     (None, "not signed by a CA"))):
        if bad is None:
            pki.crl(path, [], ca="rogue")       # revokes nothing
        else:
            with open(path + ".tmp", "wb") as f:
                f.write(bad)
            t = os.stat(path).st_mtime + 2
            os.utime(path + ".tmp", (t, t))
            os.replace(path + ".tmp", path)
        deadline = time.monotonic() + WAIT
        while srv.log_text().count("not reloaded") < n + 1:
            assert time.monotonic() < deadline, srv.log(40)
            time.sleep(0.1)
        assert says in srv.log_text(), srv.log(40)
        # the list in force stays
        assert_refused(srv, "revoked", "revoked")
        assert status_of(srv, "admin2")[0] == 200
    # a good one is taken again
    pki.crl(path, [])
    wait_status(srv, "revoked", 200)
    srv.stop()


def test_sighup_reloads_crl(servers, pki, tmp_root):
    """With the file watcher slowed to its longest interval, SIGHUP is
    what makes the new CRL apply."""
    srv, path = crl_server(servers, pki, tmp_root, revoked=[],
                           check_ms=600000)
    assert status_of(srv, "revoked")[0] == 200
    pki.crl(path, ["revoked"])
    assert status_of(srv, "revoked")[0] == 200     # not yet seen
    srv.signal(signal.SIGHUP)
    wait_status(srv, "revoked", 401)
    assert status_of(srv, "admin2")[0] == 200
    srv.stop()


@pytest.mark.parametrize("kind", ["rogue-signed", "garbage", "missing"])
def test_unusable_crl_refuses_start(servers, pki, tmp_root, kind):
    path = crl_path(tmp_root)
    if kind == "rogue-signed":
        pki.crl(path, [], ca="rogue")
        says = "not signed by a CA of tls.client_ca_file"
    elif kind == "garbage":
        with open(path, "w") as f:
            f.write("-----BEGIN X509 CRL-----\nbm9wZQ==\n-----END X509 CRL-----\n")
        says = "holds no CRL"
    else:
        says = path
    srv = servers.make(auth="mtls", settings={("tls", "crl_file"): path})
    with pytest.raises(kwtest.ServerStartError) as ei:
        srv.start()
    assert says in str(ei.value), str(ei.value)
    # keyward-server -n says the same
    rc, _out, err = kwtest.run([kwtest.SERVER_BIN, "-n", "-c", srv.conf],
                               check=False)
    assert rc != 0 and says in err, (rc, err)
