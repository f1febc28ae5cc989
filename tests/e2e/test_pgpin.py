"""test_pgpin - a member registers their OpenPGP key by mail, as their own client sends it (#17 item 2).

Keys are made with gpg; the mails are shaped like Thunderbird's (a quoted-printable OpenPGP_0x....asc
inside multipart/mixed inside a real multipart/signed), K-9's (an Autocrypt header) and mutt's (an
armoured block in the text). The list answers with a token encrypted to the key sent: the test opens
it with gpg and the member's secret key, answers it, and the key is stored. A stranger and a forged
From get the same words and nothing is stored; refused kinds are refused with a reason; nothing the
list sends or logs names the key (fingerprint, key ID, UID name).
"""
import base64
import email
import email.policy
import os
import quopri
import re
import shutil
import smtplib
import sqlite3
import subprocess

import pytest

from conftest import send_unauthenticated, wait_until

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is needed (tools/install-deps)")

LIST_REQ = "demo-request@lists.example"
TOKEN = re.compile(rb"demo-confirm\+([0-9a-f]{40})@lists\.example")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=120, **kw)


class Gpg:
    """One gpg home with one key pair whose UID carries a real name."""

    def __init__(self, home, name, addr, algo="ed25519", enc="cv25519", expire="never", faked=None):
        self.home = str(home)
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        self.addr = addr
        self.name = name
        self.opened = {}        # what decrypt found, by ciphertext
        pre = ["--faked-system-time", faked] if faked else []
        self.gpg(*pre, "--quick-gen-key", "%s <%s>" % (name, addr), algo,
                 "cert,sign" if enc else "sign", expire)
        out = self.gpg("--list-keys", "--with-colons").stdout.decode()
        self.fpr = re.search(r"^fpr:+([0-9A-F]{40}):", out, re.M).group(1)
        if enc:
            self.gpg(*pre, "--quick-add-key", self.fpr, enc, "encr", expire)
        out = self.gpg("--list-keys", "--with-colons").stdout.decode()
        self.subfprs = re.findall(r"^fpr:+([0-9A-F]{40}):", out, re.M)

    def gpg(self, *args, check=True, inp=None):
        r = run(["gpg", "--homedir", self.home, "--batch", "--yes", "--pinentry-mode", "loopback",
                 "--passphrase", ""] + list(args), input=inp)
        if check:
            assert r.returncode == 0, r.stderr.decode()
        return r

    def armored(self):
        return self.gpg("--armor", "--export", self.fpr).stdout

    def binary(self):
        return self.gpg("--export", "--export-options", "export-minimal", self.fpr).stdout

    def identifiers(self, name=True):
        """What names this key: fingerprints, long and short key IDs (any case), the UID's name."""
        out = [self.name.encode()] if name else []
        for f in self.subfprs:
            for s in (f, f[-16:], f[-8:]):
                out += [s.encode(), s.lower().encode()]
        return out

    def decrypt(self, data):
        """(opened, plaintext): the list's signing key is not known here, so gpg exits 2 either way"""
        if data not in self.opened:
            r = self.gpg("--decrypt", check=False, inp=data)
            ok = b"decryption failed" not in r.stderr and r.returncode in (0, 2) and r.stdout != b""
            self.opened[data] = (ok, r.stdout)
        return self.opened[data]


