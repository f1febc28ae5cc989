"""#18: a pseudonym's own address and OpenPGP key. A pseudonymous post comes
from LIST+p-HANDLE@, signed (RFC 3156 multipart/signed) with the pseudonym's
key; gpg, rnp and sqop verify it; nothing in the key names the member."""
import base64
import email.utils
import os
import re
import smtplib
import subprocess
import tempfile

from conftest import wait_until
from test_identity import ROSA, copies_to, ident_instance, msg_of, send
from test_postfix import postfix_pair  # noqa: F401 (a fixture)

NEEDLES = (ROSA, "rosa.luxemburg", "spartakus", "Rosa Luxemburg", "Luxemburg")


def signed_parts(raw):
    """RFC 3156: the signed entity's exact bytes (CRLF before the next boundary excluded), the
    signature, and the outer header's Content-Type parameters."""
    m = msg_of(raw)
    assert m.get_content_type() == "multipart/signed", m["Content-Type"]
    bnd = m.get_param("boundary").encode()
    parts = raw.split(b"\r\n--" + bnd)
    first = raw.index(b"--" + bnd + b"\r\n") + len(bnd) + 4
    signed = raw[first:raw.index(b"\r\n--" + bnd, first)]
    sig = parts[2].split(b"\r\n\r\n", 1)[1]
    return signed, sig, m


def autocrypt_key(m):
    ac = str(m["Autocrypt"])
    addr = re.match(r"addr=([^;]+);", ac).group(1)
    return addr, base64.b64decode(re.sub(r"\s", "", ac.split("keydata=", 1)[1]))


class Verifiers:
    """gpg, rnp and sqop, each in a directory of its own."""

    def __init__(self, tmp):
        self.d = tempfile.mkdtemp(dir=tmp)
        os.chmod(self.d, 0o700)
        self.env = dict(os.environ, GNUPGHOME=self.d)

    def write(self, name, data):
        path = os.path.join(self.d, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def gpg(self, key, signed, sig):
        """[GNUPG:] VALIDSIG fields, or None; imports key (binary or armoured) first."""
        subprocess.run(["gpg", "--batch", "--import", self.write("key", key)], env=self.env,
                       check=True, capture_output=True)
        r = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify",
                            self.write("s.asc", sig), self.write("s", signed)],
                           env=self.env, capture_output=True, text=True)
        valid = [ln.split()[2:] for ln in r.stdout.splitlines() if ln.startswith("[GNUPG:] VALIDSIG")]
        return valid[0] if r.returncode == 0 and valid else None

    def rnp(self, key, signed, sig):
        self.write("r", signed)
        r = subprocess.run(["rnp", "--keyfile", self.write("rkey", key), "--verify",
                            self.write("r.asc", sig)], capture_output=True, text=True)
        return r.returncode == 0

    def sqop(self, key, signed, sig):
        with open(self.write("q", signed), "rb") as f:
            r = subprocess.run(["sqop", "verify", self.write("q.asc", sig), self.write("qkey", key)],
                               stdin=f, capture_output=True, text=True)
        return r.stdout.split()[1] if r.returncode == 0 and r.stdout else None

    def uids(self, key):
        r = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", self.write("show", key)],
                           env=self.env, capture_output=True, text=True, check=True)
        return [ln.split(":")[9] for ln in r.stdout.splitlines() if ln.startswith("uid:")]


def pseud_instance(make_instance, extra=None):
    return ident_instance(make_instance, "pseudonym", extra)


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



def test_pseudonymous_copy_verifies_with_gpg_rnp_and_sqop(make_instance, sink, tmp_path):
    inst = pseud_instance(make_instance)
    raw = post(inst, sink, "signed words")
    signed, sig, m = signed_parts(raw)
    # RFC 3156: micalg names the signature's hash (gpg's VALIDSIG field 8: 8 = SHA256)
    assert m.get_param("micalg") == "pgp-sha256"
    assert m.get_param("protocol") == "application/pgp-signature"
    frm = m["From"].addresses[0].addr_spec
    addr, key = autocrypt_key(m)
    assert addr == frm
    v = Verifiers(tmp_path)
    valid = v.gpg(key, signed, sig)
    assert valid, "gpg --verify failed"
    assert valid[7] == "8", valid
    fpr = valid[0]
    assert v.rnp(key, signed, sig), "rnp --verify failed"
    assert v.sqop(key, signed, sig) == fpr
    # the signer's UID email is the From address; the UID names no member
    uids = v.uids(key)
    assert len(uids) == 1 and uids[0].endswith(f"<{frm}>"), uids
    assert uids[0] == f"{m['From'].addresses[0].display_name} <{frm}>"
    for n in NEEDLES:
        assert n.lower().encode() not in key.lower() and n.lower() not in uids[0].lower()
    # the signature's time is the copy's Date: (Thunderbird compares them)
    when = email.utils.parsedate_to_datetime(m["Date"]).timestamp()
    assert abs(int(valid[2]) - when) <= 60
    # the footer, the prefix and the List-* headers are inside what is signed
    assert b"Subject: [demo] signed words" in signed and b"List-Id:" in signed
    assert b"protected-headers=\"v1\"" in signed.split(b"\r\n\r\n")[0]
    # the next post of the same pseudonym: the same key
    raw2 = post(inst, sink, "more signed words")
    s2, g2, m2 = signed_parts(raw2)
    assert m2["From"].addresses[0].addr_spec == frm
    assert v.gpg(key, s2, g2)[0] == fpr
    assert autocrypt_key(m2)[1] == key
    # another pseudonym's post does not verify with it, and has a key of its own
    raw3 = post(inst, sink, "bob speaks", sender="bob@example.org")
    s3, g3, m3 = signed_parts(raw3)
    assert m3["From"].addresses[0].addr_spec != frm
    other = Verifiers(tmp_path)
    assert other.gpg(key, s3, g3) is None
    assert other.sqop(key, s3, g3) is None
    _, key3 = autocrypt_key(m3)
    assert Verifiers(tmp_path).gpg(key3, s3, g3)[0] != fpr
    # a forgery that copies From and the display name but changes the words carries no valid
    # signature by the pseudonym's key
    forged = signed.replace(b"A post: signed words.", b"A post: forged words.")
    assert forged != signed
    assert Verifiers(tmp_path).gpg(key, forged, sig) is None
    assert Verifiers(tmp_path).sqop(key, forged, sig) is None


