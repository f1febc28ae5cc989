"""The list signs what it distributes: DKIM Ed25519 checked by an independent verifier (dkimpy)."""
import json
import os
import subprocess
import re
import smtplib
import time

import dkim
import pytest

from conftest import MLISTCTL


def records(inst):
    """selector -> TXT record, as `mlistctl keys` tells the admin to publish them."""
    return {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}


def verifier(inst):
    recs = records(inst)

    def dns(name, timeout=5):
        sel = name.decode().split("._domainkey.")[0]
        assert name.decode().endswith("._domainkey.lists.example.")
        return recs.get(sel, "").encode()
    return lambda msg: dkim.verify(msg, dnsfunc=dns)


POSTS = {
    "plain": b"Subject: plain\r\n\r\nA plain post.\r\n",
    "8bit": "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Genossinnen und Genossen, grüße aus Köln.\r\n".encode(),
    "html": b"Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<p>Hello <b>comrades</b></p>\r\n",
    "multipart": b"Subject: multi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XY\r\n\r\n"
                 b"--XY\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XY\r\n"
                 b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 b"AAECAwQF\r\n--XY--\r\n",
    "dots and spaces": b"Subject: dots\r\n\r\n.leading dot\r\ntrailing spaces   \r\n\r\n\r\n",
}


@pytest.mark.parametrize("kind", sorted(POSTS))
def test_every_copy_verifies_with_dkimpy(make_instance, sink, kind):
    inst = make_instance(list_settings={"footer": "-- the demo list"})
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"],
                   b"From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\n" + POSTS[kind])
    copies = sink.wait_for(3)
    verify = verifier(inst)
    for _, raw in copies:
        assert raw.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=lists.example; s=demo-k1;")
        assert verify(raw), raw[:600]


def test_one_byte_change_fails(make_instance, sink):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"],
                   b"From: alice@example.org\r\nSubject: original\r\n\r\nThe original text.\r\n")
    raw = sink.wait_for(1)[0][1]
    verify = verifier(inst)
    assert verify(raw)
    assert not verify(raw.replace(b"original text", b"origin4l text"))
    assert not verify(raw.replace(b"Subject: [demo] original", b"Subject: [demo] 0riginal"))
    assert not verify(raw.replace(b"From: alice@example.org", b"From: mallory@example.org"))
    assert not verify(b"From: mallory@example.org\r\n" + raw)


def test_notices_are_signed_too(make_instance, sink):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("stranger@elsewhere.example", ["demo@lists.example"],
                   b"From: stranger@elsewhere.example\r\nSubject: hi\r\n\r\nlet me in\r\n")
    raw = sink.wait_for(1)[0][1]
    assert b"only members of the list may post" in raw
    assert verifier(inst)(raw)


def test_rotation_keeps_old_key_published(make_instance, sink):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], b"From: alice@example.org\r\nSubject: before\r\n\r\nold key\r\n")
    old = sink.wait_for(3)[0][1]
    out = inst.ctl("keys", "rotate", "demo").stdout
    assert "new key demo-k2 signs demo's posts from now on" in out
    listing = inst.ctl("keys", "demo").stdout
    assert re.search(r'demo-k2\._domainkey\.lists\.example\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="   ; signs new posts', listing)
    assert re.search(r"demo-k1\._domainkey\.lists\.example\. IN TXT .*retired", listing)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], b"From: alice@example.org\r\nSubject: after\r\n\r\nnew key\r\n")
    new = [m for _, m in sink.wait_for(6) if b"new key" in m][0]
    assert b" s=demo-k2;" in new and b" s=demo-k1;" in old
    verify = verifier(inst)
    assert verify(old) and verify(new)


def test_keys_are_sealed_at_rest(make_instance):
    inst = make_instance(start=False)
    import base64
    import glob
    import os
    pk = base64.b64decode(records(inst)["demo-k1"].split("p=")[1])
    db = b"".join(open(p, "rb").read() for p in glob.glob(os.path.join(inst.state, "mlistd.db*")))
    assert pk in db                      # the public half is stored as is
    # the secret half is not: no 32-byte run of the db forms a seed whose public key is pk
    from nacl.signing import SigningKey
    found = any(bytes(SigningKey(db[i:i + 32]).verify_key) == pk for i in range(0, len(db) - 32))
    assert not found


MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")


def mlist_verify(path, *args):
    return subprocess.run([MLIST, "verify", str(path), *args], capture_output=True, text=True)


