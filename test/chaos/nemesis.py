"""nemesis: the fault cycles, drawn from a seeded PRNG.

Each fault kind is one function here: it injects, lets the workload run
for `dwell` seconds, heals, and records on the timeline when the two
databases could not reach each other ("sep" intervals: a database killed,
frozen or stopped, or the database link cut either way) and when a
client link was faulty ("client" intervals, by node).  An interval ends
when its healing action starts.  The order of the kinds is a seeded
shuffle, repeated (every kind once before any twice), and every choice
inside a fault (which node, which direction, how much loss) comes from
the same PRNG: the same seed gives the same fault sequence.

A timeline entry: {"cycle", "kind", "detail", "t_inject", "t_heal"
(healing starts), "t_writable" (both nodes writable again), "sep":
[[t0, t1]...], "client": {node: [[t0, t1]...]}}.

The two failovers after a fault (partition-failover, freeze-failover)
hold the fault for twice the dwell before killing the primary: a write
admitted at the start waits out the commit deadline, and the workload
then has time to use what that write left on the primary alone.
"""

import time

KINDS = ("db-kill", "db-freeze", "server-kill", "db-partition",
         "db-partition-oneway", "client-partition", "link-loss",
         "link-delay", "failover", "partition-failover", "freeze-failover")


class Nemesis:

    def __init__(self, cluster, net, history, rng, dwell, log=print):
        self.cluster = cluster
        self.net = net
        self.history = history
        self.rng = rng
        self.dwell = dwell
        self.log = log
        self.timeline = []
        self.order = []
        self.entry = None

    def now(self):
        return self.history.now()

    def next_kind(self):
        if not self.order:
            self.order = list(KINDS)
            self.rng.shuffle(self.order)
        return self.order.pop(0)

    # -- intervals of the current entry
    def sep_begin(self):
        """The databases are apart from now (call once the fault is in
        effect, so no write that raced the injection counts)."""
        self._open = self.now()

    def sep_end(self):
        self.entry["sep"].append([self._open, self.now()])

    def client_fault(self, node, t0):
        self.entry["client"].setdefault(node, []).append([t0, self.now()])

    def wait(self, seconds):
        time.sleep(seconds)

    def cycle(self, n, writable_timeout):
        kind = self.next_kind()
        self.entry = {"cycle": n, "kind": kind, "detail": "",
                      "t_inject": self.now(), "sep": [], "client": {}}
        self.timeline.append(self.entry)
        detail = getattr(self, "_" + kind.replace("-", "_"))()
        self.entry["detail"] = detail
        self.entry["t_writable"] = None
        waited = self.cluster.wait_writable(writable_timeout)
        self.entry["t_writable"] = self.now()
        return kind, detail, waited

    def _heal_start(self):
        self.entry["t_heal"] = self.now()

    # -- process faults
    def _target(self):
        role = self.rng.choice(("primary", "standby"))
        key = self.cluster.primary if role == "primary" else \
            self.cluster.other(self.cluster.primary)
        return role, key

    def _db_kill(self):
        role, key = self._target()
        self.cluster.hosts[key].kill_db()
        self.sep_begin()
        self.wait(self.dwell)
        self._heal_start()
        self.sep_end()
        self.cluster.hosts[key].start_db()
        return "SIGKILL %s database (%s)" % (role, key)

    def _db_freeze(self):
        role, key = self._target()
        self.cluster.hosts[key].freeze_db()
        self.sep_begin()
        self.wait(self.dwell)
        self._heal_start()
        self.sep_end()
        self.cluster.hosts[key].thaw_db()
        return "SIGSTOP %s database (%s)" % (role, key)

    def _server_kill(self):
        key = self.rng.choice("ab")
        self.cluster.hosts[key].kill_server()
        self.wait(self.dwell)
        self._heal_start()
        self.cluster.hosts[key].start_server()
        return "SIGKILL server %s" % key

    # -- network faults
    def _db_partition(self):
        self.net.drop("db", "both")
        self.sep_begin()
        self.wait(self.dwell)
        self._heal_start()
        self.sep_end()
        self.net.heal()
        return "database link cut both ways"

    def _db_partition_oneway(self):
        way = self.rng.choice(("x>y", "y>x"))
        self.net.drop("db", way)
        self.sep_begin()
        self.wait(self.dwell)
        self._heal_start()
        self.sep_end()
        self.net.heal()
        return "database link cut %s" % ("a->b" if way == "x>y" else "b->a")

    def _client_partition(self):
        key = self.rng.choice("ab")
        t0 = self.now()
        self.net.drop("client-" + key, "both")
        self.wait(self.dwell)
        self._heal_start()
        self.client_fault(key, t0)
        self.net.heal()
        return "clients cut from node %s" % key

    def _link(self):
        return self.rng.choice(("db", "client-a", "client-b"))

    def _link_loss(self):
        link, pct = self._link(), self.rng.choice((10, 25, 40))
        t0 = self.now()
        self.net.loss(link, pct)
        self.wait(self.dwell)
        self._heal_start()
        if link != "db":
            self.client_fault(link[-1], t0)
        self.net.heal()
        return "%d%% loss on link %s" % (pct, link)

    def _link_delay(self):
        link, ms = self._link(), self.rng.choice((50, 200, 400))
        t0 = self.now()
        how = self.net.slow(link, ms)
        self.wait(self.dwell)
        self._heal_start()
        if link != "db":
            self.client_fault(link[-1], t0)
        self.net.heal()
        return "link %s slowed: %s" % (link, how)

    # -- failovers
    def _switch(self, old, heal_first=None):
        """Promote the other database (old's is stopped or dead), then
        rejoin old's as its standby; sep ends when the rejoin starts."""
        new = self.cluster.other(old)
        self._heal_start()
        if heal_first:
            heal_first()
        self.cluster.promote(new)
        self.sep_end()
        how = self.cluster.rejoin(old)
        return new, how

    def _failover(self):
        old = self.cluster.primary
        self.cluster.hosts[old].stop_db()
        self.sep_begin()
        self.wait(self.dwell)
        new, how = self._switch(old)
        return "stop %s, promote %s, rejoin %s (%s)" % (old, new, old, how)

    def _partition_failover(self):
        old = self.cluster.primary
        self.net.drop("db", "both")
        self.sep_begin()
        self.wait(2 * self.dwell)
        self.cluster.hosts[old].kill_db()
        new, how = self._switch(old, heal_first=self.net.heal)
        return ("cut the database link, SIGKILL primary %s, heal, promote "
                "%s, rejoin %s (%s)" % (old, new, old, how))

    def _freeze_failover(self):
        old = self.cluster.primary
        standby = self.cluster.hosts[self.cluster.other(old)]
        standby.freeze_db()
        self.sep_begin()
        self.wait(2 * self.dwell)
        self.cluster.hosts[old].kill_db()
        new, how = self._switch(old, heal_first=standby.thaw_db)
        return ("SIGSTOP standby %s, SIGKILL primary %s, SIGCONT, promote "
                "%s, rejoin %s (%s)" % (new, old, new, old, how))
