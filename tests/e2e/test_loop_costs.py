"""What the queue manager's loop no longer does for a big post, and what a pass keeps (#15).

Every list queues its posts for the digest (a member who turns the digest on gets every post
since the last one). Where no member takes it, the digest was opened, rendered, signed and
written to queue/out when due (a flood of 2-6 MB posts made it due at every other post), then
thrown away: rcpts=0. A digest nobody takes is now taken unread.
"""
import smtplib
import re
import shutil
import signal
import subprocess

import pytest

from conftest import wait_until
from test_distribution import post


def qmgr_pid(inst):
    return int(re.search(r"queue manager pid (\d+)", inst.logtext()).group(1))


def traced(inst, out, calls="openat"):
    """strace on the queue manager's threads (calls; descriptors shown as their paths), once it
    has attached; skips the test where strace is missing"""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the queue manager's system calls cannot be seen")
    tr = subprocess.Popen(["strace", "-f", "-y", "-e", f"trace={calls}", "-o", out,
                           "-p", str(qmgr_pid(inst))], stderr=subprocess.PIPE, text=True)
    assert "attached" in tr.stderr.readline()
    return tr


def test_a_digest_nobody_takes_is_not_rendered(make_instance, sink, tmp_path):
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    inst.ctl("member", "set", "demo", "bob@example.org", "digest", "on")
    post(inst, subject="for the digest", body="Picket at six.\r\n")
    assert sink.wait_for(1), "the post was not delivered"
    inst.ctl("member", "set", "demo", "bob@example.org", "digest", "off")
    out = str(tmp_path / "strace.out")
    tr = traced(inst, out)
    inst.ctl("digest", "send", "demo")
    assert inst.wait_log("digest posts=1 rcpts=0")
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    # no copy was written for it (queue/tmp, then renamed into queue/out)
    writes = [ln for ln in open(out).read().splitlines()
              if "/queue/tmp/" in ln and "O_CREAT" in ln]
    assert writes == [], writes


def send_to(inst, rcpts, msg):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example")
        s.mail("alice@example.org")
        for r in rcpts:
            s.rcpt(r)
        code, reply = s.data(msg)
    assert code == 250, reply
    return re.search(rb"queued as ([0-9A-F]{24})", reply).group(1).decode()


@pytest.mark.parametrize("mode", ["pseudonym", "anonymous"])
def test_a_pass_made_again_makes_the_same_copy(make_instance, sink, mode):
    """A big post to two lists: its first list's pass goes through the signatures, then the
    second list's parse is not ready and the pass is rolled back; made again, the first list's
    copy must be the same bytes (Message-ID, boundaries, the pseudonym's or one-time key's
    signatures, DKIM's t=), so that what one pass made fits the next."""
    inst = make_instance(members=("alice@example.org", "bob@example.org"),
                         list_settings={"identity.mode": mode})
    inst.ctl("list", "create", "second")
    for m in ("alice@example.org", "bob@example.org"):
        inst.ctl("member", "add", "second", m)
    # her pseudonym (name, key) is made by a first post: not derived from the seed
    post(inst, subject="hello", body="First, small.\r\n")
    assert sink.wait_for(2), "the first post was not delivered"
    body = ("y" * 76 + "\r\n") * 5000          # 390 KB: not waited for in place
    msg = (f"From: alice@example.org\r\nTo: demo@lists.example, second@lists.example\r\n"
           f"Subject: to both\r\nMessage-ID: <both.{mode}@example.org>\r\n\r\n"
           f"body to both lists\r\n{body}").encode()
    qid = send_to(inst, ["demo@lists.example", "second@lists.example"], msg)
    assert wait_until(lambda: len([1 for r, d in sink.handler.copies()
                                   if b"body to both lists" in d]) >= 4, 60), "not delivered"
    lines = [ln for ln in inst.logtext().splitlines() if qid in ln]
    again = [ln for ln in lines if "pass made again" in ln]
    # the pass was made again (else this test shows nothing) ...
    assert [ln for ln in lines if "qmgr: authn level=" in ln][2:], lines
    assert again, lines
    # ... and each time the same bytes for the list it had signed for
    assert all("list=demo pass made again: the same copy" in ln for ln in again
               if "list=demo" in ln), again
    assert [ln for ln in again if "list=demo" in ln], again
    demo = [d for r, d in sink.handler.copies() if b"body to both lists" in d and b"[demo]" in d]
    assert demo and all(b"DKIM-Signature:" in d for d in demo)
