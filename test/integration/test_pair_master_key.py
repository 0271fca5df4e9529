"""Both nodes of a pair must serve the same keys: a server whose master
key differs from the one the pair's database was bound to refuses to
start, on the passive (whose database is the standby) as on the active."""

import os
import subprocess

import pytest

from kwclient import ok_json
from kwtest import SERVER_BIN
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  create_key, current_material)

START_TIMEOUT = 15


def run_server(node):
    """Run node's keyward-server expecting it to exit by itself."""
    try:
        p = subprocess.run([SERVER_BIN, "-c", node.conf],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail("keyward-server %s still running after %d s with another "
                    "master key (it should refuse to start); output:\n%s"
                    % (node.name, START_TIMEOUT,
                       ((e.stdout or b"") + (e.stderr or b"")).decode(
                           "utf-8", "replace")))
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


@pytest.mark.parametrize("which", ["passive", "active"])
def test_other_master_key_refuses_to_start(pair, which):
    node = pair.b if which == "passive" else pair.a
    other = pair.a if node is pair.b else pair.b
    mat = create_key(other.client(), "mk-" + which, 256)
    node.stop()
    with open(node.master_key_file, "rb") as f:
        right = f.read()
    assert len(right) == 32

    wrong = os.urandom(32)
    with open(node.master_key_file, "wb") as f:
        f.write(wrong)
    rc, out = run_server(node)
    assert rc != 0, "started with another master key:\n" + out
    assert "master key" in out.lower(), \
        "the refusal does not mention the master key:\n" + out
    assert wrong.hex() not in out and right.hex() not in out

    # the other node was not disturbed; with the right key this one
    # starts again and serves the same key
    assert current_material(other.client(), "mk-" + which, 0, 256) == mat
    with open(node.master_key_file, "wb") as f:
        f.write(right)
    node.start()
    assert current_material(node.client(), "mk-" + which, 0, 256) == mat
    assert "mk-" + which in ok_json(node.client().names())
