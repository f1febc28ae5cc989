"""The texts that were C strings until #13's last round, now templates: an admin's rewording (per
list, in templates_dir/notices/LIST/) is what the member, the applicant or the owners receive."""
import email
import email.policy
import json
import os
import re
import smtplib

from conftest import wait_until

ROSA = "rosa@spartakus.example"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def pieces(inst, text):
    """the demo list's own pieces (the others stay the instance's)"""
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"), text)


def body(raw):
    return email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def send(inst, who, rcpt, text):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, [rcpt], f"From: {who}\r\n{text}".encode())


def answer(inst, sink, who, text, n, rcpt="demo-request@lists.example"):
    """the n-th mail `who` receives after sending text (headers and body) to rcpt"""
    send(inst, who, rcpt, text)
    got = wait_until(lambda: len(to(sink, who)) >= n and to(sink, who))
    assert got, inst.logtext()
    return got[n - 1]


def token(raw):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", raw).group(1).decode()


def apply(inst, sink, who, intro, n=1):
    """subscribe with an introduction, confirm it; the answer to the confirmation"""
    ask = answer(inst, sink, who, f"Subject: join\r\n\r\nsubscribe\r\n{intro}\r\n", n)
    return answer(inst, sink, who, "Subject: Re\r\n\r\nyes\r\n", n + 1,
                  rcpt=f"demo-confirm+{token(ask)}@lists.example")


def test_owners_application_reworded(make_instance, sink):
    """subscription = approve, nobody to admit yet: the owners' mailbox holds the list's text"""
    inst = make_instance(list_settings={"subscription": "approve"}, members=(), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "application-owners.txt"),
          "Subject: Antrag auf {list}\n\nJemand möchte in {list_addr}: {address}.\n"
          "Aufnehmen: mlistctl member add {list} {address}\nVorstellung:\n{introduction}\n")
    inst.start()
    done = apply(inst, sink, "applicant@example.net", "Ich komme aus dem Osten.")
    assert "have gone to the list's moderators" in body(done), body(done)
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    text = inst.ctl("mod", "show", "demo", held[0]["id"]).stdout
    assert "Jemand möchte in demo@lists.example: applicant@example.net." in text, text
    assert "Aufnehmen: mlistctl member add demo applicant@example.net" in text
    assert "Ich komme aus dem Osten." in text
    assert "Someone has applied" not in text and "Their introduction" not in text


def test_owners_application_hidden_address(make_instance, sink):
    """a pseudonymous list that hides addresses from moderators: the -hidden text, no address"""
    inst = make_instance(list_settings={"subscription": "approve", "identity.mode": "pseudonym"},
                         members=(), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "application-owners-hidden.txt"),
          "Subject: Antrag\n\nJemand möchte in {list_addr}; die Adresse bleibt verborgen.\n"
          "{introduction}\n")
    inst.start()
    apply(inst, sink, "applicant@example.net", "Hallo.")
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    text = inst.ctl("mod", "show", "demo", held[0]["id"]).stdout
    assert "Jemand möchte in demo@lists.example; die Adresse bleibt verborgen." in text, text
    assert "Hallo." in text and "applicant@example.net" not in text.split("\n\n", 1)[1]


def test_vouch_answer_reworded_and_tells_nothing_of_the_names(make_instance, sink):
    """the applicant's answer is the list's text, the same whether the names are members or nobody"""
    inst = make_instance(list_settings={"identity.mode": "pseudonym", "subscription": "vouch",
                                        "leadership.vouches_required": "2"},
                         members=(ROSA, "bob@example.org"), start=False)
    pieces(inst, "[done-vouch]\n- Gefragt: wer von Ihren Namen Mitglied ist; {needed} nötig, "
                 "{days} Tage.\n")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")     # starts the daemon
    inst.ctl("member", "set", "demo", "bob@example.org", "pseudonym", "Blue Fox")
    named = apply(inst, sink, "one@example.net", "vouch: Red Heron, Blue Fox")
    nobody = apply(inst, sink, "two@example.net", "vouch: Green Owl, Nobody")
    assert wait_until(lambda: to(sink, ROSA, b"vouch"))       # the members named were asked
    for raw in (named, nobody):
        assert "- Gefragt: wer von Ihren Namen Mitglied ist; 2 nötig, 7 Tage." in body(raw), body(raw)
        assert "were asked to vouch" not in body(raw)
    # one text: what the applicant reads does not depend on whom they named
    strip = lambda raw: re.sub(r"demo-confirm\+[0-9a-f]{40}", "T", body(raw))
    assert strip(named) == strip(nobody)


