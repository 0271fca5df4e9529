"""Hadoop pseudo authentication's hadoop.auth cookie: OPTIONS with
user.name issues it, a request carrying only the cookie is authenticated
as its user, forged or expired cookies are refused (401) unless a valid
user.name comes along, and servers sharing the secret file accept each
other's cookies."""

import email.utils
import http.client
import os
import re
import shutil
import stat
import time

import pytest

import kwclient
import kwtest
from kwclient import assert_denied, ok_json
from kwtest import ADMIN_BIN

ACLS = """# test_auth_cookie.py
hadoop.kms.acl.GET_KEYS = admin,alice
hadoop.kms.acl.CREATE = admin
default.key.acl.ALL = admin
"""

COOKIE_RE = re.compile(r'^hadoop\.auth=(?:"([^"]*)"|([^;"]*))((?:;.*)?)$')
TOKEN_RE = re.compile(r'^u=([^&]+)&p=([^&]+)&t=simple&e=(\d+)&s=([A-Za-z0-9+/=_-]+)$')
TTL_S = 2


@pytest.fixture(scope="module")
def srv(servers):
    return servers.make(auth="pseudo", acls=ACLS).start()


@pytest.fixture(scope="module")
def shared(servers, srv):
    """A second server signing with srv's secret file."""
    secret = os.path.join(srv.confdir, "auth-cookie.secret")
    return servers.make(auth="pseudo", acls=ACLS, settings={
        ("auth", "cookie_secret_file"): secret}).start()


@pytest.fixture(scope="module")
def short(servers):
    """Its own secret; cookies live TTL_S seconds."""
    return servers.make(auth="pseudo", acls=ACLS, settings={
        ("auth", "cookie_ttl_s"): str(TTL_S)}).start()


def parse_set_cookie(resp):
    """(token, {attribute lower: value}) of the hadoop.auth Set-Cookie."""
    values = resp.headers.get_all("Set-Cookie") or []
    mine = [v for v in values if v.startswith("hadoop.auth=")]
    assert len(mine) == 1, "expected one hadoop.auth Set-Cookie: %r (%r)" % (values, resp)
    m = COOKIE_RE.match(mine[0])
    assert m, "Set-Cookie not understood: %r" % mine[0]
    token = m.group(1) if m.group(1) is not None else m.group(2)
    attrs = {}
    for part in m.group(3).split(";"):
        part = part.strip()
        if part:
            k, _, v = part.partition("=")
            attrs[k.strip().lower()] = v.strip()
    return token, attrs


def token_fields(token):
    m = TOKEN_RE.match(token)
    assert m, "token not u=&p=&t=simple&e=&s=: %r" % token
    return {"u": m.group(1), "p": m.group(2), "e": int(m.group(3)),
            "s": m.group(4)}


def get_cookie(srv, user):
    r = kwclient.Client(srv, cert=None, user=user).options("keys/names")
    assert r.status == 200, r
    token, _attrs = parse_set_cookie(r)
    return token


def with_cookie(srv, token, user=None):
    """A client sending Cookie: hadoop.auth="token" (and user.name if
    given)."""
    return kwclient.Client(srv, cert=None, user=user, cookie='"%s"' % token)


def test_options_issues_cookie(srv):
    before = time.time()
    r = kwclient.Client(srv, cert=None, user="alice").options("keys/names")
    after = time.time()
    assert r.status == 200, r
    token, attrs = parse_set_cookie(r)
    f = token_fields(token)
    assert f["u"] == "alice" and f["p"] == "alice", f
    # default ttl 36000 s
    assert (before + 36000 - 5) * 1000 <= f["e"] <= (after + 36000 + 5) * 1000, \
        (f["e"], before)
    sig = kwclient.b64decode_any(f["s"])
    assert len(sig) == 32, "signature is %d bytes, not an HMAC-SHA256" % len(sig)
    assert attrs.get("path") == "/", attrs
    assert "secure" in attrs and "httponly" in attrs, attrs
    exp = email.utils.parsedate_to_datetime(attrs["expires"]).timestamp()
    assert abs(exp - f["e"] / 1000) <= 2, (attrs["expires"], f["e"])


def test_user_name_requests_get_a_cookie(srv):
    r = kwclient.Client(srv, cert=None, user="alice").names()
    ok_json(r)
    token, _ = parse_set_cookie(r)
    assert token_fields(token)["u"] == "alice"


def test_cookie_authenticates(srv):
    alice = get_cookie(srv, "alice")
    r = with_cookie(srv, alice).names()
    assert r.status == 200, r
    assert isinstance(r.json(), list)
    # the cookie's user is the identity the ACLs see
    bob = get_cookie(srv, "bob")
    assert_denied(with_cookie(srv, bob).names(), "bob")
    # without cookie or user.name: 401
    assert kwclient.Client(srv, cert=None, user=None).names().status == 401


