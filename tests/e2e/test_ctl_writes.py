"""mlistctl writes nothing to the database (#13, "tools/ makes no database write for a changing
verb"): every verb its --help lists is run under `strace -f -y`, and no write, pwrite or truncate
may reach mlistd.db or its WAL. A verb that only reads may read the database; a changing verb is a
request to the daemon, so with the daemon stopped it says "not running" and exits 1. Only `init`
(which makes the database) and `restore` (into an empty state_dir, the daemon stopped) are
excepted. A verb added later is covered without a change here: --help names it, and it is a reading
verb below or must need the daemon.
"""
import os
import re
import smtplib
import subprocess

import pytest

from conftest import MLISTCTL, wait_until

STRACE = "/usr/bin/strace"
# under `make asan-test`: LeakSanitizer cannot run under ptrace (it aborts the traced mlistctl)
_ASAN = os.environ.get("ASAN_OPTIONS", "")
TRACED_ENV = dict(os.environ, ASAN_OPTIONS=(_ASAN + ":" if _ASAN else "") + "detect_leaks=0")
pytestmark = pytest.mark.skipif(not os.access(STRACE, os.X_OK), reason="needs strace")

# what the daemon's absence does not stop (all but `check`, `status` and the reading verbs touch
# no database at all: they are in the same strace net)
EXCEPTED = {"init", "restore"}
NO_DAEMON_OK = {"check", "status", "list ls", "list show", "member ls", "mod ls", "mod queue",
                "mod show", "archive ls", "archive export", "audit", "keys", "list create",
                "rekey", "unlock"}
DB_FILES = re.compile(r"<[^>]*/mlistd\.db(-wal|-journal)?>")


def verbs():
    """(words, args grammar) of every verb mlistctl --help lists"""
    out = subprocess.run([MLISTCTL, "--help"], capture_output=True, text=True).stdout
    block = out.split("\nverbs:\n", 1)[1].split("\n\n", 1)[0]
    found = []
    for line in block.splitlines():
        words = line.split()
        n = 2 if len(words) > 1 and re.fullmatch(r"[a-z][a-z-]*", words[1]) else 1
        found.append((" ".join(words[:n]), " ".join(words[n:])))
    assert len(found) > 30 and ("mod approve", "LIST ID") in found, found
    return found


WRITES = "write,pwrite64,pwritev,pwritev2,ftruncate,fallocate"
# the other ways round the control socket the issue found: mail forged into the queue, a flag
# file the daemon polls, a signal
BEHIND = WRITES + ",openat,creat,rename,renameat,renameat2,link,linkat,symlink,mkdir,kill,tgkill"


def traced(inst, tmp_path, *args, stdin=None, calls=WRITES):
    """mlistctl ARGS under strace: (result, the lines of its writes to the database; with
    calls=BEHIND also what it made or signalled under the state directory)"""
    out = str(tmp_path / "trace")
    r = subprocess.run([STRACE, "-f", "-qq", "-y", "-o", out, "-e", "trace=" + calls,
                        MLISTCTL, "-c", inst.conf, *args], capture_output=True, text=True,
                       timeout=60, input=stdin or "", env=TRACED_ENV)
    lines = open(out).read().splitlines()
    state = os.path.join(inst.root, "state")
    return r, [ln for ln in lines if DB_FILES.search(ln.split(",", 1)[0]) or
               (calls.startswith(BEHIND) and behind(ln, state))]


def behind(line, state):
    """a traced call that changes the state directory or signals a process"""
    call = line.split(None, 1)[-1]
    if call.startswith("connect("):
        return False                                  # a request on the socket changes nothing
    if re.match(r"(tg)?kill\(", call):
        return not re.search(r", 0\)", call)          # kill(pid, 0): "is it running?"
    if call.startswith(("openat(", "creat(")) and "O_CREAT" not in call and "creat(" not in call:
        return False
    return state in call and not call.startswith(("write(", "pwrite")) or \
        bool(re.match(r"(p?write\w*|ftruncate|fallocate)\(\d+<[^>]*" + re.escape(state), call))


def dummy(grammar, held_id):
    """the required arguments of a grammar, filled in"""
    fill = {"LIST": "demo", "NAME": "demo", "ADDRESS": "bob@example.org", "ID": held_id,
            "KEY": "digest", "VALUE": "on", "FILE": "/dev/null", "PSEUDONYM": "Red Kite"}
    req = grammar.split("[", 1)[0].split()
    return [fill.get(w, "x") for w in req]


