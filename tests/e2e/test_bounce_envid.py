"""test_bounce_envid - without VERP every member's copy of a post is the same, Message-ID included,
so a DSN counts against a member only with the envelope id (RFC 3461 ENVID) of the relay
transaction that carried her copy (sent where the relay offers DSN; delivery/envid.c) and returned
as Original-Envelope-Id. A DSN with only a copy's Message-ID asks her mailbox by a VERP probe, at
most one a day; that probe's own bounce counts (delivery/bounce.c). The last test has a real
Postfix bounce a member's copy."""
import json
import os
import re
import smtplib
import time

import pytest

from conftest import send_unauthenticated, wait_until

LIST, BOUNCES = "demo@lists.example", "demo-bounces@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"


def relay_to(sink, batch=100):
    return (f'{{ host = "127.0.0.1"; port = {sink.port}; connections = 1; timeout = 10; '
            f'retry_base = 1; max_recipients = {batch}; }}')


def post(inst, marker):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(CAROL, [LIST], f"From: <{CAROL}>\r\nSubject: hello\r\n\r\nHello, {marker}.\r\n".encode())


def scores(inst):
    out = inst.ctl("--json", "member", "ls", "demo").stdout
    return {m["address"]: m["bounce_score"] for m in json.loads(out) if "address" in m}


def dsn(rcpt, msgid, envid=None):
    """an RFC 3464 report, as a relay writes it, that rcpt's copy (msgid) failed"""
    oe = f"Original-Envelope-Id: {envid}\r\n" if envid else ""
    return (f"From: MAILER-DAEMON@mx.example.org\r\nTo: <{BOUNCES}>\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=dsnb\r\n\r\n"
            "--dsnb\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            "--dsnb\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.org\r\n{oe}\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--dsnb\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: <{LIST}>\r\nTo: <{LIST}>\r\nMessage-ID: {msgid}\r\nSubject: x\r\n\r\n"
            "--dsnb--\r\n")


def copy_to(sink, rcpt, marker):
    """(envelope id, Message-ID) of the transaction that carried rcpt's copy"""
    def find():
        with sink.handler.lock:
            return [(e, m[2]) for e, m in zip(sink.envids, sink.handler.messages)
                    if rcpt in m[1] and marker in m[2]]
    got = wait_until(find)
    assert got, f"no copy to {rcpt}"
    envid, data = got[0]
    return envid, re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", data).group(1).decode()


def test_dsn_with_the_transactions_envelope_id_counts(make_instance, dsnsink):
    inst = make_instance(relay=relay_to(dsnsink))
    post(inst, "MARK1")
    envid, msgid = copy_to(dsnsink, BOB, b"MARK1")
    # the copy went with an envelope id: ours, short enough for RFC 3461, in no copy's bytes,
    # sealed: it shows neither the post's queue id nor how many were in the transaction
    assert envid and re.fullmatch(r"M2\.[A-Za-z0-9_-]+", envid), envid
    assert len(envid) <= 100
    assert all(envid.encode() not in m[2] for m in dsnsink.handler.messages)
    qid = re.search(r"([0-9A-F]{24}) deliver: via=", inst.logtext()).group(1)
    assert qid not in envid
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(BOB, msgid, envid))
    assert inst.wait_log("member-score=1"), inst.logtext()[-1500:]
    assert wait_until(lambda: scores(inst).get(BOB) == 1), scores(inst)
    assert scores(inst).get(ALICE, 0) == 0


def test_envelope_id_names_only_the_members_of_its_transaction(make_instance, dsnsink):
    # one recipient per transaction: bob knows his own envelope id (from his own mail server)
    inst = make_instance(relay=relay_to(dsnsink, batch=1))
    post(inst, "MARK2")
    bobs, msgid = copy_to(dsnsink, BOB, b"MARK2")
    alices, _ = copy_to(dsnsink, ALICE, b"MARK2")
    assert bobs and alices and bobs != alices
    before = len(dsnsink.handler.messages)
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid, bobs))
    # and an envelope id of ours, altered: not ours any more (its MAC), so only a Message-ID
    forged = alices[:-1] + ("0" if alices[-1] != "0" else "1")
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(CAROL, "<nothing@lists.example>", forged))
    assert wait_until(lambda: inst.logtext().count("bounce: list=demo") >= 2), inst.logtext()[-1500:]
    assert "no failed recipient in the transaction its envelope id names; ignored" in inst.logtext()
    assert "no failed recipient with a recent delivery; ignored" in inst.logtext()
    time.sleep(1)
    assert "member-score=" not in inst.logtext(), inst.logtext()[-1500:]
    assert dsnsink.handler.messages[before:] == []          # nothing went to anyone
    assert scores(inst).get(ALICE, 0) == 0


