"""KMIP on one node, driven by PyKMIP's client (Debian python3-pykmip) over
mutual TLS: every operation keyward implements at KMIP 1.2 and 2.0, the
lifecycle states and their result reasons, Locate by the attributes tape
libraries and storage systems use, ACL denials, audit lines, and bad
messages (malformed, oversized) answered without harm.

The raw-TTLV helpers here (ttlv(), raw_request(), RawConn) are used by
test_pair_kmip.py too."""

import json
import os
import signal
import socket
import ssl
import struct
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from kmip.core import enums, objects as cobjects, primitives
from kmip.core.messages import payloads
from kmip.pie import exceptions as pie_exc, objects as pie_objects
from kmip.pie.client import ProxyKmipClient
from kmip.core.factories import attributes as attr_factory

import kwtest

V12 = enums.KMIPVersion.KMIP_1_2
V20 = enums.KMIPVersion.KMIP_2_0
VERSIONS = [pytest.param(V12, id="1.2"), pytest.param(V20, id="2.0")]

ACLS = """# test_kmip.py
hadoop.kms.acl.CREATE = admin,alice
hadoop.kms.acl.DELETE = admin,alice
hadoop.kms.acl.ROLLOVER = admin,alice
hadoop.kms.acl.GET = admin,alice
hadoop.kms.acl.GET_KEYS = admin,alice,bob
hadoop.kms.acl.GET_METADATA = admin,alice,bob
hadoop.kms.acl.SET_KEY_MATERIAL = admin
hadoop.kms.acl.GENERATE_EEK = admin,alice
hadoop.kms.acl.DECRYPT_EEK = admin,alice
default.key.acl.ALL = admin,alice,bob
# test_kmip_locate_by_key_acls: alice's objects, and bob's (admin makes
# them; bob may only decrypt with them)
key.acl.locate-alice.MANAGEMENT = alice
key.acl.locate-alice.READ = alice
key.acl.locate-bob.MANAGEMENT = admin
key.acl.locate-bob.READ = admin
key.acl.locate-bob.DECRYPT_EEK = bob
"""

MAX_MESSAGE = 65536
AF = attr_factory.AttributeFactory()


# ------------------------------------------------------------ raw TTLV

def ttlv(tag, typ, value):
    """One TTLV item: typ 1 structure (value: bytes of children),
    2 integer, 5 enumeration, 7 text, 8 bytes."""
    if typ in (2, 5):
        body = struct.pack(">i" if typ == 2 else ">I", value)
    elif typ == 7:
        body = value.encode()
    else:
        body = bytes(value)
    pad = (-len(body)) % 8
    return struct.pack(">I", (tag << 8) | typ)[1:] + bytes([typ]) \
        if False else tag.to_bytes(3, "big") + bytes([typ]) + \
        struct.pack(">I", len(body)) + body + b"\0" * pad


def raw_request(op, payload, major=1, minor=2):
    """A Request Message of one batch item: operation op, payload bytes."""
    ver = ttlv(0x420069, 1, ttlv(0x42006A, 2, major) + ttlv(0x42006B, 2, minor))
    hdr = ttlv(0x420077, 1, ver + ttlv(0x42000D, 2, 1))
    item = ttlv(0x42000F, 1, ttlv(0x42005C, 5, op) + ttlv(0x420079, 1, payload))
    return ttlv(0x420078, 1, hdr + item)


def walk(buf):
    """Yield (tag, type, value bytes) of every item in buf, depth first."""
    off = 0
    while off + 8 <= len(buf):
        tag = int.from_bytes(buf[off:off + 3], "big")
        typ = buf[off + 3]
        n = struct.unpack(">I", buf[off + 4:off + 8])[0]
        val = buf[off + 8:off + 8 + n]
        yield tag, typ, val
        if typ == 1:
            yield from walk(val)
        off += 8 + n + (-n) % 8


def result_of(resp):
    """(Result Status, Result Reason or None, Result Message or None) of
    the first batch item of a response."""
    st = reason = msg = None
    for tag, _typ, val in walk(resp):
        if tag == 0x42007F and st is None:
            st = struct.unpack(">I", val[:4])[0]
        elif tag == 0x42007E and reason is None:
            reason = struct.unpack(">I", val[:4])[0]
        elif tag == 0x42007D and msg is None:
            msg = val.decode()
    return st, reason, msg


