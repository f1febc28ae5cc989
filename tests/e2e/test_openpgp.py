"""test_openpgp - the OpenPGP engine (mail/openpgp*) against independent verifiers: gpg, rnp, sqop.

Drives build/tests/tools/openpgp_tool: a list key, members' keys made with gpg, one post signed once and
encrypted per member, each copy opened by gpg, rnp and sqop; refused key kinds; posts encrypted to the list.
"""
import email
import os
import re
import shutil
import subprocess

import pytest

BUILD = os.environ.get("MLISTD_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
TOOL = os.path.join(BUILD, "tests", "tools", "openpgp_tool")
CREATED = 1700000100

pytestmark = pytest.mark.skipif(not all(shutil.which(b) for b in ("gpg", "rnp", "sqop")),
                                reason="gpg, rnp and sqop are needed (tools/install-deps)")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=120, **kw)


def tool(*args):
    return run([TOOL] + [str(a) for a in args])


class Gpg:
    """One gpg home with one member's key pair."""

    def __init__(self, home, name, algo="ed25519", enc="cv25519", expire="never"):
        self.home = str(home)
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        self.uid = "%s <%s@example.net>" % (name, name.lower())
        self.gpg("--quick-gen-key", self.uid, algo, "cert,sign" if enc else "default", expire)
        self.fpr = self.fingerprint()
        if enc:
            self.gpg("--quick-add-key", self.fpr, enc, "encr", expire)

    def gpg(self, *args, check=True, inp=None):
        r = run(["gpg", "--homedir", self.home, "--batch", "--pinentry-mode", "loopback",
                 "--passphrase", ""] + list(args), input=inp)
        if check:
            assert r.returncode == 0, r.stderr.decode()
        return r

    def fingerprint(self):
        out = self.gpg("--list-keys", "--with-colons").stdout.decode()
        return re.search(r"^fpr:+([0-9A-F]{40}):", out, re.M).group(1)

    def export(self, path, armor=True):
        out = self.gpg(*(["--armor"] if armor else []), "--export", self.fpr).stdout
        with open(path, "wb") as f:
            f.write(out)
        return path

    def export_secret(self, path):
        with open(path, "wb") as f:
            f.write(self.gpg("--export-secret-keys", self.fpr).stdout)
        return path


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("openpgp")
    r = tool("genkey", "test", "example.org", CREATED - 100)
    assert r.returncode == 0, r.stderr
    (d / "list.sec").write_bytes(r.stdout)
    r = tool("public", d / "list.sec", "armor")
    assert r.returncode == 0 and r.stdout.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    (d / "list.asc").write_bytes(r.stdout)
    listfpr = tool("fpr", d / "list.sec").stdout.decode().strip()
    members = []
    for name in ("Alice", "Bob"):
        g = Gpg(d / name, name)
        g.gpg("--import", str(d / "list.asc"))
        r = tool("import", g.export(d / (name + ".asc")), "any")
        assert r.returncode == 0, r.stderr
        (d / (name + ".min")).write_bytes(r.stdout)
        members.append(g)
    return {"dir": d, "listfpr": listfpr, "members": members}


