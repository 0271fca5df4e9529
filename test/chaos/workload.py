"""workload: concurrent KMS clients through both nodes, every request and
answer logged to a JSON-lines history.

Each writer thread owns the keys it creates (create, roll and delete of a
key come from one thread, one at a time, and a name is never used twice),
and uses every thread's keys and EEKs: generate, decrypt and re-encrypt
EEKs, read the current version.  Reader threads only generate, decrypt
and read current versions, mostly of the keys written last.  Each request goes to node a or b at
random and has a client timeout; the threads stop when told to, or at a
hard time bound.

A history record (one JSON object a line) has: seq, th (thread, or
"final"), phase ("run" or "final"), t0/t1 (monotonic seconds from the
run's origin), node, op, key, status (HTTP status, null on a transport
error), err (the transport error's class), msg (the RemoteException
message, cut short), ver (the versionName answered or, for decrypt and
re-encrypt, of the EEK sent), mat (digest of the key material answered),
eeks (the EEKs answered: [{"id", "ver"}]), eek (the EEK sent), dek
(digest of the data key answered), vers ({versionName: digest} of a
_versions answer).  Key material and data keys are never written: only
their digests (SHA-256, 16 hex digits); EEKs stay in memory and are
named in the history by a digest of their content.
"""

import collections
import hashlib
import http.client
import json
import random
import threading
import time

import kwclient

FINAL_TRIES = 3         # a read-back answered 5xx or cut is tried again


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def eek_id(eek):
    ekv = eek.get("encryptedKeyVersion") or {}
    return digest(("%s|%s|%s" % (eek.get("versionName"), eek.get("iv"),
                                 ekv.get("material"))).encode())


def material_digest(obj):
    """Digest of obj["material"] (base64), or None."""
    m = obj.get("material") if isinstance(obj, dict) else None
    if not isinstance(m, str):
        return None
    try:
        return digest(kwclient.b64decode_any(m))
    except ValueError:
        return None


class History:
    """The run's records, in memory and appended to path as they come."""

    def __init__(self, path, origin):
        self.path = path
        self.origin = origin
        self.records = []
        self.lock = threading.Lock()
        self.f = open(path, "a")

    def now(self):
        return time.monotonic() - self.origin

    def add(self, rec):
        with self.lock:
            rec["seq"] = len(self.records)
            self.records.append(rec)
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")

    def close(self):
        with self.lock:
            self.f.close()