class RawConn:
    """A mutual-TLS connection that sends bytes and reads one message."""

    def __init__(self, port, pki, cert="admin", timeout=10):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.ca_pem)
        pem, key = pki.cert(cert)
        ctx.load_cert_chain(pem, key)
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s = ctx.wrap_socket(s, server_hostname="localhost")

    def send(self, data):
        self.s.sendall(data)

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("connection closed after %d bytes" % len(out))
            out += chunk
        return out

    def read_message(self):
        hdr = self._read(8)
        n = struct.unpack(">I", hdr[4:8])[0]
        return hdr + self._read(n)

    def closed(self):
        """Whether the server has closed the connection (reads EOF)."""
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except (ssl.SSLError, OSError):
            return True

    def close(self):
        self.s.close()


def roundtrip(port, pki, msg, cert="admin"):
    c = RawConn(port, pki, cert)
    try:
        c.send(msg)
        return c.read_message()
    finally:
        c.close()


# ----------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def kmip_server(servers):
    port = kwtest.free_port()
    srv = servers.make(acls=ACLS, settings={
        ("kmip", "listen"): "127.0.0.1:%d" % port,
        ("kmip", "max_message_bytes"): str(MAX_MESSAGE),
        ("audit", "aggregate_ms"): "0",
    })
    srv.kmip_port = port
    return srv.start()


def kmip_client(srv, version=V12, cert="admin"):
    """An open ProxyKmipClient for srv's KMIP port as certificate cert."""
    pem, key = srv.pki.cert(cert)
    c = ProxyKmipClient(hostname="127.0.0.1", port=srv.kmip_port, cert=pem,
                        key=key, ca=srv.pki.ca_pem,
                        ssl_version="PROTOCOL_TLS", kmip_version=version,
                        config_file=os.devnull)
    c.open()
    return c


@pytest.fixture
def client_of(kmip_server):
    opened = []

    def make(version=V12, cert="admin"):
        c = kmip_client(kmip_server, version, cert)
        opened.append(c)
        return c
    yield make
    for c in opened:
        c.close()


def create_key(c, name=None, length=256, usage=("ENCRYPT", "DECRYPT")):
    return c.create(enums.CryptographicAlgorithm.AES, length, name=name,
                    cryptographic_usage_mask=[
                        getattr(enums.CryptographicUsageMask, u)
                        for u in usage])


def failure(fn, *a, **kw):
    """The KmipOperationFailure fn raises (fails the test if none)."""
    with pytest.raises(pie_exc.KmipOperationFailure) as ei:
        fn(*a, **kw)
    return ei.value


def attrs_of(c, uid, names=None):
    _uid, attrs = c.get_attributes(uid, names)
    out = {}
    for a in attrs:
        out.setdefault(a.attribute_name.value, []).append(a.attribute_value)
    return out


def state_of(c, uid):
    return attrs_of(c, uid, ["State"])["State"][0].value


def gcm(c, uid, data, aad=None):
    """Encrypt data under uid with AES-GCM through the raw payload API
    (ProxyKmipClient drops the tag): (ciphertext, iv, tag)."""
    params = cobjects.CryptographicParameters(
        block_cipher_mode=enums.BlockCipherMode.GCM,
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES)
    r = c.proxy.send_request_payload(
        enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
            unique_identifier=uid, cryptographic_parameters=params,
            data=data, auth_additional_data=aad))
    return r.data, r.iv_counter_nonce, r.auth_tag


def gcm_open(c, uid, ct, iv, tag, aad=None):
    params = cobjects.CryptographicParameters(
        block_cipher_mode=enums.BlockCipherMode.GCM,
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES)
    r = c.proxy.send_request_payload(
        enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
            unique_identifier=uid, cryptographic_parameters=params,
            data=ct, iv_counter_nonce=iv, auth_additional_data=aad,
            auth_tag=tag))
    return r.data


