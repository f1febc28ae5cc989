"""Notice templates: a reworded text (instance-wide and per list) is what members receive; a bad
template is a file:line error from mlistd -t; README's table names every template mlistd ships."""
import email
import email.header
import email.policy
import os
import re
import smtplib
import subprocess

from conftest import MLISTD, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..")

GERMAN = ("Subject: Nicht erledigt: {list}\n\n"
          "Nur die Moderatoren von {list_addr} dürfen diese Adresse benutzen.\n"
          "Fragen an {owner_addr}, Befehle an {request_addr}.\n")
FRENCH = ("Subject: Pas fait\n\n"
          "Seuls les modérateurs de {list_addr} peuvent écrire à cette adresse.\n")


def send(inst, raw, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1]]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def parsed(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return str(msg["Subject"]), msg.get_body(("plain",)).get_content()


def test_reworded_and_per_list(make_instance, sink):
    inst = make_instance(members=("bob@example.org",), start=False)
    inst.ctl("list", "create", "other")
    inst.ctl("list", "create", "third")
    notices = os.path.join(inst.root, "templates", "notices")
    write(os.path.join(notices, "discipline-not-moderator.txt"), GERMAN)
    write(os.path.join(notices, "other", "discipline-not-moderator.txt"), FRENCH)
    # a list's folder may hold a text for another notice only: this one stays the instance's
    write(os.path.join(notices, "third", "rejected.txt"), "Subject: Abgelehnt\n\n{reason}\n")
    inst.start()
    for lst, who in (("demo", "bob@example.org"), ("other", "carol@example.org"), ("third", "dave@example.org")):
        send(inst, f"From: {who}\r\nSubject: discipline Someone\r\n\r\nPlease.\r\n".encode(), who,
             f"{lst}-owner+discipline@lists.example")
    got = {w: wait_until(lambda w=w: to(sink, w)) for w in ("bob@example.org", "carol@example.org",
                                                            "dave@example.org")}
    assert all(got.values()), inst.logtext()
    # the instance's German text, with the list's name and addresses filled in
    subject, body = parsed(got["bob@example.org"][0])
    assert subject == "Nicht erledigt: demo"
    assert "Nur die Moderatoren von demo@lists.example dürfen diese Adresse benutzen." in body
    assert "Fragen an demo-owner@lists.example, Befehle an demo-request@lists.example." in body
    assert "Only the list's moderators" not in body and "{" not in body
    # a subject that is not ASCII is RFC 2047-encoded in the header, never raw 8-bit
    raw_subject = re.search(rb"\r\nSubject: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", got["bob@example.org"][0])
    assert raw_subject and all(b < 128 for b in raw_subject.group(1))
    # the other list's own text wins there
    subject, body = parsed(got["carol@example.org"][0])
    assert subject == "Pas fait"
    assert "Seuls les modérateurs de other@lists.example peuvent écrire à cette adresse." in body
    assert "Nur die Moderatoren" not in body and "Only the list's moderators" not in body
    # a list with an override of another notice gets the instance's text of this one
    subject, body = parsed(got["dave@example.org"][0])
    assert subject == "Nicht erledigt: third" and "third@lists.example" in body


def post_big(inst, lst, sender="alice@example.org"):
    body = ("y" * 70 + "\r\n") * 40
    send(inst, f"From: <{sender}>\r\nTo: {lst}@lists.example\r\nSubject: Long\r\n"
               f"Message-ID: <big-{lst}@example.org>\r\n\r\n{body}".encode(), sender, f"{lst}@lists.example")


def test_pipeline_refusal_from_template(make_instance, sink):
    """the post pipeline's refusal (too big) is the list's own text, its placeholder filled;
    a list without one gets the shipped text, today's wording"""
    inst = make_instance(members=("alice@example.org",), list_settings={"max_message_size": "2000"},
                         start=False)
    inst.ctl("list", "create", "other")
    notices = os.path.join(inst.root, "templates", "notices")
    write(os.path.join(notices, "demo", "refused-too-big.txt"),
          "Subject: Zu gross: {list}\n\nIhr Beitrag an {list_addr} ist groesser als {bytes} Bytes.\n")
    inst.start()
    inst.ctl("list", "set", "other", "max_message_size", "2000")
    inst.ctl("member", "add", "other", "bob@example.org")
    post_big(inst, "demo")
    post_big(inst, "other", "bob@example.org")
    assert inst.wait_log("reason=too-big")
    got = {w: wait_until(lambda w=w: to(sink, w)) for w in ("alice@example.org", "bob@example.org")}
    assert all(got.values()), inst.logtext()
    subject, body = parsed(got["alice@example.org"][0])
    assert subject == "Zu gross: demo"
    assert "Ihr Beitrag an demo@lists.example ist groesser als 2000 Bytes." in body
    assert "larger than the list allows" not in body and "{" not in body and "yyyy" not in body
    subject, body = parsed(got["bob@example.org"][0])
    assert subject == "Your message was not distributed"
    assert ("Your message to other@lists.example was not distributed: it is larger than the list "
            "allows (2000 bytes). Send a shorter message, or put large files somewhere and send a "
            "link.") in body
    assert "Zu gross" not in body and "yyyy" not in body


def check(inst):
    return subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True, timeout=30)


def test_bad_template_is_a_config_error(make_instance):
    inst = make_instance(members=(), start=False)
    assert check(inst).returncode == 0
    notices = os.path.join(inst.root, "templates", "notices")
    bad = os.path.join(notices, "held.txt")
    write(bad, "Subject: Warteschlange\n\nEin Beitrag an {list_addr}\nwartet ({grund}).\n")
    r = check(inst)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert re.search(r"notices/held\.txt:4: unknown placeholder \{grund\}", out), out
    assert "configuration OK" not in out
    # the same in a list's own text names that file
    write(bad, "Subject: Warteschlange\n\nEin Beitrag an {list_addr} wartet ({reason}).\n")
    write(os.path.join(notices, "demo", "suspended.txt"), "Subject: Gesperrt\n\n{tage} Tage\n")
    r = check(inst)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and re.search(r"notices/demo/suspended\.txt:3: unknown placeholder \{tage\}", out), out
    os.unlink(os.path.join(notices, "demo", "suspended.txt"))
    assert check(inst).returncode == 0
    # every notice needs its text
    os.unlink(bad)
    r = check(inst)
    assert r.returncode == 1 and "held.txt: No such file" in r.stdout + r.stderr


def test_readme_names_every_template():
    r = subprocess.run([os.path.join(SRC, "tools", "notices-doc"), "--check", os.path.join(SRC, "README.md")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    listed = set(re.findall(r"^\| `([a-z-]+)\.txt` \|", readme, re.M))
    shipped = {n[:-4] for n in os.listdir(os.path.join(SRC, "conf", "templates", "notices")) if n.endswith(".txt")}
    assert len(shipped) > 30 and listed == shipped
