"""Concurrent writes of a pair do not queue behind each other's commit.

Every rollover moves the cache epoch (002_cache_epoch.sql) in the
transaction that rolls, and holds what it changed until its commit, which
waits for the synchronous standby.  With one epoch row, every rollover of
the pair waited for the one before it, whatever key it rolled (the write
collapse of issue 13).  The epoch is now in slots (007_cache_epoch_slots.sql):
a rollover of one key must go through while a transaction that changed
another key's current version is still open, and the other node must
still see it (test_pair_cache.py covers the cache side in full)."""

import os
import subprocess
import time

from kwclient import ok_json
from pair import (bindir, pair_factory, pair_template,  # noqa: F401
                  create_key, current_material, DBNAME)
import kwtest

HOLD_S = 8          # how long the other transaction stays open
WITHIN_S = 15.0


def hold_key_open(db, name):
    """Start a transaction (superuser, over the socket) that changes
    name's current version and stays open HOLD_S seconds, then rolls
    back; returns the psql process once its UPDATE has run."""
    sql = ("BEGIN; UPDATE keys SET current_version = current_version "
           "WHERE name = '%s'; SELECT pg_sleep(%d); ROLLBACK;" % (name, HOLD_S))
    proc = subprocess.Popen(
        [os.path.join(bindir(), "psql"), "-X", "-q", "-h", db.sockdir, "-p",
         str(db.port), "-U", kwtest.SUPERUSER, "-d", DBNAME,
         "-v", "ON_ERROR_STOP=1", "-c", sql],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=db.env())
    deadline = time.monotonic() + WITHIN_S
    while time.monotonic() < deadline:
        rows = db.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                       "query LIKE 'BEGIN; UPDATE keys SET current_version%' "
                       "AND wait_event = 'PgSleep'")
        if rows and rows[0][0] != "0":
            return proc
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the holding transaction did not start")


def test_roll_not_blocked_by_another_keys_open_write(pair_factory):
    p = pair_factory(settings={("keys", "cache_ttl_ms"): "3600000"})
    ca, cb = p.a.client(), p.b.client()
    create_key(ca, "held", 128)
    create_key(ca, "rolled", 128)
    ids = dict(p.db_a.psql("SELECT name, id FROM keys WHERE name IN "
                           "('held', 'rolled')"))
    # (two keys share a slot only when their ids are 1024 apart)
    assert int(ids["held"]) % 1024 != int(ids["rolled"]) % 1024, ids
    m0 = current_material(cb, "rolled", 0, 128)   # B caches version 0
    holder = hold_key_open(p.db_a, "held")
    try:
        t0 = time.monotonic()
        r = ca.roll("rolled")
        took = time.monotonic() - t0
        # the other transaction is still open: nothing waited for it
        assert holder.poll() is None, "the holding transaction ended first"
        assert r.status == 200, (r.status, r.body, p.a.log(20))
        assert ok_json(r)["versionName"] == "rolled@1"
        assert took < HOLD_S / 2, took
    finally:
        holder.wait(HOLD_S + 30)
    # the epoch moved: B drops its cache and serves version 1
    deadline = time.monotonic() + WITHIN_S
    while time.monotonic() < deadline:
        if ok_json(cb.current("rolled")).get("versionName") == "rolled@1":
            break
        time.sleep(0.05)
    assert current_material(cb, "rolled", 1, 128) != m0
