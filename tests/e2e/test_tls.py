"""STARTTLS both ways, with a CA made here: ingest (offered or required, no command injection across the
handshake) and the relay (opportunistic, or verified against the CA and the relay's name)."""
import os
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Sink, wait_until

POST = b"From: alice@example.org\r\nSubject: over TLS\r\n\r\nSealed in transit.\r\n"


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, and two server certificates it signed: one for 127.0.0.1/localhost, one for another name."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=mlistd test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    for name, san in (("good", "DNS:localhost,IP:127.0.0.1"), ("wrong", "DNS:elsewhere.example")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        with open(d / f"{name}.ext", "w") as f:
            f.write(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return d


def client_ctx(pki):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    ctx.check_hostname = False          # smtplib connects by IP; the chain is still checked
    return ctx


def server_ctx(pki, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / f"{name}.pem"), str(pki / f"{name}.key"))
    return ctx


def tls_listener(pki, require):
    return (f'tls = {{ certificate = "{pki}/good.pem"; key = "{pki}/good.key"; }}; '
            f'require_tls = {"true" if require else "false"};')


def test_ingest_starttls_required(make_instance, sink, pki):
    inst = make_instance(listen_tls=tls_listener(pki, True))
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")
        code, msg = s.mail("alice@example.org")
        assert code == 530 and b"5.7.0" in msg and b"STARTTLS" in msg     # not before TLS
        s.rset()
        s.starttls(context=client_ctx(pki))
        s.ehlo("client.example")
        assert not s.has_extn("starttls")                                 # not twice
        assert s.sendmail("alice@example.org", ["demo@lists.example"], POST) == {}
    assert sink.wait_for(3)
    assert inst.wait_log("starttls=TLS")


def test_ingest_starttls_offered_and_plain_still_works(make_instance, sink, pki):
    inst = make_instance(listen_tls=tls_listener(pki, False))
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], POST)      # no TLS: allowed here
    assert sink.wait_for(3)


def test_no_command_injection_across_starttls(make_instance, sink, pki):
    """Commands sent in clear right behind STARTTLS (CVE-2011-0411) are dropped, not run inside TLS."""
    inst = make_instance(listen_tls=tls_listener(pki, False))
    raw = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    f = raw.makefile("rb")
    assert f.readline().startswith(b"220")
    raw.sendall(b"EHLO c\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n")
    assert f.readline().startswith(b"220 2.0.0")
    tls = client_ctx(pki).wrap_socket(raw)
    tls.sendall(b"RCPT TO:<demo@lists.example>\r\n")
    reply = tls.recv(4096)
    # had MAIL been run inside TLS, RCPT would be accepted; the session starts afresh instead
    assert reply.startswith(b"503"), reply
    tls.close()


def post_through_verified_relay(make_instance, sink, pki):
    """An instance whose relay is `sink`, with relay.tls = verify against the test CA; one post sent."""
    relay = (f'{{ host = "127.0.0.1"; port = {sink.port}; timeout = 10; retry_base = 1; tls = "verify"; '
             f'tls_ca_file = "{pki}/ca.pem"; }}')
    inst = make_instance(relay=relay)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], POST)
    return inst


def test_relay_starttls_verified(make_instance, pki):
    sink = Sink(tls_context=server_ctx(pki, "good"), require_starttls=True)
    sink.start()
    try:
        inst = post_through_verified_relay(make_instance, sink, pki)
        assert sink.wait_for(3), inst.logtext()
        assert sink.handler.tls and all(sink.handler.tls)                  # every copy went inside TLS
    finally:
        sink.stop()


def test_relay_with_the_wrong_name_gets_nothing(make_instance, pki):
    sink = Sink(tls_context=server_ctx(pki, "wrong"), require_starttls=True)
    sink.start()
    try:
        inst = post_through_verified_relay(make_instance, sink, pki)
        assert inst.wait_log("not trusted"), inst.logtext()
        time.sleep(0.5)
        assert sink.handler.messages == []                                  # deferred, not sent in clear
        assert "pending" in inst.ctl("status").stdout
    finally:
        sink.stop()


def test_relay_without_starttls_and_verify_defers(make_instance, sink, pki):
    inst = post_through_verified_relay(make_instance, sink, pki)
    assert inst.wait_log("does not offer STARTTLS")
    assert sink.handler.messages == []


def test_relay_opportunistic_uses_tls_when_offered(make_instance, pki):
    sink = Sink(tls_context=server_ctx(pki, "wrong"))                       # unverified is fine for "may"
    sink.start()
    try:
        inst = make_instance(relay=f'{{ host = "127.0.0.1"; port = {sink.port}; timeout = 10; retry_base = 1; }}')
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail("alice@example.org", ["demo@lists.example"], POST)
        assert sink.wait_for(3)
        assert all(sink.handler.tls)
    finally:
        sink.stop()


def test_bad_tls_configuration_is_reported(make_instance, sink, pki, tmp_path):
    from conftest import MLISTD
    inst = make_instance(start=False)
    conf = open(inst.conf).read()
    listener = f'port = {inst.port};'
    with open(inst.conf, "w") as f:
        f.write(conf.replace(listener, listener + f' tls = {{ certificate = "{pki}/good.pem"; }};'))
    r = inst.ctl("check", check=False)
    assert r.returncode == 1 and "mlistd.conf:2: listen.[0].: tls needs both certificate and key" in r.stderr
    with open(inst.conf, "w") as f:
        f.write(conf.replace(listener, listener + f' tls = {{ certificate = "{tmp_path}/none.pem"; '
                                                  f'key = "{tmp_path}/none.key"; }};'))
    r = subprocess.run([MLISTD, "-c", inst.conf, "-f"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "TLS certificate" in r.stderr and "none.pem" in r.stderr
