"""Nothing is served before both databases hold it (issue 9).

A write admitted just as the standby froze is cancelled at the commit
deadline and answered "not acknowledged", but PostgreSQL keeps it
committed on the primary.  These tests freeze the standby (SIGSTOP of its
postmaster and children), make such writes at once, and check that no
answer of either server uses them until the standby holds them; that a
promotion of the standby (which never got them) followed by a rejoin
never lets a version name map to two materials; and that a node cut off
from both databases stops serving cached keys after keys.cache_confirm_ms.
"""

import time

import kwclient
from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, unique, wait_health, wait_write_ok)

ROUNDS = 40                 # generate calls while the standby is frozen
SETTLE_WITHIN_S = 30.0      # the thawed standby catches up, rows settle
WRITABLE_WITHIN_S = 30.0


def eek_version(eek):
    return eek["versionName"]


def vnum(version_name):
    return int(version_name.rsplit("@", 1)[1])


def generate_names(pair, name, rounds):
    """versionName of rounds EEKs generated through both servers in turn
    (a refused generate counts as None)."""
    seen = []
    clients = [n.client() for n in pair.nodes]
    for i in range(rounds):
        r = clients[i % 2].generate(name, 1)
        seen.append(eek_version(r.json()[0]) if r.status == 200 else None)
    return seen


def freeze_standby(pair, request):
    request.addfinalizer(pair.db_b.thaw)
    frozen = pair.db_b.freeze()
    assert len(frozen) >= 2, frozen
    return frozen


def pending_versions(db, name):
    rows = db.psql("SELECT v.version || ':' || v.pending FROM keys k "
                   "JOIN key_versions v ON v.key_id = k.id WHERE k.name = "
                   "'%s' ORDER BY v.version" % name)
    return [row[0] for row in rows]


def test_unacknowledged_roll_is_not_handed_out(pair, request):
    ca = pair.a.client()
    k = Key(ca, unique("dur"), 128)
    freeze_standby(pair, request)
    r = ca.roll(k.name)
    kwclient.assert_error(r, 503, kwclient.IOE, "not acknowledged")
    # the scenario happened: version 1 is committed on the primary
    assert pending_versions(pair.db_a, k.name) == ["0:false", "1:true"]

    seen = generate_names(pair, k.name, ROUNDS)
    assert seen.count(k.name + "@1") == 0, seen
    assert seen.count(k.name + "@0") == ROUNDS, seen
    for node in pair.nodes:
        c = node.client()
        md = ok_json(c.metadata(k.name))
        assert md["versions"] == 1, md
        assert kwclient.assert_keyversion(ok_json(c.current(k.name)),
                                          k.name, 0, 128) == k.materials[0]
        vs = ok_json(c.versions(k.name))
        assert [v["versionName"] for v in vs] == [k.name + "@0"], vs
        kwclient.assert_error(c.keyversion(k.name + "@1"), 503,
                              kwclient.IOE, "not yet confirmed")

    # once the standby holds it, version 1 is served, the same on both
    pair.db_b.thaw()
    deadline = time.monotonic() + SETTLE_WITHIN_S
    while time.monotonic() < deadline:
        if generate_names(pair, k.name, 2) == [k.name + "@1"] * 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("version 1 not served after the thaw")
    mats = {kwclient.assert_keyversion(
        ok_json(n.client().keyversion(k.name + "@1")), k.name, 1, 128)
        for n in pair.nodes}
    assert len(mats) == 1, mats
    # and the primary settled it (the monitor's sweep)
    deadline = time.monotonic() + SETTLE_WITHIN_S
    while pending_versions(pair.db_a, k.name) != ["0:false", "1:false"]:
        assert time.monotonic() < deadline, pending_versions(pair.db_a,
                                                             k.name)
        time.sleep(0.2)


