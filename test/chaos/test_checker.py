"""Unit tests of the chaos checker (checker.py) on small hand-made
histories: each invariant is shown a history that breaks it (and must
report it) and a close one that does not (and must stay quiet).

    /usr/bin/python3 -m pytest test/chaos/test_checker.py
"""

import checker
import figures


def H(*recs):
    """Records with seq numbers and defaults filled in."""
    out = []
    for i, r in enumerate(recs):
        r = dict(r)
        r.setdefault("phase", "run")
        r.setdefault("node", "a")
        r.setdefault("t0", float(i))
        r.setdefault("t1", r["t0"] + 0.1)
        r["seq"] = i
        out.append(r)
    return out


def final_versions(key, vers, node="a", status=200, t=100.0):
    return {"phase": "final", "op": "versions", "key": key, "node": node,
            "status": status, "vers": vers, "t0": t, "t1": t + 0.1}


def final_decrypt(eid, dek, node="a", status=200, ver="k@0", t=101.0):
    return {"phase": "final", "op": "decrypt", "key": ver.split("@")[0],
            "eek": eid, "ver": ver, "node": node, "status": status,
            "dek": dek, "t0": t, "t1": t + 0.1}


CREATE = {"op": "create", "key": "k", "status": 201, "ver": "k@0",
          "mat": "m0"}
ROLL = {"op": "roll", "key": "k", "status": 200, "ver": "k@1", "mat": "m1"}


# ------------------------------------------------------------ 1 visible

def test_visible_quiet_when_all_there():
    h = H(CREATE, ROLL, final_versions("k", {"k@0": "m0", "k@1": "m1"}),
          final_versions("k", {"k@0": "m0", "k@1": "m1"}, node="b"))
    assert checker.check_visible(h) == []


def test_visible_ignores_reads_and_cut_requests():
    cut = {"op": "generate", "key": "k", "status": None, "err": "timeout"}
    cut_roll = {"op": "roll", "key": "k", "status": None, "err": "timeout"}
    h = H(CREATE, cut, cut_roll, final_versions("k", {"k@0": "m0"}),
          final_versions("k", {"k@0": "m0"}, node="b"))
    assert checker.check_visible(h) == []


def test_visible_catches_lost_roll():
    h = H(CREATE, ROLL, final_versions("k", {"k@0": "m0", "k@1": "m1"}),
          final_versions("k", {"k@0": "m0"}, node="b"))
    v = checker.check_visible(h)
    assert len(v) == 1 and v[0]["inv"] == 1 and "k@1" in v[0]["what"] \
        and "node b" in v[0]["what"], v


def test_visible_catches_other_material():
    h = H(CREATE, final_versions("k", {"k@0": "m0"}),
          final_versions("k", {"k@0": "mX"}, node="b"))
    v = checker.check_visible(h)
    assert len(v) == 1 and "other material" in v[0]["what"], v


def test_visible_catches_lost_create_and_unread_key():
    h = H(CREATE, final_versions("k", {}, status=404))
    v = checker.check_visible(h)
    # missing on a, never read back on b
    assert len(v) == 2, v


def test_visible_catches_delete_undone():
    dele = {"op": "delete", "key": "k", "status": 200}
    h = H(CREATE, dele, final_versions("k", {}, status=404),
          final_versions("k", {"k@0": "m0"}, node="b"))
    v = checker.check_visible(h)
    assert len(v) == 1 and "delete" in v[0]["what"] and \
        "node b" in v[0]["what"], v


def test_visible_unacknowledged_delete_either_way():
    dele = {"op": "delete", "key": "k", "status": 503}
    h = H(CREATE, dele, final_versions("k", {}, status=404),
          final_versions("k", {"k@0": "m0"}, node="b"))
    assert checker.check_visible(h) == []


def test_visible_deleted_key_answers_no_versions():
    dele = {"op": "delete", "key": "k", "status": 200}
    h = H(CREATE, dele, final_versions("k", {}),
          final_versions("k", {}, node="b", status=404))
    assert checker.check_visible(h) == []


# ---------------------------------------------------------------- 2 eek