CBC = {"block_cipher_mode": enums.BlockCipherMode.CBC,
       "padding_method": enums.PaddingMethod.PKCS5,
       "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}
CTR = {"block_cipher_mode": enums.BlockCipherMode.CTR,
       "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}


# -------------------------------------------------------------- tests

@pytest.mark.parametrize("version", VERSIONS)
def test_kmip_lifecycle_and_crypto(client_of, version, request):
    c = client_of(version)
    name = "life-" + request.node.callspec.id
    uid = create_key(c, name=name)
    key = c.get(uid).value
    assert len(key) == 32
    assert state_of(c, uid) == enums.State.PRE_ACTIVE

    # a Pre-Active key encrypts nothing, with the version's reason
    f = failure(c.encrypt, b"x" * 16, uid=uid, cryptographic_parameters=CBC)
    assert f.reason == (enums.ResultReason.WRONG_KEY_LIFECYCLE_STATE
                        if version == V20 else
                        enums.ResultReason.ILLEGAL_OPERATION), f
    c.activate(uid)
    assert state_of(c, uid) == enums.State.ACTIVE
    f = failure(c.activate, uid)        # twice: not Pre-Active any more
    assert "Pre-Active" in f.message

    # CBC and CTR, checked against the key Get returned
    data = b"attack at dawn, bring the tape!"
    ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=CBC)
    assert c.decrypt(ct, uid=uid, iv_counter_nonce=iv,
                     cryptographic_parameters=CBC) == data
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = d.update(ct) + d.finalize()
    assert plain[:len(data)] == data
    ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=CTR)
    assert len(ct) == len(data) and ct != data
    d = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    assert d.update(ct) + d.finalize() == data

    # GCM with IV and tag (1.4 and later carry the tag; 1.2 is told so);
    # a wrong tag is a cryptographic failure
    if version == V12:
        with pytest.raises(Exception) as ei:
            gcm(c, uid, data)
        assert "KMIP 1.4 or later" in str(ei.value)
        c = client_of(enums.KMIPVersion.KMIP_1_4)
    ct, iv, tag = gcm(c, uid, data, aad=b"hdr")
    assert len(iv) == 12 and len(tag) == 16
    d = Cipher(algorithms.AES(key), modes.GCM(iv, tag)).decryptor()
    d.authenticate_additional_data(b"hdr")
    assert d.update(ct) + d.finalize() == data
    assert gcm_open(c, uid, ct, iv, tag, aad=b"hdr") == data
    with pytest.raises(Exception) as ei:
        gcm_open(c, uid, ct, iv, bytes(16), aad=b"hdr")
    assert "CRYPTOGRAPHIC_FAILURE" in str(ei.value) or \
        "decryption failed" in str(ei.value)

    # an Active key is not destroyed; revoked, it is, and its material goes
    f = failure(c.destroy, uid)
    assert "revoke it first" in f.message
    c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    assert state_of(c, uid) == enums.State.DEACTIVATED
    f = failure(c.encrypt, b"x" * 16, uid=uid, cryptographic_parameters=CBC)
    assert "not Active" in f.message
    c.destroy(uid)
    assert state_of(c, uid) == enums.State.DESTROYED
    f = failure(c.get, uid)
    assert f.reason == (enums.ResultReason.OBJECT_DESTROYED if version == V20
                        else enums.ResultReason.KEY_VALUE_NOT_PRESENT), f
    f = failure(c.get, "no-such-object")
    assert f.reason == enums.ResultReason.ITEM_NOT_FOUND


def test_kmip_compromise(client_of):
    c = client_of(V12)
    uid = create_key(c, length=128)
    c.activate(uid)
    c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid)
    a = attrs_of(c, uid)
    assert a["State"][0].value == enums.State.COMPROMISED
    assert "Compromise Date" in a
    c.destroy(uid)
    assert state_of(c, uid) == enums.State.DESTROYED_COMPROMISED


@pytest.mark.parametrize("version", VERSIONS)
def test_kmip_register_and_formats(client_of, version):
    c = client_of(version)
    material = bytes(range(16))
    uid = c.register(pie_objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, material,
        [enums.CryptographicUsageMask.ENCRYPT,
         enums.CryptographicUsageMask.DECRYPT], name="registered"))
    assert c.get(uid).value == material
    # Transparent Symmetric Key (raw: PyKMIP's client cannot read it)
    fmt = ttlv(0x420042, 5, enums.KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.value)
    r = roundtrip(c._kmip_port, c._pki, raw_request(
        0x0A, ttlv(0x420094, 7, uid) + fmt,
        *((2, 0) if version == V20 else (1, 2))))
    assert result_of(r)[0] == 0, result_of(r)
    items = list(walk(r))
    assert (0x420042, 5, struct.pack(">I", 7)) in items
    assert (0x42003F, 8, material) in items      # Key in Key Material
    # a format keyward does not serve is refused by name
    r = c.proxy.get(uid, key_format_type=cobjects.KeyFormatType(
        enums.KeyFormatType.PKCS_8))
    assert r.result_status.value == enums.ResultStatus.OPERATION_FAILED
    assert r.result_reason.value == \
        enums.ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED
    # AES keys of 128 or 256 bits only
    f = failure(c.create, enums.CryptographicAlgorithm.AES, 192)
    assert "128 or 256" in f.message