@pytest.fixture
def busy(make_instance, sink):
    """a list with a post in its archive, one held for the moderators, and audit entries"""
    inst = make_instance(list_settings={"posting": "moderated"})

    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"],
                   b"From: alice@example.org\r\nSubject: first\r\n\r\nThe archived post.\r\n")
    assert wait_until(lambda: inst.ctl("mod", "ls", "demo").stdout.strip())
    first = inst.ctl("mod", "ls", "demo").stdout.split()[0]
    inst.ctl("mod", "approve", "demo", first)
    assert wait_until(lambda: [r for r, raw in sink.handler.copies() if b"The archived post." in raw])
    assert wait_until(lambda: "first" in inst.ctl("archive", "ls", "demo").stdout)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"],
                   b"From: alice@example.org\r\nSubject: second\r\n\r\nThe held post.\r\n")
    assert wait_until(lambda: inst.ctl("mod", "ls", "demo").stdout.strip())
    held_id = inst.ctl("mod", "ls", "demo").stdout.split()[0]
    return inst, held_id


READING = [("check",), ("status",), ("list", "ls"), ("list", "show", "demo"),
           ("member", "ls", "demo"), ("mod", "ls", "demo"), ("mod", "queue", "demo"),
           ("archive", "ls", "demo"), ("archive", "export", "demo"), ("audit", "demo"),
           ("audit", "demo", "--verify"), ("keys", "demo"), ("keys", "demo", "--export"),
           ("--json", "status"), ("--json", "member", "ls", "demo"), ("--json", "keys", "demo")]


def test_reading_verbs_read_the_database_and_write_nothing(busy, tmp_path):
    inst, held_id = busy
    for running in (True, False):
        if not running:
            inst.stop()
        for args in READING + [("mod", "show", "demo", held_id)]:
            r, wrote = traced(inst, tmp_path, *args)
            assert r.returncode == 0, (args, r.stderr)
            assert r.stdout.strip(), (args, "printed nothing")
            assert wrote == [], (args, running, wrote)
    inst.start()
    assert "The archived post." in inst.ctl("archive", "export", "demo").stdout


def test_every_changing_verb_is_the_daemons(busy, tmp_path):
    inst, held_id = busy
    inst.stop()
    covered = {" ".join(a[0:2]) if a[0] in ("list", "member", "mod", "archive") else a[0]
               for a in READING}
    checked = []
    for words, grammar in verbs():
        if words in EXCEPTED or words in covered or words in NO_DAEMON_OK:
            continue
        args = words.split() + dummy(grammar, held_id)
        r, wrote = traced(inst, tmp_path, *args, calls=BEHIND)
        assert wrote == [], (args, wrote)
        assert r.returncode == 1 and "the daemon is not running" in r.stderr, \
            (args, r.returncode, r.stdout, r.stderr)
        # "says so in one line" (#13, item 1): nothing more on stderr, nothing on stdout
        assert len(r.stderr.strip().splitlines()) == 1 and not r.stdout.strip(), \
            (args, r.stdout, r.stderr)
        checked.append(words)
    # the changes the suite leans on are among them, and nothing happened
    assert {"mod approve", "member add", "member set", "list set", "keys rotate", "unmask"} <= \
        set(checked), checked
    inst.start()
    assert held_id in inst.ctl("mod", "ls", "demo").stdout


def test_changing_verbs_while_it_runs_are_requests_on_the_socket(busy, tmp_path):
    """with the daemon running, mlistctl still writes nothing itself: it connects to STATE/control,
    and the change is there once the answer is in"""
    inst, held_id = busy
    control = os.path.join(inst.root, "state", "control")
    for args, done in ((("member", "add", "demo", "dave@example.org"),
                        lambda: "dave@example.org" in inst.ctl("member", "ls", "demo").stdout),
                       (("mod", "approve", "demo", held_id),
                        lambda: held_id not in inst.ctl("mod", "ls", "demo").stdout)):
        r, wrote = traced(inst, tmp_path, *args, calls=BEHIND + ",connect")
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert done(), (args, r.stdout)
        assert wrote == [], (args, wrote)
        calls = open(tmp_path / "trace").read()
        assert re.search(r"connect\(\d+<[^>]*>, \{sa_family=AF_UNIX, sun_path=\"%s\"" %
                         re.escape(control), calls), (args, calls[-2000:])


def test_help_names_every_verb_that_works_without_the_daemon():
    """what the daemon's absence does not stop is said in --help (#13, item 1)"""
    out = subprocess.run([MLISTCTL, "--help"], capture_output=True, text=True).stdout
    said = " ".join(out.split("work without it:", 1)[1].split("None of them", 1)[0].split())
    # unlock gives the running daemon its passphrase: it needs the daemon
    for verb in sorted((EXCEPTED | NO_DAEMON_OK) - {"unlock"}):
        first, _, second = verb.partition(" ")
        pattern = r"\b%s\b" % first + (r" [a-z/-]*\b%s\b" % second if second else "")
        assert re.search(pattern, said), (verb, said)
    known = {w for w, _ in verbs()}
    assert (EXCEPTED | NO_DAEMON_OK) <= known, (EXCEPTED | NO_DAEMON_OK) - known
