"""mkeykit: master-key helpers for the rotation and sealing tests.

keyward-admin master-key status --json read back, a new master key added
on one node and installed on the other (copy, SIGHUP, wait until both
servers report holding it), waits for the rewrap, and the KEK ids the
databases hold.  Every wait is bounded.
"""

import json
import os
import shutil
import signal
import time

INSTALL_TIMEOUT = 30.0
REWRAP_TIMEOUT = 120.0


def status(node, *extra):
    """master-key status --json of node's config, decoded."""
    _rc, out, _err = node.admin("master-key", "status", "--json", *extra)
    return json.loads(out)


def kek(st, kek_id):
    """The entry of kek_id in a status, or None."""
    for k in st["keks"]:
        if k["id"] == kek_id:
            return k
    return None


def copy_keyring(src, dst):
    """dst's keyring file becomes a copy of src's (mode 0600)."""
    shutil.copyfile(src.master_key_file, dst.master_key_file)
    os.chmod(dst.master_key_file, 0o600)


def add_and_install(pair):
    """master-key add on A, the file copied to B, both servers reloaded;
    returns the new id once both servers report holding it."""
    _rc, out, _err = pair.a.admin("master-key", "add")
    new = out.split("added master key ", 1)[1].split()[0]
    copy_keyring(pair.a, pair.b)
    for n in pair.nodes:
        n.signal(signal.SIGHUP)
    wait_held(pair.a, new, [pair.a.name, pair.b.name])
    return new


def wait_held(node, kek_id, names, timeout=INSTALL_TIMEOUT):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = status(node)
        k = kek(st, kek_id)
        if k is not None and sorted(k["held_by"]) == sorted(names):
            return st
        time.sleep(0.2)
    raise AssertionError("servers %s do not report holding %s after %.0f s: "
                         "%r" % (names, kek_id, timeout, st))


def wait_rewrapped(node, timeout=REWRAP_TIMEOUT):
    """Wait until every version is under the active KEK; the status."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = status(node)
        if st["rewrap_done"]:
            return st
        time.sleep(0.2)
    raise AssertionError("rewrap not done after %.0f s: %r" % (timeout, st))


def db_kek_ids(db):
    """{kek_id: versions} in db (either database of the pair)."""
    rows = db.psql("SELECT kek_id, count(*) FROM key_versions "
                   "GROUP BY kek_id")
    return {r[0]: int(r[1]) for r in rows}
