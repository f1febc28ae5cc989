"""Slow peers stall nobody (#15): a control-socket client that connects and sends half a request
does not hold up the queue manager (it did, about 5 s per connection), and the others' verbs are
answered meanwhile; the stalled connections are dropped at their deadline."""
import os
import smtplib
import socket
import time

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
