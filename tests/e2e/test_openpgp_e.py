"""test_openpgp_e - #17: what the list sends besides posts reaches a member with a key encrypted
like her posts, checked with gpg as her client would: digests, `archive get` answers, the notices
that carry or quote a post (the moderators' held-post notice, a published rejection) and the
moderators' copy of mail to LIST-owner.

Each encrypted copy must be RFC 3156 PGP/MIME with exactly one PKESK (her subkey's), open with her
key, carry a valid signature by the list's key, be padded to a size bucket (the signed packets a
power of two, at least 4 KiB) and hold what a member without a key receives in clear: the same
bytes where both get the same copy (digest, announcement, -owner copy), the same attached post
where each gets their own notice (held post, archive answer).
"""
import base64
import email
import email.policy
import email.utils
import pathlib
import re
import shutil
import smtplib

import pytest
from conftest import wait_until
from test_pgp_delivery import ALLOWED_OUTER, dkim_ok, keyed, list_key, send, to

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is needed (tools/install-deps)")

LIST = "demo@lists.example"
ALICE, BOB, DAVE = "alice@example.org", "bob@example.org", "dave@example.org"
PROTECTED = b';\r\n protected-headers="v1"'


def keyed_instance(make_instance, tmp_path, settings=None):
    """alice keyed, bob and dave in clear; alice has the list's key to check signatures"""
    inst = make_instance(list_settings=settings, members=(ALICE, BOB, DAVE))
    alice = keyed(inst, tmp_path, "Alice", ALICE)
    fpr = list_key(inst, tmp_path)
    alice.gpg("--import", str(tmp_path / "list.asc"))
    return inst, alice, fpr


def encrypted_with(sink, g, rcpt, marker):
    """rcpt's encrypted copies whose plaintext holds marker"""
    out = []
    for raw in to(sink, rcpt, b"multipart/encrypted"):
        dec = g.gpg("--decrypt", "-", inp=raw, check=False).stdout
        if marker in dec:
            out.append(raw)
    return out


def both_copies(inst, sink, g, plain_to, marker, enc_marker=None):
    """the plain member's copies holding marker, then ALICE's encrypted ones whose plaintext
    holds enc_marker (marker by default): each waited for, the log shown if one never came"""
    plain = wait_until(lambda: to(sink, plain_to, marker))
    assert plain, inst.logtext()[-3000:]
    enc = wait_until(lambda: encrypted_with(sink, g, ALICE, enc_marker or marker))
    assert enc, inst.logtext()[-3000:]
    return plain, enc