def test_kmip_locate(client_of):
    c = client_of(V12)
    tag = "%x" % int(time.time() * 1000)
    asi = AF.create_attribute(
        enums.AttributeType.APPLICATION_SPECIFIC_INFORMATION,
        {"application_namespace": "LIBRARY-LTO",
         "application_data": "TAPE-%s" % tag})
    lto = c.create(enums.CryptographicAlgorithm.AES, 256,
                   operation_policy_name=None, name="lto-" + tag)
    # ASI on a created key, 1.x AddAttribute (raw: PyKMIP 0.10 lacks it)
    resp = c_add_attribute(c, lto, asi)
    assert result_of(resp)[0] == 0, result_of(resp)
    other = create_key(c, name="other-" + tag)
    found = c.locate(attributes=[asi])
    assert found == [lto]
    ns_only = AF.create_attribute(
        enums.AttributeType.APPLICATION_SPECIFIC_INFORMATION,
        {"application_namespace": "LIBRARY-LTO", "application_data": ""})
    # an empty Application Data: every key of the namespace
    assert lto in c.locate(attributes=[ns_only])
    assert other not in c.locate(attributes=[ns_only])
    wrong = AF.create_attribute(
        enums.AttributeType.APPLICATION_SPECIFIC_INFORMATION,
        {"application_namespace": "LIBRARY-LTO",
         "application_data": "TAPE-elsewhere"})
    assert c.locate(attributes=[wrong]) == []
    assert c.locate(attributes=[AF.create_attribute(
        enums.AttributeType.NAME, "other-" + tag)]) == [other]
    assert c.locate(attributes=[AF.create_attribute(
        enums.AttributeType.NAME, "none-" + tag)]) == []
    c.activate(other)
    active = c.locate(attributes=[
        AF.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE),
        AF.create_attribute(enums.AttributeType.OBJECT_TYPE,
                            enums.ObjectType.SYMMETRIC_KEY)])
    assert other in active and lto not in active
    assert len(c.locate(maximum_items=1)) == 1


def x_attr(name, value):
    """A 1.x custom Attribute, raw."""
    return ttlv(0x420008, 1, ttlv(0x42000A, 7, name) +
                ttlv(0x42000B, 7, value))


def raw_locate(srv, cert, attrs, maximum=None, offset=None):
    """The uids a 1.2 Locate by raw attributes answers cert (fails the
    test when it fails)."""
    payload = b""
    if maximum is not None:
        payload += ttlv(0x42004F, 2, maximum)
    if offset is not None:
        payload += ttlv(0x4200D4, 2, offset)
    r = roundtrip(srv.kmip_port, srv.pki, raw_request(0x08, payload + attrs),
                  cert=cert)
    assert result_of(r)[0] == 0, result_of(r)
    return [v.decode() for tag, _t, v in walk(r) if tag == 0x420094]


def initial_date(c, uid):
    return attrs_of(c, uid, ["Initial Date"])["Initial Date"][0].value


def oldest_first(c, uids):
    """uids in the order Locate answers them."""
    return sorted(uids, key=lambda u: (initial_date(c, u), u))


