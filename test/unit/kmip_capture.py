#!/usr/bin/python3
"""kmip_capture.py: capture the bytes PyKMIP's client (Debian python3-pykmip,
ProxyKmipClient) sends, as test vectors for test/unit/check_kmip_msg.c.

A throwaway CA and certificates are made with openssl in a temporary
directory; a TLS listener on a free loopback port reads one request message
per connection, records it and closes the connection (the client then
fails, which is expected: only the request is wanted).  Prints one
"name hex" line a request.  Run: /usr/bin/python3 test/unit/kmip_capture.py
"""
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

from kmip import enums
from kmip.core import utils
from kmip.core.messages import contents, messages
from kmip.pie import client as pie_client
from kmip.pie import objects

KEY = bytes(range(32))  # the Register case's key material: 00 01 .. 1f


def certs(d):
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-subj", "/CN=capture-ca", "-days", "2")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", "/CN=" + name)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
            "-extfile", ext)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("short read")
        buf += chunk
    return buf


def serve(sock, ctx, got):
    while True:
        try:
            raw, _ = sock.accept()
        except OSError:
            return
        try:
            with ctx.wrap_socket(raw, server_side=True) as conn:
                hdr = read_exact(conn, 8)
                (length,) = struct.unpack(">I", hdr[4:])
                got.append(hdr + read_exact(conn, length))
        except (OSError, EOFError, ssl.SSLError):
            raw.close()


def send_batch(c):
    """DiscoverVersions then Query, one message, Unique Batch Item IDs 01
    and 02, through the client's own send path."""
    p = c.proxy
    items = [p._build_discover_versions_batch_item(
        [contents.ProtocolVersion(2, 0), contents.ProtocolVersion(1, 2)]),
        p._build_query_batch_item([enums.QueryFunction.QUERY_OPERATIONS,
                                   enums.QueryFunction.QUERY_OBJECTS])]
    for n, item in enumerate(items, 1):
        item.unique_batch_item_id = contents.UniqueBatchItemID(bytes([n]))
    p._send_message(p._build_request_message(None, items))
    p._receive_message()  # fails when the listener closes: it has read


def response_hex():
    """A failed Get: Item Not Found, at 2008-03-14 11:56:40 (the spec's
    example time), batch item ID 0x01, version 1.2."""
    header = messages.ResponseHeader(
        protocol_version=contents.ProtocolVersion(1, 2),
        time_stamp=contents.TimeStamp(0x47DA67F8),
        batch_count=contents.BatchCount(1))
    item = messages.ResponseBatchItem(
        operation=contents.Operation(enums.Operation.GET),
        unique_batch_item_id=contents.UniqueBatchItemID(b"\x01"),
        result_status=contents.ResultStatus(
            enums.ResultStatus.OPERATION_FAILED),
        result_reason=contents.ResultReason(
            enums.ResultReason.ITEM_NOT_FOUND),
        result_message=contents.ResultMessage("no such key"))
    stream = utils.BytearrayStream()
    messages.ResponseMessage(response_header=header,
                             batch_items=[item]).write(
        stream, enums.KMIPVersion.KMIP_1_2)
    return stream.buffer.hex()


def main():
    with tempfile.TemporaryDirectory(prefix="kmip-capture-") as d:
        capture(d)


def capture(d):
    certs(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"),
                        os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    port = sock.getsockname()[1]
    got = []
    conf = os.path.join(d, "pykmip.conf")  # empty: every setting is given
    open(conf, "w").close()
    threading.Thread(target=serve, args=(sock, ctx, got), daemon=True).start()

    def call(name, version, fn):
        c = pie_client.ProxyKmipClient(
            hostname="127.0.0.1", port=port,
            cert=os.path.join(d, "client.pem"),
            key=os.path.join(d, "client.key"),
            ca=os.path.join(d, "ca.pem"), kmip_version=version,
            config_file=conf)
        before = len(got)
        c.open()
        try:
            fn(c)
        except Exception:
            pass
        c.close()
        deadline = time.monotonic() + 10
        while len(got) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(got) != before + 1:
            sys.exit("no request captured for " + name)
        print(name, got[-1].hex())

    v12, v20 = enums.KMIPVersion.KMIP_1_2, enums.KMIPVersion.KMIP_2_0
    aes = enums.CryptographicAlgorithm.AES
    call("create_1_2", v12, lambda c: c.create(aes, 256, name="tape-key-1"))
    call("create_2_0", v20, lambda c: c.create(aes, 128, name="vm-key-7"))
    call("register_1_2", v12, lambda c: c.register(
        objects.SymmetricKey(aes, 256, KEY)))
    call("get_attributes_1_2", v12, lambda c: c.get_attributes(
        "42", ["State", "Name"]))
    call("encrypt_1_4", enums.KMIPVersion.KMIP_1_4, lambda c: c.encrypt(
        b"weka-filesystem-key", uid="7", cryptographic_parameters={
            "block_cipher_mode": enums.BlockCipherMode.GCM,
            "cryptographic_algorithm": aes, "tag_length": 16},
        iv_counter_nonce=bytes(12)))
    call("set_attribute_2_0", v20, lambda c: c.set_attribute(
        "42", attribute_name="Cryptographic Length", attribute_value=128))
    call("batch_1_1", enums.KMIPVersion.KMIP_1_1, send_batch)

    # a response, for the encoder: what PyKMIP itself would answer
    print("response_1_2", response_hex())
    sock.close()


if __name__ == "__main__":
    main()
