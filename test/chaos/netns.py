"""netns: the chaos suite's two hosts as network namespaces, and the
link faults between them.

Topology (one /24 of the benchmarking range 198.18.0.0/15 per run, chosen
from the PID and skipped when the root namespace already has an address
in it):

    root namespace (clients)
      .1 ---- veth ---- .2   host a   .9 ---- veth ---- .10   host b
      .5 ---- veth ----------------------------------- .6    host b

The client links are the root namespace's veth to each host; the database
link is the veth between the two hosts (each database listens on its end,
so the two databases reach each other only there).  Nothing is routed
between links: a fault on one link cannot be bypassed through another.

Faults are nftables rules in a table "chaos" inside a host's namespace
(drop on an interface, one or both directions; random loss with numgen)
and tc on the link's two ends (netem delay where the kernel has it, a
token bucket that slows the link to a crawl where it does not).  The
root namespace gets no nftables rules; only tc on its own veth ends.

What this module does not own: processes (cluster.py starts them with
`ip netns exec`).  Namespaces are named PREFIX-PID-a/b; remove_leftovers()
deletes those of runs whose PID is gone, and only those.
"""

import ipaddress
import os
import re
import signal
import subprocess

PREFIX = "kwchaos"
RANGE = ipaddress.ip_network("198.18.0.0/15")
CMD_TIMEOUT = 30.0


def sh(cmd, check=True, input_text=None):
    """Run cmd (a list); returns (rc, stdout+stderr).  Raises on failure
    when check."""
    p = subprocess.run(cmd, input=input_text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=CMD_TIMEOUT,
                       text=True,
                       stdin=None if input_text is not None
                       else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                p.stdout.strip()))
    return p.returncode, p.stdout


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def netns_pids(ns):
    rc, out = sh(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in out.split()] if rc == 0 else []


def remove_namespace(ns):
    """SIGKILL what still runs in ns (by PID) and delete it."""
    for pid in netns_pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sh(["ip", "netns", "del", ns], check=False)


def remove_leftovers(log=print):
    """Delete namespaces PREFIX-PID-* whose run (PID) is gone; returns the
    names removed.  A namespace of a run still going is left alone."""
    rc, out = sh(["ip", "netns", "list"], check=False)
    gone = []
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^%s-(\d+)-[ab]$" % PREFIX, name)
        if m and not pid_alive(int(m.group(1))):
            remove_namespace(name)
            gone.append(name)
    if gone:
        log("chaos: removed leftover namespaces %s" % ", ".join(gone))
    return gone


def _used_addresses():
    rc, out = sh(["ip", "-4", "-o", "addr", "show"], check=False)
    return [ipaddress.ip_interface(m).ip
            for m in re.findall(r"inet (\S+)", out)]


def pick_subnet(pid):
    """A /24 of RANGE for this run, none of whose addresses the root
    namespace has."""
    subnets = list(RANGE.subnets(new_prefix=24))
    used = _used_addresses()
    for i in range(len(subnets)):
        net = subnets[(pid + i) % len(subnets)]
        if not any(a in net for a in used):
            return net
    raise RuntimeError("no free /24 in %s" % RANGE)


class Link:
    """A veth between two namespaces (None = root).  end_x is the
    interface in ns_x; addr_x its address."""

    def __init__(self, name, ns_x, dev_x, addr_x, ns_y, dev_y, addr_y):
        self.name = name
        self.ns_x, self.dev_x, self.addr_x = ns_x, dev_x, addr_x
        self.ns_y, self.dev_y, self.addr_y = ns_y, dev_y, addr_y

    def ends(self):
        return ((self.ns_x, self.dev_x), (self.ns_y, self.dev_y))


def in_ns(ns, cmd):
    return cmd if ns is None else ["ip", "netns", "exec", ns] + cmd


