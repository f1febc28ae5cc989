"""test_attacks6 - main as a hostile member, a stranger, an informer, a false moderator and
whoever holds a disk image or a backup would attack it (round 6).

Targets the earlier rounds left thin: look-alike and reserved pseudonyms, header injection
through display names and Subjects, the one-click endpoint, the archive and digest answers
(archive.since_join), quorum votes, VERP bounce tokens, mlistctl and the control socket, the
backup file, the log after a whole scenario, and the -request path as an amplifier.

Each test asserts the SAFE behaviour. An attack that works is marked
xfail(strict=True, reason="finding: ...") with the finding's words, so the suite stays green
and a fix shows up as XPASS. Findings open on the code this was written against (d7a29bd):
a protest ("I did not send this") releases a forged post or confirms a forged -request change
or subscription; the vouch answer tells a stranger who is a member; quorum votes are bearer
tokens and "Approve? No" counts; members.handle (clear) ties a public pseudonym to its role and
join time, and post_counts an anonymous member's posts per day, on a disk image without the
key; a weak passphrase opens a stolen backup offline; a pseudonym renamed twice never posts
again; look-alike (capital I for l, Unicode spaces, blank letters), retired and role-like
pseudonyms are taken; munged From takes any display name, bidi included; read-receipt headers
pass on real lists; the log names a pseudonym's key fingerprint; `mod show` writes escape
sequences to the operator's terminal; a footer line the relay must refuse is accepted; a
stranger's forged DSN makes the list probe members; strangers spend the instance's answer
budget and members without DKIM cannot post. All of them were fixed in the same session
(confirmwords, pseudnames, diskimage, budget, notices13): no test here is marked xfail any more,
each guards its fix.
"""
import json
import os
import re
import smtplib
import socket
import struct
import subprocess
import time

import pytest

from attackhelp import head_of, idle, msg_of, send, to
from conftest import MLISTCTL, Instance, send_unauthenticated, wait_until

LIST, LIST_REQ = "demo@lists.example", "demo-request@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
ROSA = "rosa.luxemburg@spartakus.example"
STRANGER = "dave@elsewhere.example"
MODS = ("m1@example.org", "m2@example.org", "m3@example.org")


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
    ("Red Fly", "Red FIy"),
    ("Willow", "WiIIow"),
    ("Red Fly", "Red F\u04cfy"),
    ("Mary Lane", "rnary Lane"),             # rn for m
    ("Red Fly", "Red\u00a0Fly"),             # NO-BREAK SPACE inside
    ("Red Fly", "Red Fly\u00a0"),
    ("Red Fly", "\u2002Red Fly"),
    ("Red Fly", "Red\u2002\u2002Fly"),
    ("Rosa", "R\u043esa"),                   # Cyrillic o (tested before; kept as the control)
    ("Paul", "PAUL"),
])
def test_look_alike_pseudonym_is_refused(make_instance, first, second):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    assert inst.ctl("member", "set", "demo", ALICE, "pseudonym", first).returncode == 0
    r = inst.ctl("member", "set", "demo", BOB, "pseudonym", second, check=False)
    # a space at either end or doubled is refused as such, whoever has the name
    said = "taken" in r.stderr or ("space" in r.stderr and second.strip() != second or "  " in
                                   re.sub(r"[\u00a0\u2000-\u200a]", " ", second))
    assert r.returncode == 1 and said, (second, r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("name", [
    "a\u202eb c",           # RIGHT-TO-LEFT OVERRIDE
    "Red \u2066Fly",         # LEFT-TO-RIGHT ISOLATE
    "Red\u200fFly",          # RIGHT-TO-LEFT MARK
    "Red\u061cFly",          # ARABIC LETTER MARK
    "Red\u00adFly",          # SOFT HYPHEN
    "Red\u2028Fly",          # LINE SEPARATOR
    ("Red\u3164Fly"),
    ("Red\u2800Fly"),
    ("Red\uffa0Fly"),
])
def test_invisible_and_bidi_pseudonyms_are_refused(make_instance, name):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", name, check=False)
    assert r.returncode == 1 and "pseudonym" in r.stderr, (repr(name), r.returncode, r.stderr)


def test_pseudonym_cannot_pose_as_an_anonymous_handle(make_instance):
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "identity.choices": "anonymous"},
                         start=False)
    r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Anonymous 3F9A2C", check=False)
    assert r.returncode == 1, r.stdout


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


