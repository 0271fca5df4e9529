"""No key material in server logs.

Every client in this suite records the key material and DEKs it sent or
received (kwclient.Client._remember).  This module runs last (file order):
it drives one more server through every operation, stops it, and then
searches the logs of every server started in this session for any
textual form (base64 either alphabet, hex) of any of those secrets.
"""

import os

import kwclient
import kwtest
from kwclient import ok_json


def test_server_logs_hold_no_key_material(servers):
    srv = servers.start()
    c = srv.client()
    name = "log-secret"
    ok_json(c.create(name, length=256), 201)
    ok_json(c.create(name + "-m", material=kwclient.b64std(os.urandom(16))), 201)
    ok_json(c.roll(name))
    eeks = ok_json(c.generate(name, 3))
    for e in eeks:
        ok_json(c.decrypt(e))
    ok_json(c.roll(name))
    ok_json(c.reencrypt(eeks[0]))
    ok_json(c.versions(name))
    # errors that echo input must not echo material either
    c.roll(name, material=kwclient.b64std(os.urandom(15)))
    c.create(name)
    c.post("keys", raw=b'{"name": "x", "material": "' + kwclient.b64std(os.urandom(31)).encode() + b'"')
    assert srv.stop() == 0

    checked = 0
    for s in kwtest.ALL_SERVERS:
        if s.proc is not None and s.proc.poll() is None:
            continue        # still running elsewhere; checked when it is done
        log = s.log_text()
        for secret in s.secrets:
            for form in kwclient.secret_forms(secret):
                assert form not in log, \
                    "server %s logged key material (%s...) in %s" % (
                        s.name, form[:6], s.log_path)
            checked += 1
    assert checked >= 10, "too few secrets seen to make this test meaningful"