class Keys:
    """Every key made and every EEK handed out, shared by the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.names = []             # every name a create was sent for
        self.live = {}              # thread -> [names it may roll/delete]
        self.deleted = []           # names a delete was sent for
        self.eeks = {}              # eek id -> (eek dict, key name)
        self.eek_ids = []
        self.hot = collections.deque(maxlen=8)  # last keys written

    def touch(self, name):
        with self.lock:
            self.hot.append(name)

    def pick_name(self, rng, hot=0.0):
        """A key to use: with probability hot one just written (where a
        lost commit would show), sometimes a deleted one."""
        with self.lock:
            if self.hot and rng.random() < hot:
                return rng.choice(self.hot)
            if self.deleted and rng.random() < 0.1:
                return rng.choice(self.deleted)
            live = [n for ns in self.live.values() for n in ns]
            return rng.choice(live) if live else None

    def pick_eek(self, rng):
        with self.lock:
            if not self.eek_ids:
                return None, None
            # the recent ones mostly: they name the versions under fault
            n = len(self.eek_ids)
            i = n - 1 - min(int(rng.expovariate(1 / 50.0)), n - 1)
            eid = self.eek_ids[i]
            return eid, self.eeks[eid][0]

    def add_eeks(self, eeks, name):
        with self.lock:
            for e in eeks:
                eid = eek_id(e)
                if eid not in self.eeks:
                    self.eeks[eid] = (e, name)
                    self.eek_ids.append(eid)


def call(history, node, op, fn, *args, th=None, phase="run", key=None,
         extra=None):
    """Run fn(*args) (a kwclient call) and log it; returns (record,
    decoded JSON body or None)."""
    rec = {"th": th, "phase": phase, "node": node, "op": op, "key": key,
           "status": None, "err": None}
    if extra:
        rec.update(extra)
    rec["t0"] = history.now()
    body = None
    try:
        r = fn(*args)
        rec["status"] = r.status
        try:
            body = json.loads(r.body.decode("utf-8")) if r.body else None
        except ValueError:
            body = None
    except (OSError, http.client.HTTPException) as e:
        rec["err"] = type(e).__name__
    rec["t1"] = history.now()
    if isinstance(body, dict) and "RemoteException" in body:
        msg = body["RemoteException"].get("message")
        rec["msg"] = msg[:160] if isinstance(msg, str) else None
        body = None
    return rec, body


def describe(rec, body):
    """Fill rec with what a successful answer named (digests only)."""
    op = rec["op"]
    if body is None or rec["status"] not in (200, 201):
        return
    if op in ("create", "roll", "current", "keyversion") and \
            isinstance(body, dict):
        rec["ver"] = body.get("versionName")
        rec["mat"] = material_digest(body)
    elif op == "generate" and isinstance(body, list):
        rec["eeks"] = [{"id": eek_id(e), "ver": e.get("versionName")}
                       for e in body if isinstance(e, dict)]
    elif op == "reencrypt" and isinstance(body, dict):
        rec["eeks"] = [{"id": eek_id(body), "ver": body.get("versionName")}]
    elif op == "decrypt" and isinstance(body, dict):
        rec["dek"] = material_digest(body)
    elif op == "versions" and isinstance(body, list):
        rec["vers"] = {v.get("versionName"): material_digest(v)
                       for v in body if isinstance(v, dict)}


class Workload:
    """threads client threads over hosts {"a": Host, "b": Host}."""

    def __init__(self, hosts, history, seed, threads=4, readers=2,
                 timeout=10.0, run_id="k"):
        self.hosts = hosts
        self.history = history
        self.seed = seed
        self.nthreads = threads
        self.nreaders = readers
        self.timeout = timeout
        self.run_id = run_id
        self.keys = Keys()
        self.stop = threading.Event()
        self.threads = []

    def start(self, max_seconds):
        self.deadline = time.monotonic() + max_seconds
        for i in range(self.nthreads + self.nreaders):
            loop = self._loop if i < self.nthreads else self._read_loop
            t = threading.Thread(target=loop, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(self.timeout * 3 + 10)
        return not any(t.is_alive() for t in self.threads)

    # -- one thread
    def _loop(self, th):
        rng = random.Random("%s-%d" % (self.seed, th))
        mine = []
        with self.keys.lock:
            self.keys.live[th] = mine
        made = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            node = rng.choice("ab")
            c = self.hosts[node].client(self.timeout)
            x = rng.random()
            if not mine or (x < 0.08 and len(mine) < 6):
                made += 1
                self._create(th, node, c, "%s-t%d-%d" % (self.run_id, th,
                                                         made), mine)
            elif x < 0.18:
                self._roll(th, node, c, rng.choice(mine))
            elif x < 0.20 and len(mine) > 3:
                self._delete(th, node, c, rng.choice(mine), mine)
            elif x < 0.55:
                self._generate(th, node, c, self.keys.pick_name(rng), rng)
            elif x < 0.82:
                self._eek_op(th, node, c, "decrypt", rng)
            elif x < 0.92:
                self._eek_op(th, node, c, "reencrypt", rng)
            else:
                self._current(th, node, c, self.keys.pick_name(rng))
            self.stop.wait(0.005)

    def _read_loop(self, th):
        """A reader: generate, decrypt, current version; never blocked
        behind a write, so reads go on at full rate during a fault."""
        rng = random.Random("%s-%d" % (self.seed, th))
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            node = rng.choice("ab")
            c = self.hosts[node].client(self.timeout)
            x = rng.random()
            if x < 0.5:
                self._generate(th, node, c, self.keys.pick_name(rng, 0.7),
                               rng)
            elif x < 0.85:
                self._eek_op(th, node, c, "decrypt", rng)
            else:
                self._current(th, node, c, self.keys.pick_name(rng, 0.7))
            self.stop.wait(0.005)

    def _current(self, th, node, c, name):
        if name is None:
            return
        rec, body = call(self.history, node, "current", c.current, name,
                         th=th, key=name)
        describe(rec, body)
        self.history.add(rec)

    def _create(self, th, node, c, name, mine):
        with self.keys.lock:
            self.keys.names.append(name)
            mine.append(name)
        self.keys.touch(name)
        rec, body = call(self.history, node, "create", c.create, name, 128,
                         th=th, key=name)
        describe(rec, body)
        self.history.add(rec)

    def _roll(self, th, node, c, name):
        self.keys.touch(name)
        rec, body = call(self.history, node, "roll", c.roll, name, th=th,
                         key=name)
        describe(rec, body)
        self.history.add(rec)

    def _delete(self, th, node, c, name, mine):
        rec, _body = call(self.history, node, "delete", c.delete_key, name,
                          th=th, key=name)
        self.history.add(rec)
        # acknowledged or not, this thread writes the key no more
        with self.keys.lock:
            mine.remove(name)
            self.keys.deleted.append(name)

    def _generate(self, th, node, c, name, rng):
        if name is None:
            return
        rec, body = call(self.history, node, "generate", c.generate, name,
                         rng.choice((1, 2)), th=th, key=name)
        describe(rec, body)
        self.history.add(rec)
        if rec.get("eeks"):
            self.keys.add_eeks(body, name)

    def _eek_op(self, th, node, c, op, rng):
        eid, eek = self.keys.pick_eek(rng)
        if eek is None:
            return
        name = eek["encryptedKeyVersion"]["name"]
        rec, body = call(self.history, node, op, c.eek_op, op, eek, th=th,
                         key=name, extra={"eek": eid,
                                          "ver": eek["versionName"]})
        describe(rec, body)
        if op == "reencrypt":
            # the EEK answered must decrypt to the data key of eid
            rec["ver_in"] = eek["versionName"]
        self.history.add(rec)
        if op == "reencrypt" and rec.get("eeks"):
            self.keys.add_eeks([body], name)

    # -- after the faults
    def final_check(self, max_eeks, rng, threads=4):
        """Read back every key (_versions) and decrypt up to max_eeks EEKs
        (see _eek_sample) through both nodes,
        logged with phase "final".  Returns the number of EEKs checked."""
        jobs = []
        for name in self.keys.names:
            for node in "ab":
                jobs.append(("versions", node, name, None))
        ids = self._eek_sample(max_eeks, rng)
        for eid in ids:
            for node in "ab":
                jobs.append(("decrypt", node, eid, None))
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    if not jobs:
                        return
                    op, node, what, _ = jobs.pop()
                for _try in range(FINAL_TRIES):
                    rec = self._final_one(op, node, what)
                    if rec["status"] is not None and rec["status"] < 500:
                        break
                    time.sleep(0.5)

        ts = [threading.Thread(target=worker, daemon=True)
              for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(3600)
        return len(ids)

    def _eek_sample(self, max_eeks, rng):
        """Every EEK naming a version no acknowledged create or roll made
        (the ones a lost commit would strand), then a seeded sample of
        the rest, max_eeks in all."""
        acked = {r.get("ver") for r in self.history.records
                 if r.get("op") in ("create", "roll") and
                 r.get("status") in (200, 201)}
        ids = list(self.keys.eek_ids)
        first = [i for i in ids if self.keys.eeks[i][0].get("versionName")
                 not in acked]
        rest = [i for i in ids if i not in set(first)]
        if len(first) >= max_eeks:
            return rng.sample(first, max_eeks)
        return first + rng.sample(rest, min(len(rest), max_eeks - len(first)))

    def _final_one(self, op, node, what):
        """One read-back request (the checker uses the last per target)."""
        c = self.hosts[node].client(self.timeout)
        if op == "versions":
            rec, body = call(self.history, node, "versions", c.versions,
                             what, th="final", phase="final", key=what)
        else:
            eek, name = self.keys.eeks[what]
            rec, body = call(self.history, node, "decrypt", c.decrypt, eek,
                             th="final", phase="final", key=name,
                             extra={"eek": what, "ver": eek["versionName"]})
        describe(rec, body)
        self.history.add(rec)
        return rec
