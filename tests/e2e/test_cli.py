"""mlistctl and mlistd as an administrator uses them: exit codes, messages, JSON, files on disk."""
import json
import os
import re
import signal
import smtplib
import stat
import subprocess
import time

from conftest import MLISTCTL, MLISTD


def test_init_creates_private_state_and_refuses_twice(make_instance):
    inst = make_instance(start=False)
    st = os.stat(os.path.join(inst.state, "master.key"))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
    assert stat.S_IMODE(os.stat(inst.state).st_mode) == 0o700
    r = inst.ctl("init", check=False)
    assert r.returncode == 1 and "already initialised" in r.stderr


def test_usage_errors_exit_2_failures_exit_1(make_instance):
    inst = make_instance()
    r = inst.ctl("frobnicate", check=False)
    assert r.returncode == 2 and "unknown verb 'frobnicate'" in r.stderr
    r = inst.ctl("member", "add", "demo", check=False)
    assert r.returncode == 2 and "usage: mlistctl member add LIST ADDRESS" in r.stderr
    r = inst.ctl("member", "add", "nolist", "a@b.example", check=False)
    assert r.returncode == 1 and 'no list named "nolist"' in r.stderr
    r = inst.ctl("member", "add", "demo", "not-an-address", check=False)
    assert r.returncode == 1 and "not a valid address" in r.stderr
    r = inst.ctl("member", "add", "demo", "alice@example.org", check=False)
    assert r.returncode == 1 and "already a member" in r.stderr
    r = inst.ctl("member", "rm", "demo", "nobody@example.org", check=False)
    assert r.returncode == 1 and "not a member" in r.stderr
    r = inst.ctl("member", "set", "demo", "alice@example.org", "role", "emperor", check=False)
    assert r.returncode == 1 and "role (member|moderator|owner)" in r.stderr
    r = inst.ctl("member", "set", "demo", "alice@example.org", "key", "not-a-key", check=False)
    assert r.returncode == 1 and "not an Ed25519 public key" in r.stderr
    r = inst.ctl("list", "set", "demo", "posting", "whenever", check=False)
    assert r.returncode == 1 and "demo.conf:" in r.stderr and '"whenever" is not one of' in r.stderr
    r = inst.ctl("list", "create", "Bad Name", check=False)
    assert r.returncode == 1 and "not a valid list name" in r.stderr
    r = inst.ctl("list", "create", "demo", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = subprocess.run([MLISTCTL, "-c", "/nonexistent/mlistd.conf", "status"], capture_output=True, text=True)
    assert r.returncode == 1 and "/nonexistent/mlistd.conf: cannot read" in r.stderr


def test_help_everywhere():
    r = subprocess.run([MLISTCTL, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "member import LIST FILE" in r.stdout
    r = subprocess.run([MLISTCTL, "list", "set", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "delivery.verp" in r.stdout and "max_posts_per_day" in r.stdout
    r = subprocess.run([MLISTD, "-h"], capture_output=True, text=True)
    assert r.returncode == 0 and "-t" in r.stdout and "configuration OK" in r.stdout
    r = subprocess.run([MLISTD, "-x"], capture_output=True, text=True)
    assert r.returncode == 2


def test_json_outputs(make_instance):
    inst = make_instance(start=False)
    st = json.loads(inst.ctl("--json", "status").stdout)
    assert st["running"] is False and st["queue"]["incoming"] == 0 and st["lists"] == [{"name": "demo", "members": 3}]
    assert st["deliveries"] == {"pending": 0, "failed": 0} and st["held"] == 0
    ls = json.loads(inst.ctl("--json", "list", "ls").stdout)
    assert ls == [{"name": "demo", "address": "demo@lists.example", "members": 3, "posting": "members"}]
    show = json.loads(inst.ctl("--json", "list", "show", "demo").stdout)
    assert show["settings"]["posting"] == "members" and show["settings"]["subject_prefix"] == "[demo]"
    members = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
    assert [m["address"] for m in members] == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert members[0]["role"] == "member" and members[0]["nomail"] is False
    inst.start()
    out = json.loads(inst.ctl("--json", "member", "add", "demo", "dave@example.org", "--name", 'Dave "D"').stdout)
    assert out == {"added": "dave@example.org", "list": "demo"}
    members = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
    assert members[-1]["name"] == 'Dave "D"'


def test_member_import_all_or_nothing(make_instance, tmp_path):
    inst = make_instance(members=())
    f = tmp_path / "m.txt"
    f.write_text("# comment\n\none@example.org One\ntwo@example.org\nbroken address\n")
    r = inst.ctl("member", "import", "demo", str(f), check=False)
    assert r.returncode == 1 and f"{f}:5:" in r.stderr and "nothing was imported" in r.stderr
    assert inst.ctl("member", "ls", "demo").stdout == ""
    f.write_text("one@example.org One\ntwo@example.org\n")
    assert "2 added, 0 already members" in inst.ctl("member", "import", "demo", str(f)).stdout
    assert "0 added, 2 already members" in inst.ctl("member", "import", "demo", str(f)).stdout


def test_list_lifecycle(make_instance):
    inst = make_instance()
    inst.ctl("list", "create", "news", "--template", "announce")
    assert inst.wait_log("reloaded; 2 list(s)")
    show = inst.ctl("list", "show", "news").stdout
    assert "posting              announce" in show
    inst.ctl("list", "delete", "news")
    assert not os.path.exists(os.path.join(inst.root, "lists", "news.conf"))
    assert inst.wait_log("reloaded; 1 list(s)")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("a@example.org")
        assert s.rcpt("news@lists.example")[0] == 550
    r = inst.ctl("list", "create", "x", "--template", "nosuch", check=False)
    assert r.returncode == 1 and "nosuch.conf" in r.stderr


def test_check_and_status_running(make_instance):
    inst = make_instance()
    assert inst.ctl("check").stdout == "configuration OK\n"
    st = inst.ctl("status").stdout
    assert f"running (pid {inst.proc.pid})" in st and "demo                 3 members" in st


def test_second_daemon_refused(make_instance):
    inst = make_instance()
    r = subprocess.run([MLISTD, "-c", inst.conf, "-f"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and ("already running" in r.stderr or "cannot listen" in r.stderr)


def test_queue_manager_restarted_after_crash(make_instance, sink):
    inst = make_instance()
    # the daemon's first child is the parser's zygote: the queue manager is the one the log names
    assert inst.wait_log("queue manager pid ")
    qmgr = int(inst.logtext().split("queue manager pid ")[1].split()[0])
    os.kill(qmgr, signal.SIGKILL)
    assert inst.wait_log("queue manager exited (signal 9); restarting it")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], b"From: alice@example.org\r\nSubject: after\r\n\r\nstill here\r\n")
    assert len(sink.wait_for(3)) == 3


def test_log_has_no_bodies_or_member_addresses(make_instance, sink):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"],
                   b"From: alice@example.org\r\nSubject: SECRET-SUBJECT\r\n\r\nSECRET-BODY\r\n")
    sink.wait_for(3)
    inst.stop()
    log = inst.logtext()
    for needle in ("SECRET-BODY", "SECRET-SUBJECT", "alice@", "bob@", "carol@"):
        assert needle not in log, needle


def test_orphaned_queue_manager_steps_aside(make_instance, sink):
    """kill -9 of the daemon alone must not leave two queue managers delivering the same posts."""
    inst = make_instance()
    old_qmgr = int(subprocess.run(["pgrep", "-P", str(inst.proc.pid)], capture_output=True,
                                  text=True).stdout.split()[0])
    inst.proc.send_signal(signal.SIGKILL)
    inst.proc.wait()
    inst.logf.close()
    inst.proc = None
    end = time.time() + 10
    while time.time() < end and os.path.exists(f"/proc/{old_qmgr}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{old_qmgr}") or \
        open(f"/proc/{old_qmgr}/stat").read().split()[2] == "Z"
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], b"From: alice@example.org\r\nSubject: once\r\n\r\nonce\r\n")
    sink.wait_for(3)
    time.sleep(1.5)
    assert sorted(r for r, _ in sink.handler.copies()) == ["alice@example.org", "bob@example.org",
                                                            "carol@example.org"]


def test_audit_log_records_and_detects_tampering(make_instance):
    import sqlite3
    inst = make_instance()
    inst.ctl("member", "set", "demo", "bob@example.org", "role", "moderator")
    inst.ctl("member", "ban", "demo", "troll@evil.example")
    inst.ctl("list", "set", "demo", "posting", "moderated")
    inst.ctl("member", "rm", "demo", "carol@example.org")
    entries = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    acts = [e["action"] for e in entries]
    # (the fixture's three member adds come first)
    assert acts[-4:] == ["roles", "ban", "policy", "expel"], acts
    assert all(e["actor"] == "operator" for e in entries)
    text = inst.ctl("audit", "demo").stdout
    # roles and keyed short ids, never addresses, nor numbers that count the members
    assert "@" not in text and re.search(r"member [0-9a-f]{10}\b", text) and "member #" not in text
    assert "posting = moderated" in text
    ok = inst.ctl("audit", "demo", "--verify")
    assert ok.returncode == 0 and f"{len(entries)} entries" in ok.stdout
    inst.stop()
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    # the detail is stored as a code and its arguments (the words come from [audit-policy])
    changed = "@policy\tsetting=posting\tvalue=open"
    stored = "@policy\tsetting=posting\tvalue=moderated"
    db.execute("UPDATE audit SET detail = ? WHERE detail = ?", (changed, stored))
    db.commit()
    r = inst.ctl("audit", "demo", "--verify", check=False)
    assert r.returncode == 1 and "was changed after it was written" in r.stderr
    db.execute("UPDATE audit SET detail = ? WHERE detail = ?", (stored, changed))
    seq = db.execute("SELECT seq FROM audit WHERE action = 'ban'").fetchone()[0]
    db.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    db.commit()
    r = inst.ctl("audit", "demo", "--verify", check=False)
    assert r.returncode == 1 and f"entry {seq} is missing" in r.stderr
    # cutting off the last entries leaves a chain that holds together: the anchor outside the database shows it
    db.execute("DELETE FROM audit WHERE seq >= ?", (seq,))
    db.commit()
    r = inst.ctl("audit", "demo", "--verify", check=False)
    assert r.returncode == 1 and f"entries after {seq - 1} up to {len(entries)} were removed" in r.stderr, r.stderr
    # and the daemon says so in its log
    inst.start()
    assert inst.wait_log(f"audit log: the log ends at entry {seq - 1} but entry {len(entries)} was written")
    db.close()


def test_sigterm_to_the_whole_group_stops_everything(make_instance):
    """Ctrl-C or a service manager signals the process group: the queue manager may die first; the
    daemon must not restart it and then wait for it for ever."""
    from conftest import MLISTD, wait_port
    inst = make_instance(start=False)
    log = open(inst.log, "ab")
    p = subprocess.Popen([MLISTD, "-c", inst.conf, "-f"], stdout=log, stderr=log, start_new_session=True)
    try:
        wait_port(inst.port)
        time.sleep(0.3)
        os.killpg(p.pid, signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], left
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        log.close()
    assert "restarting it" not in inst.logtext()


def test_make_install_puts_binaries_man_pages_and_unit(tmp_path):
    """make install DESTDIR=...: the programs, the four manual pages (made from the README, rendering
    without a groff warning), the systemd unit with the real path, the example configuration."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    dest = tmp_path / "dest"
    # -o all: install what is built, never rebuild it (a relink under a running suite
    # replaced binaries other tests were executing)
    r = subprocess.run(["make", "-s", "-o", "all", "install", f"DESTDIR={dest}", "PREFIX=/usr/local",
                        f"BUILD={os.environ.get('MLISTD_BUILD', 'build')}"], cwd=root, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    usr = dest / "usr" / "local"
    for p in ("sbin/mlistd", "sbin/mlistctl", "bin/mlist", "share/mlistd/mlistd.conf.example",
              "share/man/man8/mlistd.8", "share/man/man8/mlistctl.8", "share/man/man1/mlist.1",
              "share/man/man5/mlistd.conf.5", "lib/systemd/system/mlistd.service"):
        assert (usr / p).exists(), p
    unit = (usr / "lib/systemd/system/mlistd.service").read_text()
    assert "ExecStart=/usr/local/sbin/mlistd -f" in unit and "@SBINDIR@" not in unit
    for page, must in (("man8/mlistctl.8", "member export"), ("man5/mlistd.conf.5", "one_click_url"),
                       ("man8/mlistd.8", "transport_maps"), ("man1/mlist.1", "keygen")):
        out = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-ww", "-K", "utf8", str(usr / "share/man" / page)],
                             capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert out.returncode == 0 and must in out.stdout.replace("\u2010", "-"), page
        assert "error" not in out.stderr, out.stderr
