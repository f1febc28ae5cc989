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