def test_kmip_locate_by_key_acls(client_of, kmip_server):
    """Locate shows an identity only the objects it holds some key ACL
    on, and Maximum and Offset Items count what it may see."""
    tag = "%x" % int(time.time() * 1000)
    mark = x_attr("x-locate", tag)
    admin, alice = client_of(V12), client_of(V12, cert="alice")
    bob = client_of(V12, cert="bob")
    # oldest first (Initial Date, whole seconds, then uid): alice's two,
    # then, a second later, bob's two; all marked
    mine = oldest_first(alice, [create_key(alice, name="locate-alice")
                                for _ in range(2)])
    time.sleep(1.05 - time.time() % 1)
    bobs = oldest_first(admin, [create_key(admin, name="locate-bob")
                                for _ in range(2)])
    assert initial_date(alice, mine[-1]) < initial_date(admin, bobs[0])
    for uid, cert in [(u, "alice") for u in mine] + \
            [(u, "admin") for u in bobs]:
        r = roundtrip(kmip_server.kmip_port, kmip_server.pki,
                      raw_request(0x0D, ttlv(0x420094, 7, uid) + mark),
                      cert=cert)
        assert result_of(r)[0] == 0, result_of(r)
    assert raw_locate(kmip_server, "alice", mark) == mine
    assert raw_locate(kmip_server, "bob", mark) == bobs
    assert raw_locate(kmip_server, "admin", mark) == bobs
    # by Name, and with no attributes at all
    by_name = AF.create_attribute(enums.AttributeType.NAME, "locate-alice")
    assert sorted(alice.locate(attributes=[by_name])) == sorted(mine)
    assert bob.locate(attributes=[by_name]) == []
    everything = bob.locate()
    assert set(bobs) <= set(everything) and not set(mine) & set(everything)
    # bob's first visible object is the third match: Maximum Items and
    # Offset Items apply after the hidden ones are left out
    assert raw_locate(kmip_server, "bob", mark, maximum=1) == bobs[:1]
    assert raw_locate(kmip_server, "bob", mark, maximum=1, offset=1) == \
        bobs[1:]
    assert raw_locate(kmip_server, "alice", mark, maximum=1, offset=1) == \
        mine[1:]
    f = failure(bob.get_attributes, mine[0])
    assert f.reason == enums.ResultReason.PERMISSION_DENIED


def c_add_attribute(c, uid, attribute):
    """A 1.x AddAttribute through c's connection (raw payload)."""
    from kmip.core.utils import BytearrayStream
    s = BytearrayStream()
    attribute.write(s)
    payload = ttlv(0x420094, 7, uid) + bytes(s.buffer)
    return roundtrip(c._kmip_port, c._pki, raw_request(0x0D, payload))


@pytest.fixture(autouse=True)
def _raw_access(kmip_server, monkeypatch):
    # c_add_attribute's way to the server
    monkeypatch.setattr(ProxyKmipClient, "_kmip_port", kmip_server.kmip_port,
                        raising=False)
    monkeypatch.setattr(ProxyKmipClient, "_pki", kmip_server.pki,
                        raising=False)


def test_kmip_attributes_1x(client_of, kmip_server):
    c = client_of(V12)
    uid = create_key(c, name="attr-1x")
    # custom x- attribute, raw
    attr = ttlv(0x420008, 1, ttlv(0x42000A, 7, "x-colour") +
                ttlv(0x42000B, 7, "blue"))
    r = roundtrip(kmip_server.kmip_port, kmip_server.pki,
                  raw_request(0x0D, ttlv(0x420094, 7, uid) + attr))
    assert result_of(r)[0] == 0, result_of(r)
    assert "x-colour" in c.get_attribute_list(uid)
    a = attrs_of(c, uid)
    assert a["x-colour"][0].value == "blue"
    assert [n.name_value.value for n in a["Name"]] == ["attr-1x"]
    # Locate by the custom attribute
    loc = ttlv(0x420008, 1, ttlv(0x42000A, 7, "x-colour") +
               ttlv(0x42000B, 7, "blue"))
    r = roundtrip(kmip_server.kmip_port, kmip_server.pki,
                  raw_request(0x08, loc))
    assert result_of(r)[0] == 0
    assert uid.encode() in r
    # ModifyAttribute (1.x) replaces the value at index 0
    new = ttlv(0x420008, 1, ttlv(0x42000A, 7, "x-colour") +
               ttlv(0x42000B, 7, "green"))
    r = roundtrip(kmip_server.kmip_port, kmip_server.pki,
                  raw_request(0x0E, ttlv(0x420094, 7, uid) + new))
    assert result_of(r)[0] == 0, result_of(r)
    assert attrs_of(c, uid)["x-colour"][0].value == "green"
    # a server-set attribute is refused
    st = ttlv(0x420008, 1, ttlv(0x42000A, 7, "State") +
              ttlv(0x42000B, 5, 2))
    r = roundtrip(kmip_server.kmip_port, kmip_server.pki,
                  raw_request(0x0D, ttlv(0x420094, 7, uid) + st))
    assert result_of(r)[0] == 1 and "set by the server" in result_of(r)[2]
    # DeleteAttribute (1.x) by name and index
    c.delete_attribute(uid, attribute_name="x-colour", attribute_index=0)
    assert "x-colour" not in c.get_attribute_list(uid)


