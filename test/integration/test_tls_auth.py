"""TLS versions and client identity: mutual TLS and pseudo auth."""

import http.client
import socket
import ssl
import threading
import warnings

import pytest

import kwclient
import kwtest
from kwclient import assert_denied, assert_keyversion, ok_json

WEAK = "DEFAULT:@SECLEVEL=0"
TRANSPORT_ERRORS = (ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)


def handshake(port, version, ca_file=None, cert=None, timeout=10):
    """TLS handshake pinned to one version; returns the negotiated version
    or raises."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(WEAK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = version
        ctx.maximum_version = version
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.version()


def client_can_speak(version, pki):
    """Can this Python/OpenSSL negotiate `version` at all?  Checked against
    a local Python TLS server so a refusal below is the server's doing."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(10)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(pki.server_pem, pki.server_key)
    sctx.set_ciphers(WEAK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx.minimum_version = version
        sctx.maximum_version = version

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(10)
            with sctx.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        return handshake(lsock.getsockname()[1], version) is not None
    except TRANSPORT_ERRORS:
        return False
    finally:
        th.join(10)
        lsock.close()


@pytest.mark.parametrize("old", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1],
                         ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_refused(api_server, pki, old):
    cert = (pki.client_pem, pki.client_key)
    # the same client settings do work with TLS 1.2 ...
    assert handshake(api_server.port, ssl.TLSVersion.TLSv1_2, pki.ca_pem, cert) == "TLSv1.2"
    r = kwclient.Client(api_server, tls_version=ssl.TLSVersion.TLSv1_2,
                      ciphers=WEAK).get("/v1/health")
    assert r.status == 200, r
    if not client_can_speak(old, pki):
        pytest.skip("this OpenSSL cannot negotiate %s at all" % old.name)
    # ... and the old version is refused
    with pytest.raises(TRANSPORT_ERRORS):
        v = handshake(api_server.port, old, pki.ca_pem, cert)
        # some stacks finish the handshake lazily: force a request through
        raise AssertionError("server accepted %s (negotiated %s)" % (old.name, v))


def test_tls13_works(api_server):
    r = kwclient.Client(api_server, tls_version=ssl.TLSVersion.TLSv1_3).get("/v1/health")
    assert r.status == 200, r


def secret_key(client):
    name = "auth-secret-key"
    if ok_json(client.metadata(name)) == {}:
        ok_json(client.create(name), 201)
    return name


def assert_refused_without_data(make_request, forbidden):
    """Either the handshake/connection fails, or the answer is 401/403
    and carries none of the forbidden strings."""
    try:
        r = make_request()
    except TRANSPORT_ERRORS:
        return None
    assert r.status in (401, 403), "expected 401/403 or a refused handshake, got %r" % r
    for f in forbidden:
        assert f.encode() not in r.body, "key data in a refused answer: %r" % r
    return r


def test_mtls_valid_cert(api_server, client):
    name = secret_key(client)
    assert name in ok_json(client.names())
    kv = ok_json(client.current(name))
    assert_keyversion(kv, name, 0, 128)


def test_mtls_no_cert(api_server, client):
    name = secret_key(client)
    mat = ok_json(client.current(name))["material"]
    anon = kwclient.Client(api_server, cert=None)
    for req in (lambda: anon.names(), lambda: anon.current(name),
                lambda: anon.generate(name, 1)):
        r = assert_refused_without_data(req, [name, mat])
        if r is not None:
            assert r.status == 401, r
    # creating is refused too, and nothing is created
    assert_refused_without_data(lambda: anon.create("auth-anon-made"), [])
    assert ok_json(client.metadata("auth-anon-made")) == {}


def test_mtls_unknown_ca(api_server, client):
    name = secret_key(client)
    mat = ok_json(client.current(name))["material"]
    rogue = kwclient.Client(api_server, cert="rogue")
    for req in (lambda: rogue.names(), lambda: rogue.current(name)):
        assert_refused_without_data(req, [name, mat])
    assert_refused_without_data(lambda: rogue.create("auth-rogue-made"), [])
    assert ok_json(client.metadata("auth-rogue-made")) == {}


def test_mtls_user_name_is_not_identity(api_server, client):
    """Under mtls a ?user.name= without a certificate grants nothing."""
    name = secret_key(client)
    anon = kwclient.Client(api_server, cert=None, user="admin")
    r = assert_refused_without_data(lambda: anon.names(), [name])
    if r is not None:
        assert r.status == 401, r


@pytest.fixture(scope="module")
def pseudo_server(servers):
    # alice may do everything (init's acls.conf grants only admin)
    return servers.make(auth="pseudo",
                        acls=kwtest.acls_all("admin", "alice")).start()


def test_pseudo_auth(pseudo_server):
    good = kwclient.Client(pseudo_server, cert=None, user="alice")
    ok_json(good.create("pseudo-key"), 201)
    names = ok_json(good.names())
    assert "pseudo-key" in names
    anon = kwclient.Client(pseudo_server, cert=None, user=None)
    for r in (anon.names(), anon.current("pseudo-key"), anon.create("pseudo-anon")):
        assert r.status == 401, r
        assert b"pseudo-key" not in r.body and b"material" not in r.body, r
        if r.body.strip():
            kwclient.assert_error(r, 401)
    assert ok_json(good.metadata("pseudo-anon")) == {}
    # an empty user name is no identity either
    empty = kwclient.Client(pseudo_server, cert=None, user="")
    r = empty.names()
    assert r.status == 401, r


def test_health_needs_no_auth(api_server, pseudo_server):
    for srv in (api_server, pseudo_server):
        c = kwclient.Client(srv, cert=None, user=None)
        try:
            r = c.get("/v1/health")
        except TRANSPORT_ERRORS as e:
            pytest.fail("health without credentials failed on %s: %r" % (srv.auth, e))
        assert r.status == 200, r
        assert r.json()["node"] == srv.name


def test_tls_priorities_setting(servers, pki):
    """[tls] priorities is honoured: a TLS 1.3-only server refuses 1.2."""
    srv = servers.start(settings={
        ("tls", "priorities"): "NORMAL:-VERS-ALL:+VERS-TLS1.3"})
    cert = (pki.client_pem, pki.client_key)
    assert handshake(srv.port, ssl.TLSVersion.TLSv1_3, pki.ca_pem, cert) == "TLSv1.3"
    with pytest.raises(TRANSPORT_ERRORS):
        v = handshake(srv.port, ssl.TLSVersion.TLSv1_2, pki.ca_pem, cert)
        raise AssertionError("TLS 1.3-only server accepted TLS 1.2 (%s)" % v)
    assert ok_json(srv.client().names()) == []
    srv.stop()


def test_pseudo_user_without_acl_denied(pseudo_server):
    """Authenticated is not authorized: bob is in no ACL."""
    bob = kwclient.Client(pseudo_server, cert=None, user="bob")
    assert_denied(bob.names(), "bob")
    assert_denied(bob.create("pseudo-bob"), "bob")
    admin = kwclient.Client(pseudo_server, cert=None, user="admin")
    assert ok_json(admin.metadata("pseudo-bob")) == {}


# --------------------------------------------- certificate identities

def test_mtls_expired_cert(api_server, client):
    name = secret_key(client)
    mat = ok_json(client.current(name))["material"]
    old = kwclient.Client(api_server, cert="expired")
    for req in (lambda: old.names(), lambda: old.current(name)):
        r = assert_refused_without_data(req, [name, mat])
        if r is not None:
            assert r.status == 401, r
    assert_refused_without_data(lambda: old.create("auth-expired-made"), [])
    assert ok_json(client.metadata("auth-expired-made")) == {}


def test_mtls_other_cn_is_other_identity(api_server, client):
    """A valid certificate for CN=alice is alice: init's ACLs grant her
    nothing (only admin)."""
    name = secret_key(client)
    alice = kwclient.Client(api_server, cert="alice")
    assert_denied(alice.names(), "alice")
    assert_denied(alice.current(name), "alice", api_server.secrets)


def san_acls():
    """admin may do everything; GET_KEYS also for the SAN identities."""
    lines = [l for l in kwtest.acls_all("admin").splitlines()
             if not l.startswith("hadoop.kms.acl.GET_KEYS ")]
    lines.append("hadoop.kms.acl.GET_KEYS = admin,spiffe://keyward.test/alice,"
                 "alice.clients.keyward.test")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def san_uri_server(servers):
    return servers.make(auth="mtls", acls=san_acls(),
                        settings={("auth", "identity"): "san-uri"}).start()


def test_identity_san_uri(san_uri_server):
    """identity = san-uri: the first URI subjectAltName is the identity
    (all these certificates have CN=admin)."""
    srv = san_uri_server
    r = kwclient.Client(srv, cert="uri-alice").names()
    assert r.status == 200, r
    assert_denied(kwclient.Client(srv, cert="uri-bob").names(),
                  "spiffe://keyward.test/bob")
    # CN=admin without a URI SAN: no identity at all
    for cert in ("admin", "dns-alice"):
        r = assert_refused_without_data(
            lambda: kwclient.Client(srv, cert=cert).names(), [])
        if r is not None:
            assert r.status == 401, (cert, r)
    # health needs no identity
    assert kwclient.Client(srv, cert="admin").get("/v1/health").status == 200


def test_identity_san_dns(servers):
    srv = servers.make(auth="mtls", acls=san_acls(),
                       settings={("auth", "identity"): "san-dns"}).start()
    r = kwclient.Client(srv, cert="dns-alice").names()
    assert r.status == 200, r
    for cert in ("admin", "uri-alice"):
        r = assert_refused_without_data(
            lambda: kwclient.Client(srv, cert=cert).names(), [])
        if r is not None:
            assert r.status == 401, (cert, r)
    srv.stop()
