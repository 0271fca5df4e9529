#!/usr/bin/python3
"""chaos: keyward's nemesis suite (make chaos, make chaos-smoke).

Builds two hosts in network namespaces (netns.py), a keyward pair on
them (cluster.py), runs concurrent clients through both nodes (workload.py)
while seeded fault cycles break and heal the pair (nemesis.py), reads
everything back once the pair is healed, checks the invariants over the
history (checker.py) and prints the figures (figures.py).  Exit status 0
only when no invariant was violated and some operations succeeded.

Settings (environment):
  CHAOS_CYCLES     fault cycles (200)
  CHAOS_SEED       PRNG seed of the fault sequence (random, printed)
  CHAOS_DWELL      seconds each fault lasts with the workload running (3)
  CHAOS_THREADS    client threads that write and read (4)
  CHAOS_READERS    client threads that only read (2)
  CHAOS_FINAL_EEKS EEKs decrypted on both nodes at the end (3000, sampled)
  CHAOS_STALE_MS   bound for invariant 6 (monitor interval + 3000)
  CHAOS_BIN        directory of keyward-server and keyward-admin (else
                   BUILD, else build/ of this checkout)
  CHAOS_KEEP=1     keep the run's directory (history, logs, databases)
  CHAOS_SMOKE=1    not root: print "skipped: needs root" and exit 0

SIGINT or SIGTERM during the cycles heals what it can and goes on to the
read-back and the checks; a second one stops at once (cleaning up).
"""

import atexit
import glob
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

import checker          # noqa: E402
import cluster          # noqa: E402
import figures          # noqa: E402
import nemesis          # noqa: E402
import netns            # noqa: E402
import workload         # noqa: E402

WRITABLE_TIMEOUT = 90.0
SETUP_WRITABLE_TIMEOUT = 30.0


