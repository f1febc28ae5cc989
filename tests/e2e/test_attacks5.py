"""test_attacks5 - a hostile member attacks the OpenPGP wiring (#17, #18) as merged.

The attacker is alice: a member of the list with her own key registered by mail,
an informer who wants to speak as another member, to get her key attached to
another member's membership, to stall the queue with hostile OpenPGP packets, or
to link a pseudonym to the member behind it. Each test asserts the SAFE
behaviour: a failing test is a finding (marked xfail(strict=True) with the
finding's words, so the suite stays green and a fix shows up as XPASS).

Findings fixed on merge: an encrypted post's protected From became the copy's From
(pgpin_open.c now keeps the authenticated outer From and Sender), and private mail to a
pseudonym's key inflated without a bound (openpgp_in.c: OPENPGP_PLAIN_MAX). Fixed since
(keyrepl): a reader of a member's incoming mail could register or replace that member's key
(forged `key`, token encrypted to the forger's key, answered unauthenticated). A first key now
needs an authenticated request or answer; a replacing key not signed by the old one waits
openpgp.replace_delay, and the old key's holder is told (pipeline/pgpreplace.c).
"""
import base64
import os
import re
import smtplib
import sqlite3

import pytest

from attackhelp import copies_or_idle, msg_of as head, send, to as copies
from conftest import send_unauthenticated, wait_until
from test_pgpin import (LIST, LIST_REQ, SECRET, Gpg, answer_to, crlf, encrypt, k9, list_key, mails,
                        payload, pgpmime, read, register, stored)

pytestmark = pytest.mark.skipif(not __import__("shutil").which("gpg"), reason="gpg is needed")

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
DAVE = "dave@elsewhere.example"


member_keys = stored  # how many members have a key, as the store says


@pytest.fixture
def attacker(make_instance, sink, tmp_path):
    """A list with alice (the attacker; her key registered by mail), bob and carol (no keys)."""
    def make(**settings):
        inst = make_instance(members=(ALICE, BOB, CAROL), list_settings=settings)
        g = Gpg(tmp_path / "gpg-alice", "Alice Informer", ALICE)
        register(inst, sink, g, "k9")
        assert inst.wait_log("a member's OpenPGP key registered result=ok")
        assert wait_until(lambda: stored(inst) == 1)
        return inst, g, list_key(inst, g)
    return make


def inner_as(g, frm, subject, text=SECRET):
    """The inner entity of an encrypted post whose protected From names frm, not its signer."""
    return crlf((f"Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\n"
                 f"From: {frm}\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
                 "Content-Transfer-Encoding: 7bit\r\n\r\n" + text + "\r\n").encode())


# ---- speaking as another member through the protected headers -----------------------------------

def test_protected_from_cannot_name_another_member_real_list(attacker, sink):
    """alice signs with her own key, but the encrypted part's protected From says Dave, a member
    at another provider: the copy must not come From dave (a header is a claim; the signature
    and the outer From are alice's, and no provider vouched for dave)."""
    inst, g, listfpr = attacker()
    inst.ctl("member", "add", "demo", DAVE)
    raw = pgpmime(g, encrypt(g, listfpr, inner_as(g, f"Dave Victim <{DAVE}>", "Dave says yes")),
                  msgid="impersonate")
    send(inst, raw, g.addr)
    assert inst.wait_log("kind=post"), inst.logtext()
    # refused whole (reason pgp-foreign-from), and alice told why: not a copy in dave's name,
    # nor one at all (the test passed on zero copies before it said so)
    assert "reason=openpgp-undecryptable" in inst.logtext(), inst.logtext()[-1500:]
    assert foreign_from_note(sink, ALICE, g), inst.logtext()[-1500:]
    assert not copies_or_idle(inst, lambda: copies(sink, CAROL, b"Dave says yes"), 5)
    assert not copies(sink, DAVE, b"Dave says yes")


def foreign_from_note(sink, rcpt, g=None):
    """the note to rcpt that her encrypted post's inner From is not hers (opened with g)"""
    return wait_until(lambda: [m for m in sink.handler.messages if rcpt in m[1] and
                               b"inside the encryption is not the sender" in read(g, m[2])])


def test_unsigned_encrypted_post_naming_a_member_elsewhere_asks_them(attacker, sink, tmp_path):
    """carol (no key) encrypts to the list's public key, unsigned, with a protected From of dave
    at another provider: nothing goes out From dave (at most dave is asked to confirm)."""
    inst, g, listfpr = attacker()
    inst.ctl("member", "add", "demo", DAVE)
    c = Gpg(tmp_path / "gpg-carol", "Carol Writer", CAROL)
    list_key(inst, c)
    armored = crlf(c.gpg("--trust-model", "always", "--armor", "--encrypt", "-r", listfpr,
                         inp=inner_as(c, f"Dave Victim <{DAVE}>", "Elsewhere words")).stdout)
    send(inst, pgpmime(c, armored, msgid="carolasdave"), CAROL)
    assert inst.wait_log("kind=post"), inst.logtext()
    # refused whole, carol (the authenticated outer From) told why; dave is not asked either
    assert "reason=openpgp-undecryptable" in inst.logtext(), inst.logtext()[-1500:]
    assert foreign_from_note(sink, CAROL), inst.logtext()[-1500:]
    assert not copies_or_idle(inst, lambda: copies(sink, BOB, b"Elsewhere words"), 5)
    assert not [m for m in sink.handler.messages if DAVE in m[1]]


def pseud_of(sink, rcpt, subject):
    got = wait_until(lambda: copies(sink, rcpt, subject.encode()))
    assert got, subject
    return head(copies(sink, rcpt, subject.encode())[0])["From"].addresses[0].addr_spec


