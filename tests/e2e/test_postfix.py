"""Behind a real Postfix: Postfix takes the post on its SMTP port, hands the list domain to mlistd over
LMTP (transport_maps), and mlistd relays every copy back through Postfix, which delivers to local
maildirs - the set-up the README documents. Skipped (with the reason) only when Postfix is missing and
cannot be installed."""
import glob
import json
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time

import dkim
import pytest

from conftest import free_port, wait_port, wait_until

POSTFIX = "/usr/sbin/postfix"


def have_postfix():
    if os.path.exists(POSTFIX):
        return True
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "postfix"], capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return os.path.exists(POSTFIX)


MASTER = """\
127.0.0.1:{port} inet n - n - - smtpd
127.0.0.1:{back} inet n - n - - smtpd
    -o smtpd_recipient_restrictions=permit_mynetworks,reject
    -o mynetworks=127.0.0.0/8
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
smtp      unix  - - n - - smtp
lmtp      unix  - - n - - lmtp
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN = """\
compatibility_level = 3.6
queue_directory = {pfx}/spool
data_directory = {pfx}/data
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
relay_domains = lists.example
transport_maps = texthash:{pfx}/etc/transport
virtual_mailbox_domains = example.org
virtual_mailbox_base = {pfx}/mail
virtual_mailbox_maps = texthash:{pfx}/etc/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
local_transport = error:no local delivery
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = {pfx}/maillog
maillog_file_prefixes = {pfx}
biff = no
lmtp_host_lookup = native
smtp_host_lookup = native
disable_dns_lookups = yes
"""


class Postfix:
    def __init__(self, lmtp_port):
        # not under pytest's private (0700) tmp: Postfix's daemons, running as postfix, must traverse it
        root = tempfile.mkdtemp(prefix="mlistd-postfix-")
        self.root = root
        self.pfx = os.path.join(root, "pfx")
        self.port = free_port()       # where the world's mail comes in (port 25 in production)
        self.back = free_port()       # where mlistd hands its copies back (10025 in the README)
        for d in ("etc", "spool", "data", "mail"):
            os.makedirs(os.path.join(self.pfx, d))
        os.chmod(root, 0o755)
        os.chmod(self.pfx, 0o755)
        shutil.chown(os.path.join(self.pfx, "data"), "postfix")
        os.chmod(os.path.join(self.pfx, "data"), 0o700)
        shutil.chown(os.path.join(self.pfx, "mail"), 65534, 65534)
        etc = os.path.join(self.pfx, "etc")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(MAIN.format(pfx=self.pfx))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(MASTER.format(port=self.port, back=self.back))
        with open(os.path.join(etc, "transport"), "w") as f:
            f.write(f"lists.example lmtp:inet:127.0.0.1:{lmtp_port}\n")
        with open(os.path.join(etc, "vmailbox"), "w") as f:       # one maildir per member
            f.write("".join(f"{u}@example.org {u}/\n" for u in ("alice", "bob", "carol")))

    def start(self):
        r = subprocess.run([POSTFIX, "-c", os.path.join(self.pfx, "etc"), "start"], capture_output=True, text=True)
        if r.returncode != 0:
            # postfix writes its reasons to a terminal only: run it again under script(1) to see them
            why = subprocess.run(["script", "-qc", f"{POSTFIX} -c {self.pfx}/etc check", "/dev/null"],
                                 capture_output=True, text=True).stdout
            raise AssertionError(f"postfix did not start: {why}{self.log()}")
        wait_port(self.port)
        wait_port(self.back)

    def stop(self):
        subprocess.run([POSTFIX, "-c", os.path.join(self.pfx, "etc"), "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self):
        p = os.path.join(self.pfx, "maillog")
        return open(p, errors="replace").read() if os.path.exists(p) else ""

    def maildir(self, user):
        return sorted(glob.glob(os.path.join(self.pfx, "mail", user, "new", "*")))


@pytest.fixture
def postfix_pair(make_instance):
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    if not have_postfix():
        pytest.skip("Postfix is not installed and apt-get could not install it")
    inst = make_instance(start=False, lmtp=True)
    pf = Postfix(inst.lmtp_port)
    # mlistd relays its copies back through this Postfix
    with open(inst.conf) as f:
        conf = f.read()
    conf = re.sub(r"relay = \{[^}]*\};", f'relay = {{ host = "127.0.0.1"; port = {pf.back}; connections = 2; '
                  f'timeout = 10; retry_base = 1; }};', conf)
    with open(inst.conf, "w") as f:
        f.write(conf)
    try:
        pf.start()
        inst.start()
        yield inst, pf
    finally:
        pf.stop()


def test_behind_postfix_lmtp_in_smtp_out(postfix_pair):
    inst, pf = postfix_pair
    post = (b"From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\nSubject: through Postfix\r\n"
            b"Message-ID: <pf-1@example.org>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\n"
            b"A post that went the whole way.\r\n")
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        refused = s.sendmail("alice@example.org", ["demo@lists.example"], post)
    assert refused == {}
    # this Postfix runs no DKIM milter, so nothing vouches for alice's From: her own mailbox
    # confirms the post, as a real member's would (issue #14)
    ask = wait_until(lambda: [f for f in pf.maildir("alice") if b"in your name" in open(f, "rb").read()],
                     timeout=60)
    assert ask, f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", open(ask[0], "rb").read()).group(1).decode()
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        s.sendmail("alice@example.org", [f"demo-confirm+{token}@lists.example"],
                   b"From: Alice <alice@example.org>\r\nSubject: Re: confirm\r\n\r\nyes\r\n")
    members = ("alice", "bob", "carol")

    def posts(m):
        return [f for f in pf.maildir(m) if b"went the whole way" in open(f, "rb").read()]
    ok = wait_until(lambda: all(posts(m) for m in members), timeout=60)
    assert ok, f"maildirs: {[pf.maildir(m) for m in members]}\n{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
    time.sleep(1)
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}
    for m in members:
        files = posts(m)
        assert len(files) == 1, f"{m}: {len(files)} copies"               # exactly once each
        raw = open(files[0], "rb").read()
        assert b"A post that went the whole way." in raw
        assert re.search(rb"\nList-Id: [^\n]*<demo\.lists\.example>", raw)
        # Postfix adds its Return-Path/Received/Delivered-To on top; the list's signature still holds
        assert b"Return-Path: <demo-bounces@lists.example>" in raw
        body = raw.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
        assert dkim.verify(body, dnsfunc=lambda name, timeout=5: recs.get(name.decode().split(".")[0], "").encode())
    log = pf.log()
    assert "relay=127.0.0.1[127.0.0.1]:%d" % inst.lmtp_port in log          # in by LMTP
    assert log.count("status=sent (delivered to maildir)") == 4               # the copies and the token
    assert "result=ok" in inst.logtext()
