"""The control socket: mlistctl's changing verbs are the daemon's actions, with honest exit codes."""
import json
import os
import re
import smtplib
import stat
import subprocess

import pytest

from pgphelp import ENCRYPTED, Member, to_list
from conftest import MLISTCTL, wait_until

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")
NOT_RUNNING = re.compile(r"^mlistctl: the daemon is not running \(no .*/state/control\): start mlistd first\n$")


def send(inst, raw, sender, rcpt="demo@lists.example"):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m for r, m in sink.handler.copies() if r == rcpt and marker in m]


def audit(inst):
    return json.loads(inst.ctl("--json", "audit", "demo").stdout)


def test_mod_approve_on_required_encryption_never_sends_in_clear(make_instance, sink, tmp_path):
    """The reviewer's bug: mlistctl wrote delivery rows itself and sent the post in clear to a keyless member."""
    inst = make_instance(list_settings={"encryption": "required", "posting": "moderated"})
    carol = Member(inst, tmp_path, "carol@example.org")
    send(inst, to_list(inst, b"From: bob@example.org\r\nSubject: s\r\n\r\nSECRET-WORDS here.\r\n"),
         "bob@example.org")
    assert wait_until(lambda: inst.ctl("mod", "ls", "demo").stdout.strip()), inst.logtext()
    held = inst.ctl("mod", "ls", "demo").stdout.split()[0]
    r = inst.ctl("mod", "approve", "demo", held)
    assert r.returncode == 0 and f"approved {held}" in r.stdout
    # the keyed member got the post, encrypted to her key
    got = wait_until(lambda: to(sink, "carol@example.org", ENCRYPTED))
    assert got and b"SECRET-WORDS" not in got[0]
    assert b"SECRET-WORDS" in carol.open(got[0])
    # the keyless ones got a notice instead, and never the post
    for m in ("alice@example.org", "bob@example.org"):
        assert wait_until(lambda m=m: to(sink, m, b"could not receive in clear")), m
    assert inst.wait_log(f"post {held} approved by the operator")
    for r_, m in sink.handler.copies():
        assert b"SECRET-WORDS" not in m, r_
    assert [e["actor"] for e in audit(inst) if e["action"] == "approve"] == ["operator"]


def test_grave_verbs_exit_3_when_a_request_opens_and_1_on_failure(make_instance):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"},
                         members=("rosa@example.org", "bob@example.org", "m1@example.org", "m2@example.org"))
    for m in ("m1@example.org", "m2@example.org"):      # setting up: below the quorum, done at once
        r = inst.ctl("member", "set", "demo", m, "role", "moderator", check=False)
        assert r.returncode == 0 and "request" not in r.stdout
    inst.ctl("member", "set", "demo", "rosa@example.org", "pseudonym", "Red Heron")
    r = inst.ctl("member", "ban", "demo", "bob@example.org", check=False)
    assert r.returncode == 3 and "request 1 opened" in r.stdout, (r.stdout, r.stderr)
    r = inst.ctl("unmask", "demo", "Red Heron", check=False)
    assert r.returncode == 3 and "request 2 opened" in r.stdout and "rosa@" not in r.stdout
    r = inst.ctl("--json", "unmask", "demo", "Red Heron", check=False)
    assert r.returncode == 3 and json.loads(r.stdout)["action"] == "unmask"
    # failures are failures
    for args, why in ((("unmask", "demo", "Nobody Here"), "nobody on demo"),
                      (("unmask", "nolist", "Red Heron"), 'no list named "nolist"'),
                      (("member", "ban", "nolist", "bob@example.org"), 'no list named "nolist"'),
                      (("member", "ban", "demo", "not-an-address"), "not a valid address"),
                      (("member", "rm", "demo", "nobody@example.org"), "not a member")):
        r = inst.ctl(*args, check=False)
        assert r.returncode == 1 and why in r.stderr and r.stdout == "", (args, r.returncode, r.stderr)
    # nothing was banned yet: the request waits
    assert [e["action"] for e in audit(inst)].count("ban") == 0