def test_forged_dsn_with_a_message_id_only_asks_the_mailbox_once(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "real", "bounce.score_limit": "1"})
    post(inst, "MARK3")
    mine = wait_until(lambda: [m for m in sink.handler.messages if BOB in m[1] and b"MARK3" in m[2]])
    assert mine and wait_until(lambda: len(sink.handler.copies()) == 3), inst.logtext()[-1500:]
    msgid = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", mine[0][2]).group(1).decode()
    before = len(sink.handler.messages)
    # bob, with his own copy's Message-ID, writes alice's DSN twice
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid))
    assert inst.wait_log("the mailbox is asked by a probe"), inst.logtext()[-1500:]
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid))
    assert inst.wait_log("the mailbox was asked in the last day; ignored"), inst.logtext()[-1500:]
    probes = wait_until(lambda: sink.handler.messages[before:])
    assert probes, "no probe"
    time.sleep(1)
    assert "member-score=" not in inst.logtext(), inst.logtext()[-1500:]
    probes = sink.handler.messages[before:]
    assert len(probes) == 1 and probes[0][1] == [ALICE], [(f, r) for f, r, _ in probes]
    token = re.fullmatch(r"demo-bounces\+([0-9a-f]{32})@lists\.example", probes[0][0]).group(1)
    assert scores(inst).get(ALICE, 0) == 0
    # had alice's mailbox really been dead, the probe's own bounce is what counts
    send_unauthenticated(inst.port, "", [f"demo-bounces+{token}@lists.example"],
                         dsn(ALICE, "<probe@lists.example>"))
    assert inst.wait_log("member-score=1"), inst.logtext()[-1500:]
    assert wait_until(lambda: scores(inst).get(ALICE) == 1), scores(inst)


def test_message_id_only_dsn_asks_nothing_of_a_member_whose_delivery_is_off(make_instance, sink):
    inst = make_instance()
    post(inst, "MARK5")
    mine = wait_until(lambda: [m for m in sink.handler.messages if BOB in m[1] and b"MARK5" in m[2]])
    assert mine and wait_until(lambda: len(sink.handler.copies()) == 3), inst.logtext()[-1500:]
    msgid = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", mine[0][2]).group(1).decode()
    inst.ctl("member", "set", "demo", ALICE, "nomail", "on")
    before = len(sink.handler.messages)
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid))
    assert inst.wait_log("no envelope id of ours; delivery is off; ignored"), inst.logtext()[-1500:]
    time.sleep(1)
    assert sink.handler.messages[before:] == [] and "member-score=" not in inst.logtext()


# ---- a real bounce: Postfix is the relay and bounces one member's copy ------------------------

def test_postfix_bounce_carries_the_envelope_id_and_counts(make_instance, sink):
    from test_postfix import Postfix, have_postfix
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    if not have_postfix():
        pytest.skip("Postfix is not installed and apt-get could not install it")
    dave = "dave@gone.example"
    inst = make_instance(start=False, lmtp=True, members=(ALICE, BOB, CAROL, dave))
    pf = Postfix(inst.lmtp_port)
    # Postfix takes gone.example's mail; its next hop refuses dave, so Postfix bounces the copy:
    # a DSN to the list's envelope sender, which Postfix hands to mlistd over LMTP
    sink.handler.reject_rcpt[dave] = "550 5.1.1 no such mailbox"
    with open(os.path.join(pf.pfx, "etc", "transport"), "a") as f:
        f.write(f"gone.example smtp:[127.0.0.1]:{sink.port}\n")
    with open(inst.conf) as f:
        conf = f.read()
    conf = re.sub(r"relay = \{[^}]*\};", f'relay = {{ host = "127.0.0.1"; port = {pf.back}; '
                  'connections = 2; timeout = 10; retry_base = 1; };', conf)
    with open(inst.conf, "w") as f:
        f.write(conf)
    try:
        pf.start()
        inst.start()
        post(inst, "MARK4")
        assert wait_until(lambda: "bounce: list=demo" in inst.logtext(), timeout=60), \
            f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
        assert inst.wait_log("member-score=1"), f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
        assert "asked by a probe" not in inst.logtext()
        # it was Postfix's DSN (the relay took every recipient), handed to mlistd over LMTP
        assert "failed=1" not in inst.logtext() and "delivered=4" in inst.logtext()
        assert wait_until(lambda: re.search(r"to=<demo-bounces@lists\.example>, relay=127\.0\.0\.1"
                                            rf"\[127\.0\.0\.1\]:{inst.lmtp_port}.*status=sent", pf.log())), \
            pf.log()[-3000:]
        assert wait_until(lambda: scores(inst).get(dave) == 1), scores(inst)
        assert all(scores(inst).get(m, 0) == 0 for m in (ALICE, BOB, CAROL)), scores(inst)
        assert wait_until(lambda: all(any(b"MARK4" in open(f, "rb").read() for f in pf.maildir(u))
                                      for u in ("alice", "bob"))), pf.log()[-3000:]
    finally:
        pf.stop()