def test_kmip_attributes_2_0(client_of):
    c = client_of(V20)
    uid = create_key(c, name="attr-20")
    c.set_attribute(uid, attribute_name="Object Group",
                    attribute_value="backups")
    a = attrs_of(c, uid)
    assert a["Object Group"][0].value == "backups"
    c.set_attribute(uid, attribute_name="Object Group",
                    attribute_value="archive")
    assert attrs_of(c, uid)["Object Group"][0].value == "archive"
    c.modify_attribute(uid, new_attribute=cobjects.NewAttribute(
        attribute=primitives.TextString("nightly",
                                        tag=enums.Tags.OBJECT_GROUP)))
    assert attrs_of(c, uid)["Object Group"][0].value == "nightly"
    assert "Object Group" in c.get_attribute_list(uid)


def plain(v):
    """An enumeration's number, however PyKMIP wrapped it."""
    while hasattr(v, "value"):
        v = v.value
    return v


def test_kmip_query_and_versions(client_of):
    c = client_of(V12)
    r = c.proxy.discover_versions()
    got = [(v.major, v.minor) for v in r.protocol_versions]
    assert got[:2] == [(2, 0), (1, 4)] and (1, 0) in got
    r = c.proxy.query(query_functions=[
        enums.QueryFunction.QUERY_OPERATIONS,
        enums.QueryFunction.QUERY_OBJECTS])
    ops = [plain(o) for o in r.operations]
    for op in (enums.Operation.CREATE, enums.Operation.ENCRYPT,
               enums.Operation.LOCATE, enums.Operation.DESTROY):
        assert op.value in ops
    assert [plain(o) for o in r.object_types] == \
        [enums.ObjectType.SYMMETRIC_KEY.value]


def test_kmip_acl_denials_and_audit(client_of, kmip_server):
    admin = client_of(V12)
    uid = create_key(admin, name="acl-target")
    bob = client_of(V12, cert="bob")
    f = failure(create_key, bob)
    assert f.reason == enums.ResultReason.PERMISSION_DENIED
    assert "CREATE" in f.message
    # a refused Create is audited with the Name it asked for
    f = failure(create_key, bob, name="bob-wants-this")
    assert "CREATE" in f.message
    # a new object's key ACL is the Name's: alice may create under the
    # default key ACLs, but locate-bob's MANAGEMENT is admin's alone
    alice = client_of(V12, cert="alice")
    by_name = [AF.create_attribute(enums.AttributeType.NAME, "locate-bob")]
    before = admin.locate(attributes=by_name)
    f = failure(create_key, alice, name="locate-bob")
    assert f.reason == enums.ResultReason.PERMISSION_DENIED
    assert "MANAGEMENT" in f.message and "locate-bob" in f.message
    f = failure(alice.register, pie_objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, bytes(16), name="locate-bob"))
    assert f.reason == enums.ResultReason.PERMISSION_DENIED
    assert "MANAGEMENT" in f.message
    assert admin.locate(attributes=by_name) == before
    # so does renaming an object: a new first Name brings its key ACLs
    uid_a = create_key(alice, name="alice-renames")

    def rename(uid, to, op=0x0E):
        name = ttlv(0x420008, 1, ttlv(0x42000A, 7, "Name") + ttlv(
            0x42000B, 1, ttlv(0x420055, 7, to) + ttlv(0x420054, 5, 1)))
        return result_of(roundtrip(
            kmip_server.kmip_port, kmip_server.pki,
            raw_request(op, ttlv(0x420094, 7, uid) + name), cert="alice"))
    st, reason, msg = rename(uid_a, "locate-bob")
    assert (st, reason) == (1, enums.ResultReason.PERMISSION_DENIED.value)
    assert "MANAGEMENT" in msg and "locate-bob" in msg
    assert rename(uid_a, "alice-renamed")[0] == 0
    names = attrs_of(alice, uid_a, ["Name"])["Name"]
    assert [n.name_value.value for n in names] == ["alice-renamed"]
    f = failure(bob.get, uid)
    assert f.reason == enums.ResultReason.PERMISSION_DENIED
    # bob may read attributes (GET_METADATA) but not key material
    assert attrs_of(bob, uid, ["State"])["State"][0].value == \
        enums.State.PRE_ACTIVE
    # carol is in no ACL at all; alice lacks SET_KEY_MATERIAL (Register)
    f = failure(alice.register, pie_objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, bytes(16)))
    assert "SET_KEY_MATERIAL" in f.message

    def has(recs, **want):
        return [r for r in recs if all(r.get(k) == v for k, v in
                                       want.items())]
    kmip_server.wait_audit(lambda rs: has(rs, op="KMIP_CREATE",
                                          identity="bob", result="DENIED"),
                           what="bob's denied create")
    kmip_server.wait_audit(lambda rs: has(rs, op="KMIP_CREATE",
                                          identity="bob",
                                          key="bob-wants-this",
                                          result="DENIED"),
                           what="bob's denied create, with its Name")
    kmip_server.wait_audit(lambda rs: has(rs, op="KMIP_CREATE",
                                          identity="alice", key="locate-bob",
                                          result="DENIED"),
                           what="alice's denied create under locate-bob")
    kmip_server.wait_audit(lambda rs: has(rs, op="KMIP_GET", identity="bob",
                                          key=uid, result="DENIED"),
                           what="bob's denied get")
    kmip_server.wait_audit(lambda rs: has(rs, op="KMIP_CREATE",
                                          identity="admin", key=uid,
                                          result="OK"),
                           what="admin's create")
    for r in kmip_server.audit_records():
        assert r["op"] != "KMIP_GET" or r.get("result") in ("OK", "DENIED",
                                                            "ERROR")


