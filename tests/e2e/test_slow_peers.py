"""Slow peers stall nobody (#15): a control-socket client that connects and sends half a request
does not hold up the queue manager (it did, about 5 s per connection), and the others' verbs are
answered meanwhile; the stalled connections are dropped at their deadline. One-click POSTs are made
durable with the SMTP server's group commit, not one flush each inside its loop."""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import wait_until


def post(inst, subject, sender="alice@example.org"):
    msg = (f"From: {sender}\r\nTo: demo@lists.example\r\nSubject: {subject}\r\n\r\n"
           f"body of {subject}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        assert s.sendmail(sender, ["demo@lists.example"], msg) == {}
    return time.time()


def half_request(inst):
    """a peer that connects and sends two bytes of a frame header, then nothing"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.getcwd()
    os.chdir(inst.state)        # the path may be longer than sun_path allows
    try:
        s.connect("control")
    finally:
        os.chdir(old)
    s.sendall(b"\x00\x00")
    return s


def test_stalled_control_clients_do_not_stall_the_queue(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    stalled = [half_request(inst) for _ in range(4)]
    t = time.time()
    # before: each stalled peer held the loop for the whole 5 s of its request's deadline
    r = inst.ctl("member", "add", "demo", "carol@example.org")
    assert r.returncode == 0
    assert time.time() - t < 3, f"a verb beside stalled peers took {time.time() - t:.1f} s"
    t = post(inst, "beside stalled peers")
    arrived = wait_until(lambda: [m for m in sink.handler.messages
                                  if b"body of beside stalled peers" in m[2]], 20)
    assert arrived, "the post was not delivered"
    assert time.time() - t < 3, f"delivered {time.time() - t:.1f} s after its 250"
    # the stalled peers are dropped at their deadline, and told nothing
    assert inst.wait_log("control: a peer took more than 5000 ms to send its request", timeout=15)
    for s in stalled:
        s.settimeout(5)
        assert s.recv(100) == b""
        s.close()
    assert inst.proc.poll() is None


def listener_pid(port):
    """the process that listens on 127.0.0.1:port (the SMTP server's)"""
    r = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    m = re.search(r"pid=(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def test_one_click_posts_share_the_loops_flush(make_instance, sink):
    # a one-click POST was made durable on its own (fsync of the file and of the directory) inside
    # the SMTP server's loop: any well-formed token made the loop wait for the disk once per request
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: the flushes cannot be counted")
    inst = make_instance(http=True, list_settings={"one_click_url": "https://lists.example/unsubscribe/"})
    pid = listener_pid(inst.http_port)
    assert pid
    out = os.path.join(inst.state, "..", "strace.out")
    tr = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs", "-o", out,
                           "-p", str(pid)], stderr=subprocess.PIPE)
    time.sleep(1.0)     # attached
    n = 30
    req = (f"POST /unsubscribe/demo/{'ab' * 16} HTTP/1.1\r\nHost: lists.example\r\nContent-Type: "
           "application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\nList-Unsubscribe=One-Click").encode()
    conns = [socket.create_connection(("127.0.0.1", inst.http_port), timeout=10) for _ in range(n)]
    for c in conns:
        c.sendall(req[:-1])
    time.sleep(0.3)
    for c in conns:     # every request whole within a moment: one turn of the loop, or a few
        c.sendall(req[-1:])
    answers = []
    for c in conns:
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        answers.append(data)
        c.close()
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    # every POST answered 200 only once it was durable, the same answer as for a real token
    assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers), answers[:2]
    assert inst.wait_log("one-click unsubscription queued result=ok")
    flushes = len([x for x in open(out).read().splitlines() if "sync" in x and "resumed" not in x])
    assert flushes > 0, "strace saw no flush at all"
    assert flushes < n, f"{flushes} flushes for {n} POSTs"
