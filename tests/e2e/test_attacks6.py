"""test_attacks6 - main as a hostile member, a stranger, an informer, a false moderator and
whoever holds a disk image or a backup would attack it (round 6).

Targets the earlier rounds left thin: look-alike and reserved pseudonyms, header injection
through display names and Subjects, the one-click endpoint, the archive and digest answers
(archive.since_join), quorum votes, VERP bounce tokens, mlistctl and the control socket, the
backup file, the log after a whole scenario, and the -request path as an amplifier.

Each test asserts the SAFE behaviour. An attack that works is marked
xfail(strict=True, reason="finding: ...") with the finding's words, so the suite stays green
and a fix shows up as XPASS; the report of round 6 ranks them.
"""
import email
import email.policy
import json
import os
import re
import smtplib
import socket
import struct
import subprocess
import time

import pytest

from conftest import MLISTCTL, Instance, send_unauthenticated, wait_until

LIST, LIST_REQ = "demo@lists.example", "demo-request@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
ROSA = "rosa.luxemburg@spartakus.example"
STRANGER = "dave@elsewhere.example"
MODS = ("m1@example.org", "m2@example.org", "m3@example.org")


def send(inst, raw, sender, rcpt=LIST):
    """Mail through the front MTA: DMARC-aligned for the From domain (see conftest)."""
    if isinstance(raw, str):
        raw = raw.encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def head_of(raw):
    return raw.split(b"\r\n\r\n", 1)[0]


def msg_of(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def token_in(raw):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", raw).group(1).decode()


def request(inst, sink, sender, text, marker, n=1):
    """Commands to -request from sender's own (aligned) mailbox; the n-th answer with marker."""
    send(inst, f"From: {sender}\r\nSubject: commands\r\n\r\n{text}\r\n", sender, rcpt=LIST_REQ)
    got = wait_until(lambda: len(to(sink, sender, marker)) >= n and to(sink, sender, marker))
    assert got, f"no answer with {marker!r} to {sender}:\n" + inst.logtext()[-3000:]
    return got[-1]


def pseud_list(make_instance, members=(ALICE, BOB, CAROL), **settings):
    s = {"identity.mode": "pseudonym"}
    s.update(settings)
    return make_instance(list_settings=s, members=members)


# ---- look-alike, reserved and impersonating pseudonyms ------------------------------------------

@pytest.mark.parametrize("first,second", [
    pytest.param("Red Fly", "Red FIy", marks=pytest.mark.xfail(strict=True, reason=(
        "finding: the confusable skeleton is taken of the case-FOLDED name, so a capital I "
        "(which UTS #39 maps to l) is folded to i first: 'Red FIy' is accepted beside 'Red Fly' "
        "and reads the same in every sans-serif client"))),
    pytest.param("Willow", "WiIIow", marks=pytest.mark.xfail(strict=True, reason=(
        "finding: capital I for l again (case folding before the skeleton)"))),
    pytest.param("Red Fly", "Red F\u04cfy", marks=pytest.mark.xfail(strict=True, reason=(
        "finding: Cyrillic palochka (U+04CF; its capital U+04C0 folds to it) is taken beside l: "
        "the skeleton of the folded name maps it to i"))),
    ("Mary Lane", "rnary Lane"),             # rn for m
    ("Rosa", "R\u043esa"),                   # Cyrillic o (tested before; kept as the control)
    ("Paul", "PAUL"),
])
def test_look_alike_pseudonym_is_refused(make_instance, first, second):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    assert inst.ctl("member", "set", "demo", ALICE, "pseudonym", first).returncode == 0
    r = inst.ctl("member", "set", "demo", BOB, "pseudonym", second, check=False)
    assert r.returncode == 1 and "taken" in r.stderr, (second, r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("name", [
    "a\u202eb c",           # RIGHT-TO-LEFT OVERRIDE
    "Red \u2066Fly",         # LEFT-TO-RIGHT ISOLATE
    "Red\u200fFly",          # RIGHT-TO-LEFT MARK
    "Red\u061cFly",          # ARABIC LETTER MARK
    "Red\u00adFly",          # SOFT HYPHEN
    "Red\u2028Fly",          # LINE SEPARATOR
    pytest.param("Red\u3164Fly", marks=pytest.mark.xfail(strict=True, reason=(
        "finding: HANGUL FILLER U+3164 (a letter, category Lo, that renders as blank space) is "
        "accepted: 'Red\u3164Fly' shows as 'Red Fly' with a space no check compares"))),
    "Red\u2800Fly",          # BRAILLE PATTERN BLANK
    "Red\uffa0Fly",          # HALFWIDTH HANGUL FILLER
])
def test_invisible_and_bidi_pseudonyms_are_refused(make_instance, name):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", name, check=False)
    assert r.returncode == 1 and "pseudonym" in r.stderr, (repr(name), r.returncode, r.stderr)


@pytest.mark.xfail(strict=True, reason=(
    "finding: a member may take the pseudonym 'Anonymous 3F9A2C' (only the bare word "
    "'anonymous' is reserved), so on a list that also offers anonymous posting their "
    "posts and private-reply address look exactly like an anonymous poster's"))
def test_pseudonym_cannot_pose_as_an_anonymous_handle(make_instance):
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "identity.choices": "anonymous"},
                         start=False)
    r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Anonymous 3F9A2C", check=False)
    assert r.returncode == 1, r.stdout