def test_lost_roll_never_gives_a_version_two_materials(pair, request):
    """Freeze the standby, roll (not acknowledged), kill the primary,
    promote the standby, rejoin the old primary, roll again: every EEK ever
    handed out decrypts on both nodes to its first data key, and every
    version name keeps the material it was first served with."""
    ca, cb = pair.a.client(), pair.b.client()
    k = Key(ca, unique("lost"), 128)
    served = {k.name + "@0": k.materials[0]}
    eeks = list(k.eeks)
    freeze_standby(pair, request)
    kwclient.assert_error(ca.roll(k.name), 503, kwclient.IOE,
                          "not acknowledged")
    for c in (ca, cb, ca, cb):
        r = c.generate(k.name, 1)
        if r.status == 200:
            eeks.append(r.json()[0])
    assert {eek_version(e) for e in eeks} == {k.name + "@0"}, eeks

    pair.db_a.kill()
    pair.db_b.thaw()
    pair.promote(pair.db_b)
    # B alone: reads work, and whatever B holds as version 1 (the WAL may
    # have reached it before the freeze took hold) is what it serves
    r = ok_json(cb.current(k.name))
    v = vnum(r["versionName"])
    served[r["versionName"]] = kwclient.assert_keyversion(r, k.name, v, 128)
    pair.rejoin(pair.db_a, pair.db_b)
    pair.wait_writable(WRITABLE_WITHIN_S)
    kv = ok_json(cb.roll(k.name))
    nv = vnum(kv["versionName"])
    served.setdefault(kv["versionName"],
                      kwclient.assert_keyversion(kv, k.name, nv, 128))
    assert nv == v + 1, (v, kv)
    eeks += ok_json(ca.generate(k.name, 2)) + ok_json(cb.generate(k.name, 2))

    for node in pair.nodes:
        c = node.client()
        for vname, mat in served.items():
            got = kwclient.assert_keyversion(ok_json(c.keyversion(vname)),
                                             k.name, vnum(vname), 128)
            assert got == mat, "%s changed material on %s" % (vname,
                                                              node.name)
        for e in eeks:
            mat = served[eek_version(e)]
            iv, emat = kwclient.assert_eek(e, k.name,
                                           vnum(eek_version(e)), 128)
            dek = kwclient.assert_dek(ok_json(c.decrypt(e)), k.name, 128)
            assert dek == kwclient.eek_decrypt(mat, iv, emat), \
                "EEK of %s decrypts wrong on %s" % (eek_version(e),
                                                    node.name)


def test_unacknowledged_create_and_delete_are_not_used(pair, request):
    ca, cb = pair.a.client(), pair.b.client()
    gone = Key(ca, unique("del"), 128)
    fresh = unique("new")
    freeze_standby(pair, request)
    kwclient.assert_error(ca.create(fresh, length=128), 503, kwclient.IOE,
                          "not acknowledged")
    kwclient.assert_error(ca.delete_key(gone.name), 503, kwclient.IOE)
    for c in (ca, cb):
        # the create that may be lost: never any material of it (a
        # missing key's current version is {} in Hadoop's protocol)
        r = c.current(fresh)
        assert r.status != 200 or "material" not in r.json(), r
        r = c.generate(fresh, 1)
        assert r.status != 200, r
        assert fresh not in ok_json(c.names())
        # the delete that may be lost: the key is neither gone nor served
        # as gone while its fate is open
        r = c.metadata(gone.name)
        assert r.status in (200, 503), r
        if r.status == 200:
            assert r.json().get("name") == gone.name, r
    pair.db_b.thaw()
    # the standby got both writes when it woke up: they are final now
    pair.wait_writable(WRITABLE_WITHIN_S)
    deadline = time.monotonic() + SETTLE_WITHIN_S
    while time.monotonic() < deadline:
        if ("material" in cb.current(fresh).json() and
                "material" not in cb.current(gone.name).json()):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the writes did not settle after the thaw")
    for c in (ca, cb):
        assert fresh in ok_json(c.names())
        assert gone.name not in ok_json(c.names())


def test_cut_off_node_stops_serving_cached_keys(pair_factory, request):
    pair = pair_factory(settings={("keys", "cache_ttl_ms"): "600000",
                                  ("keys", "cache_confirm_ms"): "1000"})
    ca = pair.a.client()
    k = Key(ca, unique("cut"), 128)
    ok_json(ca.generate(k.name, 1))         # cached now
    st, h = pair.a.health()
    assert st == 200 and h["keys_served"] is True and \
        0 <= h["cache_confirmed_ms_ago"] < 5000, h
    for db in pair.dbs:
        request.addfinalizer(db.thaw)
        db.freeze()
    h = wait_health(pair.a, 503, 20.0)
    deadline = time.monotonic() + 20.0
    while h["keys_served"]:
        assert time.monotonic() < deadline, h
        time.sleep(0.2)
        h = pair.a.health()[1]
    assert "neither database" in h["reason"], h
    kwclient.assert_error(ca.generate(k.name, 1), 503, kwclient.IOE,
                          "neither database")
    kwclient.assert_error(ca.decrypt(k.eeks[0]), 503, kwclient.IOE)
    for db in pair.dbs:
        db.thaw()
    wait_health(pair.a, 200, WRITABLE_WITHIN_S)
    ok_json(ca.generate(k.name, 1))
    assert pair.a.health()[1]["keys_served"] is True
    wait_write_ok(pair.a, WRITABLE_WITHIN_S)
