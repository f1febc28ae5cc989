"""test_attacks8 - main as a hostile member, a stranger, an informer and a false moderator would
attack it (round 8).

Rounds 5-7 (test_attacks5.py .. test_attacks7.py) are not repeated. Each test asserts the SAFE
behaviour; a finding not fixed stays xfail(strict=True, reason="finding N: ...").
Found on b2c4862: 11 findings. Fixed on this branch (the tests now guard them): 1 mail to the
moderators from <> went as it came (receipts, reply fields, no handle, no mark), 2 a domain's
DKIM signature vouched for every mailbox of the domain (the envelope names a neighbour), 4 HEIC,
MP4/MOV, TIFF and PNG's non-drawing chunks left with their GPS, 5 private mail to a pseudonym
had no limit, 6 comment and tracked-change authors in Word/Excel/PowerPoint/LibreOffice files,
7 a photo pasted into HTML as a data: URL kept its EXIF, 8 an attachment's path named the
author's login, 9 a moderator's Reply All reached the writer's To/Cc addresses, 10 a PDF
comment's /T (the commenter's name), 11 a GIF's comment and XMP blocks. Still xfail: 3 (a DSN
for another member with the Message-ID every copy carries).
"""
import email
import email.policy
import re
import smtplib

import pytest

from attackhelp import head_of, moderated, send, to
from conftest import send_unauthenticated, wait_until

LIST, LIST_REQ = "demo@lists.example", "demo-request@lists.example"
OWNER = "demo-owner@lists.example"
BOUNCES = "demo-bounces@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
STRANGER = "dave@elsewhere.example"
MODS = ("m1@example.org", "m2@example.org")


def fields(raw):
    """the header fields of raw (bytes), unfolded, as text"""
    head = head_of(raw).decode(errors="replace")
    return [re.sub(r"\r\n[ \t]+", " ", f) for f in re.split(r"\r\n(?![ \t])", head)]


# ---- finding 1: mail to the moderators from the null sender --------------------------------

ANSWER_ME = (f"Disposition-Notification-To: <{STRANGER}>\r\nReturn-Receipt-To: <{STRANGER}>\r\n"
             f"Mail-Reply-To: <{STRANGER}>\r\nMail-Followup-To: <{STRANGER}>\r\n"
             f"Reply-To: <{STRANGER}>\r\n")


@pytest.mark.parametrize("who", [STRANGER, ALICE])
def test_null_sender_mail_to_the_moderators_cannot_make_them_answer_directly(
        make_instance, sink, who):
    """Round 7 (finding 1) took the read-receipt and reply fields out of mail to LIST-owner@,
    and put the list's handle in Reply-To - except for mail from the null sender <>, which
    goes "as it came". A stranger who writes MAIL FROM:<> gets a read receipt or a plain Reply
    from a hidden moderator's own address; naming a member in From (alice) it is not even
    marked unverified."""
    inst = moderated(make_instance, "real")
    raw = (f"From: <{who}>\r\nTo: <{OWNER}>\r\n{ANSWER_ME}Subject: a question\r\n\r\n"
           "Who runs this list, null?\r\n")
    send_unauthenticated(inst.port, "", [OWNER], raw)
    got = wait_until(lambda: to(sink, MODS[0], b"Who runs this list, null?"))
    assert got, inst.logtext()[-2000:]
    named = [f for f in fields(got[0])
             if STRANGER in f and not f.lower().startswith(("from:", "to:", "received:"))]
    assert named == [], named
    replyto = [f for f in fields(got[0]) if f.lower().startswith("reply-to:")]
    assert replyto and "demo-owner+" in replyto[0], replyto
    if who == ALICE:
        assert any(f.lower().startswith("x-mlist-sender: not verified")
                   for f in fields(got[0])), fields(got[0])


