"""Faithful copies of real-world MIME shapes (#16), posted through a list by the real daemon, the
delivered copy read back with Python's email parser (and exiftool for images).

Fixtures in tests/data/faithful (see its README): an unterminated last part (text + zip; text + HTML
alternative; nested; a final delimiter with nothing after it), a repeated delimiter line, text
labelled multipart, an Outlook Express message whose inner multipart reuses the outer boundary, a forwarded message with Received/X-Mailer/X-Originating-IP and a tracking
image, a digest whose first entry has an empty part header, attachment names in RFC 2047/2231 forms
with a right-to-left override and a path, a JPEG with EXIF GPS/XMP/IPTC/comment, a PNG with
tEXt/iTXt, a PDF with an Author field.
"""
import base64
import email
import json
import email.policy
import os
import re
import shutil
import smtplib
import subprocess
import time

import dkim
import pytest

from conftest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "faithful")
QUILL = "quill@example.net"
BOB = "bob@example.org"
SHELL = b"Nothing in this post could be passed on"


def fixture(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return re.sub(rb"\r?\n", b"\r\n", f.read())


def instance(make_instance, mode, settings=None):
    s = {"identity.mode": mode}
    s.update(settings or {})
    return make_instance(list_settings=s, members=(QUILL, BOB))


def post(inst, sink, raw, marker=None):
    """Send as Quill; the copy Bob gets (None if none came), after the post's log line."""
    n = len(inst.logtext())
    before = len([m for m in sink.handler.messages if BOB in m[1]])
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(QUILL, ["demo@lists.example"], raw)
    line = wait_until(lambda: re.search(r"qmgr: list=demo kind=post .*result=\w+", inst.logtext()[n:]))
    assert line, inst.logtext()[n:]
    if "reason=accepted" not in line.group(0):
        return None
    assert wait_until(lambda: len([m for m in sink.handler.messages if BOB in m[1]]) > before), line
    copy = [m for m in sink.handler.messages if BOB in m[1]][before][2]
    # every copy is one message a verifier accepts: one From, one Date, and the list's signature
    m = parsed(copy)
    assert [k.lower() for k in m.keys()].count("from") == 1 and m["Date"], copy[:500]
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}
    assert dkim.verify(copy, dnsfunc=lambda name, timeout=5: recs.get(name.decode().split(".")[0], "").encode())
    return copy


def notes_to_quill(sink):
    return [m[2] for m in sink.handler.messages if m[1] == [QUILL]]


def parsed(copy):
    return email.message_from_bytes(copy, policy=email.policy.default)


def attached(m):
    """The names of the post's attachments: not the pseudonym's own signature around them (#18)."""
    return [p.get_filename() for p in m.walk()
            if p.get_filename() and p.get_content_type() != "application/pgp-signature"]


def texts(msg):
    out = []
    for p in msg.walk():
        if p.get_content_maintype() == "text" and not p.is_multipart():
            out.append(p.get_content())
    return "\n".join(out)


@pytest.mark.parametrize("mode", ["real", "pseudonym", "anonymous"])
def test_unterminated_and_repeated_boundaries(make_instance, sink, mode):
    """What mail clients show of broken structures reaches the members on every list mode; never the
    'nothing could be passed on' shell."""
    inst = instance(make_instance, mode)
    want = {"unterminated-zip.eml": ["Here are the minutes"],
            "unterminated-alternative.eml": ["Plain words here.", "HTML words here."],
            "unterminated-nested.eml": ["plain", "html"],
            "unterminated-empty-last.eml": ["plain"],
            "repeated-boundary.eml": ["plain", "second"],
            "text-labelled-multipart.eml": ["just text, labelled multipart"],
            "outlook-express-reused-boundary.eml": ["The agenda, attached."]}
    for name, words in want.items():
        copy = post(inst, sink, fixture(name))
        assert copy is not None, f"{name}: not delivered\n{inst.logtext()[-2000:]}"
        assert SHELL not in copy, name
        m = parsed(copy)
        # a real-name copy is the original: a client reads what it would have read there
        shown = copy.decode() if mode == "real" and name.startswith("text-") else texts(m)
        for w in words:
            assert w in shown, f"{name}: {w!r} not shown in\n{copy.decode(errors='replace')}"
        if name == "unterminated-zip.eml":
            zips = [p for p in m.walk() if p.get_content_type() == "application/zip"]
            assert zips and zips[0].get_filename() == "minutes.zip"
            assert zips[0].get_content().startswith(b"PK\x03\x04")
        if name.startswith("outlook-express") and mode != "real":
            # the inner alternative reused the outer boundary: the zip after it is still there
            assert attached(m) == ["agenda.zip"]
        if name == "repeated-boundary.eml" and mode != "real":
            assert "--A" not in shown


