"""The words of a post's From in its author's name are pieces (#13 item 8): "NAME via LIST"
([from-author]) and "Anonymous XXXXXX" ([anonymous-name]). A list that rewords them shows its
words on a pseudonymous, an anonymous and a real-identity post (RFC 2047 in the header when not
ASCII), in the pseudonym key's UID (UTF-8) and in a rotation's announcement; a key made with the
English words still rotates after the rewording (the pseudonym is found by its stored name and
handle, never by parsing the words of the old UID); the shipped English is what it was."""
import email.header
import os
import re
import subprocess

from conftest import wait_until
from test_identity import ROSA, copies_to, msg_of, send
from test_pseudonym_pgp import Verifiers, autocrypt_key, post, signed_parts

GERMAN = "[from-author]\n{name} über {list}\n[anonymous-name]\nAnonym {code}\n"


def pieces(inst, text):
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def instance(make_instance, mode, words=None, extra=None):
    """a list in mode with ROSA (named), bob and carol; its pieces written before any verb
    starts the daemon (it reads them at start)"""
    settings = {"identity.mode": mode}
    settings.update(extra or {})
    inst = make_instance(list_settings=settings, members=(), start=False)
    if words:
        pieces(inst, words)
    inst.ctl("member", "add", "demo", ROSA, "--name", "Rosa Luxemburg")
    for m in ("bob@example.org", "carol@example.org"):
        inst.ctl("member", "add", "demo", m)
    return inst.start()


def raw_from(raw):
    """the From field's raw value, unfolded"""
    head = raw.split(b"\r\n\r\n", 1)[0]
    m = re.search(rb"(?im)^From:[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head)
    assert m, head
    return re.sub(rb"\r\n[ \t]", b" ", m.group(1)).decode()


def decoded(value):
    return str(email.header.make_header(email.header.decode_header(value)))


def uid_of(tmp_path, key):
    """the key's one UID as its bytes say (gpg --with-colons C-escapes some: \\x3a)"""
    v = Verifiers(tmp_path)
    out = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", v.write("u", key)],
                         env=v.env, capture_output=True, check=True).stdout
    uids = [ln.split(b":")[9] for ln in out.splitlines() if ln.startswith(b"uid:")]
    assert len(uids) == 1, uids
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  uids[0]).decode("utf-8")


def pseudonym_of(raw):
    """the display name and address of a post's From (encoded-words decoded)"""
    a = msg_of(raw)["From"].addresses[0]
    assert re.fullmatch(r"demo\+p-[a-z0-9]+@lists\.example", a.addr_spec), raw_from(raw)
    return a.display_name, a.addr_spec


def rotate(inst, sink, name, nth):
    r = inst.ctl("keys", "demo", "--pseudonym", name, "--rotate", check=False)
    assert r.returncode == 0, r.stdout + r.stderr + inst.logtext()
    new = re.search(r"new OpenPGP key ([0-9A-F]{40})", r.stdout).group(1)
    ann = wait_until(lambda: [d for d in copies_to(sink, "bob@example.org")
                              if b"has a new OpenPGP key" in d][nth:])
    assert ann, inst.logtext()
    return new, ann[0]


def test_reworded_names_on_pseudonymous_posts_and_the_key(make_instance, sink, tmp_path):
    inst = instance(make_instance, "pseudonym", GERMAN)
    raw = post(inst, sink, "reworded pseudonym")
    frm = raw_from(raw)
    # not ASCII: encoded-words in the header, never raw 8-bit, never the English
    assert "=?utf-8?B?" in frm and frm.endswith("lists.example>"), frm
    shown, addr = pseudonym_of(raw)
    assert shown.endswith(" über demo"), shown
    name = shown[:-len(" über demo")]
    assert name and " via " not in shown and b" via demo" not in raw
    # the pseudonym key's UID in the same words, UTF-8
    _, key = autocrypt_key(signed_parts(raw)[2])
    assert uid_of(tmp_path, key) == f"{name} über demo <{addr}>"
    # a rotation finds it and the announcement and the new key speak the list's words
    new, ann = rotate(inst, sink, name, 0)
    assert pseudonym_of(ann) == (shown, addr), raw_from(ann)
    assert b" via demo" not in ann
    _, k2 = autocrypt_key(signed_parts(ann)[2])
    assert k2 != key and uid_of(tmp_path, k2) == f"{name} über demo <{addr}>"


def test_reworded_anonymous_and_real_names(make_instance, sink):
    inst = instance(make_instance, "anonymous", GERMAN)
    send(inst, f"From: {ROSA}\r\nSubject: anonymous one\r\n\r\nA post.\r\n".encode())
    got = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if b"anonymous one" in d])
    assert got, inst.logtext()
    frm = raw_from(got[0])
    assert "=?utf-8?B?" in frm, frm
    assert re.fullmatch(r"Anonym [0-9A-F]{6} über demo <demo@lists\.example>",
                        decoded(frm)), decoded(frm)
    assert b"Anonymous" not in got[0] and b" via demo" not in got[0]
    # a real-identity list's rewritten From (identity.munge_from) speaks the same piece;
    # ASCII words stay quoted, and the name is the one the list knows, not the claimed one
    _, real = munged_copy(make_instance, sink, "[from-author]\n{name} (on {list})\n", "real one")
    assert raw_from(real) == '"Rosa Luxemburg (on demo)" <demo@lists.example>', raw_from(real)
    assert b" via demo" not in real