@pytest.mark.parametrize("sender", [STRANGER, ""])
def test_reply_all_to_mail_for_the_moderators_reaches_nobody_but_the_list(
        make_instance, sink, sender):
    """A stranger writes to the moderators with himself (a second address) in Cc and To. A
    hidden moderator who answers with Reply All writes to the Reply-To handle and to every
    To and Cc address - from her own address: the list's copy must leave no address but its
    own where a reply-all goes."""
    inst = moderated(make_instance, "real")
    other = "dave2@elsewhere.example"
    raw = (f"From: <{STRANGER}>\r\nTo: <{OWNER}>, <{other}>\r\nCc: <{other}>\r\n"
           "Subject: a question\r\n\r\nWho runs this list, all?\r\n")
    send_unauthenticated(inst.port, sender, [OWNER], raw)
    got = wait_until(lambda: to(sink, MODS[0], b"Who runs this list, all?"))
    assert got, inst.logtext()[-2000:]
    replied = [f for f in fields(got[0]) if other in f and
               f.lower().startswith(("to:", "cc:", "reply-to:", "bcc:"))]
    assert replied == [], replied


# ---- finding 2: a domain's signature taken for every mailbox of that domain -----------------

def neighbour_floods(inst, rcpt, subject, n=12):
    """bob@example.org, signed by his provider as himself (From bob, DKIM-aligned), gives the
    envelope sender alice@example.org, his neighbour at the same provider: n mails to rcpt"""
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        for i in range(n):
            s.sendmail(ALICE, [rcpt], f"From: <{BOB}>\r\nTo: <{rcpt}>\r\nSubject: {subject}"
                       f"\r\n\r\n{subject} {i}\r\n".encode())


def test_a_neighbour_cannot_spend_a_members_own_answers_at_request(make_instance, sink):
    """Round 7 made a member's authenticated -request mail count apart from claims of her
    address. But "authenticated" meant: the From domain signed, and the envelope is an
    address of that domain. bob (same provider) signs as himself and writes the envelope
    alice: his twelve `help` spend alice's own ten answers, her signed `unsubscribe` is then
    suppressed for the hour."""
    inst = moderated(make_instance, "real")
    neighbour_floods(inst, LIST_REQ, "help")
    assert wait_until(lambda: inst.logtext().count("kind=request") >= 12, 30), \
        inst.logtext()[-1500:]
    send(inst, f"From: <{ALICE}>\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n", ALICE,
         rcpt=LIST_REQ)
    assert wait_until(lambda: inst.logtext().count("kind=request") >= 13, 20), \
        inst.logtext()[-1500:]
    assert wait_until(lambda: "commands=unsubscribe" in inst.logtext(), 10), \
        inst.logtext()[-1500:]


def test_a_neighbour_cannot_spend_a_members_own_allowance_to_the_moderators(make_instance, sink):
    """The same for LIST-owner@: bob's twelve mails with alice's envelope, then alice's own."""
    inst = moderated(make_instance, "real")
    neighbour_floods(inst, OWNER, "noise")
    assert wait_until(lambda: inst.logtext().count("kind=owner") >= 12, 30), \
        inst.logtext()[-1500:]
    send(inst, f"From: <{ALICE}>\r\nSubject: from alice herself\r\n\r\nA real question.\r\n",
         ALICE, rcpt=OWNER)
    assert wait_until(lambda: to(sink, MODS[0], b"A real question."), 20), inst.logtext()[-1500:]


def test_a_neighbours_request_is_not_answered_as_the_members(make_instance, sink):
    """bob's `who`, signed as bob, enveloped as alice: the answer (to alice's mailbox) must not
    say it came from her (the "unverified" words are missing from an answer to an
    authenticated member)."""
    inst = make_instance(list_settings={"identity.mode": "real"})
    neighbour_floods(inst, LIST_REQ, "who", n=1)
    assert inst.wait_log("request: list=demo sender="), inst.logtext()[-1500:]
    assert "request: list=demo sender=unauthenticated" in inst.logtext(), inst.logtext()[-1500:]


# ---- finding 3: a DSN for another member, with the Message-ID every member's copy carries ----

F3 = ("finding 3: without VERP every member's copy of a post carries the same Message-ID, so a "
      "DSN from any member (or anyone who saw one copy) naming another member counts as evidence "
      "against them: their bounce score rises once a day and a probe goes to them at the limit")


