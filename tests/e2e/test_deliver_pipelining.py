"""A per-member (VERP) run through a pipelining relay: each copy's body goes out with the next
copy's envelope (RFC 2920), one round trip a copy, not two - and still exactly one accepted copy
per member when the relay defers a body or drops the connection with the next envelope in."""
import re
import socket
import threading
import time

import pytest

from test_distribution import MEMBERS, post, wait_until


class AheadRelay:
    """A relay offering PIPELINING that, after each body's final dot, waits up to `hold` seconds
    for more bytes before it answers: `ahead` counts the MAIL commands that arrived in that
    time, i.e. sent before the client had the reply to the body. accepted: (env_from, rcpts,
    data) of every body answered 250. fail: {n: "451 ..." | "drop"} answers the n-th body so
    (counted from 1 over the relay's life), "drop" closing the connection without a reply."""

    def __init__(self, hold=0.5):
        self.hold = hold
        self.ahead = 0
        self.bodies = 0
        self.accepted = []
        self.fail = {}
        self.gate = None       # set: the 1st body's reply waits until it is set
        self.at_gate = threading.Event()
        self.lock = threading.Lock()
        self.ls = socket.create_server(("127.0.0.1", 0))
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        buf = b""

        def line():
            nonlocal buf
            while b"\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return None
                buf += d
            ln, _, buf = buf.partition(b"\n")
            return ln + b"\n"

        try:
            c.sendall(b"220 ahead ESMTP\r\n")
            frm, rcpts = None, []
            while (ln := line()) is not None:
                cmd = ln.strip().upper()
                if cmd.startswith(b"EHLO"):
                    c.sendall(b"250-ahead\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif cmd.startswith(b"MAIL FROM:"):
                    frm, rcpts = ln.strip()[10:].strip(b"<>").decode(), []
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif cmd.startswith(b"RCPT TO:"):
                    rcpts.append(ln.strip()[8:].strip(b"<>").decode())
                    c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    if not rcpts:
                        c.sendall(b"554 5.5.1 no valid recipients\r\n")
                        continue
                    c.sendall(b"354 go ahead\r\n")
                    data = b""
                    while (ln := line()) not in (b".\r\n", None):
                        data += ln[1:] if ln.startswith(b"..") else ln
                    if ln is None:
                        return
                    # before answering: is the next envelope already here?
                    c.settimeout(self.hold)
                    try:
                        while b"\n" not in buf:
                            d = c.recv(65536)
                            if not d:
                                break
                            buf += d
                    except socket.timeout:
                        pass
                    c.settimeout(None)
                    if self.gate is not None and self.bodies == 0:
                        self.at_gate.set()
                        self.gate.wait(30)
                    with self.lock:
                        self.bodies += 1
                        if buf.upper().startswith(b"MAIL FROM:"):
                            self.ahead += 1
                        verdict = self.fail.get(self.bodies)
                        if verdict is None:
                            self.accepted.append((frm, list(rcpts), data))
                    if verdict == "drop":
                        return
                    c.sendall((verdict or "250 2.0.0 queued").encode() + b"\r\n")
                elif cmd == b"RSET":
                    frm, rcpts = None, []
                    c.sendall(b"250 2.0.0 ok\r\n")
                elif cmd == b"QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    c.sendall(b"502 5.5.2 unknown\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def rcpts(self):
        with self.lock:
            return sorted(r for _, rs, _ in self.accepted for r in rs)

    def close(self):
        self.ls.close()


def instance(make_instance, relay):
    return make_instance(relay=f'{{ host = "127.0.0.1"; port = {relay.port}; connections = 1; '
                               f'timeout = 10; retry_base = 1; }}',
                         list_settings={"delivery.verp": "always"})


def test_body_goes_with_next_envelope(make_instance):
    """Three VERP copies on one connection: the 2nd and 3rd MAIL were on the wire before the
    relay answered the body before them."""
    relay = AheadRelay()
    try:
        inst = instance(make_instance, relay)
        post(inst, body="pipelined ahead\r\n.dot line\r\n")
        assert wait_until(lambda: len(relay.accepted) == 3, 20), relay.accepted
        assert relay.rcpts() == MEMBERS
        assert all(b"\r\n.dot line\r\n" in d and b"pipelined ahead" in d
                   for _, _, d in relay.accepted)
        # VERP: each copy its own envelope sender
        assert len({f for f, _, _ in relay.accepted}) == 3
        assert relay.ahead == 2, (relay.ahead, relay.bodies)
        assert inst.wait_log("delivered=1")
    finally:
        relay.close()


@pytest.mark.parametrize("fail", ["451 4.3.0 try again", "drop"])
def test_first_body_fails_with_next_envelope_in(make_instance, fail):
    """The relay defers the 1st body (451) or drops the connection after it, while the 2nd
    envelope is already in. Deferred: the 2nd copy goes on the same connection, the 1st is
    retried. Dropped: both are retried on a new connection (the half-sent envelope is not taken
    as sent). Either way each member has exactly one accepted copy."""
    relay = AheadRelay()
    relay.fail[1] = fail
    try:
        inst = instance(make_instance, relay)
        post(inst)
        assert inst.wait_log("deferred=1")
        assert wait_until(lambda: len(relay.accepted) == 3, 30), relay.accepted
        time.sleep(1.5)        # a second attempt would be due by now (retry_base = 1)
        assert relay.rcpts() == MEMBERS
        if fail == "drop":
            assert relay.bodies == 4
            assert relay.ahead >= 1    # the dropped body had the next envelope behind it
            assert len(re.findall(r"deliver: .*delivered=1", inst.logtext())) == 3
        else:
            assert relay.ahead >= 2
    finally:
        relay.close()


def test_list_deleted_with_next_envelope_at_the_relay(make_instance):
    """The list is deleted while the 1st body waits for its reply and the 2nd envelope is in:
    the 2nd transaction is never finished (the connection is dropped in its DATA), the 3rd never
    begun; the copy at the relay is the only one."""
    relay = AheadRelay()
    relay.gate = threading.Event()
    try:
        inst = instance(make_instance, relay)
        post(inst, body="deleted while ahead\r\n")
        assert relay.at_gate.wait(20), "the post never reached the relay"
        try:
            inst.ctl("list", "delete", "demo")
            assert inst.wait_log("deliver: run out: list=demo deleted: 2 of its copies not sent",
                                 timeout=20), inst.logtext()[-3000:]
        finally:
            relay.gate.set()
        assert wait_until(lambda: re.search(r"delivery run: [1-9]\d* recorded",
                                            inst.logtext()), 20), inst.logtext()[-3000:]
        time.sleep(1.5)        # anything still to send would have gone by now
        assert len(relay.accepted) == 1
        assert relay.ahead == 1 and relay.bodies == 1
    finally:
        relay.close()