def test_forged_pseudonym_through_the_list_is_not_signed_by_it(make_instance, sink, tmp_path):
    inst = pseud_instance(make_instance)
    signed, sig, m = signed_parts(post(inst, sink, "genuine words"))
    frm = str(m["From"])
    _, key = autocrypt_key(m)
    # carol copies rosa's pseudonym (display name and address) into her From: the From is no
    # member's, so the list refuses it; nothing goes out under the pseudonym
    send(inst, f"From: {frm}\r\nSubject: forged pseudonym\r\n\r\nI am Badger.\r\n".encode(),
         sender="carol@example.org")
    assert inst.wait_log("kind=post reason=non-member"), inst.logtext()
    # the first post reached bob, the forgery not
    assert [d for d in copies_to(sink, "bob@example.org") if b"genuine words" in d]
    assert not [d for d in copies_to(sink, "bob@example.org") if b"forged pseudonym" in d]
    # a forgery mailed around the list: the same From (address and display name), signed by a key
    # its forger made with the pseudonym's very UID - it does not verify with the pseudonym's key
    v = Verifiers(tmp_path)
    uid = f"{m['From'].addresses[0].display_name} <{m['From'].addresses[0].addr_spec}>"
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign",
                    "never"], env=v.env, check=True, capture_output=True)
    fsigned = signed.replace(b"A post: genuine words.", b"A post: forged words.")
    assert fsigned != signed
    fsig = subprocess.run(["gpg", "--batch", "--armor", "--detach-sign", "--digest-algo", "SHA256"],
                          input=fsigned, env=v.env, capture_output=True, check=True).stdout
    forger = subprocess.run(["gpg", "--batch", "--armor", "--export"], env=v.env, capture_output=True,
                            check=True).stdout
    assert v.gpg(forger, fsigned, fsig)                    # good by the forger's own key, but
    w = Verifiers(tmp_path)
    assert w.gpg(key, fsigned, fsig) is None and w.sqop(key, fsigned, fsig) is None
    assert not Verifiers(tmp_path).rnp(key, fsigned, fsig)


def test_signed_part_survives_postfix(postfix_pair, tmp_path):
    """The signed entity's bytes after a round trip through a real Postfix: still CRLF-exact
    (maildir stores LF: put back), 7bit/quoted-printable only, no trailing white space, and the
    signature verifies."""
    inst, pf = postfix_pair
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    assert inst.wait_log("reload")
    post_ = ("From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\nSubject: through Postfix\r\n"
             "Message-ID: <pf-2@example.org>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
             "A signed post that went the whole way.   \r\nWith\ttabs\t\r\n").encode()
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        assert s.sendmail("alice@example.org", ["demo@lists.example"], post_) == {}
    ask = wait_until(lambda: [f for f in pf.maildir("alice") if b"in your name" in open(f, "rb").read()],
                     timeout=60)
    assert ask, f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", open(ask[0], "rb").read()).group(1).decode()
    with smtplib.SMTP("127.0.0.1", pf.port) as s:
        s.sendmail("alice@example.org", [f"demo-confirm+{token}@lists.example"],
                   b"From: Alice <alice@example.org>\r\nSubject: Re: confirm\r\n\r\nyes\r\n")
    got = wait_until(lambda: [f for f in pf.maildir("bob") if b"through Postfix" in open(f, "rb").read()],
                     timeout=60)
    assert got, f"{pf.log()[-3000:]}\n{inst.logtext()[-3000:]}"
    raw = open(got[0], "rb").read().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    signed, sig, m = signed_parts(raw)
    assert not re.search(rb"[ \t]\r\n", signed), "trailing white space in the signed part"
    assert not re.search(rb"[\x80-\xff]", signed), "8bit in the signed part"
    assert b"Content-Transfer-Encoding: quoted-printable" in signed
    _, key = autocrypt_key(m)
    assert Verifiers(tmp_path).gpg(key, signed, sig), "the signature does not survive Postfix"


def test_keys_name_by_mail_and_mlistctl(make_instance, sink, tmp_path):
    inst = pseud_instance(make_instance)
    signed, sig, m = signed_parts(post(inst, sink, "words to check"))
    name = m["From"].addresses[0].display_name[:-len(" via demo")]
    # -request "keys NAME": a member gets the armoured key; it verifies the post
    send(inst, f"From: bob@example.org\r\nSubject: keys\r\n\r\nkeys {name}\r\n".encode(),
         sender="bob@example.org", rcpt="demo-request@lists.example")
    ans = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"PGP PUBLIC KEY" in d])
    assert ans, inst.logtext()
    text = msg_of(ans[0]).get_body(("plain",)).get_content()
    armored = text[text.index("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
                   text.index("-----END PGP PUBLIC KEY BLOCK-----") + 35].encode()
    fpr = Verifiers(tmp_path).gpg(armored, signed, sig)[0]
    assert fpr in text
    # mlistctl keys LIST --pseudonym NAME: the same key
    r = inst.ctl("keys", "demo", "--pseudonym", name)
    assert fpr in r.stdout and "BEGIN PGP PUBLIC KEY BLOCK" in r.stdout
    assert Verifiers(tmp_path).gpg(r.stdout.encode(), signed, sig)[0] == fpr
    r = inst.ctl("keys", "demo", "--pseudonym", "Nobody Here 99", check=False)
    assert r.returncode == 1 and "no pseudonym" in r.stderr
    assert inst.ctl("keys", "demo", "--pseudonym", check=False).returncode == 2
    # an outsider is told the same whatever the name
    for n in (name, "Nobody Here 99"):
        send(inst, f"From: x@outside.example\r\nSubject: keys\r\n\r\nkeys {n}\r\n".encode(),
             sender="x@outside.example", rcpt="demo-request@lists.example")
    out = wait_until(lambda: len([d for d in copies_to(sink, "x@outside.example")
                                  if b"given to members" in d]) >= 2 and copies_to(sink, "x@outside.example"))
    # (every answer of "keys" carries the list's own public key: never the pseudonym's)
    line = [ln for ln in armored.splitlines() if len(ln) > 60][1]
    assert out and not [d for d in out if line in d or fpr.encode() in d]


def test_mlist_verify_checks_the_openpgp_signature(make_instance, sink, tmp_path):
    from test_signing import mlist_verify
    inst = pseud_instance(make_instance)
    raw = post(inst, sink, "checked words")
    raw2 = post(inst, sink, "bob's words", sender="bob@example.org")
    good = tmp_path / "good.eml"
    good.write_bytes(raw)
    r = mlist_verify(good)
    assert r.returncode == 1 and "dkim:    NOT CHECKED" in r.stdout      # no list key given: DKIM unchecked
    assert re.search(r'openpgp: ok, signed by "[^"]+ via demo <demo\+p-[a-z0-9]+@lists\.example>", key [0-9A-F]{40} '
                     r'\(the key of the post\'s own Autocrypt', r.stdout), r.stdout
    # stored with LF line ends (a maildir): still checks
    lf = tmp_path / "lf.eml"
    lf.write_bytes(raw.replace(b"\r\n", b"\n"))
    assert "openpgp: ok" in mlist_verify(lf).stdout
    # with the reader's own copy of the key (--pgp-key): rosa's verifies her post, not bob's
    _, key = autocrypt_key(msg_of(raw))
    kf = tmp_path / "rosa.key"
    kf.write_bytes(key)
    assert "openpgp: ok" in mlist_verify(good, "--pgp-key", str(kf)).stdout
    other = tmp_path / "bob.eml"
    other.write_bytes(raw2)
    r = mlist_verify(other, "--pgp-key", str(kf))
    assert r.returncode == 1 and "openpgp: FAILED" in r.stdout, r.stdout
    # the words changed after signing: FAILED
    bad = tmp_path / "bad.eml"
    bad.write_bytes(raw.replace(b"A post: checked words.", b"A post: changed words."))
    r = mlist_verify(bad)
    assert r.returncode == 1 and "openpgp: FAILED" in r.stdout, r.stdout
    # bob's key put into a copy of rosa's post under her From: the UID is not the From
    _, bobkey = autocrypt_key(msg_of(raw2))
    kb = tmp_path / "bobk"
    kb.write_bytes(bobkey)
    r = mlist_verify(good, "--pgp-key", str(kb))
    assert r.returncode == 1 and "openpgp: FAILED" in r.stdout


def member_signed_post(v, subject, text):
    """rosa's own PGP/MIME post, as Thunderbird would sign it with her key"""
    inner = (f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n").encode()
    r = subprocess.run(["gpg", "--batch", "--armor", "--detach-sign", "--digest-algo", "SHA256"],
                       input=inner, env=v.env, capture_output=True, check=True)
    return (f"From: {ROSA}\r\nTo: demo@lists.example\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\";"
            " boundary=\"b1\"\r\n\r\n--b1\r\n").encode() + inner + (
            b"\r\n--b1\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" +
            r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n--b1--\r\n")


def test_own_signature_replaced_and_told_once(make_instance, sink, tmp_path):
    inst = pseud_instance(make_instance)
    own = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"Rosa <{ROSA}>", "ed25519",
                    "sign", "never"], env=own.env, check=True, capture_output=True)
    rosa_fpr = [ln.split(":")[9] for ln in subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys"], env=own.env, capture_output=True,
        text=True).stdout.splitlines() if ln.startswith("fpr:")][0]
    for n in range(2):
        send(inst, member_signed_post(own, f"own signed {n}", f"My own signed words {n}."))
    copies = wait_until(lambda: len([d for d in copies_to(sink, "bob@example.org") if b"own signed" in d]) >= 2
                        and [d for d in copies_to(sink, "bob@example.org") if b"own signed" in d])
    assert copies, inst.logtext()
    for raw in copies:
        signed, sig, m = signed_parts(raw)
        assert raw.count(b"BEGIN PGP SIGNATURE") == 1          # hers is gone, the pseudonym's is there
        _, key = autocrypt_key(m)
        valid = Verifiers(tmp_path).gpg(key, signed, sig)
        assert valid and valid[0] != rosa_fpr
        assert rosa_fpr.encode() not in raw and rosa_fpr[-16:].encode() not in raw
        pk = subprocess.run(["gpg", "--batch", "--list-packets"], input=sig, capture_output=True, env=own.env)
        assert rosa_fpr[-16:].lower().encode() not in pk.stdout.lower()
    # she is told once, in a notice of its own; the parts-removed notice does not list it again
    assert inst.wait_log("kind=post", timeout=5)
    told = wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"will not tell you again" in d])
    assert told, inst.logtext()
    assert len([d for d in copies_to(sink, ROSA) if b"will not tell you again" in d]) == 1
    assert not [d for d in copies_to(sink, ROSA) if b"Parts of your post were removed" in d]


