"""keyward-backup's plaintext stays out of --output (issue 10, part 2): it
is staged in a private directory under $TMPDIR, removed on every exit; a
run killed with SIGKILL at any point leaves no plaintext in --output, and
the next run removes the staging directory it left (only its own prefix,
only its own user's, never one a live run holds).

The kill points are reached with stand-ins earlier in PATH (openssl, tar)
or in PG_BINDIR (pg_dump) that run the real program, then say so and
stall: the test kills the whole run there."""

import os
import signal
import subprocess
import time

import pytest

import backupkit
from backupkit import Recipient, backup, backups_in

PREFIX = "keyward-backup-stage."
WAIT_S = 60

STALL = """#!/bin/sh
# test stand-in: run the real %(name)s, then stall when $KW_STALL says so
"%(real)s" "$@"
rc=$?
case " $* " in
*" $KW_STALL_ARGS "*) : >"$KW_STALL_MARK"; sleep %(sleep)d ;;
esac
exit $rc
"""


def stand_in(d, name, real):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(STALL % {"name": name, "real": real, "sleep": WAIT_S})
    os.chmod(p, 0o755)


@pytest.fixture(scope="module")
def kit(servers, tmp_root):
    s = servers.start(auth="mtls")
    base = os.path.join(tmp_root, "staging")
    os.makedirs(base)
    # stand-ins: PATH for openssl and tar, PG_BINDIR for pg_dump
    fake = os.path.join(base, "bin")
    pgfake = os.path.join(base, "pgbin")
    os.makedirs(fake)
    os.makedirs(pgfake)
    bindir = subprocess.run(["pg_config", "--bindir"], check=True,
                            capture_output=True, text=True).stdout.strip()
    for n in os.listdir(bindir):
        if n != "pg_dump":
            os.symlink(os.path.join(bindir, n), os.path.join(pgfake, n))
    stand_in(pgfake, "pg_dump", os.path.join(bindir, "pg_dump"))
    for n in ("openssl", "tar"):
        stand_in(fake, n, subprocess.run(
            ["sh", "-c", "command -v " + n], check=True,
            capture_output=True, text=True).stdout.strip())
    with open(s.master_key_file, "rb") as f:
        master = f.read()

    class Kit:
        pass
    k = Kit()
    k.node, k.base, k.fake, k.pgfake, k.master = s, base, fake, pgfake, master
    k.rcp = Recipient(base, "ops")
    return k


def plaintext_in(d, master):
    """Files under d that hold anything of the backup in clear."""
    found = []
    for dp, _dn, fn in os.walk(d):
        for f in fn:
            p = os.path.join(dp, f)
            with open(p, "rb") as fh:
                data = fh.read()
            if any(x in data for x in (master, b"MANIFEST", b"PGDMP",
                                       b"[db]", b"BEGIN PRIVATE KEY",
                                       b"BEGIN EC PRIVATE KEY")):
                found.append(os.path.relpath(p, d))
    return found


def start_stalled(kit, name, args, pg_bindir=None):
    """A backup run under the stand-ins, stalled after the program called
    with args: (process, output dir, staging dir), once it stalls."""
    d = os.path.join(kit.base, name)
    out, stage = os.path.join(d, "out"), os.path.join(d, "stage")
    os.makedirs(out)
    os.makedirs(stage)
    mark = os.path.join(d, "stalled")
    env = backupkit.script_env(stage)
    env.update(PATH=kit.fake + ":" + env["PATH"], KW_STALL_ARGS=args,
               KW_STALL_MARK=mark)
    if pg_bindir is not None:
        env["PG_BINDIR"] = pg_bindir
    p = subprocess.Popen(["sh", backupkit.BACKUP, "--confdir",
                          kit.node.confdir, "--output", out, "--recipient",
                          kit.rcp.cert], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + WAIT_S
    while not os.path.exists(mark) and p.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(mark), (name, p.poll(), p.communicate(timeout=5))
    return p, out, stage


# (stall after which program, with which arguments, what it leaves)
POINTS = {
    "after-dump": ("pg_dump", "--format=custom"),
    "during-tar": ("tar", "--format=ustar"),
    "during-sign": ("openssl", "-sign"),
    "during-encrypt": ("openssl", "-encrypt"),
}


@pytest.mark.parametrize("point", sorted(POINTS))
def test_sigkill_leaves_no_plaintext(kit, point):
    _prog, args = POINTS[point]
    p, out, stage = start_stalled(kit, point, args, kit.pgfake)
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate(timeout=WAIT_S)
    # the kill left a staging directory (with plaintext) where it belongs,
    # outside --output, private
    (left,) = [f for f in os.listdir(stage) if f.startswith(PREFIX)]
    assert os.stat(os.path.join(stage, left)).st_mode & 0o777 == 0o700
    assert plaintext_in(os.path.join(stage, left), kit.master), point
    # nothing of it in --output, whatever the kill point
    assert plaintext_in(out, kit.master) == [], point
    assert backups_in(out) == []
    # a staging directory of another program, and one a live run holds,
    # are not this run's to remove
    other = os.path.join(stage, "someone-else.x")
    os.makedirs(other)
    live = os.path.join(stage, PREFIX + "live")
    os.makedirs(live)
    holder = subprocess.Popen(["flock", os.path.join(live, ".lock"), "sleep",
                               str(WAIT_S)], start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(os.path.join(live, ".lock")) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        _rc, so, se = backup(kit.node.confdir, out, recipients=[kit.rcp],
                             stage=stage)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=WAIT_S)
    assert "left behind by a run that was killed" in se, se
    assert sorted(os.listdir(stage)) == sorted([os.path.basename(other),
                                                os.path.basename(live)])
    (f,) = backups_in(out)
    assert sorted(os.listdir(out)) == sorted([".keyward-backup.lock", f])
    assert plaintext_in(out, kit.master) == []


def test_sigterm_removes_its_staging(kit):
    """A run stopped with SIGTERM removes its own staging directory and
    temporary file at once: nothing waits for the next run."""
    p, out, stage = start_stalled(kit, "sigterm", "-encrypt")
    os.killpg(p.pid, signal.SIGTERM)
    p.communicate(timeout=WAIT_S)
    assert p.returncode == 1
    assert os.listdir(stage) == []
    assert os.listdir(out) == [".keyward-backup.lock"]


def test_stage_inside_output_refused(kit):
    d = os.path.join(kit.base, "inside")
    out = os.path.join(d, "out")
    os.makedirs(os.path.join(out, "tmp"))
    rc, _so, se = backup(kit.node.confdir, out, recipients=[kit.rcp],
                         stage=os.path.join(out, "tmp"), check=False)
    assert rc == 1 and "inside --output" in se, se
    assert os.listdir(os.path.join(out, "tmp")) == []
