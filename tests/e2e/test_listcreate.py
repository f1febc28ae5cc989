"""`mlistctl list create` (#13): the daemon makes a new list's keys, never mlistctl.

With the daemon running, `list create` is a control-socket request: the daemon writes the list file,
makes the list's DKIM and OpenPGP keys in one transaction and takes the list at once. Before the
first start (no daemon) mlistctl writes the list file alone, and the daemon makes the keys at its
first turn. Either way mlistctl opens neither the database nor the master key: each test runs it
under `strace -f` and reads every file it opened.
"""
import json
import os
import re
import smtplib
import sqlite3
import subprocess

import dkim
import pytest

from conftest import MLISTCTL, wait_until

STRACE = "/usr/bin/strace"
# under `make asan-test`: LeakSanitizer cannot run under ptrace (it aborts the traced mlistctl)
_ASAN = os.environ.get("ASAN_OPTIONS", "")
TRACED_ENV = dict(os.environ, ASAN_OPTIONS=(_ASAN + ":" if _ASAN else "") + "detect_leaks=0")
pytestmark = pytest.mark.skipif(not os.access(STRACE, os.X_OK), reason="needs strace")
FPR = r"[0-9A-F]{40}"


def traced(inst, tmp_path, *args):
    """mlistctl ARGS under strace: (result, [(syscall, path, flags)] for every file it touched)."""
    out = str(tmp_path / "trace")
    r = subprocess.run([STRACE, "-f", "-qq", "-o", out, "-e",
                        "trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat",
                        MLISTCTL, "-c", inst.conf, *args], capture_output=True, text=True, timeout=60,
                       env=TRACED_ENV)
    calls = []
    for line in open(out):
        m = re.search(r"\b(open|openat|creat|rename|renameat2?|unlink|unlinkat)\((?:[^\"]*?)\"([^\"]*)\""
                      r"(.*)$", line)
        if m:
            calls.append((m.group(1), m.group(2), m.group(3)))
    assert any(p.endswith("mlistd.conf") for _, p, _ in calls), "strace saw mlistctl read nothing"
    return r, calls


def writes(calls):
    """The files a traced mlistctl made, changed or removed."""
    return [(f, p) for f, p, rest in calls
            if f not in ("open", "openat") or re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", rest)]


def key_material_untouched(inst, calls):
    """mlistctl opened neither the database (where the keys are sealed) nor the master key."""
    state = [p for _, p, _ in calls if "mlistd.db" in p or "master." in p]
    assert state == [], state


def keys_answer(inst, name):
    r = inst.ctl("keys", name)
    assert r.returncode == 0, r.stderr
    return r.stdout


def dkim_ok(inst, name, raw):
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", name).stdout)}
    return dkim.verify(raw, dnsfunc=lambda q, timeout=5: recs.get(q.decode().split(".")[0], "").encode())


def rows(inst, table, name):
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    n = db.execute(f"SELECT count(*) FROM {table} WHERE list = ?", (name,)).fetchone()[0]
    db.close()
    return n


def test_running_daemon_creates_the_list_and_its_keys(make_instance, sink, tmp_path):
    inst = make_instance()
    r, calls = traced(inst, tmp_path, "--json", "list", "create", "news")
    assert r.returncode == 0, r.stderr
    # the daemon wrote the list file and the keys: mlistctl wrote nothing, opened no key
    assert os.path.exists(os.path.join(inst.root, "lists", "news.conf"))
    key_material_untouched(inst, calls)
    assert writes(calls) == [], writes(calls)
    assert inst.wait_log("control: list=news created with its keys")
    made = json.loads(r.stdout)
    assert made["created"] == "news" and made["selector"] == "news-k1", made
    assert re.fullmatch(FPR, made["openpgp"]), made
    # `keys` shows the record to publish and the OpenPGP key the daemon made
    ans = keys_answer(inst, "news")
    assert "news-k1._domainkey.lists.example" in ans and "has no signing key yet" not in ans, ans
    assert re.search(rf"^openpgp: {made['openpgp']} news <news@lists\.example>$", ans, re.M), ans
    assert inst.ctl("keys", "news", "--export").stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    # the list works at once, and its copies are signed by the key it was made with
    for m in ("alice@example.org", "bob@example.org"):
        inst.ctl("member", "add", "news", m)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["news@lists.example"],
                   b"From: alice@example.org\r\nTo: news@lists.example\r\nSubject: first\r\n\r\n"
                   b"The first post to news.\r\n")
    got = [raw for rcpt, raw in sink.wait_for(2) if rcpt == "bob@example.org"]
    assert got and b"The first post to news." in got[0], sink.handler.copies()
    assert b"d=lists.example; s=news-k1;" in got[0].split(b"\r\n\r\n")[0]
    assert dkim_ok(inst, "news", got[0])


def test_before_the_first_start_the_daemon_makes_the_keys(make_instance, sink, tmp_path):
    inst = make_instance(members=(), start=False)
    r, calls = traced(inst, tmp_path, "list", "create", "news")
    assert r.returncode == 0, r.stderr
    # the list file is what mlistctl writes (configuration, as an operator may by hand); no key
    assert os.path.exists(os.path.join(inst.root, "lists", "news.conf"))
    key_material_untouched(inst, calls)
    assert [p for _, p in writes(calls) if "state" in p.split(os.sep)] == [], writes(calls)
    assert "created list news@lists.example" in r.stdout and "when it starts" in r.stdout, r.stdout
    assert rows(inst, "list_keys", "news") == 0 and rows(inst, "list_pgp", "news") == 0
    inst.start()
    assert inst.wait_log("list=news had no keys; made them, selector news-k1")
    # the line is written inside the job's transaction: its rows follow at the commit
    assert wait_until(lambda: rows(inst, "list_keys", "news") == 1 and
                      rows(inst, "list_pgp", "news") == 1, 10)
    ans = keys_answer(inst, "news")
    assert "news-k1._domainkey.lists.example" in ans and "has no signing key yet" not in ans, ans
    assert re.search(rf"^openpgp: {FPR} news <news@lists\.example>$", ans, re.M), ans
    # made once: a restart makes none again
    inst.stop()
    inst.start()
    assert keys_answer(inst, "news") == ans
    assert rows(inst, "list_keys", "news") == 1


def test_a_refused_create_leaves_no_file_and_no_key(make_instance, tmp_path):
    inst = make_instance(members=())
    r = inst.ctl("list", "create", "demo", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr, (r.stdout, r.stderr)
    r = inst.ctl("list", "create", "other", "--template", "nosuch", check=False)
    assert r.returncode == 1 and "nosuch" in r.stderr, (r.stdout, r.stderr)
    assert inst.wait_log("control: list create list=other status=1")
    assert not os.path.exists(os.path.join(inst.root, "lists", "other.conf"))
    assert rows(inst, "list_keys", "other") == 0 and rows(inst, "list_pgp", "other") == 0
    # the refusal changed nothing: the same name is created afterwards, with its first key
    r = inst.ctl("list", "create", "other")
    assert r.returncode == 0 and "selector other-k1" in r.stdout, (r.stdout, r.stderr)
