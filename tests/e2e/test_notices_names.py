"""The words of the list's own mail that are not a notice's text are pieces too (#13 item 8):
the display names ("LIST list", "LIST digest", "LIST moderators"), the X-Mlist-Sender mark
moderators read and the MIME preamble of a wrapped post. A list that rewords them is what
arrives; a translation that is not ASCII arrives RFC 2047-encoded in a header; the shipped
English is what arrives where the list rewords nothing."""
import email
import email.header
import email.policy
import os
import re
import smtplib
import tempfile

from conftest import send_unauthenticated, wait_until


def pieces(inst, text):
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def send(inst, raw, sender, rcpt="demo@lists.example"):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def head(raw):
    return raw.split(b"\r\n\r\n", 1)[0]


def field(raw, name):
    """a header field's raw value, unfolded (None when absent)"""
    m = re.search(rb"(?im)^" + name.encode() + rb":[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head(raw))
    return m and re.sub(rb"\r\n[ \t]", b" ", m.group(1)).decode()


def decoded(value):
    return str(email.header.make_header(email.header.decode_header(value)))


def test_the_lists_name_on_its_notices_is_a_piece(make_instance, sink):
    inst = make_instance(start=False)
    pieces(inst, "[from-list]\nVerteiler {list} – Verwaltung\n")
    inst.start()
    send(inst, b"From: bob@example.org\r\nSubject: help\r\n\r\nhelp\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, "bob@example.org"))
    assert got, inst.logtext()
    frm = field(got[0], "From")
    # not ASCII: encoded-words, never raw 8-bit in the header
    assert "=?utf-8?B?" in frm and frm.endswith("<demo-owner@lists.example>"), frm
    assert decoded(frm) == "Verteiler demo – Verwaltung <demo-owner@lists.example>", frm
    assert b"demo list" not in head(got[0])


def test_the_shipped_names_are_english(make_instance, sink):
    inst = make_instance()
    send(inst, b"From: bob@example.org\r\nSubject: help\r\n\r\nhelp\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, "bob@example.org"))
    assert got, inst.logtext()
    assert field(got[0], "From") == '"demo list" <demo-owner@lists.example>'


def test_the_keys_answer_and_the_digest_are_named_by_pieces(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org"), start=False)
    pieces(inst, "[from-list]\nListe {list}\n[from-digest]\n{list}: Sammelausgabe\n")
    inst.ctl("member", "set", "demo", "bob@example.org", "digest", "on")
    inst.start()
    # the keys answer comes From the list key's own address, in the list's words
    send(inst, b"From: bob@example.org\r\nSubject: keys\r\n\r\nkeys\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    keys = wait_until(lambda: to(sink, "bob@example.org", b"_domainkey"))
    assert keys, inst.logtext()
    assert b'From: "Liste demo" <demo@lists.example>' in keys[0], head(keys[0])
    assert b"demo list" not in keys[0]
    send(inst, b"From: Alice <alice@example.org>\r\nSubject: for the digest\r\n\r\nHello.\r\n",
         "alice@example.org")
    assert inst.wait_log("result=ok")
    assert wait_until(lambda: inst.ctl("digest", "send", "demo").returncode == 0 and
                      to(sink, "bob@example.org", b"multipart/digest"))
    digest = to(sink, "bob@example.org", b"multipart/digest")[0]
    assert field(digest, "From") == '"demo: Sammelausgabe" <demo-request@lists.example>', head(digest)
    assert b"demo digest\"" not in digest


def owner_answer(inst, sink, writer, mod, marker):
    send(inst, f"From: {writer}\r\nSubject: q {marker}\r\n\r\nQuestion {marker}.\r\n".encode(),
         writer, rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, mod, f"Question {marker}.".encode()))
    assert got, inst.logtext()
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>", got[0]).group(1)
    send(inst, f"From: {mod}\r\nSubject: Re\r\n\r\nAnswer {marker}.\r\n".encode(), mod,
         rcpt=back.decode())
    ans = wait_until(lambda: to(sink, writer, f"Answer {marker}.".encode()))
    assert ans, inst.logtext()
    return ans[0]


def test_the_moderators_name_is_a_piece(make_instance, sink):
    members = ("alice@example.org", "bob@example.org", "m1@example.org")
    inst = make_instance(members=members, start=False,
                         list_settings={"leadership.visibility": "hidden"})
    # before any ctl: a changing verb starts the daemon, which reads pieces at start
    pieces(inst, "[from-moderators]\nModeration von {list}\n"
                 "[from-moderators-named]\nModeration von {list}: {name}\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    ans = owner_answer(inst, sink, "alice@example.org", "m1@example.org", "one")
    assert field(ans, "From") == '"Moderation von demo" <demo-owner@lists.example>', head(ans)
    assert b"demo moderators" not in ans
    inst.stop()
    inst.ctl("--emergency", "list", "set", "demo", "leadership.visibility", "roles")
    inst.start()
    ans = owner_answer(inst, sink, "bob@example.org", "m1@example.org", "two")
    frm = field(ans, "From")
    assert re.fullmatch(r'"Moderation von demo: mod-[0-9a-f]{4}" <demo-owner@lists\.example>',
                        frm), frm
    assert b"demo moderators" not in ans and b"m1@" not in ans


def test_the_unverified_mark_is_a_piece(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "m1@example.org"), start=False,
                         list_settings={"identity.mode": "real"})
    pieces(inst, "[sender-unverified]\nnicht geprüft (die Liste konnte den Absender nicht "
                 "bestätigen)\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send_unauthenticated(inst.port, "mallory@evil.example", ["demo-owner@lists.example"],
                         "From: Alice <alice@example.org>\r\nTo: <demo-owner@lists.example>\r\n"
                         "Subject: my account\r\n\r\nWhat did bob report?\r\n")
    got = wait_until(lambda: to(sink, "m1@example.org", b"What did bob report?"))
    assert got, inst.logtext()
    mark = field(got[0], "X-Mlist-Sender")
    assert mark and "=?utf-8?B?" in mark, head(got[0])
    assert decoded(mark) == "nicht geprüft (die Liste konnte den Absender nicht bestätigen)"
    assert b"could not verify" not in got[0]


def html_post(inst):
    send(inst, b"From: Alice <alice@example.org>\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello there.</p>\r\n",
         "alice@example.org")


def test_the_mime_preamble_is_a_piece(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org"), start=False,
                         list_settings={"footer": "-- the demo list", "html": "keep"})
    pieces(inst, "[mime-preamble]\nDiese Nachricht besteht aus mehreren Teilen.\n")
    inst.start()
    html_post(inst)
    got = wait_until(lambda: to(sink, "bob@example.org", b"Hello there."))
    assert got, inst.logtext()
    bnd = re.search(rb'boundary="([^"]+)"', head(got[0])).group(1)
    body = got[0].split(b"\r\n\r\n", 1)[1]
    assert body.startswith(b"Diese Nachricht besteht aus mehreren Teilen.\r\n--" + bnd + b"\r\n"), body
    assert b"multi-part message" not in got[0]


def test_the_shipped_mime_preamble_is_english(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org"),
                         list_settings={"footer": "-- the demo list", "html": "keep"})
    html_post(inst)
    got = wait_until(lambda: to(sink, "bob@example.org", b"Hello there."))
    assert got, inst.logtext()
    bnd = re.search(rb'boundary="([^"]+)"', head(got[0])).group(1)
    body = got[0].split(b"\r\n\r\n", 1)[1]
    assert body.startswith(b"This is a multi-part message in MIME format.\r\n--" + bnd + b"\r\n")


def test_the_encrypted_key_token_is_named_by_the_piece(make_instance, sink):
    """pgpnotice.c: the token for a key sent with "key", outside and inside the encryption"""
    from test_pgpin import Gpg, SHAPES, token_mail
    inst = make_instance(members=("alice@example.org",), start=False)
    pieces(inst, "[from-list]\nListe {list}\n")
    inst.start()
    g = Gpg(tempfile.mkdtemp(dir="/tmp"), "Alice Liddell", "alice@example.org")
    send(inst, SHAPES["thunderbird"](g), "alice@example.org", rcpt="demo-request@lists.example")
    enc, plain = token_mail(sink, g)
    assert field(enc, "From") == '"Liste demo" <demo-request@lists.example>', head(enc)
    assert b'From: "Liste demo" <demo-request@lists.example>\r\n' in plain, plain
    assert b"demo list" not in enc and b"demo list" not in plain


def test_the_footer_parts_description_is_a_piece(make_instance, sink):
    inst = make_instance(members=("alice@example.org", "bob@example.org"), start=False,
                         list_settings={"footer": "-- the demo list"})
    pieces(inst, "[footer-description]\nFußzeile der Liste\n")
    inst.start()
    send(inst, b"From: Alice <alice@example.org>\r\nSubject: mixed\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
               b"Content-Type: text/plain\r\n\r\nHello mixed.\r\n--B--\r\n", "alice@example.org")
    got = wait_until(lambda: to(sink, "bob@example.org", b"Hello mixed."))
    assert got, inst.logtext()
    m = email.message_from_bytes(got[0], policy=email.policy.default)
    foot = [p for p in m.walk() if "the demo list" in (p.get_content() if
                                                       p.get_content_maintype() == "text" else "")]
    assert foot and foot[0]["Content-Description"] == "Fußzeile der Liste", got[0]
    assert b"Content-Description: =?utf-8?B?" in got[0] and b"list footer" not in got[0]


def forward_of_a_card(inst):
    send(inst, b"From: Quill <quill@example.net>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n--A\r\n"
               b"Content-Type: text/plain\r\n\r\nSee below.\r\n--A\r\n"
               b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nSubject: card\r\n"
               b"Content-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\nEND:VCARD\r\n--A--\r\n",
         "quill@example.net")


def test_an_emptied_forwards_text_is_a_piece(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=("quill@example.net", "bob@example.org"), start=False)
    pieces(inst, "[forward-emptied]\n(Die Liste hat alles aus dieser Weiterleitung entfernt.)\n")
    inst.start()
    forward_of_a_card(inst)
    got = wait_until(lambda: to(sink, "bob@example.org", b"See below."))
    assert got, inst.logtext()
    assert b"(Die Liste hat alles aus dieser Weiterleitung entfernt.)\r\n" in got[0], got[0]
    assert b"Content-Transfer-Encoding: 7bit\r\n\r\n(Die Liste" in got[0]
    assert b"took everything out" not in got[0] and b"VCARD" not in got[0]


def test_the_shipped_emptied_forward_is_english(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=("quill@example.net", "bob@example.org"))
    forward_of_a_card(inst)
    got = wait_until(lambda: to(sink, "bob@example.org", b"See below."))
    assert got, inst.logtext()
    assert (b"Content-Transfer-Encoding: 7bit\r\n\r\n(The list took everything out of this "
            b"forwarded message.)\r\n") in got[0], got[0]
