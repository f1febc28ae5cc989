"""test_attacks11 - main as a hostile member, an informer, a stranger or a forged moderator
would attack it (round 11): what landed last session (pipelined delivery and its cancel,
sealed ORCPT and DSNs, digest_archived, w=/n= and `mlist verify`, the own-address drop,
listen[].mta_user, the one renderer), then the identity choices and the answers.

Each test asserts the SAFE behaviour; a finding not fixed stays xfail(strict=True, reason=...).
Found on 42d7061 (severity H/M/L):
  F1 (H) a member's pseudonym tied to her address by the author key: on a list whose
    identity.choices lets a member post both as herself and under her pseudonym (a
    pseudonymous list offering "real", or a real-name list offering "pseudonym"), every copy
    was signed by the one author key the list holds for her (sign.c author_head), so the
    Mlist-Author-Signature k= of "Open Pebble 93"'s posts was the k= of her posts From
    rosa.luxemburg@...: any member who received one post of each kind learnt who the
    pseudonym is, and `mlist verify` would name the same author key for both. Fixed
    (sign.c: a pseudonymous copy is signed by a key derived from hers, never hers).
"""
import re

import pytest

from conftest import wait_until
from test_identity import ROSA, copies_to, ident_instance, msg_of
from test_identity import send as rosa_send

BOB = "bob@example.org"


def author_key(m):
    """the author's public key (k=) of a parsed copy"""
    f = m["Mlist-Author-Signature"]
    assert f, m
    return re.search(r"k=([^;]+);", str(f)).group(1)


@pytest.mark.parametrize("mode,other", [("pseudonym", "real"), ("real", "pseudonym")])
def test_a_pseudonym_is_not_tied_to_the_address_by_the_author_key(make_instance, sink,
                                                                   mode, other):
    """F1 (H): rosa posts once in the list's mode and once in the other it offers: the two
    copies bob gets must not carry one author key (else bob knows the pseudonym's address)"""
    inst = ident_instance(make_instance, mode, {"identity.choices": other})
    rosa_send(inst, f"From: {ROSA}\r\nSubject: first\r\n\r\nF1 first\r\n".encode())
    assert wait_until(lambda: copies_to(sink, BOB)), inst.logtext()[-2000:]
    inst.ctl("member", "set", "demo", ROSA, "identity", other)
    rosa_send(inst, f"From: {ROSA}\r\nSubject: second\r\n\r\nF1 second\r\n".encode())
    got = wait_until(lambda: len(copies_to(sink, BOB)) >= 2 and copies_to(sink, BOB))
    assert got, inst.logtext()[-2000:]
    a, b = (msg_of(c) for c in got[:2])
    froms = [str(m["From"]) for m in (a, b)]
    # one went as herself, one under a pseudonym
    assert sum(ROSA in f for f in froms) == 1, froms
    assert sum(" via demo" in f for f in froms) == 1, froms
    assert author_key(a) != author_key(b), froms


def leak_told(sink):
    """the notices rosa got that her private message was not delivered, for naming her"""
    return [c for c in copies_to(sink, ROSA)
            if b"would tell its reader who you are" in c]


@pytest.mark.parametrize("target", ["stays", "left"])
def test_a_private_message_is_answered_the_same_whether_its_reader_left(make_instance,
                                                                        sink, target):
    """F2 (M): the leak guard told a sender her private message named her only while a member
    was behind the handle; to a handle whose member left it was dropped unseen ("to them it
    looks like one passed on", README). So a member wrote her own name into a private message
    to a pseudonym: told "not delivered" - still a member; silence - she left, which a
    hidden roster must not tell."""
    from attackhelp import copies_or_idle
    inst = ident_instance(make_instance, "pseudonym")
    rosa_send(inst, b"From: bob@example.org\r\nSubject: hello\r\n\r\nbob's post F2\r\n",
              sender=BOB)
    got = wait_until(lambda: [c for c in copies_to(sink, ROSA) if b"bob's post F2" in c])
    assert got, inst.logtext()[-2000:]
    handle = re.search(r"<mailto:([^>]+)>", msg_of(got[0])["Mlist-Private-Reply"]).group(1)
    if target == "left":
        inst.ctl("member", "rm", "demo", BOB)
    rosa_send(inst, f"From: {ROSA}\r\nSubject: just to you\r\n\r\n"
              "Rosa Luxemburg writes, F2.\r\n".encode(), rcpt=handle)
    told = copies_or_idle(inst, lambda: leak_told(sink), 20)
    assert len(told) == 1, (target, inst.logtext()[-2000:])
    assert not [c for c in copies_to(sink, BOB) if b"F2." in c]