def test_key_answers_reworded(make_instance, sink):
    inst = make_instance(members=("bob@example.org",), start=False)
    pieces(inst, "[key-confirm]\nSchlüssel bestätigen: an {confirm_addr} schreiben ({days} Tage).\n"
                 "[bad-key]\nDas ist kein Ed25519-Schlüssel.\n")
    inst.start()
    good = "ed25519:" + "A" * 43 + "="
    for who, n in (("bob@example.org", 1), ("stranger@example.net", 1)):
        raw = answer(inst, sink, who, f"Subject: key\r\n\r\nkey {good}\r\n", n)
        text = body(raw)
        assert re.search(r"Schlüssel bestätigen: an demo-confirm\+[0-9a-f]{40}@lists\.example "
                         r"schreiben \(7 Tage\)\.", text), text
        assert "To make this key yours" not in text
        # the reply goes to the token's address, wherever the wording puts it
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert f"demo-confirm+{token(raw)}@lists.example" in str(msg["Reply-To"])
    text = body(answer(inst, sink, "bob@example.org", f"Subject: key\r\n\r\nkey ed25519:{'A' * 44}\r\n", 2))
    assert "Das ist kein Ed25519-Schlüssel." in text and "is not an Ed25519" not in text, text


def test_archive_refusals_reworded(make_instance, sink):
    inst = make_instance(members=("bob@example.org",), start=False)
    pieces(inst, "[archive-no-archive]\nKein Archiv.\n[archive-moderators]\nNur Moderatoren.\n"
                 "[archive-members]\nNur Mitglieder.\n")
    inst.start()
    n = 0
    for rule, words in (("none", "Kein Archiv."), ("moderators", "Nur Moderatoren."),
                        ("members", "Nur Mitglieder.")):
        inst.ctl("list", "set", "demo", "disclosure.archive", rule)
        n += 1
        text = body(answer(inst, sink, "stranger@example.net", "Subject: a\r\n\r\narchive index\r\n", n))
        assert words in text, (rule, text)
        assert "may read its archive" not in text and "keeps no archive" not in text


def test_help_after_a_mail_without_command_reworded(make_instance, sink):
    inst = make_instance(members=("bob@example.org",), start=False)
    pieces(inst, "[help-no-command]\nKein Befehl gefunden: Ihre Nachricht ging an die Verwaltung.\n")
    inst.start()
    text = body(answer(inst, sink, "newbie@example.net", "Subject: a question\r\n\r\nHow does it work?\r\n", 1))
    assert "Kein Befehl gefunden: Ihre Nachricht ging an die Verwaltung." in text, text
    assert "found no command" not in text
    assert "subscribe [PSEUDONYM]" in text          # the help itself follows


def test_private_and_announce_refusals_reworded(make_instance, sink):
    """the reasons inside private-refused and the announcement's confirmation are the list's pieces"""
    # one notice per sender per hour: each case has its own sender
    senders = ("bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org")
    inst = make_instance(members=senders + ("m1@example.org",), start=False)
    pieces(inst, "[private-nobody]\nniemand antwortet unter dieser Adresse\n"
                 "[unanswerable]\ndiese Adresse kann nicht antworten\n"
                 "[announce-moderators]\nnur die Moderatoren dürfen an diese Adresse schreiben\n"
                 "[private-off]\nprivate Antworten sind abgeschaltet\n"
                 "[announce-held]\nIhre Ankündigung wartet auf Ihre Bestätigung.\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")     # starts the daemon
    # (a private reply to a handle no one answers to is not answered: test_attacks7 finding 6)
    cases = [("demo-owner+nosuchhandle@lists.example", "diese Adresse kann nicht antworten"),
             ("demo-owner+announce@lists.example", "nur die Moderatoren dürfen an diese Adresse schreiben")]
    for who, (rcpt, words) in zip(senders, cases):
        text = body(answer(inst, sink, who, "Subject: hi\r\n\r\nhello\r\n", 1, rcpt=rcpt))
        assert f"was not delivered: {words}." in text, (rcpt, text)
    inst.ctl("list", "set", "demo", "identity.private_replies", "off")
    text = body(answer(inst, sink, senders[3], "Subject: hi\r\n\r\nhello\r\n", 1,
                       rcpt="demo+p-nosuchhandle@lists.example"))
    assert "was not delivered: private Antworten sind abgeschaltet." in text, text
    text = body(answer(inst, sink, "m1@example.org", "Subject: News\r\n\r\nA meeting on Friday.\r\n", 1,
                       rcpt="demo-owner+announce@lists.example"))
    assert "Ihre Ankündigung wartet auf Ihre Bestätigung." in text, text
    assert "holding your announcement" not in text


