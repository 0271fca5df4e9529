"""Fixtures for keyward's integration tests.

Session: a temp dir, a test PKI, one PostgreSQL instance (each server gets
its own fresh database in it).  Module: an mTLS keyward server for the API
tests and a factory for servers with other settings.  Logs of the servers
running when a test fails are attached to that test's report.
"""

import os
import shutil
import signal

import pytest

import kwtest


def _sigterm(signum, frame):
    # turn SIGTERM into an interrupt so fixture finalizers run
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _sigterm)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in list(kwtest._LIVE_SERVERS):
            rep.sections.append(("keyward-server %s log (%s)" % (s.name, s.log_path),
                                 s.log(100)))


@pytest.fixture(scope="session")
def binaries():
    missing = [b for b in (kwtest.SERVER_BIN, kwtest.ADMIN_BIN)
               if not os.access(b, os.X_OK)]
    if missing:
        pytest.fail("not built: %s (run `make all`)" % ", ".join(missing),
                    pytrace=False)


@pytest.fixture(scope="session")
def tmp_root():
    root = kwtest.make_tmp_root()
    yield root
    kwtest.stop_everything()
    if os.environ.get("KEYWARD_TEST_KEEP"):
        print("keeping", root)
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(tmp_root):
    return kwtest.PKI(tmp_root)


@pytest.fixture(scope="session")
def pg(tmp_root, request):
    inst = kwtest.Postgres(tmp_root)
    request.addfinalizer(inst.stop)
    return inst


class ServerFactory:
    def __init__(self, root, pg, pki):
        self.root, self.pg, self.pki = root, pg, pki
        self.servers = []

    def make(self, **kw):
        """A configured, migrated, not yet started server."""
        s = kwtest.Server(self.root, self.pg, self.pki, **kw)
        self.servers.append(s)
        return s

    def start(self, **kw):
        return self.make(**kw).start()

    def stop_all(self):
        for s in self.servers:
            s.stop()


@pytest.fixture(scope="module")
def servers(binaries, tmp_root, pg, pki, request):
    f = ServerFactory(tmp_root, pg, pki)
    request.addfinalizer(f.stop_all)
    return f


@pytest.fixture(scope="module")
def api_server(servers):
    """An mTLS server with default settings, one per test module."""
    return servers.start(auth="mtls")


@pytest.fixture(scope="module")
def client(api_server):
    return api_server.client()


@pytest.fixture
def keyname(request):
    """A key name unique to the test."""
    n = request.node.name
    for c in "[]/ ":
        n = n.replace(c, "_")
    return "k-" + n