@pytest.mark.xfail(strict=True, reason=(
    "finding: with leadership.visibility = roles a member may take a moderator's role handle "
    "(mod-XXXX, printed by `who`) or 'demo moderators' as a pseudonym: reserved words are "
    "matched only as the whole name"))
def test_pseudonym_cannot_pose_as_a_moderator_role(make_instance, sink):
    inst = make_instance(members=(ALICE, BOB, MODS[0]), start=False,
                         list_settings={"identity.mode": "pseudonym", "leadership.visibility": "roles"})
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.start()
    who = request(inst, sink, BOB, "who", b"The moderators:")
    handle = re.search(rb"mod-[0-9a-f]{4}", who.split(b"The moderators:")[1]).group(0).decode()
    taken = []
    for name in (handle, "demo moderators", f"demo moderators ({handle})", "The Moderators"):
        r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", name, check=False)
        if r.returncode == 0:
            taken.append(name)
    assert taken == [], f"alice could post as {taken}"


# ---- names that collide with the list's reserved addresses -------------------------------------

@pytest.mark.parametrize("name", ["demo-owner", "demo-request", "demo-bounces", "demo-confirm",
                                  "demo-unsubscribe", "demo+p-abc", "demo+x", "Demo", "demo@x",
                                  "-demo", ".demo", "x" * 65])
def test_list_name_cannot_take_another_lists_reserved_address(make_instance, name):
    inst = make_instance(members=(), start=False)
    r = inst.ctl("list", "create", name, check=False)
    assert r.returncode in (1, 2), (name, r.stdout)
    assert name not in inst.ctl("list", "ls").stdout.split()


def test_existing_list_named_like_a_new_lists_role_address(make_instance):
    """The other way round: 'x-owner' exists first, then a list 'x' would own x-owner@."""
    inst = make_instance(members=(), start=False)
    assert inst.ctl("list", "create", "team-owner").returncode == 0
    r = inst.ctl("list", "create", "team", check=False)
    assert r.returncode == 1 and "clashes" in r.stderr, r.stderr


def test_pseudonym_named_like_a_reserved_address_gets_a_random_handle(make_instance, sink):
    """A pseudonym is never part of an address: 'demo-owner' or 'p-x' is refused or harmless."""
    inst = pseud_list(make_instance)
    for who, name in ((ALICE, "demo-owner"), (BOB, "p-admin")):
        r = inst.ctl("member", "set", "demo", who, "pseudonym", name, check=False)
        if r.returncode != 0:
            continue
        send(inst, f"From: {who}\r\nSubject: as {name}\r\n\r\nHello.\r\n", who)
        got = wait_until(lambda: to(sink, CAROL, f"as {name}".encode()))
        assert got, inst.logtext()[-2000:]
        frm = msg_of(got[0])["From"].addresses[0].addr_spec
        assert re.fullmatch(r"demo\+p-[a-z0-9]{10}@lists\.example", frm), frm


