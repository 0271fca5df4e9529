"""kwclient: a small HTTPS client for keyward's KMS REST API, with the
base64 and AES-CTR helpers and the assertions the tests share.

Stdlib only (plus `cryptography` when present, for the independent AES-CTR
check; `openssl enc` otherwise).  One request per connection.  Every key
material or DEK a client sends or receives is recorded on the server
object (server.secrets) for the log-leak test.
"""

import base64
import binascii
import http.client
import json
import re
import socket
import ssl
import subprocess
import time
import urllib.parse
import warnings

KMS = "/kms/v1/"
CIPHER = "AES/CTR/NoPadding"
IAE = "java.lang.IllegalArgumentException"
IOE = "java.io.IOException"
HTTP_TIMEOUT = 15.0
CMD_TIMEOUT = 60.0

# --------------------------------------------------------------- base64

B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url(data):
    """URL-safe base64 without padding (what batch reencrypt sends)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64std(data):
    """Standard base64 with padding (what create/decrypt clients send)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_any(s):
    """Decode base64 in either alphabet, padding optional."""
    s = s.strip()
    s = s.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def resp_b64(value, what="field"):
    """Check a response binary field is base64url without padding; decode."""
    assert isinstance(value, str), "%s is not a string: %r" % (what, value)
    assert B64URL_RE.match(value), \
        "%s is not URL-safe base64 without padding: %r" % (what, value)
    assert len(value) % 4 != 1, "%s has an impossible base64 length: %r" % (what, value)
    return b64decode_any(value)


def secret_forms(data):
    """Every textual form of a secret that must never appear in a log."""
    forms = {b64url(data), b64std(data), b64std(data).rstrip("="),
             base64.urlsafe_b64encode(data).decode("ascii"),
             binascii.hexlify(data).decode("ascii"),
             binascii.hexlify(data).decode("ascii").upper()}
    return {f for f in forms if len(f) >= 16}


# ----------------------------------------------------------- AES-CTR

def flip_iv(iv):
    return bytes(b ^ 0xFF for b in iv)


def aes_ctr(key, counter_block, data):
    """AES-CTR with a 128-bit big-endian counter starting at counter_block,
    computed independently of keyward (cryptography, else openssl enc)."""
    assert len(key) in (16, 32) and len(counter_block) == 16
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        Cipher = None
    if Cipher is not None:
        enc = Cipher(algorithms.AES(key), modes.CTR(counter_block)).encryptor()
        return enc.update(data) + enc.finalize()
    algo = "-aes-128-ctr" if len(key) == 16 else "-aes-256-ctr"
    p = subprocess.run(["openssl", "enc", algo, "-nosalt",
                        "-K", binascii.hexlify(key).decode(),
                        "-iv", binascii.hexlify(counter_block).decode()],
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CMD_TIMEOUT, check=True)
    return p.stdout


def eek_decrypt(key, iv, eek_material):
    """The Hadoop EEK arithmetic: DEK = AES-CTR(K, ~IV, EEK)."""
    return aes_ctr(key, flip_iv(iv), eek_material)


# --------------------------------------------------------------- client

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        assert self.content_type == "application/json", \
            "Content-Type is %r, not application/json: %r" % (
                self.headers.get("Content-Type"), self)
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("body is not JSON (%s): %r" % (e, self.body[:500]))

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.reason, self.body[:600])


def quote(name):
    """A key or version name as one path segment."""
    return urllib.parse.quote(name, safe="")


