"""Backups (#19): `mlistctl backup FILE` while the daemon runs, `mlistctl restore FILE` into a
fresh state directory. The file is encrypted (nothing of the instance reads in it), a restore
refuses a live instance, a wrong passphrase and an altered file, and the restored instance has
the same lists, members, held posts and archive, and delivers."""
import json
import os
import shutil
import subprocess

from conftest import MLISTCTL, wait_until
from test_masterkey import NEEDLES, PASS, ROSA, delivered, make, post, unlock, wait_all


def held(inst, lst):
    return json.loads(inst.ctl("--json", "mod", "ls", lst).stdout)


def restore(inst, path, passphrase=PASS):
    return subprocess.run([MLISTCTL, "-c", inst.conf, "restore", path], input=passphrase + "\n",
                          capture_output=True, text=True, timeout=120)


def wipe(inst):
    shutil.rmtree(inst.state)
    for n in os.listdir(os.path.join(inst.root, "lists")):
        os.unlink(os.path.join(inst.root, "lists", n))


def backed_up(tmp_path, sink):
    """A running passphrase instance with posts delivered, a post held on a moderated list,
    and its backup: (instance, backup path, held id)"""
    inst = make(tmp_path, sink)
    inst.ctl("list", "create", "mod")
    inst.ctl("list", "set", "mod", "posting", "moderated")
    for m in (ROSA, "bob@example.org"):
        inst.ctl("member", "add", "mod", m)
    for i in range(3):
        post(inst, i)
    assert wait_all(sink, 3), inst.logtext()[-3000:]
    post_to(inst, "mod", "held one", "Spartakusbund waits for the moderators.")
    assert wait_until(lambda: len(held(inst, "mod")) == 1, 30), inst.logtext()[-3000:]
    hid = held(inst, "mod")[0]["id"]
    path = str(tmp_path / "instance.backup")
    r = inst.ctl("backup", path)
    assert r.returncode == 0 and "backup written to" in r.stdout, r.stderr
    assert os.path.getsize(path) > 1000
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    return inst, path, hid


def post_to(inst, lst, subject, body):
    import smtplib
    raw = (f"From: Rosa <{ROSA}>\r\nSubject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}"
           f"@spartakus.example>\r\n\r\n{body}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(ROSA, [f"{lst}@lists.example"], raw)


def test_backup_reveals_nothing_and_is_never_overwritten(tmp_path, sink):
    inst, path, _ = backed_up(tmp_path, sink)
    with open(path, "rb") as f:
        blob = f.read()
    assert blob.startswith(b"MLBACK2\n")
    low = blob.lower()
    for n in NEEDLES + ["Spartakusbund", "moderators", "demo.conf", "mlistd.db", "posting"]:
        assert n.lower().encode() not in low, f"{n!r} in the backup"
    r = inst.ctl("backup", path, check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    inst.stop()
    r = inst.ctl("backup", path + "2", check=False, autostart=False)
    assert r.returncode == 1 and "not running" in r.stderr


def test_restore_brings_back_lists_members_held_posts_and_archive(tmp_path, sink):
    inst, path, hid = backed_up(tmp_path, sink)
    members = inst.ctl("member", "ls", "demo").stdout
    archive = inst.ctl("archive", "ls", "demo").stdout
    assert "Night Owl" in members and archive.count("\n") >= 3
    # never over an instance, live or stopped
    r = restore(inst, path)
    assert r.returncode == 1 and "not empty" in r.stderr, r.stderr
    inst.stop()
    r = restore(inst, path)
    assert r.returncode == 1 and "not empty" in r.stderr, r.stderr
    wipe(inst)
    # a wrong passphrase, an altered file: refused, nothing written
    r = restore(inst, path, "not the passphrase")
    assert r.returncode == 1 and "does not open" in r.stderr, r.stderr
    assert not os.path.exists(inst.state)
    with open(path, "rb") as f:
        blob = bytearray(f.read())
    blob[len(blob) // 2] ^= 1
    bad = str(tmp_path / "altered.backup")
    with open(bad, "wb") as f:
        f.write(blob)
    r = restore(inst, bad)
    assert r.returncode == 1 and "damaged" in r.stderr and "nothing was restored" in r.stderr, r.stderr
    assert not os.path.exists(inst.state) and not os.path.exists(inst.state + ".restoring")
    assert os.listdir(os.path.join(inst.root, "lists")) == []
    # the real thing
    r = restore(inst, path)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(os.path.join(inst.root, "lists"))) == ["demo.conf", "mod.conf"]
    assert os.path.exists(os.path.join(inst.state, "mlistd.conf.backup"))
    assert inst.ctl("member", "ls", "demo").stdout == members
    assert inst.ctl("archive", "ls", "demo").stdout == archive
    assert [h["id"] for h in held(inst, "mod")] == [hid]
    # it runs: locked until the same passphrase, then a post reaches every member once
    sink.handler.messages.clear()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    post(inst, 7)
    assert wait_until(lambda: {("bob@example.org", "7"), ("carol@example.org", "7")} <=
                      set(delivered(sink)), 60), inst.logtext()[-3000:]
    # the held post was still held, and goes out once approved
    assert [h["id"] for h in held(inst, "mod")] == [hid]
    inst.ctl("mod", "approve", "mod", hid)
    assert wait_until(lambda: any(b"waits for the moderators" in m[2] and "bob@example.org" in m[1]
                                  for m in sink.handler.messages), 60), inst.logtext()[-3000:]
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), got
    inst.stop()


def test_queued_copies_are_delivered_once_after_a_restore(tmp_path, sink):
    """Posts answered 250 and distributed while the relay is down wait as delivery rows and
    rendered copies; backed up then, and restored on a fresh state directory, each reaches
    every member exactly once."""
    inst = make(tmp_path, sink)
    sink.stop()
    for i in range(5):
        post(inst, i)

    def pending():
        st = json.loads(inst.ctl("--json", "status").stdout)
        return st["deliveries"]["pending"] >= 10 and st["queue"]["incoming"] == 0
    assert wait_until(pending, 60), inst.ctl("status").stdout
    path = str(tmp_path / "queued.backup")
    assert inst.ctl("backup", path).returncode == 0
    inst.stop()
    wipe(inst)
    r = restore(inst, path)
    assert r.returncode == 0, r.stderr
    sink.handler.messages.clear()
    sink.start()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    assert wait_all(sink, 5), inst.logtext()[-3000:]
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), got
    inst.stop()