def test_protected_from_cannot_borrow_another_members_pseudonym(attacker, sink):
    """On a pseudonymous list the pseudonym is chosen by who sent the post. alice's encrypted post
    whose protected From is bob's address must not go out under bob's pseudonym (it would be
    signed by bob's pseudonym key: a forgery every member's client shows as valid)."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {BOB}\r\nSubject: first plain\r\n\r\nOwn words.\r\n".encode(), BOB)
    send(inst, f"From: {ALICE}\r\nSubject: second plain\r\n\r\nOther words.\r\n".encode(), ALICE)
    bob_p = pseud_of(sink, CAROL, "first plain")
    alice_p = pseud_of(sink, CAROL, "second plain")
    assert bob_p != alice_p
    raw = pgpmime(g, encrypt(g, listfpr, inner_as(g, BOB, "Borrowed name")), msgid="borrow")
    send(inst, raw, g.addr)
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 3), inst.logtext()
    # refused whole (its inner From is not alice's), alice told: under no pseudonym at all
    assert "reason=openpgp-undecryptable" in inst.logtext(), inst.logtext()[-1500:]
    assert foreign_from_note(sink, ALICE, g), inst.logtext()[-1500:]
    assert not copies_or_idle(inst, lambda: copies(sink, CAROL, b"Borrowed name"), 5)


# ---- a key on someone else's membership ----------------------------------------------------------

def test_autocrypt_for_another_member_is_not_taken(attacker, sink, tmp_path):
    """alice posts with an Autocrypt header naming bob, its key a fresh one of hers with bob's
    UID (K-9 sends Autocrypt with every mail; the list merges expiry from it): bob must get no key,
    and his copies stay ones he can read, not ones encrypted to alice's key."""
    inst, g, listfpr = attacker()
    fake = Gpg(tmp_path / "gpg-fakebob", "Bob Builder", BOB)
    kd = base64.b64encode(fake.binary()).decode()
    folded = "\r\n ".join(kd[i:i + 76] for i in range(0, len(kd), 76))
    post = (f"From: {ALICE}\r\nTo: {LIST}\r\nSubject: gossip\r\n"
            f"Autocrypt: addr={BOB}; prefer-encrypt=mutual; keydata=\r\n {folded}\r\n"
            "\r\nFirst words.\r\n").encode()
    send(inst, post, ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"gossip")), inst.logtext()
    # a forged From: bob with alice's key for bob, straight to mlistd (no MTA vouching for it)
    send_unauthenticated(inst.direct_port, BOB, [LIST], post.replace(
        f"From: {ALICE}".encode(), f"From: {BOB}".encode()).replace(b"gossip", b"forged"))
    send(inst, f"From: {CAROL}\r\nSubject: later\r\n\r\nLater words.\r\n".encode(), CAROL)
    assert wait_until(lambda: copies(sink, BOB, b"later")), inst.logtext()
    assert member_keys(inst) == 1
    assert not any(b"multipart/encrypted" in c for c in copies(sink, BOB, b"later"))


def test_forged_key_request_token_answered_unauthenticated(attacker, sink, tmp_path):
    """alice forges `key` From bob straight to mlistd (no front MTA vouching), with a key of hers
    named bob. The list mails bob a token encrypted to alice's key; suppose alice reads it on
    the way (bob's provider, a forward, a shared mailbox) and answers it, again unauthenticated
    From bob: bob's membership must not get alice's key, and bob's copies must stay readable."""
    inst, g, listfpr = attacker()
    fake = Gpg(tmp_path / "gpg-fakebob", "Bob Builder", BOB)
    send_unauthenticated(inst.direct_port, BOB, [LIST_REQ], k9(fake))
    assert inst.wait_log("request: list=demo sender=unauthenticated")
    got = wait_until(lambda: [c for c in copies(sink, BOB, b"multipart/encrypted")
                              if fake.decrypt(payload(c))[0]])
    if got:
        plain = fake.decrypt(payload(got[0]))[1]
        tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@", plain)
        if tok:
            send_unauthenticated(inst.direct_port, BOB,
                                 [f"demo-confirm+{tok.group(1).decode()}@lists.example"],
                                 f"From: {BOB}\r\nSubject: Re: ...\r\n\r\nyes\r\n".encode())
    n = len(copies(sink, BOB, b""))
    send(inst, f"From: {CAROL}\r\nSubject: later\r\n\r\nLater words.\r\n".encode(), CAROL)
    # the post reaches bob (notices about the token may arrive first)
    assert wait_until(lambda: copies(sink, CAROL, b"Later words") and
                      (copies(sink, BOB, b"Later words") or
                       [c for c in copies(sink, BOB, b"multipart/encrypted")[n:]
                        if b"Later words" in fake.decrypt(payload(c))[1]])), inst.logtext()
    later = copies(sink, BOB, b"")[n:]
    assert not [c for c in later if b"multipart/encrypted" in c and fake.decrypt(payload(c))[0]], \
        "bob's copies are encrypted to alice's key"
    assert member_keys(inst) == 1, "alice's key registered on bob's membership"
    assert [c for c in later if b"Later words" in c]


def mailbox_reader_registers(inst, sink, fake):
    """What a reader of bob's incoming mail (his provider, a hop without TLS) can do: forge `key`
    From bob, unauthenticated, open the token encrypted to their own key, and answer it."""
    n = len(copies(sink, BOB, b"multipart/encrypted"))
    send_unauthenticated(inst.direct_port, BOB, [LIST_REQ], k9(fake))
    assert inst.wait_log("request: list=demo sender=unauthenticated")
    got = wait_until(lambda: [c for c in copies(sink, BOB, b"multipart/encrypted")[n:]
                              if fake.decrypt(payload(c))[0]])
    if not got:
        return
    tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@", fake.decrypt(payload(got[0]))[1])
    if tok:
        send_unauthenticated(inst.direct_port, BOB,
                             [f"demo-confirm+{tok.group(1).decode()}@lists.example"],
                             f"From: {BOB}\r\nSubject: Re: ...\r\n\r\nyes\r\n".encode())


