"""checker: the chaos suite's invariants over a history (workload.py's
records) and the nemesis timeline.  Pure functions of their inputs, so
each is tested on small hand-made histories (test_checker.py).

Each check returns a list of violations: {"inv": N, "what": text, "seq":
the record(s) concerned}.

  1 visible     every acknowledged create, roll and delete is visible on
                both nodes in the final read-back (_versions: a deleted
                key answers 404 or no versions; a key with a delete sent
                but not acknowledged may be either way)
  2 eek         every EEK handed out and read back decrypts on both nodes
                to the data key of its first decrypt (unless its key has
                an acknowledged delete; with an unacknowledged delete it
                may be gone, but never another data key); an EEK from a
                re-encrypt decrypts to the data key of the EEK it came from
  3 one-material no version name is seen with two materials, and no EEK
                decrypts to two data keys
  4 latency     no request waited longer than the commit deadline + 1 s:
                every request of the run phase, reads and writes, answered
                or cut by the client's timeout, except those that overlap a
                fault on the client link of the node they went to
  5 partition   no write was acknowledged that started after the two
                databases lost each other and ended before they could
                reach each other again
  6 stale       no generate, decrypt or re-encrypt of a key succeeded
                that started later than the staleness bound after an
                acknowledged delete of that key
"""

ACK_STATUS = {"create": 201, "roll": 200, "delete": 200}
KEY_USE = ("generate", "decrypt", "reencrypt")
GONE = (400, 404)       # a decrypt of a version that is not there: 400
MATERIAL_OPS = ("create", "roll", "current", "keyversion")
NAMES = {0: "liveness", 1: "visible", 2: "eek", 3: "one-material",
         4: "latency", 5: "partition", 6: "stale"}


def acked(rec):
    """An acknowledged write (a read or a cut request is not one)."""
    op = rec.get("op")
    return op in ACK_STATUS and rec.get("status") == ACK_STATUS[op]


def ok(rec):
    return rec.get("status") in (200, 201)


def violation(inv, what, *seqs):
    return {"inv": inv, "what": what, "seq": list(seqs)}


def _deletes(records):
    """({key: seq of an acknowledged delete}, {keys with any delete sent})"""
    acked_del, sent = {}, set()
    for r in records:
        if r.get("op") == "delete" and r.get("phase") == "run":
            sent.add(r["key"])
            if acked(r):
                acked_del.setdefault(r["key"], r["seq"])
    return acked_del, sent


def _final(records, op):
    """{(node, target): last final record} for op; target is the key
    (versions) or the EEK id (decrypt)."""
    out = {}
    for r in records:
        if r.get("phase") == "final" and r.get("op") == op:
            target = r.get("eek") if op == "decrypt" else r.get("key")
            out[(r["node"], target)] = r
    return out


def check_visible(records):
    acked_del, sent = _deletes(records)
    final = _final(records, "versions")
    out = []
    for r in records:
        if r.get("phase") != "run" or not acked(r):
            continue
        key = r["key"]
        for node in ("a", "b"):
            f = final.get((node, key))
            if f is None:
                out.append(violation(1, "%s of %s (acknowledged) was not read "
                                     "back on node %s" % (r["op"], key, node),
                                     r["seq"]))
                continue
            vers = (f.get("vers") or {}) if f.get("status") == 200 else {}
            if r["op"] == "delete":
                if f.get("status") not in (200, 404) or vers:
                    out.append(violation(
                        1, "acknowledged delete of %s: node %s still has it "
                        "(%s, %d versions)" % (key, node, f.get("status"),
                                               len(vers)), r["seq"],
                        f["seq"]))
                continue
            if key in sent:
                continue            # deleted later: either way is right
            if r.get("ver") not in vers:
                out.append(violation(
                    1, "acknowledged %s %s missing on node %s (status %s)"
                    % (r["op"], r.get("ver"), node, f.get("status")),
                    r["seq"], f["seq"]))
            elif r.get("mat") is not None and vers[r["ver"]] != r["mat"]:
                out.append(violation(
                    1, "acknowledged %s %s has other material on node %s"
                    % (r["op"], r["ver"], node), r["seq"], f["seq"]))
    return out


def _eeks_handed_out(records):
    """{eek id: (record that handed it out, source EEK id or None)}"""
    out = {}
    for r in records:
        if r.get("phase") == "run" and ok(r) and \
                r.get("op") in ("generate", "reencrypt"):
            for e in r.get("eeks") or ():
                src = r.get("eek") if r["op"] == "reencrypt" else None
                out.setdefault(e["id"], (r, src))
    return out


def _first_dek(records):
    """{eek id: (dek digest, seq)} of each EEK's first successful decrypt
    (by end time)."""
    out = {}
    for r in sorted((r for r in records if r.get("op") == "decrypt" and
                     ok(r) and r.get("dek")), key=lambda r: r["t1"]):
        out.setdefault(r["eek"], (r["dek"], r["seq"]))
    return out