def test_renamed_pseudonym_keeps_its_key(make_instance, sink, tmp_path):
    inst = pseud_instance(make_instance)
    s1, g1, m1 = signed_parts(post(inst, sink, "before the rename"))
    _, k1 = autocrypt_key(m1)
    v = Verifiers(tmp_path)
    fpr = v.gpg(k1, s1, g1)[0]
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Patient Anvil 7")
    s2, g2, m2 = signed_parts(post(inst, sink, "after the rename"))
    assert m2["From"].addresses[0].display_name == "Patient Anvil 7 via demo"
    assert m2["From"].addresses[0].addr_spec == m1["From"].addresses[0].addr_spec
    _, k2 = autocrypt_key(m2)
    w = Verifiers(tmp_path)
    assert w.gpg(k2, s2, g2)[0] == fpr                     # the same key ...
    assert w.uids(k2) == [f"Patient Anvil 7 via demo <{m2['From'].addresses[0].addr_spec}>"]   # ... new UID
    assert v.gpg(k2, s2, g2)[0] == fpr                     # a reader who had the old one: still good


def test_private_mail_encrypted_to_the_pseudonym_reaches_its_member(make_instance, sink, tmp_path):
    """bob encrypts to the key in the pseudonym's Autocrypt header (as K-9 or Thunderbird would) and
    writes to its address: rosa reads it, and neither side's address is in what she gets."""
    inst = pseud_instance(make_instance)
    m = msg_of(post(inst, sink, "write to me"))
    addr, key = autocrypt_key(m)
    v = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--import", v.write("k", key)], env=v.env, check=True,
                   capture_output=True)
    inner = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSecret words for you alone.\r\n"
    enc = subprocess.run(["gpg", "--batch", "--armor", "--trust-model", "always", "--encrypt",
                          "-r", addr], input=inner, env=v.env, capture_output=True, check=True).stdout
    enc = enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    mail = (f"From: Bob <bob@example.org>\r\nTo: {addr}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
            " boundary=\"e1\"\r\n\r\n--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
            "Version: 1\r\n\r\n--e1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
            "\r\n").encode() + enc + b"\r\n--e1--\r\n"
    send(inst, mail, sender="bob@example.org", rcpt=addr)
    got = wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"Secret words for you alone." in d])
    assert got, inst.logtext()
    assert b"bob@example.org" not in got[0] and b"BEGIN PGP MESSAGE" not in got[0]
    assert ROSA.encode() not in got[0].split(b"\r\n\r\n")[0].replace(b"To: <" + addr.encode(), b"")
    assert not [d for d in copies_to(sink, "carol@example.org") if b"Secret words" in d]


