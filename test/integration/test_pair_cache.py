"""Caches on both nodes follow writes made through the other node.

Each server caches unwrapped versions and each key's current version.  A
rollover or a delete through one node bumps the databases' cache epoch
(002_cache_epoch.sql); the other node's cluster monitor sees it within a
monitor interval and drops its cache, so it neither serves the old current
version nor the material of a deleted key under a name created again.  The
cache TTL is an hour here, so only the epoch can explain a fresh answer."""

import time

from kwclient import ok_json
from pair import (pair_factory, pair_template,  # noqa: F401 (fixtures)
                  create_key, current_material, check_eek_roundtrip)

LONG_TTL = {("keys", "cache_ttl_ms"): "3600000"}
# the monitor polls every 250 ms; allow for a busy machine
WITHIN_S = 5.0


def wait_current(client, name, version, length, timeout=WITHIN_S):
    """Poll until client's current version of name is version; return the
    material and the seconds it took."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        kv = ok_json(client.current(name))
        last = kv
        if kv.get("versionName") == "%s@%d" % (name, version):
            return current_material(client, name, version, length), \
                time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError("%s still answers %r for %s after %.1f s" % (
        client.server.name, last, name, timeout))


def test_roll_through_a_seen_by_b_without_invalidate(pair_factory):
    p = pair_factory(settings=LONG_TTL)
    ca, cb = p.a.client(), p.b.client()
    create_key(ca, "cache-roll", 128)
    # B caches version 0 as current (generate reads the current version)
    m0 = current_material(cb, "cache-roll", 0, 128)
    check_eek_roundtrip(cb, cb, "cache-roll", 0, m0, 128)

    kv = ok_json(ca.roll("cache-roll"))
    assert kv["versionName"] == "cache-roll@1", kv
    m1, took = wait_current(cb, "cache-roll", 1, 128)
    assert m1 != m0
    assert took < WITHIN_S
    # and B now generates on version 1, decryptable on A
    check_eek_roundtrip(cb, ca, "cache-roll", 1, m1, 128)


def test_delete_and_recreate_through_a_not_served_stale_by_b(pair_factory):
    p = pair_factory(settings=LONG_TTL)
    ca, cb = p.a.client(), p.b.client()
    old = create_key(ca, "cache-del", 128)
    assert current_material(cb, "cache-del", 0, 128) == old

    assert ca.delete_key("cache-del").status == 200
    new = create_key(ca, "cache-del", 128)
    assert new != old
    got, _ = wait_current(cb, "cache-del", 0, 128)
    deadline = time.monotonic() + WITHIN_S
    while got != new and time.monotonic() < deadline:
        time.sleep(0.05)
        got = current_material(cb, "cache-del", 0, 128)
    assert got == new, "B still serves the deleted key's material"
    # an EEK generated on B decrypts on A to the same DEK (new material)
    check_eek_roundtrip(cb, ca, "cache-del", 0, new, 128)