def munged_copy(make_instance, sink, pieces, subject):
    """a real-identity list munging From (pieces: its reworded ones, or None), rosa's post
    with subject as carol receives it: the instance and the copy"""
    inst = instance(make_instance, "real", pieces, {"identity.munge_from": "true"})
    send(inst, f"From: Rosa L <{ROSA}>\r\nSubject: {subject}\r\n\r\nA post.\r\n".encode())
    got = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if subject.encode() in d])
    assert got, inst.logtext()
    return inst, got[0]


def test_a_key_made_in_english_rotates_after_the_rewording(make_instance, sink, tmp_path):
    inst = instance(make_instance, "pseudonym")
    raw = post(inst, sink, "in english")
    shown, addr = pseudonym_of(raw)
    name = shown[:-len(" via demo")]
    _, k1 = autocrypt_key(signed_parts(raw)[2])
    assert uid_of(tmp_path, k1) == f"{name} via demo <{addr}>"
    inst.stop()
    pieces(inst, GERMAN)
    inst.start()
    # the old key's UID has the English words: found by the pseudonym's handle all the same
    new, ann = rotate(inst, sink, name, 0)
    assert pseudonym_of(ann) == (f"{name} über demo", addr), raw_from(ann)
    _, k2 = autocrypt_key(signed_parts(ann)[2])
    assert uid_of(tmp_path, k2) == f"{name} über demo <{addr}>"
    # the next post: the new words, the new key; and a key in the new words rotates too
    after = post(inst, sink, "after the rewording")
    assert pseudonym_of(after) == (f"{name} über demo", addr)
    assert Verifiers(tmp_path).gpg(k2, *signed_parts(after)[:2])[0] == new
    newer, ann2 = rotate(inst, sink, name, 1)
    assert newer != new
    assert uid_of(tmp_path, autocrypt_key(signed_parts(ann2)[2])[1]) == \
        f"{name} über demo <{addr}>"


def test_the_shipped_words_are_byte_for_byte_english(make_instance, sink, tmp_path):
    inst = instance(make_instance, "pseudonym")
    raw = post(inst, sink, "shipped words")
    frm = raw_from(raw)
    m = re.fullmatch(r'"([A-Za-z][A-Za-z0-9 .\'-]*) via demo" <(demo\+p-[a-z0-9]+@lists\.example)>',
                     frm)
    assert m, frm
    _, key = autocrypt_key(signed_parts(raw)[2])
    assert uid_of(tmp_path, key) == f"{m.group(1)} via demo <{m.group(2)}>"
    anon = instance(make_instance, "anonymous")
    send(anon, f"From: {ROSA}\r\nSubject: shipped anon\r\n\r\nA post.\r\n".encode())
    got = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                              if b"shipped anon" in d])
    assert got, anon.logtext()
    assert re.fullmatch(r'"Anonymous [0-9A-F]{6} via demo" <demo@lists\.example>',
                        raw_from(got[0])), raw_from(got[0])
    assert msg_of(got[0])["From"].addresses[0].addr_spec == "demo@lists.example"


def test_a_key_made_in_english_is_renamed_at_the_next_post(make_instance, sink, tmp_path):
    """the words changed: the same key (same fingerprint) gets a UID in the new words"""
    inst = instance(make_instance, "pseudonym")
    raw = post(inst, sink, "before the rewording")
    shown, addr = pseudonym_of(raw)
    name = shown[:-len(" via demo")]
    s1, g1, m1 = signed_parts(raw)
    k1 = autocrypt_key(m1)[1]
    fpr = Verifiers(tmp_path).gpg(k1, s1, g1)[0]
    inst.stop()
    pieces(inst, GERMAN)
    inst.start()
    after = post(inst, sink, "after the rewording")
    assert pseudonym_of(after) == (f"{name} über demo", addr)
    s2, g2, m2 = signed_parts(after)
    k2 = autocrypt_key(m2)[1]
    assert uid_of(tmp_path, k2) == f"{name} über demo <{addr}>"
    assert Verifiers(tmp_path).gpg(k2, s2, g2)[0] == fpr


# mlist verify tells the kinds apart by what the list states (the author signature's w= and
# n=, under the list's DKIM) and the From address, never by the words (#13 item 8): these words
# would mislead a reader of words both ways
TRICKY = "[from-author]\n{name} über {list}\n[anonymous-name]\nAnonym {code}\n"
ENGLISH_VIA = "[from-author]\n{name} via {list}\n[anonymous-name]\nAnonym {code}\n"