def test_encrypted_copy_is_signed_inside_by_the_pseudonym(make_instance, sink, tmp_path):
    """A keyed member's copy of a pseudonymous post: From the pseudonym's address (as the clear
    copy), Autocrypt with its key, and the signature inside the encryption by the pseudonym's key."""
    from test_openpgp import Gpg
    inst = pseud_instance(make_instance)
    g = Gpg(tmp_path / "carol", "Carol")
    r = inst.ctl("member", "set", "demo", "carol@example.org", "openpgp", str(g.export(tmp_path / "c.asc")))
    assert r.returncode == 0, r.stdout + r.stderr
    send(inst, f"From: {ROSA}\r\nSubject: sealed words\r\n\r\nA post: sealed words.\r\n".encode(),
         sender=ROSA)
    clear = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"sealed words" in d])
    enc = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if b"multipart/encrypted" in d])
    assert clear and enc, inst.logtext()
    c, m = msg_of(clear[0]), msg_of(enc[0])
    frm = c["From"].addresses[0].addr_spec
    assert frm.startswith("demo+p-")
    assert m["From"].addresses[0].addr_spec == frm and m["Subject"] == "..."
    assert f"addr={frm};" in m["Autocrypt"].replace(" ", "")
    # its Autocrypt keydata: the pseudonym's key as in the clear copy, certified by the list key
    _, ekey = autocrypt_key(m)
    assert ekey == autocrypt_key(c)[1]
    sigs, lfpr = certifications(Verifiers(tmp_path), list_key(inst), ekey)
    assert [(ok, kid) for ok, kid, _ in sigs] == [("!", lfpr[-16:])], sigs
    name = c["From"].addresses[0].display_name[:-len(" via demo")]
    out = inst.ctl("keys", "demo", "--pseudonym", name).stdout
    pfpr = re.search(r"\b[0-9A-F]{40}\b", out).group(0)
    (tmp_path / "p.asc").write_text(out[out.index("-----BEGIN PGP PUBLIC KEY BLOCK-----"):])
    g.gpg("--import", str(tmp_path / "p.asc"))
    (tmp_path / "copy.asc").write_bytes(m.get_payload()[1].get_payload(decode=False).encode())
    st = g.gpg("--status-fd", "1", "--decrypt", str(tmp_path / "copy.asc")).stdout
    assert b"DECRYPTION_OKAY" in st
    assert re.search(rb"^\[GNUPG:\] VALIDSIG " + pfpr.encode() + rb" ", st, re.M), st.decode()
    assert b"sealed words" in st


def list_key(inst):
    out = inst.ctl("keys", "demo", "--export").stdout
    return out[out.index("-----BEGIN PGP PUBLIC KEY BLOCK-----"):].encode()


def certifications(v, listkey, key, also=()):
    """gpg --check-sigs with the list key (and also) imported: the (validity, key id, uid) of
    each signature on the pseudonym key's UID made by another key; the list key's fingerprint"""
    for k in (listkey, *also, key):
        subprocess.run(["gpg", "--batch", "--import", v.write("ck", k)], env=v.env, check=True,
                       capture_output=True)
    lfpr = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", v.write("lk", listkey)],
                          env=v.env, capture_output=True, text=True, check=True).stdout
    lfpr = [ln.split(":")[9] for ln in lfpr.splitlines() if ln.startswith("fpr:")][0]
    out = subprocess.run(["gpg", "--batch", "--with-colons", "--check-sigs"],
                         env=v.env, capture_output=True, text=True).stdout
    target = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", v.write("tk", key)],
                            env=v.env, capture_output=True, text=True, check=True).stdout
    target = [ln.split(":")[4] for ln in target.splitlines() if ln.startswith("pub:")][0]
    sigs, own, uid = [], None, None
    for ln in out.splitlines():
        f = ln.split(":")
        if f[0] == "pub":
            own, uid = f[4], None
        if f[0] == "uid":
            uid = f[9]
        if f[0] == "sig" and own == target and f[4] != own:
            sigs.append((f[1], f[4], uid))
    return sigs, lfpr


def test_pseudonym_key_is_certified_by_the_list_key(make_instance, sink, tmp_path):
    """The Autocrypt key of a pseudonymous post carries a certification of its UID by the list
    key: gpg --check-sigs (with the list key imported) shows it good, and so does rnp; a rename
    gets a certification of the new UID."""
    inst = pseud_instance(make_instance)
    signed, sig, m = signed_parts(post(inst, sink, "certified words"))
    frm = m["From"].addresses[0].addr_spec
    addr, key = autocrypt_key(m)
    assert addr == frm
    v = Verifiers(tmp_path)
    assert v.gpg(key, signed, sig), "the post no longer verifies"
    listkey = list_key(inst)
    sigs, lfpr = certifications(v, listkey, key)
    uid = f"{m['From'].addresses[0].display_name} <{frm}>"
    assert sigs == [("!", lfpr[-16:], uid)], (sigs, lfpr)
    assert "certified by the list key" in inst.logtext()
    # rnp agrees: two signatures on the UID, one by the list key's id, both valid
    rd = tempfile.mkdtemp(dir=tmp_path)
    for k in (listkey, key):
        subprocess.run(["rnpkeys", "--homedir", rd, "--import", v.write("rk", k)], check=True,
                       capture_output=True)
    r = subprocess.run(["rnpkeys", "--homedir", rd, "--list-keys", "--with-sigs"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    block = r.stdout[r.stdout.index(f"<{frm}>"):].lower()
    assert re.search(r"sig\s+" + lfpr[-16:].lower() + r"\s", block), r.stdout
    assert "invalid" not in block, r.stdout
    # the same key next time: certified once, not per post
    _, key2 = autocrypt_key(msg_of(post(inst, sink, "more certified words")))
    assert key2 == key and inst.logtext().count("certified by the list key") == 1
    # renamed: the new UID is certified again, the old one is gone
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Patient Anvil 7")
    _, key3 = autocrypt_key(msg_of(post(inst, sink, "renamed and certified")))
    sigs3, _ = certifications(Verifiers(tmp_path), listkey, key3)
    assert sigs3 == [("!", lfpr[-16:], f"Patient Anvil 7 via demo <{frm}>")], sigs3
    # the keys NAME answer carries the certification too
    out = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7").stdout
    armored = out[out.index("-----BEGIN PGP PUBLIC KEY BLOCK-----"):].encode()
    assert certifications(Verifiers(tmp_path), listkey, armored)[0] == sigs3


def test_told_once_only_when_the_notice_went(make_instance, sink, tmp_path):
    """The hourly limit on notices drops the signature-replaced notice: it is not marked as told,
    and the next such post (after the hour) tells her; then never again."""
    import sqlite3
    inst = pseud_instance(make_instance)
    own = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"Rosa <{ROSA}>", "ed25519",
                    "sign", "never"], env=own.env, check=True, capture_output=True)
    # a notice to rosa first (her private message names her): the hour's notice is spent
    bob = msg_of(post(inst, sink, "bob is here", sender="bob@example.org"))["From"].addresses[0].addr_spec
    send(inst, b"From: " + ROSA.encode() + b"\r\nSubject: hi\r\n\r\nRosa Luxemburg writes.\r\n", rcpt=bob)
    assert wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"Rosa Luxemburg" in d]
                      and "kind=private reason=leak" in inst.logtext()), inst.logtext()
    send(inst, member_signed_post(own, "own signed 0", "My own signed words 0."))
    assert wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"own signed 0" in d])
    assert inst.wait_log("notice suppressed (one per sender per hour)")
    assert not [d for d in copies_to(sink, ROSA) if b"will not tell you again" in d]
    # an hour later (the limit's record moved back), her next own-signed post: now she is told
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    with db:
        db.execute("UPDATE notices SET last = last - 7200")
    db.close()
    for n in (1, 2):
        send(inst, member_signed_post(own, f"own signed {n}", f"My own signed words {n}."))
        assert wait_until(lambda: [d for d in copies_to(sink, "bob@example.org")
                                   if f"own signed {n}".encode() in d])
        if n == 1:
            assert wait_until(lambda: [d for d in copies_to(sink, ROSA)
                                       if b"will not tell you again" in d]), inst.logtext()
    with sqlite3.connect(os.path.join(inst.state, "mlistd.db")) as db:
        db.execute("UPDATE notices SET last = last - 7200")
    send(inst, member_signed_post(own, "own signed 3", "My own signed words 3."))
    assert wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"own signed 3" in d])
    assert inst.wait_log("kind=post", timeout=5)
    assert len([d for d in copies_to(sink, ROSA) if b"will not tell you again" in d]) == 1


