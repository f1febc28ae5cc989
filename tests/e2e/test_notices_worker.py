"""Reasons made inside the sandboxed worker, and the OpenPGP engine's, reach members as codes
worded by pieces (#13 item 8): the worker writes "@CODE", the queue manager words it with
[why-CODE]; the engine's (and librnp's) words go to the log only, the member reads [why-pgp-*].
A list that rewords the pieces is what arrives."""
import os
import smtplib

from conftest import wait_until
from test_pgpin import answer_to, send as send_request


def pieces(inst, text):
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def to(sink, rcpt, marker):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def test_a_reason_from_the_worker_is_the_lists_piece(make_instance, sink):
    inst = make_instance(start=False)
    pieces(inst, "[why-boundary-quote]\neine MIME-Grenze darin öffnet ein Anführungszeichen, "
                 "das nie schließt\n")
    inst.start()
    raw = (b"From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\nSubject: broken\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"abc\r\n\r\n"
           b"--abc\r\n\r\nhello\r\n--abc--\r\n")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], raw)
    assert inst.wait_log("reason=unparseable (@boundary-quote)")
    got = wait_until(lambda: to(sink, "alice@example.org", b"could not be processed"))
    assert got, inst.logtext()
    text = got[0].decode("utf-8", "replace")
    assert "could not be processed: eine MIME-Grenze darin" in text.replace("=\r\n", ""), text
    assert "opens a quote" not in text and "@boundary" not in text


def test_the_engines_refusal_of_a_key_is_the_lists_piece(make_instance, sink):
    inst = make_instance(members=("alice@example.org",), start=False)
    pieces(inst, "[why-pgp-unreadable]\ndas ist kein OpenPGP-Schlüssel, den die Liste lesen kann\n")
    inst.start()
    raw = (b"From: alice@example.org\r\nTo: demo-request@lists.example\r\nSubject: key\r\n\r\nkey\r\n\r\n"
           b"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nbm90IGEga2V5IGF0IGFsbA==\r\n"
           b"-----END PGP PUBLIC KEY BLOCK-----\r\n")
    send_request(inst, raw, "alice@example.org")
    ans = answer_to(sink, "alice@example.org").decode("utf-8", "replace")
    assert "The OpenPGP key you sent cannot be used:" in ans, ans
    assert "das ist kein OpenPGP-Schlüssel, den die Liste lesen kann" in ans, ans
    # the engine's own words are for the administrator: in the log, never in the answer
    assert inst.wait_log("reason=pgp-unreadable (")
    assert "not an OpenPGP" not in ans and "armoured" not in ans and "librnp" not in ans


def test_the_parts_taken_out_are_the_lists_pieces(make_instance, sink):
    """What the worker took out of a post comes back as codes: the author's notice lists them in
    the list's words ([part-*]), one "- " line each."""
    quill = "quill@example.net"
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=(quill, "bob@example.org"), start=False)
    pieces(inst, "[part-vcard]\neine Visitenkarte (vCard)\n"
                 "[part-tnef]\nein Outlook-Anhang (winmail.dat)\n")
    inst.start()
    raw = (b"From: Quill Ardenwick <quill@example.net>\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\n"
           b"Text.\r\n--A\r\nContent-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\nEND:VCARD\r\n"
           b"--A\r\nContent-Type: application/pgp-keys\r\n\r\nx\r\n"
           b"--A\r\nContent-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"eJ8+\r\n--A--\r\n")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(quill, ["demo@lists.example"], raw)
    assert wait_until(lambda: [m for m in sink.handler.messages if "bob@example.org" in m[1]])
    note = wait_until(lambda: [m[2] for m in sink.handler.messages if m[1] == [quill]])
    assert note, inst.logtext()
    text = note[0].decode("utf-8", "replace")
    assert "- eine Visitenkarte (vCard)\r\n" in text and "- ein Outlook-Anhang (winmail.dat)" in text, text
    assert "- an attached OpenPGP key" in text, text            # the shipped piece where none is set
    assert "contact card" not in text and "TNEF" not in text and "@vcard" not in text


def test_the_keys_answer_and_the_retired_key_answer_are_pieces(make_instance, sink, tmp_path):
    """The keys answer's tag of each DKIM key and the answer to a retired X25519 key are the
    list's pieces ([keys-active], [sealed-key-retired])."""
    import subprocess
    from conftest import MLISTCTL
    inst = make_instance(start=False)
    pieces(inst, "[keys-active]\n(signiert neue Beiträge)\n"
                 "[sealed-key-retired]\nX25519-Schlüssel verschlüsseln nichts mehr: OpenPGP bitte.\n\n")
    inst.start()
    mlist = os.path.join(os.path.dirname(MLISTCTL), "mlist")
    r = subprocess.run([mlist, "keygen", "--out", str(tmp_path / "k")], capture_output=True, text=True)
    x = r.stdout.split()[1]
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("bob@example.org", ["demo-request@lists.example"],
                   f"From: bob@example.org\r\nSubject: commands\r\n\r\nkeys\r\nkey {x}\r\n".encode())
    got = wait_until(lambda: to(sink, "bob@example.org", b"_domainkey"))
    assert got, inst.logtext()
    text = got[0].decode("utf-8", "replace").replace("=\r\n", "")
    assert "(signiert neue Beitr" in text and "X25519-Schl" in text, text
    assert "signs new posts" not in text and "no longer encrypt" not in text
