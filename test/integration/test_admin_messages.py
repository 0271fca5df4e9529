"""keyward-admin's diagnostics come out in the shape keyward-admin(8)
DIAGNOSTICS documents (lib/log.h, LOG_MODE_COMMAND):

    keyward-admin: error: MESSAGE      an error; the command then fails
    keyward-admin: warning: MESSAGE    a warning
    keyward-admin: MESSAGE             progress

on stderr, one line each, while the command's result stays on stdout.
No database is needed: these are the errors before one is reached."""

import json
import os
import re

import pytest

import kwtest
from kwtest import ADMIN_BIN

LINE = re.compile(r"^keyward-admin: (error|warning): \S")


def admin(*args):
    return kwtest.run([ADMIN_BIN, *args], check=False)


def diagnostics(err):
    """stderr's lines up to the usage text that may follow them."""
    lines = err.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("usage: "):
            return lines[:i]
    return lines


def test_unknown_command(binaries):
    rc, out, err = admin("no-such-command")
    assert rc == 2, (rc, out, err)
    assert err.splitlines()[0] == \
        'keyward-admin: error: unknown command "no-such-command"', err
    assert out == ""


@pytest.mark.parametrize("args,says", [
    (["config", "show", "-c", "/nonexistent/keyward.conf"],
     '/nonexistent/keyward.conf: could not open config file'),
    (["audit", "-n", "zero"], "-n wants a number"),
    (["db", "start", "--datadir", "/nonexistent/pgdata"],
     '"/nonexistent/pgdata" holds no PostgreSQL data directory'),
    (["config", "set", "-c", "/nonexistent/keyward.conf",
      "--db-port", "x"], '--db-port "x" is not'),
])
def test_error_shape(binaries, args, says):
    rc, out, err = admin(*args)
    assert rc in (1, 2), (rc, out, err)
    lines = diagnostics(err)
    assert lines, "no diagnostic on stderr: %r" % err
    for ln in lines:
        assert LINE.match(ln), "not in the documented shape: %r" % ln
    assert lines[-1].startswith("keyward-admin: error: ") and \
        says in lines[-1], lines
    assert out == "", "an error went to stdout: %r" % out


def test_warning_and_progress_shape(binaries, tmp_root):
    """audit --json: over an empty file "no audit records yet" is a progress
    line; a line that is not JSON is skipped with a warning; stdout holds
    only the result (JSON lines)."""
    confdir = os.path.join(tmp_root, "admin-messages")
    kwtest.run([ADMIN_BIN, "init", "--confdir", confdir, "--node-name",
                "kw-msg", "--auth", "pseudo", "--listen",
                "127.0.0.1:%d" % kwtest.free_port()])
    conf = os.path.join(confdir, "keyward.conf")
    audit = os.path.join(confdir, "audit.log")
    # none written yet: the file does not exist
    kwtest.conf_set(conf, {("audit", "file"): audit})
    rc, out, err = admin("audit", "-c", conf, "--json")
    assert rc == 0, (rc, out, err)
    assert out == "", out
    assert err.splitlines() == ["keyward-admin: no audit records yet"], err

    with open(audit, "w") as f:
        f.write("not json\n")
        f.write(json.dumps({"time": "2026-01-01T00:00:00Z", "op": "GET_KEYS",
                            "identity": "bob", "result": "OK"}) + "\n")
    rc, out, err = admin("audit", "-c", conf, "--json")
    assert rc == 0, (rc, out, err)
    assert err.splitlines() == [
        "keyward-admin: warning: skipped 1 line that is not JSON records",
    ], err
    assert [json.loads(ln)["identity"] for ln in out.splitlines()] == \
        ["bob"], out
