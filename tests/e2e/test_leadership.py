"""Moderation by mail: each moderator's own token decides once; forgeries do nothing; all is audited."""
import json
import re
import smtplib
import time

from conftest import send_unauthenticated, wait_until

ROSA = "rosa@spartakus.example"


def send(inst, raw, sender, rcpt="demo@lists.example"):
    # an answer to a token counts only from its holder's own From: (a mail client writes one)
    if "-confirm+" in rcpt and not re.match(rb"(?is).*^From:", raw.split(b"\r\n\r\n", 1)[0]):
        raw = f"From: {sender}\r\n".encode() + raw
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


MODS = ("m1@example.org", "m2@example.org", "m3@example.org")


def opened(inst, *args):
    """A grave verb that opens a request for the moderators' quorum: exit code 3, said on stdout."""
    r = inst.ctl(*args, check=False)
    assert r.returncode == 3 and "request" in r.stdout, (r.returncode, r.stdout, r.stderr)
    return r


def quorum_list(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=(ROSA, "bob@example.org") + MODS, start=False)
    for m in MODS[:2]:                     # setting up: fewer moderators than a quorum, the operator acts
        assert "request" not in inst.ctl("member", "set", "demo", m, "role", "moderator").stdout
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.start()
    # from two moderators on, a third needs the other two
    r = opened(inst, "member", "set", "demo", MODS[2], "role", "moderator")
    assert "request 1 opened" in r.stdout
    for m in MODS[:2]:
        approve(inst, sink, m, b"to become moderator")
    assert inst.wait_log("reached its quorum")
    return inst


def approve(inst, sink, mod, marker):
    notice = wait_until(lambda: to(sink, mod, marker))
    assert notice, inst.logtext()
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", mod, rcpt=f"demo-confirm+{token(notice[-1])}@lists.example")
    return notice[-1]


def test_one_moderator_alone_cannot(make_instance, sink):
    inst = quorum_list(make_instance, sink)
    # a ban needs two moderators
    r = opened(inst, "member", "ban", "demo", "bob@example.org")
    assert "request 2 opened" in r.stdout and "2 distinct moderators" in r.stdout
    n1 = approve(inst, sink, "m1@example.org", b"ban: member ")
    assert b"bob@example.org" not in n1                       # the request names a member by its short id
    assert inst.wait_log("approvals=1 of 2")
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", "m1@example.org", rcpt=f"demo-confirm+{token(n1)}@lists.example")
    assert inst.wait_log("token unknown")                     # the same moderator twice counts once
    send(inst, b"From: bob@example.org\r\nSubject: still here\r\n\r\nnot banned yet\r\n", "bob@example.org")
    assert wait_until(lambda: to(sink, "m3@example.org", b"not banned yet"))
    approve(inst, sink, "m2@example.org", b"ban: member ")
    assert inst.wait_log("(ban) reached its quorum")
    time.sleep(0.3)
    send(inst, b"From: bob@example.org\r\nSubject: banned\r\n\r\nnow banned\r\n", "bob@example.org")
    assert inst.wait_log("reason=banned")
    # unmasking needs all three; only the approvers learn the address, and the member is told
    r = opened(inst, "unmask", "demo", "Red Heron")
    assert "3 distinct moderators" in r.stdout and ROSA not in r.stdout
    for m in MODS[:2]:
        approve(inst, sink, m, b"the pseudonym")
    assert inst.wait_log("approvals=2 of 3")
    time.sleep(0.3)
    assert not any(ROSA.encode() in d for f, r_, d in sink.handler.messages if r_ != [ROSA])
    approve(inst, sink, "m3@example.org", b"the pseudonym")
    told = wait_until(lambda: all(to(sink, m, ROSA.encode()) for m in MODS) and [1])
    assert told
    assert wait_until(lambda: to(sink, ROSA, b"Your pseudonym was unmasked"))
    assert to(sink, "bob@example.org", ROSA.encode()) == []
    # policy: the file changes only at the quorum
    r = opened(inst, "list", "set", "demo", "disclosure.roster", "public")
    assert "request" in r.stdout
    show = json.loads(inst.ctl("--json", "list", "show", "demo").stdout)["settings"]
    assert show["disclosure.roster"] == "moderators"
    for m in MODS[:2]:
        approve(inst, sink, m, b"disclosure.roster = public")
    assert wait_until(lambda: json.loads(inst.ctl("--json", "list", "show", "demo").stdout)["settings"]
                      ["disclosure.roster"] == "public")
    # the roster with addresses: the first run only opens a request, the approved one prints once
    r = opened(inst, "member", "export", "demo")
    assert "request" in r.stdout and ROSA not in r.stdout and "@" not in r.stdout.split("(")[0]
    for m in MODS[:2]:
        approve(inst, sink, m, b"the roster with addresses")
    assert inst.wait_log("(roster_export) reached its quorum")
    r = inst.ctl("member", "export", "demo")
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert [ROSA, "member", "Red Heron"] in [row[:3] for row in rows]
    assert "request" in opened(inst, "member", "export", "demo").stdout   # used once: a new request
    actions = [e["action"] for e in json.loads(inst.ctl("--json", "audit", "demo").stdout)
               if e["actor"] == "moderators"]
    assert actions == ["roles", "ban", "unmask", "policy", "roster_export"]
    text = inst.ctl("audit", "demo").stdout
    assert ROSA not in text and "bob@" not in text
    assert inst.ctl("audit", "demo", "--verify").returncode == 0