class Client:
    """One HTTPS request per connection to a keyward server.

    cert: "admin" (CA-signed, CN=admin), "rogue" (unknown CA), another
    name the test PKI knows (kwtest.PKI.CLIENT_CERTS: "alice", "bob",
    "proxy", "expired", "uri-alice", ...), a (pem, key) pair, or None.
    user: pseudo-auth user name added as ?user.name= (default: "admin"
    when the server runs pseudo auth and cert is not given explicitly).
    doas: added as ?doAs= (proxy users).
    cookie: a hadoop.auth cookie value, sent as Cookie: hadoop.auth=VALUE.
    source: local address to connect from (e.g. "127.0.0.2").
    timeout: seconds for the connection and each read.
    The server is reached at server.host when it has one (the chaos
    suite's nodes live in network namespaces), else 127.0.0.1.
    """

    _unset = object()

    def __init__(self, server, cert=_unset, user=_unset, tls_version=None,
                 ciphers=None, doas=None, cookie=None, source=None,
                 timeout=HTTP_TIMEOUT):
        self.server = server
        if cert is Client._unset:
            cert = "admin" if server.auth == "mtls" else None
        if user is Client._unset:
            user = "admin" if server.auth == "pseudo" else None
        self.cert = cert
        self.user = user
        self.tls_version = tls_version
        self.ciphers = ciphers
        self.doas = doas
        self.cookie = cookie
        self.source = source
        self.timeout = timeout
        self.host = getattr(server, "host", "127.0.0.1")

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.server.verify_ca:
            ctx.load_verify_locations(self.server.verify_ca)
            ctx.check_hostname = True
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.ciphers:
            ctx.set_ciphers(self.ciphers)
        if self.tls_version is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = self.tls_version
                ctx.maximum_version = self.tls_version
        pki = self.server.pki
        if isinstance(self.cert, tuple):
            ctx.load_cert_chain(*self.cert)
        elif isinstance(self.cert, str):
            ctx.load_cert_chain(*pki.cert(self.cert))
        elif self.cert is not None:
            raise ValueError(self.cert)
        return ctx

    def connect(self, timeout=HTTP_TIMEOUT):
        """A TCP connection to the server (from self.source if set)."""
        src = (self.source, 0) if self.source else None
        return socket.create_connection((self.host, self.server.port),
                                        timeout=timeout, source_address=src)

    def url(self, path, query=()):
        if not path.startswith("/"):
            path = KMS + path
        q = list(query)
        if self.user is not None:
            q.append(("user.name", self.user))
        if self.doas is not None:
            q.append(("doAs", self.doas))
        if q:
            path += "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote,
                                                 safe="")
        return path

    def request(self, method, path, body=None, query=(), raw=None,
                headers=None):
        hdrs = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
            self._remember(body)
        if self.cookie is not None:
            hdrs["Cookie"] = "hadoop.auth=" + self.cookie
        if headers:
            hdrs.update(headers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = self.context()
        src = (self.source, 0) if self.source else None
        conn = http.client.HTTPSConnection(self.host, self.server.port,
                                           context=ctx, timeout=self.timeout,
                                           source_address=src)
        try:
            conn.request(method, self.url(path, query), body=data, headers=hdrs)
            r = conn.getresponse()
            resp = Response(r.status, r.reason, r.headers, r.read())
        finally:
            conn.close()
        if resp.content_type == "application/json" and resp.body:
            try:
                self._remember(json.loads(resp.body.decode("utf-8")))
            except ValueError:
                pass
        return resp

    def _remember(self, obj):
        """Record every key material/DEK seen, for the log-leak test."""
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "material" and isinstance(v, str):
                    try:
                        raw = b64decode_any(v)
                    except (ValueError, binascii.Error):
                        continue
                    if len(raw) >= 16:
                        self.server.secrets.add(raw)
                else:
                    self._remember(v)
        elif isinstance(obj, list):
            for v in obj:
                self._remember(v)

    def raw_exchange(self, data, timeout=10.0):
        """Send raw bytes over one TLS connection and read until the server
        closes it or timeout passes.  Returns (bytes, closed_by_server,
        seconds taken)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = self.context()
        t0 = time.monotonic()
        got, closed = b"", False
        with self.connect(timeout) as s:
            with ctx.wrap_socket(s, server_hostname=self.host) as t:
                t.sendall(data)
                deadline = t0 + timeout
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    t.settimeout(left)
                    try:
                        chunk = t.recv(65536)
                    except socket.timeout:
                        break
                    except (ssl.SSLError, ConnectionError):
                        closed = True
                        break
                    if not chunk:
                        closed = True
                        break
                    got += chunk
        return got, closed, time.monotonic() - t0

    def options(self, path, query=(), **kw):
        return self.request("OPTIONS", path, query=query, **kw)

    def get(self, path, query=(), **kw):
        return self.request("GET", path, query=query, **kw)

    def post(self, path, body=None, query=(), **kw):
        return self.request("POST", path, body=body, query=query, **kw)

    def delete(self, path, query=(), **kw):
        return self.request("DELETE", path, query=query, **kw)

    def put(self, path, body=None, query=(), **kw):
        return self.request("PUT", path, body=body, query=query, **kw)

    # -- KMS operations (return Response; callers assert)
    def create(self, name, length=None, material=None, **extra):
        body = {"name": name, "cipher": CIPHER}
        if length is not None:
            body["length"] = length
        if material is not None:
            body["material"] = material
        body.update(extra)
        return self.post("keys", body)

    def roll(self, name, material=None):
        return self.post("key/" + quote(name),
                         {} if material is None else {"material": material})

    def metadata(self, name):
        return self.get("key/%s/_metadata" % quote(name))

    def names(self):
        return self.get("keys/names")

    def current(self, name):
        return self.get("key/%s/_currentversion" % quote(name))

    def versions(self, name):
        return self.get("key/%s/_versions" % quote(name))

    def keyversion(self, version_name):
        return self.get("keyversion/" + quote(version_name))

    def generate(self, name, num_keys=None):
        q = [("eek_op", "generate")]
        if num_keys is not None:
            q.append(("num_keys", str(num_keys)))
        return self.get("key/%s/_eek" % quote(name), query=q)

    def eek_op(self, op, eek, body_name=None):
        """decrypt/reencrypt an EEK (the dict a generate returned) the way
        the Java client sends it: standard base64 with padding."""
        name = body_name if body_name is not None else eek["encryptedKeyVersion"]["name"]
        body = {"name": name,
                "iv": b64std(b64decode_any(eek["iv"])),
                "material": b64std(b64decode_any(eek["encryptedKeyVersion"]["material"]))}
        return self.post("keyversion/%s/_eek" % quote(eek["versionName"]), body,
                         query=[("eek_op", op)])

    def decrypt(self, eek, **kw):
        return self.eek_op("decrypt", eek, **kw)

    def reencrypt(self, eek, **kw):
        return self.eek_op("reencrypt", eek, **kw)

    def reencrypt_batch(self, name, eeks):
        return self.post("key/%s/_reencryptbatch" % quote(name), eeks)

    def invalidate(self, name):
        return self.post("key/%s/_invalidatecache" % quote(name))

    def delete_key(self, name):
        return self.delete("key/" + quote(name))


# ------------------------------------------------------------ assertions

def ok_json(resp, status=200):
    """Assert status and a JSON body; return the decoded body."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    return resp.json()


def assert_error(resp, status, java_class=None, contains=None):
    """Assert a Hadoop RemoteException envelope with this status/class."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"RemoteException"}, \
        "not a RemoteException envelope: %r" % (body,)
    rex = body["RemoteException"]
    assert isinstance(rex, dict), rex
    for k in ("message", "exception", "javaClassName"):
        assert isinstance(rex.get(k), str) and rex[k], \
            "envelope field %r missing or empty: %r" % (k, rex)
    if java_class is not None:
        assert rex["javaClassName"] == java_class, rex
        assert rex["exception"] == java_class.rsplit(".", 1)[1], rex
    if contains is not None:
        assert contains in rex["message"], \
            "message %r does not contain %r" % (rex["message"], contains)
    return rex


def assert_keyversion(kv, name, version, length_bits=None):
    """Assert a KeyVersion object; return its material bytes."""
    assert isinstance(kv, dict), kv
    assert kv.get("name") == name, kv
    assert kv.get("versionName") == "%s@%d" % (name, version), kv
    mat = resp_b64(kv.get("material"), "material")
    if length_bits is not None:
        assert len(mat) == length_bits // 8, \
            "material is %d bytes, expected %d" % (len(mat), length_bits // 8)
    return mat


def assert_eek(e, name, version, length_bits):
    """Assert an EncryptedKeyVersion object; return (iv, eek material)."""
    assert isinstance(e, dict), e
    assert e.get("versionName") == "%s@%d" % (name, version), e
    iv = resp_b64(e.get("iv"), "iv")
    assert len(iv) == 16, "iv is %d bytes" % len(iv)
    ekv = e.get("encryptedKeyVersion")
    assert isinstance(ekv, dict), e
    assert ekv.get("name") == name, e
    assert ekv.get("versionName") == "EEK", e
    mat = resp_b64(ekv.get("material"), "encryptedKeyVersion.material")
    assert len(mat) == length_bits // 8, \
        "EEK material is %d bytes, expected %d" % (len(mat), length_bits // 8)
    return iv, mat


def assert_dek(d, name, length_bits):
    """Assert a decrypted key object; return the DEK bytes."""
    assert isinstance(d, dict), d
    assert d.get("name") == name, d
    assert d.get("versionName") == "EK", d
    dek = resp_b64(d.get("material"), "material")
    assert len(dek) == length_bits // 8, d
    return dek


AUTHZ = "org.apache.hadoop.security.authorize.AuthorizationException"


def assert_denied(resp, user, secrets=()):
    """Assert an ACL denial: 403 with the AuthorizationException envelope
    (nothing else in it) naming user, and none of secrets (raw key
    material, e.g. server.secrets) in any textual form."""
    rex = assert_error(resp, 403, AUTHZ, contains=user)
    text = resp.body.decode("utf-8", "replace")
    for sec in secrets:
        for form in secret_forms(sec):
            assert form not in text, "key material in a denial: %r" % resp
    return rex


def assert_healthy(client):
    """The server still answers a health check and a names listing."""
    r = client.get("/v1/health")
    assert r.status == 200, "health after bad input: %r" % r
    names = ok_json(client.names())
    assert isinstance(names, list), names
    return names