def keys_answer(inst, sink, name, n):
    """the n-th answer rosa (a member, authenticated) gets to "keys NAME", its text"""
    rosa_send(inst, f"From: {ROSA}\r\nSubject: keys\r\n\r\nkeys {name}\r\n".encode(),
              rcpt="demo-request@lists.example")
    got = wait_until(lambda: [c for c in copies_to(sink, ROSA)
                              if b"demo-request@" in c.split(b"\r\n\r\n")[0]
                              or b"keys" in c][n:])
    assert got, inst.logtext()[-2000:]
    return msg_of(got[0]).get_body(("plain",)).get_content()


def test_keys_name_answers_the_same_whether_the_pseudonym_left(make_instance, sink):
    """F3 (M): `keys NAME` (members only) gave the pseudonym's key while its member was on the
    list, and "no pseudonym of that name" once she left (the look-up joined the members): any
    member asking for the key of a pseudonym seen on the list learnt whether she left, which
    a hidden roster must not tell (private replies to her say nothing either, README). The
    key is public (Autocrypt in every copy of hers); it is answered after she left too."""
    inst = ident_instance(make_instance, "pseudonym")
    rosa_send(inst, b"From: bob@example.org\r\nSubject: hello\r\n\r\nbob's post F3\r\n",
              sender=BOB)
    got = wait_until(lambda: [c for c in copies_to(sink, ROSA) if b"bob's post F3" in c])
    assert got, inst.logtext()[-2000:]
    name = msg_of(got[0])["From"].addresses[0].display_name[:-len(" via demo")]
    before = keys_answer(inst, sink, name, 1)
    assert "BEGIN PGP PUBLIC KEY BLOCK" in before, before
    inst.ctl("member", "rm", "demo", BOB)
    after = keys_answer(inst, sink, name, 2)
    assert "BEGIN PGP PUBLIC KEY BLOCK" in after, after
    key = lambda t: t[t.index("-----BEGIN PGP"):t.index("-----END PGP")]
    assert key(after) == key(before)


def test_keys_name_of_a_rotated_pseudonym_that_left_keeps_its_earlier_keys(make_instance,
                                                                           sink):
    """F3b (L): F3's answer for a pseudonym whose key was rotated (an admin's `keys
    --pseudonym NAME --rotate`) listed its earlier, revoked keys only while its member was on
    the list (pgprotate.c finds them by the members' row)."""
    inst = ident_instance(make_instance, "pseudonym")
    rosa_send(inst, b"From: bob@example.org\r\nSubject: hello\r\n\r\nbob's post F3b\r\n",
              sender=BOB)
    got = wait_until(lambda: [c for c in copies_to(sink, ROSA) if b"bob's post F3b" in c])
    assert got, inst.logtext()[-2000:]
    name = msg_of(got[0])["From"].addresses[0].display_name[:-len(" via demo")]
    inst.ctl("keys", "demo", "--pseudonym", name, "--rotate")
    before = keys_answer(inst, sink, name, 2)   # the post, the rotation's post, the answer
    assert "An earlier key of the same pseudonym" in before, before
    inst.ctl("member", "rm", "demo", BOB)
    after = keys_answer(inst, sink, name, 3)
    assert "An earlier key of the same pseudonym" in after, after