def test_mailbox_reader_cannot_replace_a_registered_key(attacker, sink, tmp_path):
    """bob has a key, so his copies are safe from whoever reads his incoming mail. That reader
    must not be able to swap bob's key for their own (the old key never agrees to it)."""
    inst, g, listfpr = attacker()
    b = keyed_bob(inst, tmp_path)
    fake = Gpg(tmp_path / "gpg-fakebob", "Bob Builder", BOB)
    mailbox_reader_registers(inst, sink, fake)
    inst.wait_log("confirm: list=demo", timeout=10)
    n = len(copies(sink, BOB, b""))
    send(inst, f"From: {CAROL}\r\nSubject: later\r\n\r\nLater words.\r\n".encode(), CAROL)
    # the post reaches bob, for one of the two keys (notices may arrive first)
    assert wait_until(lambda: [c for c in copies(sink, BOB, b"multipart/encrypted")[n:]
                               if b"Later words" in b.decrypt(payload(c))[1] or
                               b"Later words" in fake.decrypt(payload(c))[1]]), inst.logtext()
    later = copies(sink, BOB, b"")[n:]
    assert not [c for c in later if b"multipart/encrypted" in c and fake.decrypt(payload(c))[0]], \
        "bob's copies are now encrypted to the reader's key"
    assert [c for c in later if b"Later words" in b.decrypt(payload(c))[1]], "bob cannot read"


@pytest.mark.parametrize("how", ["envelope", "reply-to", "sender"])
def test_forged_key_request_token_never_reaches_the_forger(attacker, sink, tmp_path, how):
    """alice forges `key` From bob, unauthenticated, but names herself where a list might answer:
    the envelope sender, a Reply-To, a Sender. No token mail (or any mail) may reach alice for it:
    with one she could register her key on bob's membership without ever seeing bob's mail."""
    inst, g, listfpr = attacker()
    fake = Gpg(tmp_path / "gpg-fakebob", "Bob Builder", BOB)
    raw = k9(fake)
    env = BOB
    if how == "envelope":
        env = ALICE
    elif how == "reply-to":
        raw = raw.replace(b"Subject: key", f"Reply-To: {ALICE}\r\nSubject: key".encode())
    else:
        raw = raw.replace(b"Subject: key", f"Sender: {ALICE}\r\nSubject: key".encode())
    n = len(copies(sink, ALICE, b""))
    send_unauthenticated(inst.direct_port, env, [LIST_REQ], raw)
    assert inst.wait_log("request: list=demo sender=unauthenticated")
    assert inst.wait_log("commands=key-openpgp", timeout=20)
    send(inst, f"From: {CAROL}\r\nSubject: later\r\n\r\nLater words.\r\n".encode(), CAROL)
    assert wait_until(lambda: copies(sink, CAROL, b"Later words")), inst.logtext()
    new = copies(sink, ALICE, b"")[n:]
    assert all(b"Later words" in c or
               b"multipart/encrypted" in c and not fake.decrypt(payload(c))[0]
               for c in new), [c[:300] for c in new]


def test_token_answered_from_another_address_registers_nothing_for_it(attacker, sink, tmp_path):
    """alice asks to register a key with a Reply-To naming bob: the encrypted token must go to
    alice's own mailbox only, and bob must end with no key."""
    inst, g, listfpr = attacker()
    h = Gpg(tmp_path / "gpg-alice2", "Alice Informer", ALICE)
    raw = k9(h).replace(b"Subject: key", f"Reply-To: {BOB}\r\nSubject: key".encode())
    n_bob = len(copies(sink, BOB, b""))
    send(inst, raw, ALICE, rcpt=LIST_REQ)
    assert wait_until(lambda: len([m for m in mails(sink, ALICE, b"multipart/encrypted")]) >= 2)
    assert len(copies(sink, BOB, b"")) == n_bob
    assert member_keys(inst) == 1


# ---- hostile OpenPGP packets and headers ---------------------------------------------------------

def normal_post_still_flows(inst, sink, subject, within=15):
    """bob's post reaches carol within `within` seconds (the figure is printed: pytest -s)"""
    import time
    t0 = time.monotonic()
    send(inst, f"From: {BOB}\r\nSubject: {subject}\r\n\r\nStill here.\r\n".encode(), BOB)
    assert wait_until(lambda: copies(sink, CAROL, subject.encode()), timeout=60), inst.logtext()
    took = time.monotonic() - t0
    print(f"{subject}: bob's post reached carol in {took:.2f} s")
    assert took < within, took


def test_compression_bomb_encrypted_to_the_list(attacker, sink):
    """256 MiB of zeros, compressed to a few hundred KiB and encrypted to the list: the worker must
    not hand 256 MiB copies out, and the queue must go on."""
    inst, g, listfpr = attacker()
    zeros = b"Content-Type: text/plain\r\nSubject: bomb\r\n\r\n" + b"A" * (256 << 20)
    armored = crlf(g.gpg("--trust-model", "always", "--armor", "--compress-algo", "zlib", "-z", "9",
                         "--encrypt", "-r", listfpr, "--sign", "-u", g.fpr, inp=zeros).stdout)
    assert len(armored) < 4 << 20
    send(inst, pgpmime(g, armored, msgid="bomb"), g.addr)
    normal_post_still_flows(inst, sink, "after the bomb")
    for c in copies(sink, CAROL, b""):
        assert len(c) < 64 << 20, len(c)
    assert inst.proc.poll() is None


