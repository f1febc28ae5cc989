"""test_auth_dns.py - who sent this: the auth module's verdict (tests/tools/authcheck.c) on
messages signed by an independent signer (dkimpy), keys and DMARC policies served by a real
DNS server on 127.0.0.1 (unbound, tests/e2e/dnsserver.py)."""
import base64
import os
import re
import subprocess

import pytest

from conftest import BUILD, free_port
from dnsserver import UNBOUND, DnsServer

dkim = pytest.importorskip("dkim")
nacl_signing = pytest.importorskip("nacl.signing")

AUTHCHECK = os.path.join(BUILD, "tests", "tools", "authcheck")
MSG = (b"From: Alice Example <alice@example.mlistd>\r\n"
       b"To: demo@lists.example\r\n"
       b"Subject: a post\r\n"
       b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
       b"Message-ID: <post-1@example.mlistd>\r\n"
       b"\r\n"
       b"Hello, list.\r\n")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    subprocess.run(["openssl", "genrsa", "-out", str(d / "rsa.key"), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(d / "rsa.key"), "-pubout", "-outform",
                          "DER"], check=True, capture_output=True).stdout
    ed = nacl_signing.SigningKey.generate()
    return {
        "rsa": (d / "rsa.key").read_bytes(),
        "rsa_txt": "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode(),
        "ed": base64.b64encode(bytes(ed)),
        "ed_txt": "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ed.verify_key)).decode(),
    }


@pytest.fixture(scope="module")
def dns(tmp_path_factory, keys):
    if not os.access(UNBOUND, os.X_OK):
        pytest.skip("unbound is not installed (tools/install-deps installs it)")
    assert os.access(AUTHCHECK, os.X_OK), "build/tests/tools/authcheck missing: make it"
    k = keys
    # "test." is one of the zones unbound answers itself (RFC 6761): a TLD of our own instead
    srv = DnsServer(tmp_path_factory.mktemp("zone"), ["mlistd"], {
        "rsa._domainkey.example.mlistd": [k["rsa_txt"]],
        "ed._domainkey.mail.example.mlistd": [k["ed_txt"]],
        "rsa._domainkey.other.mlistd": [k["rsa_txt"]],
        "rsa._domainkey.signed.mlistd": [k["rsa_txt"]],
        "_dmarc.example.mlistd": ["v=DMARC1; p=reject; adkim=r"],
        "_dmarc.other.mlistd": ["v=DMARC1; p=none"],
    }).start()
    yield srv
    srv.stop()


def sign(keys, msg=MSG, domain=b"example.mlistd", selector=b"rsa", ed=False, **kw):
    alg = b"ed25519-sha256" if ed else b"rsa-sha256"
    priv = keys["ed"] if ed else keys["rsa"]
    return dkim.sign(msg, selector, domain, priv, signature_algorithm=alg,
                     canonicalize=(b"relaxed", b"relaxed"), **kw) + msg


def check(msg, resolver, *args, timeout_ms=3000):
    p = subprocess.run([AUTHCHECK, "-r", resolver, "-t", str(timeout_ms), *args], input=msg,
                       capture_output=True, timeout=60)
    out = p.stdout.decode()
    assert out.startswith("result="), (p.returncode, out, p.stderr.decode())
    fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', out))
    fields["rc"] = p.returncode
    return fields


def test_aligned_rsa2048(dns, keys):
    v = check(sign(keys), dns.address)
    assert v["rc"] == 0 and v["result"] == "ok", v
    assert v["level"] == "dkim-aligned" and v["source"] == "own", v
    assert v["signer"] == "example.mlistd" and v["policy"] == "reject", v


def test_aligned_ed25519_subdomain(dns, keys):
    v = check(sign(keys, domain=b"mail.example.mlistd", selector=b"ed", ed=True), dns.address)
    assert v["result"] == "ok" and v["level"] == "dkim-aligned", v
    assert v["signer"] == "mail.example.mlistd", v


def test_misaligned(dns, keys):
    v = check(sign(keys, domain=b"other.mlistd"), dns.address)
    assert v["result"] == "ok", v
    assert v["level"] == "none" and "not aligned" in v["reason"], v


def test_tampered_body(dns, keys):
    signed = sign(keys)
    assert check(signed, dns.address)["level"] == "dkim-aligned"
    v = check(signed.replace(b"Hello, list.", b"Hello, list!"), dns.address)
    assert v["result"] == "ok" and v["level"] == "none", v
    assert "body hash" in v["reason"], v


def test_length_extended(dns, keys):
    signed = sign(keys, length=True)
    assert check(signed, dns.address)["level"] == "dkim-aligned"
    v = check(signed + b"\r\nAppended by somebody else.\r\n", dns.address)
    assert v["result"] == "ok" and v["level"] == "none" and v["partial"] == "1", v


def test_unsigned(dns):
    v = check(MSG, dns.address)
    assert v["rc"] == 0 and v["level"] == "none" and v["policy"] == "reject", v
    assert "no DKIM" in v["reason"], v


def test_dns_timeout_is_tempfail(keys):
    # nobody answers on this port: the verdict must wait, not pass or refuse
    v = check(sign(keys), "127.0.0.1@%d" % free_port(), timeout_ms=1500)
    assert v["rc"] == 1 and v["result"] == "tempfail", v
    assert v["level"] == "none", v


def test_dnssec_bogus(dns, keys, tmp_path):
    # an anchor for signed.mlistd, which the server does not sign: its answers are bogus
    anchor = tmp_path / "anchor"
    anchor.write_text("signed.mlistd. IN DS 2371 13 2 "
                      "1F987CC6583E92DF0890718C42D4D15E3F2F6B1E9F8AB5F2C1A3B7D0E4F6A8C2\n")
    msg = MSG.replace(b"alice@example.mlistd", b"alice@signed.mlistd")
    v = check(sign(keys, msg=msg, domain=b"signed.mlistd"), dns.address, "-T", str(anchor))
    assert v["result"] == "ok" and v["level"] == "none", v
    assert "bogus" in v["reason"], v
    # the insecure zone beside it is still accepted under the same anchor
    v = check(sign(keys), dns.address, "-T", str(anchor))
    assert v["level"] == "dkim-aligned", v


def test_authres_inside_and_outside(dns):
    inside = (b"Authentication-Results: mx.lists.example; dkim=pass header.d=example.mlistd\r\n"
              b"Received: from outside.example by mx.lists.example\r\n" + MSG)
    v = check(inside, dns.address, "-a", "mx.lists.example")
    assert v["level"] == "dkim-aligned" and v["source"] == "authres", v
    outside = (b"Received: from outside.example by mx.lists.example\r\n"
               b"Authentication-Results: mx.lists.example; dkim=pass header.d=example.mlistd\r\n"
               + MSG)
    v = check(outside, dns.address, "-a", "mx.lists.example")
    assert v["result"] == "ok" and v["level"] == "none" and v["ignored"] == "1", v
