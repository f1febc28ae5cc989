"""The leadership's audit entries as codes (#13 item 8): requests, emergencies and what a quorum
decided are stored as codes and arguments; what a member of a hidden leadership may read of them
(disclosure.c) is built from codes too, and every word of it, and of the moderators' grave-action
notice, comes from the list's pieces: a list that rewords them is what arrives."""
import json
import os
import sqlite3

from test_leadership import MODS, ROSA, approve, audit_by_mail, opened, to
from conftest import wait_until

PIECES = (
    "[audit-request]\nAnfrage {id} eröffnet: {detail}\n"
    "[audit-request-unnumbered]\nEine Anfrage eröffnet: {detail}\n"
    "[audit-roles-asked]\n{member} soll {role} werden\n"
    "[audit-ban]\nSperre von {member}\n"
    "[audit-unmask-hidden-pending]\neine Enttarnung (Pseudonym geheim, solange entschieden wird)\n"
    "[audit-unmask-named]\ndas Pseudonym »{pseudonym}«\n"
    "[audit-quorum]\n{detail}{agreed} => {result}\n"
    "[audit-agreed-quorum]\n (ein Quorum stimmte zu)\n"
    "[audit-agreed-moderators]\n ({votes} Moderatoren stimmten zu)\n"
    "[audit-result-done]\nerledigt\n"
    "[audit-emergency]\nNotfall ohne Quorum: {detail}\n"
)


def test_grave_actions_in_the_members_view_are_the_lists_words(make_instance, sink):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=(ROSA, "bob@example.org", "dora@example.org") + MODS, start=False)
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(PIECES)
    for m in MODS[:2]:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.start()
    # the moderators' notice of a request: its {detail} in the list's words
    opened(inst, "member", "set", "demo", MODS[2], "role", "moderator")
    for m in MODS[:2]:
        n = approve(inst, sink, m, b"soll moderator werden")
        assert b"to become moderator" not in n
    assert inst.wait_log("reached its quorum")
    opened(inst, "member", "ban", "demo", "bob@example.org")
    for m in MODS[:2]:
        approve(inst, sink, m, b"Sperre von member ")
    assert inst.wait_log("(ban) reached its quorum")
    r = opened(inst, "unmask", "demo", "Red Heron")
    for m in MODS:
        assert wait_until(lambda m=m: to(sink, m, "das Pseudonym »Red Heron«".encode())), inst.logtext()
    r = inst.ctl("--emergency", "member", "ban", "demo", "dora@example.org")
    assert r.returncode == 0, r.stderr
    # stored: codes and arguments, no words
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    stored = [d for (d,) in db.execute("SELECT detail FROM audit ORDER BY seq")]
    db.close()
    assert stored and all(d.startswith("@") for d in stored), stored
    assert any(d.startswith("@quorum\t") and "\tof=ban\t" in d for d in stored), "\n".join(stored)
    assert not any("opened" in d or "agreed" in d.replace("agreed=", "") for d in stored), stored
    # a member: every line of the grave actions from the pieces, nothing the rules hide
    view = audit_by_mail(inst, sink, ROSA, 1).decode("utf-8", "replace")
    assert "Eine Anfrage eröffnet: eine Enttarnung (Pseudonym geheim, solange entschieden wird)" in view, view
    assert "Eine Anfrage eröffnet: Sperre von member " in view, view
    assert "(ein Quorum stimmte zu) => erledigt" in view, view
    assert "Notfall ohne Quorum: Sperre von member " in view, view
    for english in ("opened", "an unmasking", "moderators agreed", "emergency, without", ": done",
                    "Red Heron", "Anfrage 2", "soll moderator"):
        assert english not in view, (english, view)
    # a moderator reads the log as written, in the same words
    mod = audit_by_mail(inst, sink, MODS[0], 1).decode("utf-8", "replace")
    assert "Anfrage 1 eröffnet: member " in mod and "soll moderator werden" in mod, mod
    assert "(2 Moderatoren stimmten zu) => erledigt" in mod, mod
    assert "Anfrage 3 eröffnet: das Pseudonym »Red Heron«" in mod, mod
    assert "request 1 opened" not in mod and "moderators agreed" not in mod
    # mlistctl's view: the same pieces; --json gives the code
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    assert [e["code"] for e in entries if e["action"] == "request"] == ["request"] * 3, entries
    assert inst.ctl("audit", "demo", "--verify").returncode == 0


def test_the_discipline_steps_are_the_lists_words(make_instance, sink):
    """The step a moderator confirms ({step} of discipline-confirm) and a step without a reason
    ({reason} of the member's warning) are the list's pieces, [step-*] and [no-reason-step]."""
    from test_leadership import send, token
    inst = make_instance(members=(ROSA, "m1@example.org"), start=False,
                         list_settings={"identity.mode": "pseudonym",
                                        "leadership.discipline": "warn, suspend:10",
                                        "leadership.discipline_days": "0"})
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("[step-warning]\neine private Verwarnung\n"
                "[no-reason-step]\n(ohne Begründung der Moderatoren)\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.ctl("member", "set", "demo", ROSA, "pseudonym", "Red Heron")
    inst.start()
    send(inst, b"From: Mod One <m1@example.org>\r\nSubject: discipline Red Heron\r\n\r\n",
         "m1@example.org", rcpt="demo-owner+discipline@lists.example")
    ask = wait_until(lambda: to(sink, "m1@example.org", b"Confirm a discipline step"))
    assert ask, inst.logtext()
    assert "eine private Verwarnung".encode() in ask[0] and b"a private warning" not in ask[0]
    send(inst, b"From: m1@example.org\r\nSubject: Re\r\n\r\nyes\r\n", "m1@example.org",
         rcpt=f"demo-confirm+{token(ask[0])}@lists.example")
    warn = wait_until(lambda: to(sink, ROSA, b"A warning from the moderators"))
    assert warn, inst.logtext()
    assert "(ohne Begründung der Moderatoren)".encode() in warn[0], warn[0]
    assert b"gave no reason" not in warn[0]


def test_why_a_post_is_held_is_the_lists_words(make_instance, sink):
    """{reason} of the moderators' held notice is the hold's code worded by [held-CODE]."""
    from test_leadership import send
    inst = make_instance(list_settings={"posting": "moderated"},
                         members=("alice@example.org", "m1@example.org"), start=False)
    path = os.path.join(inst.root, "templates", "notices", "demo", "pieces")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("[held-moderated]\ndie Liste ist moderiert\n")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send(inst, b"From: alice@example.org\r\nSubject: held\r\n\r\nHold me.\r\n", "alice@example.org")
    n = wait_until(lambda: to(sink, "m1@example.org", b"Hold me."))
    assert n, inst.logtext()
    assert b"held for the moderators (die Liste ist moderiert)" in n[0].replace(b"=\r\n", b""), n[0]
    assert b"(moderated)" not in n[0]
    # the audit entry of its approval words the same code with the same piece
    held = json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)
    assert inst.ctl("mod", "approve", "demo", held[0]["id"]).returncode == 0
    text = inst.ctl("audit", "demo").stdout
    assert f"held post {held[0]['id']} (die Liste ist moderiert)" in text, text
    assert "(moderated)" not in text
