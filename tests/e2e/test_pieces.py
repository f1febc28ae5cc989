"""The pieces inside the -request answers (#13): reworded per list in templates_dir/notices/LIST/
pieces, the words members receive; a bad pieces file is a file:line error from mlistd -t."""
import email
import email.policy
import os
import re
import shutil
import smtplib
import subprocess

from conftest import MLISTD, wait_until


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def body(raw):
    return email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()


def to(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1]]


def ask(inst, sink, who, subject, n):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, ["demo-request@lists.example"],
                   f"From: {who}\r\nSubject: {subject}\r\n\r\n".encode())
    got = wait_until(lambda: len(to(sink, who)) >= n and to(sink, who))
    assert got, inst.logtext()
    return body(got[n - 1])


def test_a_list_rewords_the_answers_pieces(make_instance, sink):
    inst = make_instance(members=("bob@example.org", "carol@example.org"), start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "# the demo list speaks German about its size\n"
          "[count]\nDie Liste {list_addr} hat {count} Mitglieder.\n"
          "[confirm-changes]\nZum Bestätigen an {confirm_addr} schreiben ({days} Tage).\n\n")
    inst.start()
    who = ask(inst, sink, "bob@example.org", "who", 1)
    assert "Die Liste demo@lists.example hat 2 Mitglieder." in who, who
    assert "The list has" not in who
    # a piece the list does not override stays the instance's
    text = ask(inst, sink, "bob@example.org", "set digest on", 2)
    assert re.search(r"Zum Bestätigen an demo-confirm\+[0-9a-f]{40}@lists\.example schreiben \(7 Tage\)",
                     text), text
    text = ask(inst, sink, "bob@example.org", "set identity nosuchmode", 3)
    assert '"nosuchmode" is not a way of posting this list offers' in text, text


def test_a_bad_pieces_file_is_a_file_line_error(make_instance):
    inst = make_instance(members=(), start=False)
    pieces = os.path.join(inst.root, "templates", "notices", "pieces")
    text = open(pieces, encoding="utf-8").read()
    write(pieces, text.replace("[count]\nThe list has {count} members.",
                               "[count]\nThe list has {counted} members.") + "[no-such-piece]\nx\n")
    r = subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert re.search(r"pieces:\d+: unknown placeholder \{counted\}", out), out
    assert re.search(r"pieces:\d+: no piece is called \[no-such-piece\]", out), out
    # a missing piece is named too
    write(pieces, text.replace("[audit-hidden]\n", "[unused]\n"))
    r = subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True)
    assert r.returncode != 0 and "the piece [audit-hidden] is missing" in r.stdout + r.stderr
