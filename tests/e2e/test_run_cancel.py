"""A delivery run that is out while its list is deleted, or a member removed (#15).

Since #15 a run's threads talk to the relay while the queue manager goes on. The run holds the
deliveries it took: a list deleted, or a member removed, after the run started still got every
copy the run held (the rows were gone from the database, the run's memory was not). Now the
queue manager tells the runs out: what they have not yet sent for that list or member is not
sent, and what they did send is still recorded.
"""
import asyncio
import json
import re
import smtplib
import threading

from conftest import wait_until

MEMBERS = [f"m{k}@example.org" for k in range(1, 7)]
# one connection, one recipient a transaction: the run holds six transactions in turn, the first
# held at the relay until the test has made its change
RELAY = ('{{ host = "127.0.0.1"; port = {port}; connections = 1; max_recipients = 1; '
         'timeout = 10; retry_base = 1; }}')


def held_relay(sink, marker):
    """the first copy of the post with marker is held at the relay until release is set; returns
    (first, release, begun): the event set when it arrived, the release, and the recipients of the
    transactions begun"""
    first, release, begun = threading.Event(), threading.Event(), []
    data = sink.handler.handle_DATA

    async def held(server, session, envelope):
        if marker in envelope.content:
            begun.extend(envelope.rcpt_tos)
            first.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
        return await data(server, session, envelope)
    sink.handler.handle_DATA = held
    return first, release, begun


def post(inst, body):
    msg = (f"From: m1@example.org\r\nTo: demo@lists.example\r\nSubject: {body}\r\n\r\n"
           f"{body}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        assert s.sendmail("m1@example.org", ["demo@lists.example"], msg) == {}


def copies_of(sink, marker):
    """(recipient, bytes) of every copy of the post with marker that the relay took"""
    return [(r, m) for r, m in sink.handler.copies() if marker in m]


def recorded_since(inst, offset):
    """the reaps logged after offset: how many results each recorded"""
    return [int(n) for n in re.findall(r"delivery run: (\d+) recorded",
                                       inst.logtext()[offset:])]


def test_a_list_deleted_while_its_run_is_out_gets_nothing_more(make_instance, sink):
    marker = b"deleted-while-out"
    first, release, _ = held_relay(sink, marker)
    inst = make_instance(relay=RELAY.format(port=sink.port), members=MEMBERS)
    post(inst, marker.decode())
    assert first.wait(20), "the post never reached the relay"
    mark = len(inst.logtext())
    try:
        inst.ctl("list", "delete", "demo")
        # the run's other five copies are dropped while the first is at the relay
        assert inst.wait_log("deliver: run out: list=demo deleted: 5 of its copies not sent",
                             timeout=20), inst.logtext()[-3000:]
    finally:
        release.set()
    # the run ends (its thread has nothing more to send) and is reaped
    assert wait_until(lambda: any(n > 0 for n in recorded_since(inst, mark)), 20), \
        inst.logtext()[-3000:]
    got = copies_of(sink, marker)
    # the copy at the relay when the list went, and no other
    assert len(got) == 1, [r for r, _ in got]
    # nothing is sent later either: the rows went with the list
    assert wait_until(lambda: "delivery run" in inst.logtext()[mark:], 10)
    st = json.loads(inst.ctl("--json", "status").stdout)
    assert st["deliveries"]["pending"] == 0, st
    assert len(copies_of(sink, marker)) == len(got)


def test_a_member_removed_while_a_run_is_out_gets_nothing(make_instance, sink):
    marker = b"removed-while-out"
    first, release, begun = held_relay(sink, marker)
    inst = make_instance(relay=RELAY.format(port=sink.port), members=MEMBERS)
    post(inst, marker.decode())
    assert first.wait(20), "the post never reached the relay"
    mark = len(inst.logtext())
    # two the run has not reached yet (its one thread is held in its first transaction)
    gone = [m for m in MEMBERS if m not in begun][-2:]
    try:
        for m in gone:
            inst.ctl("member", "rm", "demo", m)
        assert wait_until(lambda: len(re.findall(
            r"deliver: run out: list=demo members removed: 1 of its copies not sent",
            inst.logtext()[mark:])) == 2, 20), inst.logtext()[-3000:]
    finally:
        release.set()
    assert wait_until(lambda: len(copies_of(sink, marker)) >= 4, 30), \
        [r for r, _ in copies_of(sink, marker)]
    assert wait_until(lambda: sum(recorded_since(inst, mark)) >= 3, 20), \
        inst.logtext()[-3000:]
    got = sorted(r for r, _ in copies_of(sink, marker))
    # the others' copies arrive, once each, and their results are recorded: none is pending
    # or sent again
    assert got == sorted(m for m in MEMBERS if m not in gone), got
    st = json.loads(inst.ctl("--json", "status").stdout)
    assert st["deliveries"] == {"pending": 0, "failed": 0}, st
    assert sorted(r for r, _ in copies_of(sink, marker)) == got
