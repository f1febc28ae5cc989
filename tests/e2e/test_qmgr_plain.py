"""A message's spool file is opened and decrypted once, however many passes it takes (#15).

A post too big to be parsed in place (over 256 KB) is rolled back while its parse runs and handled
again when the answer is in: the second pass opened the encrypted spool file and decrypted the
whole message again. Now the first pass's plaintext is kept (in memory only, zeroed after) for
the next pass of the same message.
"""
import os
import re
import shutil
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import wait_until


def test_a_post_that_waits_for_its_parse_is_read_once(make_instance, sink):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the spool reads cannot be counted")
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    qmgr = int(re.search(r"queue manager pid (\d+)", inst.logtext()).group(1))
    out = os.path.join(inst.state, "..", "strace.out")
    tr = subprocess.Popen(["strace", "-qq", "-e", "trace=openat", "-o", out, "-p", str(qmgr)],
                          stderr=subprocess.PIPE)
    time.sleep(1.0)     # attached
    body = ("x" * 76 + "\r\n") * 4000          # 312 KB: past the in-place wait's 256 KB
    msg = (f"From: alice@example.org\r\nTo: demo@lists.example\r\nSubject: big one\r\n\r\n"
           f"body of the big one\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example.org")
        s.mail("alice@example.org")
        s.rcpt("demo@lists.example")
        code, reply = s.data(msg)
    assert code == 250, reply
    qid = reply.decode().rsplit(" ", 1)[-1]
    got = wait_until(lambda: [m for m in sink.handler.for_rcpt("bob@example.org")
                              if b"body of the big one" in m[2]], 20)
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    assert got, "the big post was not delivered"
    lines = [ln for ln in inst.logtext().splitlines() if qid in ln]
    # it took two passes: one stopped for the parse, one with the answer
    assert len([ln for ln in lines if "qmgr: authn level=" in ln]) == 2, lines
    opens = [ln for ln in open(out).read().splitlines() if f"incoming/{qid}" in ln]
    assert len(opens) == 1, opens
