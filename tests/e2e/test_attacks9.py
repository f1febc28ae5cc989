"""test_attacks9 - main as a hostile member, a stranger, an informer and a false moderator would
attack it (round 9).

Rounds 5-8 (test_attacks5.py .. test_attacks8b.py) are not repeated. Each test asserts the SAFE
behaviour; a finding not fixed stays xfail(strict=True, reason="finding N: ...").
Found on bcc0d04 (severity H/M/L):
  1 (M) a member's post on a real-name list kept the Sender (and Resent-From/-Sender) it claimed:
    `Sender: "demo moderators" <demo-owner@LIST-HOST>` made every member's client show the post
    as sent by the moderators ("demo-owner@... on behalf of ..."), `Sender: bob@...` as sent by
    another member - on the list's own DKIM signature. Fixed (transform.c drops them).
  2 (M) Bcc and Resent-Bcc went out: a client that writes its Bcc line into the message (mutt's
    write_bcc, scripts through `sendmail -t` behind a relay that keeps it) showed every member,
    and the archive, whom the author copied in secret - the moderators' address included, when
    she wrote to LIST-owner@ alongside the list. Fixed (transform.c drops them from copies,
    relay.c from mail to the moderators as it came).
  3 (M) a copy forwarded as an attachment to a real-name list kept its List-Unsubscribe: the
    forwarder's own one-click link went to every member and into the archive, and anyone of
    them could remove her with one POST. Fixed (transform.c hides the list's own one-click
    tokens in a post's body; the worker now gets one_click_url). Pseudonymous lists rebuild
    forwards and were not affected; a post signed intact by the member's own key is left as
    it is (its signature covers the body).
  4 (L) a Reply to a digest went to LIST-request@ (the digest's From, no Reply-To), found no
    command and was passed to the moderators: the list never heard it. Fixed (digest.c:
    Reply-To: the list).
  5 (M) on a pseudonymous list a member's mail to LIST-owner@ that nobody authenticated (her
    provider does not sign) or that she redirects there (a list copy: a loop, Resent-From)
    reached the hidden moderators as it came, with her address. Fixed (relay.c: every
    unverified writer, member or stranger, goes as one neutral anonymous writer marked not
    verified; its handle leads back to the writer).
Probed, no finding (no test kept for these): the held-post notice on a pseudonymous list shows the
moderators nothing of the author's headers (Received, X-Originating-IP, User-Agent, Message-ID,
Organization); one transaction to the list and LIST-owner@ gives one post and one relay, both
under the pseudonym; the list's address three times in one transaction (case) makes one post;
a member's own copy sent back to the list (X-Loop removed) is a loop, with any envelope; a
private reply after the member chose `identity real` still goes out under her pseudonym; a
moderator's "reject REASON" passes her first line only (no signature); -request answers to a
mixed-case and a plus-addressed sender are the same confirmation whether or not it is a member;
a pseudonym spelled as an RFC 2047 encoded word ("=?utf-8?q?Red_Fly?=") is refused.
"""
import re
import smtplib

import pytest

from conftest import send_unauthenticated, wait_until
from test_attacks8 import ALICE, BOB, LIST, MODS, OWNER, STRANGER, fields, moderated, send, to

HOST = "lists.example"


def answer_reaches(inst, sink, copy, mark, writer, not_to):
    """a moderator answers the relayed copy through its Reply-To handle: the answer (holding
    mark) reaches writer through the list, and never not_to (the reported post's author)"""
    handle = re.search(rb"(?mi)^Reply-To:\s*<(demo-owner\+[0-9a-z]+@lists\.example)>", copy)
    assert handle, fields(copy)
    send(inst, f"From: <{MODS[0]}>\r\nSubject: Re: that\r\n\r\nNoted, {mark}.\r\n", MODS[0],
         rcpt=handle.group(1).decode())
    assert wait_until(lambda: to(sink, writer, mark.encode())), inst.logtext()[-2000:]
    assert not to(sink, not_to, mark.encode())


