"""The Authentication-Results path behind a real front MTA (#14): Postfix with Debian's OpenDKIM as
its milter verifies the DKIM signature against a real DNS server (unbound on 127.0.0.1, the sending
domain's key), adds its Authentication-Results under its authserv-id, and hands the post to mlistd
over LMTP. mlistd's own resolver knows no key for that domain, so a post accepted at the DKIM level
was accepted on the MTA's word; the same post with a dkim=pass written by the sender is not
believed. Skipped (with the reason) only when Postfix or OpenDKIM are missing and cannot be
installed, or the test does not run as root."""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import AUTHSERV_ID, free_port, wait_until
from test_authn import keys, sign, zone  # noqa: F401 (the fixtures: the key pair, its zone)
from test_postfix import Postfix, have_postfix

OPENDKIM = "/usr/sbin/opendkim"
ROSA = "rosa@example.mlistd"


def have_opendkim():
    if os.path.exists(OPENDKIM):
        return True
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends", "opendkim"],
                       capture_output=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return os.path.exists(OPENDKIM)


class OpenDkim:
    """opendkim -f in verify mode on a free port, its DNS through the test zone's unbound"""

    def __init__(self, root, dns_address):
        self.dir = os.path.join(root, "opendkim")
        os.makedirs(self.dir)
        self.port = free_port()
        host, port = dns_address.split("@")
        with open(os.path.join(self.dir, "unbound.conf"), "w") as f:
            f.write("server:\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n"
                    f"forward-zone:\n  name: \".\"\n  forward-addr: {host}@{port}\n")
        self.conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write(f"Mode v\nSocket inet:{self.port}@127.0.0.1\nAuthservID {AUTHSERV_ID}\n"
                    f"ResolverConfiguration {self.dir}/unbound.conf\n"
                    f"PidFile {self.dir}/pid\nBackground no\nSyslog no\nAlwaysAddARHeader yes\n"
                    "UMask 002\nLogWhy yes\n")
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf], stdout=self.log,
                                     stderr=self.log)
        # a milter says nothing until spoken to: a connect is all there is to wait for
        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        assert wait_until(listening, timeout=15) and self.proc.poll() is None, \
            open(self.log.name).read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def front(make_instance, zone, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    if not have_postfix():
        pytest.skip("Postfix is not installed and apt-get could not install it")
    if not have_opendkim():
        pytest.skip("OpenDKIM is not installed and apt-get could not install it")
    # the LMTP listener is behind_mta: A-R of AUTHSERV_ID above the first Received are believed
    inst = make_instance(start=False, lmtp=True,
                         members=("alice@example.org", "bob@example.org", ROSA))
    pf = Postfix(inst.lmtp_port)
    milter = OpenDkim(pf.root, zone.address)
    etc = os.path.join(pf.pfx, "etc")
    with open(os.path.join(etc, "main.cf"), "a") as f:
        f.write(f"smtpd_milters = inet:127.0.0.1:{milter.port}\nmilter_default_action = tempfail\n")
    # mlistd's own copies come back on the second port: no milter there
    master = open(os.path.join(etc, "master.cf")).read()
    master = master.replace("    -o mynetworks=127.0.0.0/8\n",
                            "    -o mynetworks=127.0.0.0/8\n    -o smtpd_milters=\n", 1)
    open(os.path.join(etc, "master.cf"), "w").write(master)
    conf = open(inst.conf).read()
    conf = re.sub(r"relay = \{[^}]*\};", f'relay = {{ host = "127.0.0.1"; port = {pf.back}; '
                  'connections = 2; timeout = 10; retry_base = 1; };', conf)
    open(inst.conf, "w").write(conf)
    try:
        milter.start()
        pf.start()
        inst.start()
        yield inst, pf, milter
    finally:
        pf.stop()
        milter.stop()


def post(subject, extra=b""):
    return (f"From: Rosa <{ROSA}>\r\nTo: demo@lists.example\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <{time.time()}@example.mlistd>\r\n"
            ).encode() + extra + b"\r\nA post from a domain that signs.\r\n"


def delivered(pf, user, marker):
    return [f for f in pf.maildir(user) if marker in open(f, "rb").read()]


def test_opendkim_authres_is_believed_behind_postfix(front, keys):  # noqa: F811
    inst, pf, milter = front
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        assert s.sendmail(ROSA, ["demo@lists.example"], sign(keys, post("signed, via OpenDKIM"))) == {}
    got = wait_until(lambda: delivered(pf, "bob", b"signed, via OpenDKIM"), timeout=60)
    assert got, f"{pf.log()[-3000:]}\n{open(milter.log.name).read()[-2000:]}\n{inst.logtext()[-3000:]}"
    log = inst.logtext()
    # accepted on the word of the MTA in front: mlistd's own resolver has no key for the domain
    assert "authn level=dkim-aligned source=authres listener=behind-mta" in log, log
    assert "auth=dkim-aligned" in log
    assert "in your name" not in log


def test_a_sender_written_authres_is_not_believed(front):
    inst, pf, milter = front
    forged = (f"Authentication-Results: {AUTHSERV_ID};\r\n\tdkim=pass header.d=example.mlistd\r\n"
              f"Authentication-Results: {AUTHSERV_ID}; dmarc=pass header.from=example.mlistd\r\n"
              ).encode()
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        assert s.sendmail(ROSA, ["demo@lists.example"], post("unsigned, forged A-R", forged)) == {}
    assert inst.wait_log("kind=post reason=confirm auth=claim", 60), \
        f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
    log = inst.logtext()
    assert "authres-ignored" in log, log
    time.sleep(1)
    assert delivered(pf, "bob", b"forged A-R") == [] and delivered(pf, "alice", b"forged A-R") == []