def test_mlist_verify_list_and_author(make_instance, sink, tmp_path):
    inst = make_instance()
    rec = tmp_path / "records.txt"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    for who in ("alice@example.org", "alice@example.org", "bob@example.org"):
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail(who, ["demo@lists.example"], f"From: {who}\r\nSubject: by {who}\r\n\r\ntext\r\n".encode())
    copies = sink.wait_for(9)
    firsts = []
    for i in range(3):
        raw = [m for r, m in copies if r == "carol@example.org"][i]
        f = tmp_path / f"post{i}.eml"
        f.write_bytes(raw)
        r = mlist_verify(f, "--dns-record", str(rec))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "dkim:    ok, signed by the list (d=lists.example s=demo-k1)" in r.stdout
        m = re.search(r"author:  ok, key ([0-9A-F-]{39}) on list demo\.lists\.example", r.stdout)
        assert m, r.stdout
        firsts.append((raw, m.group(1)))
    # alice's two posts share a key; bob's differs; nothing in the copy names alice's address as signer
    by_alice = [fp for raw, fp in firsts if b"by alice" in raw]
    by_bob = [fp for raw, fp in firsts if b"by bob" in raw]
    assert len(set(by_alice)) == 1 and by_bob[0] != by_alice[0]
    # one byte changed: both checks fail and say why
    raw = firsts[0][0].replace(b"\r\ntext\r\n", b"\r\ntexT\r\n")
    (tmp_path / "bad.eml").write_bytes(raw)
    r = mlist_verify(tmp_path / "bad.eml", "--dns-record", str(rec))
    assert r.returncode == 1
    assert "dkim:    FAILED: body changed" in r.stdout and "author:  FAILED: body changed" in r.stdout
    # the wrong key, or none
    txt = json.loads(inst.ctl("--json", "keys", "demo").stdout)[0]["txt"]
    r = mlist_verify(tmp_path / "post0.eml", "--list-key", txt)
    assert r.returncode == 0
    r = mlist_verify(tmp_path / "post0.eml", "--list-key", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    assert r.returncode == 1 and "signature does not verify" in r.stdout
    r = mlist_verify(tmp_path / "post0.eml")
    assert r.returncode == 1 and "NOT CHECKED" in r.stdout
    r = subprocess.run([MLIST, "verify"], capture_output=True, text=True)
    assert r.returncode == 2


def test_non_member_posts_on_open_list_have_no_author_key(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"posting": "open"})
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("guest@elsewhere.example", ["demo@lists.example"], b"Subject: guest\r\n\r\nhello\r\n")
    raw = sink.wait_for(3)[0][1]
    assert b"Mlist-Author-Signature" not in raw
    assert verifier(inst)(raw)


def own_key(inst, tmp_path, who="alice@example.org"):
    key = tmp_path / "alice.key"
    r = subprocess.run([MLIST, "keygen", "--out", str(key)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    inst.ctl("member", "set", "demo", who, "key", r.stdout.split()[0])
    return key


def signed_post(key, lst="demo@lists.example", body="Signed by my own key.\n", mid=None):
    post = (f"From: alice@example.org\nTo: demo@lists.example\nSubject: my own words\n"
            f"Date: Sun, 22 Nov 2026 10:00:00 +0000\nMessage-ID: <{mid or time.time()}@example.org>\n\n{body}")
    r = subprocess.run([MLIST, "sign", "--list", lst, "--key", str(key)], input=post.encode(),
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def send(inst, raw, sender="alice@example.org"):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, ["demo@lists.example"], raw)


def test_member_own_key_signed_post_goes_out_intact(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"footer": "-- list footer"})
    key = own_key(inst, tmp_path)
    send(inst, signed_post(key))
    copies = sink.wait_for(3)
    raw = copies[0][1]
    assert b"Subject: my own words\r\n" in raw          # no prefix, no footer: the author's bytes
    assert b"list footer" not in raw
    assert inst.wait_log("author=own-key")
    f = tmp_path / "got.eml"
    f.write_bytes(raw)
    rec = tmp_path / "rec"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    r = mlist_verify(f, "--dns-record", str(rec))
    assert r.returncode == 0, r.stdout
    assert verifier(inst)(raw)


def test_forged_from_refused_when_member_holds_key(make_instance, sink, tmp_path):
    inst = make_instance()
    own_key(inst, tmp_path)
    send(inst, b"From: alice@example.org\r\nSubject: forged\r\n\r\nI am not alice.\r\n", sender="eve@evil.example")
    assert inst.wait_log("reason=unsigned-own-key")
    copies = sink.wait_for(1)
    time.sleep(0.5)
    # only the notice, and to alice's own mailbox, never to the envelope sender (issue #14)
    assert [r for r, _ in sink.handler.copies()] == ["alice@example.org"]


def test_signature_for_another_list_or_replayed(make_instance, sink, tmp_path):
    inst = make_instance()
    key = own_key(inst, tmp_path)
    send(inst, signed_post(key, lst="other@lists.example"))
    assert inst.wait_log("reason=unsigned-own-key")
    raw = signed_post(key, mid="once@example.org")
    send(inst, raw)
    sink.wait_for(3)
    send(inst, raw)                                       # the same signed post again
    assert inst.wait_log("reason=replay")
    time.sleep(0.5)
    assert sum(1 for _, m in sink.handler.copies() if b"once@example.org" in m) == 3


def test_post_auth_signature_only(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"post_auth": "signature"})
    key = own_key(inst, tmp_path)
    send(inst, b"From: bob@example.org\r\nSubject: plain\r\n\r\nunsigned\r\n", sender="bob@example.org")
    assert inst.wait_log("reason=unsigned")
    send(inst, signed_post(key))
    copies = sink.wait_for(4)
    assert sum(1 for _, m in copies if b"my own words" in m) == 3