def outside(inst, copy):
    """the outer header as a post's (test_pgp_delivery): two parts, From
    the list key's UID, its Autocrypt addr the From, nothing outside the
    allow-list, DKIM verifies (audit17)"""
    msg = email.message_from_bytes(copy, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/encrypted", copy[:1500]
    assert msg.get_param("protocol") == "application/pgp-encrypted"
    assert msg["Subject"] == "..."
    p1, p2 = msg.get_payload()
    assert p1.get_content_type() == "application/pgp-encrypted"
    assert p1.get_payload().strip() == "Version: 1"
    assert p2.get_content_type() == "application/octet-stream"
    assert p2.get_param("name") == "encrypted.asc"
    assert email.utils.parseaddr(msg["From"])[1] == LIST, msg["From"]
    ac = re.sub(r"\s+", "", msg["Autocrypt"] or "")
    assert ac.startswith("addr=%s;" % LIST), msg["Autocrypt"]
    assert {k.lower() for k in msg.keys()} <= ALLOWED_OUTER, set(msg.keys())
    assert dkim_ok(inst, copy)


def opened(g, listfpr, copy, inst=None):
    """copy checked as g's client sees it; its plaintext"""
    msg = email.message_from_bytes(copy, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/encrypted", copy[:1500]
    assert msg.get_param("protocol") == "application/pgp-encrypted"
    assert msg["Subject"] == "..."
    if inst is not None:
        outside(inst, copy)
    st = g.gpg("--status-fd", "1", "--decrypt", "-", inp=copy).stdout.decode()
    assert "[GNUPG:] DECRYPTION_OKAY" in st, st
    assert "[GNUPG:] DECRYPTION_INFO 2 9 0" in st, st   # MDC, AES-256
    assert re.search(r"^\[GNUPG:\] VALIDSIG %s " % listfpr, st, re.M), st
    lp = g.gpg("--list-packets", inp=copy).stdout.decode()
    assert lp.count(":pubkey enc packet:") == 1, lp
    keys = g.gpg("--list-keys", "--with-colons", g.fpr).stdout.decode()
    subkey = re.findall(r"^fpr:+([0-9A-F]{40}):", keys, re.M)[1]
    assert "keyid %s" % subkey[-16:] in lp, lp
    assert ":compressed packet:" not in lp
    assert 'name=""' in lp and "created 0" in lp, lp    # literal: no name
    signed = g.gpg("--decrypt", "--unwrap", "-", inp=copy).stdout
    n = len(signed)
    assert n >= 4096 and n & (n - 1) == 0, f"signed packets of {n} bytes: no bucket"
    return g.gpg("--decrypt", "-", inp=copy).stdout


def unpadded(dec):
    """a multipart plaintext back to the clear copy: protected-headers off, filler dropped"""
    head, body = dec.split(b"\r\n\r\n", 1)
    assert PROTECTED in head, head
    filler = len(body) - len(body.lstrip(b" \r\n"))
    return head.replace(PROTECTED, b"", 1) + b"\r\n\r\n" + body[filler:]


def bucket(g, copy):
    return len(g.gpg("--decrypt", "--unwrap", "-", inp=copy).stdout)


def attached(raw):
    """the message/rfc822 part a notice carries, as bytes"""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = [p for p in msg.walk() if p.get_content_type() == "message/rfc822"]
    assert len(parts) == 1, raw[:3000]
    return parts[0].get_payload()[0].as_bytes()


def test_digest_to_a_keyed_member_is_encrypted_and_is_the_plain_digest(make_instance, sink,
                                                                       tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    for who in (ALICE, BOB):
        assert inst.ctl("member", "set", "demo", who, "digest", "on").returncode == 0
    send(inst, f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: one\r\n\r\nFirst of the day.\r\n"
         .encode(), DAVE)
    long = "A long report from the branch meeting, line after line.\r\n" * 120
    send(inst, f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: two\r\n\r\n{long}".encode(), DAVE)
    assert wait_until(lambda: len(to(sink, DAVE)) >= 2), inst.logtext()[-3000:]
    assert inst.ctl("digest", "send", "demo").returncode == 0
    plain = wait_until(lambda: to(sink, BOB, b"multipart/digest"))
    assert plain, inst.logtext()[-3000:]
    assert b"First of the day." in plain[0] and b"branch meeting" in plain[0]
    enc = wait_until(lambda: to(sink, ALICE, b"multipart/encrypted"))
    assert enc, inst.logtext()[-3000:]
    assert len(enc) == 1 and b"First of the day." not in enc[0]
    dec = opened(alice, fpr, enc[0], inst)
    assert b"First of the day." in dec and b"multipart/digest" in dec
    assert unpadded(dec) == plain[0]
    # 7 KiB of posts: the next bucket up, not the post's own length
    assert bucket(alice, enc[0]) == 16384


def test_archive_answer_to_a_keyed_member_is_encrypted_and_carries_the_post(make_instance, sink,
                                                                           tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    send(inst, f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: minutes\r\n\r\nMinutes of the branch.\r\n"
         .encode(), DAVE)
    assert wait_until(lambda: to(sink, BOB, b"Minutes of the branch.")), inst.logtext()[-3000:]
    for who in (ALICE, BOB):
        send(inst, f"From: {who}\r\nSubject: request\r\n\r\narchive get 1\r\n".encode(), who,
             rcpt="demo-request@lists.example")
    plain, enc = both_copies(inst, sink, alice, BOB, b"is attached")
    assert not to(sink, ALICE, b"is attached") and not to(sink, ALICE, b"Minutes of the branch")
    dec = opened(alice, fpr, enc[0], inst)
    assert b"Minutes of the branch." in dec
    assert attached(unpadded(dec)) == attached(plain[0])


def test_held_post_notice_to_a_keyed_moderator_is_encrypted(make_instance, sink, tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path, {"posting": "moderated"})
    for who in (ALICE, DAVE):
        assert inst.ctl("member", "set", "demo", who, "role", "moderator").returncode == 0
    send(inst, f"From: {BOB}\r\nTo: {LIST}\r\nSubject: dissent\r\n\r\nHeld words.\r\n".encode(),
         BOB)
    plain, enc = both_copies(inst, sink, alice, DAVE, b"waits for moderation")
    assert not to(sink, ALICE, b"Held words.") and not to(sink, ALICE, b"dissent")
    dec = opened(alice, fpr, enc[0], inst)
    assert b"Held words." in dec
    assert attached(unpadded(dec)) == attached(plain[0])
    # her token works from the decrypted notice: she approves, the post goes out
    tok = re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", dec).group(1).decode()
    send(inst, f"From: {ALICE}\r\nSubject: Re\r\n\r\napprove\r\n".encode(), ALICE,
         rcpt=f"demo-confirm+{tok}@lists.example")
    assert wait_until(lambda: to(sink, DAVE, b"Held words.") and
                      [m for m in to(sink, DAVE, b"Held words.") if b"waits for" not in m]), \
        inst.logtext()[-3000:]


def test_published_rejection_quoting_a_post_is_encrypted_to_keyed_members(make_instance, sink,
                                                                          tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path,
                                      {"posting": "moderated",
                                       "leadership.publish_rejections": "true"})
    send(inst, f"From: {BOB}\r\nTo: {LIST}\r\nSubject: flame war\r\n\r\nYou are wrong.\r\n"
         .encode(), BOB)
    assert wait_until(lambda: inst.ctl("mod", "queue", "demo").stdout.strip())
    held = inst.ctl("mod", "queue", "demo").stdout.split()[0]
    assert inst.ctl("mod", "reject", "demo", held, "off", "topic").returncode == 0
    plain, enc = both_copies(inst, sink, alice, DAVE, b"The moderators rejected a post")
    assert b"flame war" in plain[0]
    assert not to(sink, ALICE, b"flame war")
    dec = opened(alice, fpr, enc[0], inst)
    assert b"flame war" in dec and b"off topic" in dec
    wrapped = email.message_from_bytes(dec, policy=email.policy.compat32)
    # a single-part notice travels as the one part of a multipart/mixed
    inner = wrapped.get_payload()[0].get_payload(decode=True)
    clear = email.message_from_bytes(plain[0], policy=email.policy.compat32)
    assert inner == clear.get_payload(decode=True)
    for h in ("From", "Subject", "Date", "Message-ID", "List-Id"):
        assert wrapped[h] == clear[h], h


def test_owner_mail_to_a_keyed_moderator_is_encrypted(make_instance, sink, tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    for who in (ALICE, DAVE):
        assert inst.ctl("member", "set", "demo", who, "role", "moderator").returncode == 0
    body = "Please look at the thread about the depot.\r\n" * 100
    send(inst, f"From: {BOB}\r\nTo: demo-owner@lists.example\r\nSubject: a word\r\n\r\n{body}"
         .encode(), BOB, rcpt="demo-owner@lists.example")
    plain = wait_until(lambda: to(sink, DAVE, b"the depot"))
    assert plain, inst.logtext()[-3000:]
    enc = wait_until(lambda: to(sink, ALICE, b"multipart/encrypted"))
    assert enc, inst.logtext()[-3000:]
    assert not to(sink, ALICE, b"the depot")
    dec = opened(alice, fpr, enc[0], inst)
    assert b"the depot" in dec
    assert bucket(alice, enc[0]) == 8192


def test_answer_to_a_command_from_a_keyed_member_is_encrypted(
        make_instance, sink, tmp_path):
    """A notice that carries no post - the answer to `help` - is encrypted
    like the rest: one PKESK, a bucket, the outer header of a post (audit17:
    no test opened one)."""
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    for who in (ALICE, BOB):
        send(inst, f"From: {who}\r\nSubject: help\r\n\r\nhelp\r\n"
             .encode(), who, rcpt="demo-request@lists.example")
    plain, enc = both_copies(inst, sink, alice, BOB,
                             b"demo-request@lists.example",
                             b"Your request to the list")
    assert not to(sink, ALICE, b"Your request to the list")
    dec = opened(alice, fpr, enc[0], inst)
    wrapped = email.message_from_bytes(dec, policy=email.policy.compat32)
    inner = wrapped.get_payload()[0].get_payload(decode=True)
    clear = email.message_from_bytes(
        plain[0], policy=email.policy.compat32).get_payload(decode=True)
    assert inner == clear.replace(BOB.encode(), ALICE.encode())


def test_held_post_released_later_is_signed_at_its_release(
        make_instance, sink, tmp_path):
    """A post held for moderation, approved seconds later: the keyed
    member's copy carries one time in its outer Date:, its protected Date:
    and its signature, to the second (Thunderbird shows a "Signature Date
    Mismatch" past an hour). A real-name held copy keeps the Date: it was
    held with (its arrival); signing it at the release would put the two
    3 s apart here, days apart for a real hold. test_pseudonym_pgp checks a
    pseudonym's key only (audit17)."""
    import time
    inst, alice, fpr = keyed_instance(make_instance, tmp_path,
                                      {"posting": "moderated"})
    r = inst.ctl("member", "set", "demo", DAVE, "role", "moderator")
    assert r.returncode == 0
    send(inst, f"From: {BOB}\r\nTo: {LIST}\r\nSubject: late\r\n\r\n"
         "Released later.\r\n".encode(), BOB)
    assert wait_until(lambda: inst.ctl("mod", "queue", "demo").stdout.strip())
    held = time.time()
    assert wait_until(lambda: time.time() >= held + 3.1, timeout=5)
    qid = inst.ctl("mod", "queue", "demo").stdout.split()[0]
    assert inst.ctl("mod", "approve", "demo", qid).returncode == 0
    enc = wait_until(
        lambda: encrypted_with(sink, alice, ALICE, b"Released later."))
    assert enc, inst.logtext()[-3000:]
    dec = opened(alice, fpr, enc[0], inst)
    st = alice.gpg("--status-fd", "1", "--decrypt", "-",
                   inp=enc[0]).stdout.decode()
    sigtime = int(re.search(r"VALIDSIG \S+ \S+ (\d+)", st).group(1))
    outer = email.utils.parsedate_to_datetime(
        email.message_from_bytes(enc[0])["Date"]).timestamp()
    inner = email.utils.parsedate_to_datetime(
        email.message_from_bytes(dec)["Date"]).timestamp()
    assert sigtime == int(outer) == int(inner), (sigtime, outer, inner)
    assert time.time() >= held + 3      # released after the hold


def test_private_reply_to_a_keyed_pseudonym_is_encrypted(make_instance, sink,
                                                          tmp_path):
    """bob writes in clear to the address of alice's pseudonym: the relayed
    copy reaches her encrypted to her key, one PKESK, as her posts do
    (audit17: relayed private mail to a keyed member had no test)."""
    inst, alice, fpr = keyed_instance(make_instance, tmp_path,
                                      {"identity.mode": "pseudonym"})
    send(inst, f"From: {ALICE}\r\nTo: {LIST}\r\nSubject: ask me\r\n\r\n"
         "Write to me privately.\r\n".encode(), ALICE)
    mine = wait_until(lambda: to(sink, BOB, b"Write to me privately."))
    assert mine, inst.logtext()[-3000:]
    frm = email.message_from_bytes(mine[0], policy=email.policy.default)["From"]
    addr = frm.addresses[0].addr_spec
    assert addr.startswith("demo+p-"), addr
    send(inst, f"From: {BOB}\r\nTo: {addr}\r\nSubject: just you\r\n\r\n"
         "A word for you alone.\r\n".encode(), BOB, rcpt=addr)
    enc = wait_until(
        lambda: encrypted_with(sink, alice, ALICE, b"A word for you alone."),
        timeout=30)
    assert enc, (inst.logtext()[-3000:],
                 [m[:600] for m in to(sink, ALICE, b"A word for you alone.")])
    assert not to(sink, ALICE, b"A word for you alone.")
    # signed by the writer's pseudonym, whose key its Autocrypt header holds
    m = email.message_from_bytes(enc[0], policy=email.policy.compat32)
    ac = dict(kv.split("=", 1) for kv in
              re.sub(r"\s+", "", m["Autocrypt"]).split(";") if "=" in kv)
    writer = email.utils.parseaddr(m["From"])[1]
    assert writer.startswith("demo+p-") and ac["addr"] == writer, m["From"]
    key = base64.b64decode(ac["keydata"])
    alice.gpg("--import", inp=key)
    shown = alice.gpg("--show-keys", "--with-colons", inp=key).stdout.decode()
    pfpr = re.search(r"^fpr:+([0-9A-F]{40}):", shown, re.M).group(1)
    dec = opened(alice, pfpr, enc[0])
    assert BOB.encode() not in dec and BOB.encode() not in enc[0]


def moderator_answers(inst, sink, writer):
    """writer writes to -owner; dave, made a moderator, answers through the
    LIST-owner+HANDLE@ address of his copy: "Your account is fine." """
    r = inst.ctl("member", "set", "demo", DAVE, "role", "moderator")
    assert r.returncode == 0
    send(inst, f"From: {writer}\r\nTo: demo-owner@lists.example\r\n"
         "Subject: my account\r\n\r\nPlease look at my account.\r\n"
         .encode(), writer, rcpt="demo-owner@lists.example")
    got = wait_until(lambda: to(sink, DAVE, b"Please look at my account."))
    assert got, inst.logtext()[-3000:]
    back = re.search(rb"Reply-To: <(demo-owner\+[a-z0-9]+@lists\.example)>",
                     got[0]).group(1).decode()
    send(inst, f"From: <{DAVE}>\r\nSubject: Re: my account\r\n\r\n"
         "Your account is fine.\r\n".encode(), DAVE, rcpt=back)


def test_moderators_answer_to_a_keyed_member_is_encrypted(make_instance, sink,
                                                          tmp_path):
    """alice (keyed) writes to -owner; a moderator answers through the
    LIST-owner+HANDLE@ address of his copy: the answer reaches her encrypted
    to her key, signed by the list's (audit17: it went out in clear)."""
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    moderator_answers(inst, sink, ALICE)
    assert inst.wait_log("kind=owner-answer out="), inst.logtext()[-2000:]
    enc = wait_until(
        lambda: encrypted_with(sink, alice, ALICE, b"Your account is fine."))
    assert enc, inst.logtext()[-3000:]
    assert not to(sink, ALICE, b"Your account is fine.")
    dec = opened(alice, fpr, enc[0], inst)
    assert DAVE.encode() not in dec and DAVE.encode() not in enc[0]


def answers(inst, sender, rcpt, text):
    """the SMTP server's codes to MAIL, RCPT and DATA"""
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example")
        return [s.mail(sender)[0], s.rcpt(rcpt)[0], s.data(text.encode())[0]]


def keyless_private_notices(sink, rcpt):
    """rcpt's notices in place of private mail (keyless-private.txt)"""
    return to(sink, rcpt, b"Subject: A private message you could not receive")


def test_private_mail_on_a_required_list_never_in_clear(make_instance, sink,
                                                        tmp_path):
    """encryption = "required" means no copy in clear: alice (keyed) writes
    in clear to the pseudonym of dave, who has no key; dave gets a notice
    that someone wrote to him privately and how to register a key, never
    the words (audit17: they went out in clear), and alice hears nothing."""
    from pgphelp import to_list
    inst, alice, fpr = keyed_instance(
        make_instance, tmp_path,
        {"identity.mode": "pseudonym", "encryption": "required"})
    send(inst, to_list(inst, f"From: {DAVE}\r\nTo: {LIST}\r\n"
                             "Subject: ask me\r\n\r\nWrite to me.\r\n"
                             .encode()), DAVE)
    enc = wait_until(
        lambda: encrypted_with(sink, alice, ALICE, b"Write to me."))
    assert enc, inst.logtext()[-3000:]
    addr = email.utils.parseaddr(email.message_from_bytes(enc[0])["From"])[1]
    assert addr.startswith("demo+p-"), addr
    before = len(to(sink, ALICE))
    said = answers(inst, ALICE, addr, f"From: {ALICE}\r\nTo: {addr}\r\n"
                   "Subject: just you\r\n\r\nPrivate words.\r\n")
    got = wait_until(lambda: keyless_private_notices(sink, DAVE))
    assert got, inst.logtext()[-3000:]
    assert len(got) == 1, [m[:300] for m in got]
    text = got[0].decode()
    assert "wrote to you privately" in text, text
    assert 'command "key"' in text and "demo-request@" in text, text
    assert not to(sink, DAVE, b"Private words.")
    assert not to(sink, DAVE, b"just you")
    assert ALICE.encode() not in got[0]
    # the private copy itself is not kept in queue/out either
    out = re.search(r"kind=private out=(\w+) result=ok", inst.logtext())
    assert out, inst.logtext()[-3000:]
    outdir = list(pathlib.Path(inst.root).glob("**/queue/out"))
    assert outdir, inst.root
    assert not (outdir[0] / out.group(1)).exists()
    # a handle that names nobody: the same answers, and nothing comes back
    local, host = addr.split("@")
    nobody = "demo+p-" + local[len("demo+p-"):][::-1] + "@" + host
    assert answers(inst, ALICE, nobody, f"From: {ALICE}\r\nTo: {nobody}"
                   "\r\nSubject: just you\r\n\r\nPrivate words.\r\n") \
        == said == [250, 250, 250]
    assert inst.wait_log("kind=private reason=gone"), inst.logtext()[-3000:]
    assert len(to(sink, ALICE)) == before, to(sink, ALICE)[before:]


def test_moderators_answer_on_a_required_list_never_in_clear(make_instance,
                                                            sink, tmp_path):
    """the same for a moderator's answer through LIST-owner+HANDLE@: bob,
    keyless on an encryption = "required" list, wrote to -owner; the answer
    reaches him as the notice, never its words (audit17: in clear)."""
    inst, alice, fpr = keyed_instance(make_instance, tmp_path,
                                      {"encryption": "required"})
    moderator_answers(inst, sink, BOB)
    got = wait_until(lambda: keyless_private_notices(sink, BOB))
    assert got, inst.logtext()[-3000:]
    assert b"wrote to you privately" in got[0], got[0]
    assert not to(sink, BOB, b"Your account is fine.")
    assert DAVE.encode() not in got[0]


# ---- a long References chain on a pseudonymous list ----------------------------------------------

def field_ids(raw, name):
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    m = re.search(r"(?im)^%s:((?:[^\r\n]|\r\n[ \t])*)" % name, head)
    return re.findall(r"<[^<>]+>", m.group(1)) if m else []


def test_long_chain_on_a_pseudonymous_list_keeps_its_root_and_most_recent(make_instance, sink):
    """A reply whose References name 60 posts of the list: its copy keeps the first (the root) and
    the 39 most recent, as the encrypted copies' chains do (pgpin_thread.c), so the parent and its
    neighbours stay; before, the list kept the first 30 and lost the thread's last posts, and wrote
    them on one line longer than 998 bytes, which the relay refused (the copy never arrived)."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, members=(BOB, DAVE))
    orig = [f"<c{i}.chain@example.org>" for i in range(60)]
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        for i, mid in enumerate(orig):
            s.sendmail(BOB, [LIST], (f"From: {BOB}\r\nTo: {LIST}\r\nSubject: link {i}\r\n"
                                     f"Message-ID: {mid}\r\n\r\nChain post {i}.\r\n").encode())
    marker = [f"Chain post {i}.".encode() for i in range(60)]
    assert wait_until(lambda: all(to(sink, DAVE, m) for m in marker), timeout=120), \
        inst.logtext()[-3000:]
    listid = [field_ids(to(sink, DAVE, m)[0], "Message-ID")[0] for m in marker]
    send(inst, (f"From: {BOB}\r\nTo: {LIST}\r\nSubject: Re: link 59\r\nMessage-ID: "
                f"<reply.chain@example.org>\r\nIn-Reply-To: {orig[-1]}\r\nReferences: "
                + "\r\n ".join(orig) + "\r\n\r\nThe end of the chain.\r\n").encode(), BOB)
    got = wait_until(lambda: to(sink, DAVE, b"The end of the chain."), timeout=60)
    assert got, "\n".join(x for x in inst.logtext().splitlines()
                          if "deliver:" not in x)[-3000:]
    assert field_ids(got[0], "In-Reply-To") == [listid[-1]]
    refs = field_ids(got[0], "References")
    assert refs and refs[0] == listid[0], refs
    assert listid[-1] in refs, refs
    assert refs == [listid[0]] + listid[-39:], refs
    # 40 ids of 48 bytes: folded, or the line is past RFC 5322's 998 and relays refuse the copy
    hdr = got[0].split(b"\r\n\r\n", 1)[0]
    field = re.search(rb"\r\nReferences:(?:[^\r\n]|\r\n[ \t])*", hdr).group(0)
    assert all(len(line) <= 78 for line in field.split(b"\r\n")[1:]), field