def dsn_for(rcpt, msgid):
    """an RFC 3464 report, as a relay writes it, that rcpt's copy (msgid) failed"""
    b = "dsnb"
    return (f"From: MAILER-DAEMON@mx.example.org\r\nTo: <{BOUNCES}>\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary={b}\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: <{LIST}>\r\nTo: <{LIST}>\r\nMessage-ID: {msgid}\r\nSubject: x\r\n\r\n"
            f"--{b}--\r\n")


def test_a_member_cannot_bounce_another_member_with_her_own_copys_id(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "real"})
    send(inst, f"From: <{CAROL}>\r\nSubject: hello\r\n\r\nHello all, MARK3.\r\n", CAROL)
    mine = wait_until(lambda: to(sink, BOB, b"MARK3"))
    assert mine and wait_until(lambda: to(sink, ALICE, b"MARK3")), inst.logtext()[-1500:]
    msgid = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", mine[0]).group(1).decode()
    send_unauthenticated(inst.port, "", [BOUNCES], dsn_for(ALICE, msgid))
    assert inst.wait_log("bounce: list=demo"), inst.logtext()[-1500:]
    assert "member-score=" not in inst.logtext(), inst.logtext()[-1500:]


# ---- finding 4: the phone's photo and video formats keep where they were taken ---------------

GPS = b"GPSLatitude 52.5163 N GPSLongitude 13.3777 E"
HIDDEN = {
    # iPhones' photos (HEIF), their videos (QuickTime), a camera's TIFF: each carries EXIF
    "heic": ("image/heic", "IMG_0042.HEIC",
             b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x40meta"
             + b"Exif\x00\x00MM\x00*" + GPS),
    "mov": ("video/quicktime", "IMG_0043.MOV",
            b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00\x00\x00\x40moov"
            + b"\xa9xyz+52.5163+013.3777/" + GPS),
    "mp4": ("video/mp4", "clip.mp4",
            b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x40moov"
            + b"\xa9xyz+52.5163+013.3777/" + GPS),
    "tiff": ("image/tiff", "scan.tif", b"MM\x00*\x00\x00\x00\x08" + GPS),
}


def png(*extra):
    """a 1x1 PNG with the chunks extra ((type, data), ...) before its IDAT"""
    import struct
    import zlib

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + b"".join(chunk(t, d) for t, d in extra)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


# the EXIF chunk as ImageMagick wrote it before eXIf was registered, and C2PA's
# content credentials (they name the device and whoever signed the picture)
HIDDEN["png-exif"] = ("image/png", "photo.png", png((b"exIf", b"MM\x00*" + GPS)))
HIDDEN["png-c2pa"] = ("image/png", "photo.png", png((b"caBX", b"jumb c2pa " + GPS)))


def gif(*extensions):
    """a 1x1 GIF89a with the extension blocks extensions (label, data) before its image"""
    def sub(data):
        return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                        for i in range(0, len(data), 255)) + b"\x00"
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
            + b"".join(b"\x21" + bytes([label]) + (sub(d) if label != 0xFF else
                       b"\x0b" + d[:11] + sub(d[11:])) for label, d in extensions)
            + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")


# a comment, and XMP as Photoshop writes it into a GIF (its dc:creator, its GPS)
HIDDEN["gif-comment"] = ("image/gif", "a.gif", gif((0xFE, GPS)))
HIDDEN["gif-xmp"] = ("image/gif", "a.gif", gif((0xFF, b"XMP DataXMP" + b"<x:xmpmeta " + GPS)))


def decoded_parts(raw):
    """every leaf part of a delivered copy, decoded"""
    return [p.get_payload(decode=True) or b""
            for p in email.message_from_bytes(raw, policy=email.policy.compat32).walk()
            if not p.is_multipart()]