def test_emergency_is_recorded_and_announced(make_instance, sink):
    inst = quorum_list(make_instance, sink)
    r = inst.ctl("--emergency", "member", "ban", "demo", "bob@example.org")
    assert r.returncode == 0 and "emergency" in r.stderr
    for m in MODS:
        assert wait_until(lambda: to(sink, m, b"in an emergency"))
    assert "emergency, without the quorum" in inst.ctl("audit", "demo").stdout
    r = inst.ctl("unmask", "demo", "Nobody Here", check=False)
    assert r.returncode == 1 and "nobody on demo" in r.stderr


def test_owner_conversation_hides_the_moderators(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org", "m1@example.org", "m2@example.org"),
                         start=False)
    for m in ("m1@example.org", "m2@example.org"):
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    send(inst, b"From: Alice <alice@example.org>\r\nReply-To: alice@example.org\r\nSubject: a question\r\n\r\n"
         b"Who runs this list?\r\n", "alice@example.org", rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, "m1@example.org", b"Who runs this list?"))
    assert got and to(sink, "m2@example.org", b"Who runs this list?")
    assert b"m2@example.org" not in got[0]                      # moderators do not see each other
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1).decode()
    assert got[0].count(b"Reply-To:") == 1
    # m1 answers through the list: alice sees "demo moderators", never m1
    send(inst, b"From: Mod One <m1@example.org>\r\nSubject: Re: a question\r\n\r\nWe do, as a group.\r\n",
         "m1@example.org", rcpt=back)
    ans = wait_until(lambda: to(sink, "alice@example.org", b"We do, as a group."))
    assert ans, inst.logtext()
    assert b"m1@example.org" not in ans[0] and b"Mod One" not in ans[0]
    assert b'From: "demo moderators" <demo-owner@lists.example>' in ans[0]
    # only moderators answer through it
    send(inst, b"From: bob@example.org\r\nSubject: Re\r\n\r\nI am not a moderator.\r\n", "bob@example.org", rcpt=back)
    # ... with one text, the same as for an expired handle (issue #14: no moderator oracle)
    assert wait_until(lambda: to(sink, "bob@example.org", b"that address cannot be answered"))
    assert to(sink, "alice@example.org", b"I am not a moderator.") == []


def test_owner_mail_from_a_pseudonymous_member_shows_no_address(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org", "m1@example.org"), start=False,
                         list_settings={"identity.mode": "pseudonym"})
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.ctl("member", "set", "demo", "alice@example.org", "pseudonym", "Red Rosa")
    inst.start()
    send(inst, b"From: Alice Liddell <alice@example.org>\r\nSubject: a worry\r\n\r\nSomeone is reading along.\r\n",
         "alice@example.org", rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, "m1@example.org", b"Someone is reading along."))
    assert got, inst.logtext()
    assert b"alice" not in got[0].lower() and b"Liddell" not in got[0]
    assert b'"Red Rosa via demo"' in got[0]
    back = re.search(rb"From: \"Red Rosa via demo\" <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1)
    # the moderator's plain "reply" reaches alice as "demo moderators"
    send(inst, b"From: Mod One <m1@example.org>\r\nSubject: Re: a worry\r\n\r\nWe will look into it.\r\n",
         "m1@example.org", rcpt=back.decode())
    ans = wait_until(lambda: to(sink, "alice@example.org", b"We will look into it."))
    assert ans, inst.logtext()
    assert b"m1@example.org" not in ans[0] and b"Mod One" not in ans[0]
    # with moderators_see = address, the moderators get the mail as it came
    inst.stop()
    inst.ctl("list", "set", "demo", "disclosure.moderators_see", "address")
    inst.start()
    send(inst, b"From: alice@example.org\r\nSubject: again\r\n\r\nSecond worry.\r\n", "alice@example.org",
         rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, "m1@example.org", b"Second worry."))
    assert got and b"From: alice@example.org" in got[0]