class Net:
    """The namespaces and links of one run; close() removes them."""

    def __init__(self, pid=None, log=print):
        self.pid = pid or os.getpid()
        self.log = log
        self.ns = {"a": "%s-%d-a" % (PREFIX, self.pid),
                   "b": "%s-%d-b" % (PREFIX, self.pid)}
        self.made = []
        self.root_devs = []
        net = pick_subnet(self.pid)
        h = list(net.hosts())
        # .1/.2 client link a, .5/.6 client link b, .9/.10 database link
        self.client_addr = {"a": str(h[0]), "b": str(h[4])}
        self.host_addr = {"a": str(h[1]), "b": str(h[5])}
        self.db_addr = {"a": str(h[8]), "b": str(h[9])}
        self.subnet = net
        tag = "%x" % (self.pid & 0xfffff)
        self.links = {
            "client-a": Link("client-a", None, "kwc%sa" % tag,
                             self.client_addr["a"], self.ns["a"], "kwcl",
                             self.host_addr["a"]),
            "client-b": Link("client-b", None, "kwc%sb" % tag,
                             self.client_addr["b"], self.ns["b"], "kwcl",
                             self.host_addr["b"]),
            "db": Link("db", self.ns["a"], "kwdb", self.db_addr["a"],
                       self.ns["b"], "kwdb", self.db_addr["b"]),
        }
        self.netem = None

    # -- building
    def up(self):
        for ns in self.ns.values():
            sh(["ip", "netns", "add", ns])
            self.made.append(ns)
            sh(in_ns(ns, ["ip", "link", "set", "lo", "up"]))
        for link in self.links.values():
            self._veth(link)
        self.netem = self._has_netem()

    def _veth(self, link):
        # made in the root namespace, then each end moved to its own
        short = {"client-a": "a", "client-b": "b", "db": "d"}[link.name]
        tmp_y = link.dev_y if link.ns_y is None else "kwt%x%s" % (
            self.pid & 0xffff, short)
        tmp_x = link.dev_x if link.ns_x is None else "kwu%x%s" % (
            self.pid & 0xffff, short)
        sh(["ip", "link", "add", "name", tmp_x, "type", "veth", "peer",
            "name", tmp_y])
        if link.ns_x is None:
            self.root_devs.append(tmp_x)
        for ns, tmp, dev, addr in ((link.ns_x, tmp_x, link.dev_x,
                                    link.addr_x),
                                   (link.ns_y, tmp_y, link.dev_y,
                                    link.addr_y)):
            if ns is not None:
                sh(["ip", "link", "set", tmp, "netns", ns])
                sh(in_ns(ns, ["ip", "link", "set", tmp, "name", dev]))
            sh(in_ns(ns, ["ip", "addr", "add", addr + "/30", "dev", dev]))
            sh(in_ns(ns, ["ip", "link", "set", dev, "up"]))

    def _has_netem(self):
        ns, dev = self.links["db"].ends()[0]
        rc, _out = sh(in_ns(ns, ["tc", "qdisc", "add", "dev", dev, "root",
                                 "netem", "delay", "1ms"]), check=False)
        if rc == 0:
            sh(in_ns(ns, ["tc", "qdisc", "del", "dev", dev, "root"]),
               check=False)
        return rc == 0

    def close(self):
        """Remove everything up() made (safe to call twice)."""
        for ns in reversed(self.made):
            remove_namespace(ns)
        self.made = []
        for dev in self.root_devs:
            sh(["ip", "link", "del", dev], check=False)
        self.root_devs = []

    # -- faults
    def _nft(self, ns, rules):
        """Add rules (nft syntax, one per line) to table inet chaos of ns."""
        text = ("table inet chaos {\n"
                " chain in { type filter hook input priority 0; }\n"
                " chain out { type filter hook output priority 0; }\n}\n")
        text += "".join("add rule inet chaos %s\n" % r for r in rules)
        sh(in_ns(ns, ["nft", "-f", "-"]), input_text=text)

    def drop(self, link_name, direction="both"):
        """Partition a link: "both", or "x>y" / "y>x" (only packets going
        that way are lost).  Rules sit in the host namespaces only."""
        link = self.links[link_name]
        # a host end (never root) can drop both what it sends and receives
        if link.ns_x is not None:
            ns, dev = link.ns_x, link.dev_x
            out_dir, in_dir = "x>y", "y>x"
        else:
            ns, dev = link.ns_y, link.dev_y
            out_dir, in_dir = "y>x", "x>y"
        rules = []
        if direction in ("both", out_dir):
            rules.append('out oifname "%s" drop' % dev)
        if direction in ("both", in_dir):
            rules.append('in iifname "%s" drop' % dev)
        self._nft(ns, rules)

    def loss(self, link_name, percent):
        """Random loss of percent % of the packets each way."""
        link = self.links[link_name]
        ns, dev = (link.ns_x, link.dev_x) if link.ns_x is not None else \
            (link.ns_y, link.dev_y)
        self._nft(ns, ['out oifname "%s" numgen random mod 100 < %d drop'
                       % (dev, percent),
                       'in iifname "%s" numgen random mod 100 < %d drop'
                       % (dev, percent)])

    def slow(self, link_name, delay_ms):
        """Delay both ends' egress: netem delay when the kernel has it,
        else a token bucket at 256 kbit/s (delay grows with the load).
        Returns what was done, for the report."""
        link = self.links[link_name]
        for ns, dev in link.ends():
            if self.netem:
                sh(in_ns(ns, ["tc", "qdisc", "add", "dev", dev, "root",
                              "netem", "delay", "%dms" % delay_ms,
                              "%dms" % (delay_ms // 4)]))
            else:
                sh(in_ns(ns, ["tc", "qdisc", "add", "dev", dev, "root",
                              "tbf", "rate", "256kbit", "burst", "4kb",
                              "latency", "%dms" % (delay_ms * 4)]))
        return "netem %d ms" % delay_ms if self.netem else \
            "tbf 256 kbit/s (no netem in this kernel)"

    def heal(self):
        """Remove every link fault (nft tables, tc qdiscs)."""
        for ns in self.ns.values():
            sh(in_ns(ns, ["nft", "delete", "table", "inet", "chaos"]),
               check=False)
        for link in self.links.values():
            for ns, dev in link.ends():
                sh(in_ns(ns, ["tc", "qdisc", "del", "dev", dev, "root"]),
                   check=False)
