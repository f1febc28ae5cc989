"""test_openpgp_d - #17's leftovers (pgp17d): private mail to a pseudonym is opened in the sandboxed
worker, never in the queue manager; replies to encrypted copies keep their whole References chain
for members who read in clear (posts, private replies, digests, notices).

Private mail encrypted to a pseudonym's key is anyone's OpenPGP (the pseudonym's address and key are
in every post it made). Before, the queue manager decrypted it itself: a packet that crashed or held
librnp stalled every list. The worker's child now opens it with the pseudonym's key sent for that job;
the test build's child crashes or spins on a trigger word, a stand-in for such a packet. The word sits
in the ciphertext part's own MIME header, which the opened mail no longer holds: only the child that
opens it sees the word, so on the old code (opened in the queue manager) the mail went through.
"""
import os
import shutil
import smtplib
import subprocess
import time

import conftest
import pytest
from conftest import wait_until
from test_identity import ROSA, copies_to, msg_of
from test_pseudonym_pgp import Verifiers, autocrypt_key, post, pseud_instance

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is needed (tools/install-deps)")

HOOKS = os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks")
CRASH = "mlistd-test-crash-5c1b"
SPIN = "mlistd-test-spin-77e0"
DAVE = "dave@example.org"


@pytest.fixture
def hooks(monkeypatch):
    """the daemon of these tests: the build's one whose worker crashes or spins on a trigger word"""
    assert os.access(HOOKS, os.X_OK), f"{HOOKS} missing: make builds it"
    monkeypatch.setattr(conftest, "MLISTD", HOOKS)
    return monkeypatch


def smtp(inst, raw, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def private_mail(tmp_path, addr, key, text, part_extra=""):
    """bob's mail to the pseudonym's address, PGP/MIME encrypted to the key of its Autocrypt header
    (as K-9 or Thunderbird would); part_extra goes into the ciphertext part's MIME header"""
    v = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--import", v.write("k", key)], env=v.env, check=True,
                   capture_output=True)
    inner = f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n".encode()
    enc = subprocess.run(["gpg", "--batch", "--armor", "--trust-model", "always", "--encrypt",
                          "-r", addr], input=inner, env=v.env, capture_output=True,
                         check=True).stdout
    enc = enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (f"From: Bob <bob@example.org>\r\nTo: {addr}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
            " boundary=\"e1\"\r\n\r\n--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
            "Version: 1\r\n\r\n--e1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
            f"{part_extra}\r\n").encode() + enc + b"\r\n--e1--\r\n"


def with_other_list(inst):
    """a second list with dave: its posts must go out while the pseudonym's mail is opened"""
    assert inst.ctl("list", "create", "other").returncode == 0
    assert inst.ctl("member", "add", "other", DAVE).returncode == 0


def other_post(inst, sink, subject):
    smtp(inst, f"From: {DAVE}\r\nTo: other@lists.example\r\nSubject: {subject}\r\n\r\nOn.\r\n"
         .encode(), DAVE, "other@lists.example")


def to_rosa(sink, words):
    return [d for d in copies_to(sink, ROSA) if words in d]


def pseudonym_of(inst, sink):
    m = msg_of(post(inst, sink, "write to me"))
    return autocrypt_key(m)


def test_private_mail_whose_opening_crashes_is_refused_and_lists_go_on(hooks, make_instance, sink,
                                                                        tmp_path):
    hooks.setenv("MLISTD_TEST_WORKER_CRASH", CRASH)
    inst = pseud_instance(make_instance)
    with_other_list(inst)
    addr, key = pseudonym_of(inst, sink)
    bad = private_mail(tmp_path, addr, key, "Crashing words.",
                       f"Content-Description: {CRASH}\r\n")
    smtp(inst, bad, "bob@example.org", addr)
    other_post(inst, sink, "meanwhile on other")
    assert wait_until(lambda: [d for d in copies_to(sink, DAVE) if b"meanwhile on other" in d]), \
        inst.logtext()[-3000:]
    assert inst.wait_log("reason=unopenable"), inst.logtext()[-3000:]
    log = inst.logtext()
    assert "parser crashed; trying again (2 of 2)" in log, log[-3000:]
    assert "result=permfail quarantined" in log
    assert inst.proc.poll() is None, "the daemon died"
    # the same mail without the trigger is opened by a fresh child and reaches rosa
    good = private_mail(tmp_path, addr, key, "Good words after all.")
    smtp(inst, good, "bob@example.org", addr)
    assert wait_until(lambda: to_rosa(sink, b"Good words after all.")), inst.logtext()[-3000:]
    assert not to_rosa(sink, b"Crashing words."), "the mail its opener crashed on was passed on"
    assert b"BEGIN PGP MESSAGE" not in to_rosa(sink, b"Good words after all.")[0]