def field_names(raw):
    """the names of raw's header fields, lower case"""
    return [f.split(":", 1)[0].strip().lower() for f in fields(raw)]


# ---- finding 1: a claimed Sender speaks for the moderators ---------------------------------

@pytest.mark.parametrize("claim", [
    '"demo moderators" <demo-owner@lists.example>',
    f"<{BOB}>",
])
def test_a_post_cannot_claim_to_be_sent_by_the_moderators_or_another_member(
        make_instance, sink, claim):
    """alice (authenticated as herself) writes a Sender naming the list's moderators or bob,
    and Resent-From/Resent-Sender too: clients show the Sender ("X on behalf of alice"); what
    the list vouched for is the From alone."""
    inst = moderated(make_instance, "real")
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSender: {claim}\r\nResent-From: {claim}\r\n"
           f"Resent-Sender: {claim}\r\nSubject: new rules\r\n\r\nThe rules change, SENDER1.\r\n")
    send(inst, raw, ALICE)
    got = wait_until(lambda: to(sink, BOB, b"SENDER1"))
    assert got, inst.logtext()[-2000:]
    claimed = [f for f in fields(got[0]) if f.lower().startswith(
        ("sender:", "resent-from:", "resent-sender:"))]
    assert claimed == [], claimed
    assert re.search(rb"(?mi)^From: <alice@example\.org>", got[0]), got[0][:1500]


# ---- finding 2: Bcc lines reach every member -------------------------------------------------

SECRET = "journalist@elsewhere.example"


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_a_posts_bcc_line_reaches_no_member(make_instance, sink, mode):
    """alice's client wrote its Bcc line into the post (she copied a journalist and the list's
    moderators in secret); the members' copies, the moderators' relayed copy and the archive
    must not name either."""
    inst = moderated(make_instance, mode)
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nBcc: <{SECRET}>, <{OWNER}>\r\n"
           f"Resent-Bcc: <{SECRET}>\r\nSubject: minutes\r\n\r\nThe minutes, BCC2.\r\n")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(ALICE, [LIST, OWNER], raw.encode())
    post = wait_until(lambda: to(sink, BOB, b"BCC2"))
    assert post, inst.logtext()[-2000:]
    relayed = wait_until(lambda: [m for m in to(sink, MODS[0], b"BCC2")
                                  if b"demo-owner+" in m])
    assert relayed, inst.logtext()[-2000:]
    for copy in (post[0], relayed[0]):
        assert "bcc" not in field_names(copy) and "resent-bcc" not in field_names(copy), \
            fields(copy)
        assert SECRET.encode() not in copy, copy[:1500]
    archive = inst.ctl("archive", "export", "demo").stdout
    assert "BCC2" in archive and SECRET not in archive, archive[:1500]


# ---- finding 3: a forwarded copy carries its member's one-click link to everyone -------------

def one_click_links(raw):
    """the one-click tokens in raw, https or mailto (as test_attacks6 reads them)"""
    return set(re.findall(rb"unsubscribe/demo/([0-9a-f]{32})", raw) +
               re.findall(rb"demo-unsubscribe\+([0-9a-f]{32})@", raw))


def forward_as_attachment(copy, sender, words):
    """what Thunderbird's Forward As Attachment makes of a copy: the copy as it came, inside"""
    b = "fwdb"
    return (f"From: <{sender}>\r\nTo: <{LIST}>\r\nSubject: Fwd: worth reading\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary={b}\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain\r\n\r\n{words}\r\n"
            f"--{b}\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
            ).encode() + copy + f"\r\n--{b}--\r\n".encode()


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_a_forwarded_copy_does_not_hand_its_members_one_click_link_to_the_list(
        make_instance, sink, mode):
    """bob forwards a post he got (as an attachment, his copy as it came) to the list. His copy's
    List-Unsubscribe holds his own one-click link: every member who gets the forward, and
    whoever reads the archive, could remove him with one POST - and on any list the link ties
    every copy he ever forwards to him."""
    inst = moderated(make_instance, mode, one_click_url="https://lists.example/unsubscribe/")
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: news\r\n\r\nOC3 news.\r\n", ALICE)
    mine = wait_until(lambda: to(sink, BOB, b"OC3 news."))
    assert mine, inst.logtext()[-2000:]
    links = one_click_links(mine[0])
    assert links, mine[0][:2000]
    send(inst, forward_as_attachment(mine[0], BOB, "Look at this, FWD3."), BOB)
    got = wait_until(lambda: to(sink, ALICE, b"FWD3"))
    assert got, inst.logtext()[-2000:]
    assert not (one_click_links(got[0]) & links), got[0][:3000]
    assert not (one_click_links(inst.ctl("archive", "export", "demo").stdout.encode()) & links)