def test_probation_and_audit_by_mail(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "m1@example.org"), start=False)
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.ctl("list", "set", "demo", "leadership.probation_posts", "1")
    inst.start()
    inst.ctl("member", "add", "demo", "new@example.net")
    # the audit log, by mail, to a member (leadership.audit_visibility = members)
    send(inst, b"From: alice@example.org\r\nSubject: audit\r\n\r\n", "alice@example.org", rcpt="demo-request@lists.example")
    ans = wait_until(lambda: to(sink, "alice@example.org", b"What the leadership"))
    assert ans and b"admit" in ans[0] and b"new@example.net" not in ans[0]
    # a keyed short id, not a number that counts who joined
    assert re.search(rb"admit +member [0-9a-f]{10}\b", ans[0]) and b"member #" not in ans[0], ans[0]
    assert b"signatures verify" in ans[0]
    send(inst, b"From: x@evil.example\r\nSubject: audit\r\n\r\n", "x@evil.example", rcpt="demo-request@lists.example")
    assert wait_until(lambda: to(sink, "x@evil.example", b"audit log is not disclosed"))
    # probation: the newcomer's first post waits for a moderator, the next one does not
    send(inst, b"From: new@example.net\r\nSubject: one\r\n\r\nFirst words.\r\n", "new@example.net")
    assert wait_until(lambda: to(sink, "m1@example.org", b"(probation)"))
    time.sleep(0.3)
    assert to(sink, "alice@example.org", b"First words.") == []
    send(inst, b"From: new@example.net\r\nSubject: two\r\n\r\nSecond words.\r\n", "new@example.net")
    assert wait_until(lambda: to(sink, "alice@example.org", b"Second words."))
    # probation_days: archive and roster closed to the newcomer, open to the others
    inst.ctl("list", "set", "demo", "leadership.probation_days", "30")
    inst.ctl("list", "set", "demo", "disclosure.roster", "members")
    time.sleep(1.2)
    send(inst, b"From: new@example.net\r\nSubject: x\r\n\r\narchive index\r\nwho\r\n", "new@example.net",
         rcpt="demo-request@lists.example")
    ans = wait_until(lambda: to(sink, "new@example.net", b"Only members"))
    assert ans and b"not disclosed" in ans[0]


