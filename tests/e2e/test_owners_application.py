"""test_owners_application.py - the owners' copy of an application (subscription = "approve", no
moderator yet: leadership/command.c owners_application), byte for byte as the owner receives it.

It is composed by the one renderer (pipeline/render.c) as every other copy: From, then Subject,
Date; its text as CRLF lines, the last one ended; no bare LF, no CR CR LF."""
import json
import re
import smtplib
import subprocess

from conftest import MLISTCTL, wait_until

NEW = "applicant@example.net"


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def send(inst, who, rcpt, text):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, [rcpt], f"From: {who}\r\n{text}".encode())


def application(make_instance, sink, intro, settings=None):
    """the owner's copy of NEW's confirmed application, after intro"""
    inst = make_instance(list_settings={"subscription": "approve", **(settings or {})},
                         members=())
    send(inst, NEW, "demo-request@lists.example", f"Subject: join\r\n\r\nsubscribe\r\n{intro}\r\n")
    ask = wait_until(lambda: to(sink, NEW, b"demo-confirm+"))
    assert ask, inst.logtext()
    tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    send(inst, NEW, f"demo-confirm+{tok}@lists.example", "Subject: Re\r\n\r\nyes\r\n")
    # nobody leads yet: the copy is held for the owners, as mlistctl mod show prints it
    assert inst.wait_log("application passed to the moderators"), inst.logtext()
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "mod", "show", "demo", held[0]["id"]],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def head_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return [re.sub(rb":.*", b"", f, flags=re.S) for f in re.split(rb"\r\n(?![ \t])", head)], head, body


def test_the_owners_copy_is_rendered_as_every_copy(make_instance, sink):
    raw = application(make_instance, sink, "I was at the March meeting.\r\nBob knows me.")
    names, head, body = head_body(raw)
    # the renderer's order: From, then Subject and Date; the MIME fields after them
    mine = [n for n in names if n in (b"From", b"Subject", b"Date", b"MIME-Version",
                                      b"Content-Type", b"Content-Transfer-Encoding")]
    assert mine == [b"From", b"Subject", b"Date", b"MIME-Version", b"Content-Type",
                    b"Content-Transfer-Encoding"], head
    assert b"\r\nFrom: <demo-request@lists.example>\r\n" in b"\r\n" + head
    assert b"\r\nSubject: Application to join demo\r\n" in head + b"\r\n"
    assert b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit" in head
    assert body.startswith(b"Someone has applied to join demo@lists.example and confirmed their "
                           b"address.\r\nAddress: applicant@example.net\r\n")
    assert b"\r\nI was at the March meeting.\r\nBob knows me.\r\n" in body
    assert body.endswith(b"\r\n")
    assert re.search(rb"(?<!\r)\n", raw) is None and b"\r\r\n" not in raw


def test_the_hidden_owners_copy_has_no_address(make_instance, sink):
    raw = application(make_instance, sink, "From the east.", {"identity.mode": "pseudonym"})
    names, head, body = head_body(raw)
    assert b"\r\nFrom: <demo-request@lists.example>\r\n" in b"\r\n" + head
    assert b"From the east.\r\n" in body and NEW.encode() not in body
    assert re.search(rb"(?<!\r)\n", raw) is None