def test_private_mail_whose_opening_never_ends_does_not_stall_the_lists(hooks, make_instance, sink,
                                                                        tmp_path):
    hooks.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    inst = make_instance(extra="limits = { worker_seconds = 3; };",
                         list_settings={"identity.mode": "pseudonym"},
                         members=(ROSA, "bob@example.org", "carol@example.org"))
    with_other_list(inst)
    addr, key = pseudonym_of(inst, sink)
    bad = private_mail(tmp_path, addr, key, "Spinning words.", f"Content-Description: {SPIN}\r\n")
    smtp(inst, bad, "bob@example.org", addr)
    t0 = time.monotonic()
    other_post(inst, sink, "while it spins")
    assert wait_until(lambda: [d for d in copies_to(sink, DAVE) if b"while it spins" in d]), \
        inst.logtext()[-3000:]
    took = time.monotonic() - t0
    # out before the child's time ran out: nothing waited for it
    assert "reason=unopenable" not in inst.logtext(), f"other list's post waited {took:.1f} s"
    assert inst.wait_log("reason=unopenable", timeout=60), inst.logtext()[-3000:]
    assert "timed out" in inst.logtext()
    assert not to_rosa(sink, b"Spinning words.")
    assert inst.proc.poll() is None


# ---- a reply to an encrypted copy: the whole References chain in clear --------------------------

import email  # noqa: E402
import email.policy  # noqa: E402
import re  # noqa: E402

from test_openpgp_c import OUTER, keyed  # noqa: E402

LIST = "demo@lists.example"
FOLD = "\r\n "       # a folded References, as clients write a long one
BOB = "bob@example.org"


def head(raw):
    return email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                    policy=email.policy.compat32)


def ids(v):
    return re.findall(r"<[^<>]+>", v or "")


def reply(sender, subject, msgid, body, irt, refs, to=LIST):
    """a reply as a client writes it to a copy: In-Reply-To the copy's Message-ID, References the
    copy's References and then its Message-ID (here: ids as the encrypted copy showed them)"""
    extra = f"In-Reply-To: {irt}\r\n" if irt else ""
    if irt and refs is not None:
        extra += f"References: {FOLD.join(refs)}\r\n"
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n{extra}"
            f"\r\n{body}\r\n").encode()


def got(sink, rcpt, marker):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


class Thread:
    """a list with alice and carol keyed, bob and dave reading in clear (dave by digest)"""

    def __init__(self, inst, sink, tmp_path):
        self.inst, self.sink = inst, sink
        self.alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
        self.carol = keyed(inst, tmp_path, "Carol", "carol@example.org")

    def say(self, raw, sender, words, rcpt=LIST):
        smtp(self.inst, raw, sender, rcpt)
        assert wait_until(lambda: got(self.sink, BOB, words)
                          and got(self.sink, "carol@example.org", b"multipart/encrypted")
                          and self.enc(words) is not None), self.inst.logtext()[-3000:]
        return head(got(self.sink, BOB, words)[0]), head(self.enc(words))

    def enc(self, words):
        """alice's (or carol's) encrypted copy of the post holding words: its outer header"""
        for who, g in (("alice@example.org", self.alice), ("carol@example.org", self.carol)):
            for raw in got(self.sink, who, b"multipart/encrypted"):
                dec = g.gpg("--decrypt", "-", inp=raw, check=False).stdout
                if words in dec:
                    return raw
        return None


def three_deep(t):
    """bob's root, alice's answer, carol's answer to that, alice's answer to carol's - each written
    to the encrypted copy, so naming only the outer ids it showed. Returns the clear Message-IDs
    and alice's last mail's outer References."""
    root_c, root_e = t.say(f"From: {BOB}\r\nTo: {LIST}\r\nSubject: depot\r\nMessage-ID: "
                           f"<root.d@example.org>\r\n\r\nMeet at six.\r\n".encode(), BOB,
                           b"Meet at six")
    h0 = root_e["Message-ID"]
    r1_c, r1_e = t.say(reply("alice@example.org", "Re: depot", "<r1.d@example.org>", "I come.",
                             h0, [h0]), "alice@example.org", b"I come.")
    h1 = r1_e["Message-ID"]
    # what carol's client sees outside r1's copy: the parent only
    assert ids(r1_e["References"]) == [h0]
    r2_c, r2_e = t.say(reply("carol@example.org", "Re: depot", "<r2.d@example.org>", "Me too.",
                             h1, ids(r1_e["References"]) + [h1]), "carol@example.org",
                       b"Me too.")
    h2 = r2_e["Message-ID"]
    # outside r2's copy: its parent h1 only, so alice's client no longer names the root
    assert ids(r2_e["References"]) == [h1]
    refs = ids(r2_e["References"]) + [h2]
    assert h0 not in refs
    real = [root_c["Message-ID"], r1_c["Message-ID"], r2_c["Message-ID"]]
    return real, [h0, h1, h2], refs


