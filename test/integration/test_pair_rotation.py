"""Master key rotation on a running pair (issue 12, part 1).

A new master key is added on A, installed on B, made active while
creates, generates and decrypts run through both nodes, and every version
is rewrapped under it in the background: no request fails, every data
key is right, every EEK made before the rotation decrypts after it, the
material of every version is unchanged.  A rotation is refused while a server
lacks the new key or the standby is down, and goes through once it is
back; a rewrap interrupted
by killing both servers resumes when one comes back; an old master key
cannot be retired while a version is wrapped under it, and a server whose
keyring lacks a master key a version needs refuses to start.
"""

import os
import signal
import threading
import time

import pytest

import kwclient
import mkeykit
from kwtest import ServerStartError
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, check_decrypt, unique)

LOAD_THREADS = 4


class Load:
    """Creates, generates and decrypts through both nodes until stopped;
    counts every request, every failure and every wrong data key."""

    def __init__(self, pair, old_keys):
        self.pair = pair
        self.old = old_keys
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = []
        self.wrong = []
        self.made = []          # (name, material) created under load

    def _note(self, ok, what):
        with self.lock:
            self.requests += 1
            if not ok:
                self.failures.append(what)

    def _one(self, me, other, i, n):
        cm, co = me.client(), other.client()
        name = "load-%d-%d-%s" % (i, n, os.urandom(2).hex())
        r = cm.create(name, length=128)
        self._note(r.status == 201, ("create", me.name, r.status, r.body[:200]))
        if r.status != 201:
            return
        mat = kwclient.assert_keyversion(r.json(), name, 0, 128)
        with self.lock:
            self.made.append((name, mat))
        # generate through the other node, decrypt through this one
        r = co.generate(name, 1)
        self._note(r.status == 200, ("generate", other.name, r.status,
                                     r.body[:200]))
        if r.status == 200:
            self._decrypt(cm, r.json()[0], name, 0, mat)
        # an EEK made before the rotation, through either node
        k = self.old[n % len(self.old)]
        self._decrypt(co if n % 2 else cm, k.eeks[n % 2], k.name, k.version,
                      k.materials[k.version])

    def _decrypt(self, client, eek, name, version, mat):
        iv, emat = kwclient.assert_eek(eek, name, version, 128)
        r = client.decrypt(eek)
        self._note(r.status == 200, ("decrypt", client.server.name, r.status,
                                     r.body[:200]))
        if r.status == 200:
            dek = kwclient.assert_dek(r.json(), name, 128)
            if dek != kwclient.eek_decrypt(mat, iv, emat):
                with self.lock:
                    self.wrong.append((name, version))

    def start(self):
        """Run the workers (LOAD_THREADS of them) until stop()."""
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.worker,
                                         args=(self.stop_event, i),
                                         daemon=True)
                        for i in range(LOAD_THREADS)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads)

    def worker(self, stop, i):
        me = self.pair.nodes[i % 2]
        other = self.pair.nodes[(i + 1) % 2]
        n = 0
        while not stop.is_set() and n < 100000:
            n += 1
            try:
                self._one(me, other, i, n)
            except Exception as e:     # a transport error is a failure too
                self._note(False, ("exception", me.name, repr(e)))


def old_keys(pair, n, rolls=2):
    c = pair.a.client()
    return [Key(c, unique("rot"), 128, rolls=rolls) for _ in range(n)]


def test_rotation_under_load(pair_factory):
    pair = pair_factory(settings={("keys", "rewrap_batch"): "20",
                                  ("keys", "rewrap_pause_ms"): "50"})
    keys = old_keys(pair, 30)
    st0 = mkeykit.status(pair.a)
    old = st0["active"]
    assert st0["rewrap_done"] and st0["versions"] == 90, st0

    load = Load(pair, keys)
    load.start()
    try:
        time.sleep(1.0)
        new = mkeykit.add_and_install(pair)
        assert new != old
        _rc, out, _err = pair.a.admin("master-key", "rotate")
        assert "master key %s is active (was %s)" % (new, old) in out, out
        during = load.requests
        st = mkeykit.wait_rewrapped(pair.b)
        time.sleep(1.0)
    finally:
        load.stop()
    assert st["active"] == new, st
    assert load.requests > during > 0, (during, load.requests)
    assert load.failures == [], "%d of %d requests failed: %r" % (
        len(load.failures), load.requests, load.failures[:5])
    assert load.wrong == [], "wrong data keys: %r" % load.wrong[:5]

    # every version on both databases is under the new key, none left over
    for db in pair.dbs:
        ids = mkeykit.db_kek_ids(db)
        assert set(ids) == {new}, ids
        assert ids[new] == 90 + len(load.made), (ids, len(load.made))
    # the material never changed: every read, every old EEK, both nodes
    for k in keys:
        k.check_reads(pair.a.client(), pair.b.client())
        k.check_reads(pair.b.client(), pair.a.client())
    for name, mat in load.made[:20]:
        for n in pair.nodes:
            kv = kwclient.ok_json(n.client().current(name))
            assert kwclient.assert_keyversion(kv, name, 0, 128) == mat
    for n in pair.nodes:
        _rc, out, _err = n.admin("verify")
        assert "unwrap-failures 0" in out and \
            "master key %s: %d versions (active)" % (new, ids[new]) in out, out
    print("rotation under load: %d requests, %d keys created meanwhile"
          % (load.requests, len(load.made)))


