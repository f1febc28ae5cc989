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


CHUNK = 8 << 20
HUGE = 4 << 30      # no heap of a worker is this large: a sanitizer's shadow (the ASan build)


def memory(pid, needles):
    """Which of needles lie in some readable mapping of pid: {needle: bool}, and the bytes read.
    PermissionError if the kernel says no. Read in chunks that overlap by a needle's length."""
    found, total, over = dict.fromkeys(needles, False), 0, max(map(len, needles)) - 1
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[0] != "r" or line.endswith(("[vvar]", "[vsyscall]")):
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            if hi - lo >= HUGE:
                continue
            prev = b""
            for at in range(lo, hi, CHUNK):
                try:
                    d = os.pread(fd, min(CHUNK, hi - at), at)
                except OSError as e:
                    if e.errno in (1, 13):     # EPERM, EACCES: the whole read is denied
                        raise PermissionError(e) from e
                    break                      # EIO: a mapping with nothing behind it
                total += len(d)
                seam = prev[len(prev) - over:] + d[:over]    # a needle across two chunks
                for n in needles:
                    found[n] = found[n] or n in d or n in seam
                prev = d
    finally:
        os.close(fd)
    return found, total


def readable(pid, needles):
    """memory(pid, needles); skipped (visibly) where this process may not read another's memory"""
    if os.geteuid() != 0:
        pytest.skip("reading a worker's memory needs root (CAP_SYS_PTRACE)")
    try:
        return memory(pid, needles)
    except (PermissionError, FileNotFoundError) as e:
        pytest.skip(f"the kernel denies reading /proc/{pid}/mem ({e}; Yama ptrace_scope?)")


def test_a_worker_holds_only_its_own_message(make_instance, sink, monkeypatch):
    monkeypatch.setenv("MLISTD_TEST_WORKER_SPIN", SPIN)
    monkeypatch.setattr(conftest, "MLISTD", os.path.join(conftest.BUILD, "tests", "mlistd-test-hooks"))
    inst = make_instance(extra="limits = { worker_seconds = 60; };")
    assert inst.wait_log("worker: zygote pid")
    zygote = zygote_of(inst)
    mark_a, mark_b = f"MARKA-{secrets.token_hex(12)}", f"MARKB-{secrets.token_hex(12)}"
    # the markers' random halves: a copy in any encoding of the text would hold them
    a, b = mark_a[6:].encode(), mark_b[6:].encode()
    readable(zygote, [a])
    # A's marker several times over (a line, a header), so that a stale copy would be likely found
    post(inst, f"first {mark_a}", "\r\n".join([f"The first post says {mark_a}."] * 40))
    copies = sink.wait_for(3)
    assert len(copies) == 3 and all(mark_a.encode() in d for _, d in copies), inst.logtext()[-1500:]
    # the queue manager read A (its heap may keep it): what a worker forked from it would inherit
    daemon_has_a = readable(inst.proc.pid, [a])[0][a]
    post(inst, f"second {SPIN}", f"The second post says {mark_b}.")
    workers = []
    assert wait_until(lambda: workers.extend(children(zygote)) or workers, timeout=10), \
        inst.logtext()[-1500:]
    # B's marker is in the spinning worker: the read sees a message's plaintext where it is
    seen = {}

    def has_b():
        for w in children(zygote):
            try:
                seen[w] = memory(w, [a, b])
            except (PermissionError, FileNotFoundError, ProcessLookupError):
                continue
        return any(f[b] for f, _ in seen.values())
    assert wait_until(has_b, timeout=20), f"B's marker in no worker of {seen}"
    for w, (f, n) in seen.items():
        assert n > 0 and not f[a], f"worker {w} holds another message's plaintext"
    zf, zn = readable(zygote, [a, b])
    assert zn > 0 and not zf[a] and not zf[b], zf
    print(f"worker bytes read: {[n for _, n in seen.values()]}, zygote: {zn}, "
          f"queue manager held A: {daemon_has_a}")
