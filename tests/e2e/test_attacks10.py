"""test_attacks10 - round 10: what the last session added, as a hostile member, stranger or
moderator would attack it: the neutral writer for mail to LIST-owner@ (relay.c), the sealed
envelope ids and DSNs (envid.c, bounce.c), the look-up shares (lookshare.c), the one-click
blanking (transform.c), `roles-unreadable`, the dropped Sender/Resent-*/Bcc, digest Reply-To.

Each test asserts the SAFE behaviour and failed on 6cb5caf; a finding not fixed stays
xfail(strict=True, reason=...). Found (severity H/M/L):
  F1 (M) the one-click blanking ran on the rendered copy only: a PSEUDONYMOUS copy is written
    anew from the parsed post (anon_parts), so a forwarded .eml (base64) or a pasted
    List-Unsubscribe line handed the forwarder's token to every member and the archive.
    Fixed (transform.c blank_post: the post is blanked before it is parsed).
  F2 (M) on an open real-name list a stranger's post `From: "demo moderators"
    <demo-owner@lists.example>` (or the list's own, -request, a name below the host) went
    to every member under the list's DKIM signature, aligned with that From. Fixed
    (policy.c: such a post is dropped, reason=own-address).
  F3 (M) the list judges the first mailbox of From; a second one (the moderators, another
    member) or bytes after it went out, shown by clients as authors. Fixed (transform.c
    put_from: the From goes out as the mailbox judged).
  F4 (L) one envelope id covers a batch of relay.max_recipients members of any
    domains; the relay passes it on to every next hop, so a member's own mail server could
    count bounces against the others (probes at bounce.score_limit). Found on the code
    before the per-recipient ORCPT (envid.c, #15): a DSN now counts only with the failed
    recipient's own sealed Original-Recipient, which bob's server never sees.
  F5 (L) mail to LIST-owner@ with From and envelope both an address of the list's own:
    neutral_writer took the envelope, and a moderator's answer went to LIST-owner@ (relayed
    to every moderator) or to the list (dropped there as a loop: lost). Fixed (relay.c
    neutral_writer, writer: the list's own address is nobody to answer; the handle leads
    nowhere and the moderator is told it cannot be answered).
Probed, no finding: `roles-unreadable` goes only to a From the list verified, so it tells nobody about anyone
else; a look-up counts in a member's part only for names under the claimed member's own
domain (authn.c lookup_add), so forging a member with slow d= domains gives strangers'
share; `Sender : x` (blank before the colon) is no field name to header.c: the header ends
there and it reaches copies as body text, never as a field; a batch of one recipient keeps
its envelope id to its member (test_bounce_envid).
Noticed, not attacks: a member's forward of a pseudonymous copy as a quoted-printable text
attachment is refused (@boundary-char: the inner boundary="=3D_sig..." line is screened as
a Content-Type) and she is told; mail to LIST-owner@ that goes as it came (real-name lists,
moderators_see = address) keeps a forwarded copy's one-click link for the moderators; a
real-name member may still call himself "demo moderators" in his From's display name (his
address shows; pseudonymous lists rebuild From).
"""
import re

import pytest

from attackhelp import copies_or_idle
from conftest import send_unauthenticated, wait_until
from test_attacks8 import ALICE, BOB, LIST, MODS, OWNER, STRANGER, fields, moderated, send, to
from test_attacks9b import attached, tokens_in

URL = "https://lists.example/unsubscribe/"


def bobs_copy(inst, sink, mark):
    """alice posts; bob's copy as it came (his one-click link in it) and its tokens"""
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: news\r\n\r\n{mark} news.\r\n",
         ALICE)
    mine = wait_until(lambda: to(sink, BOB, f"{mark} news.".encode()))
    assert mine, inst.logtext()[-2000:]
    links = tokens_in(mine[0])
    assert links, mine[0][:2000]
    return mine[0], links


