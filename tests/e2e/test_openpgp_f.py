"""test_openpgp_f - #17's small leftovers (audit17), end to end through the
daemon: the list's own key as `mlistctl keys LIST --export` gives it
(algorithms, key flags, UID, read by gpg and rnp), a post encrypted to the
list's old subkey after `--rotate-subkey` and one to the new subkey, and
notices, digests and `archive get` answers that rnp and sqop open and verify
as well as gpg (a member need not use gpg).
"""
import atexit
import email
import re
import shutil
import tempfile

import pytest
from conftest import wait_until
from test_openpgp import Gpg, run
from test_openpgp_e import (ALICE, BOB, DAVE, LIST, both_copies, keyed_instance,
                            opened)
from test_pgp_delivery import payload, send, to

pytestmark = pytest.mark.skipif(
    not all(shutil.which(b) for b in ("gpg", "rnp", "rnpkeys", "sqop")),
    reason="gpg, rnp and sqop are needed (tools/install-deps)")

UID = "demo <demo@lists.example>"


def exported(inst, tmp_path, name="list.asc"):
    """the list's public key as `mlistctl keys demo --export` prints it"""
    r = inst.ctl("keys", "demo", "--export")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    (tmp_path / name).write_text(r.stdout)
    return tmp_path / name


def short_home():
    """a gpg home whose agent socket fits sun_path (xdist paths are long)"""
    home = tempfile.mkdtemp(prefix="gpg-f-", dir="/tmp")
    atexit.register(shutil.rmtree, home, True)
    return home


def colons(g, path):
    """gpg's --with-colons view of a key file: [fields] of pub, sub, uid"""
    out = g.gpg("--show-keys", "--with-colons", str(path)).stdout.decode()
    return [ln.split(":") for ln in out.splitlines()
            if ln.startswith(("pub:", "sub:", "uid:"))]


def key_flags(listing):
    """the key flags of each signature packet in a --list-packets text, in
    order: the self-signature (primary) first, then each subkey binding"""
    return re.findall(r"subpkt 27 len 1 \(key flags: ([0-9A-F]{2})\)", listing)


def test_list_key_is_ed25519_certify_sign_with_a_cv25519_subkey(
        make_instance, sink, tmp_path):
    """The key the daemon made for the list, as a member's client imports
    it: an Ed25519 primary that certifies and signs, one cv25519 subkey
    that encrypts, and the one UID `LIST <LIST@hostname>`; the `keys`
    answer at -request attaches the same key (audit17: only the engine's
    genkey was checked, never the daemon's own key)."""
    inst = make_instance()
    path = exported(inst, tmp_path)
    g = Gpg.__new__(Gpg)
    g.home = short_home()
    rows = colons(g, path)
    kinds = [r[0] for r in rows]
    assert kinds == ["pub", "uid", "sub"], rows
    pub, uid, sub = rows
    # field 4 the algorithm, 12 the capabilities, 17 the curve
    assert pub[3] == "22" and pub[16] == "ed25519", pub
    assert "c" in pub[11] and "s" in pub[11] and "e" not in pub[11], pub
    assert sub[3] == "18" and sub[16] == "cv25519", sub
    assert sub[11] == "e", sub
    assert uid[9] == UID, uid
    lp = g.gpg("--list-packets", str(path)).stdout.decode()
    assert lp.count(":user ID packet:") == 1, lp
    assert ':user ID packet: "%s"' % UID in lp, lp
    assert lp.count(":public sub key packet:") == 1, lp
    # 03 certify+sign on the self-signature; 0C encrypt on the binding
    assert key_flags(lp) == ["03", "0C"], lp
    # rnp reads the same
    rh = tmp_path / "rnp"
    rh.mkdir()
    r = run(["rnp", "--list-packets", str(path)])
    assert r.returncode == 0, r.stderr
    pk = [re.sub(r"\s+", " ", p) for p in
          re.split(r"^:off \d+: ", r.stdout.decode(), flags=re.M)[1:]]
    kinds = [re.match(r"packet header \S+ \([^)]*\) (.*? packet)", p)
             .group(1) for p in pk]
    assert kinds == ["Public key packet", "UserID packet", "Signature packet",
                     "Public subkey packet", "Signature packet"], pk
    assert "public key algorithm: 22 (EdDSA)" in pk[0], pk[0]
    assert "ecc curve: Ed25519" in pk[0], pk[0]
    assert pk[1].endswith("id: %s " % UID), pk[1]
    assert "type: 19 " in pk[2], pk[2]
    assert "key flags: 0x03 ( certify sign )" in pk[2], pk[2]
    assert "public key algorithm: 18 (ECDH)" in pk[3], pk[3]
    assert "ecdh curve: Curve25519" in pk[3], pk[3]
    assert "type: 24 (Subkey Binding Signature)" in pk[4], pk[4]
    assert "key flags: 0x0c ( encrypt_comm encrypt_storage )" in pk[4], pk[4]
    r = run(["rnpkeys", "--homedir", str(rh), "--import", str(path)])
    assert r.returncode == 0, r.stderr
    r = run(["rnpkeys", "--homedir", str(rh), "--list-keys"])
    out = r.stdout.decode()
    assert re.search(r"^pub +255/EdDSA .*\[SC\]", out, re.M), out
    assert re.search(r"^sub +255/ECDH .*\[E\]", out, re.M), out
    assert re.search(r"^uid +%s$" % re.escape(UID), out, re.M), out
    # the key the `keys` answer at -request attaches is that same key
    send(inst, f"From: {BOB}\r\nSubject: keys\r\n\r\nkeys\r\n".encode(),
         BOB, rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, BOB, b"application/pgp-keys"))
    assert got, inst.logtext()[-3000:]
    parts = [p for p in email.message_from_bytes(got[0]).walk()
             if p.get_content_type() == "application/pgp-keys"]
    assert len(parts) == 1, got[0][:2000]
    (tmp_path / "answer.asc").write_bytes(parts[0].get_payload(decode=True))
    assert colons(g, tmp_path / "answer.asc") == rows


