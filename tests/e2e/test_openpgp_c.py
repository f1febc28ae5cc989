"""test_openpgp_c - #17's leftovers: replies to encrypted copies keep their parent for members who
read in clear.

An encrypted copy's outer Message-ID, In-Reply-To and References are keyed hashes of the real ids
(clients thread by the outer header alone), so a member with a key who answers such a copy names the
parent's HASHED id. The list maps the hashes it made back to the real ids when the reply comes in:
the keyless member's copy names the real parent, the keyed member's outer header the hash again.
"""
import email
import email.policy
import re
import shutil
import smtplib

import pytest

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
