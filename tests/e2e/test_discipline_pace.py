"""test_discipline_pace - one moderator cannot run a member down the whole
discipline ladder (warnings to suspension) in a few quick steps: a member's
steps are leadership.discipline_days apart (default 7), checked when a step
is confirmed, so tokens gathered in advance do not help either."""
import json
import re
import smtplib
import time

from conftest import wait_until

ROSA = "rosa.luxemburg@spartakus.example"
MOD = "m1@example.org"
ASK = b"Confirm a discipline step"


def send(inst, raw, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages
            if rcpt in m[1] and marker in m[2]]


def token(notice):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example",
                     notice).group(1).decode()


def test_one_moderator_cannot_suspend_a_member_in_quick_steps(
        make_instance, sink):
    inst = make_instance(members=(ROSA, "bob@example.org", MOD), start=False,
                         list_settings={"identity.mode": "pseudonym",
                                        "leadership.discipline":
                                        "warn, suspend:30"})
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.start()
    # two requests at once: two tokens, each saying "step 1"
    for n in (1, 2):
        send(inst, b"From: m1@example.org\r\nSubject: discipline Red Heron"
             b"\r\n\r\nReason %d.\r\n" % n, MOD,
             "demo-owner+discipline@lists.example")
        assert wait_until(lambda: len(to(sink, MOD, ASK)) >= n), \
            inst.logtext()[-1500:]
    asks = to(sink, MOD, ASK)
    for ask in asks:
        send(inst, b"From: m1@example.org\r\nSubject: Re\r\n\r\nyes\r\n", MOD,
             f"demo-confirm+{token(ask)}@lists.example")
        time.sleep(0.5)
    assert wait_until(lambda: to(sink, ROSA, b"A warning from the moderators"))
    told = wait_until(lambda: to(sink, MOD, b"had a discipline step less"))
    assert told, inst.logtext()[-2000:]
    assert b"less than 7 days ago" in told[0] and b"Red Heron" in told[0]
    assert inst.wait_log("less than leadership.discipline_days old")
    time.sleep(1)
    # still a member, never told of a suspension; one audit entry
    assert to(sink, ROSA, b"Suspended from the list") == []
    members = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
    assert len(members) == 3, members
    entries = [e for e in json.loads(inst.ctl("--json", "audit", "demo").stdout)
               if e["action"] == "discipline"]
    assert len(entries) == 1, entries