def encrypted_to_subkey(sender, keyfile, subfpr, raw):
    """raw (From/To/Subject and a text) encrypted by gpg to one subkey
    (`-r FPR!`), sent as RFC 3156 PGP/MIME the way a client does"""
    sender.gpg("--import", str(keyfile))
    head, body = raw.split(b"\r\n\r\n", 1)
    inner = head + b'\r\nContent-Type: text/plain; charset=utf-8; ' \
        b'protected-headers="v1"\r\n\r\n' + body
    enc = sender.gpg("--armor", "--trust-model", "always", "--encrypt",
                     "-r", subfpr + "!", "--output", "-", "-", inp=inner).stdout
    lp = sender.gpg("--list-packets", inp=enc, check=False).stdout.decode()
    assert "keyid %s" % subfpr[-16:] in lp, lp
    outer = [f for f in head.split(b"\r\n")
             if f.lower().startswith((b"from:", b"to:"))]
    return b"\r\n".join(outer) + (
        "\r\nSubject: ...\r\nMIME-Version: 1.0\r\nContent-Type: "
        'multipart/encrypted; protocol="application/pgp-encrypted"; '
        'boundary="rot1"\r\n\r\n--rot1\r\n'
        "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
        "--rot1\r\nContent-Type: application/octet-stream; "
        'name="encrypted.asc"\r\n\r\n').encode() \
        + enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        + b"\r\n--rot1--\r\n"


def subfprs(g, path):
    out = g.gpg("--show-keys", "--with-colons", "--with-subkey-fingerprints",
                str(path)).stdout.decode()
    lines = out.splitlines()
    return [lines[i + 1].split(":")[9] for i, ln in enumerate(lines)
            if ln.startswith("sub:")]


@pytest.mark.parametrize("which", ["old", "new"])
def test_post_to_the_old_or_new_subkey_after_rotation_reaches_members(
        make_instance, sink, tmp_path, which):
    """dave took the list's key before `keys demo --rotate-subkey`; his post
    encrypted (by gpg) to that old subkey still reaches bob after the
    rotation, and a post to the new subkey does too (audit17: engine only)."""
    inst = make_instance(members=(BOB, DAVE))
    old = exported(inst, tmp_path, "old.asc")
    dave = Gpg(short_home(), "Dave")
    (oldsub,) = subfprs(dave, old)
    r = inst.ctl("keys", "demo", "--rotate-subkey")
    assert r.returncode == 0 and "new encryption subkey" in r.stdout, r.stderr
    new = exported(inst, tmp_path, "new.asc")
    subs = subfprs(dave, new)
    assert oldsub in subs and len(subs) == 2, subs
    newsub = [s for s in subs if s != oldsub][0]
    words = f"Words to the {which} subkey.".encode()
    raw = encrypted_to_subkey(
        dave, old if which == "old" else new,
        oldsub if which == "old" else newsub,
        f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: rotated {which}\r\n\r\n"
        .encode() + words + b"\r\n")
    assert words not in raw
    send(inst, raw, DAVE)
    got = wait_until(lambda: to(sink, BOB, words))
    assert got, inst.logtext()[-3000:]
    assert b"rotated " + which.encode() in got[0]
    assert b"BEGIN PGP MESSAGE" not in got[0]