def test_vouching(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "subscription": "vouch",
                                        "leadership.vouches_required": "2"},
                         members=(ROSA, "bob@example.org", "carol@example.org"), start=False)
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.ctl("member", "set", "demo", "bob@example.org", "pseudonym", "Blue Fox")
    inst.start()
    send(inst, b"From: applicant@example.net\r\nSubject: join\r\n\r\nsubscribe\r\nI am from the east branch.\r\n"
         b"vouch: Red Heron, blue fox, Nobody\r\n", "applicant@example.net", rcpt="demo-request@lists.example")
    ans = wait_until(lambda: to(sink, "applicant@example.net", b"join the list"))
    send(inst, b"Subject: Re\r\n\r\nyes\r\n", "applicant@example.net", rcpt=f"demo-confirm+{token(ans[0])}@lists.example")
    done = wait_until(lambda: to(sink, "applicant@example.net", b"were asked to vouch"))
    assert done and b"2 must, within 7 days" in done[0]     # never how many names are members
    asks = [wait_until(lambda m=m: to(sink, m, b"Will you vouch")) for m in (ROSA, "bob@example.org")]
    assert all(asks) and to(sink, "carol@example.org", b"Will you vouch") == []
    assert b"east branch" in asks[0][0] and b"applicant@example.net" not in asks[0][0].split(b"\r\n\r\n", 1)[1]
    # a vouch counts only from the member's own authenticated mail: the same answer
    # unsigned (their provider, a forwarder, anyone holding the notice) counts nothing
    tok = token(asks[0][0])
    send_unauthenticated(inst.port, ROSA, [f"demo-confirm+{tok}@lists.example"],
                         f"From: {ROSA}\r\nSubject: Re\r\n\r\nvouch\r\n".encode())
    assert inst.wait_log("a vouch answer not authenticated as the member it was sent to")
    assert "approvals=1" not in inst.logtext()
    send(inst, f"From: {ROSA}\r\nSubject: Re\r\n\r\nvouch\r\n".encode(), ROSA,
         rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    assert "applicant@example.net" not in [m["address"] for m in
                                           json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
                                           if "address" in m]
    # bob vouches with the command instead of a reply
    send(inst, f"From: bob@example.org\r\nSubject: vouch {token(asks[1][0])}\r\n\r\n".encode(), "bob@example.org",
         rcpt="demo-request@lists.example")
    assert wait_until(lambda: to(sink, "applicant@example.net", b"Enough members of demo@lists.example vouched"))
    # admitted by act_member_add, audited once as every admission is, under the members who vouched
    admits = [e for e in json.loads(inst.ctl("--json", "audit", "demo").stdout) if e["action"] == "admit"]
    assert [e["actor"] for e in admits].count("members") == 1, admits
    assert "2 members vouched" in [e for e in admits if e["actor"] == "members"][0]["detail"]


def test_rejections_published(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated", "leadership.publish_rejections": "true"},
                         members=("alice@example.org", "m1@example.org", "dave@example.org"), start=False)
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send(inst, b"From: alice@example.org\r\nSubject: dissent\r\n\r\nThe leadership is wrong.\r\n", "alice@example.org")
    n = wait_until(lambda: to(sink, "m1@example.org", b"waits for moderation"))
    send(inst, b"Subject: Re\r\n\r\nreject not constructive\r\n", "m1@example.org",
         rcpt=f"demo-confirm+{token(n[0])}@lists.example")
    pub = wait_until(lambda: to(sink, "dave@example.org", b"The moderators rejected a post"))
    assert pub and b"dissent" in pub[0] and b"not constructive" in pub[0]
    assert b"The leadership is wrong." not in pub[0]


def test_hidden_leadership_leaks_no_moderator(make_instance, sink):
    """A busy day on a list with hidden moderators: no byte any member receives names one of them."""
    mods = ("m1@example.org", "m2@example.org")
    inst = make_instance(list_settings={"posting": "moderated", "identity.mode": "pseudonym",
                                        "leadership.publish_rejections": "true",
                                        "disclosure.roster": "members", "disclosure.member_count": "members"},
                         members=(ROSA, "bob@example.org") + mods, start=False)
    for m in mods:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
        inst.ctl("member", "set", "demo", m, "name", "Secret Moderator")
    inst.start()
    for subj, verdict in ((b"one", b"approve"), (b"two", b"reject off topic")):
        send(inst, b"From: " + ROSA.encode() + b"\r\nSubject: " + subj + b"\r\n\r\nbody " + subj + b"\r\n", ROSA)
        n = wait_until(lambda: [d for d in to(sink, "m1@example.org", b"waits for moderation") if b"body " + subj in d])
        send(inst, b"From: Secret Moderator <m1@example.org>\r\nSubject: Re\r\n\r\n" + verdict + b"\r\n",
             "m1@example.org", rcpt=f"demo-confirm+{token(n[0])}@lists.example")
    assert wait_until(lambda: to(sink, "bob@example.org", b"The moderators rejected"))
    send(inst, b"From: bob@example.org\r\nSubject: hi\r\n\r\nWho moderates?\r\n", "bob@example.org",
         rcpt="demo-owner@lists.example")
    fwd = wait_until(lambda: to(sink, "m2@example.org", b"Who moderates?"))
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", fwd[0]).group(1).decode()
    send(inst, b"From: Secret Moderator <m2@example.org>\r\nSubject: Re: hi\r\n\r\nWe do.\r\n", "m2@example.org",
         rcpt=back)
    assert wait_until(lambda: to(sink, "bob@example.org", b"We do."))
    send(inst, b"From: bob@example.org\r\nSubject: x\r\n\r\nwho\r\naudit\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    assert wait_until(lambda: to(sink, "bob@example.org", b"What the leadership"))
    received = [(r, m[0], m[2]) for m in sink.handler.messages for r in m[1] if r not in mods]
    assert len(received) >= 6
    for rcpt, env_from, data in received:
        for needle in (b"m1@example.org", b"m2@example.org", b"Secret Moderator", b"m1@", b"m2@"):
            assert needle not in data and needle not in env_from.encode(), (needle, rcpt)


def test_moderators_post_as_a_role(make_instance, sink, tmp_path):
    import os
    import subprocess
    from conftest import MLISTCTL
    mlist = os.path.join(os.path.dirname(MLISTCTL), "mlist")
    inst = make_instance(members=("alice@example.org", "m1@example.org", "m2@example.org"), start=False)
    for m in ("m1@example.org", "m2@example.org"):
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    rec = tmp_path / "rec"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    fps = []
    for m in ("m1@example.org", "m2@example.org"):
        send(inst, f"From: Mod <{m}>\r\nSubject: notice from {m[:2]}\r\n\r\nThe meeting moves to Friday.\r\n".encode(),
             m, rcpt="demo-owner+announce@lists.example")
        # DKIM-aligned (the front MTA's A-R) is not enough for the moderators' voice: the
        # moderator's own mailbox confirms it (issue #14)
        ask = wait_until(lambda: to(sink, m, b"holding your announcement"))
        assert ask, inst.logtext()
        assert not to(sink, "alice@example.org", f"notice from {m[:2]}".encode())
        token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[-1]).group(1).decode()
        send(inst, f"From: {m}\r\nSubject: Re: confirm\r\n\r\nyes\r\n".encode(), m,
             rcpt=f"demo-confirm+{token}@lists.example")
        got = wait_until(lambda: to(sink, "alice@example.org", f"notice from {m[:2]}".encode()))
        assert got, inst.logtext()
        assert m.encode() not in got[0] and b"Mod <" not in got[0]
        assert b'From: "demo moderators" <demo-owner@lists.example>' in got[0]
        (tmp_path / "n.eml").write_bytes(got[0])
        r = subprocess.run([mlist, "verify", str(tmp_path / "n.eml"), "--dns-record", str(rec)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout
        fps.append(re.search(r"poster:  the list's moderators, as a role \(key ([0-9A-F-]+)\)", r.stdout).group(1))
    assert fps[0] == fps[1]                                   # one role key, whichever moderator sent it
    # a member cannot speak as the moderators
    send(inst, b"From: alice@example.org\r\nSubject: fake notice\r\n\r\nFake.\r\n", "alice@example.org",
         rcpt="demo-owner+announce@lists.example")
    assert wait_until(lambda: to(sink, "alice@example.org", b"only the list's moderators may use"))
    send(inst, b"From: alice@example.org\r\nSubject: keys\r\n\r\n", "alice@example.org", rcpt="demo-request@lists.example")
    keys = wait_until(lambda: to(sink, "alice@example.org", b"role key"))
    assert keys and fps[0].encode() in keys[0]


def test_discipline_ladder(make_instance, sink):
    inst = make_instance(members=(ROSA, "bob@example.org", "m1@example.org"), start=False,
                         list_settings={"identity.mode": "pseudonym",
                                        "leadership.discipline": "warn, public, suspend:10",
                                        "leadership.discipline_days": "0"})
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.start()
    # a member cannot discipline anyone
    send(inst, b"From: bob@example.org\r\nSubject: discipline Red Heron\r\n\r\nI do not like her.\r\n",
         "bob@example.org", rcpt="demo-owner+discipline@lists.example")
    assert wait_until(lambda: to(sink, "bob@example.org", b"Only the list's moderators"))
    # an automatic mail gets no answer at all (no backscatter)
    send(inst, b"From: carol@example.net\r\nAuto-Submitted: auto-replied\r\nSubject: discipline Red Heron\r\n\r\n"
         b"Out of office.\r\n", "carol@example.net", rcpt="demo-owner+discipline@lists.example")
    assert inst.wait_log("request not from a moderator; ignored", timeout=5)

    def step(reason, n):
        send(inst, b"From: Mod One <m1@example.org>\r\nSubject: discipline Red Heron\r\n\r\n" + reason + b"\r\n",
             "m1@example.org", rcpt="demo-owner+discipline@lists.example")
        asks = wait_until(lambda: len(to(sink, "m1@example.org", b"Confirm a discipline step")) >= n and
                          to(sink, "m1@example.org", b"Confirm a discipline step"))
        assert asks, inst.logtext()
        ask = asks[-1]
        assert b"Steps taken so far: %d" % (n - 1) in ask and reason in ask
        # nothing happens to the member until the moderator's own mailbox confirms
        time.sleep(0.3)
        send(inst, b"From: m1@example.org\r\nSubject: Re\r\n\r\nyes\r\n", "m1@example.org",
             rcpt=f"demo-confirm+{token(ask)}@lists.example")
        return ask

    ask = step(b"Personal attacks on other members.", 1)
    assert b"a private warning" in ask
    warn = wait_until(lambda: to(sink, ROSA, b"A warning from the moderators"))
    assert warn and b"Personal attacks" in warn[0]
    assert b"m1@example.org" not in warn[0] and b"Mod One" not in warn[0]
    assert to(sink, "bob@example.org", b"Personal attacks") == []          # private
    ask = step(b"Again, after the warning.", 2)
    assert b"public warning" in ask
    pub = wait_until(lambda: to(sink, "bob@example.org", b"have warned Red Heron publicly"))
    assert pub and b"Again, after the warning." in pub[0]
    assert ROSA.encode() not in pub[0] and b"m1@example.org" not in pub[0]
    ask = step(b"A third time.", 3)
    assert b"suspension for 10 days" in ask
    sus = wait_until(lambda: to(sink, ROSA, b"Suspended from the list"))
    assert sus and b"may apply to join again" in sus[0]
    assert wait_until(lambda: len(json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)) == 2)
    # while suspended, a new subscription is refused (after the usual confirmation of the mailbox)
    send(inst, f"From: {ROSA}\r\nSubject: subscribe\r\n\r\n".encode(), ROSA, rcpt="demo-request@lists.example")
    conf = wait_until(lambda: to(sink, ROSA, b"join the list"))
    send(inst, f"From: {ROSA}\r\nSubject: Re\r\n\r\nyes\r\n".encode(), ROSA,
         rcpt=f"demo-confirm+{token(conf[-1])}@lists.example")
    assert wait_until(lambda: to(sink, ROSA, b"you are suspended from demo@lists.example"))
    assert len(json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)) == 2
    entries = [e for e in json.loads(inst.ctl("--json", "audit", "demo").stdout) if e["action"] == "discipline"]
    assert [e["detail"].split(", ")[1] for e in entries] == ["a private warning", "a public warning", "suspended"]
    text = inst.ctl("audit", "demo").stdout
    assert ROSA not in text and "m1@" not in text and "Mod One" not in text
    assert to(sink, "carol@example.net") == []


def _owner_answer(inst, sink, writer, mod, marker):
    send(inst, f"From: {writer}\r\nSubject: q {marker}\r\n\r\nQuestion {marker}.\r\n".encode(), writer,
         rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, mod, f"Question {marker}.".encode()))
    assert got, inst.logtext()
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1).decode()
    send(inst, f"From: {mod}\r\nSubject: Re\r\n\r\nAnswer {marker}.\r\n".encode(), mod, rcpt=back)
    ans = wait_until(lambda: to(sink, writer, f"Answer {marker}.".encode()))
    assert ans, inst.logtext()
    return ans[0]