def test_bidi_override_in_display_name_is_not_passed_raw_into_munged_from(make_instance, sink):
    """'\u202eomed aiv ecilA' shows as 'Alice via demo' reversed; the list adds ' via demo' after it,
    so a raw override could make the list's own ' via demo' read backwards."""
    inst = make_instance(list_settings={"identity.munge_from": "true"})
    send(inst, f"From: =?utf-8?b?4oCu?=Mallory <{ALICE}>\r\nSubject: bidi\r\n\r\nbidi body\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"bidi body"))
    assert got, inst.logtext()[-2000:]
    frm = str(msg_of(got[0])["From"])
    assert "\u202e" not in frm, repr(frm)


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


def test_quorum_vote_needs_the_moderators_own_authenticated_mail(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    # the informer read m1's notice: votes with it from their own address, no DKIM, no A-R
    send_unauthenticated(inst.port, STRANGER, [f"demo-confirm+{token_in(notes[MODS[0]])}@lists.example"],
                         f"From: {STRANGER}\r\nSubject: approve\r\n\r\napprove\r\n".encode())
    assert wait_until(lambda: "approvals=1 of 2" in inst.logtext() or "ignored" in inst.logtext()
                      or "not authenticated" in inst.logtext(), 15), inst.logtext()[-2000:]
    assert "approvals=1 of 2" not in inst.logtext()


def test_quorum_refusal_that_starts_with_approve_is_not_a_vote(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    for m in MODS[:2]:
        send(inst, f"From: {m}\r\nSubject: Re: ban\r\n\r\nApprove? No. I will not agree to this ban.\r\n",
             m, rcpt=f"demo-confirm+{token_in(notes[m])}@lists.example")
    assert wait_until(lambda: inst.logtext().count("quorum: list=demo") >= 2, 15), inst.logtext()[-2000:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert not banned(inst) and "approvals=" not in inst.logtext()


def test_quorum_vote_replayed_counts_once(make_instance, sink):
    inst, notes = ban_request(make_instance, sink)
    tok = token_in(notes[MODS[0]])
    for i in range(3):
        send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\napprove\r\n", MODS[0],
             rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
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
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
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
    b"POST /unsubscribe/demo/%s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1a\r\nList-Unsubscribe=One-Click\r\n0\r\n\r\n",
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


# ---- bounces and VERP tokens -----------------------------------------------------------------------

def scores(inst):
    return {m["address"]: m["bounce_score"] for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
            if "address" in m}


def dsn_for(rcpt):
    return ("From: MAILER-DAEMON@example.org\r\nSubject: failure\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n"
            "--R\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n\r\n--R--\r\n").encode()


def test_own_verp_token_cannot_bounce_another_member(make_instance, sink):
    """alice sees her own VERP token (Return-Path); a DSN to it naming bob counts for alice at most."""
    inst = make_instance(list_settings={"delivery.verp": "always", "bounce.score_limit": "1"})
    send(inst, f"From: {CAROL}\r\nSubject: verp\r\n\r\nVERP post.\r\n", CAROL)
    assert wait_until(lambda: to(sink, ALICE, b"VERP post.") and to(sink, BOB, b"VERP post."))
    env = [m[0] for m in sink.handler.messages if ALICE in m[1]][0]
    assert re.fullmatch(r"demo-bounces\+[0-9a-z]+@lists\.example", env), env
    send_unauthenticated(inst.port, "", [env], dsn_for(BOB))
    assert inst.wait_log("bounce: list=demo"), inst.logtext()[-2000:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert scores(inst).get(BOB, 0) == 0, scores(inst)
    assert "probe sent" not in inst.logtext() or not [m for m in sink.handler.messages[-3:] if BOB in m[1]
                                                       and b"bouncing" in m[2]]


# ---- mlistctl and the control socket ---------------------------------------------------------------

@pytest.mark.parametrize("addr", ["evil@example.org\nowner@example.org", "evil@example.org\r\nBcc: x@y.org",
                                  "evil@example.org\tx", " evil@example.org", "evil@example.org>",
                                  "<evil@example.org>, other@example.org", "a" * 5000 + "@example.org",
                                  "evil@" + "x" * 300 + ".org", "--name", "evil@exa\u200bmple.org"],
                         ids=["lf", "crlf-bcc", "tab", "space", "bracket", "two", "long-local", "long-domain",
                              "option", "zwsp"])
def test_member_add_refuses_an_address_that_is_two_or_a_header(make_instance, sink, addr):
    inst = make_instance(members=(ALICE,))
    r = inst.ctl("member", "add", "demo", addr, check=False)
    ls = inst.ctl("member", "ls", "demo").stdout
    assert r.returncode in (1, 2), (addr[:60], r.returncode, r.stdout)
    assert "evil" not in ls and "owner@example.org" not in ls and "other@" not in ls, ls
    assert inst.ctl("status", check=False).returncode == 0


@pytest.mark.parametrize("key,value", [
    ("footer", 'bye";\nposting = "open'),
    ("subject_prefix", '[demo]";\nposting = "open";\nx = "'),
    # finding 13 (fixed): a footer line over 998 octets is refused
    ("footer", "x" * 120000),
    ("subject_prefix", "[demo]\r\nBcc: leak@evil.example"),
], ids=["footer-quote", "prefix-quote", "footer-120k", "prefix-crlf"])
def test_list_set_cannot_inject_another_setting_or_a_header(make_instance, sink, key, value):
    inst = make_instance()
    r = inst.ctl("list", "set", "demo", key, value, check=False)
    assert inst.ctl("status", check=False).returncode == 0
    show = json.loads(inst.ctl("--json", "list", "show", "demo").stdout)["settings"]
    assert show["posting"] == "members", (r.returncode, show["posting"])
    text = open(os.path.join(inst.root, "lists", "demo.conf")).read()
    assert len(re.findall(r"(?m)^posting\s*=", text)) == 1, text[:800]
    if r.returncode == 0:
        send(inst, f"From: {ALICE}\r\nSubject: after set\r\n\r\nAfter the set.\r\n", ALICE)
        copy = wait_until(lambda: to(sink, BOB, b"After the set."))
        assert copy, inst.logtext()[-2000:]
        assert not re.search(rb"(?im)^Bcc:", head_of(copy[0]))
        assert not [m for m in sink.handler.messages if "leak@evil.example" in m[1]]


def control_raw(inst, data, wait=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    try:
        os.chdir(inst.state)
        s.connect("control")
    finally:
        os.chdir(cwd)
    s.settimeout(wait)
    try:
        s.sendall(data)
        try:
            return s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return b""
    finally:
        s.close()


@pytest.mark.parametrize("frame", [
    b"\xff\xff\xff\xff",                                          # 4 GiB announced
    struct.pack(">I", 12) + b"\x00member\x00ls",                  # the last string without its NUL
    struct.pack(">I", 1) + b"\x00",                               # no verb at all
    struct.pack(">I", 3) + b"\xff\x00\x00",                       # every flag bit, an empty verb
    struct.pack(">I", 20000) + b"\x00" + b"a\x00" * 9999 + b"\x00",   # ten thousand arguments
], ids=["4gib", "no-nul", "no-verb", "flags", "10k-args"])
def test_hostile_control_frames_do_not_take_the_queue_manager_down(make_instance, sink, frame):
    inst = make_instance(members=(ALICE, BOB))
    control_raw(inst, frame)
    assert inst.ctl("status", check=False).returncode == 0
    send(inst, f"From: {ALICE}\r\nSubject: still\r\n\r\nStill flowing.\r\n", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"Still flowing.")), inst.logtext()[-2000:]
    assert inst.proc.poll() is None


def test_emergency_ban_is_audited_and_announced(make_instance, sink):
    """--emergency (a flag bit any client of the socket may set) acts alone: it is recorded and
    every moderator is told."""
    inst = make_instance(members=(ALICE, BOB) + MODS[:2], start=False,
                         list_settings={"leadership.quorum_ban": "2"})
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    r = inst.ctl("--emergency", "member", "ban", "demo", BOB, check=False)
    assert r.returncode == 0, r.stderr
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    assert [e for e in entries if "emergency" in json.dumps(e)], entries
    assert wait_until(lambda: all(to(sink, m, b"mergency") for m in MODS[:2])), inst.logtext()[-2000:]


# ---- the -request path as a resource -----------------------------------------------------------------

def db_bytes(inst):
    """What the store keeps: its pages as a reader sees them (the WAL file's size is how many
    pages were rewritten since the last checkpoint, not how much is kept)."""
    import sqlite3
    db = sqlite3.connect(f"file:{os.path.join(inst.state, 'mlistd.db')}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()


def test_subscribe_flood_from_strangers_does_not_fill_the_store(make_instance, sink):
    """A stranger forges 60 `subscribe` mails from 60 addresses, each with a 60 KB introduction.
    Answers stop at the instance's budget; what the store keeps must stop there too."""
    from conftest import AUTHSERV_ID
    inst = make_instance(members=(ALICE,), extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; '
                         'answers_per_instance = 3; };')
    intro = ("I would like to join, comrades.\r\n" * 1900)[:60000]
    base = db_bytes(inst)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.unauthenticated = True
        for i in range(60):
            a = f"victim{i}@flood.example"
            s.sendmail(a, [LIST_REQ], f"From: {a}\r\nSubject: subscribe\r\n\r\nsubscribe\r\n{intro}\r\n".encode())
    assert wait_until(lambda: inst.logtext().count("request: list=demo") >= 60 or
                      inst.logtext().count("answers_per_instance reached") >= 50, 60), inst.logtext()[-2000:]
    time.sleep(1)
    grown = db_bytes(inst) - base
    answered = len([m for m in sink.handler.messages if any("flood.example" in r for r in m[1])])
    assert answered <= 3
    assert grown < 20 * 60000, f"the store grew by {grown} bytes for {answered} answers"


# ---- the backup file -------------------------------------------------------------------------------

def backup_wrapped(path):
    """What a thief reads in clear: (way, the wrapped key's parts, the backup's time)."""
    b = open(path, "rb").read()
    assert b[:8] == b"MLBACK1\n"
    way, wl = b[8], int.from_bytes(b[9:11], "little")
    w = b[11:11 + wl]
    when = int.from_bytes(b[11 + wl:19 + wl], "little")
    return way, w, when


def crack(wrapped, words):
    """An offline dictionary attack on a backup's wrapped master key: (word, key, seconds per guess)."""
    import nacl.bindings
    import nacl.pwhash
    ops, mem = int.from_bytes(wrapped[8:16], "little"), int.from_bytes(wrapped[16:24], "little")
    salt, nonce, ct = wrapped[24:40], wrapped[40:64], wrapped[64:]
    t0, tried = time.time(), 0
    for w in words:
        tried += 1
        k = nacl.pwhash.argon2id.kdf(32, w.encode(), salt, opslimit=ops, memlimit=mem)
        try:
            key = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, wrapped[:64], nonce, k)
            return w, key, (time.time() - t0) / tried
        except Exception:
            continue
    return None, None, (time.time() - t0) / tried


class WeakPassInstance(Instance):
    passphrase = "a"


def test_stolen_backup_and_a_guessed_passphrase(tmp_path, sink):
    try:
        inst = WeakPassInstance(str(tmp_path / "w"), sink, 'master_key = "passphrase";')
    except AssertionError as e:              # init refused the passphrase: the attack is held
        assert "passphrase" in str(e)
        return
    inst.ctl("list", "create", "demo")
    inst.start()
    assert inst.wait_log("locked: taking mail")
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "unlock"], input="a\n", capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: inst.control_listening() and not inst.ctl(
        "status", check=False, autostart=False).stdout.startswith("locked since"), 30)
    inst.ctl("member", "add", "demo", ROSA)
    path = str(tmp_path / "lists-2026-12-02.mlb")
    assert inst.ctl("backup", path).returncode == 0
    inst.stop()
    way, wrapped, when = backup_wrapped(path)
    assert abs(when - time.time()) < 600            # the moment of the backup is in clear too
    word, key, per_guess = crack(wrapped, ["123456", "password", "secret", "a"])
    print(f"offline guess: {per_guess:.3f} s each (ops={int.from_bytes(wrapped[8:16], 'little')}, "
          f"mem={int.from_bytes(wrapped[16:24], 'little') >> 20} MiB)")
    assert word is None, f"the passphrase {word!r} opened the backup's master key"


def test_backup_size_does_not_tell_the_member_count(make_instance, tmp_path):
    sizes = []
    for n in (3, 150):
        inst = make_instance(members=[f"m{i}@example.org" for i in range(n)])
        path = str(tmp_path / f"b{n}.mlb")
        assert inst.ctl("backup", path).returncode == 0
        sizes.append(os.path.getsize(path))
        inst.stop()
    print("backup sizes:", sizes)
    assert sizes[0] == sizes[1], sizes


# ---- the log after a whole scenario ----------------------------------------------------------------

def scenario(make_instance, sink, tmp_path):
    """A pseudonymous list where Rosa (pseudonym Night Owl) does everything a member can, and the
    relay refuses her once with a reply naming her address; (instance, her needles)."""
    inst = make_instance(members=(), start=False, http=True,
                         list_settings={"identity.mode": "pseudonym", "delivery.verp": "always",
                                        "one_click_url": "https://lists.example/unsubscribe/"})
    inst.ctl("member", "add", "demo", ROSA, "--name", "Rosa Luxemburg", "--pseudonym", "Night Owl")
    for m in (BOB, CAROL, MODS[0]):
        inst.ctl("member", "add", "demo", m)
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.start()
    send(inst, f"From: Rosa Luxemburg <{ROSA}>\r\nSubject: first\r\n\r\nThe first post.\r\n", ROSA)
    copy = wait_until(lambda: to(sink, BOB, b"The first post."))
    assert copy, inst.logtext()[-2000:]
    handle_addr = msg_of(copy[0])["From"].addresses[0].addr_spec
    # a private reply to her, a mail of hers to the owners, her commands
    send(inst, f"From: {BOB}\r\nSubject: private\r\n\r\nPrivately.\r\n", BOB, rcpt=handle_addr)
    assert wait_until(lambda: to(sink, ROSA, b"Privately."))
    send(inst, f"From: {ROSA}\r\nSubject: to owners\r\n\r\nOwners, listen.\r\n", ROSA, rcpt="demo-owner@lists.example")
    assert wait_until(lambda: to(sink, MODS[0], b"Owners, listen."))
    ans = request(inst, sink, ROSA, "who\r\narchive index\r\nset pseudonym Grey Kestrel", b"demo-confirm+")
    send(inst, f"From: {ROSA}\r\nSubject: Re\r\n\r\nyes\r\n", ROSA, rcpt=f"demo-confirm+{token_in(ans)}@lists.example")
    assert inst.wait_log("pseudonym set")
    # the relay refuses her copy, naming her (as real relays do), then a DSN to her VERP token
    sink.handler.reject_rcpt[ROSA] = f"550 5.1.1 <{ROSA}>: Recipient address rejected: Rosa Luxemburg unknown"
    send(inst, f"From: {BOB}\r\nSubject: second\r\n\r\nThe second post.\r\n", BOB)
    assert wait_until(lambda: to(sink, CAROL, b"The second post."))
    assert inst.wait_log("failed=1")
    del sink.handler.reject_rcpt[ROSA]
    send(inst, f"From: {CAROL}\r\nSubject: third\r\n\r\nThe third post.\r\n", CAROL)
    assert wait_until(lambda: to(sink, ROSA, b"The third post."))
    env = [m[0] for m in sink.handler.messages if ROSA in m[1] and b"The third post." in m[2]][0]
    send_unauthenticated(inst.port, "", [env], dsn_for(ROSA))
    send_unauthenticated(inst.port, "", ["demo-bounces@lists.example"], dsn_for(ROSA))
    assert wait_until(lambda: inst.logtext().count("bounce: list=demo") >= 3)
    # a moderator's discipline step naming her pseudonym
    send(inst, f"From: {MODS[0]}\r\nSubject: discipline Grey Kestrel\r\n\r\nRude.\r\n", MODS[0],
         rcpt="demo-owner+discipline@lists.example")
    ask = wait_until(lambda: to(sink, MODS[0], b"Confirm a discipline step"))
    assert ask, inst.logtext()[-2000:]
    send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\nyes\r\n", MODS[0],
         rcpt=f"demo-confirm+{token_in(ask[0])}@lists.example")
    assert wait_until(lambda: to(sink, ROSA, b"warn") or to(sink, ROSA, b"arning"))
    # her one-click link, used
    tok = one_click_tokens([d for d in to(sink, ROSA, b"The third post.")][0])[0].decode()
    http_raw(inst.http_port, f"POST /unsubscribe/demo/{tok} HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
             "List-Unsubscribe=One-Click".encode())
    assert wait_until(lambda: to(sink, ROSA, b"one-click"))
    inst.stop()
    needles = [ROSA, "rosa.luxemburg", "spartakus", "Rosa Luxemburg", "Luxemburg", "Night Owl", "Grey Kestrel",
               handle_addr.split("@")[0].split("+")[1]]
    return inst, needles, copy[0]


def test_log_after_a_whole_scenario_names_no_pseudonymous_member(make_instance, sink, tmp_path):
    inst, needles, _ = scenario(make_instance, sink, tmp_path)
    log = inst.logtext()
    found = [n for n in needles if n.lower() in log.lower()]
    assert found == [], [(n, log[log.lower().find(n.lower()) - 200:][:400]) for n in found]


def test_log_names_no_pseudonym_key_fingerprint(make_instance, sink, tmp_path):
    inst = pseud_list(make_instance)
    send(inst, f"From: {ALICE}\r\nSubject: fp\r\n\r\nFingerprint post.\r\n", ALICE)
    copy = wait_until(lambda: to(sink, BOB, b"Fingerprint post."))
    assert copy, inst.logtext()[-2000:]
    ac = re.sub(rb"\s+", b"", re.search(rb"(?ms)^Autocrypt:(.*?)\r\n(?=\S)", copy[0]).group(1))
    keydata = __import__("base64").b64decode(ac.split(b"keydata=")[1])
    # the v4 fingerprint: SHA-1 over 0x99, the length and the primary key packet's body
    tag, off = keydata[0], 1
    if tag & 0x40:
        first = keydata[1]
        if first < 192:
            ln, off = first, 2
        elif first < 224:
            ln, off = ((first - 192) << 8) + keydata[2] + 192, 3
        else:
            ln, off = int.from_bytes(keydata[2:6], "big"), 6
    else:
        lt = tag & 3
        ln = int.from_bytes(keydata[1:2 + (0, 1, 3)[lt]], "big") if lt < 3 else 0
        off = 2 + (0, 1, 3)[lt]
    import hashlib
    body = keydata[off:off + ln]
    fpr = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    log = inst.logtext()
    assert fpr not in log.upper() and fpr[-16:] not in log.upper(), \
        log[log.upper().find(fpr[-16:]) - 300:][:500]


# ---- vouching as a membership oracle ----------------------------------------------------------------

def normalized(raw):
    """The body of an answer with what differs per mail anyway (tokens, ids, dates, the address) masked."""
    body = raw.split(b"\r\n\r\n", 1)[1]
    body = re.sub(rb"[0-9a-f]{40}", b"TOKEN", body)
    body = re.sub(rb"=_[A-Za-z0-9_]+", b"BOUNDARY", body)
    body = re.sub(rb"app[12]@example\.net", b"APPLICANT", body)
    return body


def apply_naming(inst, sink, applicant, name):
    send(inst, f"From: {applicant}\r\nSubject: join\r\n\r\nsubscribe\r\nI am from the east branch.\r\n"
               f"vouch: {name}\r\n", applicant, rcpt=LIST_REQ)
    ans = wait_until(lambda: to(sink, applicant, b"join the list"))
    assert ans, inst.logtext()[-2000:]
    send(inst, "Subject: Re\r\n\r\nyes\r\n", applicant, rcpt=f"demo-confirm+{token_in(ans[0])}@lists.example")
    assert wait_until(lambda: len(to(sink, applicant)) >= 2, 15), inst.logtext()[-2000:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    return to(sink, applicant)[1:]


# finding (fixed by notices13's vouch text: no count): the applicant's answer used to say how many
# of the people they named are members, so any stranger learned who is on the list
@pytest.mark.parametrize("mode,member,nobody", [("real", BOB, "ghost@example.org"),
                                                ("pseudonym", "Blue Fox", "Grey Ghost")])
def test_vouch_answer_does_not_tell_the_applicant_who_is_a_member(make_instance, sink, mode, member, nobody):
    inst = make_instance(list_settings={"identity.mode": mode, "subscription": "vouch",
                                        "leadership.vouches_required": "1", "disclosure.roster": "none"},
                         members=(ALICE, BOB), start=False)
    if mode == "pseudonym":
        inst.ctl("member", "set", "demo", BOB, "pseudonym", "Blue Fox")
    inst.start()
    a = apply_naming(inst, sink, "app1@example.net", member)
    b = apply_naming(inst, sink, "app2@example.net", nobody)
    assert wait_until(lambda: to(sink, BOB, b"Will you vouch")), inst.logtext()[-2000:]
    assert [normalized(x) for x in a] == [normalized(x) for x in b], (a, b)


# ---- a pseudonym's reputation, taken over ------------------------------------------------------------

@pytest.mark.parametrize("how", ["rename", "leave"])
def test_retired_pseudonym_cannot_be_taken_by_another_member(make_instance, sink, how):
    inst = pseud_list(make_instance)
    inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Red Heron")
    send(inst, f"From: {ALICE}\r\nSubject: known\r\n\r\nA post the list remembers.\r\n", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"A post the list remembers."))
    if how == "rename":
        inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Quiet Anvil")
    else:
        inst.ctl("member", "rm", "demo", ALICE)
    r = inst.ctl("member", "set", "demo", CAROL, "pseudonym", "Red Heron", check=False)
    assert r.returncode == 1, r.stdout


# ---- races on the control socket and the endpoint ----------------------------------------------------

def test_parallel_member_add_of_one_address_makes_one_member(make_instance, sink):
    inst = make_instance(members=(ALICE,))
    procs = [subprocess.Popen([MLISTCTL, "-c", inst.conf, "member", "add", "demo", "Twin@Example.org"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    codes = [p.wait(60) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    ls = [m for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
          if m.get("address", "").lower() == "twin@example.org"]
    assert len(ls) == 1 and codes.count(0) >= 1, (codes, ls)
    send(inst, f"From: {ALICE}\r\nSubject: twin\r\n\r\nTwin post.\r\n", ALICE)
    assert wait_until(lambda: [m for m in sink.handler.messages if b"Twin post." in m[2] and
                               any(r.lower() == "twin@example.org" for r in m[1])])
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert len([r for m in sink.handler.messages if b"Twin post." in m[2] for r in m[1]
                if r.lower() == "twin@example.org"]) == 1


def test_one_click_double_post_removes_once_and_tells_once(make_instance, sink):
    import threading
    inst, toks = one_click_list(make_instance, sink)
    body = b"List-Unsubscribe=One-Click"
    req = f"POST /unsubscribe/demo/{toks[CAROL]} HTTP/1.1\r\nContent-Length: 26\r\n\r\n".encode() + body
    out = []
    ts = [threading.Thread(target=lambda: out.append(http_raw(inst.http_port, req))) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(o.startswith(b"HTTP/1.1 200") for o in out), out
    assert wait_until(lambda: CAROL not in members_of(inst))
    assert wait_until(lambda: to(sink, CAROL, b"one-click"))
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert len(to(sink, CAROL, b"one-click")) == 1


# ---- the operator's terminal -------------------------------------------------------------------------

ESC_SUBJ = "\x1b]0;owned\x07\x1b[8mhidden \x1b[2J"


def test_held_post_cannot_write_escape_sequences_to_the_operators_terminal(make_instance, sink):
    """A member's held post, read with `mlistctl mod ls` / `mod show`: no ESC byte reaches stdout
    (an OSC title, hidden text, a cleared screen; some terminals let OSC 52 write the clipboard)."""
    inst = make_instance(list_settings={"posting": "moderated"})
    raw = (f"From: {ALICE}\r\nSubject: {ESC_SUBJ}held\r\nContent-Type: text/plain; charset=utf-8\r\n"
           f"Content-Transfer-Encoding: 8bit\r\n\r\nBody {ESC_SUBJ} end.\r\n").encode()
    send(inst, raw, ALICE)
    assert inst.wait_log("reason=moderated"), inst.logtext()[-2000:]
    held = wait_until(lambda: json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout))
    outs = {"mod ls": inst.ctl("mod", "ls", "demo").stdout,
            "mod ls --json": inst.ctl("--json", "mod", "ls", "demo").stdout,
            "mod show": inst.ctl("mod", "show", "demo", held[0]["id"]).stdout}
    bad = [k for k, v in outs.items() if "\x1b" in v or "\x07" in v]
    where = {k: [ln for ln in outs[k].splitlines() if "\x1b" in ln][:3] for k in bad}
    assert bad == [], where


def test_archive_and_audit_output_carry_no_escape_sequences(make_instance, sink):
    inst = make_instance()
    raw = (f"From: {ALICE}\r\nSubject: {ESC_SUBJ}arch\r\n\r\nArchived body.\r\n").encode()
    send(inst, raw, ALICE)
    assert wait_until(lambda: to(sink, BOB, b"Archived body."))
    outs = {"archive ls": inst.ctl("archive", "ls", "demo").stdout,
            "audit": inst.ctl("audit", "demo").stdout, "status": inst.ctl("status").stdout}
    bad = [k for k, v in outs.items() if "\x1b" in v or "\x07" in v]
    assert bad == [], {k: outs[k][:600] for k in bad}


# ---- RCPT replies for tokens: no oracle ----------------------------------------------------------------

def rcpt_reply(port, rcpt):
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.ehlo("probe.example")
        s.mail("")
        t0 = time.time()
        code, msg = s.rcpt(rcpt)
        return code, msg, time.time() - t0


def test_rcpt_replies_are_the_same_for_real_and_forged_tokens(make_instance, sink):
    inst, toks = one_click_list(make_instance, sink, **{"identity.mode": "pseudonym", "delivery.verp": "always"})
    copy = to(sink, BOB, b"One-click news.")[0]
    handle = msg_of(copy)["From"].addresses[0].addr_spec.split("+p-")[1].split("@")[0]
    verp = [m[0] for m in sink.handler.messages if BOB in m[1]][0].split("+")[1].split("@")[0]
    pairs = [(f"demo+p-{handle}@lists.example", "demo+p-zzzzzzzzzz@lists.example"),
             (f"demo-unsubscribe+{toks[BOB]}@lists.example", f"demo-unsubscribe+{'0' * 32}@lists.example"),
             (f"demo-bounces+{verp}@lists.example", f"demo-bounces+{'0' * len(verp)}@lists.example"),
             (f"demo-confirm+{'1' * 40}@lists.example", f"demo-confirm+{'0' * 40}@lists.example")]
    for real, forged in pairs:
        a, b = rcpt_reply(inst.direct_port, real), rcpt_reply(inst.direct_port, forged)
        assert a[:2] == b[:2], (real, a, forged, b)
    # and the time a reply takes: smtpd never asks the store, so the medians agree
    import statistics
    for real, forged in pairs[:2]:
        ta = statistics.median(rcpt_reply(inst.direct_port, real)[2] for _ in range(15))
        tb = statistics.median(rcpt_reply(inst.direct_port, forged)[2] for _ in range(15))
        print(f"RCPT median {real.split('@')[0][:20]}: {ta * 1000:.2f} ms, forged {tb * 1000:.2f} ms")
        assert abs(ta - tb) < 0.02, (real, ta, tb)


# ---- headers that make a pseudonymous member's client write to the attacker directly --------------

TRAP = "trap@attacker.example"
TRAP_FIELDS = ["Reply-To", "Mail-Reply-To", "Mail-Followup-To", "Cc", "Bcc", "Disposition-Notification-To",
               "Return-Receipt-To", "X-Confirm-Reading-To", "Read-Receipt-To", "Errors-To",
               "Resent-From", "Resent-Reply-To"]


def trap_headers():
    return "".join(f"{f}: <{TRAP}>\r\n" for f in TRAP_FIELDS)


def trapped(raw):
    """Header fields of the copy (outer, or the protected ones inside) that name the trap."""
    return [ln for ln in re.split(rb"\r\n(?![ \t])", raw) if TRAP.encode() in ln and b":" in ln[:40]
            and not ln.startswith((b" ", b"\t"))]


def test_private_reply_to_a_pseudonym_cannot_make_her_answer_the_sender_directly(make_instance, sink):
    """bob writes to Rosa's pseudonym address asking, in every header a client obeys, for her
    answer (or a read receipt, or a reply-all) to go straight to his trap: her client would send
    it from her real address. The relayed copy must name no such address."""
    inst = make_instance(members=(), start=False, list_settings={"identity.mode": "pseudonym"})
    inst.ctl("member", "add", "demo", ROSA, "--pseudonym", "Night Owl")
    for m in (BOB, CAROL):
        inst.ctl("member", "add", "demo", m)
    inst.start()
    send(inst, f"From: {ROSA}\r\nSubject: first\r\n\r\nThe first post.\r\n", ROSA)
    copy = wait_until(lambda: to(sink, BOB, b"The first post."))
    assert copy, inst.logtext()[-2000:]
    handle_addr = msg_of(copy[0])["From"].addresses[0].addr_spec
    send(inst, f"From: {BOB}\r\nTo: <{handle_addr}>, <{TRAP}>\r\n{trap_headers()}Subject: private q\r\n\r\n"
               "Tell me privately.\r\n", BOB, rcpt=handle_addr)
    got = wait_until(lambda: to(sink, ROSA, b"Tell me privately."))
    assert got, inst.logtext()[-2000:]
    assert trapped(got[0]) == [], trapped(got[0])


def test_pseudonymous_post_cannot_ask_every_reader_to_write_to_the_attacker(make_instance, sink):
    """A post on a pseudonymous list with Cc/Mail-Followup-To/Disposition-Notification-To the
    attacker: each member's reply-all or read receipt would give the attacker their address."""
    inst = pseud_list(make_instance)
    send(inst, f"From: {ALICE}\r\nTo: <{LIST}>, <{TRAP}>\r\n{trap_headers()}Subject: trap post\r\n\r\n"
               "Reply to all, please.\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"Reply to all, please."))
    assert got, inst.logtext()[-2000:]
    assert trapped(got[0]) == [], trapped(got[0])


@pytest.mark.parametrize("roster", ["none"])
def test_real_list_with_a_hidden_roster_strips_read_receipt_requests(make_instance, sink, roster):
    """On a real-name list whose roster is hidden, a read receipt from each member would tell the
    poster every member's address: Disposition-Notification-To and its older forms must not pass."""
    inst = make_instance(list_settings={"disclosure.roster": roster})
    send(inst, f"From: {ALICE}\r\nDisposition-Notification-To: <{TRAP}>\r\nReturn-Receipt-To: <{TRAP}>\r\n"
               f"X-Confirm-Reading-To: <{TRAP}>\r\nSubject: receipts\r\n\r\nDid you read this?\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"Did you read this?"))
    assert got, inst.logtext()[-2000:]
    assert trapped(got[0]) == [], trapped(got[0])


# ---- what the moderators learn from a grave request ----------------------------------------------

@pytest.mark.parametrize("verb", [("member", "ban", "demo", BOB), ("member", "rm", "demo", BOB),
                                  ("unmask", "demo", "Blue Fox")], ids=["ban", "expel", "unmask"])
def test_grave_request_notice_names_no_address_on_a_pseudonymous_list(make_instance, sink, verb):
    """The operator names bob by address; the moderators asked to approve are told no address
    (an unmasking reveals it only once the quorum is reached)."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "leadership.quorum_roles": "4",
                                        "leadership.quorum_unmask": "2"},
                         members=(ALICE, BOB) + MODS[:2], start=False)
    inst.ctl("member", "set", "demo", BOB, "pseudonym", "Blue Fox")
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    r = inst.ctl(*verb, check=False)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    notes = [wait_until(lambda m=m: to(sink, m, b"demo-confirm+")) for m in MODS[:2]]
    assert all(notes), inst.logtext()[-2000:]
    for n in notes:
        assert b"bob@" not in n[0] and b"example.org>" not in n[0].split(b"\r\n\r\n", 1)[1], n[0][-1500:]


# ---- concurrent changes through the control socket -------------------------------------------------

def test_parallel_list_set_of_different_keys_loses_none(make_instance, sink):
    inst = make_instance(members=(ALICE,))
    changes = [("footer", "Footer A"), ("subject_prefix", "[x]"), ("max_posts_per_day", "7"),
               ("delivery.jitter_max", "0"), ("bounce.score_limit", "9"), ("max_message_size", "123456")]
    procs = [subprocess.Popen([MLISTCTL, "-c", inst.conf, "list", "set", "demo", k, v],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k, v in changes]
    res = [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    text = open(os.path.join(inst.root, "lists", "demo.conf")).read()
    for (k, v), (rc, out, err) in zip(changes, res):
        if rc == 0:
            want = f'"{v}"' if not v.isdigit() else v
            assert re.search(rf"(?m)^\s*{re.escape(k.split('.')[-1])}\s*=\s*{re.escape(want)}L?;", text), \
                (k, v, out, err, text[:1500])
        else:
            assert err, (k, rc)


# ---- the discipline ladder as a way round the quorum -------------------------------------------------

@pytest.mark.parametrize("visibility", ["roles", "hidden"])
def test_one_moderator_cannot_suspend_another_moderator_alone(make_instance, sink, visibility):
    """Four quick `discipline NAME` steps by one moderator would suspend (remove) a rival moderator
    and their role without quorum_expel or quorum_roles: the ladder must refuse a moderator. Where
    the leadership is known the request is refused at once; on a hidden one it is answered as
    for anyone (round 10b F1: the answer must not tell who moderates), the warnings reach her,
    the suspension is refused when confirmed."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "leadership.quorum_roles": "4",
                                        "leadership.quorum_expel": "2",
                                        "leadership.visibility": visibility,
                                        "leadership.discipline_days": "0"},
                         members=(ALICE, BOB) + MODS[:2], start=False)
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.ctl("member", "set", "demo", MODS[1], "pseudonym", "Steady Cedar")
    inst.start()
    for n in range(1, 5):
        send(inst, f"From: {MODS[0]}\r\nSubject: discipline Steady Cedar\r\n\r\nRude, again.\r\n", MODS[0],
             rcpt="demo-owner+discipline@lists.example")
        asked = b"That is a moderator" if visibility == "roles" else b"Confirm a discipline step"
        got = wait_until(lambda: len(to(sink, MODS[0], asked)) >= n and to(sink, MODS[0], asked))
        assert got, inst.logtext()[-2000:]
        if visibility == "hidden":
            send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\nconfirm\r\n", MODS[0],
                 rcpt=f"demo-confirm+{token_in(got[-1])}@lists.example")
            assert wait_until(lambda: len(to(sink, MODS[0], b"Your request to the list")) >= n)
    if visibility == "roles":
        assert to(sink, MODS[0], b"Confirm a discipline step") == []
    else:
        assert b"not done: Steady Cedar moderates" in to(sink, MODS[0], b"Your request to the list")[-1]
        assert to(sink, MODS[1], b"Suspended from the list") == []
    roles = [m for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout) if m.get("role") == "moderator"]
    assert len(roles) == 2


# ---- a failed delivery of a private message --------------------------------------------------------

def test_private_message_refused_by_her_server_tells_the_sender_nothing_of_her(make_instance, sink):
    """bob writes to Rosa's pseudonym address; her provider refuses it naming her address, as
    real ones do (and would bounce later, to the envelope sender). bob must receive nothing that
    names her, and the relayed copy's envelope sender must be the list's, not bob's."""
    inst = make_instance(members=(), start=False, list_settings={"identity.mode": "pseudonym"})
    inst.ctl("member", "add", "demo", ROSA, "--name", "Rosa Luxemburg", "--pseudonym", "Night Owl")
    for m in (BOB, CAROL):
        inst.ctl("member", "add", "demo", m)
    inst.start()
    send(inst, f"From: {ROSA}\r\nSubject: first\r\n\r\nThe first post.\r\n", ROSA)
    copy = wait_until(lambda: to(sink, BOB, b"The first post."))
    assert copy, inst.logtext()[-2000:]
    handle_addr = msg_of(copy[0])["From"].addresses[0].addr_spec
    send(inst, f"From: {BOB}\r\nSubject: ok\r\n\r\nFirst private.\r\n", BOB, rcpt=handle_addr)
    got = wait_until(lambda: [m for m in sink.handler.messages if ROSA in m[1] and b"First private." in m[2]])
    assert got, inst.logtext()[-2000:]
    assert BOB not in got[0][0] and "example.org" not in got[0][0], got[0][0]
    sink.handler.reject_rcpt[ROSA] = f"550 5.1.1 <{ROSA}>: mailbox of Rosa Luxemburg is full"
    n_bob = len(to(sink, BOB))
    send(inst, f"From: {BOB}\r\nSubject: again\r\n\r\nSecond private.\r\n", BOB, rcpt=handle_addr)
    assert inst.wait_log("failed=1"), inst.logtext()[-2000:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    for raw in to(sink, BOB)[n_bob:]:
        assert b"rosa" not in raw.lower() and b"spartakus" not in raw.lower(), raw[-1500:]


# ---- a hidden moderator's answer, with everything their client and server add ----------------------

MOD_TRACES = (f"Received: from m1-laptop.home.example ([203.0.113.77]) by mx.example.org with ESMTPSA;"
              f" Tue, 1 Dec 2026 10:00:00 +0000\r\n"
              f"X-Originating-IP: [203.0.113.77]\r\nMessage-ID: <c0ffee.1@m1-laptop.home.example>\r\n"
              f"User-Agent: Mozilla/5.0 Thunderbird/115.0\r\nDisposition-Notification-To: Mod One <{MODS[0]}>\r\n"
              f"Return-Receipt-To: <{MODS[0]}>\r\nReply-To: <{MODS[0]}>\r\nCc: <{MODS[0]}>\r\n"
              f"Organization: The Northern Cell of mod one\r\n")


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_hidden_moderators_answer_carries_nothing_of_the_moderator(make_instance, sink, mode):
    inst = make_instance(members=(ALICE, BOB) + MODS[:2], start=False, list_settings={"identity.mode": mode})
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    send(inst, f"From: {ALICE}\r\nSubject: who runs this\r\n\r\nWho runs this list?\r\n", ALICE,
         rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, MODS[0], b"Who runs this list?"))
    assert got, inst.logtext()[-2000:]
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1).decode()
    send(inst, f"From: Mod One <{MODS[0]}>\r\n{MOD_TRACES}Subject: Re: who runs this\r\n\r\nWe do, as a group.\r\n",
         MODS[0], rcpt=back)
    ans = wait_until(lambda: to(sink, ALICE, b"We do, as a group."))
    assert ans, inst.logtext()[-2000:]
    low = ans[0].lower()
    found = [n for n in (b"m1@", b"203.0.113.77", b"m1-laptop", b"home.example", b"mod one", b"northern cell")
             if n in low]
    assert found == [], (found, head_of(ans[0]).decode(errors="replace"))


# ---- a forged post, released by its victim's protest -------------------------------------------------

@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_victims_protest_does_not_release_a_forged_post(make_instance, sink, mode):
    inst = make_instance(list_settings={"identity.mode": mode})
    send_unauthenticated(inst.port, STRANGER, [LIST],
                         f"From: {BOB}\r\nSubject: I quit\r\n\r\nI am leaving, you are all informers.\r\n".encode())
    ask = wait_until(lambda: to(sink, BOB, b"received a post in your name"))
    assert ask, inst.logtext()[-2000:]
    tok = token_in(ask[0])
    send(inst, f"From: {BOB}\r\nSubject: Re: Confirm your post to the list\r\n\r\n"
               "I did NOT send this. Do not post it! Someone is forging my address.\r\n\r\n"
               "> The list demo@lists.example received a post in your name.\r\n", BOB,
         rcpt=f"demo-confirm+{tok}@lists.example")
    assert wait_until(lambda: "confirm: list=demo" in inst.logtext() or "confirmed" in inst.logtext(), 15)
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert to(sink, CAROL, b"you are all informers") == [], "the forgery went out on bob's protest"


@pytest.mark.parametrize("command,done", [
    ("unsubscribe", lambda inst: BOB not in members_of(inst)),
    ("set nomail on", lambda inst: re.search(r"bob@example.org\s+member\s+nomail", members_of(inst))),
    ("set pseudonym Police Informer", lambda inst: "pseudonym set" in inst.logtext()),
], ids=["unsubscribe", "nomail", "pseudonym"])
def test_victims_protest_does_not_confirm_a_forged_request(make_instance, sink, command, done):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"} if "pseudonym" in command else {})
    send_unauthenticated(inst.port, BOB, [LIST_REQ], f"From: {BOB}\r\nSubject: x\r\n\r\n{command}\r\n".encode())
    ask = wait_until(lambda: to(sink, BOB, b"demo-confirm+"))
    assert ask, inst.logtext()[-2000:]
    send(inst, f"From: {BOB}\r\nSubject: Re: Your request\r\n\r\nI did NOT ask for this. Someone forged it.\r\n",
         BOB, rcpt=f"demo-confirm+{token_in(ask[-1])}@lists.example")
    assert wait_until(lambda: "confirm: list=demo" in inst.logtext(), 15), inst.logtext()[-1500:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert not done(inst), inst.logtext()[-1500:]


def test_old_one_click_token_of_a_member_who_left_does_not_unsubscribe_the_next_member(make_instance, sink):
    """carol (the newest member) leaves; the next to join must not inherit her member number, or
    carol's old link (kept in any of her copies) removes the newcomer without a confirmation."""
    inst, toks = one_click_list(make_instance, sink)
    inst.ctl("member", "rm", "demo", CAROL)
    inst.ctl("member", "add", "demo", "newbie@example.org")
    r = http_raw(inst.http_port, f"POST /unsubscribe/demo/{toks[CAROL]} HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
                 .encode() + b"List-Unsubscribe=One-Click")
    assert r.startswith(b"HTTP/1.1 200")
    assert inst.wait_log("one-click unsubscription"), inst.logtext()[-1500:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert "newbie@example.org" in members_of(inst)


# ---- a disk image without the key: traffic analysis of an anonymous list ---------------------------

def test_disk_image_cannot_count_an_anonymous_members_posts(make_instance, sink):
    import sqlite3
    inst = make_instance(members=(ALICE, BOB, CAROL),
                         list_settings={"identity.mode": "anonymous", "max_posts_per_day": "5"})
    for who, subj in ((ALICE, "a1"), (ALICE, "a2"), (BOB, "b1")):
        send(inst, f"From: {who}\r\nSubject: {subj}\r\n\r\nAnonymous {subj}.\r\n", who)
    assert wait_until(lambda: len(to(sink, CAROL, b"Anonymous ")) >= 3), inst.logtext()[-2000:]
    inst.stop()
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    try:
        members = {bytes(h): i for i, h in db.execute("SELECT id, addr_hash FROM members")}
        counted = [(members.get(bytes(h)), n) for h, n in db.execute("SELECT addr_hash, n FROM post_counts")]
    finally:
        db.close()
    linked = [(m, n) for m, n in counted if m is not None]
    assert linked == [], f"member rows and their posts per day, read without the key: {linked}"


def test_disk_image_cannot_tie_a_pseudonym_to_its_role_and_join_time(make_instance, sink):
    import sqlite3
    inst = make_instance(members=(ALICE, BOB, MODS[0]), start=False,
                         list_settings={"identity.mode": "pseudonym", "leadership.visibility": "hidden"})
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.ctl("member", "set", "demo", MODS[0], "pseudonym", "Quiet Owl")
    inst.start()
    send(inst, f"From: {MODS[0]}\r\nSubject: as a member\r\n\r\nJust an opinion.\r\n", MODS[0])
    copy = wait_until(lambda: to(sink, BOB, b"Just an opinion."))
    assert copy, inst.logtext()[-2000:]
    handle = msg_of(copy[0])["From"].addresses[0].addr_spec.split("+p-")[1].split("@")[0]
    inst.stop()
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    try:
        found = []
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            for col in cols:
                rows = db.execute(f"SELECT * FROM {table} WHERE CAST({col} AS TEXT) = ?", (handle,)).fetchall()
                for r in rows:
                    row = dict(zip(cols, r))
                    found.append((table, {k: row[k] for k in ("role", "created") if k in row}))
    finally:
        db.close()
    assert not [f for f in found if f[1]], f"the public handle {handle} reads, without the key, as {found}"


# ---- old handles and tokens after a change of role or list -----------------------------------------

def test_demoted_moderator_cannot_answer_through_an_old_owner_handle(make_instance, sink):
    inst = make_instance(members=(ALICE, BOB) + MODS[:2], start=False,
                         list_settings={"leadership.quorum_roles": "4"})
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    send(inst, f"From: {ALICE}\r\nSubject: q\r\n\r\nA question for the moderators.\r\n", ALICE,
         rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, MODS[0], b"A question for the moderators."))
    assert got, inst.logtext()[-2000:]
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1).decode()
    inst.ctl("member", "set", "demo", MODS[0], "role", "member")
    send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\nAnswer from a former moderator.\r\n", MODS[0], rcpt=back)
    assert wait_until(lambda: len(to(sink, MODS[0])) >= 2, 15), inst.logtext()[-1500:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert to(sink, ALICE, b"Answer from a former moderator.") == []


def test_confirmation_token_of_one_list_does_not_release_on_another(make_instance, sink):
    inst = make_instance()
    inst.ctl("list", "create", "other")
    for m in (ALICE, BOB, CAROL):
        inst.ctl("member", "add", "other", m)
    send_unauthenticated(inst.port, STRANGER, [LIST],
                         f"From: {BOB}\r\nSubject: forged\r\n\r\nA forged post for demo.\r\n".encode())
    ask = wait_until(lambda: to(sink, BOB, b"received a post in your name"))
    assert ask, inst.logtext()[-2000:]
    tok = token_in(ask[0])
    send(inst, f"From: {BOB}\r\nSubject: Re\r\n\r\nyes\r\n", BOB, rcpt=f"other-confirm+{tok}@lists.example")
    assert inst.wait_log("token unknown") or inst.wait_log("other"), inst.logtext()[-1500:]
    time.sleep(1.5)
    assert to(sink, CAROL, b"A forged post for demo.") == []


def test_victims_protest_does_not_subscribe_them(make_instance, sink):
    victim = "victim@example.net"
    inst = make_instance()
    send_unauthenticated(inst.port, victim, [LIST_REQ],
                         f"From: {victim}\r\nSubject: subscribe\r\n\r\nsubscribe\r\nHello comrades.\r\n".encode())
    ask = wait_until(lambda: to(sink, victim, b"demo-confirm+"))
    assert ask, inst.logtext()[-2000:]
    send(inst, f"From: {victim}\r\nSubject: Re: Your request\r\n\r\nI never asked to join this list. Remove me.\r\n",
         victim, rcpt=f"demo-confirm+{token_in(ask[-1])}@lists.example")
    assert wait_until(lambda: "confirm: list=demo" in inst.logtext(), 15), inst.logtext()[-1500:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    assert victim not in members_of(inst)


def test_moderators_question_is_not_an_approval(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated"}, members=(ALICE, BOB, MODS[0]), start=False)
    inst.ctl("member", "set", "demo", MODS[0], "role", "moderator")
    inst.start()
    send(inst, f"From: {ALICE}\r\nSubject: held one\r\n\r\nSpam, frankly.\r\n", ALICE)
    note = wait_until(lambda: to(sink, MODS[0], b"waits for moderation"))
    assert note, inst.logtext()[-2000:]
    send(inst, f"From: {MODS[0]}\r\nSubject: Re\r\n\r\nApprove? No - discard it.\r\n", MODS[0],
         rcpt=f"demo-confirm+{token_in(note[0])}@lists.example")
    assert wait_until(lambda: "moderate: list=demo" in inst.logtext(), 15), inst.logtext()[-1500:]
    time.sleep(1)
    assert to(sink, BOB, b"Spam, frankly.") == []


def test_forged_dsn_from_a_stranger_does_not_count_against_members(make_instance, sink):
    inst = make_instance(list_settings={"bounce.score_limit": "1"})
    send(inst, f"From: {ALICE}\r\nSubject: hello\r\n\r\nA normal post.\r\n", ALICE)
    assert wait_until(lambda: to(sink, BOB, b"A normal post.") and to(sink, CAROL, b"A normal post."))
    before = len(sink.handler.messages)
    dsn = dsn_for(BOB).replace(b"Final-Recipient: rfc822; bob@example.org\r\n",
                               b"Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
                               b"Final-Recipient: rfc822; carol@example.org\r\n")
    send_unauthenticated(inst.port, "", ["demo-bounces@lists.example"], dsn)
    assert inst.wait_log("bounce: list=demo"), inst.logtext()[-1500:]
    assert wait_until(lambda: idle(inst), 15), inst.logtext()[-1500:]   # all handled, all at the sink
    probes = [m for m in sink.handler.messages[before:] if BOB in m[1] or CAROL in m[1]]
    assert probes == [] and scores(inst).get(BOB, 0) == 0, (len(probes), scores(inst))


def test_strangers_cannot_spend_the_members_confirmations(make_instance, sink):
    from conftest import AUTHSERV_ID
    inst = make_instance(members=(ALICE, BOB, CAROL), extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; '
                         'answers_per_instance = 5; };')
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.unauthenticated = True
        for i in range(8):
            a = f"nobody{i}@spend.example"
            s.sendmail(a, [LIST_REQ], f"From: {a}\r\nSubject: who\r\n\r\nwho\r\n".encode())
    assert inst.wait_log("answers_per_instance reached"), inst.logtext()[-1500:]
    # bob's provider does not sign: his real post needs his mailbox's confirmation
    send_unauthenticated(inst.port, BOB, [LIST], f"From: {BOB}\r\nSubject: mine\r\n\r\nReally mine.\r\n".encode())
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 1, 15), inst.logtext()[-1500:]
    assert wait_until(lambda: to(sink, BOB, b"received a post in your name"), 10), \
        "bob was never asked to confirm his own post"
