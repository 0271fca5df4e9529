"""The passive's database fails: killed (SIGKILL of its postmaster) or
frozen (SIGSTOP of the postmaster and every child).  Writes are refused
promptly by both servers, naming the passive; reads, generate and decrypt
keep working through both; no request hangs; once the database is back,
writes are accepted again without restarting the servers."""

import threading
import time

import kwclient
from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, assert_admin_status, assert_health,
                  assert_refused_naming, db_key_rows,
                  probe_writes, refused_naming, run_for, timed, unique,
                  wait_health,
                  wait_write_ok)

REFUSE_WITHIN_S = 2.0       # passive's death -> first refused write
RESUME_WITHIN_S = 30.0      # passive back -> writes accepted again (a thawed
                            # walreceiver can take 15 s to stream again on a
                            # loaded machine: seen in CI)
FREEZE_LOAD_S = 6.0         # mixed load while the passive is frozen


def test_passive_db_killed(pair):
    ca, cb = pair.a.client(), pair.b.client()
    k = Key(ca, "pk-killed", 256, rolls=1)

    t_kill = pair.db_b.kill()
    calls = probe_writes([pair.a, pair.b], t_kill, 6.0,
                         until=lambda c: refused_naming(c, "kw-b"))
    # the first refusals may come from the check inside the write
    # transaction; within the limit the servers must say who is at fault
    refused = [c for c in calls if refused_naming(c, "kw-b")]
    assert refused, "no write refused naming kw-b within 6 s of the " \
        "kill:\n%s" % "\n".join(map(repr, calls))
    assert refused[0].t1 <= REFUSE_WITHIN_S, \
        "first write refused naming kw-b %.2f s after the kill (limit " \
        "%.1f s):\n%s" % (refused[0].t1, REFUSE_WITHIN_S,
                          "\n".join(map(repr, calls)))
    for c in calls:
        assert c.status in (201, 503), "write during the kill: %r" % c
        kwclient.assert_error(c.resp, 503, kwclient.IOE) \
            if c.status == 503 else None
    # a write the pair acknowledged just before the monitor noticed must
    # be there once the passive is back (checked below)
    acked = [c.name for c in calls if c.status == 201]

    # refused at once now, by both servers, naming the passive (kw-b),
    # once each server's monitor has seen it (the loop above stops at the
    # first refusal naming kw-b, which may be B's own)
    for node, cl in ((pair.a, ca), (pair.b, cb)):
        wait_health(node, 429, 10.0)
        c = timed(node, "create", cl.create, unique("refused"))
        assert_refused_naming(c.resp, node.name, "kw-b")
        assert c.secs < 1.0, "refusal took %.2f s: %r" % (c.secs, c)
        assert_refused_naming(cl.roll(k.name), node.name, "kw-b")
        assert_refused_naming(cl.delete_key(k.name), node.name, "kw-b")

    # reads, generate and decrypt through both servers (B's from A's db)
    k.check_reads(ca, cb)
    k.check_reads(cb, ca)
    assert k.name in ok_json(cb.names())

    # health: read-only on both, and why
    h = assert_health(pair.a, 429, "active", "primary", "down", "kw-b")
    assert "down" in h["reason"], h
    assert_health(pair.b, 429, "down", "down", "primary", "kw-b")
    assert_admin_status(pair.a, False, {"kw-a": "primary", "kw-b": "down"},
                        "kw-b")

    # back: writes accepted again without restarting the servers
    t_back = time.monotonic()
    pair.db_b.start()
    waited = {}
    for node in pair.nodes:
        secs, name, mat, _refused = wait_write_ok(node, RESUME_WITHIN_S)
        waited[node.name] = time.monotonic() - t_back
        # written through either server, on both databases at once
        assert kwclient.assert_keyversion(ok_json(cb.current(name)), name,
                                          0) == mat
        assert len(db_key_rows(pair.db_b, name)) == 1
    assert pair.a.proc.poll() is None and pair.b.proc.poll() is None
    assert_health(pair.a, 200, "active", "primary", "standby")
    assert_health(pair.b, 200, "passive", "standby", "primary")
    assert_admin_status(pair.b, True, {"kw-a": "primary", "kw-b": "standby"})
    k.check_reads(cb, ca)
    for name in acked:
        assert db_key_rows(pair.db_b, name), \
            "%s was acknowledged (201) but is not in B's database" % name
    print("passive killed: first refusal after %.3f s, writes back after %s"
          % (refused[0].t1, {n: "%.2f s" % s for n, s in waited.items()}))