def test_garbage_packets_encrypted_shape(attacker, sink):
    """A PGP MESSAGE block of random packets (bad tags, lengths past the end): refused, queue on."""
    inst, g, listfpr = attacker()
    junk = bytes([0xC1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) + os.urandom(4000) + \
        bytes([0xD2, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]) + b"\x00" * 100
    b64 = base64.encodebytes(junk).replace(b"\n", b"\r\n")
    armored = (b"-----BEGIN PGP MESSAGE-----\r\n\r\n" + b64 +
               b"=AAAA\r\n-----END PGP MESSAGE-----\r\n")
    send(inst, pgpmime(g, armored, msgid="junk"), g.addr)
    normal_post_still_flows(inst, sink, "after the junk")
    assert not copies(sink, CAROL, b"BEGIN PGP MESSAGE")
    assert inst.proc.poll() is None


def test_many_autocrypt_headers_and_a_huge_key(attacker, sink, tmp_path):
    """900 Autocrypt headers (under the 1,000-field cap) to -request, then one with 4 MB of
    keydata: each gets an answer or a refusal, the daemon lives, and a normal post still flows."""
    inst, g, listfpr = attacker()
    kd = base64.b64encode(g.binary()).decode()
    one = f"Autocrypt: addr={ALICE}; prefer-encrypt=mutual; keydata={kd}\r\n"
    raw = (f"From: {ALICE}\r\nTo: {LIST_REQ}\r\nSubject: key\r\n" + one * 900 +
           "\r\nkey\r\n").encode()
    send(inst, raw, ALICE, rcpt=LIST_REQ)
    big = base64.b64encode(os.urandom(3 << 20)).decode()
    raw = (f"From: {ALICE}\r\nTo: {LIST_REQ}\r\nSubject: key\r\n"
           f"Autocrypt: addr={ALICE}; keydata={big}\r\n\r\nkey\r\n").encode()
    try:
        send(inst, raw, ALICE, rcpt=LIST_REQ)
    except smtplib.SMTPException:
        pass                    # refused at the door is fine
    normal_post_still_flows(inst, sink, "after the headers")
    assert inst.proc.poll() is None


def test_many_user_ids_key_by_mail(attacker, sink, tmp_path):
    """A key with 100 UIDs (each self-signed) sent as a key: refused or reduced to one UID; the
    queue goes on and nothing the list sends names the other UIDs."""
    inst, g, listfpr = attacker()
    h = Gpg(tmp_path / "gpg-many", "Alice Informer", ALICE)
    for i in range(100):
        h.gpg("--quick-add-uid", h.fpr, f"Alias{i:03d} <alias{i}@example.net>")
    send(inst, k9(h), ALICE, rcpt=LIST_REQ)
    normal_post_still_flows(inst, sink, "after the uids")
    assert inst.proc.poll() is None
    for m in sink.handler.messages:
        assert b"Alias1" not in m[2] and b"alias1@" not in m[2]


# ---- linking a pseudonym to a member -------------------------------------------------------------

def test_pseudonym_signature_covers_subject_and_date(attacker, sink):
    """bob receives a pseudonym-signed copy. If its Subject and Date are outside what is signed,
    bob can send it on to carol as a fresh, validly signed post of that pseudonym with a new
    Subject. The signed entity must carry them (protected headers)."""
    from test_pseudonym_pgp import signed_parts
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: vote tonight\r\n\r\nYes to the motion.\r\n".encode(),
         ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"vote tonight")), inst.logtext()
    signed, sig, m = signed_parts(copies(sink, BOB, b"vote tonight")[0])
    inner = signed.split(b"\r\n\r\n", 1)[0]
    assert b"vote tonight" in inner, inner
    assert re.search(rb"(?im)^Date:", inner), inner


def test_keys_name_answer_does_not_carry_the_members_own_key(attacker, sink):
    """On a pseudonymous list alice posts (her pseudonym gets a key); bob asks `keys HANDLE`: the
    answer carries the pseudonym's key, and nothing of alice's own registered key."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: hello\r\n\r\nFirst words.\r\n".encode(), ALICE)
    got = wait_until(lambda: copies(sink, BOB, b"hello"))
    assert got, inst.logtext()
    frm = head(copies(sink, BOB, b"hello")[0])["From"]
    handle = re.search(r"\+p-([a-z0-9]+)@", str(frm)).group(1)
    name = frm.addresses[0].display_name.replace(" via demo", "")
    send(inst, f"From: {BOB}\r\nSubject: x\r\n\r\nkeys {name}\r\n".encode(), BOB, rcpt=LIST_REQ)
    ans = answer_to(sink, BOB, marker=b"The OpenPGP key of")
    assert handle.encode() in ans or name.encode() in ans
    for ident in g.identifiers():
        assert ident not in ans, ident


def test_pseudonym_copy_replayed_to_the_list_is_not_its_post(attacker, sink):
    """bob receives alice's pseudonymous, pseudonym-signed copy and sends it back to the list as it
    is (From the pseudonym's address): it must not be distributed again under that pseudonym."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: original words\r\n\r\nOnly once.\r\n".encode(), ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"original words")), inst.logtext()
    copy = copies(sink, BOB, b"original words")[0]
    pfrom = head(copy)["From"].addresses[0].addr_spec
    n = len(copies(sink, CAROL, b"original words"))
    send_unauthenticated(inst.direct_port, pfrom, [LIST], copy)
    send(inst, copy, BOB)
    # and with the list's own header fields taken off, as a careful attacker would
    h, b = copy.split(b"\r\n\r\n", 1)
    keep = re.split(rb"\r\n(?![ \t])", h)
    keep = [f for f in keep if not re.match(rb"(?i)(list-|x-loop|dkim-signature|precedence|"
                                            rb"mlist-|received|authentication-results|arc-)", f)]
    bare = b"\r\n".join(keep) + b"\r\n\r\n" + b
    send_unauthenticated(inst.direct_port, pfrom, [LIST], bare)
    send(inst, bare, pfrom)
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 5 or
                      len(copies(sink, CAROL, b"original words")) > n, timeout=20)
    copies_or_idle(inst, lambda: len(copies(sink, CAROL, b"original words")) > n, 5)
    for c in copies(sink, CAROL, b"original words")[n:]:
        assert head(c)["From"].addresses[0].addr_spec != pfrom, "replayed under the pseudonym"


# ---- the membership oracle ---------------------------------------------------

