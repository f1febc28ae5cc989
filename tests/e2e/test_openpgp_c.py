"""test_openpgp_c - #17's leftovers: replies to encrypted copies keep their parent for members who
read in clear; keys sent by mail are parsed in the sandboxed worker.

An encrypted copy's outer Message-ID, In-Reply-To and References are keyed hashes of the real ids
(clients thread by the outer header alone), so a member with a key who answers such a copy names the
parent's HASHED id. The list maps the hashes it made back to the real ids when the reply comes in:
the keyless member's copy names the real parent, the keyed member's outer header the hash again.
"""
import base64
import email
import email.policy
import os
import re
import shutil
import smtplib

import conftest
import pytest
import test_pgpin as pgpin
from conftest import wait_until
from test_openpgp import Gpg

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is needed (tools/install-deps)")

LIST = "demo@lists.example"
OUTER = re.compile(r"<[0-9a-f]{32}@lists\.example>")


def send(inst, raw, sender):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [LIST], raw)


def copies(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def keyed(inst, tmp_path, name, addr):
    g = Gpg(tmp_path / name, name)
    r = inst.ctl("member", "set", "demo", addr, "openpgp", g.export(tmp_path / (name + ".asc")))
    assert r.returncode == 0 and "OpenPGP key registered" in r.stdout, r.stdout + r.stderr
    return g


def head(raw):
    return email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                    policy=email.policy.compat32)


def post(sender, subject, msgid, body, parent=None):
    extra = f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n" if parent else ""
    return (f"From: {sender}\r\nTo: {LIST}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n{extra}"
            f"\r\n{body}\r\n").encode()


@pytest.fixture(params=["real", "pseudonym"])
def threaded(request, make_instance, sink, tmp_path):
    settings = {"identity.mode": request.param} if request.param != "real" else None
    inst = make_instance(list_settings=settings)
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    carol = keyed(inst, tmp_path, "Carol", "carol@example.org")
    return inst, alice, carol, request.param


def test_reply_to_encrypted_copy_names_real_parent_in_clear(threaded, sink):
    inst, alice, carol, mode = threaded
    root = "<root.of.thread@example.org>"
    send(inst, post("bob@example.org", "the depot", root, "Meet at six."), "bob@example.org")
    assert wait_until(lambda: copies(sink, "alice@example.org", b"multipart/encrypted")
                      and copies(sink, "bob@example.org", b"Meet at six")), inst.logtext()
    clear_root = head(copies(sink, "bob@example.org", b"Meet at six")[0])["Message-ID"]
    hashed = head(copies(sink, "alice@example.org", b"multipart/encrypted")[0])["Message-ID"]
    assert OUTER.fullmatch(hashed)
    if mode == "real":
        # the author's id in clear, its keyed hash outside the encryption
        assert clear_root == root and hashed != clear_root
    else:
        # the list's own random id already has the outer form: kept as it is outside
        assert hashed == clear_root
    # alice's client answers her encrypted copy: it names the outer (hashed) id as the parent
    send(inst, post("alice@example.org", "Re: the depot", "<reply.1@example.org>", "I will be there.",
                    parent=hashed), "alice@example.org")
    assert wait_until(lambda: copies(sink, "bob@example.org", b"I will be there")
                      and len(copies(sink, "carol@example.org", b"multipart/encrypted")) >= 2), \
        inst.logtext()
    bob = copies(sink, "bob@example.org", b"I will be there")[0]
    h = head(bob)
    # first that the parent link is there, then that the hash is not what names it
    assert h["In-Reply-To"] == clear_root, bob.decode(errors="replace")[:2000]
    assert clear_root in h["References"].split()
    if mode == "real":
        assert hashed.encode() not in bob.split(b"\r\n\r\n", 1)[0]
    # the keyed member's copy names the parent's hash outside again (one thread for everyone)
    enc = copies(sink, "carol@example.org", b"multipart/encrypted")[1]
    eh = head(enc)
    assert eh["In-Reply-To"] == eh["References"] == hashed
    # and inside, the real parent
    dec = carol.gpg("--decrypt", "-", inp=enc, check=False).stdout
    assert dec, "carol cannot open her copy"
    assert head(dec)["In-Reply-To"] == clear_root