# ---- header injection into copies -----------------------------------------------------------------

INJECT_WORDS = [
    "=?utf-8?q?Hello=0D=0AX-Injected:_yes?=",
    "=?utf-8?b?SGVsbG8NClgtSW5qZWN0ZWQ6IHllcw==?=",        # "Hello\r\nX-Injected: yes"
    "=?utf-8?q?Hello=0AX-Injected:_yes?=",
    "=?utf-8?q?Hello=0D=0A=0D=0AX-Injected:_yes?=",
]


def injected(raw):
    """A header field X-Injected anywhere a header can be: the copy, and any MIME part's head."""
    return re.search(rb"(?im)^X-Injected:", raw) is not None


@pytest.mark.parametrize("word", INJECT_WORDS)
@pytest.mark.parametrize("mode", ["real", "munge", "pseudonym"])
def test_encoded_word_crlf_in_subject_and_display_name(make_instance, sink, word, mode):
    settings = {"identity.mode": "pseudonym"} if mode == "pseudonym" else {}
    if mode == "munge":
        settings["identity.munge_from"] = "true"
    inst = make_instance(list_settings=settings)
    mark = f"inj-{INJECT_WORDS.index(word)}"
    # on a pseudonymous list the display name is never shown (and the leak guard would hold a
    # post whose body repeats it): the Subject is the way in there
    frm = f"<{ALICE}>" if mode == "pseudonym" else f"{word} <{ALICE}>"
    send(inst, f"From: {frm}\r\nSubject: {word} {mark}\r\n\r\nBody {mark}.\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, f"Body {mark}.".encode()))
    assert got, inst.logtext()[-3000:]
    assert not injected(got[0]), got[0][:3000]


@pytest.mark.xfail(strict=True, reason=(
    "finding: a munged From keeps a RIGHT-TO-LEFT OVERRIDE from the sender's display name, "
    "before the list's own ' via demo' (pseudonyms refuse it; display names do not)"))
def test_bidi_override_in_display_name_is_not_passed_raw_into_munged_from(make_instance, sink):
    """'\u202eomed aiv ecilA' shows as 'Alice via demo' reversed; the list adds ' via demo' after it,
    so a raw override could make the list's own ' via demo' read backwards."""
    inst = make_instance(list_settings={"identity.munge_from": "true"})
    send(inst, f"From: =?utf-8?b?4oCu?=Mallory <{ALICE}>\r\nSubject: bidi\r\n\r\nbidi body\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"bidi body"))
    assert got, inst.logtext()[-2000:]
    frm = str(msg_of(got[0])["From"])
    assert "\u202e" not in frm, repr(frm)


@pytest.mark.xfail(strict=True, reason=(
    "finding: with identity.munge_from the copy's From is '<the sender's own display name> via "
    "LIST' <LIST@host>: the display name is the sender's claim, and the address that would show "
    "who sent it is replaced by the list's. A member (DKIM-aligned as herself) posts as 'Bob "
    "Member via demo'; only Reply-To, which she may also set, still names her"))
def test_munged_from_does_not_let_a_member_take_another_members_name(make_instance, sink):
    inst = make_instance(members=(), start=False, list_settings={"identity.munge_from": "true"})
    inst.ctl("member", "add", "demo", ALICE, "--name", "Alice A")
    inst.ctl("member", "add", "demo", BOB, "--name", "Bob Member")
    inst.ctl("member", "add", "demo", CAROL)
    inst.start()
    send(inst, f"From: Bob Member <{ALICE}>\r\nReply-To: <bob.member@elsewhere.example>\r\n"
               f"Subject: I resign\r\n\r\nI, Bob, resign from the committee.\r\n", ALICE)
    got = wait_until(lambda: to(sink, CAROL, b"I, Bob, resign"))
    assert got, inst.logtext()[-2000:]
    m = msg_of(got[0])
    shown = str(m["From"]) + " " + str(m.get("Reply-To", ""))
    assert "Bob Member" not in str(m["From"]) or ALICE in shown, shown


# ---- a pseudonym renamed twice ---------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "finding: a pseudonym renamed a second time (after posts under both earlier names) can no "
    "longer post: librnp refuses to add a primary UID to a key whose primary UID was set "
    "explicitly ('changing the primary userid is not supported'), sign.c answers TEMPFAIL, and "
    "the post is retried forever, never delivered, its author never told"))