def test_keys_name_answer_same_for_member_pseudonym_and_nobody_to_outsider(attacker, sink):
    """An outsider asks `keys NAME` for a pseudonym that posted and for one that does not exist:
    one text for both."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: hi\r\n\r\nWords.\r\n".encode(), ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"hi")), inst.logtext()
    name = head(copies(sink, BOB, b"hi")[0])["From"].addresses[0].display_name
    name = name.replace(" via demo", "")
    out = "outsider@example.net"
    send(inst, f"From: {out}\r\nSubject: x\r\n\r\nkeys {name}\r\n".encode(), out, rcpt=LIST_REQ)
    a1 = answer_to(sink, out, marker=b"Your request")
    send(inst, f"From: {out}\r\nSubject: x\r\n\r\nkeys Nobody Atall\r\n".encode(), out,
         rcpt=LIST_REQ)
    a2 = answer_to(sink, out, 2, marker=b"Your request")

    def body(r):
        b = r.split(b"\r\n\r\n", 1)[1]
        # the list key's signature (#18) differs as the signed bytes do; its size does not
        b = re.sub(rb"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----",
                   lambda m: b"SIG%d" % len(m.group(0)), b, flags=re.S)
        # and it covers the answer's Date and Message-ID (protected headers), as the outer do
        b = re.sub(rb"(Date|Message-ID): [^\r\n]+", rb"\1: X", b)
        return re.sub(rb"boundary=\"?[^\"\r\n]+|--[=_A-Za-z0-9.-]{8,}", b"B", b).replace(
            name.encode(), b"N").replace(b"Nobody Atall", b"N")

    assert re.sub(rb"\s+", b" ", body(a1)) == re.sub(rb"\s+", b" ", body(a2))


# ---- what an encrypted copy says about its author's key ------------------------------------------

def keyed_bob(inst, tmp_path):
    b = Gpg(tmp_path / "gpg-bob", "Bob Builder", BOB)
    path = tmp_path / "bob.asc"
    path.write_bytes(b.armored())
    r = inst.ctl("member", "set", "demo", BOB, "openpgp", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    return b


def test_encrypted_copy_names_no_key_of_the_pseudonymous_author(attacker, sink, tmp_path):
    """alice posts encrypted and signed with her own key on a pseudonymous list; bob (keyed) gets
    an encrypted copy. Neither its packets (PKESKs, the signature's issuer) nor its plaintext may
    carry any of alice's key IDs: bob could match them against the keyservers."""
    from test_pgpin import INBOUND
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    b = keyed_bob(inst, tmp_path)
    send(inst, INBOUND["6.2"](g, listfpr, "Quiet plans"), g.addr)
    assert wait_until(lambda: copies(sink, BOB, b"multipart/encrypted") and
                      [c for c in copies(sink, BOB, b"multipart/encrypted")
                       if b"Quiet plans" in b.decrypt(payload(c))[1]]), inst.logtext()
    c = [c for c in copies(sink, BOB, b"multipart/encrypted")
         if b"Quiet plans" in b.decrypt(payload(c))[1]][0]
    pk = b.gpg("--list-packets", inp=payload(c), check=False)
    listing = pk.stdout + pk.stderr
    plain = b.decrypt(payload(c))[1]
    assert SECRET.encode() in plain
    for ident in g.identifiers(name=False):
        assert ident not in listing, (ident, listing[:1500])
        assert ident not in plain and ident not in c, ident
    ids = {bytes.fromhex(f[-16:]) for f in g.subfprs}
    for i in ids:
        assert i not in plain, "a binary key ID of alice's in the plaintext"


# ---- the parser pool under hostile load ----------------------------------------------------------

def bomb(g, listfpr, n):
    zeros = b"Content-Type: text/plain\r\nSubject: bomb\r\n\r\n" + b"A" * (256 << 20)
    armored = crlf(g.gpg("--trust-model", "always", "--armor", "--compress-algo", "zlib", "-z", "9",
                         "--encrypt", "-r", listfpr, inp=zeros).stdout)
    return [pgpmime(g, armored, msgid=f"bomb{i}") for i in range(n)]


def test_bombs_in_every_worker_do_not_stall_a_normal_post(attacker, sink):
    """Eight compression bombs at once (twice the parser pool), then bob's normal post: his post
    is distributed within 30 s, and every bomb is refused."""
    import time
    inst, g, listfpr = attacker()
    raws = bomb(g, listfpr, 8)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        for r in raws:
            s.sendmail(ALICE, [LIST], r)
    t0 = time.monotonic()
    send(inst, f"From: {BOB}\r\nSubject: meanwhile\r\n\r\nStill here.\r\n".encode(), BOB)
    assert wait_until(lambda: copies(sink, CAROL, b"meanwhile"), timeout=90), inst.logtext()
    took = time.monotonic() - t0
    assert wait_until(lambda: inst.logtext().count("openpgp-undecryptable") +
                      inst.logtext().count("reason=openpgp") >= 8, timeout=120), inst.logtext()
    print(f"normal post after 8 bombs: {took:.1f} s")
    assert took < 30, took


def test_autocrypt_flood_on_a_post_does_not_stall_the_queue(attacker, sink):
    """A post to the list with 900 Autocrypt headers, each carrying alice's key (the list merges
    a newer expiry from Autocrypt): distributed or refused quickly; bob's post after it flows."""
    import time
    inst, g, listfpr = attacker()
    kd = base64.b64encode(g.binary()).decode()
    one = f"Autocrypt: addr={ALICE}; prefer-encrypt=mutual; keydata={kd}\r\n"
    raw = (f"From: {ALICE}\r\nTo: {LIST}\r\nSubject: flood\r\n" + one * 900 +
           "\r\nWords.\r\n").encode()
    t0 = time.monotonic()
    send(inst, raw, ALICE)
    send(inst, f"From: {BOB}\r\nSubject: after flood\r\n\r\nStill here.\r\n".encode(), BOB)
    assert wait_until(lambda: copies(sink, CAROL, b"after flood"), timeout=90), inst.logtext()
    took = time.monotonic() - t0
    print(f"normal post after a 900-Autocrypt post: {took:.1f} s")
    assert took < 10, took
    for c in copies(sink, CAROL, b"flood"):
        assert b"keydata" not in c


def test_unsigned_encrypted_post_with_protected_from_of_another(attacker, sink, tmp_path):
    """carol has no key at all: she takes the list's public key (the keys answer gives it to
    anyone) and sends an encrypted, unsigned post whose protected From is bob. Both are at
    example.org (one provider, as on many activist lists): the provider's DMARC pass covers
    carol's outer From, and the list takes it as vouching for the inner bob too."""
    inst, g, listfpr = attacker()
    c = Gpg(tmp_path / "gpg-carol", "Carol Writer", CAROL)
    list_key(inst, c)
    armored = crlf(c.gpg("--trust-model", "always", "--armor", "--encrypt", "-r", listfpr,
                         inp=inner_as(c, f"Bob Builder <{BOB}>", "Resign now")).stdout)
    raw = pgpmime(c, armored, msgid="carolasbob")
    send(inst, raw, CAROL)
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 1), inst.logtext()
    copies_or_idle(inst, lambda: copies(sink, CAROL, b"Resign now"), 8)
    got = copies(sink, CAROL, b"Resign now")
    for cp in got:
        assert BOB not in str(head(cp)["From"]), head(cp)["From"]


