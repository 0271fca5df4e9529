"""Log lines tell their story: the database layer's warning about a
commit that was not acknowledged names the request id of the request it
belongs to, the same id as that request's own log line (its 503) and its
audit record."""

import re

import kwclient
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  Key, unique)


def test_not_acknowledged_names_its_request(pair, request):
    ca = pair.a.client()
    k = Key(ca, unique("reqid"), 128)
    request.addfinalizer(pair.db_b.thaw)
    assert len(pair.db_b.freeze()) >= 2
    r = ca.roll(k.name)
    kwclient.assert_error(r, 503, kwclient.IOE, "not acknowledged")

    log = pair.a.log_text()
    warn = [l for l in log.splitlines()
            if "not acknowledged" in l and "warning" in l]
    assert warn, "no not-acknowledged warning in:\n" + pair.a.log()
    m = re.search(r"warning: req=([0-9a-f]{16}) ", warn[0])
    assert m, "the warning names no request: %r" % warn[0]
    rid = m.group(1)
    # the request's own line: the roll of that key, answered 503
    mine = [l for l in log.splitlines() if "req=%s " % rid in l]
    assert any(re.search(r"POST /kms/v1/key/%s -> 503" % re.escape(k.name), l)
               for l in mine), "request %s has no 503 line:\n%s" % (
                   rid, "\n".join(mine))
    # and the audit record of that request carries the same id
    recs = [a for a in pair.a.audit_records()
            if a.get("request_id") == rid]
    assert recs and recs[0]["op"] == "ROLL_NEW_VERSION" and \
        recs[0]["status"] == 503, recs