def test_pseudonym_renamed_twice_still_posts(make_instance, sink):
    inst = pseud_list(make_instance)
    for i, name in enumerate(("Red Heron", "Quiet Anvil", "Bold Lantern")):
        inst.ctl("member", "set", "demo", ALICE, "pseudonym", name)
        send(inst, f"From: {ALICE}\r\nSubject: rename {i}\r\n\r\nUnder {name}.\r\n", ALICE)
        got = wait_until(lambda: to(sink, BOB, f"Under {name}.".encode()), 15)
        assert got, f"the post under the name number {i + 1} was not delivered:\n" + inst.logtext()[-1500:]
        assert msg_of(got[0])["From"].addresses[0].display_name == f"{name} via demo"


# ---- quorum votes ----------------------------------------------------------------------------------

def ban_request(make_instance, sink):
    """Three moderators, a ban of bob opened (quorum 2): {moderator: their notice}."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "leadership.quorum_ban": "2",
                                        "leadership.quorum_roles": "4"},
                         members=(ALICE, BOB) + MODS, start=False)
    for m in MODS:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    r = inst.ctl("member", "ban", "demo", BOB, check=False)
    assert r.returncode == 3 and "request" in r.stdout, (r.returncode, r.stdout, r.stderr)
    notes = {m: wait_until(lambda m=m: to(sink, m, b"ban: ")) for m in MODS}
    assert all(notes.values()), inst.logtext()[-3000:]
    return inst, {m: v[0] for m, v in notes.items()}


def banned(inst):
    return "reached its quorum" in inst.logtext()


@pytest.mark.xfail(strict=True, reason=(
    "finding: a quorum vote is a bearer token: whoever holds a moderator's notice (their "
    "provider, a forwarder, anyone who reads that mailbox) votes as that moderator from any "
    "address, unauthenticated; the sender is never compared with the moderator or judged by "
    "authn.c. For unmask/ban that is the weakest level the design allows, for the gravest actions"))
def test_quorum_vote_needs_the_moderators_own_authenticated_mail(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    # the informer read m1's notice: votes with it from their own address, no DKIM, no A-R
    send_unauthenticated(inst.port, STRANGER, [f"demo-confirm+{token_in(notes[MODS[0]])}@lists.example"],
                         f"From: {STRANGER}\r\nSubject: approve\r\n\r\napprove\r\n".encode())
    assert wait_until(lambda: "approvals=1 of 2" in inst.logtext() or "ignored" in inst.logtext()
                      or "not authenticated" in inst.logtext(), 15), inst.logtext()[-2000:]
    assert "approvals=1 of 2" not in inst.logtext()


@pytest.mark.xfail(strict=True, reason=(
    "finding: a vote counts when the answer merely starts with the letters 'approve' "
    "(strncasecmp 7): 'Approve? No. I will not agree to this ban.' is counted as approval, as "
    "would be 'approvers should...'; 'vouch...' counts for a quorum too"))
def test_quorum_refusal_that_starts_with_approve_is_not_a_vote(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    for m in MODS[:2]:
        send(inst, f"From: {m}\r\nSubject: Re: ban\r\n\r\nApprove? No. I will not agree to this ban.\r\n",
             m, rcpt=f"demo-confirm+{token_in(notes[m])}@lists.example")
    assert wait_until(lambda: inst.logtext().count("quorum: list=demo") >= 2, 15), inst.logtext()[-2000:]
    time.sleep(0.5)
    assert not banned(inst) and "approvals=" not in inst.logtext()


def test_quorum_vote_replayed_counts_once(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    tok = token_in(notes[MODS[0]])
    for i in range(3):
        send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\napprove\r\n", MODS[0],
             rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    time.sleep(1.5)
    assert "approvals=2 of 2" not in inst.logtext() and not banned(inst)


def test_quorum_token_of_one_request_does_not_vote_on_another(make_instance, sink):
    """m1's token for the ban of bob, sent with the request of another ban: one vote at most, on bob."""
    inst, notes = ban_request(make_instance, sink)
    r = inst.ctl("member", "ban", "demo", ALICE, check=False)
    assert r.returncode == 3
    assert wait_until(lambda: len(to(sink, MODS[1], b"ban: ")) >= 2)
    tok = token_in(notes[MODS[1]])
    for m in (MODS[1], MODS[2]):
        send(inst, f"From: {m}\r\nSubject: Re\r\n\r\napprove\r\n", m, rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    time.sleep(1.5)
    assert not banned(inst)


# ---- the one-click endpoint ------------------------------------------------------------------------

def http_raw(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            out += d
        return out
    finally:
        s.close()


def one_click_tokens(raw):
    return re.findall(rb"unsubscribe/demo/([0-9a-f]{32})", raw) + re.findall(rb"demo-unsubscribe\+([0-9a-f]{32})@",
                                                                             raw)


def one_click_list(make_instance, sink, **settings):
    s = {"one_click_url": "https://lists.example/unsubscribe/"}
    s.update(settings)
    inst = make_instance(http=True, list_settings=s)
    send(inst, f"From: {ALICE}\r\nSubject: oc news\r\n\r\nOne-click news.\r\n", ALICE)
    toks = {}
    for w in (BOB, CAROL):
        got = wait_until(lambda w=w: to(sink, w, b"One-click news."))
        assert got, inst.logtext()[-2000:]
        toks[w] = one_click_tokens(got[0])[0].decode()
    return inst, toks


def members_of(inst):
    return inst.ctl("member", "ls", "demo").stdout


def test_one_click_answers_are_the_same_bytes_for_a_real_and_a_forged_token(make_instance, sink):
    inst, toks = one_click_list(make_instance, sink)
    real, forged = toks[CAROL], "0" * 32
    for method in ("GET", "HEAD"):
        a = http_raw(inst.http_port, f"{method} /unsubscribe/demo/{real} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        b = http_raw(inst.http_port, f"{method} /unsubscribe/demo/{forged} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert a.startswith(b"HTTP/1.1 200") and a == b, (a, b)
    body = b"List-Unsubscribe=One-Click"
    post = lambda t: http_raw(inst.http_port, f"POST /unsubscribe/demo/{t} HTTP/1.1\r\nHost: x\r\n"
                                              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    b = post(forged)
    a = post(real)
    assert a.startswith(b"HTTP/1.1 200") and a == b, (a, b)
    assert wait_until(lambda: CAROL not in members_of(inst))


def test_one_click_token_of_one_list_does_nothing_on_another(make_instance, sink):
    inst, toks = one_click_list(make_instance, sink)
    inst.ctl("list", "create", "other")
    inst.ctl("list", "set", "other", "one_click_url", "https://lists.example/unsubscribe/")
    inst.ctl("member", "add", "other", CAROL)
    body = b"List-Unsubscribe=One-Click"
    r = http_raw(inst.http_port, f"POST /unsubscribe/other/{toks[CAROL]} HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
                 .encode() + body)
    assert r.startswith(b"HTTP/1.1 200")
    assert inst.wait_log("a token that names no member")
    assert CAROL in inst.ctl("member", "ls", "other").stdout and CAROL in members_of(inst)


@pytest.mark.parametrize("req", [
    b"POST /unsubscribe/demo/%s HTTP/1.1\r\nContent-Length: -1\r\n\r\nList-Unsubscribe=One-Click",
    b"POST /unsubscribe/demo/%s HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\nList-Unsubscribe=One-Click",
    b"POST /unsubscribe/demo/%s%%00 HTTP/1.1\r\nContent-Length: 26\r\n\r\nList-Unsubscribe=One-Click",
    b"GET /unsubscribe/demo/%s HTTP/1.1\r\nContent-Length: 26\r\n\r\nList-Unsubscribe=One-Click",
    b"POST /unsubscribe/demo/%s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\nList-Unsubscribe=One-Click\r\n0\r\n\r\n",
])
def test_one_click_malformed_requests_unsubscribe_nobody(make_instance, sink, req):
    """Request smuggling and odd lengths: the member stays unless the request is a plain POST."""
    inst, toks = one_click_list(make_instance, sink)
    tok = toks[CAROL].encode()
    data = req.replace(b"%s", tok) if req.count(b"%s") else req
    r = http_raw(inst.http_port, data)
    assert r.startswith(b"HTTP/1.1 "), r
    time.sleep(1.5)
    assert CAROL in members_of(inst), r
    assert inst.proc.poll() is None


def test_one_click_token_never_in_the_archive_or_a_digest(make_instance, sink):
    """A copy kept for the archive or the digest must not carry one member's link: whoever reads
    it (`archive get`, a digest) could unsubscribe that member without a confirmation."""
    inst, toks = one_click_list(make_instance, sink)
    inst.ctl("member", "set", "demo", BOB, "digest", "on")
    time.sleep(1.1)                 # archive times are whole seconds
    inst.ctl("member", "add", "demo", "newbie@example.org")
    send(inst, f"From: {ALICE}\r\nSubject: oc two\r\n\r\nSecond one-click post.\r\n", ALICE)
    assert wait_until(lambda: to(sink, CAROL, b"Second one-click post."))
    theirs = set(toks.values()) | {one_click_tokens(to(sink, CAROL, b"Second one-click post.")[0])[0].decode()}
    ans = request(inst, sink, CAROL, "archive get 1\r\narchive get 2", b"is attached")
    inst.ctl("digest", "send", "demo")
    dig = wait_until(lambda: to(sink, BOB, b"multipart/digest"))
    assert dig, inst.logtext()[-2000:]
    for where, raw in (("archive answer", ans), ("digest", dig[0])):
        inner = raw.split(b"\r\n\r\n", 1)[1]
        leaked = {t.decode() for t in one_click_tokens(inner)} & theirs
        assert not leaked, f"{where} carries a member's one-click token"
    ans = request(inst, sink, "newbie@example.org", "archive get 1", b"archive")
    assert b"One-click news." not in ans


# ---- the archive and since_join --------------------------------------------------------------------

def test_archive_get_n_of_a_post_before_joining_is_refused(make_instance, sink):
    """`archive index` hides old posts from a newcomer (tested before); `archive get N` by number,
    counted up from 1, must too."""
    inst = pseud_list(make_instance)
    send(inst, f"From: {ALICE}\r\nSubject: history\r\n\r\nOld decisions of the cell.\r\n", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"Old decisions"))
    time.sleep(1.1)
    inst.ctl("member", "add", "demo", "newcomer@example.org")
    texts = "\r\n".join(f"archive get {n}" for n in range(1, 4))
    ans = request(inst, sink, "newcomer@example.org", texts, b"archive")
    assert b"Old decisions" not in ans
    # and after leaving and joining again, what was posted while away stays closed
    send(inst, f"From: {ALICE}\r\nSubject: after\r\n\r\nPosted while newcomer was in.\r\n", ALICE)
    assert wait_until(lambda: to(sink, "newcomer@example.org", b"Posted while newcomer"))
    inst.ctl("member", "rm", "demo", "newcomer@example.org")
    send(inst, f"From: {ALICE}\r\nSubject: away\r\n\r\nPosted while newcomer was away.\r\n", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"Posted while newcomer was away"))
    time.sleep(1.1)
    inst.ctl("member", "add", "demo", "newcomer@example.org")
    texts = "\r\n".join(f"archive get {n}" for n in range(1, 5))
    ans = request(inst, sink, "newcomer@example.org", texts, b"archive", n=2)
    assert b"Old decisions" not in ans and b"was away" not in ans


def test_archive_get_repeated_is_not_an_amplifier(make_instance, sink):
    """One mail to -request naming the same big post ten times: at most one copy in the answer."""
    inst = make_instance()
    big = ("x" * 76 + "\r\n") * 4000          # about 300 KB
    send(inst, f"From: {ALICE}\r\nSubject: big\r\n\r\nBIGPOST\r\n{big}", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"BIGPOST"))
    ans = request(inst, sink, BOB, "\r\n".join(["archive get 1"] * 10), b"is attached")
    assert ans.count(b"BIGPOST") <= 1, f"{ans.count(b'BIGPOST')} copies, {len(ans)} bytes for one request"