def test_backup_taken_while_posts_arrive(tmp_path, sink):
    """A backup taken while a client keeps posting (the relay down, so the old instance delivers
    nothing and every copy is counted once): restored on a fresh state directory, every post
    answered 250 before the backup began reaches every member once, and none twice."""
    import threading
    import time
    inst = make(tmp_path, sink)
    sink.stop()
    answered = []
    stop = threading.Event()

    def sender():
        for i in range(300):
            if stop.is_set():
                return
            post(inst, i)
            answered.append((i, time.time()))
    t = threading.Thread(target=sender)
    t.start()
    assert wait_until(lambda: len(answered) >= 40, 60)
    began = time.time()
    path = str(tmp_path / "busy.backup")
    r = inst.ctl("backup", path)
    stop.set()
    t.join(120)
    assert r.returncode == 0, r.stderr
    before = [i for i, at in answered if at < began]
    assert len(before) >= 40 and before == list(range(len(before)))
    inst.stop()
    wipe(inst)
    assert restore(inst, path).returncode == 0
    sink.handler.messages.clear()
    sink.start()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    assert wait_all(sink, len(before)), inst.logtext()[-3000:]
    assert wait_until(lambda: json.loads(inst.ctl("--json", "status").stdout)["deliveries"]["pending"]
                      == 0, 120)
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), [k for k, v in got.items() if v != 1]
    assert {int(n) for _, n in got} <= {i for i, _ in answered}
    inst.stop()