# ---- finding 4: a reply to a digest goes to the moderators -----------------------------------

def reply_address(raw):
    """where a mail client's Reply writes: Reply-To, else From"""
    for name in ("reply-to", "from"):
        for f in fields(raw):
            if f.lower().startswith(name + ":"):
                return re.findall(r"<([^>]+)>", f)[-1]
    return None


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_a_reply_to_the_digest_reaches_the_list_not_the_moderators(make_instance, sink, mode):
    """bob reads the digest and answers it with Reply. The digest comes from LIST-request@ with
    no Reply-To: his answer went to -request, found no command there and was passed to the
    moderators (on a real list as it came, with his address) - the list never heard it, and
    he is told only that "it has gone to the list's administrators"."""
    inst = moderated(make_instance, mode)
    inst.ctl("member", "set", "demo", BOB, "digest", "on")
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: plans\r\n\r\nOur plans, DIG4.\r\n",
         ALICE)
    assert wait_until(lambda: to(sink, MODS[0], b"DIG4")), inst.logtext()[-2000:]
    inst.ctl("digest", "send", "demo")
    digest = wait_until(lambda: to(sink, BOB, b"multipart/digest"))
    assert digest, inst.logtext()[-2000:]
    where = reply_address(digest[0])
    mid = re.search(rb"(?mi)^Message-ID:\s*(<[^>]+>)", digest[0]).group(1).decode()
    send(inst, f"From: <{BOB}>\r\nTo: <{where}>\r\nSubject: Re: demo digest\r\n"
         f"In-Reply-To: {mid}\r\n\r\nI agree with the plans, REPLY4.\r\n", BOB, rcpt=where)
    assert wait_until(lambda: to(sink, ALICE, b"REPLY4")), inst.logtext()[-2000:]
    assert not [m for m in to(sink, MODS[0], b"REPLY4") if b"demo-owner+" in m]


# ---- finding 5: mail to the moderators nobody authenticated goes with the member's address ----

def redirected(copy, by):
    """what Thunderbird's Redirect (mutt's bounce) sends: the copy as it came, Resent-* on top"""
    return (f"Resent-From: <{by}>\r\nResent-To: <{OWNER}>\r\n"
            "Resent-Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n").encode() + copy


@pytest.mark.parametrize("how", ["unsigned", "redirect"])
def test_a_pseudonymous_members_mail_to_the_moderators_never_carries_her_address(
        make_instance, sink, how):
    inst = moderated(make_instance)
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: hello\r\n\r\nFirst post, P5.\r\n",
         ALICE)
    post = wait_until(lambda: to(sink, BOB, b"P5"))
    assert post, inst.logtext()[-2000:]
    if how == "unsigned":
        send_unauthenticated(inst.port, BOB, [OWNER], (
            f"From: <{BOB}>\r\nTo: <{OWNER}>\r\nReceived: from bobs-laptop.home ([192.0.2.7])\r\n"
            "Subject: a complaint\r\n\r\nAbout that post, MOD5.\r\n").encode())
    else:
        send_unauthenticated(inst.port, BOB, [OWNER], redirected(
            post[0].replace(b"First post, P5.", b"First post, P5, MOD5."), BOB))
    got = wait_until(lambda: to(sink, MODS[0], b"MOD5"))
    assert got, inst.logtext()[-2000:]
    assert BOB.encode() not in got[0] and b"192.0.2.7" not in got[0], got[0][:2000]
    # the moderators' answer reaches whoever wrote (for a redirect: bob, not the post's author)
    answer_reaches(inst, sink, got[0], "ANS5", BOB, ALICE)


