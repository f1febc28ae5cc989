"""The parser pool (#15): the queue manager never waits for one parse. A post whose parse runs for
seconds does not hold up another list's posts; a list's own posts still go out in arrival order; a
parser that crashes is tried again, then the message is quarantined and its sender told once.

Slow and crashing parses use the test-only triggers of worker.c: MLISTD_TEST_WORKER_SPIN=WORD makes
the confined worker spin on a message containing WORD, MLISTD_TEST_WORKER_CRASH=WORD makes it abort.
They are compiled only into tests/mlistd-test-hooks of the build (-DMLISTD_TEST_HOOKS), which these
tests run instead of bin/mlistd; bin/mlistd has no such switch."""
import os
import re
import smtplib
import subprocess
import time

import conftest
import pytest
from conftest import send_unauthenticated, wait_until

HOOKS = os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks")
HOOK_NAMES = (b"MLISTD_TEST_WORKER_SPIN", b"MLISTD_TEST_WORKER_CRASH")


@pytest.fixture
def hooks(monkeypatch):
    """the daemon of these tests: the build's one with the parser's test triggers"""
    assert os.access(HOOKS, os.X_OK), f"{HOOKS} missing: make builds it"
    monkeypatch.setattr(conftest, "MLISTD", HOOKS)
    return monkeypatch


def test_the_production_daemon_has_no_test_hooks():
    # the triggers exist (in the test build) ...
    with open(HOOKS, "rb") as f:
        test_build = f.read()
    for name in HOOK_NAMES:
        assert name in test_build, name
    # ... and bin/mlistd, what is installed, cannot be made to spin or crash its parser
    with open(conftest.MLISTD, "rb") as f:
        production = f.read()
    for name in HOOK_NAMES:
        assert name not in production, name

SPIN = "mlistd-test-spin-41d7"
CRASH = "mlistd-test-crash-8a2e"
MEMBERS = ("alice@example.org", "bob@example.org")


def post(inst, subject, rcpt="demo@lists.example", sender="alice@example.org"):
    msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\nbody of {subject}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        assert s.sendmail(sender, [rcpt], msg) == {}
    return time.time()


def got(sink, rcpt, marker):
    return [(t, m[2]) for t, m in zip(sink.times, sink.handler.messages) if rcpt in m[1] and marker in m[2]]


def stamp(sink):
    """arrival times beside the sink's messages"""
    sink.times = []
    orig = sink.handler.handle_DATA

    async def stamped(server, session, envelope):
        r = await orig(server, session, envelope)
        sink.times.append(time.time())
        return r
    sink.handler.handle_DATA = stamped


def two_lists(make_instance, sink, extra):
    stamp(sink)
    inst = make_instance(extra=extra, members=MEMBERS)
    inst.ctl("list", "create", "other")
    for m in MEMBERS:
        inst.ctl("member", "add", "other", m)
    return inst