GEN = {"op": "generate", "key": "k", "status": 200, "node": "a",
       "eeks": [{"id": "e1", "ver": "k@0"}]}
DEC = {"op": "decrypt", "key": "k", "eek": "e1", "ver": "k@0", "status": 200,
       "dek": "d1"}


def test_eek_quiet_when_it_decrypts_everywhere():
    h = H(CREATE, GEN, DEC, final_decrypt("e1", "d1"),
          final_decrypt("e1", "d1", node="b"))
    assert checker.check_eeks(h) == []


def test_eek_catches_undecryptable_after_failover():
    h = H(CREATE, GEN, DEC, final_decrypt("e1", "d1"),
          final_decrypt("e1", None, node="b", status=400))
    v = checker.check_eeks(h)
    assert len(v) == 1 and v[0]["inv"] == 2 and "node b" in v[0]["what"], v


def test_eek_catches_other_data_key():
    h = H(CREATE, GEN, DEC, final_decrypt("e1", "d2"),
          final_decrypt("e1", "d1", node="b"))
    v = checker.check_eeks(h)
    assert len(v) == 1 and "another data key" in v[0]["what"], v


def test_eek_never_decrypted_must_still_decrypt():
    h = H(CREATE, GEN, final_decrypt("e1", None, status=400),
          final_decrypt("e1", None, node="b", status=400))
    assert len(checker.check_eeks(h)) == 2


def test_eek_deleted_key_is_exempt():
    dele = {"op": "delete", "key": "k", "status": 200}
    h = H(CREATE, GEN, DEC, dele, final_decrypt("e1", None, status=400),
          final_decrypt("e1", None, node="b", status=400))
    assert checker.check_eeks(h) == []


def test_eek_unacknowledged_delete_may_be_gone_but_not_other_key():
    dele = {"op": "delete", "key": "k", "status": 503}
    gone = H(CREATE, GEN, DEC, dele, final_decrypt("e1", None, status=400),
             final_decrypt("e1", "d1", node="b"))
    assert checker.check_eeks(gone) == []
    other = H(CREATE, GEN, DEC, dele, final_decrypt("e1", None, status=400),
              final_decrypt("e1", "d9", node="b"))
    assert len(checker.check_eeks(other)) == 1


def test_eek_reencrypted_must_keep_the_data_key():
    re = {"op": "reencrypt", "key": "k", "status": 200, "eek": "e1",
          "ver": "k@0", "eeks": [{"id": "e2", "ver": "k@1"}]}
    dec2 = {"op": "decrypt", "key": "k", "eek": "e2", "ver": "k@1",
            "status": 200, "dek": "dX"}
    v = checker.check_eeks(H(CREATE, GEN, DEC, re, dec2))
    assert len(v) == 1 and "re-encrypted" in v[0]["what"], v
    dec2["dek"] = "d1"
    assert checker.check_eeks(H(CREATE, GEN, DEC, re, dec2)) == []


# ------------------------------------------------------- 3 one-material

def test_one_material_catches_reused_version_name():
    cur = {"op": "current", "key": "k", "status": 200, "ver": "k@1",
           "mat": "mA"}
    roll = dict(ROLL, mat="mB")
    v = checker.check_one_material(H(CREATE, cur, roll))
    assert len(v) == 1 and v[0]["inv"] == 3 and "k@1" in v[0]["what"], v


def test_one_material_catches_version_in_read_back():
    v = checker.check_one_material(
        H(CREATE, ROLL, final_versions("k", {"k@0": "m0", "k@1": "mZ"})))
    assert len(v) == 1 and "k@1" in v[0]["what"], v


def test_one_material_catches_eek_with_two_data_keys():
    dec2 = dict(DEC, dek="d2", node="b")
    v = checker.check_one_material(H(CREATE, GEN, DEC, dec2))
    assert len(v) == 1 and "EEK" in v[0]["what"], v


def test_one_material_quiet():
    cur = {"op": "current", "key": "k", "status": 200, "ver": "k@1",
           "mat": "m1"}
    failed = {"op": "roll", "key": "k", "status": 503}
    assert checker.check_one_material(
        H(CREATE, ROLL, cur, failed, GEN, DEC, dict(DEC, node="b"))) == []