@pytest.mark.parametrize("form", ["base64 .eml", "pasted"])
def test_a_pseudonymous_lists_forward_does_not_hand_out_the_one_click_link(
        make_instance, sink, form):
    """F1 (M): bob forwards his copy (a saved .eml in base64) or pastes its List-Unsubscribe
    line into a post on a PSEUDONYMOUS list. Round 9 hid the one-click tokens only in the
    rendered copy (real-name lists); the pseudonymous copy is written anew from the parsed
    post (anon_parts), so bob's token reached every member and the archive: anyone could
    remove him with one POST. Fixed (transform.c blank_post: the post is blanked first)."""
    inst = moderated(make_instance, "pseudonym", one_click_url=URL)
    mine, links = bobs_copy(inst, sink, "OC10")
    b = "fwd10"
    if form == "pasted":
        lu = re.search(rb"(?mi)^List-Unsubscribe:[^\r]*(?:\r\n[ \t][^\r]*)*", mine).group(0)
        raw = (f"From: <{BOB}>\r\nTo: <{LIST}>\r\nSubject: how to leave\r\n\r\n"
               "Look at this, FWD10:\r\n").encode() + lu + b"\r\n"
    else:
        raw = (f"From: <{BOB}>\r\nTo: <{LIST}>\r\nSubject: Fwd: news\r\nMIME-Version: 1.0\r\n"
               f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n--{b}\r\n"
               "Content-Type: text/plain\r\n\r\nLook at this, FWD10.\r\n"
               f"--{b}\r\n").encode() + attached(mine, form) + f"\r\n--{b}--\r\n".encode()
    send(inst, raw, BOB)
    got = wait_until(lambda: to(sink, ALICE, b"FWD10"))
    assert got, inst.logtext()[-2000:]
    assert not (tokens_in(got[0]) & links), got[0][:3000]
    assert not (tokens_in(inst.ctl("archive", "export", "demo").stdout.encode()) & links)


@pytest.mark.parametrize("claim", ["demo-owner@lists.example", "demo@lists.example",
                                   "demo-request@lists.example", "staff@mx.lists.example"])
def test_a_post_cannot_come_from_the_lists_own_address(make_instance, sink, claim):
    """F2 (M): on an open real-name list a stranger posted, unsigned, with
    `From: "demo moderators" <demo-owner@lists.example>` (or the list's own address, or
    -request): every member got it from the moderators under the list's own DKIM signature -
    aligned with that From, so DMARC passes it as the list's own ("the list moves: confirm at
    our new site"); the same with a From below the list's host, which relaxed alignment
    passes too. Fixed (policy.c: a From at or below the list's host is dropped, as a loop
    is)."""
    inst = moderated(make_instance, "real", posting="open")
    send_unauthenticated(inst.port, STRANGER, [LIST], (
        f'From: "demo moderators" <{claim}>\r\nTo: <{LIST}>\r\n'
        "Subject: Important: the list moves\r\n\r\nPlease confirm at our new site, OWN10.\r\n"
    ).encode())
    # an honest post after it reaches the members; the claim is judged by its own log line
    # (the two are parsed side by side, and the stranger's may wait for DNS: no order)
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: hi\r\n\r\nAfter, AFT10.\r\n",
         ALICE)
    assert wait_until(lambda: to(sink, BOB, b"AFT10")), inst.logtext()[-2000:]
    assert inst.wait_log("kind=post reason=own-address"), inst.logtext()[-2000:]
    for rcpt in (ALICE, BOB) + MODS:
        assert not to(sink, rcpt, b"OWN10"), (rcpt, to(sink, rcpt, b"OWN10")[0][:1500])


def confirmed_post(inst, sink, frm, mark):
    """bob posts with From: frm; the list asks his mailbox, he says yes: alice's copy"""
    send(inst, f"From: {frm}\r\nTo: <{LIST}>\r\nSubject: notice\r\n\r\n{mark} body.\r\n", BOB)
    # the question or, judged without asking (the list vouched for the From), the copy:
    # whichever comes (waiting 10 s for a question never asked was 10 of a test's 11 s)
    asked = lambda: [m for m in to(sink, BOB) if b"demo-confirm+" in m]
    wait_until(lambda: asked() or to(sink, ALICE, mark.encode()), 10)
    ask = asked()
    if not ask:     # judged without asking: as it came
        return wait_until(lambda: to(sink, ALICE, mark.encode()), 10)
    tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", ask[0]).group(1)
    send(inst, f"From: <{BOB}>\r\nSubject: Re\r\n\r\nyes\r\n", BOB,
         rcpt=f"demo-confirm+{tok.decode()}@lists.example")
    return wait_until(lambda: to(sink, ALICE, mark.encode()), 10)