def entity(body):
    return ("From: Carol <carol@example.com>\r\nTo: test@example.org\r\nSubject: [test] hi\r\n"
            "Date: Tue, 14 Nov 2023 22:15:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def encrypt(env, name, body, keys):
    d = env["dir"]
    ent = d / (name + ".ent")
    ent.write_bytes(entity(body))
    out = d / (name + ".out")
    out.mkdir()
    r = tool("encrypt", d / "list.sec", CREATED, ent, out, 2, *[d / (k + ".min") for k in keys])
    assert r.returncode == 0, r.stderr
    return [(out / ("%d.eml" % i)).read_bytes() for i in range(len(keys))]


def packets(data):
    """(tag, raw packet) of a binary OpenPGP packet sequence (new and old formats)."""
    i, out = 0, []
    while i < len(data):
        b = data[i]
        if b & 0x40:
            tag, l0 = b & 0x3F, data[i + 1]
            if l0 < 192:
                hl, n = 2, l0
            elif l0 < 224:
                hl, n = 3, ((l0 - 192) << 8) + data[i + 2] + 192
            elif l0 == 255:
                hl, n = 6, int.from_bytes(data[i + 2:i + 6], "big")
            else:
                raise AssertionError("partial length in the signed packets")
        else:
            tag, lt = (b >> 2) & 0xF, b & 3
            hl = {0: 2, 1: 3, 2: 5}[lt]
            n = int.from_bytes(data[i + 1:i + hl], "big")
        out.append((tag, data[i:i + hl + n]))
        i += hl + n
    return out


def test_every_copy_opens_with_gpg_rnp_sqop(env):
    d, (alice, bob) = env["dir"], env["members"]
    copies = encrypt(env, "p1", "hello, comrades\r\n", ["Alice", "Bob"])
    assert len(copies) == 2
    for g, copy in zip((alice, bob), copies):
        (d / "copy.eml").write_bytes(copy)
        r = g.gpg("--status-fd", "1", "--decrypt", str(d / "copy.eml"))
        st = r.stdout.decode()
        assert "[GNUPG:] DECRYPTION_OKAY" in st
        assert "[GNUPG:] DECRYPTION_INFO 2 9 0" in st
        assert re.search(r"^\[GNUPG:\] VALIDSIG %s " % env["listfpr"], st, re.M)
        plain = g.gpg("--decrypt", str(d / "copy.eml")).stdout
        assert b"hello, comrades" in plain and b'protected-headers="v1"' in plain
        lp = g.gpg("--list-packets", str(d / "copy.eml")).stdout.decode()
        assert lp.count(":pubkey enc packet:") == 1
        subkeys = re.findall(r"^fpr:+([0-9A-F]{40}):", g.gpg("--list-keys", "--with-colons", g.fpr)
                             .stdout.decode(), re.M)
        assert re.search(r"keyid %s" % subkeys[1][-16:], lp)
        assert ":compressed packet:" not in lp and "aead" not in lp.lower()
        assert 'name=""' in lp and "created 0" in lp
        # rnp and sqop, from the member's secret key
        sec = g.export_secret(d / "member.sec")
        rh = d / ("rnp-" + g.fpr)
        rh.mkdir(exist_ok=True)
        run(["rnpkeys", "--homedir", str(rh), "--import", str(sec)])
        run(["rnpkeys", "--homedir", str(rh), "--import", str(d / "list.asc")])
        r = run(["rnp", "--homedir", str(rh), "--password", "", "--decrypt", str(d / "copy.eml"),
                 "--output", "-"])
        assert r.returncode == 0 and b"hello, comrades" in r.stdout, r.stderr
        assert b"Good signature" in r.stderr or b"signature(s) verified successfully" in r.stderr
        msg = email.message_from_bytes(copy)
        armored = msg.get_payload()[1].get_payload(decode=False).encode()
        vo = d / "verifications.txt"
        if vo.exists():
            vo.unlink()
        r = run(["sqop", "decrypt", "--verify-with", str(d / "list.asc"), "--verifications-out", str(vo),
                 str(sec)], input=armored)
        assert r.returncode == 0 and b"hello, comrades" in r.stdout, r.stderr
        assert env["listfpr"] in vo.read_text().upper()


def test_pgp_mime_structure(env):
    copy = encrypt(env, "p2", "structure\r\n", ["Alice"])[0]
    msg = email.message_from_bytes(copy)
    assert msg.get_content_type() == "multipart/encrypted"
    assert msg.get_param("protocol") == "application/pgp-encrypted"
    p1, p2 = msg.get_payload()
    assert p1.get_content_type() == "application/pgp-encrypted"
    assert p1.get_payload().strip() == "Version: 1"
    assert p2.get_content_type() == "application/octet-stream"
    assert p2.get_param("name") == "encrypted.asc"
    assert p2.get_payload().lstrip().startswith("-----BEGIN PGP MESSAGE-----")


def test_signature_packet_identical_across_copies(env):
    d, (alice, bob) = env["dir"], env["members"]
    copies = encrypt(env, "p3", "one signature\r\n", ["Alice", "Bob", "Alice"])
    sigs = []
    for g, copy in zip((alice, bob, alice), copies):
        (d / "c.eml").write_bytes(copy)
        inner = g.gpg("--decrypt", "--unwrap", str(d / "c.eml")).stdout
        pk = packets(inner)
        assert [t for t, _ in pk] == [4, 11, 2]   # one-pass sig, literal, signature
        sigs.append(pk[2][1])
    assert len(sigs) == 3 and sigs[0] == sigs[1] == sigs[2]
    assert copies[0] != copies[2]                 # fresh session key per copy


def test_lengths_within_a_bucket_are_equal(env):
    short = encrypt(env, "p4", "short\r\n", ["Alice"])[0]
    longer = encrypt(env, "p5", "a much longer post " * 100 + "\r\n", ["Alice"])[0]
    big = encrypt(env, "p6", "x" * 70 + "\r\n" * 1 + ("y" * 70 + "\r\n") * 120, ["Alice"])[0]
    assert len(short) > 4096
    assert len(short) == len(longer)
    assert len(big) > len(short)                  # the next bucket


@pytest.mark.parametrize("kind,why", [
    ("rsa1024", "bits"),
    ("expired", "expired"),
    ("revoked", "revoked"),
    ("noenc", "encryption"),
    ("secret", "SECRET"),
    ("v3", "v3"),
])
def test_refused_key_kinds(env, kind, why):
    d = env["dir"] / ("bad-" + kind)
    path = str(d) + ".key"
    if kind == "rsa1024":
        g = Gpg(d, "Weak", "rsa1024", "rsa1024")
        g.export(path)
    elif kind == "expired":
        g = Gpg(d, "Old", "ed25519", "cv25519", "seconds=1")
        import time
        time.sleep(2)   # gpg cannot make a key that has already expired
        g.export(path)
    elif kind == "revoked":
        g = Gpg(d, "Gone")
        rev = os.path.join(g.home, "openpgp-revocs.d", g.fpr + ".rev")
        txt = open(rev).read().replace(":-----BEGIN", "-----BEGIN")
        g.gpg("--import", inp=txt.encode())
        g.export(path)
    elif kind == "noenc":
        g = Gpg(d, "Signonly", "ed25519", None)
        g.export(path)
    elif kind == "secret":
        g = Gpg(d, "Leaky")
        g.export_secret(path)
    else:   # a v3 RSA public-key packet: gpg 2.2 cannot make one, so by hand
        n = (1 << 2047) | 12345
        mpi = lambda x: x.bit_length().to_bytes(2, "big") + x.to_bytes((x.bit_length() + 7) // 8, "big")
        body = bytes([3]) + (1700000000).to_bytes(4, "big") + (0).to_bytes(2, "big") + bytes([1]) \
            + mpi(n) + mpi(65537)
        with open(path, "wb") as f:
            f.write(bytes([0x99]) + len(body).to_bytes(2, "big") + body)
    r = tool("import", path, "any")
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert why in r.stderr.decode(), r.stderr


def test_minimal_key_one_uid_no_certifications(env):
    d = env["dir"] / "min"
    g = Gpg(d, "Dana")
    g.gpg("--quick-add-uid", g.fpr, "Dana Real <dana@work.example>")
    certifier = Gpg(env["dir"] / "certifier", "Eve")
    certifier.gpg("--import", inp=g.gpg("--export", g.fpr).stdout)
    certifier.gpg("--quick-sign-key", g.fpr)
    g.gpg("--import", inp=certifier.gpg("--export", g.fpr).stdout)
    full = g.export(str(d) + ".asc")
    assert b"" != open(full, "rb").read()
    lp_full = g.gpg("--list-packets", full).stdout.decode()
    assert lp_full.count(":user ID packet:") == 2 and "sigclass 0x10" in lp_full
    r = tool("import", full, "armor")
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().split()[0] == g.fpr
    with open(str(d) + ".min", "wb") as f:
        f.write(r.stdout)
    lp = g.gpg("--list-packets", str(d) + ".min").stdout.decode()
    assert lp.count(":user ID packet:") == 1
    assert "keyid " + certifier.fpr[-16:] not in lp
    # Autocrypt keydata= is the base64 of the binary key
    import base64
    ac = env["dir"] / "ac.txt"
    ac.write_bytes(base64.encodebytes(g.gpg("--export", g.fpr).stdout))
    r = tool("import", ac, "autocrypt")
    assert r.returncode == 0 and r.stderr.decode().split()[0] == g.fpr, r.stderr


def test_post_encrypted_to_the_list_decrypts_and_verifies(env):
    d, alice = env["dir"], env["members"][0]
    inner = entity("to the list\r\n")
    (d / "in.txt").write_bytes(inner)
    enc = alice.gpg("--armor", "--trust-model", "always", "--sign", "--encrypt", "-r", env["listfpr"],
                    "-r", alice.fpr, "--output", "-", str(d / "in.txt")).stdout
    boundary = "b0undary"
    pgpmime = ("From: alice@example.net\r\nTo: test@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"%s\""
               "\r\n\r\n--%s\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--%s\r\n"
               "Content-Type: application/octet-stream\r\n\r\n" % (boundary, boundary, boundary)).encode() \
        + enc + ("\r\n--%s--\r\n" % boundary).encode()
    inline = b"From: alice@example.net\r\nSubject: hi\r\n\r\n" + enc
    ids = set()
    for shape, msg in (("pgpmime", pgpmime), ("inline", inline)):
        (d / "in.eml").write_bytes(msg)
        r = tool("decrypt", d / "list.sec", d / "in.eml", d / "Alice.min")
        assert r.returncode == 0, r.stderr
        assert r.stdout == inner
        v = r.stderr.decode()
        assert "shape=%s " % shape in v and "verified=1" in v, v
        ids.add(re.search(r"replay=([0-9a-f]{64})", v).group(1))
    assert len(ids) == 1    # the same signed text re-sent: the same replay id
    # Bob's key did not sign it
    r = tool("decrypt", d / "list.sec", d / "in.eml", d / "Bob.min")
    assert r.returncode == 0 and r.stdout == inner and "verified=0" in r.stderr.decode()


def test_rotation_keeps_old_posts_open(env):
    d, alice = env["dir"], env["members"][0]
    (d / "in2.txt").write_bytes(b"before rotation\r\n")
    enc = alice.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", env["listfpr"], "--output", "-",
                    str(d / "in2.txt")).stdout
    (d / "old.eml").write_bytes(b"Subject: x\r\n\r\n" + enc)
    r = tool("rotate", d / "list.sec", CREATED + 1000)
    assert r.returncode == 0, r.stderr
    (d / "rot.sec").write_bytes(r.stdout)
    assert tool("fpr", d / "rot.sec").stdout.decode().strip() == env["listfpr"]
    pub = tool("public", d / "rot.sec", "binary").stdout
    (d / "rot.pub").write_bytes(pub)
    lp = alice.gpg("--list-packets", str(d / "rot.pub")).stdout.decode()
    assert lp.count(":public sub key packet:") == 2 and "sigclass 0x28" in lp
    r = tool("decrypt", d / "rot.sec", d / "old.eml")
    assert r.returncode == 0 and r.stdout == b"before rotation\r\n", r.stderr


def test_keys_of_a_list_without_an_openpgp_key_asks_the_daemon(make_instance, tmp_path):
    """A list from before OpenPGP has no key: `mlistctl keys LIST` does not make one itself (a
    changing verb outside the daemon); the daemon makes it ("keys openpgp"), audited once."""
    import json
    import sqlite3
    inst = make_instance(members=())
    inst.stop()
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    with db:
        assert db.execute("DELETE FROM list_pgp WHERE list = 'demo'").rowcount == 1
    db.close()

    def rows():
        db = sqlite3.connect(f"{inst.state}/mlistd.db")
        n = db.execute("SELECT count(*) FROM list_pgp WHERE list = 'demo'").fetchone()[0]
        db.close()
        return n
    assert rows() == 0
    r = inst.ctl("keys", "demo", check=False, autostart=False)
    assert r.returncode == 1 and "daemon is not running" in r.stderr, (r.stdout, r.stderr)
    r = inst.ctl("keys", "demo", "--export", check=False, autostart=False)
    assert r.returncode == 1 and "BEGIN PGP" not in r.stdout
    assert rows() == 0                                   # mlistctl made nothing itself
    inst.start()
    r = inst.ctl("keys", "demo")
    lines = re.findall(r"^openpgp: ([0-9A-F]{40}) demo <demo@lists\.example>$", r.stdout, re.M)
    assert r.returncode == 0 and len(lines) == 1, r.stdout
    assert rows() == 1
    r = inst.ctl("keys", "demo", "--export")
    assert r.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert re.findall(r"^openpgp: ([0-9A-F]{40}) ", inst.ctl("keys", "demo").stdout, re.M) == lines
    r = inst.ctl("--json", "keys", "openpgp", "demo")
    assert json.loads(r.stdout) == {"list": "demo", "openpgp": lines[0], "made": False}
    audit = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    made = [e for e in audit if e["action"] == "keys openpgp"]
    assert len(made) == 1 and made[0]["detail"] == "openpgp key made", audit