def test_private_mail_protected_subject_is_used(make_instance, sink, tmp_path):
    """Encrypted private mail to a pseudonym as Thunderbird writes it: the outer Subject is "...",
    the real one is inside (protected headers). rosa's copy has the inner Subject; an inner From
    naming someone else is not taken."""
    inst = pseud_instance(make_instance)
    m = msg_of(post(inst, sink, "write to me"))
    addr, key = autocrypt_key(m)
    v = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--import", v.write("k", key)], env=v.env, check=True,
                   capture_output=True)
    inner = (b"Content-Type: multipart/mixed; boundary=\"in1\"; protected-headers=\"v1\"\r\n"
             b"Subject: The plan for Tuesday\r\nFrom: Carol <carol@example.org>\r\n"
             b"To: " + addr.encode() + b"\r\n\r\n--in1\r\nContent-Type: text/plain; charset=us-ascii\r\n"
             b"\r\nMeet at the usual place.\r\n--in1--\r\n")
    enc = subprocess.run(["gpg", "--batch", "--armor", "--trust-model", "always", "--encrypt",
                          "-r", addr], input=inner, env=v.env, capture_output=True, check=True).stdout
    enc = enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    mail = (f"From: Bob <bob@example.org>\r\nTo: {addr}\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
            " boundary=\"e1\"\r\n\r\n--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
            "Version: 1\r\n\r\n--e1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
            "\r\n").encode() + enc + b"\r\n--e1--\r\n"
    send(inst, mail, sender="bob@example.org", rcpt=addr)
    got = wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"Meet at the usual place." in d])
    assert got, inst.logtext()
    c = msg_of(got[0])
    assert "The plan for Tuesday" in c["Subject"], c["Subject"]
    assert c["Subject"].strip() != "..." and len(c.get_all("Subject")) == 1
    # From: bob's own pseudonym, not the inner claim; nobody's address in the header
    assert "Carol" not in str(c["From"]) and b"carol@example.org" not in got[0]
    assert b"bob@example.org" not in got[0]


def test_rotated_key_is_announced_signed_by_the_old_key(make_instance, sink, tmp_path):
    """mlistctl keys LIST --pseudonym NAME --rotate: the members get a post from the pseudonym's
    address, signed by the old key and by the list key (gpg: two good signatures), the new key
    attached and in Autocrypt, certified by both; later posts are signed by the new key, the
    old key stays listed to verify old posts."""
    inst = pseud_instance(make_instance)
    s1, g1, m1 = signed_parts(post(inst, sink, "before the rotation"))
    frm = m1["From"].addresses[0].addr_spec
    name = m1["From"].addresses[0].display_name[:-len(" via demo")]
    _, k1 = autocrypt_key(m1)
    v = Verifiers(tmp_path)
    old = v.gpg(k1, s1, g1)[0]
    listkey = list_key(inst)
    r = inst.ctl("keys", "demo", "--pseudonym", name, "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    new = re.search(r"new OpenPGP key ([0-9A-F]{40})", r.stdout).group(1)
    assert new != old and old in r.stdout
    ann = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"has a new OpenPGP key" in d])
    assert ann, inst.logtext()
    s2, g2, m2 = signed_parts(ann[0])
    assert m2["From"].addresses[0].addr_spec == frm
    # signed by the old key and the list key, in one signature block
    w = Verifiers(tmp_path)
    for k in (k1, listkey):
        subprocess.run(["gpg", "--batch", "--import", w.write("ik", k)], env=w.env, check=True,
                       capture_output=True)
    st = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", w.write("a.asc", g2),
                         w.write("a", s2)], env=w.env, capture_output=True, text=True)
    valid = {ln.split()[2] for ln in st.stdout.splitlines() if ln.startswith("[GNUPG:] VALIDSIG")}
    lfpr = certifications(Verifiers(tmp_path), listkey, k1)[1]
    assert valid == {old, lfpr}, st.stdout
    # rnp (both keys in its keyring) and sqop (both certificates) agree
    rd = tempfile.mkdtemp(dir=tmp_path)
    for k in (k1, listkey):
        subprocess.run(["rnpkeys", "--homedir", rd, "--import", w.write("rk", k)], check=True,
                       capture_output=True)
    w.write("rv", s2)
    assert subprocess.run(["rnp", "--homedir", rd, "--verify", w.write("rv.asc", g2)],
                          capture_output=True).returncode == 0, "rnp does not verify it"
    with open(w.write("qv", s2), "rb") as f:
        q = subprocess.run(["sqop", "verify", w.write("qv.asc", g2), w.write("q1", k1),
                            w.write("q2", listkey)], stdin=f, capture_output=True, text=True)
    assert q.returncode == 0 and {ln.split()[1] for ln in q.stdout.splitlines()} == {old, lfpr}, q
    # Autocrypt now carries the new key, and so does the attachment; certified by old and list
    _, k2 = autocrypt_key(m2)
    assert k2 != k1
    att = [p for p in msg_of(s2).walk() if p.get_content_type() == "application/pgp-keys"]
    assert att and new.encode() not in att[0].get_payload(decode=True)   # armoured, not a listing
    sigs, _ = certifications(Verifiers(tmp_path), listkey, k2, also=(k1,))
    assert {(ok, kid) for ok, kid, _ in sigs} == {("!", old[-16:]), ("!", lfpr[-16:])}, sigs
    assert {u for _, _, u in sigs} == {f"{name} via demo <{frm}>"}
    # the next post: the new key signs, same address; the old post still verifies with the old key
    s3, g3, m3 = signed_parts(post(inst, sink, "after the rotation"))
    assert m3["From"].addresses[0].addr_spec == frm and autocrypt_key(m3)[1] == k2
    assert Verifiers(tmp_path).gpg(k2, s3, g3)[0] == new
    assert Verifiers(tmp_path).gpg(k1, s3, g3) is None
    assert Verifiers(tmp_path).gpg(k1, s1, g1)[0] == old
    # mlistctl keys --pseudonym: the new key first, the retired one after it
    out = inst.ctl("keys", "demo", "--pseudonym", name).stdout
    assert out.index(new) < out.index(f"retired key {old}")
    assert inst.ctl("keys", "demo", "--pseudonym", "Nobody Here 99", "--rotate",
                    check=False).returncode == 1
    # nothing of the member in the announcement
    for n in NEEDLES:
        assert n.lower().encode() not in ann[0].lower()


