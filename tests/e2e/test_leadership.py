"""Moderation by mail: each moderator's own token decides once; forgeries do nothing; all is audited."""
import json
import re
import smtplib
import time

from conftest import wait_until

ROSA = "rosa@spartakus.example"


def send(inst, raw, sender, rcpt="demo@lists.example"):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def token(notice):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", notice).group(1).decode()


def test_moderation_by_mail(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated", "identity.mode": "pseudonym"},
                         members=(ROSA, "bob@example.org", "carol@example.org", "dave@example.org"), start=False)
    inst.ctl("member", "set", "demo", "bob@example.org", "role", "moderator")
    inst.ctl("member", "set", "demo", "carol@example.org", "role", "owner")
    inst.start()
    send(inst, f"From: {ROSA}\r\nSubject: first\r\n\r\nAn off-topic post.\r\n".encode(), ROSA)
    nb = wait_until(lambda: to(sink, "bob@example.org", b"waits for moderation"))
    nc = wait_until(lambda: to(sink, "carol@example.org", b"waits for moderation"))
    assert nb and nc, inst.logtext()
    for n in (nb[0], nc[0]):
        assert b"An off-topic post." in n and b"spartakus" not in n      # the pseudonym, not the address
        assert b"carol@" not in n.split(b"\r\n\r\n", 1)[1] and b"bob@" not in n.split(b"\r\n\r\n", 1)[1]
    assert token(nb[0]) != token(nc[0])                    # each moderator has their own
    # a forged decision (no valid token) does nothing
    send(inst, b"From: bob@example.org\r\nSubject: Re\r\n\r\napprove\r\n", "bob@example.org",
         rcpt="demo-confirm+" + "1" * 40 + "@lists.example")
    assert inst.wait_log("token unknown")
    # bob rejects; rosa hears why; carol's token then finds nothing to act on
    send(inst, b"From: bob@example.org\r\nSubject: Re: A post waits\r\n\r\nreject Off topic for this list\r\n"
         b"> A post to demo...\r\n", "bob@example.org", rcpt=f"demo-confirm+{token(nb[0])}@lists.example")
    assert wait_until(lambda: to(sink, ROSA, b"Off topic for this list"))
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", "carol@example.org", rcpt=f"demo-confirm+{token(nc[0])}@lists.example")
    assert inst.wait_log("already decided")
    time.sleep(0.3)
    assert to(sink, "dave@example.org", b"An off-topic post.") == []
    # the next post: carol approves it, it reaches the members
    send(inst, f"From: {ROSA}\r\nSubject: second\r\n\r\nA good post.\r\n".encode(), ROSA)
    nc2 = wait_until(lambda: to(sink, "carol@example.org", b"A good post."))
    send(inst, b"Subject: Re\r\n\r\nApprove\r\n", "carol@example.org", rcpt=f"demo-confirm+{token(nc2[0])}@lists.example")
    assert wait_until(lambda: to(sink, "dave@example.org", b"A good post."))
    audit = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    mod = [(e["actor"], e["action"]) for e in audit if e["actor"] == "moderator"]
    assert mod == [("moderator", "reject"), ("moderator", "approve")]
    assert "Off topic" in json.dumps(audit) and "@" not in json.dumps([e for e in audit if e["actor"] == "moderator"])
    assert inst.ctl("audit", "demo", "--verify").returncode == 0
    assert json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout) == []
