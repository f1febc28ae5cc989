"""test_budget - the confirmations to members' own addresses have a budget
of their own (auth.confirms_per_member, auth.confirms_per_instance), apart
from the answers to strangers; a member's post whose confirmation is
withheld waits for the moderators instead of being dropped without a word;
and what a stranger sees does not depend on whom the forged From names.
"""
import re
import smtplib
import time

from conftest import AUTHSERV_ID, send_unauthenticated, wait_until

LIST = "demo@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
MOD = "m1@example.org"
STRANGER = "dave@elsewhere.example"
ASKED = b"received a post in your name"
HELD = b"waits for moderation"


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages
            if rcpt in m[1] and marker in m[2]]


def instance(make_instance, auth=""):
    inst = make_instance(members=(ALICE, BOB, CAROL, MOD), start=False,
                         extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; '
                         f'{auth} }};')
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    inst.start()
    return inst


def post(inst, author, text, sender=None):
    """a post without DKIM alignment: only the author's mailbox can say yes"""
    raw = f"From: {author}\r\nSubject: mine\r\n\r\n{text}\r\n".encode()
    send_unauthenticated(inst.port, sender or author, [LIST], raw)


def test_member_over_the_hourly_confirmations_is_held_not_lost(
        make_instance, sink):
    inst = instance(make_instance, "confirms_per_member = 1;")
    post(inst, BOB, "First of mine.")
    assert wait_until(lambda: to(sink, BOB, ASKED)), inst.logtext()[-1500:]
    post(inst, BOB, "Second of mine.")
    held = wait_until(lambda: to(sink, MOD, HELD))
    assert held, inst.logtext()[-1500:]
    assert b"Second of mine." in held[0]
    assert "auth.confirms_per_member reached" in inst.logtext()
    assert "reason=unconfirmed" in inst.logtext()
    # one question to bob, no second one; nobody else was mailed the post
    assert len(to(sink, BOB, ASKED)) == 1
    assert to(sink, ALICE, b"Second of mine.") == []
    # the holds have the same hourly limit: forgeries cannot flood them. Past it a post is
    # held unannounced, never lost: the moderators hear of it once a day (test_attacks7 F9)
    post(inst, BOB, "Third of mine.")
    told = wait_until(lambda: to(sink, MOD, b"Third of mine."))
    assert told, inst.logtext()[-1500:]
    assert b"1 posts in bob@example.org's name could not be confirmed" in told[0].replace(b"\r\n", b" ")
    post(inst, BOB, "Fourth of mine.")
    assert inst.wait_log("2 in that name; the moderators were told today"), inst.logtext()[-1500:]
    time.sleep(0.5)
    assert to(sink, MOD, b"Fourth of mine.") == []
    assert len(to(sink, MOD, HELD)) == 2
    # another member's confirmation is not spent by bob's
    post(inst, CAROL, "Carol's own.")
    assert wait_until(lambda: to(sink, CAROL, ASKED)), inst.logtext()[-1500:]


def test_instance_confirmations_spent_hold_the_next_members_post(
        make_instance, sink):
    inst = instance(make_instance, "confirms_per_instance = 1;")
    post(inst, BOB, "Bob's post.")
    assert wait_until(lambda: to(sink, BOB, ASKED)), inst.logtext()[-1500:]
    post(inst, CAROL, "Carol's post.")
    held = wait_until(lambda: to(sink, MOD, b"Carol's post."))
    assert held and HELD in held[0], inst.logtext()[-1500:]
    assert "auth.confirms_per_instance reached" in inst.logtext()
    assert to(sink, CAROL, ASKED) == []


def test_strangers_answers_spent_leave_the_members_confirmations(
        make_instance, sink):
    inst = instance(make_instance, "answers_per_instance = 2;")
    for i in range(4):
        a = f"nobody{i}@spend.example"
        send_unauthenticated(inst.port, a, ["demo-request@lists.example"],
                             f"From: {a}\r\nSubject: x\r\n\r\nwho\r\n".encode())
    assert inst.wait_log("answers_per_instance reached"), \
        inst.logtext()[-1500:]
    post(inst, BOB, "Really mine.")
    assert wait_until(lambda: to(sink, BOB, ASKED)), inst.logtext()[-1500:]


def smtp_replies(port, mail_from, author):
    """every reply the stranger's SMTP session gets, queue ids masked"""
    raw = (f"From: {author}\r\nSubject: forged\r\n\r\nForged.\r\n").encode()
    out = []
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.unauthenticated = True
        out.append(s.ehlo("stranger.example"))
        out.append(s.mail(mail_from))
        out.append(s.rcpt(LIST))
        out.append(s.data(raw))
    return [(c, re.sub(rb"[0-9A-Za-z]{8,}", b"ID", m)) for c, m in out]


def test_stranger_sees_the_same_whoever_the_forged_from_names(
        make_instance, sink):
    """member, moderator or nobody, with the members' budget spent or not:
    the same SMTP replies and no mail at all to the stranger"""
    inst = instance(make_instance, "confirms_per_member = 1;")
    seen = [smtp_replies(inst.port, STRANGER, who)
            for who in (BOB, BOB, MOD, "nobody@example.org")]
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 3, 15), \
        inst.logtext()[-2000:]
    time.sleep(1)
    assert all(s == seen[0] for s in seen), seen
    assert seen[0][-1][0] == 250, seen
    assert to(sink, STRANGER) == []
    # the first forgery asked bob; the second was held, not sent to bob
    assert len(to(sink, BOB, ASKED)) == 1


def test_strangers_answers_budget_survives_a_restart(make_instance, sink):
    """auth.answers_per_instance (answers to strangers) is kept in the
    database: a restart does not give a fresh hour of backscatter"""
    inst = instance(make_instance, "answers_per_instance = 2;")

    def ask(a):
        send_unauthenticated(inst.port, a, ["demo-request@lists.example"],
                             f"From: {a}\r\nSubject: x\r\n\r\nwho\r\n".encode())
    for a in ("one@spend.example", "two@spend.example"):
        ask(a)
        assert wait_until(lambda: to(sink, a)), inst.logtext()[-1500:]
    inst.stop()
    inst.start()
    ask("three@spend.example")
    assert inst.wait_log("auth.answers_per_instance reached"), \
        inst.logtext()[-1500:]
    time.sleep(0.5)
    assert to(sink, "three@spend.example") == []
