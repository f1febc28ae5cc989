"""test_confirmwords - what a reply to a token says (pipeline/reply.c), end to end.

Only the word confirms or votes: a member's protest drops a post forged in their name and the
moderators learn of it (without the address on a pseudonymous list); "confirm" under a quote, as
mail clients write it, still releases it; a vote or a moderator's decision counts only from that
moderator's own authenticated address, and a stranger's answer does not use their token up.
"""
import re
import smtplib
import time

from conftest import send_unauthenticated, wait_until

LIST, LIST_REQ = "demo@lists.example", "demo-request@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
STRANGER = "dave@elsewhere.example"
MODS = ("m1@example.org", "m2@example.org", "m3@example.org")


def send(inst, raw, sender, rcpt=LIST):
    """Mail through the front MTA: DMARC-aligned for the From domain (see conftest)."""
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw.encode() if isinstance(raw, str) else raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def token_in(raw):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", raw).group(1).decode()


def with_moderator(make_instance, **settings):
    inst = make_instance(list_settings=settings, members=(ALICE, BOB, CAROL, MODS[0]), start=False)
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.start()
    return inst


def forged_post(inst, sink, text):
    send_unauthenticated(inst.port, STRANGER, [LIST],
                         f"From: {BOB}\r\nSubject: forged\r\n\r\n{text}\r\n".encode())
    ask = wait_until(lambda: to(sink, BOB, b"received a post in your name"))
    assert ask, inst.logtext()[-2000:]
    return ask[0]


def test_protest_drops_the_post_and_tells_the_moderators_without_the_address(make_instance, sink):
    inst = with_moderator(make_instance, **{"identity.mode": "pseudonym"})
    ask = forged_post(inst, sink, "Forged words for the pseudonymous list.")
    # the notice says which word releases it
    assert b"confirm" in ask.split(b"\r\n\r\n", 1)[1]
    send(inst, f"From: {BOB}\r\nSubject: Re: Confirm your post to the list\r\n\r\n"
               "No! Not me.\r\n", BOB, rcpt=f"demo-confirm+{token_in(ask)}@lists.example")
    told = wait_until(lambda: to(sink, MODS[0], b"was not confirmed"))
    assert told, inst.logtext()[-2000:]
    assert b"bob@" not in told[0] and b"bob%40" not in told[0]
    assert "not confirmed by the member it names" in inst.logtext()
    assert to(sink, CAROL, b"Forged words") == []


def test_protest_on_a_real_list_names_the_member_to_the_moderators(make_instance, sink):
    inst = with_moderator(make_instance)
    ask = forged_post(inst, sink, "Forged words for the real list.")
    send(inst, f"From: {BOB}\r\nSubject: Re\r\n\r\nI never wrote this\r\n", BOB,
         rcpt=f"demo-confirm+{token_in(ask)}@lists.example")
    told = wait_until(lambda: to(sink, MODS[0], b"was not confirmed"))
    assert told, inst.logtext()[-2000:]
    assert b"bob@example.org" in told[0]
    assert to(sink, CAROL, b"Forged words") == []


def test_confirm_bottom_posted_under_a_quote_releases_the_post(make_instance, sink):
    inst = make_instance()
    ask = forged_post(inst, sink, "Bob really wrote this one.")
    send(inst, f"From: {BOB}\r\nSubject: Re: Confirm your post to the list\r\n\r\n"
               "On Mon, 1 Jan 2024, demo wrote:\r\n> received a post in your name\r\n\r\n"
               "Confirm.\r\n\r\n-- \r\nBob\r\n", BOB,
         rcpt=f"demo-confirm+{token_in(ask)}@lists.example")
    assert wait_until(lambda: to(sink, CAROL, b"Bob really wrote this one.")), inst.logtext()[-2000:]


def test_request_confirmed_with_the_word_is_done(make_instance, sink):
    inst = make_instance()
    send_unauthenticated(inst.port, BOB, [LIST_REQ], f"From: {BOB}\r\nSubject: x\r\n\r\nunsubscribe\r\n".encode())
    ask = wait_until(lambda: to(sink, BOB, b"demo-confirm+"))
    assert ask, inst.logtext()[-2000:]
    assert b"\"confirm\"" in ask[-1]
    send(inst, f"From: {BOB}\r\nSubject: Re: x\r\n\r\nconfirm\r\n\r\n> To leave the list\r\n", BOB,
         rcpt=f"demo-confirm+{token_in(ask[-1])}@lists.example")
    assert inst.wait_log("membership (leaving) set"), inst.logtext()[-2000:]
    assert BOB not in inst.ctl("member", "ls", "demo").stdout


def ban_request(make_instance, sink):
    inst = make_instance(list_settings={"leadership.quorum_ban": "2", "leadership.quorum_roles": "4"},
                         members=(ALICE, BOB) + MODS, start=False)
    for m in MODS:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    r = inst.ctl("member", "ban", "demo", BOB, check=False)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    notes = {m: wait_until(lambda m=m: to(sink, m, b"ban: ")) for m in MODS}
    assert all(notes.values()), inst.logtext()[-3000:]
    return inst, {m: token_in(v[0]) for m, v in notes.items()}


def test_a_strangers_vote_does_not_use_up_the_moderators_token(make_instance, sink):
    inst, toks = ban_request(make_instance, sink)
    rcpt = f"demo-confirm+{toks[MODS[0]]}@lists.example"
    # m1's own address in From:, but nothing vouches for it
    send_unauthenticated(inst.port, MODS[0], [rcpt], f"From: {MODS[0]}\r\nSubject: Re\r\n\r\napprove\r\n".encode())
    assert inst.wait_log("not authenticated as the moderator"), inst.logtext()[-2000:]
    assert "approvals=" not in inst.logtext()
    # m1 themself, authenticated, with the same token: it still counts
    send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\napprove\r\n", MODS[0], rcpt=rcpt)
    assert inst.wait_log("approvals=1 of 2"), inst.logtext()[-2000:]


def test_another_moderators_vote_with_m1s_token_counts_nothing(make_instance, sink):
    inst, toks = ban_request(make_instance, sink)
    # m2 is authenticated, but as m2: m1's token is not theirs
    send(inst, f"From: {MODS[1]}\r\nSubject: Re\r\n\r\napprove\r\n", MODS[1],
         rcpt=f"demo-confirm+{toks[MODS[0]]}@lists.example")
    assert inst.wait_log("not authenticated as the moderator"), inst.logtext()[-2000:]
    time.sleep(0.5)
    assert "approvals=" not in inst.logtext()


def test_a_strangers_moderation_decision_does_nothing(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated"}, members=(ALICE, BOB, MODS[0]), start=False)
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.start()
    send(inst, f"From: {ALICE}\r\nSubject: held one\r\n\r\nHeld words.\r\n", ALICE)
    note = wait_until(lambda: to(sink, MODS[0], b"waits for moderation"))
    assert note, inst.logtext()[-2000:]
    rcpt = f"demo-confirm+{token_in(note[0])}@lists.example"
    send_unauthenticated(inst.port, STRANGER, [rcpt], f"From: {STRANGER}\r\nSubject: Re\r\n\r\napprove\r\n".encode())
    assert inst.wait_log("not authenticated as the moderator"), inst.logtext()[-2000:]
    time.sleep(1)
    assert to(sink, BOB, b"Held words.") == []
    # the moderator's own approval still works with that token
    send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\nApprove\r\n\r\n> A post waits\r\n", MODS[0], rcpt=rcpt)
    assert wait_until(lambda: to(sink, BOB, b"Held words.")), inst.logtext()[-2000:]