def test_nothing_left_is_kept_and_the_author_told(make_instance, sink):
    """A post of which every part must go (a vCard only) is not sent as a shell: kept aside, and the
    author is told what was removed."""
    inst = instance(make_instance, "pseudonym")
    raw = (b"From: Quill Ardenwick <quill@example.net>\r\nSubject: card\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/vcard\r\n\r\n"
           b"BEGIN:VCARD\r\nFN:Quill\r\nEND:VCARD\r\n--A--\r\n")
    assert post(inst, sink, raw) is None
    assert "reason=nothing-left" in inst.logtext()
    note = wait_until(lambda: [d for d in notes_to_quill(sink) if b"nothing in it could be" in d])
    assert note, inst.logtext()
    assert b"contact card" in note[0]
    assert not [m for m in sink.handler.messages if BOB in m[1]]


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_forwarded_message_and_report(make_instance, sink, mode):
    """message/rfc822 on a pseudonymous list: rebuilt (Subject, Date; no Received, X-Mailer,
    Message-ID, X-Originating-IP, addresses; HTML sanitised); kept as it is on a real-name list.
    message/delivery-status stays 7bit either way (RFC 3464)."""
    inst = instance(make_instance, mode)
    copy = post(inst, sink, fixture("forwarded.eml"))
    assert copy is not None, inst.logtext()[-2000:]
    m = parsed(copy)
    fwd = [p for p in m.walk() if p.get_content_type() == "message/rfc822"]
    assert fwd, copy.decode(errors="replace")
    inner = fwd[0].get_content()
    assert str(inner["Subject"]) == "Pläne"
    report = [p for p in m.walk() if p.get_content_type() == "message/delivery-status"]
    assert report and report[0]["Content-Transfer-Encoding"] in (None, "7bit", "8bit")
    assert b"Reporting-MTA: dns; mx.example.com" in copy
    if mode == "real":
        assert inner["X-Mailer"] == "Microsoft Outlook 16.0" and inner["Received"]
        return
    assert inner["Date"] == "Sun, 31 Dec 2023 21:30:00 +0000"
    for h in ("Received", "X-Mailer", "X-Originating-IP", "Message-ID", "From", "To"):
        assert h not in inner, f"{h} kept in the forwarded message"
    for needle in (b"198.51.100.23", b"inner-secret-id", b"tracker.example", b"someone@example.com"):
        assert needle not in copy
    assert "The pläns" in texts(inner)


def test_encoded_forwarded_message_rebuilt(make_instance, sink):
    """A forwarded message sent base64 (RFC 2046 forbids it, clients read it) is decoded and rebuilt
    like any forwarded message on a pseudonymous list; its tracking image goes."""
    inst = instance(make_instance, "pseudonym")
    copy = post(inst, sink, fixture("forwarded-base64.eml"))
    assert copy is not None, inst.logtext()[-2000:]
    fwd = [p for p in parsed(copy).walk() if p.get_content_type() == "message/rfc822"]
    assert fwd and fwd[0].get_filename() == "fwd.eml"
    inner = fwd[0].get_content()
    assert str(inner["Subject"]) == "encoded inner" and "X-Mailer" not in inner
    assert "inner html" in texts(inner)
    for needle in (b"198.51.100.23", b"enc-secret", b"tracker.example", b"someone@example.com"):
        assert needle not in copy