def rnp_sqop_open(g, fpr, tmp_path, copy, name):
    """copy opened and its signature by the list's key (fpr) checked with
    rnp and with `sqop decrypt --verify-with`, as gpg does in opened();
    the plaintexts of both"""
    sec = g.export_secret(tmp_path / (name + ".sec"))
    rh = tmp_path / ("rnp-" + name)
    rh.mkdir()
    for k in (sec, tmp_path / "list.asc"):
        r = run(["rnpkeys", "--homedir", str(rh), "--import", str(k)])
        assert r.returncode == 0, r.stderr
    armored = tmp_path / (name + ".asc")
    armored.write_bytes(payload(copy))
    r = run(["rnp", "--homedir", str(rh), "--password", "", "--decrypt",
             str(armored), "--output", "-"])
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "Good signature" in err and "BAD signature" not in err, err
    assert fpr[-16:].lower() in err.lower(), err
    by_rnp = r.stdout
    vo = tmp_path / (name + ".verifications")
    r = run(["sqop", "decrypt", "--verify-with", str(tmp_path / "list.asc"),
             "--verifications-out", str(vo), str(sec)], input=payload(copy))
    assert r.returncode == 0, r.stderr
    ver = vo.read_text().upper()
    assert len(ver.strip().splitlines()) == 1 and fpr in ver, ver
    return by_rnp, r.stdout


def check_three(alice, fpr, tmp_path, copy, name, inst):
    """rnp, sqop and gpg (opened) each open copy to the same plaintext"""
    by_rnp, by_sqop = rnp_sqop_open(alice, fpr, tmp_path, copy, name)
    by_gpg = opened(alice, fpr, copy, inst)
    assert by_rnp == by_gpg and by_sqop == by_gpg
    return by_gpg


def test_digest_opens_and_verifies_with_rnp_and_sqop(make_instance, sink,
                                                     tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    for who in (ALICE, BOB):
        assert inst.ctl("member", "set", "demo", who, "digest",
                        "on").returncode == 0
    send(inst, f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: one\r\n\r\n"
         "Digested words.\r\n".encode(), DAVE)
    assert wait_until(lambda: to(sink, DAVE)), inst.logtext()[-3000:]
    assert inst.ctl("digest", "send", "demo").returncode == 0
    enc = wait_until(lambda: to(sink, ALICE, b"multipart/encrypted"))
    assert enc, inst.logtext()[-3000:]
    dec = check_three(alice, fpr, tmp_path, enc[0], "digest", inst)
    assert b"Digested words." in dec and b"multipart/digest" in dec


def test_archive_answer_opens_and_verifies_with_rnp_and_sqop(make_instance,
                                                             sink, tmp_path):
    inst, alice, fpr = keyed_instance(make_instance, tmp_path)
    send(inst, f"From: {DAVE}\r\nTo: {LIST}\r\nSubject: minutes\r\n\r\n"
         "Archived minutes.\r\n".encode(), DAVE)
    assert wait_until(lambda: to(sink, BOB, b"Archived minutes.")), \
        inst.logtext()[-3000:]
    for who in (ALICE, BOB):
        send(inst, f"From: {who}\r\nSubject: request\r\n\r\narchive get 1\r\n"
             .encode(), who, rcpt="demo-request@lists.example")
    plain, enc = both_copies(inst, sink, alice, BOB, b"is attached")
    dec = check_three(alice, fpr, tmp_path, enc[0], "archive", inst)
    assert b"Archived minutes." in dec


def test_notices_open_and_verify_with_rnp_and_sqop(make_instance, sink,
                                                   tmp_path):
    """a held-post notice to a keyed moderator and the answer to `help`"""
    inst, alice, fpr = keyed_instance(make_instance, tmp_path,
                                      {"posting": "moderated"})
    for who in (ALICE, DAVE):
        assert inst.ctl("member", "set", "demo", who, "role",
                        "moderator").returncode == 0
    send(inst, f"From: {BOB}\r\nTo: {LIST}\r\nSubject: dissent\r\n\r\n"
         "Held words.\r\n".encode(), BOB)
    plain, enc = both_copies(inst, sink, alice, DAVE, b"waits for moderation")
    dec = check_three(alice, fpr, tmp_path, enc[0], "held", inst)
    assert b"Held words." in dec
    for who in (ALICE, BOB):
        send(inst, f"From: {who}\r\nSubject: help\r\n\r\nhelp\r\n".encode(),
             who, rcpt="demo-request@lists.example")
    plain, enc = both_copies(inst, sink, alice, BOB,
                             b"demo-request@lists.example",
                             b"Your request to the list")
    dec = check_three(alice, fpr, tmp_path, enc[0], "help", inst)
    assert b"Your request to the list" in dec
