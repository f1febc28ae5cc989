"""test_pgp_delivery - the daemon's OpenPGP copies (#17 out), checked by gpg, rnp, sqop and dkimpy.

Members register keys made with gpg (`mlistctl member set ... openpgp FILE`); a post to the list then
reaches each of them as RFC 3156 PGP/MIME signed by the list's key and encrypted to theirs alone, and
reaches the keyless member in clear. What is checked is what a member's client sees: the delivered
bytes.

The plaintext a keyed member decrypts is the plain member's copy with changes no client displays: a
single-part copy is carried as the one part of a multipart/mixed with protected-headers="v1" (its
Content-* headers move into the part); a multipart copy gets protected-headers="v1" on its own
Content-Type; and white-space padding up to the size bucket goes before the multipart's preamble.
"""
import base64
import email
import email.policy
import json
import os
import re
import shutil
import smtplib
import subprocess
import time

import dkim
import pytest

from conftest import MLISTCTL, wait_until
from pgphelp import to_list
from test_openpgp import Gpg, packets, run

pytestmark = pytest.mark.skipif(not all(shutil.which(b) for b in ("gpg", "rnp", "rnpkeys", "sqop")),
                                reason="gpg, rnp and sqop are needed (tools/install-deps)")

LIST = "demo@lists.example"
ALLOWED_OUTER = {"dkim-signature", "from", "subject", "date", "message-id", "to", "in-reply-to",
                 "references", "precedence", "auto-submitted", "list-id", "list-unsubscribe",
                 "list-unsubscribe-post", "list-post", "list-help", "list-subscribe", "list-archive",
                 "list-owner", "autocrypt", "mime-version", "content-type"}


def send(inst, raw, sender, rcpt=LIST):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def post(subject, body):
    return (f"From: bob@example.org\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\n{body}").encode()


def keyed(inst, tmp_path, name, addr):
    g = Gpg(tmp_path / name, name)
    r = inst.ctl("member", "set", "demo", addr, "openpgp", g.export(tmp_path / (name + ".asc")))
    assert r.returncode == 0 and "OpenPGP key registered" in r.stdout, r.stdout + r.stderr
    assert g.fpr not in r.stdout and g.fpr[-16:] not in r.stdout
    return g


def list_key(inst, tmp_path):
    r = inst.ctl("keys", "demo", "--export")
    assert r.returncode == 0 and r.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"), r.stderr
    (tmp_path / "list.asc").write_text(r.stdout)
    fpr = re.search(r"^openpgp: ([0-9A-F]{40}) demo <demo@lists\.example>$", inst.ctl("keys", "demo").stdout,
                    re.M)
    assert fpr
    return fpr.group(1)


def dkim_ok(inst, raw):
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: recs.get(name.decode().split(".")[0], "").encode())


def payload(copy):
    msg = email.message_from_bytes(copy)
    return msg.get_payload()[1].get_payload(decode=False).encode()


def decrypt(g, path):
    return g.gpg("--decrypt", str(path)).stdout


def unpad(plain):
    """The decrypted entity back to the plain copy: drop the padding preamble and the wrapper."""
    head, body = plain.split(b"\r\n\r\n", 1)
    fields = re.split(rb"\r\n(?![ \t])", head)
    ctype = [f for f in fields if f.lower().startswith(b"content-type:")][0]
    boundary = re.search(rb'boundary="([^"]+)"', ctype).group(1)
    outer = [f for f in fields if not f.lower().startswith((b"content-type:", b"mime-version:"))]
    part = body.split(b"--" + boundary + b"\r\n", 1)[1].rsplit(b"\r\n--" + boundary + b"--\r\n", 1)[0]
    return outer, part


@pytest.fixture
def keyed_list(make_instance, sink, tmp_path):
    inst = make_instance()
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    carol = keyed(inst, tmp_path, "Carol", "carol@example.org")
    fpr = list_key(inst, tmp_path)
    for g in (alice, carol):
        g.gpg("--import", str(tmp_path / "list.asc"))
    return inst, alice, carol, fpr


