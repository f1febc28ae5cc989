"""The last English in C, moved to templates (#13 item 8): the reasons inside a notice are codes
worded by pieces (a list that rewords [why-sig-...] in templates_dir/notices/LIST/pieces is what the
member reads in the notice's {why}; the code stays in the log, reason=, for the administrator), the
one-click endpoint's error pages are pieces, and the audit log stores codes that its view words."""
import email
import email.policy
import json
import os
import smtplib
import subprocess
import re
import time

from conftest import MLISTCTL, wait_until
from test_notices_moved import http

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def body(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return m.get_body(("plain",)).get_content()


def to(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1]]


def send(inst, raw, sender):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, ["demo@lists.example"], raw)


def signed_post(key, lst):
    post = (f"From: alice@example.org\nTo: demo@lists.example\nSubject: signed elsewhere\n"
            f"Date: Sun, 22 Nov 2026 10:00:00 +0000\nMessage-ID: <{time.time()}@example.org>\n\n"
            f"Signed for another list.\n")
    r = subprocess.run([MLIST, "sign", "--list", lst, "--key", str(key)], input=post.encode(),
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_list_rewords_the_signature_reasons(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"post_auth": "signature"}, start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[why-sig-unsigned]\nDie Nachricht trägt keine Autorensignatur.\n"
          "[why-sig-other-list]\nSie wurde für eine andere Liste signiert ({other}).\n")
    inst.start()
    send(inst, b"From: bob@example.org\r\nSubject: plain\r\n\r\nunsigned\r\n", "bob@example.org")
    assert inst.wait_log("reason=unsigned")
    got = sink.wait_for(1)
    assert [r for r, _ in sink.handler.copies()] == ["bob@example.org"]
    text = body(to(sink, "bob@example.org")[0])
    assert "only posts signed with a member's own key" in text, text
    assert "Die Nachricht trägt keine Autorensignatur." in text, text
    assert "carries no author signature" not in text
    # a signature made for another list: the code's piece with the list id filled in
    key = tmp_path / "alice.key"
    r = subprocess.run([MLIST, "keygen", "--out", str(key)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    inst.ctl("member", "set", "demo", "alice@example.org", "key", r.stdout.split()[0])
    send(inst, signed_post(key, "other@lists.example"), "alice@example.org")
    assert inst.wait_log("reason=bad-signature")
    got = sink.wait_for(2)
    assert got
    text = body(to(sink, "alice@example.org")[0])
    assert "Sie wurde für eine andere Liste signiert (other.lists.example)." in text, text
    assert "signed for another list" not in text.lower()


def raw_http(port, raw):
    """a request as bytes, for the ones http.client will not send: (status, body)"""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(raw)
        out = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            out += d
    head, _, text = out.decode().partition("\r\n\r\n")
    return int(head.split()[1]), text


def test_the_one_click_error_pages_are_pieces(make_instance, sink):
    inst = make_instance(http=True, members=("alice@example.org", "bob@example.org"), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[http-not-post]\nNur POST meldet von {list_addr} ab.\n"
          "[http-bad-body]\nDer Inhalt muss List-Unsubscribe=One-Click sein.\n")
    shared = os.path.join(inst.root, "templates", "notices", "pieces")
    text = open(shared, encoding="utf-8").read()
    for old, new in (("Bad request.", "Ungültige Anfrage."), ("Request too large.", "Anfrage zu groß."),
                     ("Request head too large.", "Kopf zu groß.")):
        assert f"\n{old}\n" in text
        text = text.replace(f"\n{old}\n", f"\n{new}\n")
    write(shared, text)
    inst.ctl("list", "set", "demo", "one_click_url", "https://lists.example/unsubscribe/")   # starts it
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("bob@example.org", ["demo@lists.example"],
                   b"From: bob@example.org\r\nSubject: news\r\n\r\nOne-click news.\r\n")
    got = wait_until(lambda: [m[2] for m in sink.handler.messages
                              if "alice@example.org" in m[1] and b"One-click news." in m[2]])
    assert got, inst.logtext()
    lu = re.sub(r"\s+", " ", email.message_from_bytes(got[0])["List-Unsubscribe"])
    link = "/unsubscribe/demo/" + re.search(r"/unsubscribe/demo/([0-9a-f]{32})>", lu).group(1)
    status, page = http(inst.http_port, "GET", link)
    assert status == 200 and "demo@lists.example" in page          # the page is there
    status, text = http(inst.http_port, "PUT", link, b"x")
    assert (status, text) == (405, "Nur POST meldet von demo@lists.example ab.\n")
    status, text = http(inst.http_port, "POST", link, b"unsubscribe me")
    assert (status, text) == (400, "Der Inhalt muss List-Unsubscribe=One-Click sein.\n")
    status, text = raw_http(inst.http_port, b"GET\r\n\r\n")
    assert (status, text) == (400, "Ungültige Anfrage.\n")
    status, text = raw_http(inst.http_port,
                            b"POST " + link.encode() + b" HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
    assert (status, text) == (413, "Anfrage zu groß.\n")
    status, text = raw_http(inst.http_port, b"GET / HTTP/1.1\r\nX: " + b"a" * 9000)
    assert (status, text) == (431, "Kopf zu groß.\n")
    assert "Only POST" not in inst.logtext()
    # nobody left: none of those requests unsubscribed alice
    assert "alice@example.org" in inst.ctl("member", "ls", "demo").stdout


def test_the_fill_ins_are_pieces(make_instance, sink):
    """a rejection without a reason, of a post without a subject: the words that stand in for
    them are the list's ([no-reason], [no-subject] after the prefix), in both notices"""
    inst = make_instance(list_settings={"posting": "moderated", "leadership.publish_rejections": "true"},
                         members=("alice@example.org", "m1@example.org", "dave@example.org"), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[no-reason]\n(ohne Begründung)\n[no-subject]\n(ohne Betreff)\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send(inst, b"From: alice@example.org\r\n\r\nNo subject, no reason.\r\n", "alice@example.org")
    assert wait_until(lambda: [m for m in sink.handler.messages if "m1@example.org" in m[1]])
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    r = inst.ctl("mod", "reject", "demo", held[0]["id"])
    assert r.returncode == 0, r.stderr
    pub = wait_until(lambda: [m[2] for m in sink.handler.messages
                              if "dave@example.org" in m[1] and b"rejected" in m[2]])
    assert pub, inst.logtext()
    text = body(pub[0])
    assert "Subject: [demo] (ohne Betreff)" in text and "Reason:  (ohne Begründung)" in text, text
    assert "(no subject)" not in text and "(no reason given)" not in text
    mine = wait_until(lambda: [m[2] for m in sink.handler.messages
                               if "alice@example.org" in m[1] and b"rejected" in m[2]])
    assert mine, inst.logtext()
    assert "  (ohne Begründung)" in body(mine[0]) and "(no reason given)" not in body(mine[0])


def test_the_audit_log_stores_codes_and_its_view_words_them(make_instance, sink):
    """a new entry holds a code (mlistctl audit --json says which), and both views of the log, by
    mail at -request and mlistctl audit, word it with the list's pieces"""
    inst = make_instance(list_settings={"posting": "moderated"},
                         members=("alice@example.org", "m1@example.org", "bob@example.org"), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[audit-admit]\nneues Mitglied: {member}\n"
          "[audit-approve]\nzurückgehaltener Beitrag {id} freigegeben ({why})\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    r = inst.ctl("member", "add", "demo", "dora@example.net")
    assert r.returncode == 0, r.stderr
    send(inst, b"From: alice@example.org\r\nSubject: held\r\n\r\nHold me.\r\n", "alice@example.org")
    assert wait_until(lambda: [m for m in sink.handler.messages if "m1@example.org" in m[1]])
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    assert inst.ctl("mod", "approve", "demo", held[0]["id"]).returncode == 0
    assert wait_until(lambda: [m for m in sink.handler.messages
                               if "bob@example.org" in m[1] and b"Hold me." in m[2]])
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    admit = [e for e in entries if e["action"] == "admit"]
    approve = [e for e in entries if e["action"] == "approve"]
    assert len(admit) == 4 and len(approve) == 1, entries          # the three members, then dora
    assert all(e["code"] == "admit" for e in admit) and approve[0]["code"] == "approve"
    assert all(re.fullmatch(r"neues Mitglied: member [0-9a-f]{10}", e["detail"]) for e in admit), admit
    assert approve[0]["detail"] == f"zurückgehaltener Beitrag {held[0]['id']} freigegeben (moderated)"
    text = inst.ctl("audit", "demo").stdout
    assert "neues Mitglied: member " in text and "freigegeben (moderated)" in text, text
    assert "@admit" not in text and "held post" not in text
    # the stored detail is the code, not the words: the log itself is not reworded
    import sqlite3
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    stored = [d for (d,) in db.execute("SELECT detail FROM audit WHERE action IN ('admit', 'approve')")]
    db.close()
    assert stored and all(d.startswith(("@admit\t", "@approve\t")) for d in stored), stored
    # a member's answer by mail: the same words
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("bob@example.org", ["demo-request@lists.example"],
                   b"From: bob@example.org\r\nSubject: audit\r\n\r\naudit\r\n")
    got = wait_until(lambda: [m[2] for m in sink.handler.messages
                              if "bob@example.org" in m[1] and b"What the leadership" in m[2]])
    assert got, inst.logtext()
    view = body(got[0])
    assert "neues Mitglied: member " in view and "freigegeben (moderated)" in view, view
    assert "@admit" not in view and "held post" not in view


def test_the_openpgp_key_answers_are_pieces(make_instance, sink):
    inst = make_instance(members=("alice@example.org",), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[pgp-no-key]\nIn Ihrer Nachricht fand die Liste keinen OpenPGP-Schlüssel.\n\n")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo-request@lists.example"],
                   b"From: alice@example.org\r\nSubject: key\r\n\r\nkey\r\n")
    got = wait_until(lambda: to(sink, "alice@example.org"))
    assert got, inst.logtext()
    text = body(got[0])
    assert "In Ihrer Nachricht fand die Liste keinen OpenPGP-Schlüssel." in text, text
    assert "found no OpenPGP public key" not in text


def test_the_leak_guard_names_what_gives_the_author_away_in_the_lists_words(make_instance, sink):
    rosa = "rosa.luxemburg@spartakus.example"
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, members=(), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[leak-address]\nIhre Adresse\n")
    inst.ctl("member", "add", "demo", rosa, "--name", "Rosa Luxemburg")
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(rosa, ["demo@lists.example"],
                   f"From: {rosa}\r\nSubject: leak\r\n\r\nWrite to me at {rosa}\r\n".encode())
    note = wait_until(lambda: [m for m in to(sink, rosa) if b"holding your post" in m])
    assert note, inst.logtext()
    text = body(note[0])
    assert f'- Ihre Adresse: "{rosa}"' in text, text
    assert "- your address:" not in text
