"""test_bounce_envid - without VERP every member's copy of a post is the same, Message-ID included,
so a DSN counts against a member only with the envelope id (RFC 3461 ENVID) of the relay
transaction that carried her copy (sent where the relay offers DSN; delivery/envid.c) and returned
as Original-Envelope-Id, and with the original recipient (RCPT ORCPT=) of her own delivery row,
returned as Original-Recipient: a member who runs her own mail server has the envelope id of
everyone in her transaction, but only her own ORCPT. A DSN with only a copy's Message-ID, or with
the envelope id but no ORCPT of hers, asks her mailbox by a VERP probe, at most one a day; that
probe's own bounce counts (delivery/bounce.c). The last test has a real Postfix bounce a member's
copy."""
import json
import os
import re
import smtplib
import socket
import threading
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


def dsn(rcpt, msgid, envid=None, orig=None):
    """an RFC 3464 report, as a relay writes it, that rcpt's copy (msgid) failed; orig: its
    Original-Recipient (after "rfc822;")"""
    oe = f"Original-Envelope-Id: {envid}\r\n" if envid else ""
    orr = f"Original-Recipient: rfc822;{orig}\r\n" if orig else ""
    return (f"From: MAILER-DAEMON@mx.example.org\r\nTo: <{BOUNCES}>\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=dsnb\r\n\r\n"
            "--dsnb\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            "--dsnb\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.org\r\n{oe}\r\n"
            f"{orr}Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--dsnb\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: <{LIST}>\r\nTo: <{LIST}>\r\nMessage-ID: {msgid}\r\nSubject: x\r\n\r\n"
            "--dsnb--\r\n")


def copy_to(sink, rcpt, marker, orcpt=False):
    """(envelope id, Message-ID) of the transaction that carried rcpt's copy; orcpt: and the
    ORCPT rcpt's RCPT carried"""
    def find():
        with sink.handler.lock:
            return [(e, o.get(rcpt), m[2]) for e, o, m in
                    zip(sink.envids, sink.orcpts, sink.handler.messages)
                    if rcpt in m[1] and marker in m[2]]
    got = wait_until(find)
    assert got, f"no copy to {rcpt}"
    envid, orig, data = got[0]
    msgid = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", data).group(1).decode()
    return (envid, msgid, orig) if orcpt else (envid, msgid)


ORCPT = re.compile(r"M3\.[A-Za-z0-9_-]{71}")


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
    # and each recipient its own original recipient: sealed, of one length
    _, _, orig = copy_to(dsnsink, BOB, b"MARK1", orcpt=True)
    assert orig and ORCPT.fullmatch(orig), orig
    origs = [o for t in dsnsink.orcpts for o in t.values()]
    assert len(set(origs)) == len(origs) == 3, dsnsink.orcpts
    assert all(o.encode() not in m[2] for o in origs for m in dsnsink.handler.messages)
    assert all(qid not in o for o in origs)
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(BOB, msgid, envid, orig))
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


def test_member_of_the_transaction_cannot_bounce_another(make_instance, dsnsink):
    # bob runs his own mail server: it saw the transaction's envelope id (alice and carol were
    # in it too) and bob's own ORCPT, never alice's
    inst = make_instance(relay=relay_to(dsnsink),
                         list_settings={"bounce.score_limit": "1"})
    post(inst, "MARK6")
    envid, msgid, bobs = copy_to(dsnsink, BOB, b"MARK6", orcpt=True)
    envid2, _, alices = copy_to(dsnsink, ALICE, b"MARK6", orcpt=True)
    assert envid == envid2 and bobs and alices and bobs != alices
    assert wait_until(lambda: len(dsnsink.handler.copies()) == 3), inst.logtext()[-1500:]
    before = len(dsnsink.handler.messages)
    # alice's DSN with the envelope id: without an original recipient, with bob's, with her
    # plain address, with alice's own altered, with an ENVID in its place
    forged = alices[:-1] + ("A" if alices[-1] != "A" else "B")
    for orig in (None, bobs, ALICE, forged, envid):
        send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid, envid, orig))
    # each DSN's own answer: the first asks her mailbox, the four after it are told it was
    # asked. Counted by those words, not by every bounce line: a pass rolled back (to wait for
    # DNS) and done again logs its line twice, so a count of all lines could stop one short
    # (seen once in CI: 3 of 4)
    asked = "no original recipient of ours naming her; the mailbox was asked"
    assert wait_until(lambda: inst.logtext().count(asked) >= 4), inst.logtext()[-1500:]
    log = inst.logtext()
    assert "no original recipient of ours naming her; the mailbox is asked by a probe" in log
    time.sleep(1)
    assert "member-score=" not in inst.logtext(), inst.logtext()[-1500:]
    assert scores(inst).get(ALICE, 0) == 0
    # at most her mailbox asked, once: a VERP probe, not a copy of ours
    probes = dsnsink.handler.messages[before:]
    assert len(probes) == 1 and probes[0][1] == [ALICE], [(f, r) for f, r, _ in probes]
    assert re.fullmatch(r"demo-bounces\+[0-9a-f]{32}@lists\.example", probes[0][0])
    # alice's mail server, with her own original recipient, is believed
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid, envid, alices))
    assert inst.wait_log("member-score=1"), inst.logtext()[-1500:]
    assert wait_until(lambda: scores(inst).get(ALICE) == 1), scores(inst)
    assert scores(inst).get(BOB, 0) == 0 and scores(inst).get(CAROL, 0) == 0