def test_forwarded_text_reaches_the_leak_guard(make_instance, sink):
    """The forwarded message's quoted-printable text is decoded for the leak guard: the author's
    name in it holds the post for her decision."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, members=(BOB,), start=False)
    inst.ctl("member", "add", "demo", QUILL, "--name", "Quill Ardenwick")
    inst.start()
    # the name only in the encoded text (not in a header the old code scanned raw)
    raw = fixture("forwarded.eml").replace(b"by the committee.", b"by Q. Arden=\r\nwick.")
    raw = raw.replace(b"From: Quill Ardenwick <quill@example.net>\r\nTo: someone",
                      b"From: The committee <committee@example.com>\r\nTo: someone")
    assert raw.count(b"Ardenwick") == 1
    assert post(inst, sink, raw) is None
    note = wait_until(lambda: [d for d in notes_to_quill(sink) if b"holding your post" in d])
    assert note, inst.logtext()
    print(note[0].decode(errors="replace"))


@pytest.mark.parametrize("mode", ["real", "pseudonym"])
def test_digest_entries(make_instance, sink, mode):
    """multipart/digest entries (the first with an empty part header: message/rfc822 by default)
    keep From, Subject and Date on a real-name list, Subject and Date elsewhere."""
    inst = instance(make_instance, mode)
    copy = post(inst, sink, fixture("digest.eml"))
    assert copy is not None, inst.logtext()[-2000:]
    entries = [p.get_content() for p in parsed(copy).walk() if p.get_content_type() == "message/rfc822"]
    assert [str(e["Subject"]) for e in entries] == ["first entry", "second entry", "third entry"], \
        copy.decode()
    assert entries[0]["Date"]
    if mode == "real":
        assert "alder@example.org" in str(entries[0]["From"])
    else:
        assert b"alder@example.org" not in copy and b"Brightwater" not in copy
        # the third entry (an empty part header, then its own MIME fields) is sanitised HTML
        assert b"tracker.example" not in copy and "Entry three" in texts(entries[2])
    assert "Entry one text." in texts(entries[0])


def test_attachment_names(make_instance, sink):
    """RFC 2047 and RFC 2231 names decoded and kept as UTF-8 with their extension; a right-to-left
    override removed, and of a path only its last part kept (attack 8, finding 8)."""
    inst = instance(make_instance, "pseudonym")
    copy = post(inst, sink, fixture("names.eml"))
    assert copy is not None, inst.logtext()[-2000:]
    names = attached(parsed(copy))
    assert names == ["Überweisung März.pdf", "管理.doc", "evilfdp.exe", "wd"], names
    assert "\u202e" not in "".join(names)


def exif(blob, tmp_path, suffix):
    path = tmp_path / ("img" + suffix)
    path.write_bytes(blob)
    r = subprocess.run(["exiftool", "-a", "-G1", str(path)], capture_output=True, text=True, check=True)
    return r.stdout


def image_post(name, ctype, data):
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"From: Quill Ardenwick <quill@example.net>\r\nSubject: a picture\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
            b"From the march.\r\n--B\r\nContent-Type: " + ctype.encode() + b"\r\n"
            b"Content-Disposition: attachment; filename=\"" + name.encode() + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--B--\r\n")


def jpeg_scan(data):
    """The JPEG from its first DQT on: tables, frame, scans (the pixels), byte for byte."""
    return data[data.index(b"\xff\xdb"):]


@pytest.mark.skipif(not shutil.which("exiftool"), reason="exiftool is not installed")
def test_image_metadata_removed(make_instance, sink, tmp_path):
    """A JPEG with EXIF GPS, XMP, IPTC and a comment, and a PNG with tEXt/iTXt: the members' copies
    carry none of it (exiftool reads them), the pixel data is byte-identical, the author is told."""
    inst = instance(make_instance, "pseudonym")
    jpg = open(os.path.join(DATA, "photo-exif.jpg"), "rb").read()
    before = exif(jpg, tmp_path, ".jpg")
    assert "GPS Latitude" in before and "Quill Ardenwick" in before      # the fixture has it
    copy = post(inst, sink, image_post("march.jpg", "image/jpeg", jpg))
    assert copy is not None, inst.logtext()[-2000:]
    got = [p.get_content() for p in parsed(copy).walk() if p.get_content_type() == "image/jpeg"]
    assert got, copy.decode(errors="replace")
    after = exif(got[0], tmp_path, ".jpg")
    for gone in ("GPS", "Quill", "Serial Number", "By-line", "Comment", "XMP"):
        assert gone not in after, f"{gone} kept:\n{after}"
    assert jpeg_scan(got[0]) == jpeg_scan(jpg)
    note = wait_until(lambda: [d for d in notes_to_quill(sink) if b"hidden details" in d])
    assert note and b"march.jpg" in note[0]

    png = open(os.path.join(DATA, "chart-text.png"), "rb").read()
    assert "Quill Ardenwick" in exif(png, tmp_path, ".png")
    copy = post(inst, sink, image_post("chart.png", "image/png", png))
    assert copy is not None, inst.logtext()[-2000:]
    got = [p.get_content() for p in parsed(copy).walk() if p.get_content_type() == "image/png"][0]
    after = exif(got, tmp_path, ".png")
    assert "Quill" not in after and "52.5163" not in after and "Image Width" in after
    idat = lambda d: d[d.index(b"IDAT") - 4:]
    assert idat(got) == idat(png)
    # a second post's note is sent too: an earlier note does not silence it (#16)
    assert wait_until(lambda: len([d for d in notes_to_quill(sink) if b"hidden details" in d]) == 2)


@pytest.mark.parametrize("setting", ["default", "refuse", "hold"])
def test_document_with_author(make_instance, sink, setting):
    """A PDF whose Author field names the member is held for the author's confirmation as a leak
    guard hit is (the default: they are told which field and decide), refused, or held for the
    moderators (documents_with_author = refuse / hold)."""
    inst = instance(make_instance, "pseudonym", {} if setting == "default" else {"documents_with_author": setting})
    pdf = open(os.path.join(DATA, "minutes-author.pdf"), "rb").read()
    assert post(inst, sink, image_post("minutes.pdf", "application/pdf", pdf)) is None
    note = wait_until(lambda: [d for d in notes_to_quill(sink) if b"Author field" in d])
    assert note, inst.logtext()
    assert b"minutes.pdf" in note[0]
    assert (b"held for the moderators" in note[0]) == (setting == "hold")
    assert (b"Confirm your post" in note[0]) == (setting == "default")
    assert re.search(r"reason=(leak,)?document", inst.logtext())
    if setting == "hold":
        assert json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout), "not held"
    time.sleep(0.3)
    assert not [m for m in sink.handler.messages if BOB in m[1]]
    if setting == "default":
        # she decides: her confirmation sends it as it is
        addr = re.search(rb"demo-confirm\+[A-Za-z0-9_-]+@lists\.example", note[0]).group(0).decode()
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail(QUILL, [addr], f"From: {QUILL}\r\nSubject: yes\r\n\r\nyes\r\n".encode())
        assert wait_until(lambda: [m for m in sink.handler.messages if BOB in m[1] and b"minutes.pdf" in m[2]]), \
            inst.logtext()[-2000:]


def docx(core):
    """A small .docx as Word writes it (deflated entries); core is the inside of its core.xml."""
    import io
    import zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document><w:t>Minutes of the march</w:t></w:document>")
        z.writestr("docProps/core.xml", '<?xml version="1.0"?><cp:coreProperties xmlns:cp="urn:cp" '
                   'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Minutes</dc:title>' + core +
                   "</cp:coreProperties>")
        z.writestr("docProps/app.xml", "<Properties><Application>Microsoft Office Word</Application>"
                   "</Properties>")
    return b.getvalue()


def test_docx_judged_by_its_properties(make_instance, sink):
    """A .docx whose properties name no one reaches the members byte for byte; one whose (deflated)
    dc:creator names the member is refused, and they are told it was its document properties (#16)."""
    inst = instance(make_instance, "pseudonym")
    clean = docx("<dc:creator></dc:creator><cp:lastModifiedBy>python-docx</cp:lastModifiedBy>")
    copy = post(inst, sink, image_post("minutes.docx", "application/vnd.openxmlformats-officedocument."
                                       "wordprocessingml.document", clean))
    assert copy is not None, inst.logtext()[-2000:]
    got = [p for p in parsed(copy).walk() if p.get_filename() == "minutes.docx"]
    assert got and got[0].get_content() == clean
    assert not [d for d in notes_to_quill(sink) if b"document properties" in d]

    named = docx("<dc:creator>Quill Ardenwick</dc:creator>")
    assert post(inst, sink, image_post("minutes2.docx", "application/vnd.openxmlformats-officedocument."
                                       "wordprocessingml.document", named)) is None
    note = wait_until(lambda: [d for d in notes_to_quill(sink) if b"docProps/core.xml" in d])
    assert note, inst.logtext()[-2000:]
    assert b"minutes2.docx" in note[0]
    assert "reason=document" in inst.logtext()
    assert not [m for m in sink.handler.messages if BOB in m[1] and b"minutes2.docx" in m[2]]


def test_one_note_per_post(make_instance, sink):
    """A post losing several parts gets one note listing them all, not one per part."""
    inst = instance(make_instance, "pseudonym")
    raw = (b"From: Quill Ardenwick <quill@example.net>\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\nText.\r\n"
           b"--A\r\nContent-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\nEND:VCARD\r\n"
           b"--A\r\nContent-Type: application/pgp-keys\r\n\r\nx\r\n"
           b"--A\r\nContent-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\neJ8+\r\n--A--\r\n")
    assert post(inst, sink, raw) is not None
    assert wait_until(lambda: notes_to_quill(sink))
    time.sleep(0.5)
    notes = notes_to_quill(sink)
    assert len(notes) == 1, [n[:300] for n in notes]
    for what in (b"vCard", b"OpenPGP key", b"TNEF"):
        assert what in notes[0]