def test_kmip_bad_messages(kmip_server, client_of):
    port, pki = kmip_server.kmip_port, kmip_server.pki
    # not a structure: Invalid Message, then the connection closes
    c = RawConn(port, pki)
    c.send(bytes.fromhex("4200780200000004") + b"\0" * 8)
    st, reason, msg = result_of(c.read_message())
    assert (st, reason) == (1, enums.ResultReason.INVALID_MESSAGE.value), msg
    assert c.closed()
    c.close()
    # a header announcing more than kmip.max_message_bytes
    c = RawConn(port, pki)
    c.send(bytes.fromhex("42007801") + struct.pack(">I", MAX_MESSAGE * 4))
    st, reason, msg = result_of(c.read_message())
    assert (st, reason) == (1, enums.ResultReason.INVALID_MESSAGE.value), msg
    assert c.closed()
    c.close()
    # a well-framed message with a broken inside: an error, and the
    # connection stays usable
    bad = ttlv(0x420078, 1, ttlv(0x420077, 1, ttlv(0x42000D, 2, 1)))
    c = RawConn(port, pki)
    c.send(bad)
    st, reason, _msg = result_of(c.read_message())
    assert (st, reason) == (1, enums.ResultReason.INVALID_MESSAGE.value)
    c.send(raw_request(0x1E, b""))          # DiscoverVersions
    assert result_of(c.read_message())[0] == 0
    c.close()
    # an operation keyward does not do
    r = roundtrip(port, pki, raw_request(0x02, b""))   # CreateKeyPair
    assert result_of(r)[:2] == \
        (1, enums.ResultReason.OPERATION_NOT_SUPPORTED.value)
    # a stranger's certificate gets no KMIP at all
    st, reason, msg = result_of(roundtrip(port, pki, raw_request(0x1E, b""),
                                          cert="rogue"))
    assert (st, reason) == \
        (1, enums.ResultReason.AUTHENTICATION_NOT_SUCCESSFUL.value), msg
    assert "certificate" in msg
    # and the server still serves
    assert len(client_of(V12).get(create_key(client_of(V12)))
               .value) == 32
    assert kmip_server.proc.poll() is None


def test_kmip_objects_count_for_master_keys(client_of, kmip_server):
    """A KMIP object is wrapped under the active master key: the keyring's
    status counts it, so a master key is never retired from under it."""
    def versions():
        _rc, out, _err = kwtest.run([kwtest.ADMIN_BIN, "master-key",
                                     "status", "-c", kmip_server.conf,
                                     "--json"])
        return json.loads(out)["versions"]
    before = versions()
    c = client_of(V12)
    create_key(c)
    uid = create_key(c)
    assert versions() == before + 2
    # destroyed, its material is gone: it holds no master key any more
    c.destroy(uid)
    assert versions() == before + 1