def revoked(v, key):
    """gpg's view of a key: its validity field ('r' revoked) and the revocation packets' reason"""
    show = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", v.write("rv", key)],
                          env=v.env, capture_output=True, text=True, check=True).stdout
    pub = [ln.split(":") for ln in show.splitlines() if ln.startswith("pub:")][0]
    pk = subprocess.run(["gpg", "--batch", "--list-packets", v.write("rp", key)], env=v.env,
                        capture_output=True, text=True).stdout
    return pub[1], pk


def test_rotation_revokes_the_old_key(make_instance, sink, tmp_path):
    """A rotation revokes the old key (reason: superseded) and publishes the revocation where
    the old key was published: attached to the announcement, and in mlistctl keys --pseudonym.
    A post the old key signed before the rotation still verifies with the revoked key (a soft
    revocation): gpg says "Good signature" with a warning that the key was revoked (status
    REVKEYSIG, then VALIDSIG), rnp and sqop verify it."""
    import time
    inst = pseud_instance(make_instance)
    s1, g1, m1 = signed_parts(post(inst, sink, "signed before the rotation"))
    name = m1["From"].addresses[0].display_name[:-len(" via demo")]
    _, k1 = autocrypt_key(m1)
    valid = Verifiers(tmp_path).gpg(k1, s1, g1)
    old = valid[0]
    assert revoked(Verifiers(tmp_path), k1)[0] != "r"
    # times are whole seconds: a revocation in the second of the signature covers it (rnp, sqop)
    assert wait_until(lambda: time.time() >= int(valid[2]) + 1.1)
    r = inst.ctl("keys", "demo", "--pseudonym", name, "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    new = re.search(r"new OpenPGP key ([0-9A-F]{40})", r.stdout).group(1)
    ann = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org")
                              if b"has a new OpenPGP key" in d])
    assert ann, inst.logtext()
    s2, _, _ = signed_parts(ann[0])
    atts = {p.get_filename(): p.get_payload(decode=True) for p in msg_of(s2).walk()
            if p.get_content_type() == "application/pgp-keys"}
    assert set(atts) == {f"OpenPGP_0x{new[-16:]}.asc", f"OpenPGP_0x{old[-16:]}-revoked.asc"}, atts
    gone = atts[f"OpenPGP_0x{old[-16:]}-revoked.asc"]
    valid, packets = revoked(Verifiers(tmp_path), gone)
    assert valid == "r", packets
    assert "revoked" in packets.lower() or "sigclass 0x20" in packets, packets
    assert re.search(r"revocation reason 0x01|reason for revocation:? *(0x)?0?1\b|superseded", packets,
                     re.I), packets
    assert new in packets                              # the reason's text names the new key
    assert valid == "r" and revoked(Verifiers(tmp_path), atts[f"OpenPGP_0x{new[-16:]}.asc"])[0] != "r"
    # what gpg says of the old post with the revoked key: a good signature by a revoked key
    v = Verifiers(tmp_path)
    st = v.gpg(gone, s1, g1)
    assert st and st[0] == old, "an old post no longer verifies with the revoked key"
    st = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", v.write("o.asc", g1),
                         v.write("o", s1)], env=v.env, capture_output=True, text=True)
    assert "[GNUPG:] REVKEYSIG" in st.stdout and "Good signature" in st.stderr, st
    assert "Key is superseded" in st.stderr, st.stderr
    assert Verifiers(tmp_path).rnp(gone, s1, g1), "rnp refuses the old post"
    assert Verifiers(tmp_path).sqop(gone, s1, g1) == old
    # mlistctl keys --pseudonym: the retired key is the revoked one
    out = inst.ctl("keys", "demo", "--pseudonym", name).stdout
    block = out[out.index(f"retired key {old}"):]
    block = block[block.index("-----BEGIN"):block.index("-----END PGP PUBLIC KEY BLOCK-----") + 35]
    assert revoked(Verifiers(tmp_path), block.encode())[0] == "r"
    # keys NAME at -request: the new key, then the old one, revoked
    send(inst, f"From: bob@example.org\r\nSubject: keys\r\n\r\nkeys {name}\r\n".encode(),
         sender="bob@example.org", rcpt="demo-request@lists.example")
    ans = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"An earlier key" in d])
    assert ans, inst.logtext()
    text = msg_of(ans[0]).get_body(("plain",)).get_content()
    blocks = re.findall(r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----",
                        text, re.S)
    assert len(blocks) == 2 and text.index(new) < text.index(old), text
    assert revoked(Verifiers(tmp_path), blocks[0].encode())[0] != "r"
    assert revoked(Verifiers(tmp_path), blocks[1].encode())[0] == "r"
    assert Verifiers(tmp_path).gpg(blocks[1].encode(), s1, g1)[0] == old


def key_created(v, key):
    """the primary key's creation time, as gpg reads it"""
    show = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", v.write("kc", key)],
                          env=v.env, capture_output=True, text=True, check=True).stdout
    return int([ln.split(":") for ln in show.splitlines() if ln.startswith("pub:")][0][5])