def test_pseudonym_key_answers_reworded(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, members=("bob@example.org",),
                         start=False)
    pieces(inst, "[pseudonym-key-members]\nDie Schlüssel der Pseudonyme bekommen nur Mitglieder.\n"
                 "[pseudonym-key-none]\nKein Pseudonym „{name}“ hat auf {list} geschrieben.\n")
    inst.start()
    text = body(answer(inst, sink, "bob@example.org", "Subject: k\r\n\r\nkeys Nobody Here\r\n", 1))
    assert "Kein Pseudonym „Nobody Here“ hat auf demo geschrieben." in text, text
    assert "No pseudonym called" not in text
    text = body(answer(inst, sink, "x@outside.example", "Subject: k\r\n\r\nkeys Nobody Here\r\n", 1))
    assert "Die Schlüssel der Pseudonyme bekommen nur Mitglieder." in text, text
    assert "given to members" not in text


def test_keys_answer_openpgp_words_reworded(make_instance, sink):
    inst = make_instance(members=("bob@example.org",), start=False)
    pieces(inst, "[keys-openpgp]\nDer OpenPGP-Schlüssel der Liste hängt an ({file}), "
                 "Fingerabdruck {fingerprint}.\n")
    inst.start()
    raw = answer(inst, sink, "bob@example.org", "Subject: keys\r\n\r\nkeys\r\n", 1)
    text = body(raw)
    m = re.search(r"Der OpenPGP-Schlüssel der Liste hängt an \((OpenPGP_0x[0-9A-F]{16}\.asc)\), "
                  r"Fingerabdruck ([0-9A-F]{40})\.", text)
    assert m, text
    assert m.group(2).endswith(m.group(1)[10:26]) and "Import it in your mail client" not in text
    assert b"BEGIN PGP PUBLIC KEY BLOCK" in raw          # the key itself is still attached


def http(port, method, path, data=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=data)
    r = c.getresponse()
    out = r.status, r.read().decode()
    c.close()
    return out


def test_one_click_pages_reworded(make_instance, sink):
    inst = make_instance(http=True, members=("alice@example.org", "bob@example.org"), start=False)
    pieces(inst, "[one-click-page]\n<!DOCTYPE html>\n<p>{list_addr} verlassen?</p>\n"
                 "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                 "value=\"One-Click\"><button>Abmelden</button></form>\n"
                 "[one-click-done]\nErledigt: falls der Link Ihrer war, sind Sie nicht mehr in {list_addr}.\n")
    write(os.path.join(inst.root, "templates", "notices", "pieces"),
          open(os.path.join(inst.root, "templates", "notices", "pieces"), encoding="utf-8").read()
          .replace("There is no such unsubscription link.", "Diesen Abmeldelink gibt es nicht."))
    inst.ctl("list", "set", "demo", "one_click_url", "https://lists.example/unsubscribe/")   # starts it
    send(inst, "bob@example.org", "demo@lists.example", "Subject: news\r\n\r\nOne-click news.\r\n")
    got = wait_until(lambda: to(sink, "alice@example.org", b"One-click news."))
    assert got, inst.logtext()
    lu = re.sub(r"\s+", " ", email.message_from_bytes(got[0])["List-Unsubscribe"])
    link = "/unsubscribe/demo/" + re.search(r"/unsubscribe/demo/([0-9a-f]{32})>", lu).group(1)
    status, page = http(inst.http_port, "GET", link)
    assert status == 200 and "<p>demo@lists.example verlassen?</p>" in page and "Leave the list" not in page
    status, text = http(inst.http_port, "POST", "/unsubscribe/nolist/" + "0" * 32, b"List-Unsubscribe=One-Click")
    assert status == 404 and text == "Diesen Abmeldelink gibt es nicht.\n", text
    status, text = http(inst.http_port, "POST", link, b"List-Unsubscribe=One-Click")
    assert status == 200 and "Erledigt: falls der Link Ihrer war, sind Sie nicht mehr in demo@lists.example." \
        in text, text
    assert "you have left" not in text
    assert wait_until(lambda: to(sink, "alice@example.org", b"one-click")), inst.logtext()


def test_no_introduction_reworded(make_instance, sink):
    inst = make_instance(list_settings={"subscription": "approve"}, members=(), start=False)
    pieces(inst, "[no-introduction]\n(keine Vorstellung)\n")
    inst.start()
    apply(inst, sink, "applicant@example.net", "")
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert len(held) == 1, held
    text = inst.ctl("mod", "show", "demo", held[0]["id"]).stdout
    assert "Their introduction:" in text and "(keine Vorstellung)" in text, text
    assert "(none)" not in text