def test_kmip_limits(servers):
    """[limits] apply to KMIP: a client idle past request_timeout_s, or
    trickling a message slower than that, is cut off; connections past
    max_connections_per_ip are closed at once; the server serves on."""
    port = kwtest.free_port()
    srv = servers.make(settings={
        ("kmip", "listen"): "127.0.0.1:%d" % port,
        ("limits", "request_timeout_s"): "2",
        ("limits", "max_connections_per_ip"): "3"})
    srv.kmip_port = port
    srv.start()
    pki = srv.pki
    idle = RawConn(port, pki)
    t0 = time.monotonic()
    idle.s.settimeout(15)
    assert idle.closed()                        # EOF: the server cut it
    assert time.monotonic() - t0 < 12
    idle.close()
    # a message trickled a byte a second never completes
    slow = RawConn(port, pki)
    slow.s.settimeout(15)
    msg = raw_request(0x1E, b"")
    t0 = time.monotonic()
    cut = False
    for b in msg:
        try:
            slow.send(bytes([b]))
        except OSError:
            cut = True
            break
        if time.monotonic() - t0 > 10:
            break
        time.sleep(0.5)
    assert cut or slow.closed()
    slow.close()
    # three connections at once from here, the fourth refused
    held = [RawConn(port, pki) for _ in range(3)]
    with pytest.raises((ssl.SSLError, OSError, EOFError)):
        extra = RawConn(port, pki)
        extra.send(raw_request(0x1E, b""))
        extra.read_message()
    for c in held:
        c.close()
    # and it serves the next client
    deadline = time.monotonic() + 10
    while True:
        try:
            r = roundtrip(port, pki, raw_request(0x1E, b""))
            break
        except (ssl.SSLError, OSError, EOFError):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert result_of(r)[0] == 0


def test_kmip_rewrap_after_rotation(servers):
    """A master key rotation moves KMIP objects under the new key too (the
    background rewrap), and their material stays what it was."""
    port = kwtest.free_port()
    srv = servers.make(settings={("kmip", "listen"): "127.0.0.1:%d" % port})
    srv.kmip_port = port
    srv.start()
    c = kmip_client(srv)
    try:
        uid = create_key(c)
        material = c.get(uid).value

        def status():
            _rc, out, _err = kwtest.run([kwtest.ADMIN_BIN, "master-key",
                                         "status", "-c", srv.conf,
                                         "--json"])
            return json.loads(out)
        old = status()["active"]
        _rc, out, _err = kwtest.run([kwtest.ADMIN_BIN, "master-key", "add",
                                     "-c", srv.conf])
        new = out.split("added master key ", 1)[1].split()[0]
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while True:
            rc, _o, _e = kwtest.run([kwtest.ADMIN_BIN, "master-key",
                                     "rotate", "-c", srv.conf], check=False)
            if rc == 0:
                break
            assert time.monotonic() < deadline, "rotate refused: %s" % _e
            time.sleep(0.5)
        st = status()
        while not st["rewrap_done"]:
            assert time.monotonic() < deadline + 30, \
                "KMIP object not rewrapped: %r" % st
            time.sleep(0.3)
            st = status()
        assert st["active"] == new != old
        assert st["versions_under_active"] == st["versions"] >= 1
        assert c.get(uid).value == material
    finally:
        c.close()


def test_kmip_lone_node_settles(client_of, kmip_server):
    """On a lone node (the only copy) the monitor settles every pending
    KMIP object, as it does keys: a row left pending (here by hand, as a
    server dying between commit and settle would) does not stay so."""
    c = client_of()
    uid = create_key(c, name="left-pending")
    srv = kmip_server

    def pending():
        return srv.pg.psql("SELECT pending FROM kmip_objects WHERE uid = "
                           "'%s'" % uid, srv.dbname)[1].strip()
    assert pending() == "f"
    srv.pg.psql("UPDATE kmip_objects SET pending = true WHERE uid = '%s'"
                % uid, srv.dbname)
    deadline = time.monotonic() + 30
    while pending() != "f":
        assert time.monotonic() < deadline, "%s still pending" % uid
        time.sleep(0.2)