def test_unknown_outer_form_id_stays_as_it_is(threaded, sink):
    """An id of the outer form that the list never made maps to nothing: a real-name copy keeps it
    as sent (a pseudonymous one drops every id the list does not know, as before)."""
    inst, alice, carol, mode = threaded
    stray = "<" + "ab" * 16 + "@lists.example>"
    send(inst, post("bob@example.org", "stray parent", "<stray.1@example.org>", "Nobody's child.",
                    parent=stray), "bob@example.org")
    assert wait_until(lambda: copies(sink, "bob@example.org", b"Nobody's child")), inst.logtext()
    h = head(copies(sink, "bob@example.org", b"Nobody's child")[0])
    if mode == "real":
        assert h["In-Reply-To"] == stray
    else:
        assert h["In-Reply-To"] is None


# ---- keys sent to -request are parsed in the sandboxed worker, never in the queue manager --------

HOOKS = os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks")
CRASH = "mlistd-test-crash-5c1b"
SPIN = "mlistd-test-spin-77e0"


@pytest.fixture
def hooks(monkeypatch):
    """the daemon of these tests: the build's one whose worker crashes or spins on a trigger word"""
    assert os.access(HOOKS, os.X_OK), f"{HOOKS} missing: make builds it"
    monkeypatch.setattr(conftest, "MLISTD", HOOKS)
    return monkeypatch


def hostile_key_mail(g, word):
    """mutt's shape (the armoured block in the text), with a word the worker's child dies on: a
    stand-in for a key block that crashes or loops a parser"""
    return pgpin.mutt(g).replace(b"sent with mutt", f"sent with mutt {word}".encode())


def test_key_mail_whose_parse_crashes_is_refused_and_the_list_goes_on(hooks, make_instance, sink,
                                                                      tmp_path):
    """The key mail is parsed in the worker: when its child crashes (tried again, as a post's),
    the sender gets the usual refusal and no token; the queue manager, which never parsed it, goes
    on and takes the next key. Before, the queue manager parsed it itself: a token went out."""
    hooks.setenv("MLISTD_TEST_WORKER_CRASH", CRASH)
    inst = make_instance(members=("alice@example.org",))
    g = pgpin.Gpg(tmp_path / "ga", "Wonderland Liddell", "alice@example.org")
    pgpin.send(inst, hostile_key_mail(g, CRASH), g.addr)
    ans = pgpin.answer_to(sink, g.addr)
    assert b"The OpenPGP key you sent cannot be used:" in ans, ans
    assert b"could not be parsed (parser crashed)" in ans, ans
    log = inst.logtext()
    assert "parser crashed; trying again (2 of 2)" in log, log[-3000:]
    assert "an OpenPGP key refused result=permfail" in log
    assert not pgpin.mails(sink, g.addr, b"multipart/encrypted")
    assert pgpin.stored(inst) == 0
    # the same key without the trigger: the worker answers it, the token goes out encrypted to it
    pgpin.send(inst, pgpin.mutt(g), g.addr)
    enc, plain = pgpin.token_mail(sink, g)
    assert b"Confirm your OpenPGP key" in plain
    assert pgpin.stored(inst) == 0


def test_key_mail_whose_parse_loops_times_out_refused(hooks, make_instance, sink, tmp_path):
    """A parse that never ends costs the worker's time budget, not the queue manager's loop."""
    hooks.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    inst = make_instance(extra="limits = { worker_seconds = 1; };", members=("alice@example.org",))
    g = pgpin.Gpg(tmp_path / "gs", "Wonderland Liddell", "alice@example.org")
    pgpin.send(inst, hostile_key_mail(g, SPIN), g.addr)
    ans = pgpin.answer_to(sink, g.addr)
    assert b"The OpenPGP key you sent cannot be used:" in ans, ans
    assert b"parser timed out" in ans, ans
    assert not pgpin.mails(sink, g.addr, b"multipart/encrypted")