def forgeries(token):
    f = token_fields(token)
    base = "u=%s&p=%s&t=simple&e=%d" % (f["u"], f["p"], f["e"])
    s = f["s"]
    flipped = s[:5] + ("A" if s[5] != "A" else "B") + s[6:]
    return {
        "user changed": "u=admin&p=admin&t=simple&e=%d&s=%s" % (f["e"], s),
        "u only changed": "u=admin&p=%s&t=simple&e=%d&s=%s" % (f["p"], f["e"], s),
        "expiry extended": "u=%s&p=%s&t=simple&e=%d&s=%s" % (
            f["u"], f["p"], f["e"] + 86400000, s),
        "signature flipped": base + "&s=" + flipped,
        "signature cut": base + "&s=" + s[:-4],
        "no signature": base,
        "garbage": "this-is-not-a-token",
    }


def test_forged_cookies_refused(srv):
    token = get_cookie(srv, "alice")
    for what, forged in forgeries(token).items():
        r = with_cookie(srv, forged).names()
        assert r.status == 401, "%s cookie: %r" % (what, r)
        # a bad cookie plus a valid user.name: authenticated by user.name
        r = with_cookie(srv, forged, user="alice").names()
        assert r.status == 200, "%s cookie + user.name: %r" % (what, r)
        assert token_fields(parse_set_cookie(r)[0])["u"] == "alice"
    # user.name bob with a forged admin cookie is bob, not admin
    forged = forgeries(token)["user changed"]
    assert_denied(with_cookie(srv, forged, user="bob").names(), "bob")


def test_expired_cookie_refused(short):
    r = kwclient.Client(short, cert=None, user="alice").options("keys/names")
    assert r.status == 200, r
    token, _ = parse_set_cookie(r)
    e = token_fields(token)["e"]
    now_ms = time.time() * 1000
    assert now_ms - 1000 <= e <= now_ms + TTL_S * 1000 + 1000, (e, now_ms)
    # still valid now (if this machine was not too slow to tell)
    r = with_cookie(short, token).names()
    if time.time() * 1000 < e - 200:
        assert r.status == 200, r
    # wait until it has expired (bounded by the ttl above)
    deadline = time.monotonic() + TTL_S + 3
    while time.time() * 1000 <= e + 300:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = with_cookie(short, token).names()
    assert r.status == 401, "expired cookie: %r" % r
    assert ok_json(with_cookie(short, token, user="alice").names()) is not None


def test_cookie_from_a_server_sharing_the_secret(srv, shared, short):
    token = get_cookie(srv, "alice")
    assert with_cookie(shared, token).names().status == 200
    back = get_cookie(shared, "alice")
    assert with_cookie(srv, back).names().status == 200
    # a server with its own secret refuses it
    assert with_cookie(short, token).names().status == 401


def test_options_under_mtls(api_server):
    r = api_server.client().options("keys/names")
    assert r.status == 200, r
    try:
        r = kwclient.Client(api_server, cert=None).options("keys/names")
    except (OSError, http.client.HTTPException):
        return
    assert r.status == 401, r


def test_init_keeps_an_existing_cookie_secret(tmp_root, binaries):
    """The passive node's way: A's auth-cookie.secret is copied into B's
    config directory before B's init, which keeps it (while A's own init
    made a fresh one, 0600)."""
    a = os.path.join(tmp_root, "cookie-init-a")
    b = os.path.join(tmp_root, "cookie-init-b")
    kwtest.run([ADMIN_BIN, "init", "--confdir", a, "--node-name", "kw-ca",
                "--auth", "pseudo", "--listen", "127.0.0.1:%d" % kwtest.free_port()])
    sa = os.path.join(a, "auth-cookie.secret")
    assert stat.S_IMODE(os.stat(sa).st_mode) == 0o600
    with open(sa, "rb") as f:
        secret = f.read()
    assert len(secret) >= 32
    os.makedirs(b, mode=0o700)
    sb = os.path.join(b, "auth-cookie.secret")
    shutil.copyfile(sa, sb)
    os.chmod(sb, 0o600)
    _rc, out, err = kwtest.run([ADMIN_BIN, "init", "--confdir", b,
                                "--node-name", "kw-cb", "--auth", "pseudo",
                                "--listen", "127.0.0.1:%d" % kwtest.free_port()])
    with open(sb, "rb") as f:
        assert f.read() == secret, "init replaced the copied cookie secret"
    # a third node made from scratch gets a secret of its own
    c = os.path.join(tmp_root, "cookie-init-c")
    kwtest.run([ADMIN_BIN, "init", "--confdir", c, "--node-name", "kw-cc",
                "--auth", "pseudo", "--listen", "127.0.0.1:%d" % kwtest.free_port()])
    with open(os.path.join(c, "auth-cookie.secret"), "rb") as f:
        assert f.read() != secret
