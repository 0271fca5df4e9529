"""A real Prometheus (Debian's) scrapes both nodes of a pair over HTTPS
with a client certificate; its query API shows the replication lag while
the pair is healthy, and a refused write, with its reason, after the
standby's database dies."""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import kwtest
from pair import (pair, pair_factory, pair_template,  # noqa: F401 (fixtures)
                  unique, wait_health)

PROMETHEUS = shutil.which("prometheus")
START_TIMEOUT = 60.0    # Prometheus up and answering /-/ready
QUERY_TIMEOUT = 45.0    # a series shows up in the query API

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: keyward
    scheme: https
    tls_config:
      ca_file: {ca}
      cert_file: {cert}
      key_file: {key}
    static_configs:
      - targets: ['127.0.0.1:{pa}', '127.0.0.1:{pb}']
"""


class Prometheus:
    def __init__(self, base, pki, ports):
        self.dir = os.path.join(base, "prometheus")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "prometheus.yml")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(ca=pki.ca_pem, cert=pki.client_pem,
                                  key=pki.client_key, pa=ports[0],
                                  pb=ports[1]))
        self.port = kwtest.free_port()
        self.log_path = os.path.join(self.dir, "prometheus.log")
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + self.conf,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, \
                "prometheus exited:\n" + kwtest.tail(self.log_path)
            try:
                with urllib.request.urlopen(self.url("/-/ready"),
                                            timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("prometheus not ready after %.0f s:\n%s"
                             % (START_TIMEOUT, kwtest.tail(self.log_path)))

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def query(self, q):
        """The result vector of instant query q."""
        u = self.url("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        with urllib.request.urlopen(u, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait(self, q, what, pred=lambda res: len(res) > 0):
        deadline = time.monotonic() + QUERY_TIMEOUT
        res = None
        while time.monotonic() < deadline:
            res = self.query(q)
            if pred(res):
                return res
            time.sleep(0.5)
        raise AssertionError("%s: query %s gave %r after %.0f s; log:\n%s"
                             % (what, q, res, QUERY_TIMEOUT,
                                kwtest.tail(self.log_path, 30)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)


@pytest.fixture
def prometheus(pair, request):
    if PROMETHEUS is None:
        pytest.fail("prometheus missing: scripts/keyward-deps installs it")
    p = Prometheus(pair.base, pair.pki, (pair.a.port, pair.b.port))
    request.addfinalizer(p.stop)     # its log tail is in every failed wait
    return p


def test_prometheus_scrapes_the_pair(pair, prometheus):
    a = "127.0.0.1:%d" % pair.a.port
    b = "127.0.0.1:%d" % pair.b.port
    # both nodes scraped, over HTTPS with the client certificate
    prometheus.wait('up{job="keyward"} == 1', "both targets up",
                    lambda res: {r["metric"]["instance"] for r in res}
                    == {a, b})
    # the replication lag, as the active's monitor sees it (the passive's
    # local database is the standby: it publishes none)
    res = prometheus.wait('keyward_replication_lag_bytes{instance="%s"}' % a,
                          "the replication lag of the active")
    assert float(res[0]["value"][1]) >= 0, res
    res = prometheus.wait('keyward_replication_standby{instance="%s"}' % a,
                          "the standby streams in sync")
    assert res[0]["metric"]["state"] == "streaming" and \
        res[0]["metric"]["sync_state"] == "sync", res
    prometheus.wait('keyward_writable{instance="%s"} == 1' % a,
                    "the active writable")
    before = prometheus.query('sum(keyward_writes_refused_total{instance='
                              '"%s"})' % a)
    assert before and float(before[0]["value"][1]) == 0, before

    # the standby's database dies: a write through the active is refused
    pair.db_b.kill()
    wait_health(pair.a, 429, 15.0)
    r = pair.a.client().create(unique("refused"))
    assert r.status == 503, r
    res = prometheus.wait('keyward_writes_refused_total{instance="%s"} > 0'
                          % a, "the refused write")
    reasons = {x["metric"]["reason"] for x in res}
    assert reasons <= {"standby_down", "standby_not_replicating"}, res
    prometheus.wait('keyward_database_up{instance="%s",database="peer"} == 0'
                    % a, "the standby's database down")
    prometheus.wait('keyward_writable{instance="%s"} == 0' % a,
                    "the active no longer writable")
    # the lag series went away with the standby
    prometheus.wait('keyward_replication_lag_bytes{instance="%s"}' % a,
                    "no lag without a standby", lambda res: res == [])