def test_held_across_a_rotation_is_signed_by_the_new_key(make_instance, sink, tmp_path):
    """A post held for moderation while its pseudonym's key is rotated goes out, once approved,
    signed by the new key: the clear copy's signature and its Date agree within a minute and are
    not older than the new key (gpg, rnp and sqop verify it); the encrypted copy's inner
    signature too. Before, the copy kept the Date of its arrival and the new key signed the
    encrypted copies as of that time, before the key existed: invalid."""
    import json
    import time
    from test_openpgp import Gpg
    inst = pseud_instance(make_instance, {"posting": "moderated"})
    inst.ctl("member", "set", "demo", "carol@example.org", "role", "owner")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Patient Anvil 7")
    g = Gpg(tmp_path / "bob", "Bob")
    r = inst.ctl("member", "set", "demo", "bob@example.org", "openpgp", str(g.export(tmp_path / "b.asc")))
    assert r.returncode == 0, r.stdout + r.stderr
    send(inst, f"From: {ROSA}\r\nSubject: held words\r\n\r\nA post: held words.\r\n".encode())
    held = wait_until(lambda: json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout))
    assert held, inst.logtext()
    arrived = time.time()
    old = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7").stdout
    assert "BEGIN PGP PUBLIC KEY BLOCK" in old, old
    # the clock moves on (whole seconds): the new key is younger than the held copy's Date
    assert wait_until(lambda: time.time() >= arrived + 2.1, timeout=5)
    r = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7", "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    new = re.search(r"new OpenPGP key ([0-9A-F]{40})", r.stdout).group(1)
    out = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7").stdout
    newkey = out[out.index("-----BEGIN"):out.index("-----END PGP PUBLIC KEY BLOCK-----") + 35].encode()
    assert inst.ctl("mod", "approve", "demo", held[0]["id"]).returncode == 0
    clear = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org") if b"held words" in d
                                and b"multipart/signed" in d and b"waits for moderation" not in d])
    assert clear, inst.logtext()
    signed, sig, m = signed_parts(clear[0])
    v = Verifiers(tmp_path)
    valid = v.gpg(newkey, signed, sig)
    assert valid and valid[0] == new, "the released copy is not signed by the new key"
    assert Verifiers(tmp_path).rnp(newkey, signed, sig) and Verifiers(tmp_path).sqop(newkey, signed, sig) == new
    when = email.utils.parsedate_to_datetime(m["Date"]).timestamp()
    assert abs(int(valid[2]) - when) <= 60, (valid[2], m["Date"])
    assert int(valid[2]) >= key_created(Verifiers(tmp_path), newkey)
    assert b"Date: " + m["Date"].encode() in signed          # the protected Date is the same
    assert Verifiers(tmp_path).gpg(autocrypt_key(m)[1], signed, sig)[0] == new   # its Autocrypt too
    # signed again whole: the list's DKIM and the author's signature hold for the new bytes
    from test_signing import mlist_verify
    (tmp_path / "records.txt").write_text(inst.ctl("keys", "demo").stdout)
    (tmp_path / "released.eml").write_bytes(clear[0])
    r = mlist_verify(tmp_path / "released.eml", "--dns-record", str(tmp_path / "records.txt"))
    assert r.returncode == 0 and "dkim:    ok" in r.stdout and "author:  ok" in r.stdout, r.stdout
    # and the list still states whose it is: the pseudonym, by its name
    assert 'poster:  pseudonym "Patient Anvil 7"' in r.stdout, r.stdout
    # bob reads encrypted: the inner signature is the new key's, made at the copy's Date
    enc = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org")
                              if b"multipart/encrypted" in d and b"waits for moderation" not in d
                              and b"new OpenPGP key" not in d])
    assert enc, inst.logtext()
    g.gpg("--import", v.write("nk", newkey))
    e = msg_of(enc[-1])
    (tmp_path / "copy.asc").write_bytes(e.get_payload()[1].get_payload(decode=False).encode())
    st = g.gpg("--status-fd", "1", "--decrypt", str(tmp_path / "copy.asc"), check=False).stdout
    assert b"held words" in st, st
    sig_line = re.search(rb"^\[GNUPG:\] VALIDSIG " + new.encode() + rb" \S+ (\d+) ", st, re.M)
    assert sig_line, st.decode()
    outer = email.utils.parsedate_to_datetime(e["Date"]).timestamp()
    assert abs(int(sig_line.group(1)) - outer) <= 60
    # one copy each: the held copy was not sent as well
    assert len([d for d in copies_to(sink, "carol@example.org") if b"held words" in d
                and b"waits for moderation" not in d]) == 1


def shape(m):
    """the MIME tree of a message: content types, depth first"""
    return [p.get_content_type() for p in m.walk()]