def test_garbage_key_block_refused_by_the_worker(make_instance, sink, tmp_path):
    """A huge armoured block of garbage: refused with the engine's reason, the same for anyone."""
    inst = make_instance(members=("alice@example.org",))
    junk = base64.encodebytes(os.urandom(48 * 1024)).replace(b"\n", b"\r\n")
    raw = (b"From: alice@example.org\r\nTo: demo-request@lists.example\r\nSubject: key\r\n\r\nkey\r\n\r\n"
           b"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\n" + junk +
           b"-----END PGP PUBLIC KEY BLOCK-----\r\n")
    pgpin.send(inst, raw, "alice@example.org")
    ans = pgpin.answer_to(sink, "alice@example.org")
    assert b"The OpenPGP key you sent cannot be used:" in ans or b"found no OpenPGP public key" in ans
    assert inst.proc.poll() is None


# ---- a signature inside an encrypted "key" mail counts as the old key's ----------------------------

REQ = "demo-request@lists.example"


def key_entity(g, new):
    """Thunderbird's inner entity of a 'key' mail: protected headers, the text, new's key attached."""
    short = new.fpr[-16:]
    return pgpin.crlf((
        'Content-Type: multipart/mixed; boundary="mix7"; protected-headers="v1"\r\n'
        f"From: {g.name} <{g.addr}>\r\nTo: {REQ}\r\nSubject: key\r\n\r\n"
        "--mix7\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nkey\r\n\r\n--mix7\r\n"
        f'Content-Type: application/pgp-keys; name="OpenPGP_0x{short}.asc"\r\n'
        f'Content-Disposition: attachment; filename="OpenPGP_0x{short}.asc"\r\n\r\n').encode()
        + new.armored() + b"\r\n--mix7--\r\n")


def encrypted_key_mail(g, signer, new, listfpr, shape):
    """'key' encrypted to the list: signed and encrypted in one (6.2) or multipart/signed inside
    (6.1), by signer; the outer Autocrypt header is the account's (old) key, as Thunderbird sends."""
    ent = key_entity(g, new)
    if shape == "6.2":
        armored = pgpin.encrypt(signer, listfpr, ent, self_too=False)
    else:
        sig = pgpin.crlf(signer.gpg("--armor", "--detach-sign", "-u", signer.fpr, "--digest-algo",
                                    "SHA256", inp=ent).stdout)
        signed = (b'Content-Type: multipart/signed; micalg=pgp-sha256; '
                  b'protocol="application/pgp-signature"; boundary="sig7"\r\n\r\n--sig7\r\n' + ent +
                  b'\r\n--sig7\r\nContent-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'
                  + sig + b"\r\n--sig7--\r\n")
        armored = pgpin.encrypt(signer, listfpr, signed, sign=False, self_too=False)
    raw = pgpin.pgpmime(g, armored, msgid="enckey" + shape).replace(
        f"To: {pgpin.LIST}".encode(), f"To: {REQ}".encode(), 1)
    kd = base64.b64encode(g.binary()).decode()
    return raw.replace(b"Subject: ...", f"Autocrypt: addr={g.addr}; keydata={kd}\r\nSubject: ...".encode(),
                       1)


@pytest.fixture
def alice_old_key(make_instance, sink, tmp_path):
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    g = pgpin.Gpg(tmp_path / "old", "Wonderland Liddell", "alice@example.org")
    pgpin.register(inst, sink, g, "k9")
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: pgpin.fpr_hash(inst) is not None)
    listfpr = pgpin.list_key(inst, g)
    h = pgpin.Gpg(tmp_path / "new", "Wonderland Liddell", "alice@example.org")
    pgpin.list_key(inst, h)
    return inst, g, h, listfpr