@pytest.mark.parametrize("kind", sorted(HIDDEN))
def test_attachment_formats_the_list_cannot_clean_do_not_leave_with_their_gps(
        make_instance, sink, kind):
    """meta.c strips EXIF from JPEG, PNG and WebP. A pseudonymous member who attaches a photo
    as her phone makes it (HEIC), a video (MOV/MP4, whose moov box holds the place in ©xyz)
    or a TIFF sends the place it was taken - often her home - to every member untouched.
    What the list cannot clean must not go out as it came."""
    import base64
    ctype, name, data = HIDDEN[kind]
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "att8"
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: a picture\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nLook at this, MARK8A.\r\n"
           f"--{b}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
           f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(data).decode().replace("\n", "\r\n") + f"--{b}--\r\n")
    send(inst, raw, ALICE)
    got = wait_until(lambda: to(sink, BOB, b"MARK8A"))
    assert got, inst.logtext()[-2000:]
    leaked = [p for p in decoded_parts(got[0]) if b"52.5163" in p]
    assert leaked == [], f"the {kind} reached bob with its GPS position"


# ---- finding 5: private replies to a pseudonym have no limit ---------------------------------

def handle_of(sink, marker):
    """the private address of the pseudonym whose post carries marker (bob's copy)"""
    got = wait_until(lambda: to(sink, BOB, marker))
    assert got
    return re.search(rb"Mlist-Private-Reply: <mailto:(demo\+p-[a-z0-9]+@lists\.example)>",
                     got[0]).group(1).decode()


def test_one_sender_cannot_flood_a_pseudonym_through_the_list(make_instance, sink):
    """Posts have max_posts_per_day, LIST-owner@ ten an hour per address; LIST+p-HANDLE@ had
    nothing: bob sends alice's pseudonym 40 private mails and the list signs and relays all
    40 to her. She cannot block him (she never learns his address), and each costs the list
    a parse, a signature and a delivery."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    send(inst, f"From: <{ALICE}>\r\nSubject: hi\r\n\r\nHello, MARK5.\r\n", ALICE)
    priv = handle_of(sink, b"MARK5")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        for i in range(40):
            s.sendmail(BOB, [priv], f"From: <{BOB}>\r\nTo: <{priv}>\r\nSubject: p {i}\r\n\r\n"
                       f"Private FLOOD{i}.\r\n".encode())
    assert wait_until(lambda: inst.logtext().count("kind=private") >= 40, 60), \
        inst.logtext()[-1500:]
    assert wait_until(lambda: to(sink, ALICE, b"Private FLOOD"), 20), inst.logtext()[-1500:]
    inst.wait_log("kind=private", 1)
    got = to(sink, ALICE, b"Private FLOOD")
    assert len(got) <= 20, f"{len(got)} of 40 private mails from one sender reached alice"


# ---- finding 6: who commented or changed a document is not its "properties" ----------------

def docx(**entries):
    """a Word file whose properties name nobody, with more entries (name: XML text)"""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("docProps/core.xml", '<?xml version="1.0"?><cp:coreProperties '
                   'xmlns:cp="c" xmlns:dc="d"><dc:creator></dc:creator>'
                   '<cp:lastModifiedBy></cp:lastModifiedBy></cp:coreProperties>')
        for name, text in entries.items():
            z.writestr(name.replace("__", "/").replace("_xml", ".xml"), text)
    return out.getvalue()


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
NAMED_DOCS = {
    "comment": docx(word__comments_xml=f'<?xml version="1.0"?><w:comments {W}><w:comment '
                    'w:id="0" w:author="Rosa Luxemburg" w:initials="RL"><w:p/></w:comment>'
                    '</w:comments>'),
    "tracked": docx(word__document_xml=f'<?xml version="1.0"?><w:document {W}><w:body><w:p>'
                    '<w:ins w:id="1" w:author="Rosa Luxemburg" w:date="2026-12-01T10:00:00Z">'
                    '<w:r><w:t>text</w:t></w:r></w:ins></w:p></w:body></w:document>'),
    "people": docx(word__people_xml='<?xml version="1.0"?><w15:people xmlns:w15="x">'
                   '<w15:person w15:author="Rosa Luxemburg"><w15:presenceInfo '
                   'w15:providerId="AD" w15:userId="rosa@spartakus.example"/></w15:person>'
                   '</w15:people>'),
}


@pytest.mark.parametrize("kind", sorted(NAMED_DOCS))
def test_document_comments_and_changes_name_their_author_too(make_instance, sink, kind):
    """documents_with_author (default confirm) judges a Word file by docProps only. Word writes
    the author's name on every comment (word/comments.xml), every tracked change
    (word/document.xml) and, signed in, her account (word/people.xml). A pseudonymous
    member's draft with one comment went to every member with her name in it."""
    import base64
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "doc8"
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: the draft\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nThe draft, MARK6{kind}.\r\n"
           f"--{b}\r\nContent-Type: application/vnd.openxmlformats-officedocument."
           "wordprocessingml.document; name=\"draft.docx\"\r\n"
           "Content-Disposition: attachment; filename=\"draft.docx\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(NAMED_DOCS[kind]).decode().replace("\n", "\r\n")
           + f"--{b}--\r\n")
    send(inst, raw, ALICE)
    mark = f"MARK6{kind}".encode()
    # either it went out, or alice is asked about the document first
    assert wait_until(lambda: to(sink, BOB, mark) or to(sink, ALICE, b"draft.docx")), \
        inst.logtext()[-2000:]
    assert to(sink, BOB, mark) == [], "the document went out with the name in it"