def wait_standby_gone(primary, standby, timeout=30.0):
    """Wait until primary no longer lists standby as streaming."""
    deadline = time.monotonic() + timeout
    while primary.standby_state(standby.slot) is not None:
        assert time.monotonic() < deadline, \
            "%s still streams after %.0f s" % (standby.node, timeout)
        time.sleep(0.1)


def test_rotation_refused_while_standby_down(pair):
    keys = old_keys(pair, 3, rolls=1)
    old = mkeykit.status(pair.a)["active"]

    # a key only A's server holds is not made active
    _rc, out, _err = pair.a.admin("master-key", "add")
    new = out.split("added master key ", 1)[1].split()[0]
    pair.a.signal(signal.SIGHUP)
    mkeykit.wait_held(pair.a, new, [pair.a.name])
    rc, out, err = pair.a.admin("master-key", "rotate", check=False)
    assert rc == 1 and "the server of kw-b has not reported holding " \
        "master key %s" % new in err, out + err
    assert mkeykit.status(pair.a)["active"] == old

    mkeykit.copy_keyring(pair.a, pair.b)
    pair.b.signal(signal.SIGHUP)
    mkeykit.wait_held(pair.a, new, [pair.a.name, pair.b.name])
    pair.db_b.kill()
    # until A's walsender notices, A's database still counts B as a sync
    # standby and the write would be tried (and left unacknowledged)
    wait_standby_gone(pair.db_a, pair.db_b)
    rc, out, err = pair.a.admin("master-key", "rotate", check=False)
    assert rc == 1, out + err
    assert "rotation refused" in err, err
    st = mkeykit.status(pair.a)
    assert st["active"] == old and st["rewrap_done"], st
    for k in keys:
        k.check_reads(pair.a.client())

    pair.db_b.start()
    pair.db_a.wait_sync(pair.db_b)
    pair.wait_writable()
    _rc, out, _err = pair.a.admin("master-key", "rotate")
    assert "is active" in out, out
    st = mkeykit.wait_rewrapped(pair.a)
    assert st["active"] == new and st["versions_under_active"] == 6, st
    for k in keys:
        k.check_reads(pair.a.client(), pair.b.client())


def test_rewrap_resumes_and_retire(pair_factory):
    # slow batches, so both servers can be killed in the middle
    pair = pair_factory(settings={("keys", "rewrap_batch"): "3",
                                  ("keys", "rewrap_pause_ms"): "400"})
    keys = old_keys(pair, 20, rolls=1)
    old_ring = open(pair.a.master_key_file, "rb").read()
    old = mkeykit.status(pair.a)["active"]
    new = mkeykit.add_and_install(pair)

    # retiring the active key is refused
    rc, _out, err = pair.a.admin("master-key", "retire", old, check=False)
    assert rc == 1 and "is the active one" in err, err

    pair.a.admin("master-key", "rotate")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = mkeykit.status(pair.a)
        if st["versions_under_active"] >= 3:
            break
        time.sleep(0.1)
    for n in pair.nodes:
        n.signal(signal.SIGKILL)
    for n in pair.nodes:
        n.proc.wait(10)
    st = mkeykit.status(pair.a)
    moved = st["versions_under_active"]
    assert 0 < moved < 40, st
    # nothing moves with both servers dead; the old key is still needed
    time.sleep(1.0)
    assert mkeykit.status(pair.a)["versions_under_active"] == moved
    rc, _out, err = pair.a.admin("master-key", "retire", old, check=False)
    assert rc == 1 and "still wrapped under master key %s" % old in err, err

    # one server back: it resumes where the rewrap stopped and finishes
    pair.b.start()
    st = mkeykit.wait_rewrapped(pair.a)
    assert st["active"] == new and st["versions_under_active"] == 40, st
    pair.a.start()

    # retired on both nodes, both reloaded: everything still serves
    for n in pair.nodes:
        _rc, out, _err = n.admin("master-key", "retire", old)
        assert "retired master key %s" % old in out, out
        n.signal(signal.SIGHUP)
    st = mkeykit.wait_held(pair.a, new, [pair.a.name, pair.b.name])
    assert mkeykit.kek(st, old) is None, st
    for k in keys:
        k.check_reads(pair.a.client(), pair.b.client())
        k.check_reads(pair.b.client(), pair.a.client())

    # a node given back its old keyring (only the retired key) refuses to
    # start, naming the key it lacks; the key material is not in the log
    pair.b.stop()
    with open(pair.b.master_key_file, "wb") as f:
        f.write(old_ring)
    with pytest.raises(ServerStartError) as ei:
        pair.b.start()
    msg = str(ei.value)
    assert "active master key %s is not in this node's keyring" % new in msg
    assert old_ring.hex() not in msg


def test_old_eek_decrypts_after_rotation_and_restart(pair):
    keys = old_keys(pair, 2, rolls=0)
    eek = keys[0].eeks[0]
    mkeykit.add_and_install(pair)
    pair.a.admin("master-key", "rotate")
    mkeykit.wait_rewrapped(pair.a)
    for n in pair.nodes:
        n.stop()
        n.start()
    for n in pair.nodes:
        check_decrypt(n.client(), eek, keys[0].name, 0, keys[0].materials[0],
                      128)