# ------------------------------------------------------------ 4 latency

def test_latency_catches_slow_answer_and_timeout():
    slow = {"op": "generate", "key": "k", "status": 200, "t0": 1.0,
            "t1": 4.5}
    cut = {"op": "roll", "key": "k", "status": None, "err": "timeout",
           "t0": 2.0, "t1": 12.0, "node": "b"}
    fast = {"op": "roll", "key": "k", "status": 503, "t0": 2.0, "t1": 4.9}
    v = checker.check_latency(H(slow, cut, fast), [], 3.0)
    assert [x["seq"] for x in v] == [[0], [1]], v


def test_latency_excuses_client_link_faults_of_that_node_only():
    slow_a = {"op": "generate", "key": "k", "status": 200, "t0": 1.0,
              "t1": 9.0, "node": "a"}
    slow_b = dict(slow_a, node="b")
    tl = [{"kind": "client-partition", "sep": [],
           "client": {"a": [[2.0, 5.0]]}}]
    v = checker.check_latency(H(slow_a, slow_b), tl, 3.0)
    assert [x["seq"] for x in v] == [[1]], v


# ---------------------------------------------------------- 5 partition

def test_partition_catches_write_acknowledged_while_apart():
    tl = [{"kind": "db-partition", "sep": [[10.0, 13.0]], "client": {}}]
    inside = dict(ROLL, t0=10.5, t1=11.0)
    refused = dict(ROLL, status=503, t0=10.5, t1=12.5)
    raced = dict(ROLL, t0=9.9, t1=10.2)         # started before the cut
    healed = dict(ROLL, t0=12.0, t1=13.2)       # confirmed after the heal
    v = checker.check_partition(H(inside, refused, raced, healed), tl)
    assert [x["seq"] for x in v] == [[0]] and v[0]["inv"] == 5, v


# -------------------------------------------------------------- 6 stale

def test_stale_catches_use_after_acknowledged_delete():
    dele = {"op": "delete", "key": "k", "status": 200, "t0": 10.0,
            "t1": 10.1}
    soon = dict(GEN, t0=11.0, t1=11.1)          # within the bound
    late = dict(DEC, t0=20.0, t1=20.1, node="b")
    refused = dict(GEN, status=404, t0=21.0, t1=21.1)
    v = checker.check_stale(H(dele, soon, late, refused), 3.25)
    assert [x["seq"] for x in v] == [[2]] and v[0]["inv"] == 6, v


def test_stale_ignores_unacknowledged_delete():
    dele = {"op": "delete", "key": "k", "status": 503, "t0": 10.0,
            "t1": 12.1}
    late = dict(DEC, t0=20.0, t1=20.1)
    assert checker.check_stale(H(dele, late), 3.25) == []


# ------------------------------------------------------ all and figures

def test_check_all_sorts_by_invariant():
    tl = [{"kind": "db-partition", "sep": [[0.0, 100.0]], "client": {}}]
    h = H(CREATE, final_versions("k", {"k@0": "m0"}),
          final_versions("k", {"k@0": "m0"}, node="b"))
    v = checker.check_all(h, tl, 3.0, 3.25)
    assert set(v) == {1, 2, 3, 4, 5, 6}
    assert len(v[5]) == 1 and all(not v[n] for n in (1, 2, 3, 4, 6)), v


def test_figures_per_fault():
    tl = [{"kind": "db-freeze", "t_inject": 10.0, "t_heal": 14.0,
           "sep": [], "client": {}}]
    h = H(dict(ROLL, status=503, t0=10.5, t1=12.5),
          dict(GEN, t0=11.0, t1=11.2), dict(GEN, t0=12.0, t1=12.1),
          dict(GEN, t0=20.0, t1=20.1))
    f = figures.per_fault(h, tl)["db-freeze"]
    assert f["n"] == 1 and f["first_refusal"] == [2.5]
    assert abs(f["worst_s"] - 2.0) < 1e-9 and f["reads_per_s"] == [0.5]