def test_changing_verb_without_the_daemon_says_so_in_one_line(make_instance):
    inst = make_instance(start=False)
    for args in (("member", "add", "demo", "dave@example.org"), ("mod", "approve", "demo", "0" * 16),
                 ("list", "set", "demo", "posting", "open"), ("unmask", "demo", "X Y")):
        r = inst.ctl(*args, check=False, autostart=False)
        assert r.returncode == 1 and NOT_RUNNING.match(r.stderr), (args, r.stderr)
    # nothing was changed behind the daemon's back; reading still works
    assert "dave@" not in inst.ctl("member", "ls", "demo").stdout
    assert inst.ctl("list", "show", "demo").returncode == 0
    # stopped after it ran: the socket is gone, the answer the same
    inst.start()
    inst.stop()
    r = inst.ctl("member", "add", "demo", "dave@example.org", check=False, autostart=False)
    assert r.returncode == 1 and NOT_RUNNING.match(r.stderr), r.stderr


def test_member_change_is_applied_once_and_audited_once(make_instance):
    inst = make_instance()
    before = audit(inst)
    r = inst.ctl("member", "set", "demo", "bob@example.org", "role", "moderator")
    assert r.returncode == 0
    after = audit(inst)
    assert len(after) == len(before) + 1 and after[-1]["action"] == "roles"
    assert after[-1]["actor"] == "operator" and "is now moderator" in after[-1]["detail"]
    roles = {m["address"]: m["role"] for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)}
    assert roles["bob@example.org"] == "moderator"
    r = inst.ctl("member", "add", "demo", "dave@example.org")
    assert r.returncode == 0 and "added dave@example.org" in r.stdout
    last = audit(inst)
    assert len(last) == len(after) + 1 and last[-1]["action"] == "admit" and "@" not in last[-1]["detail"]
    assert inst.ctl("audit", "demo", "--verify").returncode == 0
    assert inst.wait_log("control: member add list=demo status=0 result=ok")
    assert "dave@" not in inst.logtext()


def test_member_import_of_thousands_is_one_request(make_instance, tmp_path):
    inst = make_instance(members=())
    f = tmp_path / "many.txt"
    f.write_text("".join(f"user{i}@example.org User {i}\n" for i in range(3000)))
    r = inst.ctl("member", "import", "demo", str(f))
    assert r.returncode == 0 and "3000 added, 0 already members" in r.stdout
    assert len(inst.ctl("member", "ls", "demo").stdout.splitlines()) == 3000
    assert [e["action"] for e in audit(inst)].count("admit") == 1


def _open_path_for_others(path, stop):
    """o+x on every directory from stop down to path; returns what to restore."""
    saved = []
    p = os.path.abspath(path)
    while True:
        saved.append((p, stat.S_IMODE(os.stat(p).st_mode)))
        os.chmod(p, saved[-1][1] | 0o001)
        if p == stop or p == "/":
            break
        p = os.path.dirname(p)
    return saved


def test_socket_refuses_other_users(make_instance):
    if os.geteuid() != 0:
        pytest.skip("needs root to run mlistctl as nobody (setpriv)")
    inst = make_instance()
    sock = os.path.join(inst.state, "control")
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    saved = _open_path_for_others(inst.state, "/tmp")
    try:
        for f in [inst.conf] + [os.path.join(inst.root, "lists", n) for n in os.listdir(os.path.join(inst.root, "lists"))]:
            saved.append((f, stat.S_IMODE(os.stat(f).st_mode)))
            os.chmod(f, saved[-1][1] | 0o004)
        os.chmod(os.path.join(inst.root, "lists"), 0o755)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", MLISTCTL, "-c", inst.conf,
                     "member", "add", "demo", "mallory@example.org"]
        # the file mode alone keeps others out
        r = subprocess.run(as_nobody, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "control" in r.stderr, r.stderr
        # and were the mode loosened by mistake, the peer check still refuses (and logs it)
        os.chmod(sock, 0o666)
        r = subprocess.run(as_nobody, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "refuses this user" in r.stderr, r.stderr
        assert inst.wait_log("control: refused a connection from uid 65534")
    finally:
        for p, mode in reversed(saved):
            os.chmod(p, mode)
    assert "mallory@" not in inst.ctl("member", "ls", "demo").stdout
    # root still may
    assert inst.ctl("member", "add", "demo", "dave@example.org").returncode == 0
