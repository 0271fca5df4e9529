"""The healthy pair: a key created through the active's server is at once
readable through the passive's server and present in the passive's
database; both servers publish the pair."""

from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  check_eek_roundtrip, create_key, current_material,
                  db_key_rows)


def test_create_on_a_read_on_b(pair):
    ca, cb = pair.a.client(), pair.b.client()
    mat = create_key(ca, "repl-1", 256)

    # no wait: remote_apply means B's database already has it
    assert current_material(cb, "repl-1", 0, 256) == mat
    md = ok_json(cb.metadata("repl-1"))
    assert md["name"] == "repl-1" and md["versions"] == 1 and \
        md["length"] == 256, md
    assert "repl-1" in ok_json(cb.names())

    # the rows in B's database (queried on the standby itself) are A's
    assert pair.db_b.in_recovery(), "B's database is not the standby"
    rows_b = db_key_rows(pair.db_b, "repl-1")
    assert len(rows_b) == 1 and rows_b[0][0] == 0, rows_b
    assert rows_b == db_key_rows(pair.db_a, "repl-1")

    # a rollover through B's server (it writes to A's database) is read
    # back through A's with the same material (after the cache
    # invalidation a Hadoop client sends to every host after a rollover)
    kv = ok_json(cb.roll("repl-1"))
    assert kv["versionName"] == "repl-1@1", kv
    assert ca.invalidate("repl-1").status == 200
    mat1 = current_material(ca, "repl-1", 1, 256)
    assert mat1 == current_material(cb, "repl-1", 1, 256)
    assert mat1 != mat
    assert len(db_key_rows(pair.db_b, "repl-1")) == 2

    # EEKs made on one node decrypt on the other
    check_eek_roundtrip(ca, cb, "repl-1", 1, mat1, 256)
    check_eek_roundtrip(cb, ca, "repl-1", 1, mat1, 256)


def test_health_and_cluster_of_a_healthy_pair(pair):
    for node, role, local, peer in ((pair.a, "active", "primary", "standby"),
                                    (pair.b, "passive", "standby", "primary")):
        st, h = node.health()
        assert st == 200, h
        assert h["node"] == node.name and h["role"] == role, h
        assert h["writable"] is True and h["readable"] is True, h
        assert h["databases"]["local"]["role"] == local, h
        assert h["databases"]["peer"]["role"] == peer, h
        repl = h["replication"]
        assert repl["standby"] == "kw_b" and repl["state"] == "streaming" \
            and repl["sync_state"] == "sync", h

        c = ok_json(node.client().get("/v1/cluster"))
        assert c["this"] == node.name and c["writable"] is True, c
        byname = {n["name"]: n for n in c["nodes"]}
        assert set(byname) == {"kw-a", "kw-b"}, c
        assert byname["kw-a"]["role"] == "active", c
        assert byname["kw-b"]["role"] == "passive", c
        assert byname["kw-a"]["url"] == "https://127.0.0.1:%d" % pair.a.port
        assert byname["kw-b"]["url"] == "https://127.0.0.1:%d" % pair.b.port