def test_passive_db_frozen(pair, request):
    deadline_s = int(pair.a.setting("db", "commit_deadline_ms", "2000")) / 1000.0
    budget = deadline_s + 1.0
    ca = pair.a.client()
    k = Key(ca, "pk-frozen", 128)

    deks = []
    for e in k.eeks:
        iv, emat = kwclient.assert_eek(e, k.name, 0, 128)
        deks.append(kwclient.eek_decrypt(k.materials[0], iv, emat))

    request.addfinalizer(pair.db_b.thaw)    # also on failure
    t0 = time.monotonic()
    frozen = pair.db_b.freeze()
    assert len(frozen) >= 4, "postmaster and children: %r" % frozen

    calls, lock = [], threading.Lock()

    def worker(stop, i):
        node = pair.nodes[i % 2]
        cl = node.client()
        n = 0
        while not stop.is_set():
            n += 1
            if i < 2:
                c = timed(node, "create", cl.create, unique("frz"), origin=t0)
            else:
                op = ("current", "metadata", "generate", "decrypt")[n % 4]
                if op == "current":
                    c = timed(node, op, cl.current, k.name, origin=t0)
                elif op == "metadata":
                    c = timed(node, op, cl.metadata, k.name, origin=t0)
                elif op == "generate":
                    c = timed(node, op, cl.generate, k.name, 1, origin=t0)
                else:
                    c = timed(node, op, cl.decrypt, k.eeks[n % 2],
                              name=str(n % 2), origin=t0)
            with lock:
                calls.append(c)

    assert run_for(FREEZE_LOAD_S, worker, threads=4), \
        "a client thread did not finish"

    # still frozen: the monitors have seen it by now; health and every
    # write say why, at once
    for node in pair.nodes:
        h = wait_health(node, 429, 5.0)
        assert "kw-b" in h["reason"], h
        c = timed(node, "create", node.client().create, unique("frz"))
        assert_refused_naming(c.resp, node.name, "kw-b")
        assert c.secs < 1.0, c
    still_frozen = all(p.alive() for p in frozen)
    pair.db_b.thaw()
    assert still_frozen, "a frozen process went away during the test"

    slow = [c for c in calls if c.exc is not None or c.secs > budget]
    assert not slow, "requests over %.1f s (or failed) with the passive " \
        "frozen:\n%s\nall requests over 0.5 s:\n%s" % (
            budget, "\n".join(map(repr, slow)),
            "\n".join(repr(c) for c in calls if c.secs > 0.5))
    writes = [c for c in calls if c.op == "create"]
    reads = [c for c in calls if c.op != "create"]
    assert {c.node for c in writes} == {"kw-a", "kw-b"}, writes
    assert {c.node for c in reads} == {"kw-a", "kw-b"}, reads
    # nothing the frozen standby did not apply may be acknowledged
    for c in writes:
        kwclient.assert_error(c.resp, 503, kwclient.IOE)
    for c in reads:
        assert c.status == 200, c
        body = c.resp.json()
        if c.op == "current":
            assert kwclient.assert_keyversion(body, k.name, 0, 128) == \
                k.materials[0]
        elif c.op == "metadata":
            assert body["name"] == k.name and body["versions"] == 1, body
        elif c.op == "generate":
            kwclient.assert_eek(body[0], k.name, 0, 128)
        else:
            assert kwclient.assert_dek(body, k.name, 128) == \
                deks[int(c.name)], c

    # after SIGCONT writes resume on both servers
    for node in pair.nodes:
        _secs, name, mat, _ = wait_write_ok(node, RESUME_WITHIN_S)
        assert len(db_key_rows(pair.db_b, name)) == 1
    k.check_reads(pair.b.client(), ca)
    worst = max(calls, key=lambda c: c.secs)
    print("passive frozen: %d requests, longest %.3f s (%s %s), budget %.1f s"
          % (len(calls), worst.secs, worst.node, worst.op, budget))