def ooxml(*entries):
    """a PowerPoint or Excel file whose properties name nobody, with more (name, XML) entries"""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("docProps/core.xml", '<?xml version="1.0"?><cp:coreProperties '
                   'xmlns:cp="c" xmlns:dc="d"><dc:creator></dc:creator></cp:coreProperties>')
        for name, text in entries:
            z.writestr(name, text)
    return out.getvalue()


OOXML = "application/vnd.openxmlformats-officedocument."
# (file name, content type, the document, the part of it alice is told about)
NAMED_OFFICE = {
    "pptx": ("slides.pptx", OOXML + "presentationml.presentation", ooxml(
        ("ppt/slides/slide1.xml", '<?xml version="1.0"?><p:sld xmlns:p="p"><p:cSld><p:spTree>'
         '<p:nvSpPr><p:cNvPr id="2" name="Title 1"/></p:nvSpPr></p:spTree></p:cSld></p:sld>'),
        ("ppt/commentAuthors.xml", '<?xml version="1.0"?><p:cmAuthorLst xmlns:p="p">'
         '<p:cmAuthor id="1" name="Rosa Luxemburg" initials="RL" lastIdx="1" clrIdx="0"/>'
         '</p:cmAuthorLst>')), "commentAuthors.xml"),
    "xlsx": ("figures.xlsx", OOXML + "spreadsheetml.sheet", ooxml(
        ("xl/workbook.xml", '<?xml version="1.0"?><workbook/>'),
        ("xl/comments1.xml", '<?xml version="1.0"?><comments><authors><author>tc={6A1F0E2B-'
         '3C4D-4E5F-8A9B-0C1D2E3F4A5B}</author></authors></comments>'),
        ("xl/threadedComments/threadedComment1.xml", '<?xml version="1.0"?><ThreadedComments>'
         '<threadedComment ref="A1" personId="{6A1F0E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B}"/>'
         '</ThreadedComments>'),
        ("xl/persons/person.xml", '<?xml version="1.0"?><personList><person displayName='
         '"Rosa Luxemburg" id="{6A1F0E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B}" userId='
         '"rosa@spartakus.example" providerId="AD"/></personList>')), "person.xml"),
}


@pytest.mark.parametrize("kind", sorted(NAMED_OFFICE))
def test_slides_and_sheets_comments_name_their_author_too(make_instance, sink, kind):
    """Finding 6 read Word's comments only. PowerPoint lists every commenter by name in
    ppt/commentAuthors.xml (ppt/authors.xml, with her account, for the new comments); Excel
    keeps the people of threaded comments, name and mail address, in xl/persons/person.xml.
    A pseudonymous member's slides or sheet with one comment went to every member with her
    name in it."""
    import base64
    fname, ctype, data, part = NAMED_OFFICE[kind]
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "doc8"
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: the draft\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nThe draft, MARK6{kind}.\r\n"
           f"--{b}\r\nContent-Type: {ctype}; name=\"{fname}\"\r\n"
           f"Content-Disposition: attachment; filename=\"{fname}\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(data).decode().replace("\n", "\r\n")
           + f"--{b}--\r\n")
    send(inst, raw, ALICE)
    mark = f"MARK6{kind}".encode()
    # either it went out, or alice is told about the document first
    assert wait_until(lambda: to(sink, BOB, mark) or to(sink, ALICE, fname.encode())), \
        inst.logtext()[-2000:]
    assert to(sink, BOB, mark) == [], f"the {kind} went out with the name in it"
    told = to(sink, ALICE, fname.encode())[0]
    assert part.encode() in told, told.decode(errors="replace")[-1500:]
    assert b"Rosa Luxemburg" not in told


