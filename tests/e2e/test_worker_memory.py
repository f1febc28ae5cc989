"""test_worker_memory - a parser worker holds no other message's plaintext (#15): workers fork from a
zygote made before any mail was read (pipeline/worker.c), never from the queue manager, whose heap has
held every message. Post A carries a random marker and is delivered; post B makes the worker spin
while it holds B (the test build's MLISTD_TEST_WORKER_SPIN trigger, as in test_sandbox.py). Its memory,
read as root through /proc/PID/maps and /proc/PID/mem, holds B's marker (the read works) and not A's;
the zygote's holds neither. Skipped, visibly, where the kernel denies the read (not root, Yama's
ptrace_scope 3, no /proc/PID/mem)."""
import os
import re
import secrets
import smtplib

import pytest

import conftest
from conftest import wait_until
from test_sandbox import SPIN, children, zygote_of


def post(inst, subject, body):
    msg = (f"From: alice@example.org\r\nTo: demo@lists.example\r\nSubject: {subject}\r\n"
           f"Message-ID: <{secrets.token_hex(8)}@example.org>\r\n\r\n{body}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], msg)


def memory(pid):
    """Every readable mapping of pid, as one bytes object; PermissionError if the kernel says no."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[0] != "r" or line.endswith(("[vvar]", "[vsyscall]")):
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            try:
                out.append(os.pread(fd, hi - lo, lo))
            except OSError as e:
                if e.errno in (1, 13):     # EPERM, EACCES: the whole read is denied
                    raise PermissionError(e) from e
                continue                   # EIO: a mapping with nothing behind it
    finally:
        os.close(fd)
    return b"".join(out)


def readable(pid):
    """Skip (visibly) where this process may not read another's memory."""
    if os.geteuid() != 0:
        pytest.skip("reading a worker's memory needs root (CAP_SYS_PTRACE)")
    try:
        return memory(pid)
    except (PermissionError, FileNotFoundError) as e:
        pytest.skip(f"the kernel denies reading /proc/{pid}/mem ({e}; Yama ptrace_scope?)")


def test_a_worker_holds_only_its_own_message(make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    monkeypatch.setattr(conftest, "MLISTD", os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks"))
    inst = make_instance(extra="limits = { worker_seconds = 60; };")
    assert inst.wait_log("worker: zygote pid")
    zygote = zygote_of(inst)
    readable(zygote)
    mark_a, mark_b = f"MARKA-{secrets.token_hex(12)}", f"MARKB-{secrets.token_hex(12)}"
    # A's marker several times over (a line, a header), so that a stale copy would be likely found
    post(inst, f"first {mark_a}", "\r\n".join([f"The first post says {mark_a}."] * 40))
    copies = sink.wait_for(3)
    assert len(copies) == 3 and all(mark_a.encode() in d for _, d in copies), inst.logtext()[-1500:]
    # the queue manager read A (its heap may keep it): what a worker forked from it would inherit
    daemon_has_a = mark_a.encode() in readable(inst.proc.pid)
    post(inst, f"second {SPIN}", f"The second post says {mark_b}.")
    workers = []
    assert wait_until(lambda: workers.extend(children(zygote)) or workers, timeout=10), \
        inst.logtext()[-1500:]
    # B's marker is in the spinning worker: the read sees a message's plaintext where it is
    mems = {}

    def has_b():
        for w in children(zygote):
            try:
                mems[w] = memory(w)
            except (PermissionError, FileNotFoundError, ProcessLookupError):
                continue
        return any(mark_b.encode() in m for m in mems.values())
    assert wait_until(has_b, timeout=10), f"B's marker in no worker of {sorted(mems)}"
    for w, mem in mems.items():
        assert mark_a.encode() not in mem, f"worker {w} holds another message's plaintext"
        assert mark_a[6:].encode() not in mem
    zmem = readable(zygote)
    assert len(zmem) > 0
    assert mark_a[6:].encode() not in zmem and mark_b[6:].encode() not in zmem
    print(f"worker bytes read: {[len(m) for m in mems.values()]}, zygote: {len(zmem)}, "
          f"queue manager held A: {daemon_has_a}")