# ---- the backup, a pseudonym key's linkability, discipline by mail -------------------------------

def test_backup_names_no_registered_key(attacker, sink, tmp_path):
    """A backup of a pseudonymous list whose member registered a key by mail: the backup file (the
    thing that gets copied to a USB stick and lost) carries no key ID, fingerprint or UID name."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: before backup\r\n\r\nWords.\r\n".encode(), ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"before backup")), inst.logtext()
    path = str(tmp_path / "a.backup")
    r = inst.ctl("backup", path, check=False)
    if r.returncode != 0:
        pytest.skip("backup needs another master key setup: " + r.stdout + r.stderr)
    data = open(path, "rb").read()
    assert len(data) > 1000
    for ident in g.identifiers() + [ALICE.encode(), g.binary()[:64]]:
        assert ident not in data, ident


def pseud_key(copy):
    from test_pseudonym_pgp import autocrypt_key
    return autocrypt_key(head(copy))[1]


def key_created(g, key):
    out = g.gpg("--with-colons", "--show-keys", inp=key).stdout.decode()
    return int(next(ln.split(":")[5] for ln in out.splitlines() if ln.startswith("pub:")))


def test_pseudonym_keys_unlinkable_across_lists_and_not_dated_by_join(attacker, sink, tmp_path):
    """alice is on two pseudonymous lists: her two pseudonyms' keys differ; neither key's creation
    time is her join time (which the audit log's `admit member #N` dates) rather than her post."""
    import time
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    inst.ctl("list", "create", "other")
    inst.ctl("list", "set", "other", "identity.mode", "pseudonym")
    inst.ctl("member", "add", "other", ALICE)
    inst.ctl("member", "add", "other", "dave@example.org")
    joined = time.time()
    time.sleep(3)
    send(inst, f"From: {ALICE}\r\nSubject: on demo\r\n\r\nWords.\r\n".encode(), ALICE)
    send(inst, f"From: {ALICE}\r\nSubject: on other\r\n\r\nWords.\r\n".encode(), ALICE,
         rcpt="other@lists.example")
    assert wait_until(lambda: copies(sink, BOB, b"on demo")), inst.logtext()
    assert wait_until(lambda: copies(sink, "dave@example.org", b"on other")), inst.logtext()
    k1 = pseud_key(copies(sink, BOB, b"on demo")[0])
    k2 = pseud_key(copies(sink, "dave@example.org", b"on other")[0])
    assert k1 != k2
    # the primary key packet's body after the header: different key material
    assert k1[10:60] != k2[10:60]
    for k in (k1, k2):
        assert key_created(g, k) > joined + 1, "the pseudonym's key is dated by the join"
        for ident in g.identifiers():
            assert ident not in k


def test_discipline_by_a_member_same_answer_for_member_moderator_nobody(attacker, sink):
    """alice (a member, authenticated) writes `discipline NAME` naming a member, a moderator and
    nobody: one text each time, and nothing happens."""
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    inst.ctl("member", "set", "demo", CAROL, "role", "moderator")
    disc = "demo-owner+discipline@lists.example"
    got = []
    for i, name in enumerate((BOB, CAROL, "nobody@example.org")):
        send(inst, f"From: {ALICE}\r\nSubject: discipline {name}\r\n\r\nspam\r\n".encode(), ALICE,
             rcpt=disc)
        assert wait_until(lambda: inst.logtext().count("discipline: list=demo") > i), inst.logtext()
    copies_or_idle(inst, lambda: len(read_all(g, sink)) >= 3, 5)
    texts = read_all(g, sink)
    lines = [ln.split("discipline: ", 1)[1] for ln in inst.logtext().splitlines()
             if "discipline: list=demo" in ln]
    assert len(set(lines)) == 1, lines
    if not texts:
        return                          # silence each time is one answer too
    norm = [re.sub(rb"\s+", b" ", re.sub(rb"[0-9a-f]{40}|boundary=\"?[^\"\r\n]+|--[A-Za-z0-9]{20,}"
                                         rb"|Date: [^\r]*|Message-ID: [^\r]*", b"X", t)
                   .replace(BOB.encode(), b"N").replace(CAROL.encode(), b"N")
                   .replace(b"nobody@example.org", b"N")) for t in texts]
    assert len(norm) == 3 and norm[0] == norm[1] == norm[2], norm
    assert "discipline" not in json_audit(inst)


def read_all(g, sink):
    """alice's answers from the discipline address (opened if encrypted to her), oldest first"""
    from test_pgpin import read
    out = []
    for raw in mails(sink, ALICE):
        t = read(g, raw)
        if b"discipline" in t.lower() and b"List-Id" not in raw.split(b"\r\n\r\n", 1)[0]:
            out.append(t.split(b"\r\n\r\n", 1)[-1])
    return out


def json_audit(inst):
    r = inst.ctl("audit", "demo", check=False)
    return r.stdout


# ---- private mail to a pseudonym, encrypted to its key -------------------------------------------

def test_private_mail_to_pseudonym_key_cannot_claim_another_sender(attacker, sink, tmp_path):
    """bob writes privately to alice's pseudonym, encrypted to the pseudonym's own key (from its
    Autocrypt header), with a protected From naming carol: alice must not see it as carol's
    (carol's pseudonym) - the relay judges the sender on the mail as it came."""
    from test_pgpin import read
    from test_pseudonym_pgp import autocrypt_key
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {CAROL}\r\nSubject: first voice\r\n\r\nWords.\r\n".encode(), CAROL)
    send(inst, f"From: {ALICE}\r\nSubject: second voice\r\n\r\nWords.\r\n".encode(), ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"first voice") and
                      copies(sink, BOB, b"second voice")), inst.logtext()
    carol_p = head(copies(sink, BOB, b"first voice")[0])["From"].addresses[0].addr_spec
    am = head(copies(sink, BOB, b"second voice")[0])
    alice_p, key = autocrypt_key(am)
    b = Gpg(tmp_path / "gpg-bob", "Bob Builder", BOB)
    b.gpg("--import", inp=key)
    inner = crlf((f"Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\n"
                  f"From: {carol_p}\r\nTo: {alice_p}\r\nSubject: from a friend\r\n\r\n"
                  "Meet me at the station.\r\n").encode())
    armored = crlf(b.gpg("--trust-model", "always", "--armor", "--encrypt", "-r", alice_p,
                         inp=inner).stdout)
    raw = (f"From: {BOB}\r\nTo: {alice_p}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
           "boundary=\"e1\"\r\n\r\n--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
           "Version: 1\r\n\r\n--e1\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + \
        armored + b"\r\n--e1--\r\n"
    send(inst, raw, BOB, rcpt=alice_p)
    assert inst.wait_log("kind=private"), inst.logtext()
    got = wait_until(lambda: [t for t in (read(g, r) for r in mails(sink, ALICE))
                              if b"Meet me at the station" in t], timeout=10)
    assert got, "the private mail was not passed on at all: " + inst.logtext()[-2000:]
    for t in got:
        hd = t.split(b"\r\n\r\n", 1)[0]
        assert carol_p.encode() not in hd, hd
        assert CAROL.encode() not in t and BOB.encode() not in t


def test_key_named_for_another_member_lands_on_the_senders_own_membership(attacker, sink, tmp_path):
    """alice, authenticated, sends `key` with an Autocrypt header addr=bob and a key whose UID is
    bob's; she opens the token (it is encrypted to her key) and answers it. Whatever is
    registered is hers: bob's copies must not become encrypted to that key."""
    inst, g, listfpr = attacker()
    fake = Gpg(tmp_path / "gpg-fakebob", "Bob Builder", BOB)
    raw = k9(fake).replace(f"From: Bob Builder <{BOB}>".encode(), f"From: {ALICE}".encode())
    assert f"addr={BOB}".encode() in raw and f"From: {ALICE}".encode() in raw
    send(inst, raw, ALICE, rcpt=LIST_REQ)
    assert wait_until(lambda: inst.logtext().count("commands=key-openpgp") == 2), inst.logtext()
    got = copies_or_idle(inst, lambda: [c for c in mails(sink, ALICE, b"multipart/encrypted")
                                        if fake.decrypt(payload(c))[0]], 5)
    if got:
        tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@", fake.decrypt(payload(got[0]))[1])
        assert tok
        send(inst, f"From: {ALICE}\r\nSubject: Re: ...\r\n\r\nyes\r\n".encode(), ALICE,
             rcpt=f"demo-confirm+{tok.group(1).decode()}@lists.example")
        inst.wait_log("a member's OpenPGP key registered result=ok")
        assert wait_until(lambda: inst.logtext().count("key registered result=ok") == 2)
    n = len(copies(sink, BOB, b""))
    send(inst, f"From: {CAROL}\r\nSubject: later\r\n\r\nLater words.\r\n".encode(), CAROL)
    assert wait_until(lambda: len(copies(sink, BOB, b"")) > n), inst.logtext()
    assert copies(sink, BOB, b"Later words"), "bob's copy is no longer clear"
    assert member_keys(inst) == 1


def test_outsider_encrypted_post_with_a_members_protected_from(attacker, sink, tmp_path):
    """An outsider, authenticated for their own domain, encrypts to the list's public key a post
    whose protected From is bob (a member): it must not be distributed, least of all From bob."""
    inst, g, listfpr = attacker()
    out = "informer@example.net"
    o = Gpg(tmp_path / "gpg-out", "Out Sider", out)
    list_key(inst, o)
    armored = crlf(o.gpg("--trust-model", "always", "--armor", "--encrypt", "-r", listfpr,
                         inp=inner_as(o, f"Bob Builder <{BOB}>", "Outside words")).stdout)
    send(inst, pgpmime(o, armored, msgid="outsider"), out)
    assert inst.wait_log("kind=post"), inst.logtext()
    copies_or_idle(inst, lambda: copies(sink, CAROL, b"Outside words"), 5)
    got = copies(sink, CAROL, b"Outside words")
    assert not got, head(got[0])["From"]


def test_old_copy_of_a_key_does_not_shorten_or_undo_its_expiry(attacker, sink, tmp_path):
    """alice's key is registered with 1 year, then extended to 3 years (merged from her K-9
    Autocrypt). Anyone holding the old public copy (keyservers keep it) sends it in alice's name,
    unauthenticated, as a post's Autocrypt and as `key`: the 3-year expiry stays."""
    inst, _, _ = attacker()
    h = Gpg(tmp_path / "gpg-dave", "Dave Victim", DAVE, expire="1y")
    inst.ctl("member", "add", "demo", DAVE)
    register(inst, sink, h, "k9")
    assert wait_until(lambda: inst.logtext().count(
        "a member's OpenPGP key registered result=ok") == 2)
    exp = lambda: sqlite3.connect(os.path.join(inst.state, "mlistd.db")).execute(
        "SELECT max(enc_expires) FROM members WHERE pgp_key IS NOT NULL").fetchone()[0]
    old = k9(h)
    h.gpg("--quick-set-expire", h.fpr, "3y")
    h.gpg("--quick-set-expire", h.fpr, "3y", "*")
    first = exp()
    send(inst, k9(h), DAVE, rcpt=LIST_REQ)
    assert inst.wait_log("a member's OpenPGP key's expiry extended result=ok")
    assert wait_until(lambda: exp() > first + 365 * 86400)
    extended = exp()
    post = old.replace(LIST_REQ.encode(), LIST.encode()).replace(b"\r\n\r\nkey\r\n",
                                                              b"\r\n\r\nOld key.\r\n")
    send_unauthenticated(inst.direct_port, DAVE, [LIST], post)
    send_unauthenticated(inst.direct_port, DAVE, [LIST_REQ], old)
    assert wait_until(lambda: inst.logtext().count("sender=unauthenticated") >= 1)
    normal_post_still_flows(inst, sink, "after the old key")
    assert exp() == extended


def test_announce_list_member_cannot_post_as_the_moderator(attacker, sink):
    """posting = announce: only leaders post. alice (a plain member, her key registered) signs an
    encrypted post whose protected From is the moderator dave: nothing may go out."""
    inst, g, listfpr = attacker(posting="announce")
    inst.ctl("member", "add", "demo", DAVE)
    inst.ctl("member", "set", "demo", DAVE, "role", "moderator")
    # the moderator's own post goes out: the list does let leaders speak
    send(inst, f"From: {DAVE}\r\nSubject: real line\r\n\r\nFrom the moderator.\r\n".encode(),
         DAVE)
    assert wait_until(lambda: copies(sink, CAROL, b"real line")), inst.logtext()
    raw = pgpmime(g, encrypt(g, listfpr, inner_as(g, f"Dave Victim <{DAVE}>", "Official line")),
                  msgid="announce")
    send(inst, raw, g.addr)
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 2), inst.logtext()
    copies_or_idle(inst, lambda: copies(sink, CAROL, b"Official line"), 5)
    got = copies(sink, CAROL, b"Official line")
    assert not got, head(got[0])["From"]