# ---- finding 7: a photo pasted into HTML keeps its EXIF -------------------------------------

def jpeg_with_gps():
    """a JPEG the walker reads to its end, an EXIF segment (APP1) with a GPS position in it"""
    import struct
    exif = b"Exif\x00\x00MM\x00*" + GPS
    return (b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
            + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12\x34\x56" + b"\xff\xd9")


@pytest.mark.parametrize("how", ["attached", "pasted"])
def test_a_photo_pasted_into_html_loses_its_exif_too(make_instance, sink, how):
    """An attached JPEG loses its EXIF on a pseudonymous list; the same photo pasted into an
    HTML mail (a data: URL in <img src>, as Apple Mail and web mailers write it) was copied
    byte for byte, GPS and camera with it."""
    import base64
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    img = base64.b64encode(jpeg_with_gps()).decode()
    b = "html8"
    if how == "pasted":
        part = (f"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Look, MARK7."
                f"</p><img src=\"data:image/jpeg;base64,{img}\"></body></html>\r\n")
    else:
        part = ("Content-Type: image/jpeg; name=\"p.jpg\"\r\nContent-Transfer-Encoding: base64"
                f"\r\n\r\n{img}\r\n")
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: a photo\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nLook, MARK7.\r\n--{b}\r\n{part}--{b}--\r\n")
    send(inst, raw, ALICE)
    got = wait_until(lambda: to(sink, BOB, b"MARK7"))
    assert got, inst.logtext()[-2000:]
    parts = decoded_parts(got[0])
    urls = [base64.b64decode(u) for p in parts
            for u in re.findall(rb"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", p)]
    leaked = [p for p in parts + urls if b"52.5163" in p]
    assert leaked == [], f"the {how} photo reached bob with its GPS position"


# ---- finding 8: an attachment's name with the path it came from ------------------------------

@pytest.mark.parametrize("name", ["C:\\\\Users\\\\rluxemburg\\\\Documents\\\\cv.pdf",
                                  "/home/rluxemburg/cv.pdf"])
def test_an_attachments_path_does_not_go_out_with_its_name(make_instance, sink, name):
    """Some clients (Outlook Express, webmail fed by old browsers) write the file's whole path
    as its name. filename.c took the separators out and kept the rest: "CUsersrluxemburg
    Documentscv.pdf" told every member of a pseudonymous list the author's login name."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "fn8"
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: cv\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nMy cv, MARK8F.\r\n"
           f"--{b}\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
           f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n"
           f"--{b}--\r\n")
    send(inst, raw, ALICE)
    got = wait_until(lambda: to(sink, BOB, b"MARK8F"))
    assert got, inst.logtext()[-2000:]
    assert b"cv.pdf" in got[0], got[0][-800:]
    assert b"rluxemburg" not in got[0], [f for f in fields(got[0])][-3:]


def test_reply_all_to_a_private_mail_reaches_nobody_but_the_list(make_instance, sink):
    """The same for a private mail to a pseudonym: bob writes to alice's pseudonym with his
    other address in To and Cc; alice's Reply All must not write to it from her own."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    send(inst, f"From: <{ALICE}>\r\nSubject: hi\r\n\r\nHello, MARK9.\r\n", ALICE)
    priv = handle_of(sink, b"MARK9")
    other = "bobs.other@elsewhere.example"
    send(inst, f"From: <{BOB}>\r\nTo: <{priv}>, <{other}>\r\nCc: <{other}>\r\n"
         "Subject: psst\r\n\r\nJust between us, MARK9P.\r\n", BOB, rcpt=priv)
    got = wait_until(lambda: to(sink, ALICE, b"MARK9P"))
    assert got, inst.logtext()[-2000:]
    replied = [f for f in fields(got[0]) if other in f and
               f.lower().startswith(("to:", "cc:", "reply-to:", "bcc:"))]
    assert replied == [], replied


def encrypted_to_list(inst, outer, entity):
    """entity (a MIME entity with its protected headers) encrypted to the list's key, PGP/MIME,
    under the outer header fields outer (bytes)"""
    import os
    import tempfile
    from test_openpgp import Gpg
    g = Gpg.__new__(Gpg)
    g.home = tempfile.mkdtemp(prefix="gpg-a8-", dir="/tmp")
    r = inst.ctl("keys", "demo", "--export")
    assert r.returncode == 0, r.stderr
    g.gpg("--import", "-", inp=r.stdout.encode())
    enc = g.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", LIST, "--output", "-",
                "-", inp=entity).stdout
    b = "=_enc_" + os.urandom(8).hex()
    return outer + (
        "Subject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
        f"protocol=\"application/pgp-encrypted\"; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
        f"--{b}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
    ).encode() + enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + f"\r\n--{b}--\r\n".encode()


