"""#18: a pseudonym's own address and OpenPGP key. A pseudonymous post comes
from LIST+p-HANDLE@, signed (RFC 3156 multipart/signed) with the pseudonym's
key; gpg, rnp and sqop verify it; nothing in the key names the member."""
import email
import email.policy
import os
import re
import smtplib
import subprocess
import tempfile

from conftest import wait_until

ROSA = "rosa.luxemburg@spartakus.example"
MEMBERS = (ROSA, "bob@example.org", "carol@example.org")


def send(inst, raw, sender=ROSA, rcpt="demo@lists.example"):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def copies_to(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1]]


def msg_of(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def pseud_instance(make_instance, extra=None):
    settings = {"identity.mode": "pseudonym"}
    settings.update(extra or {})
    inst = make_instance(list_settings=settings, members=(), start=False)
    for m in MEMBERS:
        if m == ROSA:
            inst.ctl("member", "add", "demo", m, "--name", "Rosa Luxemburg")
        else:
            inst.ctl("member", "add", "demo", m)
    return inst.start()


def post(inst, sink, subject, sender=ROSA, nth=1):
    send(inst, f"From: {sender}\r\nSubject: {subject}\r\n\r\nA post: {subject}.\r\n".encode(),
         sender=sender)
    got = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if subject.encode() in d])
    assert got, inst.logtext()
    return got[0]


def test_pseudonym_has_its_own_address(make_instance, sink):
    inst = pseud_instance(make_instance)
    raw = post(inst, sink, "first words")
    m = msg_of(raw)
    frm = m["From"].addresses[0].addr_spec
    assert re.fullmatch(r"demo\+p-[a-z0-9]{10}@lists\.example", frm), m["From"]
    assert m["From"].addresses[0].display_name.endswith(" via demo")
    assert m["Reply-To"].addresses[0].addr_spec == "demo@lists.example"
    assert "<mailto:demo@lists.example>" in m["List-Post"]
    assert f"<mailto:{frm}>" == m["Mlist-Private-Reply"]
    # the same pseudonym posts again: the same address
    assert msg_of(post(inst, sink, "second words"))["From"].addresses[0].addr_spec == frm
    # "reply to sender" is a private reply: it reaches rosa, and shows bob only as his pseudonym
    send(inst, b"From: Bob <bob@example.org>\r\nSubject: to you\r\n\r\nPrivately: agreed.\r\n",
         sender="bob@example.org", rcpt=frm)
    got = wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"Privately" in d])
    assert got, inst.logtext()
    assert b"bob@example.org" not in got[0]


def test_dump(make_instance, sink):
    inst = pseud_instance(make_instance)
    raw = post(inst, sink, "first words")
    open("/tmp/pseud/copy.eml", "wb").write(raw)
