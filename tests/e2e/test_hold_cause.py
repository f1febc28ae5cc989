"""test_hold_cause - #13 item 6: when asking the moderators about a held post
fails, the queue manager's retry line says why, from the step that failed
(a moderator's reply token, or the notice to a moderator); before, it said
only "asking the moderators failed" (SQLite's "not an error" from the
member loop's end had replaced the cause).

The failure is made with a trigger in the daemon's own database, so the
cause is a text the test chose and can look for.
"""
import os
import smtplib
import sqlite3

import pytest

ALICE, BOB = "alice@example.org", "bob@example.org"
LIST = "demo@lists.example"


def refuse(inst, table, words):
    """every INSERT into table fails with words, SQLite's error text"""
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"), timeout=30)
    db.execute(f"CREATE TRIGGER test_refuse BEFORE INSERT ON {table} "
               f"BEGIN SELECT RAISE(ABORT, '{words}'); END")
    db.commit()
    db.close()


@pytest.mark.parametrize("table,step", [
    ("confirmations", "a moderator's reply token"),
    ("deliveries", "a moderator's notice of the held post"),
])
def test_a_failed_ask_logs_its_cause(make_instance, sink, table, step):
    inst = make_instance(list_settings={"posting": "moderated"},
                         members=(ALICE, BOB))
    r = inst.ctl("member", "set", "demo", ALICE, "role", "moderator")
    assert r.returncode == 0, r.stdout + r.stderr
    refuse(inst, table, "refused by the test")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(BOB, [LIST], (f"From: {BOB}\r\nTo: {LIST}\r\n"
                                 "Subject: wait\r\n\r\nHold me.\r\n").encode())
    line = "asking the moderators: %s: refused by the test" % step
    assert inst.wait_log(line), inst.logtext()[-3000:]
    assert "asking the moderators failed" not in inst.logtext()