@pytest.mark.parametrize("shape", ["6.2", "6.1"])
def test_encrypted_key_mail_signed_by_old_key_applies_at_once(alice_old_key, sink, shape):
    inst, g, h, listfpr = alice_old_key
    first = pgpin.fpr_hash(inst)
    pgpin.send(inst, encrypted_key_mail(g, g, h, listfpr, shape), g.addr)
    # the key inside the encryption is the one offered: its token comes encrypted to it
    _, plain = pgpin.token_mail(sink, h)
    pgpin.answer_token(inst, h, plain)
    assert wait_until(lambda: inst.logtext().count("a member's OpenPGP key registered result=ok") == 2), \
        inst.logtext()[-3000:]
    assert wait_until(lambda: pgpin.fpr_hash(inst) not in (None, first))
    assert "a member's new OpenPGP key waits" not in inst.logtext()
    assert pgpin.waiting(inst) == 0


def test_encrypted_key_mail_signed_by_another_key_waits(alice_old_key, sink):
    """Signed inside the encryption, but by the new key itself: not the old key's word."""
    inst, g, h, listfpr = alice_old_key
    first = pgpin.fpr_hash(inst)
    h.gpg("--import", inp=g.binary())           # h's home encrypts to the list, signs as h
    pgpin.send(inst, encrypted_key_mail(g, h, h, listfpr, "6.2"), g.addr)
    _, plain = pgpin.token_mail(sink, h)
    pgpin.answer_token(inst, h, plain)
    assert inst.wait_log("a member's new OpenPGP key waits"), inst.logtext()[-3000:]
    # the log line comes before the commit: wait for the row
    assert wait_until(lambda: pgpin.waiting(inst) == 1)
    assert pgpin.fpr_hash(inst) == first


# ---- a moderator's decision by mail signed by their own registered key counts ---------------------

MOD = "mod@nokey.example"           # a domain that does not sign: DKIM never vouches for it


def held_for(make_instance, sink, tmp_path):
    """A moderated list whose moderator's domain does not sign, but who registered an OpenPGP key;
    alice's post waits; the moderator's notice (encrypted to them) gives its token."""
    inst = make_instance(list_settings={"posting": "moderated"},
                         members=("alice@example.org", "bob@example.org", MOD), start=False)
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    inst.start()
    m = pgpin.Gpg(tmp_path / "mod", "Moderator Meow", MOD)
    (tmp_path / "mod.asc").write_bytes(m.armored())
    r = inst.ctl("member", "set", "demo", MOD, "openpgp", str(tmp_path / "mod.asc"))
    assert r.returncode == 0 and "OpenPGP key registered" in r.stdout, r.stdout + r.stderr
    send(inst, b"From: alice@example.org\r\nTo: demo@lists.example\r\nSubject: held one\r\n"
         b"Message-ID: <held.1@example.org>\r\n\r\nHeld words.\r\n", "alice@example.org")
    note = lambda: [t for t in (pgpin.read(m, r) for r in copies(sink, MOD)) if b"waits for moderation" in t]
    assert wait_until(note), inst.logtext()[-3000:]
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", note()[0]).group(1).decode()
    return inst, m, token


