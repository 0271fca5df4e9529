"""keyward-admin keys import: keys made in batches are the keys a create
and a rollover make (same rows, settled, on both databases), usable through
both servers of the pair; refused, with nothing written, while the standby
is down, when a name is taken, and on bad arguments."""

import time

from kwclient import ok_json
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  check_eek_roundtrip, create_key, db_key_rows)

N = 250


def count_keys(db, prefix):
    return int(db.psql("SELECT count(*) FROM keys WHERE name LIKE '%s%%'"
                       % prefix)[0][0])


def wait_standby_gone(primary, standby, timeout=30.0):
    deadline = time.monotonic() + timeout
    while primary.standby_state(standby.slot) is not None:
        assert time.monotonic() < deadline, "standby still streams"
        time.sleep(0.1)


def test_import_then_use_through_both_nodes(pair):
    ca, cb = pair.a.client(), pair.b.client()
    _rc, out, err = pair.a.admin("keys", "import", "--count", str(N),
                                 "--prefix", "imp-", "--batch", "100",
                                 "--length", "256")
    assert "imported %d keys of 2 versions" % N in out, out + err

    # the same rows as a create and a rollover leave, settled, on both
    create_key(ca, "made-by-api", 256)
    ok_json(ca.roll("made-by-api"))
    shape = ("SELECT k.cipher, k.length, k.description, k.attributes,"
             " k.current_version, k.pending, k.deleting,"
             " array_agg(v.version ORDER BY v.version),"
             " bool_or(v.pending), count(DISTINCT v.kek_id),"
             " min(length(v.wrapped)), max(length(v.wrapped))"
             " FROM keys k JOIN key_versions v ON v.key_id = k.id"
             " WHERE k.name = '%s' GROUP BY k.id")
    api_row = pair.db_a.psql(shape % "made-by-api")
    for name in ("imp-0", "imp-117", "imp-%d" % (N - 1)):
        assert pair.db_a.psql(shape % name) == api_row, name
        assert db_key_rows(pair.db_b, name) == db_key_rows(pair.db_a, name)
    assert count_keys(pair.db_a, "imp-") == N
    assert count_keys(pair.db_b, "imp-") == N
    assert pair.db_a.psql("SELECT count(*) FROM keys WHERE pending") == \
        [["0"]]

    names = ok_json(cb.names())
    assert sum(1 for n in names if n.startswith("imp-")) == N
    for name in ("imp-0", "imp-42", "imp-%d" % (N - 1)):
        for reader, other in ((ca, cb), (cb, ca)):
            md = ok_json(reader.metadata(name))
            assert md["versions"] == 2 and md["length"] == 256, md
            vs = ok_json(reader.versions(name))
            assert [v["versionName"] for v in vs] == \
                ["%s@0" % name, "%s@1" % name], vs
            mats = [v["material"] for v in vs]
            assert mats[0] != mats[1]
            cur = ok_json(reader.current(name))
            assert cur["versionName"] == "%s@1" % name
            from kwclient import b64decode_any
            mat = b64decode_any(cur["material"])
            check_eek_roundtrip(reader, other, name, 1, mat, 256)
    # every version unwraps under the keyring
    _rc, out, err = pair.b.admin("verify")
    assert "unwrap-failures 0" in out, out + err

    # a taken name fails its whole batch: nothing of it is written
    rc, out, err = pair.a.admin("keys", "import", "--count", "50",
                                "--prefix", "imp-", "--start", str(N - 10),
                                "--batch", "50", check=False)
    assert rc == 1 and "exists already" in err, out + err
    assert count_keys(pair.db_a, "imp-") == N
    # a rollover of an imported key goes on from its versions
    kv = ok_json(ca.roll("imp-3"))
    assert kv["versionName"] == "imp-3@2", kv


def test_import_refused_while_standby_down(pair):
    pair.db_b.kill()
    wait_standby_gone(pair.db_a, pair.db_b)
    rc, out, err = pair.a.admin("keys", "import", "--count", "20",
                                "--prefix", "down-", check=False)
    assert rc == 1, out + err
    assert "cannot take writes" in err and "nothing" in err, err
    assert count_keys(pair.db_a, "down-") == 0


def test_import_bad_arguments(pair):
    for args, why in ((["--count", "0"], "--count wants"),
                      (["--count", "5", "--prefix", "a/b"], "--prefix wants"),
                      (["--count", "5", "--length", "192"], "--length wants"),
                      (["--count", "5", "--versions", "0"], "--versions"),
                      ([], "--count is required")):
        rc, out, err = pair.a.admin("keys", "import", *args, check=False)
        assert rc == 2 and why in err, (args, out, err)
    assert count_keys(pair.db_a, "") == 0


def test_verify_pages_through_many_keys(pair):
    # more versions than verify reads in one page (10,000): every one is
    # counted once, and a damaged one in a late page is found
    n = 10001
    _rc, out, err = pair.a.admin("keys", "import", "--count", str(n),
                                 "--prefix", "many-", "--batch", "5000")
    assert "imported %d keys" % n in out, out + err
    _rc, out, err = pair.b.admin("verify")
    assert "keys %d versions %d unwrap-failures 0" % (n, 2 * n) in out, \
        out + err
    pair.db_a.psql("UPDATE key_versions SET wrapped = "
                   "set_byte(wrapped, 19, 255 - get_byte(wrapped, 19)) "
                   "WHERE key_id = (SELECT id FROM keys WHERE name = "
                   "'many-9000') AND version = 1")
    rc, out, err = pair.b.admin("verify", check=False)
    assert rc == 1, out + err
    assert "keys %d versions %d unwrap-failures 1" % (n, 2 * n) in out, out
    assert 'key "many-9000" version 1 does not unwrap' in err, err
