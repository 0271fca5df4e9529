"""KMIP on the pair: a key created through one node is usable through
the other (same material, ciphertexts that cross), attribute changes
through either node are seen by both; with the standby's database down,
every KMIP write is refused by both servers with an Operation Failed that
says why, while Get, GetAttributes, Locate, Encrypt and Decrypt keep
being served by both."""

import time

import pytest
from kmip.core import enums
from kmip.pie import exceptions as pie_exc

import kwtest
from pair import pair_factory, pair_template  # noqa: F401 (fixtures)
from test_kmip import (AF, CBC, V12, V20, attrs_of, create_key, failure,
                       kmip_client, state_of)

REFUSED_WITHIN_S = 15.0     # standby's database gone -> writes refused


@pytest.fixture
def kmip_pair(pair_factory):
    p = pair_factory(start_servers=False)
    for node in p.nodes:
        node.kmip_port = kwtest.free_port()
        kwtest.conf_set(node.conf, {
            ("kmip", "listen"): "127.0.0.1:%d" % node.kmip_port})
        node.write_acls(kwtest.acls_all("admin"))
    p.start_servers()
    p.wait_writable()
    clients = []

    def client(node, version=V12):
        c = kmip_client(node, version)
        clients.append(c)
        return c
    p.kmip = client
    yield p
    for c in clients:
        c.close()


def test_pair_kmip_key_crosses_nodes(kmip_pair):
    p = kmip_pair
    a, b = p.kmip(p.a), p.kmip(p.b, V20)
    uid = create_key(a, name="crossing")
    a.activate(uid)
    assert b.get(uid).value == a.get(uid).value
    assert state_of(b, uid) == enums.State.ACTIVE
    data = b"written through kw-a, read through kw-b"
    ct, iv = a.encrypt(data, uid=uid, cryptographic_parameters=CBC)
    assert b.decrypt(ct, uid=uid, iv_counter_nonce=iv,
                     cryptographic_parameters=CBC) == data
    ct, iv = b.encrypt(data, uid=uid, cryptographic_parameters=CBC)
    assert a.decrypt(ct, uid=uid, iv_counter_nonce=iv,
                     cryptographic_parameters=CBC) == data
    b.set_attribute(uid, attribute_name="Object Group",
                    attribute_value="pair-group")
    assert attrs_of(a, uid)["Object Group"][0].value == "pair-group"
    assert a.locate(attributes=[AF.create_attribute(
        enums.AttributeType.NAME, "crossing")]) == [uid]


def test_pair_kmip_standby_db_down(kmip_pair):
    p = kmip_pair
    a, b = p.kmip(p.a), p.kmip(p.b)
    uid = create_key(a, name="survivor")
    a.activate(uid)
    spare = create_key(a, name="spare")         # to try writes on
    material = a.get(uid).value
    data = b"served while the standby is gone"
    ct, iv = a.encrypt(data, uid=uid, cryptographic_parameters=CBC)

    p.db_b.kill()
    # writes refused by both nodes, promptly, with the reason
    deadline = time.monotonic() + REFUSED_WITHIN_S
    acked = []      # acknowledged before the kill was seen (the dying
    while True:     # standby's walreceiver can still flush and reply)
        try:
            acked.append(create_key(a, name="should-not-exist"))
        except pie_exc.KmipOperationFailure as e:
            assert e.status == enums.ResultStatus.OPERATION_FAILED
            if "writes refused" in e.message:
                break
            # a write in flight when the standby went: not acknowledged
            assert "not acknowledged" in e.message, e.message
        assert time.monotonic() < deadline, \
            "KMIP create still accepted %.0f s after the standby's " \
            "database died" % REFUSED_WITHIN_S
        time.sleep(0.2)
    for c in (a, b):
        for call in (lambda: create_key(c),
                     lambda: c.activate(spare),
                     lambda: c.revoke(
                         enums.RevocationReasonCode.CESSATION_OF_OPERATION,
                         uid),
                     lambda: c.destroy(spare)):
            f = failure(call)
            assert f.status == enums.ResultStatus.OPERATION_FAILED
            assert f.reason == enums.ResultReason.GENERAL_FAILURE
            assert "writes refused" in f.message, f.message
    # reads and crypto served by both, from the primary's database
    for c in (a, b):
        assert c.get(uid).value == material
        assert state_of(c, uid) == enums.State.ACTIVE
        assert state_of(c, spare) == enums.State.PRE_ACTIVE
        assert c.decrypt(ct, uid=uid, iv_counter_nonce=iv,
                         cryptographic_parameters=CBC) == data
        ct2, iv2 = c.encrypt(data, uid=uid, cryptographic_parameters=CBC)
        assert a.decrypt(ct2, uid=uid, iv_counter_nonce=iv2,
                         cryptographic_parameters=CBC) == data
    # a create that was not acknowledged is never handed out
    assert sorted(b.locate(attributes=[AF.create_attribute(
        enums.AttributeType.NAME, "should-not-exist")])) == sorted(acked)


def kmip_pending(db):
    """{uid: pending} of every KMIP object on db."""
    return {row[0]: row[1] == "t" for row in
            db.psql("SELECT uid, pending FROM kmip_objects")}


def test_pair_kmip_unacknowledged_write_settles(kmip_pair, request):
    """A KMIP create whose commit the frozen standby never acknowledged
    is left pending on the primary; once the standby holds it, the
    cluster monitor settles it with no client reading it (DURABILITY.md:
    as for keys)."""
    p = kmip_pair
    a = p.kmip(p.a)
    before = kmip_pending(p.db_a)
    request.addfinalizer(p.db_b.thaw)
    p.db_b.freeze()
    e = failure(create_key, a, name="unacknowledged")
    assert "not acknowledged" in e.message, e.message
    new = {u: v for u, v in kmip_pending(p.db_a).items() if u not in before}
    assert list(new.values()) == [True], new
    uid = next(iter(new))
    p.db_b.thaw()
    deadline = time.monotonic() + REFUSED_WITHIN_S * 2
    while kmip_pending(p.db_a)[uid]:
        assert time.monotonic() < deadline, \
            "KMIP object %s still pending after the thaw" % uid
        time.sleep(0.2)