def test_backup_taken_while_1000_posts_flow(tmp_path, sink):
    """As above at scale: a client keeps posting while 1,000 posts are answered, the backup is
    taken with posts still arriving; restored, each of the 1,000 (and every later post the backup
    holds) reaches each member once. 73 s on the 2-core test machine (load 5), over the minute a
    test may take, so it runs only with MLISTD_SLOW_TESTS=1."""
    import threading
    import time
    if os.environ.get("MLISTD_SLOW_TESTS") != "1":
        import pytest
        pytest.skip("1,000 posts take over a minute: set MLISTD_SLOW_TESTS=1")
    inst = make(tmp_path, sink)
    sink.stop()
    answered = []
    stop = threading.Event()

    def sender():
        for i in range(1200):
            if stop.is_set():
                return
            post(inst, i)
            answered.append((i, time.time()))
    t = threading.Thread(target=sender)
    t.start()
    assert wait_until(lambda: len(answered) >= 1000, 900), len(answered)
    began = time.time()
    path = str(tmp_path / "busy.backup")
    r = inst.ctl("backup", path)
    stop.set()
    t.join(120)
    assert r.returncode == 0, r.stderr
    before = [i for i, at in answered if at < began]
    assert len(before) >= 1000 and before == list(range(len(before)))
    inst.stop()
    wipe(inst)
    assert restore(inst, path).returncode == 0
    sink.handler.messages.clear()
    sink.start()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    # delivered() reads every copy: asked once a second, not twenty times
    want = {(r, str(i)) for r in ("bob@example.org", "carol@example.org") for i in before}
    end = time.time() + 900
    while not want <= set(delivered(sink)) and time.time() < end:
        time.sleep(1)
    assert want <= set(delivered(sink)), inst.logtext()[-3000:]
    assert wait_until(lambda: json.loads(inst.ctl("--json", "status").stdout)["deliveries"]["pending"]
                      == 0, 300)
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), [k for k, v in got.items() if v != 1]
    assert {int(n) for _, n in got} <= {i for i, _ in answered}
    inst.stop()


def status(inst):
    return json.loads(inst.ctl("--json", "status").stdout)


def test_posts_flow_while_a_backup_is_written_and_are_not_sent_again(tmp_path, sink, monkeypatch):
    """The queue manager only freezes the state (image, links); a child writes the file. Held
    open by a test hook, the writer waits while the old instance delivers the 3 posts that were
    pending in the image and 2 posts that arrive meanwhile: all delivered before mlistctl returns.
    Restored, the instance replays the results recorded while the backup was written and sends
    none of the 3 again; a new post reaches every member once."""
    import threading
    hold = tmp_path / "hold"
    hold.write_text("")
    monkeypatch.setenv("MLISTD_TEST_BACKUP_HOLD", str(hold))
    inst = make(tmp_path, sink)
    sink.stop()
    for i in range(3):
        post(inst, i)
    assert wait_until(lambda: status(inst)["deliveries"]["pending"] >= 6 and
                      status(inst)["queue"]["incoming"] == 0, 60), inst.ctl("status").stdout
    path = str(tmp_path / "flowing.backup")
    done = {}
    t = threading.Thread(target=lambda: done.update(r=inst.ctl("backup", path, check=False)))
    t.start()
    assert inst.wait_log("backup: frozen in"), inst.logtext()[-3000:]
    sink.start()
    for i in range(3, 5):
        post(inst, i)
    # delivered while the backup is being written: the loop is not held up
    assert wait_all(sink, 5), inst.logtext()[-3000:]
    assert wait_until(lambda: status(inst)["deliveries"]["pending"] == 0, 60)
    assert t.is_alive() and not os.path.exists(path), "the backup did not wait for the hook"
    hold.unlink()
    t.join(60)
    assert done["r"].returncode == 0 and "backup written to" in done["r"].stdout, done["r"].stderr
    assert not os.path.exists(os.path.join(inst.state, "backup.snap"))
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), got
    inst.stop()
    wipe(inst)
    r = restore(inst, path)
    assert r.returncode == 0, r.stderr
    # restore says how many copies wait and how many results settle them first
    import re
    m = re.search(r"deliveries: (\d+) copies wait; (\d+) results in the journal", r.stdout)
    assert m and int(m.group(1)) >= 6 and int(m.group(2)) >= int(m.group(1)), r.stdout
    sink.handler.messages.clear()
    monkeypatch.delenv("MLISTD_TEST_BACKUP_HOLD")
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    assert inst.wait_log("delivery results recovered from the journal"), inst.logtext()[-3000:]
    post(inst, 9)
    assert wait_until(lambda: {("bob@example.org", "9"), ("carol@example.org", "9")} <=
                      set(delivered(sink)), 60), inst.logtext()[-3000:]
    assert wait_until(lambda: status(inst)["deliveries"]["pending"] == 0, 60)
    got = delivered(sink)
    assert {n for _, n in got} == {"9"}, got       # none of 0-4 again
    assert all(v == 1 for v in got.values()), got
    inst.stop()


