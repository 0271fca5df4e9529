"""figures: what the chaos suite prints at the end, from the history and
the timeline: operations by kind (ok/failed), faults by kind, and for each
fault kind the time from injection to the first refused write, the worst
request latency and the read throughput (successful generate, decrypt,
re-encrypt and current-version reads per second) while the fault lasted.
"""

from checker import NAMES, ok

WRITE_OPS = ("create", "roll", "delete")
READ_OPS = ("generate", "decrypt", "reencrypt", "current")


def ops_by_kind(records, phase="run"):
    out = {}
    for r in records:
        if r.get("phase") != phase:
            continue
        c = out.setdefault(r["op"], [0, 0])
        c[0 if ok(r) else 1] += 1
    return out


def per_fault(records, timeline):
    """{kind: {"n", "first_refusal": [s...], "no_refusal", "worst_s",
    "reads_per_s": [..]}}"""
    run = sorted((r for r in records if r.get("phase") == "run"),
                 key=lambda r: r["t0"])
    out = {}
    for e in timeline:
        t0 = e["t_inject"]
        t1 = e.get("t_heal") or e.get("t_writable") or t0
        f = out.setdefault(e["kind"], {"n": 0, "first_refusal": [],
                                       "no_refusal": 0, "worst_s": 0.0,
                                       "reads_per_s": []})
        f["n"] += 1
        inside = [r for r in run if t0 <= r["t0"] < t1]
        refused = [r["t1"] - t0 for r in inside
                   if r["op"] in WRITE_OPS and r.get("status") == 503]
        if refused:
            f["first_refusal"].append(min(refused))
        else:
            f["no_refusal"] += 1
        if inside:
            f["worst_s"] = max(f["worst_s"],
                               max(r["t1"] - r["t0"] for r in inside))
        reads = sum(1 for r in inside if r["op"] in READ_OPS and ok(r))
        if t1 > t0:
            f["reads_per_s"].append(reads / (t1 - t0))
    return out


def _med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def _fmt(x, unit=""):
    return "-" if x is None else "%.2f%s" % (x, unit)


def report(records, timeline, violations, cycles, out=print):
    out("chaos: cycles run: %d" % cycles)
    out("chaos: operations (ok/failed):")
    for op, (good, bad) in sorted(ops_by_kind(records).items()):
        out("  %-10s %6d / %d" % (op, good, bad))
    fin = ops_by_kind(records, "final")
    if fin:
        out("chaos: final read-back (ok/failed): " + ", ".join(
            "%s %d/%d" % (op, g, b) for op, (g, b) in sorted(fin.items())))
    out("chaos: faults by kind: first refused write (median/max s, "
        "faults without one), worst latency s, reads/s (median):")
    for kind, f in sorted(per_fault(records, timeline).items()):
        fr = f["first_refusal"]
        out("  %-20s %3d x  refusal %s/%s (%d none)  worst %s  reads/s %s"
            % (kind, f["n"], _fmt(_med(fr)), _fmt(max(fr) if fr else None),
               f["no_refusal"], _fmt(f["worst_s"]),
               _fmt(_med(f["reads_per_s"]))))
    total = sum(len(v) for v in violations.values())
    out("chaos: violations: %d (%s)" % (total, ", ".join(
        "%d %s: %d" % (n, NAMES[n], len(v))
        for n, v in sorted(violations.items()))))
    return total
