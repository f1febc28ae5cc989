"""One renderer for every composed copy (#13 item 4): a post's copy, a notice, a digest and a
private relay all write the fields after the From in one order (To, Reply-To, Subject, Date,
Message-ID, then the list's block) and fold a long Subject to 78 columns at blanks. A path that
composed its own copy again would show an unfolded Subject or another order here."""
import email
import email.policy
import os
import re
import smtplib
import time

from conftest import wait_until

WORDS = " ".join(f"word{i:02d}" for i in range(24))       # 167 characters with blanks
ORDER = ["To", "Reply-To", "Subject", "Date", "Message-ID"]


def send(inst, raw, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def fields(raw):
    """the header section's fields as (name, [physical lines]) in order"""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1][1].append(line)
        else:
            out.append((line.split(":", 1)[0], [line]))
    return out


def check_copy(raw, subject, what):
    """the renderer's marks on one copy: a Subject folded to 78 columns that unfolds to
    subject, and its fields after the From in the renderer's order"""
    fs = fields(raw)
    subj = [lines for name, lines in fs if name.lower() == "subject"]
    assert len(subj) == 1, (what, fs)
    assert len(subj[0]) > 1 and all(len(line) <= 78 for line in subj[0]), (what, subj[0])
    value = email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
    assert str(value) == subject, (what, str(value))
    names = [n for n, _ in fs]
    seq = [n for n in names if n in ORDER]
    assert seq == [n for n in ORDER if n in seq], (what, names)
    # one block: nothing of the copy's own between From and Message-ID
    start = names.index(seq[0])
    assert names[start - 1] == "From" and names[start:start + len(seq)] == seq, (what, names)


def test_every_composed_copy_has_the_renderers_form(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    notices = os.path.join(inst.root, "templates", "notices")
    write(os.path.join(notices, "discipline-not-moderator.txt"),
          f"Subject: Notice {WORDS}\n\nNot for you.\n")
    write(os.path.join(notices, "digest-one.txt"),
          f"Subject: Digest {WORDS}\n\n{{contents}}\n")
    inst.start()
    inst.ctl("member", "set", "demo", "carol@example.org", "digest", "on")
    # a post's copy (the list's prefix in front of a long subject)
    send(inst, f"From: alice@example.org\r\nSubject: Post {WORDS}\r\n\r\nA post.\r\n".encode(),
         "alice@example.org", "demo@lists.example")
    post = wait_until(lambda: to(sink, "bob@example.org", b"A post."))
    assert post, inst.logtext()
    check_copy(post[0], f"[demo] Post {WORDS}", "post")
    # a private relay to the pseudonym behind the post
    target = re.search(rb"Mlist-Private-Reply: <mailto:([^>]+)>", post[0]).group(1).decode()
    send(inst, f"From: bob@example.org\r\nSubject: Relay {WORDS}\r\n\r\nJust to you.\r\n".encode(),
         "bob@example.org", target)
    relay = wait_until(lambda: to(sink, "alice@example.org", b"Just to you."))
    assert relay, inst.logtext()
    check_copy(relay[0], f"[demo] Relay {WORDS}", "relay")
    # a notice
    send(inst, b"From: bob@example.org\r\nSubject: discipline Someone\r\n\r\nPlease.\r\n",
         "bob@example.org", "demo-owner+discipline@lists.example")
    notice = wait_until(lambda: to(sink, "bob@example.org", b"Not for you."))
    assert notice, inst.logtext()
    check_copy(notice[0], f"Notice {WORDS}", "notice")
    # the digest (carol gets the post in it)
    inst.ctl("digest", "send", "demo")
    digest = wait_until(lambda: to(sink, "carol@example.org", b"multipart/digest"))
    assert digest, inst.logtext()[-3000:]
    assert b"A post." in digest[0]
    check_copy(digest[0], f"Digest {WORDS}", "digest")