def check_eeks(records):
    acked_del, sent = _deletes(records)
    handed = _eeks_handed_out(records)
    first = _first_dek(records)
    final = _final(records, "decrypt")
    out = []
    for eid, (gen, src) in handed.items():
        key = gen["key"]
        if key in acked_del:
            continue
        ref = first.get(eid)
        for node in ("a", "b"):
            f = final.get((node, eid))
            if f is None:
                continue            # not in the read-back sample
            if f.get("status") != 200:
                if key in sent and f.get("status") in GONE:
                    continue        # unacknowledged delete: may be gone
                out.append(violation(
                    2, "EEK under %s (handed out by node %s) does not "
                    "decrypt on node %s after the faults: %s %s"
                    % (gen.get("ver") or key, gen["node"], node,
                       f.get("status"), f.get("msg") or f.get("err") or ""),
                    gen["seq"], f["seq"]))
            elif ref is not None and f.get("dek") != ref[0]:
                out.append(violation(
                    2, "EEK under %s decrypts on node %s to another data key "
                    "than at its first decrypt" % (f.get("ver"), node),
                    gen["seq"], ref[1], f["seq"]))
        if src is not None and ref is not None and src in first and \
                first[src][0] != ref[0]:
            out.append(violation(
                2, "EEK re-encrypted to %s decrypts to another data key than "
                "the EEK it came from" % gen.get("ver"), gen["seq"],
                first[src][1], ref[1]))
    return out


def check_one_material(records):
    mats, deks = {}, {}
    for r in records:
        if not ok(r):
            continue
        if r.get("op") in MATERIAL_OPS and r.get("ver") and r.get("mat"):
            mats.setdefault(r["ver"], {}).setdefault(r["mat"], r["seq"])
        elif r.get("op") == "versions":
            for ver, mat in (r.get("vers") or {}).items():
                if ver and mat:
                    mats.setdefault(ver, {}).setdefault(mat, r["seq"])
        elif r.get("op") == "decrypt" and r.get("dek"):
            deks.setdefault(r["eek"], {}).setdefault(r["dek"], r["seq"])
    out = []
    for ver, seen in sorted(mats.items()):
        if len(seen) > 1:
            out.append(violation(3, "version %s seen with %d materials"
                                 % (ver, len(seen)), *sorted(seen.values())))
    for eid, seen in sorted(deks.items()):
        if len(seen) > 1:
            out.append(violation(3, "one EEK decrypted to %d data keys"
                                 % len(seen), *sorted(seen.values())))
    return out


def _overlaps(t0, t1, intervals):
    return any(a < t1 and t0 < b for a, b in intervals)


def check_latency(records, timeline, limit_s):
    client = {}
    for e in timeline:
        for node, ivs in (e.get("client") or {}).items():
            client.setdefault(node, []).extend(ivs)
    out = []
    for r in records:
        if r.get("phase") != "run":
            continue
        took = r["t1"] - r["t0"]
        if took > limit_s and \
                not _overlaps(r["t0"], r["t1"], client.get(r["node"], [])):
            out.append(violation(
                4, "%s %s on node %s took %.2f s (limit %.2f s): %s"
                % (r["op"], r.get("key"), r["node"], took, limit_s,
                   r.get("status") or r.get("err")), r["seq"]))
    return out


def check_partition(records, timeline):
    seps = [iv for e in timeline for iv in e.get("sep") or ()]
    out = []
    for r in records:
        if r.get("phase") != "run" or not acked(r):
            continue
        for a, b in seps:
            if a <= r["t0"] and r["t1"] <= b:
                out.append(violation(
                    5, "%s %s acknowledged by node %s at %.2f s while the "
                    "databases were apart (%.2f-%.2f s)"
                    % (r["op"], r.get("ver") or r["key"], r["node"], r["t1"],
                       a, b), r["seq"]))
                break
    return out


def check_stale(records, stale_s):
    acked_at = {}
    for r in records:
        if r.get("op") == "delete" and acked(r):
            acked_at[r["key"]] = min(acked_at.get(r["key"], r["t1"]),
                                     r["t1"])
    out = []
    for r in records:
        if r.get("op") in KEY_USE and ok(r) and r.get("key") in acked_at and \
                r["t0"] > acked_at[r["key"]] + stale_s:
            out.append(violation(
                6, "%s of %s succeeded on node %s %.2f s after its delete "
                "was acknowledged" % (r["op"], r["key"], r["node"],
                                      r["t0"] - acked_at[r["key"]]),
                r["seq"]))
    return out


def check_all(records, timeline, limit_s, stale_s):
    """Every invariant; returns {inv number: [violations]}."""
    found = (check_visible(records) + check_eeks(records) +
             check_one_material(records) +
             check_latency(records, timeline, limit_s) +
             check_partition(records, timeline) +
             check_stale(records, stale_s))
    out = {n: [] for n in range(1, 7)}
    for v in found:
        out[v["inv"]].append(v)
    return out