def test_a_slow_parse_does_not_hold_another_list(hooks, make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    inst = two_lists(make_instance, sink, "limits = { worker_seconds = 8; };")
    slow = post(inst, f"slow {SPIN}")
    t = post(inst, "ordinary one", rcpt="other@lists.example")
    arrived = wait_until(lambda: got(sink, "bob@example.org", b"body of ordinary one"), 20)
    assert arrived, "the other list's post was not delivered"
    # before the pool, it waited for the whole 8 s budget of the spinning parse
    assert arrived[0][0] - t < 3, f"delivered {arrived[0][0] - t:.1f} s after its 250"
    assert arrived[0][0] - slow < 8
    # the slow one ends as before: timed out, quarantined, never delivered to a member
    assert inst.wait_log("reason=unparseable", timeout=30)
    assert not got(sink, "bob@example.org", SPIN.encode())


def test_a_lists_posts_keep_their_order_behind_a_slow_parse(hooks, make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    inst = two_lists(make_instance, sink, "limits = { worker_seconds = 3; };")
    post(inst, f"first {SPIN}")
    time.sleep(1.1)     # a later second: the queue ids order the two
    post(inst, "second")
    arrived = wait_until(lambda: got(sink, "bob@example.org", b"body of second"), 30)
    assert arrived, "the list's second post was not delivered"
    log = inst.logtext()
    # the second post of the same list went out only after the first was finished (quarantined)
    first_done = log.find("reason=unparseable")
    assert first_done >= 0, log[-3000:]
    second_done = log.find("kind=post reason=", first_done + 1)
    assert second_done > first_done


def test_a_crashing_parser_is_tried_again_then_quarantined(hooks, make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_CRASH", CRASH)
    inst = two_lists(make_instance, sink, "")
    post(inst, f"crashing {CRASH}")
    assert inst.wait_log("reason=unparseable", timeout=30)
    log = inst.logtext()
    assert "parser crashed; trying again (1 of 2)" in log
    assert "parser crashed; trying again (2 of 2)" in log
    assert "(3 of 2)" not in log
    corrupt = os.path.join(inst.state, "queue", "corrupt")
    assert wait_until(lambda: os.listdir(corrupt))
    # the sender is told once, in plain words; no member gets the post
    assert wait_until(lambda: got(sink, "alice@example.org", b"could not be processed"))
    post(inst, "after the crash")
    assert wait_until(lambda: got(sink, "bob@example.org", b"body of after the crash"), 20)
    assert len(got(sink, "alice@example.org", b"could not be processed")) == 1
    assert not got(sink, "bob@example.org", CRASH.encode())


def test_a_strangers_mail_to_the_moderators_is_not_parsed(hooks, make_instance, sink, monkeypatch):
    # two 7.5 MB mails from a stranger to LIST-owner@ held the queue 67 s: the parse ran before
    # anything asked who sent them. A stranger's mail goes to the moderators as it came, and a
    # stranger's answer to LIST-owner+HANDLE@ is refused in silence: neither needs a parse.
    # On a real-name list only: elsewhere unverified mail to the moderators is rebuilt (a
    # neutral writer, round 9 finding 5), a parse in the worker, which holds only its list.
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    stamp(sink)
    inst = make_instance(extra="limits = { worker_seconds = 3; };", members=MEMBERS,
                         list_settings={"identity.mode": "real"})
    inst.ctl("member", "set", "demo", "bob@example.org", "role", "owner")
    msg = (f"From: stranger@elsewhere.example\r\nTo: demo-owner@lists.example\r\nSubject: q\r\n\r\n"
           f"a question {SPIN}\r\n").encode()
    t = time.time()
    assert send_unauthenticated(inst.port, "stranger@elsewhere.example", ["demo-owner@lists.example"],
                                msg) == {}
    arrived = wait_until(lambda: got(sink, "bob@example.org", b"a question"), 20)
    assert arrived, "the stranger's mail did not reach the owner"
    assert arrived[0][0] - t < 2.5, f"relayed {arrived[0][0] - t:.1f} s after its 250"
    msg = msg.replace(b"To: demo-owner@", b"To: demo-owner+abcdefgh@")
    assert send_unauthenticated(inst.port, "stranger@elsewhere.example",
                                ["demo-owner+abcdefgh@lists.example"], msg) == {}
    assert inst.wait_log("kind=private reason=refused", timeout=20)
    log = inst.logtext()
    assert "parser timed out" not in log and "unparseable" not in log
    assert os.listdir(os.path.join(inst.state, "queue", "corrupt")) == []
    # nobody was told anything of the second: the owner has the first mail only, the stranger none
    assert [m[1] for m in sink.handler.messages] == [["bob@example.org"]]


def test_a_kill_during_a_parse_loses_nothing_and_sends_once(hooks, make_instance, sink, monkeypatch):
    # the parse runs while the queue manager goes on: killed then, the post is neither lost nor
    # half-handled (nothing of a parse is written outside the queue manager's transaction)
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    stamp(sink)
    inst = make_instance(extra="limits = { worker_seconds = 20; };", members=MEMBERS)
    post(inst, f"killed mid-parse {SPIN}")
    post(inst, "ordinary one", rcpt="demo@lists.example")
    assert wait_until(lambda: zygote_children(inst), 10), "no parser child seen"
    inst.kill9()
    # the ordinary post may have been at the relay when the kill came: a copy the relay took
    # whose result was not yet recorded goes again (SMTP's own window, not this test's point)
    window = not re.search(r"delivery run: [1-9][0-9]* recorded", inst.logtext())
    before = {who: len(got(sink, who, b"body of ordinary one")) for who in MEMBERS}
    monkeypatch.delenv("MLISTD_TEST_WORKER_SPIN")
    inst.start()
    for who in MEMBERS:
        assert wait_until(lambda who=who: got(sink, who, b"body of killed mid-parse"), 30), who
        assert wait_until(lambda who=who: got(sink, who, b"body of ordinary one"), 30), who
    assert wait_until(lambda: os.listdir(os.path.join(inst.state, "queue", "incoming")) == [], 20)
    time.sleep(1.5)     # a second copy would go out in the next turns
    for who in MEMBERS:
        assert len(got(sink, who, b"body of killed mid-parse")) == 1
        allowed = 1 + (before[who] if window else 0)
        assert 1 <= len(got(sink, who, b"body of ordinary one")) <= allowed, (who, before, window)


def zygote_children(inst):
    """the parser children running now (the zygote is the daemon's child run as another user)"""
    out = []
    for z in subprocess.run(["pgrep", "-P", str(inst.proc.pid)], capture_output=True,
                            text=True).stdout.split():
        out += subprocess.run(["pgrep", "-P", z], capture_output=True, text=True).stdout.split()
    return out


def test_big_slow_posts_leave_a_parser_for_small_ones(hooks, make_instance, sink, monkeypatch):
    # two parsers, two lists with a big post that spins: without a parser kept for small
    # messages both are taken, and an ordinary post to a third list waits the whole budget
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    inst = two_lists(make_instance, sink, "limits = { worker_seconds = 8; workers = 2; };")
    inst.ctl("list", "create", "third")
    for m in MEMBERS:
        inst.ctl("member", "add", "third", m)
    big = "x" * 76 + "\r\n"
    for rcpt in ("demo@lists.example", "other@lists.example"):
        msg = (f"From: alice@example.org\r\nTo: {rcpt}\r\nSubject: big\r\n\r\n{SPIN}\r\n" +
               big * 4000).encode()
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            assert s.sendmail("alice@example.org", [rcpt], msg) == {}
    time.sleep(0.5)
    t = post(inst, "small one", rcpt="third@lists.example")
    arrived = wait_until(lambda: got(sink, "bob@example.org", b"body of small one"), 20)
    assert arrived, "the small post was not delivered"
    assert arrived[0][0] - t < 4, f"delivered {arrived[0][0] - t:.1f} s after its 250"


def test_a_post_waiting_for_its_parse_is_not_authenticated_again(make_instance, sink):
    # a post too big to be waited for in place is rolled back while its parse runs, and handled
    # again when the answer is in: that second pass used to verify its sender again (DKIM, DNS);
    # now it takes what the first pass found
    stamp(sink)
    inst = make_instance(members=MEMBERS)
    body = ("x" * 76 + "\r\n") * 4000          # 312 KB: past the in-place wait's 256 KB
    msg = (f"From: alice@example.org\r\nTo: demo@lists.example\r\nSubject: big one\r\n"
           f"Message-ID: <big.one@example.org>\r\n\r\nbody of big one\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example.org")
        s.mail("alice@example.org")
        s.rcpt("demo@lists.example")
        code, reply = s.data(msg)
    assert code == 250, reply
    qid = reply.decode().rsplit(" ", 1)[-1]
    assert wait_until(lambda: got(sink, "bob@example.org", b"body of big one"), 20), "not delivered"
    lines = [ln for ln in inst.logtext().splitlines() if ln.split(": ", 1)[-1].startswith(qid)]
    # it did wait for its parse (two passes) ...
    assert any("kind=post" in ln for ln in lines), lines
    authn = [ln for ln in lines if "qmgr: authn level=" in ln]
    assert len(authn) == 2, authn
    # ... and the sender was verified once: the second pass took the first one's answer
    assert len([ln for ln in authn if " source=" in ln]) == 1, authn
    assert "kept from the pass before the parse" in authn[1], authn
    assert authn[0].split("level=")[1].split()[0] == authn[1].split("level=")[1].split()[0]


def test_a_strangers_or_banned_senders_post_is_not_parsed(hooks, make_instance, sink, monkeypatch):
    # #15: a stranger's 7 MB post cost a whole parse before the policy said "not a member". The
    # verdicts that need nothing from the parse and that nobody hears of are given before it: a
    # stranger nobody vouches for, on a list for members; a banned address. The parse here would
    # spin for its whole budget: it never starts.
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    stamp(sink)
    inst = make_instance(extra="limits = { worker_seconds = 3; };", members=MEMBERS + ("carol@example.org",))
    inst.ctl("member", "ban", "demo", "carol@example.org")
    sent = []
    for sender, what in (("stranger@elsewhere.example", "a stranger's"),
                         ("carol@example.org", "a banned member's")):
        msg = (f"From: Some One <{sender}>\r\nTo: demo@lists.example\r\nSubject: {what}\r\n\r\n"
               f"{what} post {SPIN}\r\n").encode()
        assert send_unauthenticated(inst.port, sender, ["demo@lists.example"], msg) == {}
        sent.append(time.time())
    # a member's post after them goes out at once: nothing waits for a parse
    t = post(inst, "after them")
    arrived = wait_until(lambda: got(sink, "bob@example.org", b"body of after them"), 20)
    assert arrived, "the member's post was not delivered"
    assert arrived[0][0] - t < 2.5, f"delivered {arrived[0][0] - t:.1f} s after its 250"
    assert inst.wait_log("reason=non-member", timeout=10)
    assert inst.wait_log("reason=banned", timeout=10)
    time.sleep(1)
    log = inst.logtext()
    assert "parse=skipped" in log
    assert "parser timed out" not in log and "unparseable" not in log, log[-2000:]
    assert os.listdir(os.path.join(inst.state, "queue", "corrupt")) == []
    # the same answers as after a parse: none, to anyone; no member got either post
    assert not got(sink, "stranger@elsewhere.example", b"")
    # (a ban stops carol's posts, not her copies: she has the member's post, nothing else)
    assert all(b"body of after them" in m for _, m in got(sink, "carol@example.org", b""))
    assert not got(sink, "bob@example.org", SPIN.encode())


def test_a_members_plain_claim_still_asks_the_member(make_instance, sink):
    # the screen decides nothing for a member: an unauthenticated post in a member's name is
    # still parsed and its confirmation goes to the member's mailbox, as before
    stamp(sink)
    inst = make_instance(members=MEMBERS)
    msg = (b"From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\nSubject: claimed\r\n\r\n"
           b"body of claimed\r\n")
    assert send_unauthenticated(inst.port, "alice@example.org", ["demo@lists.example"], msg) == {}
    assert wait_until(lambda: got(sink, "alice@example.org", b""), 20), "no confirmation request"
    assert not got(sink, "bob@example.org", b"body of claimed")
    assert "parse=skipped" not in inst.logtext()
