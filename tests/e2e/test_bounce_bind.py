"""test_bounce_bind - a DSN to LIST-bounces@ without a VERP token and without
an envelope id of ours (this relay offers no DSN) asks a member's mailbox by
a probe only when the message it returns is a copy the list delivered to
that member recently (bound by its Message-ID, delivery/bounce.c); the
probe's own DSN counts. test_bounce_envid.py: DSNs with an envelope id."""
import json
import re
import smtplib
import time

from conftest import send_unauthenticated, wait_until

LIST = "demo@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"


def send(inst, raw, sender):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [LIST], raw.encode())


def scores(inst):
    out = inst.ctl("--json", "member", "ls", "demo").stdout
    return {m["address"]: m["bounce_score"] for m in json.loads(out)
            if "address" in m}


def copy_of(sink, rcpt, marker):
    got = wait_until(lambda: [m[2] for m in sink.handler.messages
                              if rcpt in m[1] and marker in m[2]])
    assert got, (rcpt, marker)
    return got[-1]


def dsn(rcpt, ctype, returned):
    return (b"From: MAILER-DAEMON@example.org\r\nSubject: failure\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; "
            b"boundary=R\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nfailed"
            b"\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.example.org\r\n\r\n"
            b"Final-Recipient: rfc822; " + rcpt.encode() + b"\r\n"
            b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--R\r\n"
            b"Content-Type: " + ctype + b"\r\n\r\n" + returned +
            b"\r\n--R--\r\n")


def test_dsn_returning_the_members_copy_counts(make_instance, sink):
    inst = make_instance(list_settings={"bounce.score_limit": "1"})
    send(inst, f"From: {ALICE}\r\nSubject: hi\r\n\r\nThe post.\r\n", ALICE)
    copy = copy_of(sink, BOB, b"The post.")
    before = len(sink.handler.messages)
    send_unauthenticated(inst.port, "", ["demo-bounces@lists.example"],
                         dsn(BOB, b"message/rfc822", copy))
    probe_bounces(inst, sink, BOB, before)


def probe_bounces(inst, sink, rcpt, before):
    """the DSN asked rcpt's mailbox by a probe (sent after message `before`);
    that probe bounces: rcpt's score is 1, at the limit the limit's probe"""
    assert inst.wait_log("the mailbox is asked by a probe"), \
        inst.logtext()[-1500:]
    asks = wait_until(lambda: [m for m in sink.handler.messages[before:]
                               if rcpt in m[1]])
    assert asks, f"no probe to {rcpt}"
    assert "member-score" not in inst.logtext(), inst.logtext()[-1500:]
    token = re.fullmatch(r"demo-bounces\+([0-9a-f]{32})@lists\.example",
                         asks[0][0]).group(1)
    send_unauthenticated(inst.port, "",
                         [f"demo-bounces+{token}@lists.example"],
                         dsn(rcpt, b"text/rfc822-headers",
                             b"Subject: probe"))
    assert inst.wait_log("probe sent"), inst.logtext()[-1500:]
    assert scores(inst).get(rcpt) == 1, scores(inst)


def test_dsn_for_a_copy_the_member_never_got_does_not_count(
        make_instance, sink):
    inst = make_instance(list_settings={"bounce.score_limit": "1"},
                         start=False)
    inst.ctl("member", "set", "demo", CAROL, "nomail", "on")
    inst.start()
    send(inst, f"From: {ALICE}\r\nSubject: hi\r\n\r\nThe post.\r\n", ALICE)
    head = copy_of(sink, BOB, b"The post.").split(b"\r\n\r\n", 1)[0]
    time.sleep(1)
    before = len(sink.handler.messages)
    # the real copy's header, but carol was not sent it; and a made-up id
    send_unauthenticated(inst.port, "", ["demo-bounces@lists.example"],
                         dsn(CAROL, b"text/rfc822-headers", head))
    send_unauthenticated(inst.port, "", ["demo-bounces@lists.example"],
                         dsn(BOB, b"text/rfc822-headers",
                             b"Message-ID: <guess.1@lists.example>\r\n"
                             b"List-Id: <demo.lists.example>"))
    assert wait_until(lambda: inst.logtext().count(
        "no failed recipient with a recent delivery; ignored") >= 2), \
        inst.logtext()[-1500:]
    time.sleep(1)
    assert "member-score" not in inst.logtext()
    assert sink.handler.messages[before:] == []
    assert scores(inst).get(BOB, 0) == 0 and scores(inst).get(CAROL, 0) == 0