def translate(inst, name="held.txt", text="Ihr Beitrag wartet auf die Moderation.\n"):
    """An operator's own wording of one notice: (path, original text)"""
    p = os.path.join(inst.root, "templates", "notices", name)
    with open(p) as f:
        orig = f.read()
    with open(p, "w") as f:
        f.write(orig.split("\n\n", 1)[0] + "\n\n" + text)
    return p, orig


def test_templates_are_backed_up_and_restored_where_nothing_differs(tmp_path, sink):
    """The operator's own notice for one list (templates_dir/notices/demo/) is in the backup;
    restored on a machine whose templates_dir has only the stock texts, it comes back there,
    byte for byte, and the instance starts with it."""
    inst = make(tmp_path, sink)
    own = os.path.join(inst.root, "templates", "notices", "demo")
    os.makedirs(own)
    with open(os.path.join(inst.root, "templates", "notices", "held.txt")) as f:
        head = f.read().split("\n\n", 1)[0]
    mine = (head + "\n\nIhr Beitrag wartet auf die Moderation.\n").encode()
    with open(os.path.join(own, "held.txt"), "wb") as f:
        f.write(mine)
    path = str(tmp_path / "tmpl.backup")
    assert inst.ctl("backup", path).returncode == 0
    with open(path, "rb") as f:
        assert b"Moderation" not in f.read()
    inst.stop()
    wipe(inst)
    shutil.rmtree(own)
    r = restore(inst, path)
    assert r.returncode == 0 and "templates.backup" not in r.stdout, r.stdout + r.stderr
    with open(os.path.join(own, "held.txt"), "rb") as f:
        assert f.read() == mine
    assert not os.path.exists(os.path.join(inst.state, "templates"))
    assert not os.path.exists(os.path.join(inst.state, "templates.backup"))
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    inst.stop()


def test_templates_that_differ_are_never_overwritten_but_restored_beside(tmp_path, sink):
    """A templates_dir that holds other texts (a fresh installation's stock notices) is left
    as it is; the backup's set goes into STATE/templates.backup and restore says so."""
    inst = make(tmp_path, sink)
    p, orig = translate(inst)
    with open(p, "rb") as f:
        mine = f.read()
    path = str(tmp_path / "tmpl.backup")
    assert inst.ctl("backup", path).returncode == 0
    inst.stop()
    wipe(inst)
    with open(p, "w") as f:
        f.write(orig)                   # the stock text again
    r = restore(inst, path)
    assert r.returncode == 0, r.stderr
    assert "templates.backup" in r.stdout and "nothing there was overwritten" in r.stdout, r.stdout
    with open(p) as f:
        assert f.read() == orig
    with open(os.path.join(inst.state, "templates.backup", "notices", "held.txt"), "rb") as f:
        assert f.read() == mine
    assert not os.path.exists(os.path.join(inst.state, "templates"))


def test_a_backup_cut_short_by_a_stop_leaves_no_backup(tmp_path, sink, monkeypatch):
    """The daemon stopped while its writer is still at work: mlistctl says it got no answer,
    FILE does not exist (only FILE.part, which a later backup to that name names instead of
    replacing), and after a restart a backup to another name is whole and restores."""
    import threading
    hold = tmp_path / "hold"
    hold.write_text("")
    monkeypatch.setenv("MLISTD_TEST_BACKUP_HOLD", str(hold))
    inst = make(tmp_path, sink)
    post(inst, 0)
    assert wait_all(sink, 1), inst.logtext()[-3000:]
    path = str(tmp_path / "cut.backup")
    done = {}
    t = threading.Thread(target=lambda: done.update(r=inst.ctl("backup", path, check=False,
                                                              autostart=False)))
    t.start()
    assert inst.wait_log("backup: frozen in"), inst.logtext()[-3000:]
    inst.stop()
    t.join(60)
    assert done["r"].returncode == 1, done["r"].stdout
    assert not os.path.exists(path) and os.path.exists(path + ".part")
    hold.unlink()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    assert unlock(inst).returncode == 0
    assert wait_until(lambda: inst.control_listening(), 30)
    r = inst.ctl("backup", path, check=False)
    assert r.returncode == 1 and ".part" in r.stderr and "remove it" in r.stderr, r.stderr
    other = str(tmp_path / "whole.backup")
    r = inst.ctl("backup", other)
    assert r.returncode == 0 and "backup written to" in r.stdout, r.stderr
    assert not os.path.exists(os.path.join(inst.state, "backup.snap"))
    inst.stop()
    wipe(inst)
    assert restore(inst, other).returncode == 0