@pytest.fixture(params=["real", "pseudonym"])
def mode(request):
    return request.param


def test_reply_three_deep_gets_the_whole_chain_in_clear(make_instance, sink, tmp_path, mode):
    settings = {"identity.mode": mode} if mode != "real" else None
    inst = make_instance(list_settings=settings,
                         members=("alice@example.org", BOB, "carol@example.org", DAVE))
    inst.ctl("member", "set", "demo", DAVE, "digest", "on")
    t = Thread(inst, sink, tmp_path)
    real, hashed, refs = three_deep(t)
    for h in hashed:
        assert OUTER.fullmatch(h), h
    if mode == "real":
        assert real == ["<root.d@example.org>", "<r1.d@example.org>", "<r2.d@example.org>"]
    r3_c, r3_e = t.say(reply("alice@example.org", "Re: depot", "<r3.d@example.org>", "See you.",
                             hashed[2], refs), "alice@example.org", b"See you.")
    bob = got(sink, BOB, b"See you.")[0]
    # first that the parent is named, then the whole chain, in order, in clear
    assert ids(r3_c["In-Reply-To"]) == [real[2]], bob.decode(errors="replace")[:1500]
    assert ids(r3_c["References"]) == real, bob.decode(errors="replace")[:1500]
    if mode == "real":
        for h in hashed:
            assert h.encode() not in bob.split(b"\r\n\r\n", 1)[0]
    # the keyed member's copy: the parent's hash outside, the real chain inside
    assert ids(r3_e["In-Reply-To"]) == ids(r3_e["References"]) == [hashed[2]]
    dec = t.carol.gpg("--decrypt", "-", inp=t.enc(b"See you."), check=False).stdout
    if b"See you." not in dec:
        dec = t.alice.gpg("--decrypt", "-", inp=t.enc(b"See you."), check=False).stdout
    assert b"See you." in dec
    assert ids(head(dec)["References"]) == real
    # dave's digest quotes the copies as distributed: the same chain
    inst.ctl("digest", "send", "demo")
    assert wait_until(lambda: got(sink, DAVE, b"multipart/digest")), inst.logtext()[-3000:]
    dig = got(sink, DAVE, b"multipart/digest")[0]
    m = re.findall(rb"References:((?:[^\r\n]|\r\n[ \t])*)", dig[:dig.index(b"See you.")])
    assert m, dig.decode(errors="replace")[:3000]
    assert ids(m[-1].decode()) == real, m[-1]


