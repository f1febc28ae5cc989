"""What the queue manager's loop no longer does for a big post, and what a pass keeps (#15).

Every list queues its posts for the digest. A list where no member takes the digest had it opened,
rendered, signed and written to queue/out when due (a flood of 2-6 MB posts made it due at every
other post), then thrown away: rcpts=0. It is now taken unread.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from test_distribution import post


def qmgr_pid(inst):
    return int(re.search(r"queue manager pid (\d+)", inst.logtext()).group(1))


def traced(inst, out):
    """strace on the queue manager's file opens, attached"""
    tr = subprocess.Popen(["strace", "-qq", "-f", "-e", "trace=openat", "-o", out,
                           "-p", str(qmgr_pid(inst))], stderr=subprocess.PIPE)
    time.sleep(1.0)     # attached
    return tr


def test_a_digest_nobody_takes_is_not_rendered(make_instance, sink, tmp_path):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the queue's writes cannot be seen")
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    post(inst, subject="for the digest", body="Picket at six.\r\n")
    assert sink.wait_for(2), "the post was not delivered"
    out = str(tmp_path / "strace.out")
    tr = traced(inst, out)
    inst.ctl("digest", "send", "demo")
    assert inst.wait_log("digest posts=1 rcpts=0")
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    # the digest went: the post is not in the next one
    inst.ctl("member", "set", "demo", "bob@example.org", "digest", "on")
    post(inst, subject="second", body="Meeting moved.\r\n")
    inst.ctl("digest", "send", "demo")
    assert inst.wait_log("digest posts=1 rcpts=1")
    digest = sink.wait_for(4)
    got = [d for r, d in digest if r == "bob@example.org" and b"multipart/digest" in d]
    assert got, "the digest to its one taker was not delivered"
    assert b"Meeting moved." in got[0] and b"Picket at six." not in got[0]
    # no copy was written for the first (queue/tmp, then renamed into queue/out)
    writes = [ln for ln in open(out).read().splitlines()
              if "/queue/tmp/" in ln and "O_CREAT" in ln]
    assert writes == [], writes