def test_mlist_usage(tmp_path):
    r = subprocess.run([MLIST, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "mlist keygen" in r.stdout and "mlist sign" in r.stdout
    r = subprocess.run([MLIST, "sign"], capture_output=True, text=True)
    assert r.returncode == 2 and "--list" in r.stderr
    r = subprocess.run([MLIST, "sign", "--list", "x@y", "--key", str(tmp_path / "none")], capture_output=True,
                       text=True, input="")
    assert r.returncode == 1 and "mlist keygen" in r.stderr
    k = tmp_path / "k"
    assert subprocess.run([MLIST, "keygen", "--out", str(k)], capture_output=True).returncode == 0
    r = subprocess.run([MLIST, "keygen", "--out", str(k)], capture_output=True, text=True)
    assert r.returncode == 1 and "already there" in r.stderr


def test_post_auth_confirm(make_instance, sink):
    inst = make_instance(list_settings={"post_auth": "confirm"})
    # a forger uses alice's From: the token goes to alice's mailbox, not to the forger
    send(inst, b"From: alice@example.org\r\nSubject: confirm me\r\n\r\nplease confirm\r\n", sender="eve@evil.example")
    copies = sink.wait_for(1)
    time.sleep(0.5)
    assert [r for r, _ in sink.handler.copies()] == ["alice@example.org"]
    note = sink.handler.messages[0][2]
    m = re.search(rb"Reply-To: <(demo-confirm\+([0-9a-f]{40})@lists\.example)>", note)
    assert m, note
    assert verifier(inst)(note)
    assert json.loads(inst.ctl("--json", "status").stdout)["held"] == 1
    # alice replies: the post goes out, exactly once, signed
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", [m.group(1).decode()], b"Subject: Re: Confirm\r\n\r\nyes\r\n")
    copies = sink.wait_for(4)
    assert inst.wait_log("confirm: list=demo confirmed")
    posts = [(r, raw) for r, raw in sink.handler.copies() if b"please confirm" in raw]
    assert sorted(r for r, _ in posts) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert all(verifier(inst)(raw) for _, raw in posts)
    # the token is spent: a second reply does nothing
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", [m.group(1).decode()], b"Subject: again\r\n\r\nyes\r\n")
    assert inst.wait_log("token unknown, used or expired")
    time.sleep(0.5)
    assert len([1 for _, raw in sink.handler.copies() if b"please confirm" in raw]) == 3
    assert json.loads(inst.ctl("--json", "status").stdout)["held"] == 0
    # a made-up token is accepted at SMTP (no oracle) and does nothing
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("eve@evil.example", ["demo-confirm+" + "0" * 40 + "@lists.example"], b"Subject: x\r\n\r\ny\r\n")
    time.sleep(1)
    assert len([1 for _, raw in sink.handler.copies() if b"please confirm" in raw]) == 3


def test_keys_by_mail(make_instance, sink):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("anyone@elsewhere.example", ["demo-request@lists.example"],
                   b"From: anyone@elsewhere.example\r\nSubject: keys\r\n\r\n")
    reply = sink.wait_for(1)[0]
    assert reply[0] == "anyone@elsewhere.example"
    txt = json.loads(inst.ctl("--json", "keys", "demo").stdout)[0]["txt"]
    assert f'demo-k1._domainkey.lists.example TXT "{txt}"'.encode() in reply[1]
    assert verifier(inst)(reply[1])
    assert inst.wait_log("kind=request commands=keys result=ok")


def test_key_registered_by_mail_after_confirmation(make_instance, sink, tmp_path):
    inst = make_instance()
    key = tmp_path / "k"
    pub = subprocess.run([MLIST, "keygen", "--out", str(key)], capture_output=True, text=True).stdout.split()[0]
    for who in ("alice@example.org", "stranger@elsewhere.example"):
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail(who, ["demo-request@lists.example"], f"From: {who}\r\nSubject: key {pub}\r\n\r\n".encode())
    answers = sink.wait_for(2)
    by = {r: raw for r, raw in answers}
    # the same answer for a member and a stranger: no roster oracle
    strip = lambda raw: re.sub(rb"[0-9a-f]{40}|Date: .*|Message-ID: .*|DKIM-Signature:(.|\r\n\t)*?\r\n(?=\S)|To: .*", b"", raw)
    assert strip(by["alice@example.org"]) == strip(by["stranger@elsewhere.example"])
    # a post signed with the key is not yet alice's
    send(inst, signed_post(key))
    assert inst.wait_log("reason=accepted")          # distributed as an ordinary (server-signed) post
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", by["alice@example.org"]).group(1).decode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", [f"demo-confirm+{token}@lists.example"], b"Subject: yes\r\n\r\nyes\r\n")
    assert inst.wait_log("a member's own key registered")
    # now unsigned posts in alice's name are refused, signed ones go out intact
    send(inst, b"From: alice@example.org\r\nSubject: unsigned\r\n\r\nx\r\n")
    assert inst.wait_log("reason=unsigned-own-key")
    send(inst, signed_post(key, mid="after@example.org"))
    assert inst.wait_log("author=own-key")


@pytest.mark.parametrize("mode", ["pseudonym", "anonymous"])
def test_mlist_verify_names_the_pseudonym(make_instance, sink, tmp_path, mode):
    """On non-real lists mlist verify says which pseudonym (or one-off anonymous handle) and key signed."""
    inst = make_instance(list_settings={"identity.mode": mode}, start=False)
    inst.ctl("member", "set", "demo", "alice@example.org", "pseudonym", "Genossin Ærø")
    inst.start()
    rec = tmp_path / "records.txt"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    for n in range(2):
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail("alice@example.org", ["demo@lists.example"],
                       f"From: alice@example.org\r\nSubject: p{n}\r\n\r\ntext {n}\r\n".encode())
    copies = [m for r, m in sink.wait_for(6) if r == "carol@example.org"]
    out = []
    for i, raw in enumerate(copies[:2]):
        f = tmp_path / f"p{i}.eml"
        f.write_bytes(raw)
        r = mlist_verify(f, "--dns-record", str(rec))
        assert r.returncode == 0, r.stdout
        m = re.search(r'poster:  (pseudonym|anonymous post) "([^"]+)" \(key ([0-9A-F-]+)\)', r.stdout)
        assert m, r.stdout
        # a pseudonym's OpenPGP signature too (#18), by a key whose UID is the From; anonymous: none
        pgp = re.search(r'openpgp: ok, signed by "Genossin Ærø via demo <(demo\+p-[a-z0-9]+@lists\.example)>", '
                        r'key ([0-9A-F]{40})', r.stdout)
        if mode == "pseudonym":
            assert pgp, r.stdout
            out.append(m.groups() + pgp.groups())
        else:
            assert "openpgp: none" in r.stdout
            out.append(m.groups())
    if mode == "pseudonym":
        assert out[0] == out[1] == ("pseudonym", "Genossin Ærø", out[0][2], out[0][3], out[0][4])
    else:
        assert out[0][0] == "anonymous post" and out[0][1] != out[1][1] and out[0][2] != out[1][2]


def test_own_key_on_a_pseudonymous_list(make_instance, sink, tmp_path):
    """The member's own key vouches for the post to the list; the copy is rewritten like any other and
    signed by the list-held pseudonym key (the member's own key, maybe used elsewhere, would link them).
    Their registered key stays theirs: the next signed post is accepted too, a forged one is not."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"})
    key = own_key(inst, tmp_path)
    rec = tmp_path / "rec"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    fps = []
    for n in range(2):
        send(inst, signed_post(key, mid=f"own{n}@example.org"))
        got = [m for r, m in sink.wait_for(3 * (n + 1)) if r == "carol@example.org"]
        assert len(got) == n + 1, inst.logtext()
        raw = got[n]
        assert b"example.org" not in raw.split(b"\r\n\r\n")[0].replace(b"carol@example.org", b"")
        assert b"[demo] my own words" in raw
        (tmp_path / "p.eml").write_bytes(raw)
        r = mlist_verify(tmp_path / "p.eml", "--dns-record", str(rec))
        assert r.returncode == 0, r.stdout
        fps.append(re.search(r"poster:  pseudonym \"([^\"]+)\" \(key ([0-9A-F-]+)\)", r.stdout).groups())
    assert fps[0] == fps[1]
    send(inst, b"From: alice@example.org\r\nSubject: forged\r\n\r\nnot alice\r\n", sender="eve@evil.example")
    assert inst.wait_log("reason=unsigned-own-key")