@pytest.mark.parametrize("frm", [
    f'<{BOB}>, "demo moderators" <demo-owner@lists.example>',
    f"<{BOB}>, <{ALICE}>",
    f"<{BOB}> <demo-owner@lists.example>",
])
def test_a_posts_from_shows_only_the_author_the_list_judged(make_instance, sink, frm):
    """F3 (M): the list judges a post by the FIRST mailbox of its From (transform.c
    first_mailbox): bob, confirming from his own mailbox, posted on a real-name list with
    `From: <bob>, "demo moderators" <demo-owner@lists.example>` (or with alice's address as
    the second author, or `<bob@...> <demo-owner@...>`: bytes after the mailbox that
    parses, which a client may read as the author), and every member's client showed the moderators (alice) as authors
    of his post, under the list's signature. Fixed (transform.c put_from: a From that is not
    one mailbox and nothing else goes out as the one the list judged)."""
    inst = moderated(make_instance, "real")
    got = confirmed_post(inst, sink, frm, "MULTI10")
    assert got, inst.logtext()[-2000:]
    froms = [f for f in fields(got[0]) if f.lower().startswith("from:")]
    assert froms == [f"From: <{BOB}>"], froms


def test_a_members_own_mail_server_cannot_count_bounces_against_the_others(
        make_instance, dsnsink):
    """F4 (L): bob runs his own mail server. The list's relay passes each transaction's
    envelope id on to every next hop (RFC 3461 keeps ENVID with the message), so bob's server
    gets the id of the batch that also carried alice's copy. A DSN with it, naming alice as
    the failed recipient, counted against her (bounce.c in_txn: she was in that transaction);
    at bounce.score_limit she is probed, and a relay's 5xx after that disables her. Now it
    lacks her own original recipient and changes no score."""
    from test_bounce_envid import BOUNCES, copy_to, dsn, post, relay_to, scores
    inst = make_instance(relay=relay_to(dsnsink))
    post(inst, "ENV10")
    bobs, msgid = copy_to(dsnsink, BOB, b"ENV10")
    assert bobs, inst.logtext()[-1500:]
    send_unauthenticated(inst.port, "", [BOUNCES], dsn(ALICE, msgid, bobs))
    assert wait_until(lambda: "bounce: list=demo" in inst.logtext()), inst.logtext()[-1500:]
    assert scores(inst).get(ALICE, 0) == 0, inst.logtext()[-1500:]


@pytest.mark.parametrize("own", [OWNER, LIST])
def test_the_moderators_answer_is_never_steered_to_the_lists_own_address(
        make_instance, sink, own):
    """F5 (L): a stranger writes to LIST-owner@ with From and envelope both an address of the
    list's own. neutral_writer skips a From at the list's host and takes the envelope - here
    the list's own too - as the writer: a moderator's answer through the handle went to
    LIST-owner@ (relayed to every moderator: a hidden moderator's answer shown to the
    others) or to the list (dropped there as a loop: the answer lost). Fixed (relay.c: an
    address at the list's host is nobody the moderators answer)."""
    inst = moderated(make_instance)
    send_unauthenticated(inst.port, own, [OWNER], (
        f"From: <{own}>\r\nTo: <{OWNER}>\r\nSubject: a question\r\n\r\n"
        "Who answers this, OWNQ10?\r\n").encode())
    got = wait_until(lambda: to(sink, MODS[0], b"OWNQ10"))
    assert got, inst.logtext()[-2000:]
    handle = re.search(rb"(?mi)^Reply-To:\s*<(demo-owner\+[0-9a-z]+@lists\.example)>", got[0])
    assert handle, fields(got[0])
    send(inst, f"From: <{MODS[0]}>\r\nSubject: Re: that\r\n\r\nMy answer, OWNA10.\r\n",
         MODS[0], rcpt=handle.group(1).decode())
    # handled: passed on (kind=owner-answer) or refused, its moderator told why
    assert wait_until(lambda: re.search(r"kind=owner-answer|kind=private reason=refused",
                                        inst.logtext())), inst.logtext()[-2000:]
    copies_or_idle(inst, lambda: [m for m in sink.handler.messages
                                  if b"OWNA10" in m[2]], 3)
    ours = [m[1] for m in sink.handler.messages if b"OWNA10" in m[2] and
            any(r.endswith("@lists.example") for r in m[1])]
    assert not ours, ours


@pytest.mark.parametrize("frm", [
    f'"Bob B." <{BOB}>',
    f"=?utf-8?q?Bob_M=C3=BCller?= <{BOB}>",
    f"Bob Müller <{BOB}>",
    f"{BOB} (Bob at home)",
])
def test_a_sole_mailbox_from_goes_as_it_came(make_instance, sink, frm):
    """F3's guard: a From that is one mailbox, however written (quoted or encoded name, raw
    UTF-8, a comment), goes out as the author wrote it."""
    inst = moderated(make_instance, "real")
    got = confirmed_post(inst, sink, frm, "SOLE10")
    assert got, inst.logtext()[-2000:]
    froms = [f for f in fields(got[0]) if f.lower().startswith("from:")]
    assert froms == [f"From: {frm}"], froms