def test_private_reply_to_an_encrypted_copy_gets_the_whole_chain(make_instance, sink, tmp_path):
    """On a pseudonymous list alice (keyed) answers rosa's post privately, from her encrypted copy:
    rosa, who reads in clear, gets it with the thread's whole chain, the root included."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=("alice@example.org", BOB, "carol@example.org", ROSA))
    t = Thread(inst, sink, tmp_path)
    root_c, root_e = t.say(f"From: {BOB}\r\nTo: {LIST}\r\nSubject: depot\r\nMessage-ID: "
                           f"<root.p@example.org>\r\n\r\nMeet at six.\r\n".encode(), BOB,
                           b"Meet at six")
    h0 = root_e["Message-ID"]
    r1_c, r1_e = t.say(reply("alice@example.org", "Re: depot", "<r1.p@example.org>", "I come.",
                             h0, [h0]), "alice@example.org", b"I come.")
    # rosa reads in clear: her client names the clear ids
    r2_c, r2_e = t.say(reply(ROSA, "Re: depot", "<r2.p@example.org>", "Rosa too.",
                             r1_c["Message-ID"], ids(r1_c["References"]) + [r1_c["Message-ID"]]),
                       ROSA, b"Rosa too.")
    real = [root_c["Message-ID"], r1_c["Message-ID"], r2_c["Message-ID"]]
    assert ids(r2_c["References"]) == real[:2]
    # outside rosa's post's encrypted copy: its parent only
    assert ids(r2_e["References"]) == [r1_e["Message-ID"]]
    private = re.search(r"<mailto:([^>]+)>", r2_c["Mlist-Private-Reply"]).group(1)
    refs = ids(r2_e["References"]) + [r2_e["Message-ID"]]
    smtp(inst, reply("alice@example.org", "Re: depot", "<p1.p@example.org>", "Just for you.",
                     r2_e["Message-ID"], refs, to=private), "alice@example.org", private)
    assert wait_until(lambda: got(sink, ROSA, b"Just for you.")), inst.logtext()[-3000:]
    h = head(got(sink, ROSA, b"Just for you.")[0])
    assert ids(h["In-Reply-To"]) == [real[2]]
    assert ids(h["References"]) == real, str(h)
    assert b"alice@example.org" not in got(sink, ROSA, b"Just for you.")[0]


def test_held_reply_notice_quotes_the_whole_chain(make_instance, sink, tmp_path):
    """The moderators' notice of a held reply attaches the copy as it would go out: the reply
    written to an encrypted copy names the real thread there, root included (real-name list)."""
    inst = make_instance(members=("alice@example.org", BOB, "carol@example.org", DAVE))
    t = Thread(inst, sink, tmp_path)
    real, hashed, refs = three_deep(t)
    assert inst.ctl("member", "set", "demo", DAVE, "role", "moderator").returncode == 0
    assert inst.ctl("list", "set", "demo", "posting", "moderated").returncode == 0
    smtp(inst, reply("alice@example.org", "Re: depot", "<r3.h@example.org>", "Held words.",
                     hashed[2], refs), "alice@example.org", LIST)
    assert wait_until(lambda: got(sink, DAVE, b"waits for moderation")), inst.logtext()[-3000:]
    note = got(sink, DAVE, b"waits for moderation")[0]
    assert b"Held words." in note, note.decode(errors="replace")[:3000]
    at = note.index(b"Message-ID: <r3.h@example.org>")
    quoted = note[note.rindex(b"\r\n\r\n", 0, at) + 4:]
    h = head(quoted)
    assert ids(h["In-Reply-To"]) == [real[2]], quoted[:1500]
    assert ids(h["References"]) == real, quoted[:1500]
    assert not got(sink, BOB, b"Held words.")


def test_long_chain_keeps_its_root_and_its_last_ids(make_instance, sink, tmp_path):
    """A reply naming 60 ids and, last, the parent's outer id: the clear copy's References keep
    the first id (the root) and the last 39, the parent's real id last - bounded work for the
    list, and what RFC 5322 3.6.4 suggests for a long chain."""
    inst = make_instance(members=("alice@example.org", BOB, "carol@example.org"))
    t = Thread(inst, sink, tmp_path)
    root_c, root_e = t.say(f"From: {BOB}\r\nTo: {LIST}\r\nSubject: long\r\nMessage-ID: "
                           f"<root.l@example.org>\r\n\r\nLong thread.\r\n".encode(), BOB,
                           b"Long thread")
    many = [f"<n{i}.l@example.org>" for i in range(60)]
    parent = root_e["Message-ID"]
    r1_c, r1_e = t.say(reply("alice@example.org", "Re: long", "<r1.l@example.org>", "Long reply.",
                             parent, many + [parent]), "alice@example.org", b"Long reply.")
    got_ids = ids(r1_c["References"])
    assert got_ids[-1] == "<root.l@example.org>", got_ids
    assert len(got_ids) == 40, got_ids
    assert got_ids[0] == many[0] and got_ids[1:-1] == many[-38:], got_ids
    hdr = got(sink, BOB, b"Long reply.")[0].split(b"\r\n\r\n", 1)[0]
    field = re.search(rb"\r\nReferences:(?:[^\r\n]|\r\n[ \t])*", hdr).group(0)
    for line in field.split(b"\r\n")[1:]:
        assert len(line) <= 78, line


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_reply_with_in_reply_to_alone_gets_the_chain(make_instance, sink, tmp_path, mode):
    """Some clients write In-Reply-To and no References: a reply naming the outer id of an
    encrypted copy that way still reaches the clear readers with the whole chain."""
    settings = {"identity.mode": mode} if mode != "real" else None
    inst = make_instance(list_settings=settings,
                         members=("alice@example.org", BOB, "carol@example.org"))
    t = Thread(inst, sink, tmp_path)
    real, hashed, refs = three_deep(t)
    r3_c, r3_e = t.say(reply("alice@example.org", "Re: depot", "<r3.i@example.org>", "Alone.",
                             hashed[2], None), "alice@example.org", b"Alone.")
    assert ids(r3_c["In-Reply-To"]) == [real[2]]
    assert ids(r3_c["References"]) == real, str(r3_c)