def signed_answer(m, text, token, listfpr=None):
    """The moderator's reply: 'approve' above the quoted notice, multipart/signed by their key
    (listfpr: signed and encrypted to the list in one OpenPGP message instead, RFC 3156 6.2)."""
    part = pgpin.crlf((f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n"
                       f"> A post waits for moderation. Answer to demo-confirm+{token}@lists.example\r\n"
                       ).encode())
    rcpt = f"demo-confirm+{token}@lists.example"
    if listfpr:
        return pgpin.pgpmime(m, pgpin.encrypt(m, listfpr, part, self_too=False), msgid="modenc").replace(
            f"To: {pgpin.LIST}".encode(), f"To: {rcpt}".encode(), 1).replace(b"Subject: ...", b"Subject: Re: ...")
    sig = pgpin.crlf(m.gpg("--armor", "--detach-sign", "-u", m.fpr, "--digest-algo", "SHA256",
                           inp=part).stdout)
    return (f"From: Moderator Meow <{MOD}>\r\nTo: {rcpt}\r\nSubject: Re: moderation\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\";"
            " boundary=\"ms1\"\r\n\r\n--ms1\r\n").encode() + part + \
        b"\r\n--ms1\r\nContent-Type: application/pgp-signature\r\n\r\n" + sig + b"\r\n--ms1--\r\n"


@pytest.mark.parametrize("shape", ["multipart-signed", "signed-inside-encryption"])
def test_moderators_decision_signed_by_their_key_counts(make_instance, sink, tmp_path, shape):
    inst, m, token = held_for(make_instance, sink, tmp_path)
    rcpt = f"demo-confirm+{token}@lists.example"
    # unsigned from a domain that does not sign: nothing counts, the token is not spent
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(MOD, [rcpt], f"From: {MOD}\r\nSubject: Re\r\n\r\napprove\r\n".encode())
    assert inst.wait_log("not authenticated as the moderator"), inst.logtext()[-3000:]
    assert not copies(sink, "bob@example.org", b"Held words.")
    listfpr = pgpin.list_key(inst, m) if shape == "signed-inside-encryption" else None
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(MOD, [rcpt], signed_answer(m, "Approve", token, listfpr))
    assert wait_until(lambda: copies(sink, "bob@example.org", b"Held words.")), inst.logtext()[-3000:]
    assert "answer signed by the moderator's registered OpenPGP key" in inst.logtext()


def test_moderators_old_signed_mail_without_the_token_counts_nothing(make_instance, sink, tmp_path):
    """A signature by the moderator's key over another text (an old signed mail of theirs, replayed
    by whoever kept it) does not decide: the token must be inside what was signed."""
    inst, m, token = held_for(make_instance, sink, tmp_path)
    other = "0" * 40
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(MOD, [f"demo-confirm+{token}@lists.example"], signed_answer(m, "Approve", other))
    assert inst.wait_log("not authenticated as the moderator"), inst.logtext()[-3000:]
    assert not copies(sink, "bob@example.org", b"Held words.")
    assert "answer signed by the moderator's registered OpenPGP key" not in inst.logtext()


def test_encrypted_token_answer_signed_by_old_key_applies_at_once(alice_old_key, sink):
    """The request was not signed; the token's answer is encrypted to the list and signed inside
    by the old key, the token quoted in it: checked in the worker, it counts as the old key's."""
    inst, g, h, listfpr = alice_old_key
    first = pgpin.fpr_hash(inst)
    pgpin.send(inst, pgpin.mutt(h), h.addr)
    _, plain = pgpin.token_mail(sink, h)
    tok = pgpin.TOKEN.search(plain).group(1).decode()
    rcpt = f"demo-confirm+{tok}@lists.example"
    part = pgpin.crlf(f"Content-Type: text/plain; charset=utf-8\r\n\r\nyes\r\n\r\n> (answer to {rcpt})\r\n"
                      .encode())
    raw = pgpin.pgpmime(g, pgpin.encrypt(g, listfpr, part, self_too=False), msgid="encans").replace(
        f"To: {pgpin.LIST}".encode(), f"To: {rcpt}".encode(), 1)
    pgpin.send(inst, raw, g.addr, rcpt=rcpt)
    assert wait_until(lambda: inst.logtext().count("a member's OpenPGP key registered result=ok") == 2), \
        inst.logtext()[-3000:]
    assert wait_until(lambda: pgpin.fpr_hash(inst) not in (None, first))
    assert "a member's new OpenPGP key waits" not in inst.logtext()