def verified(inst, tmp_path, raw, name="p.eml"):
    """mlist verify's output on a delivered copy, checked against the list's records"""
    from test_signing import mlist_verify
    rec = tmp_path / "records.txt"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    (tmp_path / name).write_bytes(raw)
    r = mlist_verify(tmp_path / name, "--dns-record", str(rec))
    assert "dkim:    ok" in r.stdout and "author:  ok" in r.stdout, r.stdout
    return r


def test_verify_names_a_reworded_pseudonym(make_instance, sink, tmp_path):
    inst = instance(make_instance, "pseudonym", TRICKY)
    raw = post(inst, sink, "verify me")
    shown, _ = pseudonym_of(raw)
    name = shown[:-len(" über demo")]
    r = verified(inst, tmp_path, raw)
    assert r.returncode == 0, r.stdout
    m = re.search(r'poster:  pseudonym "([^"]+)" \(key ([0-9A-F-]+)\)', r.stdout)
    assert m and m.group(1) == name, r.stdout


def test_verify_tells_anonymous_from_pseudonym_whatever_the_words(make_instance, sink,
                                                                    tmp_path):
    # the English " via " but an anonymous name that does not start with "Anonymous ":
    # a reader of words took it for a pseudonym called "Anonym 3F9A2C"
    inst = instance(make_instance, "anonymous", ENGLISH_VIA)
    raw = post(inst, sink, "anon verify")
    assert re.fullmatch(r'"Anonym [0-9A-F]{6} via demo" <demo@lists\.example>',
                        raw_from(raw)), raw_from(raw)
    r = verified(inst, tmp_path, raw)
    assert r.returncode == 0, r.stdout
    m = re.search(r'poster:  anonymous post "(Anonym [0-9A-F]{6})" \(key [0-9A-F-]+\)',
                  r.stdout)
    assert m and m.group(1) in raw_from(raw), r.stdout
    assert "pseudonym" not in r.stdout.split("poster:", 1)[1].split("\n", 1)[0]


def test_verify_takes_no_munged_from_for_a_pseudonym(make_instance, sink, tmp_path):
    # a real-identity list's From rewritten "NAME via LIST" (the shipped words) names a
    # member as herself: no pseudonym, no anonymous post
    inst, got = munged_copy(make_instance, sink, None, "munged one")
    assert raw_from(got) == '"Rosa Luxemburg via demo" <demo@lists.example>', raw_from(got)
    r = verified(inst, tmp_path, got)
    assert r.returncode == 0, r.stdout
    assert "poster:" not in r.stdout, r.stdout


def test_a_member_cannot_state_the_lists_words_in_her_own_signature(make_instance, sink,
                                                                     tmp_path):
    # w= and n= are outside what her key signs: she could add them to her own signature,
    # which the list keeps as it came, and pass as "an anonymous post" under the list's DKIM.
    # The list takes such a signature for malformed: her key is registered, so the post is
    # refused as unsigned, as any other bad signature of hers.
    from test_signing import own_key, signed_post
    inst = instance(make_instance, "real")
    key = own_key(inst, tmp_path, ROSA)

    def signed(body, mid):
        return signed_post(key, body=body, mid=mid).replace(b"alice@example.org",
                                                            ROSA.encode())
    send(inst, signed("honest words\n", "honest@example.org"), sender=ROSA)
    ok = wait_until(lambda: [d for d in copies_to(sink, "carol@example.org")
                             if b"honest words" in d])
    assert ok, inst.logtext()
    r = verified(inst, tmp_path, ok[0])
    assert r.returncode == 0 and "poster:" not in r.stdout, r.stdout
    raw = re.sub(rb"(Mlist-Author-Signature: [^\r]*\r\n)",
                 rb"\1\tw=anonymous; n=QW5vbnltb3VzIDEyMzQ1Ng==;\r\n",
                 signed("forged statement\n", "forged@example.org"), count=1)
    assert b"\tw=anonymous;" in raw
    send(inst, raw, sender=ROSA)
    assert inst.wait_log("reason=unsigned-own-key"), inst.logtext()
    assert not [d for d in copies_to(sink, "carol@example.org") if b"forged statement" in d]


def test_a_pseudonym_cannot_imitate_the_lists_own_words(make_instance):
    # the words refused are the pieces' as this list has them: "über", "Anonym"; "via" is
    # not this list's word for anything, so a name may hold it
    inst = instance(make_instance, "pseudonym", GERMAN)
    for bad, word in [("Rosa über Berlin", "über"), ("Anonym 3F9A2C", "Anonym"),
                      ("Ünter Über Alles", "über")]:
        r = inst.ctl("member", "set", "demo", "bob@example.org", "pseudonym", bad,
                     check=False)
        assert r.returncode == 1 and f'contain "{word}"' in r.stderr, (bad, r.stderr)
    ok = inst.ctl("member", "set", "demo", "bob@example.org", "pseudonym", "Bob via Berlin",
                  check=False)
    assert ok.returncode == 0, ok.stderr
    assert "Bob via Berlin" in inst.ctl("member", "ls", "demo").stdout
