"""Sealed fields bound to their place (#19): a blob copied, with sqlite3 from the outside, from
one column or row into another does not open there - mlistctl says so and shows nothing of it.
And the retired sealed post format (`mlist seal`, #17): refused with a note, never distributed."""
import base64
import json
import os
import re
import smtplib
import sqlite3
import subprocess

import pytest

from conftest import MLISTCTL, Instance, wait_until

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")

ROSA = "rosa.luxemburg@spartakus.example"


def test_address_copied_into_the_pseudonym_column_is_an_error_not_a_pseudonym(tmp_path, sink):
    inst = Instance(str(tmp_path / "s"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    inst.ctl("member", "add", "demo", ROSA, "--pseudonym", "Night Owl")
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.stop()
    before = inst.ctl("member", "ls", "demo")
    assert "Night Owl" in before.stdout and ROSA not in before.stdout
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    with db:
        n = db.execute("UPDATE members SET pseudonym = addr WHERE pseudonym IS NOT NULL").rowcount
    db.close()
    assert n == 1
    r = inst.ctl("member", "ls", "demo", check=False)
    assert r.returncode == 1, r.stdout
    assert "does not open" in r.stderr and "moved" in r.stderr, r.stderr
    assert ROSA not in r.stdout + r.stderr and "rosa" not in r.stdout.lower()


def test_another_members_address_copied_into_a_row_does_not_open(tmp_path, sink):
    inst = Instance(str(tmp_path / "r"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("member", "add", "demo", ROSA)
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.stop()
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    with db:
        db.execute("UPDATE members SET addr = (SELECT addr FROM members ORDER BY id LIMIT 1) "
                   "WHERE id = (SELECT max(id) FROM members)")
    db.close()
    r = inst.ctl("member", "ls", "demo", check=False)
    assert r.returncode == 1 and "does not open" in r.stderr, (r.stdout, r.stderr)
    assert r.stdout.count(ROSA) <= 1


def state_bytes(inst):
    out = b""
    for root, _, names in os.walk(inst.state):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                out += f.read()
    return out


def test_unmask_request_keeps_the_pseudonym_sealed_and_members_by_short_id(tmp_path, sink):
    """An unmasking request names its pseudonym nowhere in clear on disk (the audit log and the
    request's detail carry a keyed reference; the name is in the sealed argument), while the
    moderators' mail and the operator's audit view still name it; the audit log names members by
    a keyed short id, not by the sequential numbers that count who joined."""
    inst = Instance(str(tmp_path / "u"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    inst.ctl("member", "add", "demo", ROSA, "--pseudonym", "Night Owl")
    inst.ctl("member", "add", "demo", "m1@example.org")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    r = inst.ctl("unmask", "demo", "Night Owl", check=False)
    assert r.returncode == 3 and "opened" in r.stdout, (r.returncode, r.stdout, r.stderr)
    asked = wait_until(lambda: [m for m in sink.handler.messages if "m1@example.org" in m[1]
                                and b"Night Owl" in m[2]], 30)
    assert asked, inst.logtext()[-2000:]                 # the moderator reads which pseudonym
    audit = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    details = " | ".join(e["detail"] for e in audit)
    assert 'the pseudonym "Night Owl"' in details, details     # the operator reads it by name
    assert "member #" not in details and re.search(r"member [0-9a-f]{10}", details), details
    inst.stop()
    disk = state_bytes(inst)
    assert b"Night Owl".lower() not in disk.lower(), "the pseudonym is in clear in the state dir"
    assert b"the pseudonym" not in disk
    assert b"pseudonym " in disk                          # the reference is what is stored


def old_sealed_post(sender):
    """A post in the retired libsodium format, shaped as `mlist seal` wrote it (random bytes stand
    in for the crypto_box_seal: the list no longer opens any)."""
    blob = base64.encodebytes(os.urandom(200)).replace(b"\n", b"\r\n").decode()
    return (f"From: {sender}\r\nTo: demo@lists.example\r\nSubject: Encrypted post\r\n"
            "Message-ID: <sealed.0123@lists.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"=_sealed_x\"\r\n\r\n--=_sealed_x\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nThis post is encrypted to the list's key.\r\n"
            "--=_sealed_x\r\nContent-Type: application/x-mlist-sealed; name=\"post.sealed\"\r\n"
            "Content-Disposition: attachment; filename=\"post.sealed\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--=_sealed_x--\r\n").encode()


@pytest.mark.parametrize("encryption", ["optional", "required"])
def test_post_in_the_retired_sealed_format_is_refused_with_a_note(make_instance, sink, encryption):
    """A post still in flight in the old `mlist seal` format is never distributed (its copies
    would be an attachment nobody opens): the sender is told what to send instead."""
    inst = make_instance(list_settings={"encryption": encryption})
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("bob@example.org", ["demo@lists.example"], old_sealed_post("bob@example.org"))
    assert inst.wait_log("reason=sealed-retired"), inst.logtext()
    note = wait_until(lambda: [m[2] for m in sink.handler.messages if "bob@example.org" in m[1]
                               and b"no longer opens" in m[2]])
    assert note, inst.logtext()
    assert b"OpenPGP key" in note[0] and b"mlist seal" in note[0]
    assert not [m for m in sink.handler.messages if b"post.sealed" in m[2] or b"Encrypted post" in m[2]]
    r = subprocess.run([MLIST, "seal", "--list-key", "x25519:AAAA", "--list", "demo@lists.example"],
                       input="From: bob@example.org\r\n\r\nx\r\n", capture_output=True, text=True)
    assert r.returncode == 2 and "retired" in r.stderr and "OpenPGP" in r.stderr, r.stderr