def test_leadership_visibility(make_instance, sink):
    members = ("alice@example.org", "bob@example.org", "m1@example.org", "m2@example.org")
    # roles: each moderator acts under a stable role handle that says nothing of who they are
    inst = make_instance(members=members, start=False,
                         list_settings={"identity.mode": "pseudonym", "leadership.visibility": "roles"})
    for m in ("m1@example.org", "m2@example.org"):
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.ctl("member", "set", "demo", "m1@example.org", "pseudonym", "Quiet Owl")
    inst.start()
    send(inst, b"From: bob@example.org\r\nSubject: who\r\n\r\n", "bob@example.org", rcpt="demo-request@lists.example")
    who = wait_until(lambda: to(sink, "bob@example.org", b"The moderators:"))
    assert who, inst.logtext()
    handles = re.findall(rb"mod-[0-9a-f]{4}", who[0].split(b"The moderators:")[1].split(b"\r\n")[0])
    assert len(set(handles)) == 2 and b"m1@" not in who[0] and b"Quiet Owl" not in who[0]
    ans = _owner_answer(inst, sink, "alice@example.org", "m1@example.org", "one")
    label = re.search(rb'From: "demo moderators \((mod-[0-9a-f]{4})\)" <demo-owner@lists\.example>', ans)
    assert label and label.group(1) in handles and b"m1@" not in ans and b"Quiet Owl" not in ans
    ans2 = _owner_answer(inst, sink, "bob@example.org", "m1@example.org", "two")
    assert label.group(1) in ans2                                  # stable: the same handle each time
    inst.stop()
    # named: the moderators act under their names (pseudonyms on a pseudonymous list)
    # a change of visibility is policy: with two moderators it waits for their quorum
    assert "request" in opened(inst, "list", "set", "demo", "leadership.visibility", "named").stdout
    inst.ctl("--emergency", "list", "set", "demo", "leadership.visibility", "named")
    inst.start()
    ans = _owner_answer(inst, sink, "alice@example.org", "m1@example.org", "three")
    frm = re.search(rb"\r\nFrom: ([^\r]*)", ans).group(1)
    assert frm == b'"demo moderators (Quiet Owl)" <demo-owner@lists.example>' and b"m1@" not in ans, frm
    inst.stop()
    # hidden (the default): not even how many moderators there are
    inst.ctl("--emergency", "list", "set", "demo", "leadership.visibility", "hidden")
    inst.start()
    send(inst, b"From: bob@example.org\r\nSubject: who\r\n\r\n", "bob@example.org", rcpt="demo-request@lists.example")
    assert wait_until(lambda: len(to(sink, "bob@example.org", b"The list has 4 members")) >= 2)
    last = to(sink, "bob@example.org", b"The list has 4 members")[-1].split(b"\r\n\r\n", 1)[1]
    assert b"The moderators:" not in last and b"mod-" not in last
    ans = _owner_answer(inst, sink, "alice@example.org", "m1@example.org", "four")
    assert b'From: "demo moderators" <demo-owner@lists.example>' in ans