def qmgr_hwm_kib(inst):
    """the queue manager's peak resident memory (VmHWM), in KiB"""
    pid = int(re.search(r"queue manager pid (\d+)", inst.logtext()).group(1))
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


@pytest.mark.parametrize("who", ["member", "stranger"])
def test_compression_bomb_to_a_pseudonyms_key(attacker, sink, tmp_path, who):
    """Private mail to a pseudonym, encrypted to its key, is opened in the sandboxed worker
    (pgpopen.c; before pgp17d in the queue manager). bob, or a stranger, sends it a 512 MiB
    compression bomb: the queue manager must stay within the worker's own memory bound and the
    queue must go on."""
    from test_pseudonym_pgp import autocrypt_key
    inst, g, listfpr = attacker(**{"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nSubject: second voice\r\n\r\nWords.\r\n".encode(), ALICE)
    assert wait_until(lambda: copies(sink, BOB, b"second voice")), inst.logtext()
    alice_p, key = autocrypt_key(head(copies(sink, BOB, b"second voice")[0]))
    b = Gpg(tmp_path / "gpg-bob", "Bob Builder", BOB)
    b.gpg("--import", inp=key)
    inner = b"Content-Type: text/plain\r\n\r\n" + b"A" * (512 << 20)
    armored = crlf(b.gpg("--trust-model", "always", "--armor", "--compress-algo", "zlib", "-z",
                         "9", "--encrypt", "-r", alice_p, inp=inner).stdout)
    del inner
    assert len(armored) < 4 << 20
    before = qmgr_hwm_kib(inst)
    raw = (f"From: {BOB}\r\nTo: {alice_p}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
           "boundary=\"e1\"\r\n\r\n--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
           "Version: 1\r\n\r\n--e1\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + \
        armored + b"\r\n--e1--\r\n"
    import time
    print(f"the bomb on the wire: {len(raw) // 1024} KiB")
    if who == "member":
        send(inst, raw, BOB, rcpt=alice_p)
    else:
        # anyone: the pseudonym's address and key are in every post it made
        send_unauthenticated(inst.direct_port, "x@stranger.example", [alice_p],
                             raw.replace(f"From: {BOB}".encode(), b"From: x@stranger.example"))
    t0 = time.monotonic()
    send(inst, f"From: {CAROL}\r\nSubject: meanwhile\r\n\r\nStill here.\r\n".encode(), CAROL)
    assert wait_until(lambda: copies(sink, BOB, b"meanwhile"), timeout=120), inst.logtext()
    took = time.monotonic() - t0
    assert wait_until(lambda: "worker: parser crashed; trying again (2 of 2)" in inst.logtext()
                      or "kind=private" in inst.logtext(), timeout=120)
    peak = qmgr_hwm_kib(inst)
    print(f"private bomb: a normal post waited {took:.1f} s; queue manager peak RSS "
          f"{before // 1024} MiB before, {peak // 1024} MiB after")
    assert inst.proc.poll() is None
    assert took < 15, f"the queue stalled {took:.1f} s"
    assert peak < 512 * 1024, f"queue manager peak {peak // 1024} MiB"


def test_a_keyring_of_copies_as_key_from_a_stranger(attacker, sink, tmp_path):
    """A stranger's `key` whose Autocrypt keydata is 4,000 copies of one key (about 2 MB; the
    key is imported in the queue manager, pgpin.c): answered or refused, and the queue goes on."""
    inst, g, listfpr = attacker()
    s = Gpg(tmp_path / "gpg-str", "Some Stranger", "x@stranger.example")
    kd = base64.b64encode(s.binary() * 4000).decode()
    folded = "\r\n ".join(kd[i:i + 76] for i in range(0, len(kd), 76))
    raw = (f"From: x@stranger.example\r\nTo: {LIST_REQ}\r\nSubject: key\r\n"
           f"Autocrypt: addr=x@stranger.example; keydata=\r\n {folded}\r\n\r\nkey\r\n").encode()
    print(f"keyring of copies: {len(raw) // 1024} KiB")
    try:
        send_unauthenticated(inst.direct_port, "x@stranger.example", [LIST_REQ], raw)
    except smtplib.SMTPException:
        pass                    # refused at the door is fine
    normal_post_still_flows(inst, sink, "after the keyring", within=10)
    assert inst.proc.poll() is None