def test_original_recipient_has_one_length_whatever_the_list(make_instance, dsnsink):
    many = tuple(f"m{i}@example.net" for i in range(60))
    inst = make_instance(relay=relay_to(dsnsink), members=(ALICE, BOB, CAROL) + many)
    post(inst, "MARK7")
    assert wait_until(lambda: sum(len(m[1]) for m in dsnsink.handler.messages) >= 63), \
        inst.logtext()[-1500:]
    post(inst, "MARK8")
    assert wait_until(lambda: sum(len(m[1]) for m in dsnsink.handler.messages) >= 126), \
        inst.logtext()[-1500:]
    with dsnsink.handler.lock:
        origs = [o for t in dsnsink.orcpts for o in t.values()]
        envids = list(dsnsink.envids)
    assert len(origs) == 126 and len(set(origs)) == 126
    assert all(ORCPT.fullmatch(o) for o in origs), origs[:3]
    assert {len(o) for o in origs} == {74}
    assert len({len(e) for e in envids}) == 1, envids


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

class Tap:
    """a TCP relay to 127.0.0.1:port that keeps what its clients sent (data)"""

    def __init__(self, port):
        self.to, self.data, self.lock = port, bytearray(), threading.Lock()
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.to))
            threading.Thread(target=self.pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, False), daemon=True).start()

    def pump(self, a, b, keep):
        try:
            while (d := a.recv(65536)):
                if keep:
                    with self.lock:
                        self.data += d
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.srv.close()


def test_postfix_bounce_carries_the_envelope_id_and_counts(make_instance, sink):
    from test_postfix import Postfix, have_postfix
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    if not have_postfix():
        pytest.skip("Postfix is not installed and apt-get could not install it")
    dave = "dave@gone.example"
    inst = make_instance(start=False, lmtp=True, members=(ALICE, BOB, CAROL, dave))
    # Postfix hands mlistd its mail through a recorder: what it sent, to read
    tap = Tap(inst.lmtp_port)
    pf = Postfix(tap.port)
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
                                            rf"\[127\.0\.0\.1\]:{tap.port}.*status=sent", pf.log())), \
            pf.log()[-3000:]
        assert wait_until(lambda: scores(inst).get(dave) == 1), scores(inst)
        # Postfix's DSN returned both: the envelope id and dave's own original recipient
        got = bytes(tap.data)
        assert re.search(rb"(?m)^Original-Envelope-Id: M2\.[A-Za-z0-9_-]{75}\r?$", got), got
        assert re.search(rb"(?m)^Original-Recipient: rfc822;M3\.[A-Za-z0-9_-]{71}\r?$", got), got
        assert all(scores(inst).get(m, 0) == 0 for m in (ALICE, BOB, CAROL)), scores(inst)
        assert wait_until(lambda: all(any(b"MARK4" in open(f, "rb").read() for f in pf.maildir(u))
                                      for u in ("alice", "bob"))), pf.log()[-3000:]
    finally:
        pf.stop()
        tap.stop()