def test_operator_rejects_from_the_cli(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated", "leadership.publish_rejections": "true"})
    send(inst, b"From: bob@example.org\r\nSubject: flame\r\n\r\nYou are all wrong.\r\n", "bob@example.org")
    assert wait_until(lambda: inst.ctl("mod", "queue", "demo").stdout.strip())
    held = inst.ctl("mod", "queue", "demo").stdout.split()[0]
    r = inst.ctl("mod", "reject", "demo", held, "off", "topic,", "please")
    assert r.returncode == 0 and "rejected" in r.stdout and "the author is told" in r.stdout
    told = wait_until(lambda: to(sink, "bob@example.org", b"Your post was rejected"))
    assert told and b"off topic, please" in told[0]
    assert wait_until(lambda: to(sink, "alice@example.org", b"The moderators rejected a post"))
    assert inst.ctl("mod", "queue", "demo").stdout.strip() == ""
    assert to(sink, "alice@example.org", b"You are all wrong.") == []
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    assert [e["actor"] for e in entries if e["action"] == "reject"] == ["operator"]
    r = inst.ctl("mod", "reject", "demo", held, check=False)
    assert r.returncode == 1 and "no held post" in r.stderr


def audit_by_mail(inst, sink, who, n):
    """Ask for the audit log from who's mailbox; the n-th answer they get."""
    send(inst, f"From: {who}\r\nSubject: audit\r\n\r\n".encode(), who, rcpt="demo-request@lists.example")
    got = wait_until(lambda: len(to(sink, who, b"What the leadership")) >= n and to(sink, who, b"What the leadership"))
    assert got, inst.logtext()
    return got[n - 1].split(b"\r\n\r\n", 1)[1]


def test_hidden_leadership_audit_names_no_moderator(make_instance, sink):
    """Members read that the leadership changed, never whose number; an unmasking names nobody while pending."""
    inst = quorum_list(make_instance, sink)                # m1..m3 moderators, the third by a quorum
    ids = {m["ref"] for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
           if m["role"] != "member"}
    assert len(ids) == 3
    r = opened(inst, "unmask", "demo", "Red Heron")
    assert "request 2 opened" in r.stdout
    for m in MODS:
        assert wait_until(lambda m=m: to(sink, m, b"the pseudonym")), inst.logtext()
    # a moderator reads the log as written: the data the members must not see is there
    mod_view = audit_by_mail(inst, sink, "m1@example.org", 1)
    assert b"Red Heron" in mod_view and b"to become moderator" in mod_view
    # a member: the entries are there, the moderators' numbers and the pseudonym are not
    view = audit_by_mail(inst, sink, "bob@example.org", 1)
    # role changes are not listed to members of a hidden leadership (their count bounds the
    # moderators'), nor do requests keep their numbers (the gaps would count them)
    assert b"a change in the list's leadership" not in view and b"changes of roles are not listed" in view
    assert b"a request opened: an unmasking" in view and b"request 2" not in view
    assert b"Red Heron" not in view and b"to become moderator" not in view and b"is now moderator" not in view
    assert b"moderators agreed" not in view.replace(b"a quorum of moderators agreed", b"")
    for n in ids:
        for text in (n.encode() + b" is now", n.encode() + b" to become"):
            assert text not in view, view.decode()
    assert b"signatures verify" in view
    # decided: the outcome is recorded for the members (leadership.notify_unmasked: the member is told anyway)
    for m in MODS:
        approve(inst, sink, m, b"needs your approval")
    assert inst.wait_log("(unmask) reached its quorum")
    view = audit_by_mail(inst, sink, "bob@example.org", 2)
    assert b"unmask" in view and b"Red Heron" in view and ROSA.encode() not in view
    assert inst.ctl("audit", "demo", "--verify").returncode == 0


def test_discard_is_published(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated", "leadership.publish_rejections": "true"},
                         members=("alice@example.org", "m1@example.org", "dave@example.org"), start=False)
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send(inst, b"From: alice@example.org\r\nSubject: quiet dissent\r\n\r\nThe line is wrong.\r\n", "alice@example.org")
    n = wait_until(lambda: to(sink, "m1@example.org", b"waits for moderation"))
    assert n and b"tells its members of every post rejected or discarded" in n[0]
    send(inst, b"Subject: Re\r\n\r\ndiscard\r\n", "m1@example.org", rcpt=f"demo-confirm+{token(n[0])}@lists.example")
    pub = wait_until(lambda: to(sink, "dave@example.org", b"The moderators discarded a post"))
    assert pub and b"quiet dissent" in pub[0] and b"A post was discarded" in pub[0]
    assert b"The line is wrong." not in pub[0] and b"alice@" not in pub[0].split(b"\r\n\r\n", 1)[1]
    assert inst.wait_log("discarded by the moderator")
    assert to(sink, "alice@example.org", b"Your post was rejected") == []     # a discard tells the author nothing
    assert to(sink, "dave@example.org", b"The line is wrong.") == []
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    assert [e["actor"] for e in entries if e["action"] == "discard"] == ["moderator"]


def test_demoted_moderator_token_does_nothing(make_instance, sink):
    mods = ("m1@example.org", "m2@example.org", "m3@example.org")
    inst = make_instance(list_settings={"posting": "moderated", "leadership.quorum_roles": "4",
                                        "leadership.quorum_expel": "4", "leadership.quorum_ban": "2",
                                        "leadership.visibility": "roles"},
                         members=("alice@example.org", "dave@example.org") + mods, start=False)
    for m in mods:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    send(inst, b"From: alice@example.org\r\nSubject: held\r\n\r\nA held post.\r\n", "alice@example.org")
    notes = {m: wait_until(lambda m=m: to(sink, m, b"waits for moderation")) for m in mods}
    assert all(notes.values()), inst.logtext()
    opened(inst, "member", "ban", "demo", "troll@example.net")
    bans = {m: wait_until(lambda m=m: to(sink, m, b"ban: ")) for m in ("m1@example.org", "m3@example.org")}
    assert all(bans.values()), inst.logtext()
    # m1 demoted, m2 expelled: fewer moderators than those quorums, so the operator acts at once
    assert "request" not in inst.ctl("member", "set", "demo", "m1@example.org", "role", "member").stdout
    assert "removed" in inst.ctl("member", "rm", "demo", "m2@example.org").stdout
    roster = {m.get("address"): m for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)}
    assert roster["m1@example.org"]["role"] == "member" and "m2@example.org" not in roster
    def answers(m):        # what reached m, but for the post itself (m1 still receives posts as a member)
        return [d for d in to(sink, m) if b"\r\nSubject: [demo] held" not in d.split(b"\r\n\r\n", 1)[0]]
    before = {m: len(answers(m)) for m in mods}
    for m in ("m1@example.org", "m2@example.org"):
        send(inst, b"Subject: Re\r\n\r\napprove\r\n", m, rcpt=f"demo-confirm+{token(notes[m][0])}@lists.example")
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", "m1@example.org",
         rcpt=f"demo-confirm+{token(bans['m1@example.org'][0])}@lists.example")
    assert wait_until(lambda: inst.logtext().count("no longer moderates the list") >= 3), inst.logtext()
    assert len(json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)) == 1      # still held
    assert to(sink, "dave@example.org", b"A held post.") == []
    # the moderator who still is one: the post goes out, the ban counts one vote, not two
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", "m3@example.org",
         rcpt=f"demo-confirm+{token(bans['m3@example.org'][0])}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    send(inst, b"Subject: Re\r\n\r\napprove\r\n", "m3@example.org",
         rcpt=f"demo-confirm+{token(notes['m3@example.org'][0])}@lists.example")
    assert wait_until(lambda: to(sink, "dave@example.org", b"A held post."))
    assert json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout) == []
    assert "approvals=2 of 2" not in inst.logtext() and "(ban) reached its quorum" not in inst.logtext()
    # the former moderators got no answer at all, as for a token that never was
    assert len(to(sink, "m1@example.org", b"A held post.")) == 2 and len(to(sink, "m2@example.org")) == 2
    assert all(len(answers(m)) == before[m] for m in ("m1@example.org", "m2@example.org"))
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    approvals = [e["actor"] for e in entries if e["action"] == "approve"]
    assert len(approvals) == 1 and approvals[0].startswith("moderator mod-"), approvals
    assert "operator" not in approvals