def test_copies_open_with_gpg_rnp_sqop_and_equal_the_plain_copy(keyed_list, sink, tmp_path):
    inst, alice, carol, listfpr = keyed_list
    send(inst, post("strike plans", "Meet at the depot at six.\r\n"), "bob@example.org")
    assert wait_until(lambda: to(sink, "alice@example.org") and to(sink, "carol@example.org")
                      and to(sink, "bob@example.org")), inst.logtext()
    plain = to(sink, "bob@example.org")[0]
    assert b"Meet at the depot" in plain and b"multipart/encrypted" not in plain
    for g, addr in ((alice, "alice@example.org"), (carol, "carol@example.org")):
        copy = to(sink, addr)[0]
        assert b"Meet at the depot" not in copy and b"strike plans" not in copy
        path = tmp_path / (addr + ".eml")
        path.write_bytes(copy)
        st = g.gpg("--status-fd", "1", "--decrypt", str(path)).stdout.decode()
        assert "[GNUPG:] DECRYPTION_OKAY" in st
        assert "[GNUPG:] DECRYPTION_INFO 2 9 0" in st
        assert re.search(r"^\[GNUPG:\] VALIDSIG %s " % listfpr, st, re.M), st
        lp = g.gpg("--list-packets", str(path)).stdout.decode()
        assert lp.count(":pubkey enc packet:") == 1
        subkey = re.findall(r"^fpr:+([0-9A-F]{40}):", g.gpg("--list-keys", "--with-colons", g.fpr)
                            .stdout.decode(), re.M)[1]
        assert re.search(r"keyid %s" % subkey[-16:], lp)
        assert ":compressed packet:" not in lp and 'name=""' in lp and "created 0" in lp
        # inside: the plain member's copy, its headers protected
        dec = decrypt(g, path)
        assert b'protected-headers="v1"' in dec
        outer_fields, part = unpad(dec)
        phead, pbody = plain.split(b"\r\n\r\n", 1)
        pfields = re.split(rb"\r\n(?![ \t])", phead)
        assert outer_fields == [f for f in pfields if not f.lower().startswith((b"content-", b"mime-version:"))]
        assert part == b"".join(f + b"\r\n" for f in pfields if f.lower().startswith(b"content-")) + \
            b"\r\n" + pbody
        # rnp and sqop open it too
        sec = g.export_secret(tmp_path / (addr + ".sec"))
        rh = tmp_path / ("rnp-" + addr)
        rh.mkdir()
        run(["rnpkeys", "--homedir", str(rh), "--import", str(sec)])
        run(["rnpkeys", "--homedir", str(rh), "--import", str(tmp_path / "list.asc")])
        (tmp_path / (addr + ".asc")).write_bytes(payload(copy))
        r = run(["rnp", "--homedir", str(rh), "--password", "", "--decrypt", str(tmp_path / (addr + ".asc")),
                 "--output", "-"])
        assert r.returncode == 0 and b"Meet at the depot" in r.stdout, r.stderr
        vo = tmp_path / (addr + ".verifications")
        r = run(["sqop", "decrypt", "--verify-with", str(tmp_path / "list.asc"), "--verifications-out",
                 str(vo), str(sec)], input=payload(copy))
        assert r.returncode == 0 and b"Meet at the depot" in r.stdout, r.stderr
        assert listfpr in vo.read_text().upper()