def say(msg):
    print(msg, flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def bindir():
    d = os.environ.get("CHAOS_BIN") or os.environ.get("BUILD") or "build"
    return d if os.path.isabs(d) else os.path.join(REPO, d)


def remove_leftover_dirs():
    """Temp dirs of earlier runs (kwchaos-PID-*) whose PID is gone."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "kwchaos-*")):
        m = re.match(r"^kwchaos-(\d+)-", os.path.basename(d))
        if m and not netns.pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


class Run:
    def __init__(self):
        self.net = None
        self.cluster = None
        self.dir = None
        self.closed = False

    def close(self, keep_all, keep_history):
        if self.closed:
            return
        self.closed = True
        if self.cluster is not None:
            self.cluster.close()
        if self.net is not None:
            self.net.close()
        if self.dir is None or keep_all:
            return
        if keep_history:
            # the databases are large; history, timeline and logs stay
            for sub in ("db-a", "db-b", "pki"):
                shutil.rmtree(os.path.join(self.dir, sub), ignore_errors=True)
            for old in glob.glob(os.path.join(self.dir, "db-*.old-*")):
                shutil.rmtree(old, ignore_errors=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def _sigterm(_signum, _frame):
    raise KeyboardInterrupt("SIGTERM")


def main():
    if os.geteuid() != 0:
        if os.environ.get("CHAOS_SMOKE"):
            say("chaos: skipped: needs root (network namespaces)")
            return 0
        say("chaos: needs root (network namespaces)")
        return 1
    bins = bindir()
    for b in ("keyward-server", "keyward-admin"):
        if not os.access(os.path.join(bins, b), os.X_OK):
            say("chaos: %s not built in %s" % (b, bins))
            return 1
    signal.signal(signal.SIGTERM, _sigterm)
    # a shell's background job starts with SIGINT ignored: take it back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cycles = env_int("CHAOS_CYCLES", 200)
    seed = os.environ.get("CHAOS_SEED") or str(random.SystemRandom()
                                               .randrange(1, 2**31))
    dwell = float(os.environ.get("CHAOS_DWELL") or 3)
    threads = env_int("CHAOS_THREADS", 4)
    keep = os.environ.get("CHAOS_KEEP") == "1"
    say("chaos: seed %s, %d cycles, %.1f s each fault, %d client threads, "
        "binaries from %s" % (seed, cycles, dwell, threads, bins))
    netns.remove_leftovers(say)
    remove_leftover_dirs()

    run = Run()
    failed = True
    atexit.register(run.close, keep, True)
    try:
        run.dir = tempfile.mkdtemp(prefix="kwchaos-%d-" % os.getpid())
        os.chmod(run.dir, 0o711)
        run.net = netns.Net(log=say)
        run.net.up()
        say("chaos: hosts %s, %s in %s (netem: %s); run dir %s"
            % (run.net.ns["a"], run.net.ns["b"], run.net.subnet,
               "yes" if run.net.netem else "no, delay is a slow link",
               run.dir))
        run.cluster = cluster.Cluster(run.net, run.dir, bins, REPO, log=say)
        t = time.monotonic()
        run.cluster.setup()
        run.cluster.wait_writable(SETUP_WRITABLE_TIMEOUT)
        say("chaos: pair up in %.1f s" % (time.monotonic() - t))
        failed = run_cycles(run, seed, cycles, dwell, threads)
    except KeyboardInterrupt:
        say("chaos: interrupted")
        failed = True
    finally:
        run.close(keep, failed)
        if run.dir and (keep or failed) and os.path.isdir(run.dir):
            say("chaos: kept %s" % run.dir)
    return 1 if failed else 0


def heal_everything(run):
    """After an interrupted fault: links healed, databases thawed and
    started, servers started (what is still broken shows as liveness)."""
    run.net.heal()
    for h in run.cluster.hosts.values():
        try:
            h.thaw_db()
            h.start_db()
            if h.proc is None or h.proc.poll() is not None:
                h.start_server()
        except RuntimeError as e:
            say("chaos: healing %s: %s" % (h.name, e))


def run_cycles(run, seed, cycles, dwell, threads):
    c = run.cluster
    deadline_ms = int(c.setting("db", "commit_deadline_ms", "2000"))
    monitor_ms = int(c.setting("db", "monitor_interval_ms", "250"))
    limit_s = deadline_ms / 1000.0 + 1.0
    stale_s = env_int("CHAOS_STALE_MS", monitor_ms + 3000) / 1000.0
    hist_path = os.path.join(run.dir, "history.jsonl")
    say("chaos: history %s; latency limit %.2f s, staleness bound %.2f s"
        % (hist_path, limit_s, stale_s))
    history = workload.History(hist_path, time.monotonic())
    wl = workload.Workload(c.hosts, history, seed, threads=threads,
                           readers=env_int("CHAOS_READERS", 2),
                           timeout=limit_s + 7.0,
                           run_id="c%x" % (os.getpid() & 0xffff))
    rng = random.Random(seed)
    nem = nemesis.Nemesis(c, run.net, history, rng, dwell, log=say)
    liveness = []
    wl.start(max_seconds=cycles * (dwell + WRITABLE_TIMEOUT + 60) + 60)
    time.sleep(min(dwell, 1.0))
    done = 0
    for n in range(1, cycles + 1):
        try:
            kind, detail, waited = nem.cycle(n, WRITABLE_TIMEOUT)
        except KeyboardInterrupt:
            # stop early but still check what ran (a second one aborts)
            say("chaos: interrupted in cycle %d: healing, then checking the "
                "cycles run" % n)
            heal_everything(run)
            break
        except RuntimeError as e:
            liveness.append(checker.violation(0, "cycle %d (%s): %s"
                                              % (n, nem.entry["kind"], e)))
            say("chaos: cycle %d/%d %s: %s" % (n, cycles, nem.entry["kind"],
                                               e))
            break
        done = n
        say("chaos: cycle %d/%d %s: %s; writable after %.1f s"
            % (n, cycles, kind, detail, waited))
        time.sleep(0.5)         # some calm between faults
    if not wl.finish():
        say("chaos: client threads did not stop")
    with open(os.path.join(run.dir, "timeline.json"), "w") as f:
        json.dump(nem.timeline, f, indent=1)
    n_eeks = 0
    try:
        c.wait_writable(WRITABLE_TIMEOUT)
        n_eeks = wl.final_check(env_int("CHAOS_FINAL_EEKS", 3000), rng,
                                threads=threads)
    except RuntimeError as e:
        liveness.append(checker.violation(0, "at the end: %s" % e))
    history.close()
    say("chaos: read back %d keys and %d of %d EEKs on both nodes"
        % (len(wl.keys.names), n_eeks, len(wl.keys.eek_ids)))
    violations = checker.check_all(history.records, nem.timeline, limit_s,
                                   stale_s)
    violations[0] = liveness
    for n, vs in sorted(violations.items()):
        for v in vs[:15]:
            say("chaos: VIOLATION %d %s: %s (history seq %s)"
                % (n, checker.NAMES[n], v["what"], v["seq"]))
        if len(vs) > 15:
            say("chaos: ... and %d more of invariant %d" % (len(vs) - 15, n))
    total = figures.report(history.records, nem.timeline, violations, done,
                           out=say)
    good = sum(g for g, _b in figures.ops_by_kind(history.records).values())
    if good == 0:
        say("chaos: FAILED: no operation succeeded")
        return True
    say("chaos: %s (seed %s)" % ("FAILED" if total else "passed", seed))
    return total > 0


if __name__ == "__main__":
    sys.exit(main())