def qp(data):
    return quopri.encodestring(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def thunderbird(g, subject="key", frm=None):
    """Thunderbird 115 'Attach my public key' + sign: multipart/signed around multipart/mixed."""
    frm = frm or g.addr
    short = g.fpr[-16:]
    inner = ("Content-Type: multipart/mixed; boundary=\"------------mix1\"\r\n\r\n"
             "--------------mix1\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n"
             "Content-Transfer-Encoding: 7bit\r\n\r\nkey\r\n\r\n"
             "--------------mix1\r\n"
             f"Content-Type: application/pgp-keys; name=\"OpenPGP_0x{short}.asc\"\r\n"
             f"Content-Disposition: attachment; filename=\"OpenPGP_0x{short}.asc\"\r\n"
             "Content-Description: OpenPGP public key\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
    inner += qp(g.armored()) + b"\r\n--------------mix1--\r\n"
    sig = g.gpg("--armor", "--detach-sign", "--digest-algo", "SHA256", inp=inner).stdout
    return (f"From: {g.name} <{frm}>\r\nTo: {LIST_REQ}\r\nSubject: {subject}\r\n"
            "Message-ID: <tb.1@example.org>\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n"
            "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
            " protocol=\"application/pgp-signature\";\r\n boundary=\"------------sig0\"\r\n\r\n"
            "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
            "--------------sig0\r\n").encode() + inner + (
            "\r\n--------------sig0\r\nContent-Type: application/pgp-signature; "
            "name=\"OpenPGP_signature.asc\"\r\nContent-Description: OpenPGP digital signature\r\n"
            "Content-Disposition: attachment; filename=\"OpenPGP_signature.asc\"\r\n\r\n").encode() + \
        sig.replace(b"\n", b"\r\n") + b"\r\n--------------sig0--\r\n"


def k9(g, subject="key", frm=None):
    """K-9 Mail / FairEmail: the key in an Autocrypt header, folded at 76 columns."""
    frm = frm or g.addr
    kd = base64.b64encode(g.binary()).decode()
    folded = "\r\n ".join(kd[i:i + 76] for i in range(0, len(kd), 76))
    return (f"From: {g.name} <{frm}>\r\nTo: {LIST_REQ}\r\nSubject: {subject}\r\n"
            f"Autocrypt: addr={g.addr}; prefer-encrypt=mutual; keydata=\r\n {folded}\r\n"
            "Message-ID: <k9.1@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nkey\r\n").encode()


def mutt(g, subject="key", frm=None):
    """mutt: the armoured block pasted into the text."""
    frm = frm or g.addr
    return (f"From: {g.name} <{frm}>\r\nTo: {LIST_REQ}\r\nSubject: {subject}\r\n"
            "Message-ID: <mutt.1@example.org>\r\nUser-Agent: NeoMutt/20220429\r\n\r\n"
            "key\r\n\r\nMy key:\r\n\r\n").encode() + g.armored().replace(b"\n", b"\r\n") + \
        b"\r\n-- \r\nsent with mutt\r\n"


SHAPES = {"thunderbird": thunderbird, "k9": k9, "mutt": mutt}


def send(inst, raw, sender, rcpt=LIST_REQ):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def mails(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def encrypted_to(sink, rcpt, n=1):
    got = wait_until(lambda: len(mails(sink, rcpt, b"multipart/encrypted")) >= n)
    assert got, "no encrypted answer"
    return mails(sink, rcpt, b"multipart/encrypted")[n - 1]


def encrypted(raw):
    return email.message_from_bytes(raw).get_content_type() == "multipart/encrypted"


def read(g, raw):
    """What g reads of raw: opened if it is encrypted (b"" if g cannot open it), else raw.
    Once a member has a key, the list's notices to them come encrypted too (#17 out)."""
    if g is None or not encrypted(raw):
        return raw
    ok, plain = g.decrypt(payload(raw))
    return plain if ok else b""


def token_mails(sink, g):
    """The key-confirmation mails g can open, (raw, plaintext), oldest first."""
    out = []
    for raw in mails(sink, g.addr):
        if encrypted(raw):
            ok, plain = g.decrypt(payload(raw))
            if ok and b"Confirm your OpenPGP key" in plain:
                out.append((raw, plain))
    return out


def token_mail(sink, g, n=1):
    assert wait_until(lambda: len(token_mails(sink, g)) >= n), "no encrypted token"
    return token_mails(sink, g)[n - 1]


def answer_to(sink, rcpt, n=1, g=None, marker=b"Your request to the list"):
    """The n-th answer to rcpt carrying marker, as g reads it."""
    got = lambda: [t for t in (read(g, r) for r in mails(sink, rcpt)) if marker in t]
    assert wait_until(lambda: len(got()) >= n), marker
    return got()[n - 1]


def payload(raw):
    """The armoured OpenPGP message of an RFC 3156 copy, after checking its two parts."""
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert m.get_content_type() == "multipart/encrypted"
    assert m.get_param("protocol") == "application/pgp-encrypted"
    parts = list(m.iter_parts())
    assert len(parts) == 2 and b"Version: 1" in parts[0].get_payload(decode=True)
    assert m["Subject"] == "..."
    return parts[1].get_payload(decode=True)


def stored(inst):
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    try:
        return db.execute("SELECT count(*) FROM members WHERE pgp_key IS NOT NULL").fetchone()[0]
    finally:
        db.close()


def one_recipient(g, raw):
    """raw as a copy of a post is (audit17): one PKESK, g's encryption
    subkey; MDC, AES-256; the signed packets a size bucket"""
    enc = payload(raw)
    st = g.gpg("--status-fd", "1", "--decrypt", check=False, inp=enc)
    assert b"[GNUPG:] DECRYPTION_INFO 2 9 0" in st.stdout, st.stdout
    lp = g.gpg("--list-packets", check=False, inp=enc).stdout.decode()
    assert lp.count(":pubkey enc packet:") == 1, lp
    assert "keyid %s" % g.subfprs[1][-16:] in lp, lp
    n = len(g.gpg("--decrypt", "--unwrap", check=False, inp=enc).stdout)
    assert n >= 4096 and n & (n - 1) == 0, f"signed packets of {n} bytes"


def register(inst, sink, g, shape, n=1):
    """Send 'key' in shape; open the encrypted token; answer it; return (token mail, plain text)."""
    send(inst, SHAPES[shape](g), g.addr)
    enc, plain = token_mail(sink, g, n)
    assert not TOKEN.search(enc), "the token must travel only inside the encryption"
    one_recipient(g, enc)
    assert b"protected-headers=\"v1\"" in plain and b"Confirm your OpenPGP key" in plain
    tok = TOKEN.search(plain).group(1).decode()
    send(inst, f"From: {g.addr}\r\nSubject: Re: ...\r\n\r\nyes\r\n".encode(), g.addr,
         rcpt=f"demo-confirm+{tok}@lists.example")
    return enc, plain


@pytest.fixture
def homes(tmp_path):
    return tmp_path / "gpg"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_member_registers_key_by_shape(make_instance, sink, homes, shape):
    inst = make_instance(members=("alice@example.org",))
    g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org", expire="2y")
    assert stored(inst) == 0
    enc, plain = register(inst, sink, g, shape)
    done = answer_to(sink, "alice@example.org", g=g, marker=b"your OpenPGP key is registered")
    assert b"Your request to the list: done" in done
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: stored(inst) == 1)
    # the plain answer says what happens, and nothing of the key
    first = answer_to(sink, "alice@example.org", 1)
    assert b"encrypted to the OpenPGP key you sent is on its way" in first
    # nothing the list sent (outer or decrypted) or logged names the key
    texts = [m[2] for m in sink.handler.messages] + [plain, inst.logtext().encode()]
    for t in texts:
        for ident in g.identifiers():
            assert ident not in t, (ident, t[:2000])


def test_later_post_merges_extended_expiry(make_instance, sink, homes):
    """K-9 sends its Autocrypt header with every mail: a post carrying the key, extended, is merged."""
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org", expire="1y")
    register(inst, sink, g, "k9")
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    db_exp = lambda: sqlite3.connect(os.path.join(inst.state, "mlistd.db")).execute(
        "SELECT enc_expires FROM members WHERE pgp_key IS NOT NULL").fetchone()
    assert wait_until(lambda: db_exp() is not None and db_exp()[0])
    before = db_exp()[0]
    g.gpg("--quick-set-expire", g.fpr, "3y")
    g.gpg("--quick-set-expire", g.fpr, "3y", "*")
    post = k9(g, subject="Hello all").replace(b"To: " + LIST_REQ.encode(), b"To: demo@lists.example")
    send(inst, post.replace(b"\r\n\r\nkey\r\n", b"\r\n\r\nHello everyone.\r\n"), g.addr,
         rcpt="demo@lists.example")
    assert wait_until(lambda: mails(sink, "bob@example.org", b"Hello everyone."))
    assert inst.wait_log("a member's OpenPGP key's expiry extended result=ok")
    assert wait_until(lambda: db_exp()[0] > before + 365 * 86400)
    # the key's header does not go out with the post: its UID names the member
    copy = mails(sink, "bob@example.org", b"Hello everyone.")[0]
    assert b"Autocrypt" not in copy and b"keydata" not in copy


def test_stored_key_is_minimal(make_instance, sink, homes):
    """Two UIDs and a third party's certification in; one UID, self-signatures only, stored."""
    inst = make_instance(members=("alice@example.org",))
    g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
    g.gpg("--quick-add-uid", g.fpr, "Wonderland Liddell <w.liddell@work.example>")
    friend = Gpg(homes / "friend", "Cheshire Cat", "cat@example.org")
    friend.gpg("--import", inp=g.armored())
    friend.gpg("--quick-sign-key", g.fpr)
    g.gpg("--import", inp=friend.gpg("--armor", "--export", g.fpr).stdout)
    listed = g.gpg("--list-packets", inp=g.gpg("--export", g.fpr).stdout).stdout.decode()
    assert listed.count(":user ID packet:") == 2 and friend.fpr[-16:] in listed    # it is all there
    register(inst, sink, g, "thunderbird")
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: stored(inst) == 1)
    r = run([LISTPGP, inst.state, "demo", "lists.example", "alice@example.org"])
    assert r.returncode == 0, r.stderr.decode()
    pk = g.gpg("--list-packets", inp=r.stdout).stdout.decode()
    assert pk.count(":user ID packet:") == 1, pk
    issuers = set(re.findall(r"keyid ([0-9A-F]{16})", pk))
    assert friend.fpr[-16:] not in issuers and issuers <= {f[-16:] for f in g.subfprs}, pk


def test_key_replaced_only_after_confirmation_expiry_merged(make_instance, sink, homes):
    inst = make_instance(members=("alice@example.org",))
    g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org", expire="1y")
    register(inst, sink, g, "k9")
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: fpr_hash(inst) is not None)
    # the same key, its expiry extended: taken at once (only its holder can sign that)
    g.gpg("--quick-set-expire", g.fpr, "3y")
    g.gpg("--quick-set-expire", g.fpr, "3y", "*")
    send(inst, k9(g), g.addr)
    assert inst.wait_log("a member's OpenPGP key's expiry extended result=ok")
    # a new key: a token goes out, and until it is answered the old key stays
    first = fpr_hash(inst)
    assert first is not None
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    send(inst, mutt(h), h.addr)
    enc, plain = token_mail(sink, h)
    assert fpr_hash(inst) == first
    assert inst.logtext().count("a member's OpenPGP key registered result=ok") == 1
    tok = TOKEN.search(plain).group(1).decode()
    send(inst, f"From: {h.addr}\r\n\r\nyes\r\n".encode(), h.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    # answered, but not signed by the old key: the new one waits (openpgp.replace_delay)
    assert inst.wait_log("a member's new OpenPGP key waits"), inst.logtext()
    assert inst.logtext().count("a member's OpenPGP key registered result=ok") == 1
    assert fpr_hash(inst) == first
    assert stored(inst) == 1


def fpr_hash(inst):
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    try:
        return db.execute("SELECT pgp_fpr FROM members").fetchone()[0]
    finally:
        db.close()


def test_stranger_and_forged_from_same_answer_nothing_stored(make_instance, sink, homes):
    inst = make_instance(members=("alice@example.org",))
    a = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
    d = Gpg(homes / "dave", "Dormouse Teapot", "dave@example.org")
    m = Gpg(homes / "mallory", "Mallory Hatter", "alice@example.org")    # a key in alice's name
    send(inst, thunderbird(a), a.addr)
    send(inst, thunderbird(d), d.addr)
    ans_a, ans_d = answer_to(sink, a.addr), answer_to(sink, d.addr)

    def norm(raw, addr):
        body = raw.split(b"\r\n\r\n", 1)[1]
        return body.replace(addr.encode(), b"ADDR")

    assert norm(ans_a, a.addr) == norm(ans_d, d.addr)
    enc_a, enc_d = encrypted_to(sink, a.addr), encrypted_to(sink, d.addr)
    pa = a.decrypt(payload(enc_a))[1]
    pd = d.decrypt(payload(enc_d))[1]

    def strip(p, addr):
        p = TOKEN.sub(b"TOKEN", p).replace(addr.encode(), b"ADDR")
        for b in re.findall(rb'boundary="([^"]+)"', p):     # the padding's random boundary
            p = p.replace(b, b"BOUNDARY")
        p = re.sub(rb"Date: [^\r]*", b"Date: X", p)
        return re.sub(rb"\s+", b" ", p)    # the padding's length makes up for the addresses'


    assert strip(pa, a.addr) == strip(pd, d.addr)
    # the stranger answers their token: it opens nothing
    tok = TOKEN.search(pd).group(1).decode()
    send(inst, f"From: {d.addr}\r\n\r\nyes\r\n".encode(), d.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("token unknown, used or expired; ignored")
    assert stored(inst) == 0
    # a forged From: Mallory's key sent in alice's name, straight to mlistd (no front MTA vouching)
    n = len(mails(sink, a.addr, b"multipart/encrypted"))
    send_unauthenticated(inst.direct_port, a.addr, [LIST_REQ], k9(m))
    forged = encrypted_to(sink, a.addr, n + 1)
    # alice gets mail she cannot open, carrying no token she could answer by replying
    assert not TOKEN.search(forged)
    assert not a.decrypt(payload(forged))[0]
    assert b"Reply-To" not in forged.split(b"\r\n\r\n", 1)[0]
    assert stored(inst) == 0
    # the same words as to alice herself, after the line every unverified sender reads (#14: it
    # says the sender's own mail was not verified, nothing about the address it names)
    unverified = re.compile(rb"\(The list could not verify.*?below\.\)\r\n\r\n", re.S)
    assert norm(answer_to(sink, a.addr, 2), a.addr) != norm(ans_a, a.addr)
    assert unverified.sub(b"", norm(answer_to(sink, a.addr, 2), a.addr)) == norm(ans_a, a.addr)


def same_words(raw, addr):
    """an answer's body with the address it was sent to taken out"""
    return raw.split(b"\r\n\r\n", 1)[1].replace(addr.encode(), b"ADDR")


def same_plain(p, addr):
    """a decrypted answer without its token, address, boundaries, Date
    and padding"""
    p = TOKEN.sub(b"TOKEN", p).replace(addr.encode(), b"ADDR")
    for b in re.findall(rb'boundary="([^"]+)"', p):
        p = p.replace(b, b"BOUNDARY")
    p = re.sub(rb"Date: [^\r]*", b"Date: X", p)
    return re.sub(rb"\s+", b" ", p)


@pytest.mark.parametrize("shape", ["k9", "mutt"])
def test_stranger_same_answer_by_shape(make_instance, sink, homes, shape):
    """K-9's and mutt's shapes: a member and a stranger get the same words
    and the same encrypted message; nothing is stored until a token is
    answered (audit17: only Thunderbird's shape was compared)."""
    inst = make_instance(members=("alice@example.org",))
    a = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
    d = Gpg(homes / "dave", "Dormouse Teapot", "dave@example.org")
    send(inst, SHAPES[shape](a), a.addr)
    send(inst, SHAPES[shape](d), d.addr)
    ans_a, ans_d = answer_to(sink, a.addr), answer_to(sink, d.addr)
    assert b"encrypted to the OpenPGP key you sent is on its way" in ans_a
    assert same_words(ans_a, a.addr) == same_words(ans_d, d.addr)
    enc_a, enc_d = encrypted_to(sink, a.addr), encrypted_to(sink, d.addr)
    one_recipient(a, enc_a)
    one_recipient(d, enc_d)
    # one bucket, one length (the outer header differs by the address)
    assert len(payload(enc_a)) == len(payload(enc_d))
    assert len(enc_a) - len(enc_d) == len(a.addr) - len(d.addr)
    pa, pd = a.decrypt(payload(enc_a))[1], d.decrypt(payload(enc_d))[1]
    assert b"Confirm your OpenPGP key" in pa
    assert same_plain(pa, a.addr) == same_plain(pd, d.addr)
    assert stored(inst) == 0
    # the stranger's token opens nothing
    tok = TOKEN.search(pd).group(1).decode()
    send(inst, f"From: {d.addr}\r\n\r\nyes\r\n".encode(), d.addr,
         rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("token unknown, used or expired; ignored")
    assert stored(inst) == 0


def test_key_rides_on_subscribe(make_instance, sink, homes):
    inst = make_instance(members=("alice@example.org",))
    n = Gpg(homes / "newbie", "New Comer", "newbie@example.org")
    raw = k9(n, subject="subscribe").replace(b"\r\n\r\nkey\r\n", b"\r\n\r\nsubscribe\r\n")
    send(inst, raw, n.addr)
    ans = answer_to(sink, n.addr)
    assert b"To join the list" in ans and b"encrypted to the OpenPGP key you sent" in ans
    # join first (the plain token), then answer the encrypted one
    tok = TOKEN.search(ans).group(1).decode()
    send(inst, f"From: {n.addr}\r\n\r\nyes\r\n".encode(), n.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("a member's membership (joining) set result=ok")
    _, plain = token_mail(sink, n)
    tok = TOKEN.search(plain).group(1).decode()
    send(inst, f"From: {n.addr}\r\n\r\nyes\r\n".encode(), n.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: stored(inst) == 1)


def revoked(homes):
    g = Gpg(homes / "rev", "Revoked Person", "alice@example.org")
    rev = open(os.path.join(g.home, "openpgp-revocs.d", g.fpr + ".rev"), "rb").read()
    g.gpg("--import", inp=rev.replace(b":-----BEGIN", b"-----BEGIN"))
    return g


def armour(kind, data):
    """data armoured as gpg does (RFC 4880 6.2, with its CRC-24)"""
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    tail = base64.b64encode((crc & 0xFFFFFF).to_bytes(3, "big")).decode()
    return ("-----BEGIN PGP %s BLOCK-----\n\n%s\n=%s\n-----END PGP %s "
            "BLOCK-----\n" % (kind, "\n".join(lines), tail, kind)).encode()


class Pasted:
    """a sender whose mail carries given key bytes, not a gpg key's"""

    def __init__(self, name, addr, block):
        self.name, self.addr, self.block = name, addr, block

    def armored(self):
        return self.block


def v3_key(homes):
    """a v3 RSA public-key packet: gpg 2.2 cannot make one (as in
    test_openpgp)"""
    n = (1 << 2047) | 12345

    def mpi(x):
        return x.bit_length().to_bytes(2, "big") + \
            x.to_bytes((x.bit_length() + 7) // 8, "big")
    body = bytes([3]) + (1700000000).to_bytes(4, "big") + \
        (0).to_bytes(2, "big") + bytes([1]) + mpi(n) + mpi(65537)
    pkt = bytes([0x99]) + len(body).to_bytes(2, "big") + body
    return Pasted("Old Timer", "alice@example.org",
                  armour("PUBLIC KEY", pkt))


def secret_key(homes):
    """mutt's user pasting `gpg --armor --export-secret-keys` by mistake"""
    g = Gpg(homes / "leaky", "Leaky Bucket", "alice@example.org")
    return Pasted(g.name, g.addr,
                  g.gpg("--armor", "--export-secret-keys", g.fpr).stdout)


REFUSED = {
    "v3": (v3_key, b"version"),
    "secret": (secret_key, b"secret"),
    "rsa1024": (lambda h: Gpg(h / "rsa", "Small Key", "alice@example.org", algo="rsa1024", enc="rsa1024"),
                b"bits"),
    "no-encryption-subkey": (lambda h: Gpg(h / "sign", "Sign Only", "alice@example.org", enc=None),
                             b"encrypt"),
    "expired": (lambda h: Gpg(h / "old", "Old Key", "alice@example.org", expire="1d",
                              faked="20200101T000000"), b"expired"),
    "revoked": (revoked, b"revoked"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_kinds(make_instance, sink, homes, kind):
    inst = make_instance(members=("alice@example.org",))
    make, word = REFUSED[kind]
    g = make(homes)
    send(inst, mutt(g), g.addr)
    ans = answer_to(sink, g.addr)
    assert b"The OpenPGP key you sent cannot be used:" in ans
    assert word in ans.lower(), ans
    assert inst.wait_log("an OpenPGP key refused result=permfail")
    assert not mails(sink, g.addr, b"multipart/encrypted")
    assert stored(inst) == 0


def test_no_key_said_plainly(make_instance, sink):
    inst = make_instance(members=("alice@example.org",))
    send(inst, b"From: alice@example.org\r\nSubject: key\r\n\r\nkey\r\n", "alice@example.org")
    ans = answer_to(sink, "alice@example.org")
    assert b"found no OpenPGP public key in your message" in ans


# ---- posts encrypted to the list (#17 item 6) ------------------------------------------------------

BUILD = os.environ.get("MLISTD_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
LISTPGP = os.path.join(BUILD, "tests", "tools", "listpgp_tool")
LIST = "demo@lists.example"
SECRET = "The meeting moves to the back room of the bakery, 42 Rue Haute."


def list_key(inst, g):
    """The list's public key into g's keyring (as a client takes it from the keys answer); its fpr."""
    r = run([LISTPGP, inst.state, "demo", "lists.example"])
    assert r.returncode == 0, r.stderr.decode()
    g.gpg("--import", inp=r.stdout)
    out = g.gpg("--list-keys", "--with-colons", "demo@lists.example").stdout.decode()
    return re.search(r"^fpr:+([0-9A-F]{40}):", out, re.M).group(1)


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def inner_entity(g, subject):
    """Thunderbird's inner part: protected headers (the real Subject, From) and the text."""
    return crlf((f"Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\n"
                 f"From: {g.name} <{g.addr}>\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
                 "Content-Transfer-Encoding: 7bit\r\n\r\n" + SECRET + "\r\n").encode())


def encrypt(g, listfpr, data, sign=True, self_too=True, to=None):
    args = ["--trust-model", "always", "--armor", "--encrypt", "-r", to or listfpr]
    if self_too:
        args += ["-r", g.fpr]          # Thunderbird encrypts to the sender too: an extra PKESK
    if sign:
        args += ["--sign", "-u", g.fpr]
    return crlf(g.gpg(*args, inp=data).stdout)


def outer_head(g, subject, ctype, msgid):
    return (f"From: {g.name} <{g.addr}>\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}@example.org>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n").encode()


def pgpmime(g, armored, subject="...", msgid="pgpmime"):
    """RFC 3156 §4: multipart/encrypted, the Version part and encrypted.asc."""
    return outer_head(g, subject, 'multipart/encrypted; protocol="application/pgp-encrypted"; '
                      'boundary="enc42"', msgid) + (
        b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--enc42\r\n"
        b"Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version "
        b"identification\r\n\r\nVersion: 1\r\n\r\n--enc42\r\n"
        b"Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
        b"Content-Description: OpenPGP encrypted message\r\n"
        b"Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n") + armored + \
        b"\r\n--enc42--\r\n"


def shape_62(g, listfpr, subject):
    return pgpmime(g, encrypt(g, listfpr, inner_entity(g, subject)), msgid="s62")


def shape_61(g, listfpr, subject):
    part = inner_entity(g, subject)
    sig = crlf(g.gpg("--armor", "--detach-sign", "-u", g.fpr, "--digest-algo", "SHA256", inp=part).stdout)
    signed = (b"Content-Type: multipart/signed; micalg=pgp-sha256; "
              b"protocol=\"application/pgp-signature\"; boundary=\"sig61\"\r\n\r\n--sig61\r\n" + part +
              b"\r\n--sig61\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" +
              sig + b"\r\n--sig61--\r\n")
    return pgpmime(g, encrypt(g, listfpr, signed, sign=False), msgid="s61")


def shape_inline(g, listfpr, subject):
    return outer_head(g, subject, "text/plain; charset=utf-8", "inline") + \
        encrypt(g, listfpr, (SECRET + "\r\n").encode())


def shape_exchange(g, listfpr, subject):
    armored = encrypt(g, listfpr, inner_entity(g, subject))
    return outer_head(g, "...", 'multipart/mixed; boundary="ex1"', "exchange") + (
        b"--ex1\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit"
        b"\r\n\r\n\r\n--ex1\r\nContent-Type: application/pgp-encrypted; name=\"PGPMIME version "
        b"identification\"\r\nContent-Disposition: attachment; filename=\"PGPMIME version "
        b"identification\"\r\n\r\nVersion: 1\r\n\r\n--ex1\r\nContent-Type: application/octet-stream;"
        b" name=\"encrypted.asc\"\r\nContent-Disposition: attachment; filename=\"encrypted.asc\"\r\n\r\n"
        ) + armored + b"\r\n--ex1--\r\n"


INBOUND = {"6.2": shape_62, "6.1": shape_61, "inline": shape_inline, "exchange": shape_exchange}


@pytest.fixture
def keyed(make_instance, sink, homes):
    """A list with alice (her key registered by mail) and bob (no key); alice has the list's key."""
    def make(**settings):
        inst = make_instance(members=("alice@example.org", "bob@example.org"), list_settings=settings)
        g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
        register(inst, sink, g, "k9")
        assert inst.wait_log("a member's OpenPGP key registered result=ok")
        assert wait_until(lambda: stored(inst) == 1)
        return inst, g, list_key(inst, g)
    return make


def bobs(sink, marker=SECRET.encode()):
    return mails(sink, "bob@example.org", marker)


@pytest.mark.parametrize("shape", sorted(INBOUND))
def test_inbound_shapes_reach_members(keyed, sink, shape):
    inst, g, listfpr = keyed()
    subject = "Protected plans " + shape
    send(inst, INBOUND[shape](g, listfpr, subject), g.addr, rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    copy = bobs(sink)[0]
    m = email.message_from_bytes(copy, policy=email.policy.default)
    if shape != "inline":
        # the Subject from the protected headers, never the outer "..."
        assert subject in m["Subject"], m["Subject"]
    assert "..." not in m["Subject"]
    assert b"BEGIN PGP" not in copy and b"pgp-encrypted" not in copy
    # a real-name list shows the From's name: the key itself is named nowhere
    for ident in g.identifiers(name=False):
        assert ident not in copy, ident
        assert ident not in inst.logtext().encode(), ident


@pytest.mark.parametrize("shape", ["6.2", "exchange"])
def test_inbound_pseudonymous_names_nobody(keyed, sink, shape):
    """After decryption no copy, log line or state file names the author's key, UID name or address."""
    inst, g, listfpr = keyed(**{"identity.mode": "pseudonym"})
    send(inst, INBOUND[shape](g, listfpr, "Plans"), g.addr, rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    copy = bobs(sink)[0]
    m = email.message_from_bytes(copy, policy=email.policy.default)
    assert "Plans" in m["Subject"]
    log = inst.logtext().encode()
    for ident in g.identifiers() + [g.addr.encode(), b"Liddell"]:
        assert ident not in copy, ident
        assert ident not in log, ident
    for root, _, files in os.walk(inst.state):
        for f in files:
            if not os.path.isfile(os.path.join(root, f)):
                continue        # the control socket
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            for ident in g.identifiers() + [b"Liddell"]:
                assert ident not in data, (f, ident)


@pytest.mark.parametrize("shape", ["6.2", "6.1", "inline", "exchange"])
def test_signed_post_satisfies_post_auth_once(keyed, sink, shape):
    inst, g, listfpr = keyed(post_auth="signature")
    raw = INBOUND[shape](g, listfpr, "Signed once")
    send(inst, raw, g.addr, rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    assert "authn=own-key" in inst.logtext() or "own-key" in inst.logtext()
    # the same signed post again: a replay counts for nothing
    send(inst, raw, g.addr, rcpt=LIST)
    assert inst.wait_log("reason=replay"), inst.logtext()
    assert len(bobs(sink)) == 1


def test_unsigned_or_other_lists_post_does_not_count(keyed, sink):
    inst, g, listfpr = keyed(post_auth="signature")
    # encrypted, not signed: a "signature" list does not distribute it
    send(inst, pgpmime(g, encrypt(g, listfpr, inner_entity(g, "Unsigned"), sign=False), msgid="u"),
         g.addr, rcpt=LIST)
    # signed, but its protected To names another list: encrypted again to this one, it does not count
    other = inner_entity(g, "For another list").replace(LIST.encode(), b"other@lists.example")
    send(inst, pgpmime(g, encrypt(g, listfpr, other), msgid="o"), g.addr, rcpt=LIST)
    assert wait_until(lambda: inst.logtext().count("kind=post") >= 2)
    assert "own-key" not in inst.logtext()
    assert not bobs(sink)


def test_inner_headers_pass_the_allow_list(keyed, sink):
    """Thunderbird's inner part gossips other recipients' keys: none of it reaches a copy."""
    inst, g, listfpr = keyed()
    ent = inner_entity(g, "Gossip").replace(
        b"Content-Transfer-Encoding", b"Autocrypt-Gossip: addr=carol@example.org; keydata=QUJDREVG\r\n"
        b"Content-Transfer-Encoding", 1)
    send(inst, pgpmime(g, encrypt(g, listfpr, ent), msgid="gossip"), g.addr, rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    copy = bobs(sink)[0]
    assert b"Gossip" in copy                 # the protected Subject
    assert b"Autocrypt-Gossip" not in copy and b"carol" not in copy.lower()
    # nor the keyed member's copy, outside or inside the encryption (audit17)
    mine = lambda: [r for r in mails(sink, g.addr, b"multipart/encrypted")
                    if b"Gossip" in read(g, r)]
    assert wait_until(mine), inst.logtext()
    no_gossip(mine()[0], read(g, mine()[0]))


def no_gossip(raw, plain):
    """raw (a copy) and plain (what it decrypts to): no Autocrypt-Gossip,
    no Autocrypt but the list's own, outside, and nothing of carol"""
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"autocrypt-gossip" not in raw.lower(), head
    ac = re.findall(rb"(?im)^autocrypt:\s*addr=([^;\s]+)", head)
    assert ac == [LIST.encode()], head
    for t in (raw, plain):
        assert b"carol" not in t.lower()
    assert b"autocrypt" not in plain.lower(), plain[:2000]


def test_autocrypt_headers_of_a_clear_post_reach_no_copy(keyed, sink):
    """bob's client (keyless) sends Autocrypt and Autocrypt-Gossip in clear:
    neither his copy nor the keyed member's carries them (audit17: only
    Thunderbird's inner gossip was tested)."""
    inst, g, listfpr = keyed()
    kd = base64.b64encode(g.binary()).decode()
    raw = (f"From: bob@example.org\r\nTo: {LIST}\r\n"
           "Subject: Clear gossip\r\n"
           f"Autocrypt: addr=bob@example.org; keydata={kd}\r\n"
           f"Autocrypt-Gossip: addr=carol@example.org; keydata={kd}\r\n"
           f"Message-ID: <cg@example.org>\r\n\r\n{SECRET}\r\n").encode()
    send(inst, raw, "bob@example.org", rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    copy = bobs(sink)[0]
    assert b"autocrypt" not in copy.lower() and b"carol" not in copy.lower()
    got = lambda: [r for r in mails(sink, g.addr, b"multipart/encrypted")
                   if SECRET.encode() in read(g, r)]
    assert wait_until(got), inst.logtext()
    no_gossip(got()[0], read(g, got()[0]))


def test_undecryptable_post_refused_with_note(keyed, sink, homes):
    inst, g, listfpr = keyed()
    other = Gpg(homes / "other", "Some One", "someone@example.org")
    g.gpg("--import", inp=other.armored())
    raw = pgpmime(g, encrypt(g, listfpr, inner_entity(g, "Wrong key"), to=other.fpr, self_too=False),
                  msgid="wrong")
    send(inst, raw, g.addr, rcpt=LIST)
    assert inst.wait_log("reason=openpgp-undecryptable result=permfail")
    note = answer_to(sink, g.addr, g=g, marker=b"was not distributed")
    assert b"could not be decrypted" in note
    assert not bobs(sink, b"Wrong key")
    assert not mails(sink, "bob@example.org", b"BEGIN PGP MESSAGE")


SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


@pytest.mark.skipif(not os.path.exists(os.path.join(SRC, "mlistd", "delivery", "pgpcopy.c")),
                    reason="encrypted copies are pgpout's delivery (#17 out), not merged in this tree")
def test_registered_key_receives_encrypted_copies(keyed, sink):
    """The key registered by mail is the one the list encrypts to: alice's copy opens with it."""
    inst, g, listfpr = keyed()
    send(inst, shape_62(g, listfpr, "To everyone"), g.addr, rcpt=LIST)
    assert wait_until(lambda: bobs(sink)), inst.logtext()
    mine = answer_to(sink, g.addr, g=g, marker=SECRET.encode())
    assert b"To everyone" in mine
    assert all(encrypted(r) for r in mails(sink, g.addr, b"List-Id") if b"To everyone" in read(g, r))


# ---- a key replacing a registered one: the old key signs, or the new one waits (#17) -------------

NOTICE_REPL = b"A new OpenPGP key was asked for your address"
CANCEL = re.compile(rb"demo-confirm\+([0-9a-f]{40})@lists\.example")


def signed_by(key_of, signer, subject="key"):
    """Thunderbird's 'Attach my public key' mail carrying key_of's key, signed by signer's key."""
    raw = thunderbird(key_of, subject=subject)
    head, rest = raw.split(b"--------------sig0\r\n", 1)
    inner = rest.split(b"\r\n--------------sig0\r\n", 1)[0]
    sig = signer.gpg("--armor", "--detach-sign", "--digest-algo", "SHA256", inp=inner).stdout
    return head + b"--------------sig0\r\n" + inner + (
        "\r\n--------------sig0\r\nContent-Type: application/pgp-signature; "
        "name=\"OpenPGP_signature.asc\"\r\n\r\n").encode() + sig.replace(b"\n", b"\r\n") + \
        b"\r\n--------------sig0--\r\n"


def answer_token(inst, g, plain, port=None):
    """Answer the token in plain as g's address: through the front MTA, or unauthenticated."""
    tok = TOKEN.search(plain).group(1).decode()
    raw = f"From: {g.addr}\r\nSubject: Re: ...\r\n\r\nyes\r\n".encode()
    rcpt = f"demo-confirm+{tok}@lists.example"
    if port:
        send_unauthenticated(port, g.addr, [rcpt], raw)
    else:
        send(inst, raw, g.addr, rcpt=rcpt)


def waiting(inst):
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    try:
        return db.execute("SELECT count(*) FROM members WHERE pgp_next IS NOT NULL").fetchone()[0]
    finally:
        db.close()


def replace_notices(sink, g):
    """The notices about a waiting key that g (the registered key) opens."""
    return [p for ok, p in (g.decrypt(payload(r)) for r in mails(sink, g.addr) if encrypted(r))
            if ok and NOTICE_REPL in p]


def grouped(fpr):
    return " ".join(fpr[i:i + 4] for i in range(0, 40, 4)).encode()


def ask_unsigned(inst, sink, g, h, n=1):
    """alice (key g registered) asks for h without g's signature and answers h's token."""
    send(inst, mutt(h), h.addr)
    _, plain = token_mail(sink, h, n)
    answer_token(inst, h, plain)
    assert inst.wait_log("a member's new OpenPGP key waits"), inst.logtext()
    # its log line comes before the commit: wait for the row too
    assert wait_until(lambda: waiting(inst) == 1)


@pytest.fixture
def alice_keyed(make_instance, sink, homes):
    def make(**settings):
        inst = make_instance(members=("alice@example.org", "bob@example.org"), list_settings=settings)
        g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
        register(inst, sink, g, "k9")
        assert inst.wait_log("a member's OpenPGP key registered result=ok")
        assert wait_until(lambda: fpr_hash(inst) is not None)
        return inst, g
    return make


def test_replacement_signed_by_old_key_applies_at_once(alice_keyed, sink, homes):
    inst, g = alice_keyed()
    first = fpr_hash(inst)
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    # as Thunderbird sends it: its Autocrypt header still the account's (old) key, the new key
    # attached inside the part the old key signs
    kd = base64.b64encode(g.binary()).decode()
    raw = signed_by(h, g).replace(b"Subject: key", f"Autocrypt: addr={g.addr}; keydata={kd}\r\n"
                                  "Subject: key".encode(), 1)
    send(inst, raw, h.addr)
    _, plain = token_mail(sink, h)
    answer_token(inst, h, plain)
    assert wait_until(lambda: inst.logtext().count("a member's OpenPGP key registered result=ok") == 2)
    assert wait_until(lambda: fpr_hash(inst) not in (None, first))
    assert "a member's new OpenPGP key waits" not in inst.logtext()
    assert waiting(inst) == 0
    # the list's mail to alice now opens with the new key only
    send(inst, b"From: bob@example.org\r\nSubject: After\r\n\r\nNew key words.\r\n", "bob@example.org",
         rcpt=LIST)
    assert wait_until(lambda: [r for r in mails(sink, g.addr, b"multipart/encrypted")
                               if b"New key words" in read(h, r)]), inst.logtext()
    for r in mails(sink, g.addr, b"multipart/encrypted"):
        if b"New key words" in read(h, r):
            assert not g.decrypt(payload(r))[0]


def test_token_answer_signed_by_old_key_applies_at_once(alice_keyed, sink, homes):
    """The request was not signed, but the answer is: multipart/signed by the old key over a
    quoted reply that carries the token."""
    inst, g = alice_keyed()
    first = fpr_hash(inst)
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    send(inst, mutt(h), h.addr)
    _, plain = token_mail(sink, h)
    tok = TOKEN.search(plain).group(1).decode()
    part = (f"Content-Type: text/plain; charset=utf-8\r\n\r\nyes\r\n\r\n"
            f"> (the reply goes to demo-confirm+{tok}@lists.example)\r\n").encode()
    sig = g.gpg("--armor", "--detach-sign", "--digest-algo", "SHA256", inp=part).stdout
    raw = (f"From: Wonderland Liddell <{g.addr}>\r\nSubject: Re: ...\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
           " protocol=\"application/pgp-signature\"; boundary=\"s1\"\r\n\r\n--s1\r\n").encode() + \
        part + b"\r\n--s1\r\nContent-Type: application/pgp-signature\r\n\r\n" + \
        sig.replace(b"\n", b"\r\n") + b"\r\n--s1--\r\n"
    send(inst, raw, g.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    assert wait_until(lambda: inst.logtext().count("a member's OpenPGP key registered result=ok") == 2)
    assert wait_until(lambda: fpr_hash(inst) not in (None, first))
    assert "a member's new OpenPGP key waits" not in inst.logtext()
    assert waiting(inst) == 0


def test_signature_by_old_key_over_another_key_does_not_count(alice_keyed, sink, homes):
    """g signed a mail carrying h's key; the mail also has an Autocrypt header with m's key (taken
    first): the signature is not over m's key, so m waits."""
    inst, g = alice_keyed()
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    m = Gpg(homes / "mallory", "Mallory Hatter", "alice@example.org")
    kd = base64.b64encode(m.binary()).decode()
    raw = signed_by(h, g).replace(b"Subject: key", f"Autocrypt: addr={m.addr}; keydata={kd}\r\n"
                                  "Subject: key".encode(), 1)
    send(inst, raw, m.addr)
    _, plain = token_mail(sink, m)
    answer_token(inst, m, plain)
    assert inst.wait_log("a member's new OpenPGP key waits"), inst.logtext()
    assert inst.logtext().count("a member's OpenPGP key registered result=ok") == 1


def test_unsigned_replacement_waits_old_key_told_cancel_token(alice_keyed, sink, homes):
    inst, g = alice_keyed()
    first = fpr_hash(inst)
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    ask_unsigned(inst, sink, g, h)
    # the log line is written before its transaction commits: wait for the row
    assert wait_until(lambda: waiting(inst) == 1) and fpr_hash(inst) == first
    done = answer_to(sink, g.addr, g=g, marker=b"unless cancelled")
    assert b"Your request to the list: done" in done and b"was not signed with your" in done
    # the notice: encrypted to the old key (the new one cannot open it), names the new key and when
    assert wait_until(lambda: replace_notices(sink, g)), "no notice to the old key"
    note = replace_notices(sink, g)[0]
    assert grouped(h.fpr) in note and b"takes effect on" in note
    raws = [r for r in mails(sink, g.addr) if encrypted(r) and NOTICE_REPL in read(g, r)]
    assert not h.decrypt(payload(raws[0]))[0]
    one_recipient(g, raws[0])
    assert not CANCEL.search(raws[0]), "the cancel token travels only inside the encryption"
    # an unauthenticated "key cancel" in alice's name changes nothing
    send_unauthenticated(inst.direct_port, g.addr, [LIST_REQ],
                         b"From: alice@example.org\r\nSubject: key cancel\r\n\r\nkey cancel\r\n")
    assert wait_until(lambda: inst.logtext().count("sender=unauthenticated") >= 1)
    assert answer_to(sink, g.addr, g=g, marker=b"cancelled only by mail the")
    assert waiting(inst) == 1
    # answering the notice cancels; the old key stays
    tok = CANCEL.search(note).group(1).decode()
    send(inst, f"From: {g.addr}\r\n\r\nno\r\n".encode(), g.addr, rcpt=f"demo-confirm+{tok}@lists.example")
    assert inst.wait_log("a member's waiting OpenPGP key cancelled result=ok"), inst.logtext()
    assert wait_until(lambda: waiting(inst) == 0)
    assert fpr_hash(inst) == first
    assert answer_to(sink, g.addr, g=g, marker=b"waited is cancelled")


def test_second_request_replaces_waiting_key_and_key_cancel_command(alice_keyed, sink, homes):
    inst, g = alice_keyed()
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    h2 = Gpg(homes / "alice3", "Wonderland Liddell", "alice@example.org")
    ask_unsigned(inst, sink, g, h)
    assert wait_until(lambda: len(replace_notices(sink, g)) == 1)
    ask_unsigned(inst, sink, g, h2)
    assert wait_until(lambda: len(replace_notices(sink, g)) == 2), "told again"
    assert grouped(h2.fpr) in replace_notices(sink, g)[1]
    assert waiting(inst) == 1            # one waits: the second
    # "key cancel" from alice, authenticated by the front MTA
    send(inst, b"From: alice@example.org\r\nSubject: key cancel\r\n\r\nkey cancel\r\n", g.addr)
    assert inst.wait_log("key cancel: a member's waiting OpenPGP key cancelled result=ok"), \
        inst.logtext()
    assert wait_until(lambda: waiting(inst) == 0)


def test_waiting_key_takes_effect_after_delay(alice_keyed, sink, homes):
    inst, g = alice_keyed(**{"openpgp.replace_delay": "3"})
    first = fpr_hash(inst)
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    ask_unsigned(inst, sink, g, h)
    assert fpr_hash(inst) == first
    assert inst.wait_log("a member's waiting OpenPGP key took effect result=ok", timeout=30), \
        inst.logtext()
    assert wait_until(lambda: fpr_hash(inst) not in (None, first))
    assert waiting(inst) == 0
    audit = inst.ctl("audit", "demo").stdout
    assert "openpgp-key-replaced" in audit and "alice" not in audit
    # the old key's holder hears it took effect, encrypted to the old key (their last chance)
    last = lambda: [p for ok, p in (g.decrypt(payload(r)) for r in mails(sink, g.addr)
                                    if encrypted(r)) if ok and b"now replaces the key" in p]
    assert wait_until(last), "no last notice to the old key"
    assert grouped(h.fpr) in last()[0]
    send(inst, b"From: bob@example.org\r\nSubject: Later\r\n\r\nWords after the delay.\r\n",
         "bob@example.org", rcpt=LIST)
    assert wait_until(lambda: [r for r in mails(sink, g.addr, b"multipart/encrypted")
                               if b"Words after the delay" in read(h, r)]), inst.logtext()
    for r in mails(sink, g.addr, b"multipart/encrypted"):
        if b"Words after the delay" in read(h, r):
            assert not g.decrypt(payload(r))[0]


def test_first_key_unauthenticated_request_needs_authenticated_answer(make_instance, sink, homes):
    """A first key asked for without authentication registers only when the answer is
    authenticated (the front MTA's DKIM/DMARC for the member's own domain)."""
    inst = make_instance(members=("alice@example.org",))
    g = Gpg(homes / "alice", "Wonderland Liddell", "alice@example.org")
    send_unauthenticated(inst.direct_port, g.addr, [LIST_REQ], k9(g))
    _, plain = token_mail(sink, g)
    answer_token(inst, g, plain, port=inst.direct_port)
    assert inst.wait_log("a member's OpenPGP key not registered (unverified) result=permfail")
    assert stored(inst) == 0
    assert answer_to(sink, g.addr, marker=b"the key was not registered: neither")
    send_unauthenticated(inst.direct_port, g.addr, [LIST_REQ], k9(g))
    _, plain = token_mail(sink, g, 2)
    answer_token(inst, g, plain)
    assert inst.wait_log("a member's OpenPGP key registered result=ok")
    assert wait_until(lambda: stored(inst) == 1)


def test_encrypted_token_counts_against_instance_budget(make_instance, sink, homes):
    """With one unauthenticated answer an hour for the instance, a forged "key" gets its plain
    answer and no encrypted token: that is a second answer."""
    inst = make_instance(extra='auth = { authserv_id = "mx.lists.example"; '
                         'answers_per_instance = 1; };', members=("alice@example.org",))
    m = Gpg(homes / "mallory", "Mallory Hatter", "alice@example.org")
    send_unauthenticated(inst.direct_port, m.addr, [LIST_REQ], k9(m))
    assert answer_to(sink, m.addr, marker=b"encrypted to the OpenPGP key you sent")
    assert inst.wait_log("answer withheld (auth.answers_per_instance reached)"), inst.logtext()
    send(inst, b"From: alice@example.org\r\nSubject: help\r\n\r\nhelp\r\n", m.addr)
    assert wait_until(lambda: len(mails(sink, m.addr)) >= 2)
    assert not mails(sink, m.addr, b"multipart/encrypted")


def test_sealed_notice_outside_looks_like_a_sealed_post(alice_keyed, sink, homes):
    """A notice sealed to a key the caller names (pgpnotice.c) has the head of every notice
    (distribute_notice_head), so outside its encryption it carries a post's List-* set: before,
    its hand-written head had List-Id alone, and a notice to one key stood out from the posts."""
    inst, g = alice_keyed()
    send(inst, b"From: bob@example.org\r\nSubject: plain words\r\n\r\nwords\r\n",
         "bob@example.org", rcpt="demo@lists.example")
    posts = lambda: [r for r in mails(sink, g.addr) if encrypted(r) and b"plain words" in read(g, r)]
    assert wait_until(posts), inst.logtext()
    h = Gpg(homes / "alice2", "Wonderland Liddell", "alice@example.org")
    ask_unsigned(inst, sink, g, h)
    assert wait_until(lambda: replace_notices(sink, g)), "no notice to the old key"
    raws = [r for r in mails(sink, g.addr) if encrypted(r) and NOTICE_REPL in read(g, r)]
    note, copy = (email.message_from_bytes(r, policy=email.policy.default)
                  for r in (raws[0], posts()[0]))
    assert note["List-Unsubscribe"] and note["List-Help"]
    for f in ("List-Id", "List-Post", "List-Help", "List-Owner", "Precedence"):
        assert note.get_all(f) == copy.get_all(f), f
    assert note["Subject"] == "..."


# ---- the client corpus, encrypted to the list (#17 "Done means", audit17) --

def corpus_encrypted(g, listfpr, raw):
    """a corpus mail as its client sends it encrypted: its whole header and
    body inside (signed by g, encrypted to the list and to g, as
    Thunderbird does), outside only From, To, Date, Message-ID, "...\""""
    raw = crlf(raw)
    head = raw.split(b"\r\n\r\n", 1)[0]
    keep = [f for f in re.split(rb"\r\n(?![ \t])", head)
            if f.lower().startswith((b"from:", b"to:", b"date:",
                                     b"message-id:"))]
    outer = b"\r\n".join(keep) + b"\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
    body = pgpmime(g, encrypt(g, listfpr, raw)).split(b"\r\n\r\n", 1)[1]
    return outer + b'Content-Type: multipart/encrypted; protocol="' \
        b'application/pgp-encrypted"; boundary="enc42"\r\n\r\n' + body


def test_encrypted_corpus_names_no_author_key(make_instance, sink, homes):
    """The nine client mails of test_identity, each signed by a key whose
    UID is the author's name and address and encrypted to the list's key
    (and hers): on a pseudonymous list no copy (clear, or decrypted by a
    keyed member), envelope, log line or state file holds her address,
    name, client, or her key's fingerprint or key IDs."""
    from test_identity import CORPUS, MEMBERS, NEEDLES, ROSA, scan
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=(), start=False)
    for m in MEMBERS:
        inst.ctl("member", "add", "demo", m,
                 *(("--name", "Rosa Luxemburg") if m == ROSA else ()))
    inst.start()
    rosa = Gpg(homes / "rosa", "Rosa Luxemburg", ROSA)
    carol = Gpg(homes / "carol", "Carol Keyed", "carol@example.org")
    (homes / "carol.asc").write_bytes(carol.armored())
    r = inst.ctl("member", "set", "demo", carol.addr, "openpgp",
                 str(homes / "carol.asc"))
    assert r.returncode == 0, r.stderr
    listfpr = list_key(inst, rosa)
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".eml"))
    assert len(files) >= 8
    for f in files:
        with open(os.path.join(CORPUS, f), "rb") as fp:
            send(inst, corpus_encrypted(rosa, listfpr, fp.read()), ROSA,
                 rcpt=LIST)
    enc = lambda: [r for r in mails(sink, carol.addr, b"multipart/encrypted")
                   if b"demo+p-" in r]
    assert wait_until(lambda: len(mails(sink, "bob@example.org")) >= len(files)
                      and len(enc()) >= len(files), timeout=90), \
        inst.logtext()[-4000:]
    words = [n.lower().encode() for n in NEEDLES]
    # fingerprints and long key IDs, as written (an 8-digit short ID would
    # match base64 by chance here)
    ids = [i for i in rosa.identifiers(name=False) if len(i) >= 16]

    def clean(t, where):
        low = t.lower()
        for n in words:
            assert n not in low, (n, where)
        for n in ids:
            assert n not in t, (n, where)
    seen = b""
    for mail_from, rcpts, data in sink.handler.messages:
        scan(mail_from.encode(), "an envelope sender")
        if rcpts == [ROSA]:
            continue                        # a note to the author herself
        texts = [data]
        if carol.addr in rcpts and encrypted(data):
            ok, plain = carol.decrypt(payload(data))
            assert ok, data[:1500]
            texts.append(plain)
        for t in texts:
            seen += t
            clean(t, rcpts)
    assert b"Route map" in seen          # the scans read the posts
    inst.stop()
    clean(inst.logtext().encode(), "the log")
    for root, _, names in os.walk(inst.state):
        for name in names:
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue                    # the control socket
            with open(path, "rb") as fp:
                clean(fp.read(), path)