def test_keys_answer_is_signed_by_the_list_key(make_instance, sink, tmp_path):
    """The answer to "keys NAME" (and to "keys") is multipart/signed by the list's OpenPGP key, so
    a member can tell the pseudonym's key in it came from the list: gpg verifies it with the list
    key, dated as the answer. A stranger's answer has the same shape, signed the same way; a
    member with a key gets it encrypted, signed inside by the list key."""
    from test_openpgp import Gpg
    inst = pseud_instance(make_instance)
    signed, sig, m = signed_parts(post(inst, sink, "words to check"))
    name = m["From"].addresses[0].display_name[:-len(" via demo")]
    listkey = list_key(inst)
    lfpr = certifications(Verifiers(tmp_path), listkey, autocrypt_key(m)[1])[1]
    g = Gpg(tmp_path / "carol", "Carol")
    r = inst.ctl("member", "set", "demo", "carol@example.org", "openpgp", str(g.export(tmp_path / "c.asc")))
    assert r.returncode == 0, r.stdout + r.stderr
    for who in ("bob@example.org", "x@outside.example", "carol@example.org"):
        send(inst, f"From: {who}\r\nSubject: keys\r\n\r\nkeys {name}\r\n".encode(), sender=who,
             rcpt="demo-request@lists.example")
    ans = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"PGP PUBLIC KEY" in d])
    out = wait_until(lambda: [d for d in copies_to(sink, "x@outside.example") if b"given to members" in d])
    enc = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org") if b"multipart/encrypted" in d])
    assert ans and out and enc, inst.logtext()
    shapes = []
    for raw in (ans[0], out[0]):
        a_signed, a_sig, am = signed_parts(raw)
        v = Verifiers(tmp_path)
        valid = v.gpg(listkey, a_signed, a_sig)
        assert valid and valid[0] == lfpr, "the answer is not signed by the list key"
        when = email.utils.parsedate_to_datetime(am["Date"]).timestamp()
        assert abs(int(valid[2]) - when) <= 60
        # From the list key's own address (Thunderbird: "Good" only then), answers to -request
        assert am["From"].addresses[0].addr_spec == "demo@lists.example", am["From"]
        assert am["Reply-To"].addresses[0].addr_spec == "demo-request@lists.example"
        assert b"From: \"demo list\" <demo@lists.example>" in a_signed
        # one Autocrypt header (the list's), outside what is signed
        assert len(am.get_all("Autocrypt")) == 1 and b"Autocrypt" not in a_signed
        # changed inside: no longer good
        assert Verifiers(tmp_path).gpg(listkey, a_signed.replace(b"key", b"kez", 1), a_sig) is None
        shapes.append(shape(am))
        # line ends CRLF only: Thunderbird reads them so, and a bare CR broke its check
        assert not re.search(rb"\r(?!\n)|(?<!\r)\n", raw), "a bare CR or LF in the answer"
    assert shapes[0] == shapes[1], shapes                   # members and strangers: one shape
    # the member's: the pseudonym's key inside what the list key signed, and it verifies the post
    a_signed = signed_parts(ans[0])[0]
    text = msg_of(ans[0]).get_body(("plain",)).get_content()
    armored = text[text.index("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
                   text.index("-----END PGP PUBLIC KEY BLOCK-----") + 35].encode()
    assert armored.split(b"\n")[2] in a_signed
    assert Verifiers(tmp_path).gpg(armored, signed, sig)
    # carol's copy: encrypted to her, signed inside by the list key, the key in it
    g.gpg("--import", str(Verifiers(tmp_path).write("lk", listkey)))
    e = msg_of(enc[0])
    (tmp_path / "ans.asc").write_bytes(e.get_payload()[1].get_payload(decode=False).encode())
    st = g.gpg("--status-fd", "1", "--decrypt", str(tmp_path / "ans.asc")).stdout
    assert re.search(rb"^\[GNUPG:\] VALIDSIG " + lfpr.encode() + rb" ", st, re.M), st.decode()
    assert b"BEGIN PGP PUBLIC KEY BLOCK" in st


def test_encrypted_corpus_links_no_pseudonym_key_to_its_member(make_instance, sink, tmp_path):
    """The real-world corpus (and posts she signs with her own OpenPGP key) as a keyed member
    receives them: each encrypted copy, decrypted, and the pseudonym key in its Autocrypt header
    (its packets as gpg lists them) hold nothing of rosa - no address, name, client, and not her
    own key's fingerprint or key id; every copy is signed inside by the one pseudonym key, and
    that key is certified by the list key alone."""
    from test_identity import CORPUS, scan
    from test_openpgp import Gpg
    inst = pseud_instance(make_instance)
    g = Gpg(tmp_path / "carol", "Carol")
    r = inst.ctl("member", "set", "demo", "carol@example.org", "openpgp", str(g.export(tmp_path / "c.asc")))
    assert r.returncode == 0, r.stdout + r.stderr
    own = Verifiers(tmp_path)
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"Rosa <{ROSA}>", "ed25519",
                    "sign", "never"], env=own.env, check=True, capture_output=True)
    rosa_fpr = [ln.split(":")[9] for ln in subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys"], env=own.env, capture_output=True,
        text=True).stdout.splitlines() if ln.startswith("fpr:")][0]
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".eml"))
    for f in files:
        with open(os.path.join(CORPUS, f), "rb") as fp:
            send(inst, fp.read())
    send(inst, member_signed_post(own, "her own signed words", "My own signed words."))
    n = len(files) + 1
    enc = wait_until(lambda: len([d for d in copies_to(sink, "carol@example.org") if b"multipart/encrypted" in d
                                  and b"demo+p-" in d]) >= n and
                     [d for d in copies_to(sink, "carol@example.org") if b"multipart/encrypted" in d
                      and b"demo+p-" in d], timeout=60)
    assert enc, inst.logtext()
    listkey = list_key(inst)
    g.gpg("--import", str(own.write("lk", listkey)))
    lfpr = certifications(Verifiers(tmp_path), listkey, autocrypt_key(msg_of(enc[0]))[1])[1]
    signers, keys, seen = set(), set(), b""
    for i, d in enumerate(enc):
        m = msg_of(d)
        addr, key = autocrypt_key(m)
        assert addr == m["From"].addresses[0].addr_spec
        keys.add(key)
        packets = subprocess.run(["gpg", "--batch", "--list-packets", own.write("kp", key)], env=own.env,
                                 capture_output=True, text=True).stdout
        scan(packets.encode(), "the pseudonym key's packets")
        assert rosa_fpr not in packets.upper() and rosa_fpr[-16:] not in packets.upper()
        issuers = set(re.findall(r"keyid ([0-9A-F]{16})", packets))
        g.gpg("--import", str(own.write("pk", key)))
        (tmp_path / "e.asc").write_bytes(m.get_payload()[1].get_payload(decode=False).encode())
        r = g.gpg("--status-file", str(tmp_path / "st"), "--decrypt", str(tmp_path / "e.asc"))
        plain, st = r.stdout, (tmp_path / "st").read_bytes()
        assert b"DECRYPTION_OKAY" in st, st
        scan(plain, f"encrypted copy {i}, decrypted")
        seen += plain
        assert rosa_fpr.encode() not in plain.upper() and rosa_fpr[-16:].encode() not in plain.upper()
        signers.add(re.search(rb"^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) ", st, re.M).group(1).decode())
    assert b"Route map" in seen and b"My own signed words." in seen     # the scans read the posts
    assert len(signers) == 1 and len(keys) == 1, (signers, len(keys))
    pfpr = signers.pop()
    assert pfpr != rosa_fpr and pfpr != lfpr
    assert issuers == {pfpr[-16:], lfpr[-16:]}, issuers     # its own signatures and the list's


def test_confirmed_across_a_rotation_is_signed_by_the_new_key(make_instance, sink, tmp_path):
    """The same for a post that waited for its author's own confirmation (post_auth = confirm):
    confirmed after a rotation, it goes out signed by the new key, dated at the release."""
    import time
    inst = pseud_instance(make_instance, {"post_auth": "confirm"})
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Patient Anvil 7")
    send(inst, f"From: {ROSA}\r\nSubject: confirmed words\r\n\r\nA post: confirmed words.\r\n".encode())
    ask = wait_until(lambda: [d for d in copies_to(sink, ROSA) if b"demo-confirm+" in d])
    assert ask, inst.logtext()
    arrived = time.time()
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    assert wait_until(lambda: time.time() >= arrived + 2.1, timeout=5)
    r = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7", "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    new = re.search(r"new OpenPGP key ([0-9A-F]{40})", r.stdout).group(1)
    out = inst.ctl("keys", "demo", "--pseudonym", "Patient Anvil 7").stdout
    newkey = out[out.index("-----BEGIN"):out.index("-----END PGP PUBLIC KEY BLOCK-----") + 35].encode()
    send(inst, b"From: " + ROSA.encode() + b"\r\nSubject: Re: confirm\r\n\r\nyes\r\n",
         rcpt=f"demo-confirm+{token}@lists.example")
    got = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org") if b"confirmed words" in d])
    assert got, inst.logtext()
    signed, sig, m = signed_parts(got[0])
    valid = Verifiers(tmp_path).gpg(newkey, signed, sig)
    assert valid and valid[0] == new, "the confirmed copy is not signed by the new key"
    when = email.utils.parsedate_to_datetime(m["Date"]).timestamp()
    assert abs(int(valid[2]) - when) <= 60 and int(valid[2]) >= key_created(Verifiers(tmp_path), newkey)
    assert inst.wait_log("signed again by the pseudonym's current key")


LIST_FIELDS = ("List-Id", "List-Post", "List-Help", "List-Unsubscribe", "List-Owner",
               "Precedence", "X-Loop")


def test_rotation_announcement_has_a_posts_list_headers(make_instance, sink):
    """The rotation's announcement goes to every member as a post does, so it carries the
    post's List-* set (one renderer, render_list_headers): before, its own hand-written
    block had List-Id and List-Post only - no List-Unsubscribe, no List-Help."""
    inst = pseud_instance(make_instance)
    m1 = msg_of(post(inst, sink, "before the rotation"))
    name = m1["From"].addresses[0].display_name[:-len(" via demo")]
    r = inst.ctl("keys", "demo", "--pseudonym", name, "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    ann = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if b"has a new OpenPGP key" in d])
    assert ann, inst.logtext()
    m2 = msg_of(ann[0])
    assert m2["List-Unsubscribe"] and m2["List-Help"]
    for f in LIST_FIELDS:
        assert m2.get_all(f) == m1.get_all(f), f