def test_a_photo_in_an_encrypted_post_loses_its_exif_too(make_instance, sink):
    """alice encrypts her post to the list's key (as Thunderbird does once it has the key); the
    list opens it and distributes it in clear to members without a key. The photo inside must
    lose its EXIF as in a post sent in clear."""
    import base64
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "enc8"
    img = base64.encodebytes(jpeg_with_gps()).decode().replace("\n", "\r\n")
    entity = (f"Content-Type: multipart/mixed; boundary={b}; protected-headers=\"v1\"\r\n"
              f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: a photo, sealed\r\n\r\n"
              f"--{b}\r\nContent-Type: text/plain\r\n\r\nLook, MARK10.\r\n"
              f"--{b}\r\nContent-Type: image/jpeg; name=\"p.jpg\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n{img}--{b}--\r\n").encode()
    send(inst, encrypted_to_list(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\n".encode(), entity),
         ALICE)
    got = wait_until(lambda: to(sink, BOB, b"MARK10"))
    assert got, inst.logtext()[-2000:]
    leaked = [p for p in decoded_parts(got[0]) if b"52.5163" in p]
    assert leaked == [], "the photo in the encrypted post reached bob with its GPS position"


def pdf(*objs):
    """a small PDF whose Info names nobody, with more objects (bodies, numbered from 4)"""
    body = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>",
            b"<< /Producer (LibreOffice 7.4) /Author () >>"] + list(objs)
    out, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(body, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    return out + (b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                  % (len(body) + 1, xref))


@pytest.mark.parametrize("who", ["annotation", "nobody"])
def test_a_pdf_comment_names_its_author(make_instance, sink, who):
    """Acrobat and every PDF reader write the commenter's name (the login, or the identity set)
    as /T of each comment. A pseudonymous member's annotated PDF went out with it."""
    import base64
    t = b"(Rosa Luxemburg)" if who == "annotation" else b"()"
    doc = pdf(b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /T " + t
              + b" /Contents (see here) >>")
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    b = "pdf8"
    raw = (f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: the draft\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n"
           f"--{b}\r\nContent-Type: text/plain\r\n\r\nThe draft, MARK11{who}.\r\n"
           f"--{b}\r\nContent-Type: application/pdf; name=\"draft.pdf\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(doc).decode().replace("\n", "\r\n") + f"--{b}--\r\n")
    send(inst, raw, ALICE)
    mark = f"MARK11{who}".encode()
    assert wait_until(lambda: to(sink, BOB, mark) or to(sink, ALICE, b"draft.pdf")), \
        inst.logtext()[-2000:]
    if who == "nobody":
        assert wait_until(lambda: to(sink, BOB, mark)), "a PDF naming nobody was held"
    else:
        assert to(sink, BOB, mark) == [], "the PDF went out with the commenter's name in it"
