"""The moderators' role key (#19): it changed once with mlistd's fifth version, and members
who compared its fingerprint had nothing to tell them why. The instance records the fingerprint
last announced to each list; when the key differs from it (a list that existed before the record:
none known), every member gets one notice, signed by the new role key, naming the new
fingerprint - once, not again after a restart. A list made later is recorded without a notice."""
import os
import re
import smtplib
import sqlite3
import subprocess

from conftest import MLISTCTL, wait_until

MEMBERS = ("alice@example.org", "bob@example.org", "carol@example.org")
SUBJECT = b"signing key of demo@lists.example has changed"


def told(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and SUBJECT in m[2]]


def announced(inst, value):
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    db.execute("UPDATE role_announced SET fingerprint = ? WHERE list = 'demo'", (value,))
    db.commit()
    n = db.execute("SELECT count(*) FROM role_announced WHERE list = 'demo'").fetchone()[0]
    db.close()
    return n


def post(inst, subject):
    raw = (f"From: <alice@example.org>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>"
           f"\r\n\r\nAn ordinary post.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], raw)


def test_members_told_once_when_the_role_key_is_not_the_one_announced(make_instance, sink, tmp_path):
    mlist = os.path.join(os.path.dirname(MLISTCTL), "mlist")
    inst = make_instance(members=MEMBERS)
    # a new list: its key recorded, nobody told
    assert inst.wait_log("role key recorded (a new list)"), inst.logtext()[-3000:]
    post(inst, "first")
    assert wait_until(lambda: any(b"first" in m[2] for m in sink.handler.messages))
    assert not any(SUBJECT in m[2] for m in sink.handler.messages)
    inst.stop()
    # the state an upgrade leaves: the list's members had a key before the record (none known)
    assert announced(inst, "") == 1
    sink.handler.messages.clear()
    inst.start()
    assert inst.wait_log("role key changed, members told"), inst.logtext()[-3000:]
    assert wait_until(lambda: all(told(sink, m) for m in MEMBERS), 30), inst.logtext()[-3000:]
    rec = tmp_path / "rec"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    for m in MEMBERS:
        got = told(sink, m)
        assert len(got) == 1, (m, len(got))
        (tmp_path / "n.eml").write_bytes(got[0])
        r = subprocess.run([mlist, "verify", str(tmp_path / "n.eml"), "--dns-record", str(rec)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        fp = re.search(r"author:  ok, key ([0-9A-F-]+) on list demo", r.stdout).group(1)
        assert fp.encode() in got[0]                  # the fingerprint it names is its signer's
    # and that is the role key the list's "keys" answer names
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo-request@lists.example"],
                   b"From: alice@example.org\r\nSubject: keys\r\n\r\n")
    keys = wait_until(lambda: [m[2] for m in sink.handler.messages if "alice@example.org" in m[1]
                               and b"role key" in m[2]], 30)
    assert keys and fp.encode() in keys[0], inst.logtext()[-2000:]
    # once: a restart tells nobody again (a post delivered after it shows the jobs have run)
    inst.stop()
    inst.start()
    post(inst, "second")
    assert wait_until(lambda: all(any(b"second" in d for r, d in sink.handler.copies() if r == m)
                                  for m in MEMBERS), 30), inst.logtext()[-3000:]
    for m in MEMBERS:
        assert len(told(sink, m)) == 1, m
    assert inst.logtext().count("role key changed, members told") == 1