def test_structure_outer_headers_and_dkim(keyed_list, sink, tmp_path):
    inst, alice, carol, listfpr = keyed_list
    send(inst, post("outer view", "Nothing outside.\r\n"), "bob@example.org")
    got = wait_until(lambda: to(sink, "alice@example.org"))
    assert got, inst.logtext()
    copy = got[0]
    msg = email.message_from_bytes(copy, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/encrypted"
    assert msg.get_param("protocol") == "application/pgp-encrypted"
    p1, p2 = msg.get_payload()
    assert p1.get_content_type() == "application/pgp-encrypted" and p1.get_payload().strip() == "Version: 1"
    assert p2.get_content_type() == "application/octet-stream" and p2.get_param("name") == "encrypted.asc"
    assert msg["Subject"] == "..."
    assert email.utils.parseaddr(msg["From"])[1] == LIST
    ac = dict(kv.strip().split("=", 1) for kv in re.sub(r"\s+", "", msg["Autocrypt"]).split(";")
              if "=" in kv)
    assert ac["addr"] == LIST
    assert {k.lower() for k in msg.keys()} <= ALLOWED_OUTER, set(msg.keys())
    assert "bob@example.org" not in str(msg["From"]) + str(msg["To"])
    assert dkim_ok(inst, copy)
    # the key in Autocrypt is the list's
    (tmp_path / "ac.key").write_bytes(__import__("base64").b64decode(ac["keydata"]))
    shown = alice.gpg("--show-keys", "--with-colons", str(tmp_path / "ac.key")).stdout.decode()
    assert re.search(r"^fpr:+%s:" % listfpr, shown, re.M)
    # the signature's time and the Date: agree within a minute
    st = alice.gpg("--status-fd", "1", "--decrypt", "-", inp=copy).stdout.decode()
    sigtime = int(re.search(r"VALIDSIG \S+ \S+ (\d+)", st).group(1))
    date = email.utils.parsedate_to_datetime(msg["Date"]).timestamp()
    assert abs(sigtime - date) <= 60


def test_one_signature_per_post_and_buckets(keyed_list, sink, tmp_path):
    inst, alice, carol, listfpr = keyed_list
    send(inst, post("short one", "short\r\n"), "bob@example.org")
    send(inst, post("a longer one", "a longer post, still in the first bucket\r\n" * 30), "bob@example.org")
    got = wait_until(lambda: len(to(sink, "alice@example.org")) >= 2 and len(to(sink, "carol@example.org")) >= 2)
    assert got, inst.logtext()
    sigs = []
    for g, addr in ((alice, "alice@example.org"), (carol, "carol@example.org")):
        first = [c for c in to(sink, addr) if decrypt_has(g, tmp_path, c, b"short one")][0]
        inner = g.gpg("--decrypt", "--unwrap", "-", inp=first).stdout
        pk = packets(inner)
        assert [t for t, _ in pk] == [4, 11, 2]
        sigs.append(pk[2][1])
    assert sigs[0] == sigs[1]
    a = to(sink, "alice@example.org")
    assert len(a[0]) == len(a[1])       # two body lengths, one bucket: the same size
    assert len(a[0]) > 4096


def reply_to(subject, msgid, parent, refs):
    raw = post(subject, "Same length body.\r\n").replace(
        f"<{subject.replace(' ', '.')}@example.org>".encode(), msgid.encode())
    return raw.replace(b"\r\n\r\n", f"\r\nIn-Reply-To: {parent}\r\nReferences: {refs}\r\n\r\n".encode(), 1)


def test_outer_thread_ids_say_nothing_of_the_post(keyed_list, sink, tmp_path):
    """Outside, the thread is fixed-length keyed hashes of the ids (the real ones inside): two replies
    whose Message-ID and References differ in length give copies of one length, and each still names
    its parent's outer id (Thunderbird and mutt thread by the outer header alone)."""
    inst, alice, carol, listfpr = keyed_list
    root = "<root@example.org>"
    send(inst, post("first post", "Same length body.\r\n").replace(
        b"<first.post@example.org>", root.encode()), "bob@example.org")
    assert wait_until(lambda: to(sink, "alice@example.org") and to(sink, "carol@example.org")), inst.logtext()
    short = "<r1@example.org>"
    long_ = "<a-much.longer.message-identifier.20261202@mail.example.org>"
    refs = " ".join("<ancestor-%d.with.a.long.id@news.example.net>" % i for i in range(6)) + " " + root
    send(inst, reply_to("reply one", short, root, root), "bob@example.org")
    assert wait_until(lambda: len(to(sink, "alice@example.org")) >= 2), inst.logtext()
    send(inst, reply_to("reply two", long_, root, refs), "bob@example.org")
    assert wait_until(lambda: len(to(sink, "alice@example.org")) >= 3), inst.logtext()
    first, r1, r2 = to(sink, "alice@example.org")[:3]
    assert len(r1) == len(r2)           # ids and chain of different lengths: one copy length
    for c in (first, r1, r2):
        assert b"example.org>" not in c.split(b"\r\n\r\n", 1)[0] and b"ancestor" not in c
    heads = [email.message_from_bytes(c, policy=email.policy.compat32) for c in (first, r1, r2)]
    ids = [h["Message-ID"] for h in heads]
    assert all(re.fullmatch(r"<[0-9a-f]{32}@lists\.example>", i) for i in ids), ids
    assert len(set(ids)) == 3
    assert "In-Reply-To" not in heads[0] and "References" not in heads[0]
    for h in heads[1:]:
        assert h["In-Reply-To"] == h["References"] == ids[0]     # the parent, outside
    # every member's copy of one post has the same outer id (one thread for all)
    assert email.message_from_bytes(to(sink, "carol@example.org")[0])["Message-ID"] == ids[0]
    # inside, the real ids and the whole chain
    dec = alice.gpg("--decrypt", "-", inp=r2).stdout
    inner = email.message_from_bytes(dec.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    assert inner["Message-ID"] == long_ and inner["In-Reply-To"] == root
    assert " ".join(inner["References"].split()) == refs


def decrypt_has(g, tmp_path, copy, marker):
    return marker in g.gpg("--decrypt", "-", inp=copy, check=False).stdout


def test_required_list_keyless_member_gets_no_clear_copy(make_instance, sink, tmp_path):
    inst = make_instance()
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    inst.ctl("list", "set", "demo", "encryption", "required")
    # a post encrypted to the list's OpenPGP key, as a mail client sends it
    send(inst, to_list(inst, post("required", "Only encrypted.\r\n")), "bob@example.org")
    got = wait_until(lambda: to(sink, "alice@example.org", b"multipart/encrypted"))
    assert got, inst.logtext()
    alice_plain = alice.gpg("--decrypt", "-", inp=got[0], check=False).stdout
    assert b"Only encrypted." in alice_plain
    notes = wait_until(lambda: to(sink, "carol@example.org", b"could not receive in clear"))
    assert notes, inst.logtext()
    for addr in ("bob@example.org", "carol@example.org"):
        assert all(b"Only encrypted." not in m for m in to(sink, addr))


@pytest.mark.parametrize("kind,why", [
    ("rsa1024", "bits"),
    ("expired", "expired"),
    ("noenc", "encryption"),
])
def test_member_set_openpgp_refuses_bad_keys(make_instance, tmp_path, kind, why):
    inst = make_instance()
    d = tmp_path / kind
    if kind == "rsa1024":
        g = Gpg(d, "Weak", "rsa1024", "rsa1024")
    elif kind == "expired":
        g = Gpg(d, "Old", "ed25519", "cv25519", "seconds=1")
        time.sleep(2)       # gpg cannot make a key that has already expired
    else:
        g = Gpg(d, "Signonly", "ed25519", None)
    path = g.export(tmp_path / (kind + ".asc"))
    r = inst.ctl("member", "set", "demo", "alice@example.org", "openpgp", path, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "refused" in r.stderr and why in r.stderr, r.stderr
    assert g.fpr not in r.stderr


def test_openpgp_none_removes_the_key_and_keys_rotate_subkey(make_instance, sink, tmp_path):
    inst = make_instance()
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    before = inst.ctl("keys", "demo", "--export").stdout
    r = inst.ctl("keys", "demo", "--rotate-subkey")
    assert r.returncode == 0 and "new encryption subkey" in r.stdout, r.stderr
    after = inst.ctl("keys", "demo", "--export").stdout
    assert after != before
    (tmp_path / "l2.asc").write_text(after)
    alice.gpg("--import", str(tmp_path / "l2.asc"))
    r = inst.ctl("member", "set", "demo", "alice@example.org", "openpgp", "none")
    assert r.returncode == 0 and "removed" in r.stdout
    send(inst, post("after removal", "Plain again.\r\n"), "bob@example.org")
    got = wait_until(lambda: to(sink, "alice@example.org", b"Plain again."))
    assert got and b"multipart/encrypted" not in got[0], inst.logtext()
    r = inst.ctl("member", "set", "demo", "nobody@example.org", "openpgp", "none", check=False)
    assert r.returncode == 1


@pytest.mark.parametrize("armor", [True, False])
def test_member_set_openpgp_from_stdin(make_instance, sink, tmp_path, armor):
    """`member set ... openpgp -` reads the key on standard input, armoured
    or binary; her copies then open with it (audit17: no test gave `-`)."""
    inst = make_instance()
    assert not inst.passphrase          # stdin carries the key alone
    g = Gpg(tmp_path / "Alice", "Alice")
    key = g.export(tmp_path / "alice.key", armor=armor)
    with open(key, "rb") as f:
        r = subprocess.run([MLISTCTL, "-c", inst.conf, "member", "set", "demo",
                            "alice@example.org", "openpgp", "-"],
                           input=f.read(), capture_output=True, timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0 and "OpenPGP key registered" in out, \
        out + r.stderr.decode()
    assert g.fpr not in out and g.fpr[-16:] not in out
    send(inst, post("from stdin", "Read with the key from stdin.\r\n"),
         "bob@example.org")
    got = wait_until(lambda: to(sink, "alice@example.org", b"multipart/encrypted"))
    assert got, inst.logtext()
    assert b"Read with the key" in g.gpg("--decrypt", "-", inp=got[0],
                                         check=False).stdout


def test_keys_at_request_attaches_the_list_key_with_autocrypt(make_instance, sink, tmp_path):
    inst = make_instance()
    listfpr = list_key(inst, tmp_path)
    send(inst, b"From: bob@example.org\r\nSubject: commands\r\n\r\nkeys\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, "bob@example.org", b"application/pgp-keys"))
    assert got, inst.logtext()
    msg = email.message_from_bytes(got[0], policy=email.policy.compat32)
    ac = re.sub(r"\s+", "", msg["Autocrypt"])
    assert ac.startswith("addr=demo@lists.example;")
    parts = [p for p in msg.walk() if p.get_content_type() == "application/pgp-keys"]
    assert len(parts) == 1 and parts[0].get_filename() == "OpenPGP_0x%s.asc" % listfpr[-16:]
    key = parts[0].get_payload(decode=True)
    assert key.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    g = Gpg(tmp_path / "reader", "Reader")
    shown = g.gpg("--show-keys", "--with-colons", "-", inp=key).stdout.decode()
    assert re.search(r"^fpr:+%s:" % listfpr, shown, re.M)
    assert "uid:" in shown and "demo <demo@lists.example>" in shown
    assert listfpr.encode() in got[0]


def test_multipart_post_released_late(make_instance, sink, tmp_path):
    """A multipart post on a jittered list: inside is the plain copy (its Content-Type marked
    protected-headers="v1", its preamble the padding), signed at the copy's release time."""
    inst = make_instance(list_settings={"delivery.jitter_max": "3", "delivery.jitter_min": "3"})
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    list_key(inst, tmp_path)
    alice.gpg("--import", str(tmp_path / "list.asc"))
    raw = (f"From: bob@example.org\r\nTo: {LIST}\r\nSubject: two parts\r\nMessage-ID: <mp@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n"
           "--XX\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
           "Second part.\r\n--XX--\r\n").encode()
    sent = time.time()
    send(inst, raw, "bob@example.org")
    assert wait_until(lambda: to(sink, "alice@example.org") and to(sink, "bob@example.org")), inst.logtext()
    plain, copy = to(sink, "bob@example.org")[0], to(sink, "alice@example.org")[0]
    assert b"Second part." in plain and b"Second part." not in copy
    st = alice.gpg("--status-fd", "1", "--decrypt", "-", inp=copy).stdout.decode()
    sigtime = int(re.search(r"VALIDSIG \S+ \S+ (\d+)", st).group(1))
    date = email.utils.parsedate_to_datetime(email.message_from_bytes(copy)["Date"]).timestamp()
    assert sigtime == int(date) and date - sent >= 2     # dated when released (3 s later), not received
    dec = alice.gpg("--decrypt", "-", inp=copy).stdout
    phead, pbody = plain.split(b"\r\n\r\n", 1)
    dhead, dbody = dec.split(b"\r\n\r\n", 1)
    fields = re.split(rb"\r\n(?![ \t])", phead)
    marked = [f + b';\r\n protected-headers="v1"' if f.lower().startswith(b"content-type:") else f for f in fields]
    assert re.split(rb"\r\n(?![ \t])", dhead) == marked
    assert dbody.endswith(pbody)                                   # the body as it was...
    assert dbody[:-len(pbody)].strip(b" \r\n") == b""             # ...after white-space padding


def test_x25519_key_by_mail_is_refused_as_retired(make_instance, sink, tmp_path):
    inst = make_instance()
    mlist = os.path.join(os.path.dirname(MLISTCTL), "mlist")
    r = subprocess.run([mlist, "keygen", "--out", str(tmp_path / "k")], capture_output=True, text=True)
    x = r.stdout.split()[1]
    assert x.startswith("x25519:")
    send(inst, f"From: bob@example.org\r\nSubject: commands\r\n\r\nkey {x}\r\n".encode(), "bob@example.org",
         rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, "bob@example.org", b"no longer encrypt anything"))
    assert got, inst.logtext()
    assert b"demo-confirm+" not in got[0]           # nothing to confirm: nothing was registered


# --- posts to the list: base64 encrypted.asc, signed in clear, quoted blocks (#17) ----------------

SECRET = "The depot opens at five."


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def head(sender, subject, ctype, msgid):
    return (f"From: {sender}\r\nTo: {LIST}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}@example.org>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n").encode()


def signed_list(make_instance, tmp_path, **settings):
    """alice keyed (by mlistctl), bob and carol not; alice holds the list's key."""
    inst = make_instance(list_settings=settings)
    alice = keyed(inst, tmp_path, "Alice", "alice@example.org")
    list_key(inst, tmp_path)
    alice.gpg("--import", str(tmp_path / "list.asc"))
    return inst, alice


@pytest.mark.parametrize("inside", ["binary", "armored"])
def test_base64_encrypted_asc_part_is_opened(make_instance, sink, tmp_path, inside):
    """Some clients send encrypted.asc base64-encoded (binary packets, or the armour itself)."""
    inst, alice = signed_list(make_instance, tmp_path)
    entity = crlf(("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n"
                   f"Subject: base64 {inside}\r\n\r\n{SECRET}\r\n").encode())
    enc = alice.gpg("--trust-model", "always", *(["--armor"] if inside == "armored" else []),
                    "--encrypt", "-r", LIST, "--sign", "-u", alice.fpr, inp=entity).stdout
    raw = head("alice@example.org", "...", 'multipart/encrypted; protocol="application/pgp-encrypted"; '
               'boundary="b64"', "b64" + inside) + (
        b"--b64\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b64\r\n"
        b"Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n") + \
        base64.encodebytes(enc).replace(b"\n", b"\r\n") + b"--b64--\r\n"
    send(inst, raw, "alice@example.org")
    got = wait_until(lambda: to(sink, "bob@example.org", SECRET.encode()))
    assert got, inst.logtext()
    m = email.message_from_bytes(got[0])
    assert m["Subject"].endswith("base64 " + inside)
    assert b"pgp-encrypted" not in got[0] and b"encrypted.asc" not in got[0]
    assert " auth=own-key" in inst.logtext()    # signed inside by her registered key


def detached(g, part):
    return crlf(g.gpg("--armor", "--detach-sign", "-u", g.fpr, "--digest-algo", "SHA256", inp=part).stdout)


def multipart_signed(g, subject, msgid, to=LIST):
    part = crlf(f"Content-Type: text/plain; charset=utf-8\r\n\r\n{SECRET}\r\n".encode())
    return head("alice@example.org", subject, 'multipart/signed; micalg=pgp-sha256; '
                'protocol="application/pgp-signature"; boundary="sig1"', msgid).replace(
        f"To: {LIST}".encode(), f"To: {to}".encode()) + \
        b"--sig1\r\n" + part + b"\r\n--sig1\r\nContent-Type: application/pgp-signature; " \
        b"name=\"signature.asc\"\r\n\r\n" + detached(g, part) + b"\r\n--sig1--\r\n"


def cleartext_signed(g, subject, msgid):
    text = g.gpg("--clearsign", "-u", g.fpr, "--digest-algo", "SHA256", inp=(SECRET + "\n").encode()).stdout
    return head("alice@example.org", subject, "text/plain; charset=utf-8", msgid) + crlf(text)


@pytest.mark.parametrize("shape", ["multipart/signed", "cleartext"])
def test_signed_in_clear_by_the_registered_key_counts_as_own_key(make_instance, sink, tmp_path, shape):
    """post_auth = "signature": a post signed but not encrypted, by the From's registered key,
    goes out (authn level own-key), once; the same post again is a replay."""
    inst, alice = signed_list(make_instance, tmp_path, post_auth="signature")
    make = multipart_signed if shape == "multipart/signed" else cleartext_signed
    raw = make(alice, "signed in clear", "clear1")
    send(inst, raw, "alice@example.org")
    got = wait_until(lambda: to(sink, "bob@example.org", SECRET.encode()))
    assert got, inst.logtext()
    assert " auth=own-key" in inst.logtext()
    send(inst, raw, "alice@example.org")
    assert inst.wait_log("reason=replay"), inst.logtext()
    assert len(to(sink, "bob@example.org", SECRET.encode())) == 1


def test_signed_in_clear_by_another_key_or_forged_does_not_count(make_instance, sink, tmp_path):
    inst, alice = signed_list(make_instance, tmp_path, post_auth="signature")
    mallory = Gpg(tmp_path / "mallory", "Mallory")
    send(inst, multipart_signed(mallory, "not her key", "m1"), "alice@example.org")
    # her own key, but the text tampered with after signing
    send(inst, cleartext_signed(alice, "tampered", "m2").replace(SECRET.encode(), b"The depot opens at six."),
         "alice@example.org")
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 2), inst.logtext()
    assert "own-key" not in inst.logtext()
    assert not to(sink, "bob@example.org", b"The depot opens")


def quoting(sender, block):
    return head(sender, "about that message", "text/plain; charset=utf-8", "quote") + \
        b"Someone sent me this, which I cannot read:\r\n\r\n> " + \
        crlf(block).replace(b"\r\n", b"\r\n> ") + b"\r\nAnyone?\r\n"


@pytest.mark.parametrize("quoted", ["verbatim", "quoted"])
def test_quoted_block_for_someone_else_is_plain_text(make_instance, sink, tmp_path, quoted):
    """An inline block encrypted to another key (not the list's) is text, distributed as sent."""
    inst, alice = signed_list(make_instance, tmp_path)
    other = Gpg(tmp_path / "other", "Other")
    block = other.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", other.fpr,
                      inp=b"not for the list\n").stdout
    if quoted == "verbatim":
        raw = head("bob@example.org", "about that message", "text/plain; charset=utf-8", "quote") + \
            b"Someone sent me this:\r\n\r\n" + crlf(block) + b"\r\nAnyone?\r\n"
    else:
        raw = quoting("bob@example.org", block)
    send(inst, raw, "bob@example.org")
    got = wait_until(lambda: to(sink, "carol@example.org", b"Anyone?") and to(sink, "alice@example.org"))
    assert got, inst.logtext()
    got = to(sink, "carol@example.org", b"Anyone?")
    assert b"-----BEGIN PGP MESSAGE-----" in got[0]
    assert "openpgp-undecryptable" not in inst.logtext()
    assert alice.gpg("--decrypt", "-", inp=to(sink, "alice@example.org")[0], check=False).stdout.count(
        b"Anyone?") == 1


def test_quoted_block_on_a_required_list_is_a_post_in_clear(make_instance, sink, tmp_path):
    """encryption = "required": quoting someone else's block does not make a post encrypted."""
    inst, alice = signed_list(make_instance, tmp_path, encryption="required")
    other = Gpg(tmp_path / "other", "Other")
    block = other.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", other.fpr,
                      inp=b"not for the list\n").stdout
    send(inst, quoting("bob@example.org", block), "bob@example.org")
    assert inst.wait_log("reason=not-sealed"), inst.logtext()
    assert wait_until(lambda: to(sink, "bob@example.org", b"only posts encrypted")), inst.logtext()
    assert not to(sink, "carol@example.org", b"Anyone?") and not to(sink, "alice@example.org", b"...")


def test_multipart_encrypted_with_nothing_inside_is_refused(make_instance, sink, tmp_path):
    """It says it is encrypted and holds no OpenPGP message: refused with a note, never passed on
    as if it were a post in clear."""
    inst, alice = signed_list(make_instance, tmp_path)
    raw = head("bob@example.org", "...", 'multipart/encrypted; protocol="application/pgp-encrypted"; '
               'boundary="e0"', "empty") + (
        b"--e0\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e0\r\n"
        b"Content-Type: application/octet-stream\r\n\r\nNothing here, " + SECRET.encode() + b"\r\n--e0--\r\n")
    send(inst, raw, "bob@example.org")
    assert inst.wait_log("reason=openpgp-undecryptable"), inst.logtext()
    assert wait_until(lambda: to(sink, "bob@example.org", b"no OpenPGP message")), inst.logtext()
    assert not to(sink, "carol@example.org") and not to(sink, "alice@example.org")
