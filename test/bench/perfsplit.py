#!/usr/bin/python3
"""test/bench/perfsplit.py: where a keyward-server profile's time goes.

    perfsplit.py PERF.DATA [LABEL [REQUESTS]]

Reads `perf report --no-children --sort dso,sym` of a `perf record` of
keyward-server (test/bench/run records one with BENCH_PERF=1) and adds up
each sample's own time (self time, not its callees') into the parts of a
request: TLS (GnuTLS and its nettle/gmp), libmicrohttpd, the kernel
(syscalls, loopback TCP, scheduling), malloc, locks, OpenSSL's
algorithm lookup, AES and RAND, jansson, base64, keyward's routing, ACL,
audit, HTTP glue and the rest.  Prints the parts in percent of all
samples (and, given the requests answered while recording, in CPU
microseconds a request: perf's cpu-clock event counts nanoseconds), then
the heaviest symbols.  It judges nothing.
"""

import re
import subprocess
import sys

# (part, dso pattern, symbol pattern): the first that matches wins
RULES = [
    ("kernel (syscalls, loopback TCP, scheduler)", r"kernel", r""),
    ("TLS (GnuTLS, nettle, gmp)",
     r"gnutls|nettle|hogweed|gmp|tasn1|p11-kit|idn|unistring", r""),
    ("libmicrohttpd (HTTP parsing, connection loop)", r"microhttpd", r""),
    ("OpenSSL lookups (EVP fetch, namemap, provider)",
     r"libcrypto|libssl",
     r"fetch|namemap|method_store|provider|ossl_lib_ctx|ossl_property|"
     r"OSSL_PARAM|ossl_param|EVP_CIPHER_free|EVP_CIPHER_up_ref|"
     r"evp_cipher_free|ossl_decoder|ossl_encoder|CRYPTO_THREAD|"
     r"ossl_rcu|lh_|OPENSSL_LH|ossl_ht"),
    ("RAND (OpenSSL DRBG)", r"libcrypto", r"rand|drbg|RAND|ctr_"),
    ("AES and other OpenSSL crypto", r"libcrypto|libssl", r""),
    ("JSON (jansson)", r"jansson", r""),
    ("database (libpq)", r"libpq", r""),
    ("locks (mutex, rwlock, futex)", r"libc",
     r"pthread_mutex|pthread_rwlock|lll_|futex|pthread_cond|pthread_once"),
    ("malloc/free", r"libc", r"malloc|free|_int_|realloc|calloc|tcache|"
     r"arena|sysmalloc|memalign"),
    ("libc strings and memory", r"libc", r"mem|str|__nss|printf|vfprintf"),
    ("libc other", r"libc|ld-linux", r""),
    ("base64", r"keyward", r"base64"),
    ("routing", r"keyward", r"route|router"),
    ("ACL and authorization", r"keyward", r"acl_|authz"),
    ("audit", r"keyward", r"audit"),
    ("JSON (keyward's side)", r"keyward", r"json"),
    ("keyward crypto (lib/crypto, keys, cache)", r"keyward",
     r"crypto_|kcache|keystore|kekring|secbuf|masterkey"),
    ("keyward HTTP glue (server/http.c)", r"keyward",
     r"http_|access_handler|dispatch|identity_of|conntrack|notify_conn|"
     r"request_completed|send_response|glue_|peer_text|conn_of"),
    ("logging and metrics", r"keyward", r"log_|metrics"),
    ("keyward other", r"keyward", r""),
]


def part_of(dso, sym):
    for name, dpat, spat in RULES:
        if re.search(dpat, dso) and (not spat or re.search(spat, sym)):
            return name
    return "other (%s)" % dso


def main():
    if len(sys.argv) not in (2, 3, 4):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    label = sys.argv[2] if len(sys.argv) >= 3 else sys.argv[1]
    nreq = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    p = subprocess.run(["perf", "report", "-i", sys.argv[1], "--no-children",
                        "--sort", "dso,sym", "--stdio", "-g", "none",
                        "--percent-limit", "0"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=600)
    parts, syms = {}, []
    ns = 0
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"# Event count \(approx.\): (\d+)", line)
        if m and "cpu-clock" in p.stdout.decode("utf-8", "replace"):
            ns = int(m.group(1))
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*\S)", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        name = part_of(dso, sym)
        parts[name] = parts.get(name, 0.0) + pct
        syms.append((pct, dso, sym, name))
    if not syms:
        print("perfsplit: no samples in %s" % sys.argv[1])
        return 1
    per = ns / 1000.0 / nreq if nreq and ns else 0.0
    print("\nprofile %s: self time by part of the request%s" % (
        label, ", %.1f us of CPU a request (%d requests)" % (per, nreq)
        if per else ""))
    for name, pct in sorted(parts.items(), key=lambda kv: -kv[1]):
        print("  %5.1f%%  %s%s" % (pct, "%6.2f us  " % (per * pct / 100)
                                   if per else "", name))
    print("  heaviest symbols:")
    for pct, dso, sym, name in sorted(syms, key=lambda s: -s[0])[:25]:
        print("  %5.1f%%  %-22s %s" % (pct, dso[:22], sym[:60]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
