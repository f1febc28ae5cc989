"""The parser's sandbox through the daemon: the worker runs from a zygote with no descriptor of the daemon's,
under seccomp, as another user; a post past limits.worker_seconds is quarantined, its sender told, and the
next post goes out.

The slow post uses a test-only trigger: MLISTD_TEST_WORKER_SPIN=WORD in the daemon's environment makes the
confined worker spin on a message containing WORD (see worker.c), compiled only into the build's
tests/mlistd-test-hooks, which that test runs instead of bin/mlistd."""
import os
import smtplib
import subprocess

import conftest
from conftest import wait_until

SPIN = "mlistd-test-spin-9f3c"


def post(inst, sender, subject, body="Solidarity forever.\r\n"):
    msg = (f"From: {sender}\r\nTo: demo@lists.example\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example.org")
        s.mail(sender)
        s.rcpt("demo@lists.example")
        code, reply = s.data(msg)
    assert code == 250, reply
    return reply.decode().rsplit(" ", 1)[-1]


def children(pid):
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def status(pid):
    try:
        text = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def fds(pid):
    try:
        return sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, PermissionError):
        return None


def zygote_of(inst):
    """The daemon's child that says it is the zygote in the start-up line."""
    line = [l for l in inst.logtext().splitlines() if "worker: zygote pid" in l][0]
    return int(line.split("zygote pid ")[1].split(";")[0])


def test_cpu_budget_quarantines_and_the_list_goes_on(make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    monkeypatch.setattr(conftest, "MLISTD", os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks"))
    inst = make_instance(extra="limits = { worker_seconds = 1; };")
    assert inst.wait_log("worker: zygote pid")
    log = inst.logtext()
    assert "seccomp=on" in log and "cpu=1s" in log
    zygote = zygote_of(inst)
    # the zygote holds no descriptor of the daemon's (database, spool, listeners): stdio and its socket
    assert fds(zygote) is not None and len(fds(zygote)) == 4, fds(zygote)
    assert status(zygote)["Uid"].split()[0] != "0"

    qid = post(inst, "alice@example.org", f"slow {SPIN}")
    # while it spins, the worker is confined: seccomp filter, no new privileges, no descriptor but its socket
    seen = {}

    def worker_seen():
        for w in children(zygote):
            st = status(w)
            if st:
                seen.update(st, fds=fds(w))
                return True
        return False
    if wait_until(worker_seen, timeout=3):
        assert seen["Seccomp"].strip() == "2" and seen["NoNewPrivs"].strip() == "1"
        assert seen["Uid"].split()[0] != "0"
        assert seen["fds"] is None or len(seen["fds"]) <= 4, seen["fds"]
    assert inst.wait_log(f"{qid} qmgr: list=demo kind=post reason=unparseable", timeout=20)
    assert "timed out" in inst.logtext()
    assert wait_until(lambda: os.path.exists(os.path.join(inst.state, "queue", "corrupt", qid)))
    # the sender is told in plain words; no member got the post
    copies = sink.wait_for(1)
    assert [r for r, _ in copies] == ["alice@example.org"]
    assert b"could not be processed" in copies[0][1]
    assert b"took more than 1 s" in copies[0][1]
    assert SPIN.encode() not in copies[0][1].split(b"\r\n\r\n", 1)[1]
    # the next post is distributed, by the same daemon and the same zygote
    post(inst, "bob@example.org", "an ordinary post")
    copies = sink.wait_for(4)
    assert sorted(r for r, _ in copies[1:]) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert all(b"an ordinary post" in d for _, d in copies[1:])
    assert inst.proc.poll() is None and status(zygote)


def gone(pid):
    """The process has ended (a zombie nobody reaps counts: it runs nothing)."""
    st = status(pid)
    return not st or st.get("State", "").strip().startswith(("Z", "X"))


def test_a_worker_dies_with_its_zygote(make_instance, sink, monkeypatch):
    """PR_SET_PDEATHSIG: a parser left running when its zygote dies is killed, not orphaned
    (it would go on parsing hostile mail with no one to bound it). No test showed it (#15 audit)."""
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    monkeypatch.setattr(conftest, "MLISTD", os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks"))
    inst = make_instance(extra="limits = { worker_seconds = 60; };")
    assert inst.wait_log("worker: zygote pid")
    zygote = zygote_of(inst)
    post(inst, "alice@example.org", f"slow {SPIN}")
    workers = []
    assert wait_until(lambda: workers.extend(children(zygote)) or workers, timeout=10)
    worker = workers[0]
    assert not gone(worker)
    os.kill(zygote, 9)
    assert wait_until(lambda: gone(worker), timeout=5), status(worker)
