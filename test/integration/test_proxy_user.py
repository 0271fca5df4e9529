"""Proxy users (doAs): a proxy authenticated by its certificate acts as
another user when hadoop.kms.proxyuser.PROXY.{users,groups,hosts} cover
that user and the proxy's address; the request is then authorized as
that user only, and audited with the proxy as real_user."""

import pytest

import kwclient
from kwclient import AUTHZ, assert_denied, assert_error, ok_json

ACLS = """# test_proxy_user.py
group.staff = dave
hadoop.kms.acl.GET_KEYS = admin,bob,dave
hadoop.kms.acl.GET_METADATA = admin,bob,dave,proxy
hadoop.kms.acl.GET = admin,proxy
hadoop.kms.acl.CREATE = admin
default.key.acl.ALL = admin
default.key.acl.READ = admin,bob,dave,proxy
hadoop.kms.proxyuser.proxy.users = bob
hadoop.kms.proxyuser.proxy.groups = staff
hadoop.kms.proxyuser.proxy.hosts = 127.0.0.1
hadoop.kms.proxyuser.farproxy.users = *
hadoop.kms.proxyuser.farproxy.hosts = 10.0.0.0/8
hadoop.kms.proxyuser.cidrproxy.users = *
hadoop.kms.proxyuser.cidrproxy.hosts = 127.0.0.0/8
"""
KEY = "px-k"


@pytest.fixture(scope="module")
def srv(servers):
    s = servers.make(auth="mtls", acls=ACLS,
                     settings={("audit", "aggregate_ms"): "0"}).start()
    ok_json(s.client().create(KEY), 201)
    return s


def as_(srv, cert, doas=None, source=None):
    return kwclient.Client(srv, cert=cert, doas=doas, source=source)


def assert_not_allowed_proxy(r, proxy):
    """403 AuthorizationException naming the proxy."""
    assert_error(r, 403, AUTHZ, contains=proxy)


def test_proxy_acts_with_the_users_acls(srv):
    # proxy itself may not list names; as bob it may
    assert_denied(as_(srv, "proxy").names(), "proxy")
    assert KEY in ok_json(as_(srv, "proxy", doas="bob").names())
    # proxy may read the current version itself, bob may not: as bob, no
    kwclient.assert_keyversion(ok_json(as_(srv, "proxy").current(KEY)), KEY, 0, 128)
    assert_denied(as_(srv, "proxy", doas="bob").current(KEY), "bob", srv.secrets)
    assert ok_json(as_(srv, "proxy", doas="bob").metadata(KEY))["name"] == KEY


def test_proxy_for_a_group_member(srv):
    """proxyuser.proxy.groups = staff covers dave (proxy itself may not
    list names, dave may)."""
    assert_denied(as_(srv, "proxy").names(), "proxy")
    assert KEY in ok_json(as_(srv, "proxy", doas="dave").names())


def test_proxy_for_a_user_not_covered(srv):
    r = as_(srv, "proxy", doas="carol").names()
    assert_not_allowed_proxy(r, "proxy")
    # carol's own ACLs do not matter: not even a metadata read
    assert_not_allowed_proxy(as_(srv, "proxy", doas="carol").metadata(KEY), "proxy")


def test_proxy_hosts(srv):
    # 10.0.0.0/8 does not cover 127.0.0.1
    assert_not_allowed_proxy(as_(srv, "farproxy", doas="bob").names(), "farproxy")
    # 127.0.0.0/8 does, from either loopback address
    assert KEY in ok_json(as_(srv, "cidrproxy", doas="bob").names())
    assert KEY in ok_json(as_(srv, "cidrproxy", doas="bob", source="127.0.0.2").names())
    # proxy's hosts = 127.0.0.1: not from 127.0.0.2
    assert_not_allowed_proxy(as_(srv, "proxy", doas="bob", source="127.0.0.2").names(),
                             "proxy")
    assert KEY in ok_json(as_(srv, "proxy", doas="bob", source="127.0.0.1").names())


def test_no_proxyuser_lines_no_doas(srv):
    # alice has no proxyuser lines; admin may do anything but impersonate
    assert_not_allowed_proxy(as_(srv, "alice", doas="bob").names(), "alice")
    assert_not_allowed_proxy(as_(srv, "admin", doas="bob").names(), "admin")


def test_proxy_audited_as_user_with_real_user(srv):
    r = as_(srv, "proxy", doas="bob").metadata(KEY)
    ok_json(r)

    def find(rs):
        return [x for x in rs if x.get("key") == KEY and x.get("op") == "GET_METADATA"
                and x.get("real_user") == "proxy"]
    recs = srv.wait_audit(find, 10.0, "proxied GET_METADATA")
    rec = recs[-1]
    assert rec.get("identity") == "bob", rec
    assert rec.get("result") == "OK" and rec.get("status") == 200, rec
    # not proxied: no real_user
    ok_json(srv.client().metadata(KEY))
    recs = srv.wait_audit(
        lambda rs: [x for x in rs if x.get("key") == KEY and x.get("identity") == "admin"
                    and x.get("op") == "GET_METADATA"], 10.0, "admin's GET_METADATA")
    assert recs[-1].get("real_user") in (None, ""), recs[-1]


def test_proxy_under_pseudo_auth_and_cookie(servers):
    """The same rules when the proxy is named by user.name or by its
    hadoop.auth cookie (the Hadoop client's way: cookie plus doAs)."""
    srv = servers.make(auth="pseudo", acls=ACLS).start()
    ok_json(kwclient.Client(srv, cert=None, user="admin").create(KEY), 201)

    def pc(**kw):
        return kwclient.Client(srv, cert=None, **kw)
    assert KEY in ok_json(pc(user="proxy", doas="bob").names())
    assert_not_allowed_proxy(pc(user="proxy", doas="carol").names(), "proxy")
    assert_not_allowed_proxy(pc(user="proxy", doas="bob", source="127.0.0.2").names(),
                             "proxy")
    r = pc(user="proxy").options("keys/names")
    assert r.status == 200, r
    cookies = [v for v in (r.headers.get_all("Set-Cookie") or [])
               if v.startswith("hadoop.auth=")]
    assert len(cookies) == 1, r.headers
    cookie = cookies[0].split(";", 1)[0].split("=", 1)[1]
    assert_denied(pc(user=None, cookie=cookie).names(), "proxy")
    assert KEY in ok_json(pc(user=None, cookie=cookie, doas="bob").names())
    assert_not_allowed_proxy(pc(user=None, cookie=cookie, doas="carol").names(),
                             "proxy")
    srv.stop()