TRACE = ("Received: from bobs-laptop.home ([192.0.2.7])\r\n"
         "Return-Path: <{w}>\r\nX-Originating-IP: [192.0.2.7]\r\n"
         "Message-ID: <1234.{w}>\r\nResent-From: <{w}>\r\n"
         "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom={w}\r\n"
         "ARC-Seal: i=1; a=rsa-sha256; d=example.org; s=x; cv=none; b=AAAA\r\n"
         "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x; h=from; bh=AA; b=AA\r\n"
         "User-Agent: Mutt/2.2 ({w})\r\n")


def neutral_form(raw):
    """what a moderator could compare of two relayed copies: the field names, and the From
    and X-Mlist-Sender with every handle and anonymous number taken out"""
    keep = [f for f in fields(raw) if f.lower().startswith(("from:", "x-mlist-sender:"))]
    return (sorted(field_names(raw)),
            # the handle first: a run of 4 digits in it would be taken for the number
            [re.sub(r"[0-9A-F]{4,}", "H", re.sub(r"\+[0-9a-z]+@", "+H@", f))
             for f in keep])


def test_a_moderator_cannot_tell_a_forged_member_from_a_stranger(make_instance, sink):
    """Mail to LIST-owner@ nobody authenticated, once with bob's address (a member) and once a
    stranger's, trace fields and all: both reach the moderators as the same neutral writer,
    marked not verified, with nothing of either address, trace or Message-ID; a moderator's
    answer to its Reply-To reaches the writer through the list."""
    inst = moderated(make_instance)
    for w, mark in ((BOB, b"TELL6 member"), (STRANGER, b"TELL6 stranger")):
        send_unauthenticated(inst.port, w, [OWNER], (
            f"From: <{w}>\r\nTo: <{OWNER}>\r\n" + TRACE.format(w=w) +
            "Subject: a complaint\r\n\r\n").encode() + mark + b".\r\n")
    got = [wait_until(lambda: to(sink, MODS[0], m)) for m in
           (b"TELL6 member", b"TELL6 stranger")]
    assert all(got), inst.logtext()[-2000:]
    for copy, w in zip((got[0][0], got[1][0]), (BOB, STRANGER)):
        assert w.encode() not in copy and b"192.0.2.7" not in copy, copy[:2000]
        assert b"1234." not in copy and b"Mutt" not in copy, copy[:2000]
        names = field_names(copy)
        for trace in ("received", "return-path", "x-originating-ip", "resent-from",
                      "authentication-results", "arc-seal", "user-agent"):
            assert trace not in names, (trace, fields(copy))
        assert [f for f in fields(copy) if f.lower().startswith("x-mlist-sender:")
                and "not verified" in f], fields(copy)
        # the only DKIM signature is the list's own
        assert b"d=example.org" not in copy, copy[:2000]
    assert neutral_form(got[0][0]) == neutral_form(got[1][0]), \
        (fields(got[0][0]), fields(got[1][0]))
    handle = re.search(rb"(?mi)^Reply-To:\s*<(demo-owner\+[0-9a-z]+@lists\.example)>",
                       got[0][0])
    assert handle, fields(got[0][0])
    send(inst, f"From: <{MODS[0]}>\r\nTo: <{handle.group(1).decode()}>\r\n"
         "Subject: Re: a complaint\r\n\r\nWe looked into it, ANS6.\r\n", MODS[0],
         rcpt=handle.group(1).decode())
    answer = wait_until(lambda: to(sink, BOB, b"ANS6"))
    assert answer, inst.logtext()[-2000:]
    assert MODS[0].encode() not in answer[0], answer[0][:2000]
