"""One sender's slow DNS cannot stop the list (#15): the look-ups of a message's sender
authentication (DKIM key, DMARC record) are made without the queue manager waiting on them.

The daemon's resolver is a UDP relay on 127.0.0.1 (dnsrelay.py, mode "delay") in front of the
session's unbound: names under one domain are answered DELAY seconds after they were first asked,
all other names at once. A post from that domain to one list, then an ordinary post to another:
the second is delivered before the first one's answers are even sent, and the first is delivered
after them, DKIM-aligned as without the delay."""
import re
import smtplib
import time

import pytest
from conftest import wait_until
from dnsrelay import dns_relay

SLOW = "slowdns.example"
DELAY = 2.5


def send(inst, sender, rcpt, subject):
    """A post through the signing front port: (time of its 250, its queue id)."""
    msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@x>\r\n\r\nbody of {subject}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo()
        assert s.mail(sender)[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        code, resp = s.data(msg)
    assert code == 250, resp
    m = re.search(rb"queued as (\S+)", resp)
    assert m, resp
    return time.time(), m.group(1).decode()


def arrivals(sink):
    """The sink's messages stamped with their arrival time (sink.times beside them)."""
    sink.times = []
    orig = sink.handler.handle_DATA

    async def stamped(server, session, envelope):
        r = await orig(server, session, envelope)
        sink.times.append(time.time())
        return r
    sink.handler.handle_DATA = stamped


def delivered(sink, marker):
    return [t for t, m in zip(sink.times, sink.handler.messages) if marker in m[2]]


@pytest.fixture
def slowdns():
    srv = dns_relay(SLOW, "delay", DELAY)
    yield srv
    srv.stop()


def test_slow_sender_dns_does_not_stop_other_lists(make_instance, sink, slowdns):
    arrivals(sink)
    extra = (f'dns = {{ resolver = "{slowdns.address}"; trust_anchor = ""; '
             f'timeout = 5; }};\n')
    inst = make_instance(extra=extra, members=(f"alice@{SLOW}", "carol@example.org"))
    inst.ctl("list", "create", "other")
    inst.ctl("member", "add", "other", "bob@example.org")
    # a post of the quick domain first: its key is in the resolver's cache, unbound is warm
    send(inst, "carol@example.org", "demo@lists.example", "warm up")
    assert wait_until(lambda: delivered(sink, b"body of warm up"), 20)

    t_slow, qid_slow = send(inst, f"alice@{SLOW}", "demo@lists.example", "slow post")
    _, qid_quick = send(inst, "bob@example.org", "other@lists.example", "quick post")
    time.sleep(1.1)     # the next arrival second: queue ids order by it (order.c)
    _, qid_behind = send(inst, "carol@example.org", "demo@lists.example", "behind it")
    assert wait_until(lambda: delivered(sink, b"body of quick post"), 20), inst.logtext()
    assert wait_until(lambda: delivered(sink, b"body of slow post"), 20), inst.logtext()
    quick = delivered(sink, b"body of quick post")[0]
    slow = delivered(sink, b"body of slow post")[0]
    print("quick post delivered %.2f s after the slow one's 250; its answers sent at %.2f s,"
          " it delivered at %.2f s" % (quick - t_slow, slowdns.released - t_slow, slow - t_slow))
    # the slow domain's names were asked, and answered late, as the test means them to be
    assert any(n.endswith(SLOW) for n in slowdns.asked), slowdns.asked
    assert slowdns.released is not None and slowdns.released >= t_slow + DELAY - 0.5
    # the other list's post went out before the slow domain's DNS had answered at all ...
    assert quick < slowdns.released, (quick - t_slow, slowdns.released - t_slow)
    # ... and the slow post after its answers, authenticated as without the delay
    assert slow >= slowdns.released
    log = inst.logtext()
    assert re.search(rf"{qid_slow} qmgr: authn level=dkim-aligned source=own", log), log
    assert re.search(rf"{qid_quick} qmgr: authn level=dkim-aligned source=own", log), log
    # its own list's later post waited behind it: a list's posts go out in arrival order. The
    # queue manager's order, not the relay's: the two posts' copies may go on its two
    # connections at once, and one arrived 1 ms before the other (seen in a parallel run)
    assert wait_until(lambda: delivered(sink, b"body of behind it"), 20), inst.logtext()
    log = inst.logtext()
    went = [log.find(f"{q} qmgr: list=demo kind=post") for q in (qid_slow, qid_behind)]
    assert -1 not in went and went[0] < went[1], (went, log[-3000:])
    # delivered once: the passes it waited for DNS were rolled back, not committed
    assert len(delivered(sink, b"body of slow post")) == 1


def test_dns_past_its_timeout_is_tempfail_and_blocks_nobody(make_instance, sink):
    # answers that never come in time: the post waits (tempfail, retried) as it did when the loop
    # waited, and meanwhile another list's post goes out at once
    dead = dns_relay(SLOW, "drop")
    try:
        arrivals(sink)
        extra = (f'dns = {{ resolver = "{dead.address}"; trust_anchor = ""; '
                 f'timeout = 2; }};\n')
        inst = make_instance(extra=extra, members=(f"alice@{SLOW}",))
        inst.ctl("list", "create", "other")
        inst.ctl("member", "add", "other", "bob@example.org")
        t_slow, qid_slow = send(inst, f"alice@{SLOW}", "demo@lists.example", "stuck post")
        t_quick, _ = send(inst, "bob@example.org", "other@lists.example", "free post")
        assert wait_until(lambda: delivered(sink, b"body of free post"), 20), inst.logtext()
        # well before the stuck post's look-ups time out
        assert delivered(sink, b"body of free post")[0] - t_quick < 1.5
        marker = (f"{qid_slow} qmgr: will retry: list=demo post authenticate: sender "
                  f"authentication: a DNS look-up failed for now (retried) result=tempfail")
        assert inst.wait_log(marker, 20), inst.logtext()
        log = inst.logtext()
        assert f"{qid_slow} qmgr: authn waits for DNS answers" in log
        # not before dns.timeout: the same deadline as before
        assert time.time() - t_slow >= 2
        assert not delivered(sink, b"body of stuck post")
        assert f"{qid_slow} qmgr: list=demo kind=post" not in log
    finally:
        dead.stop()
