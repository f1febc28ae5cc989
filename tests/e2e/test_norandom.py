"""A failure to get randomness is fatal, never zeros (#15).

build/tests/norandom.so (tests/shim/norandom.c), preloaded into the real binaries, takes every
source libsodium has: getrandom(2) fails with ENOSYS (libc's call, the raw syscall libsodium
makes, getentropy) and /dev/urandom and /dev/random cannot be opened. mlistd, mlistctl and mlist
must then stop with exit 1 and a sentence saying why, and leave state_dir as it was: no queue
file, no database change. Before this, mlistctl init died of SIGABRT (134) leaving an empty
state directory, and mlistd restarted a queue manager that died of signal 6, once a second.
"""
import hashlib
import os
import subprocess

from conftest import BUILD, MLISTCTL, MLISTD

SHIM = os.path.join(BUILD, "tests", "norandom.so")
MLIST = os.path.join(BUILD, "bin", "mlist")
SAID = "no source of randomness (getrandom: Function not implemented; /dev/urandom: No such file"


def no_random(late=False):
    env = dict(os.environ, LD_PRELOAD=SHIM)
    # an ASan build's runtime must come first; the shim has no sanitizer of its own
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    if late:
        env["NORANDOM_LATE"] = "1"
    return env


def snapshot(root):
    """every path under root with its kind, size and content hash"""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs:
            out[os.path.relpath(os.path.join(d, n), root)] = "dir"
        for n in files:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def queue_files(state):
    q = os.path.join(state, "queue")
    return [os.path.join(d, n) for d, _, files in os.walk(q) for n in files]


def test_mlistctl_init_without_randomness_writes_nothing(tmp_path, make_instance):
    inst = make_instance(members=(), start=False)
    fresh = tmp_path / "fresh.conf"
    with open(inst.conf) as f:
        text = f.read()
    fresh.write_text(text.replace('state_dir = "state"', 'state_dir = "state2"'))
    r = subprocess.run([MLISTCTL, "-c", str(fresh), "init"], env=no_random(), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "mlistctl: " + SAID in r.stderr
    assert not os.path.exists(os.path.join(inst.root, "state2"))


def test_mlistd_without_randomness_stops_and_touches_nothing(make_instance):
    inst = make_instance(members=(), start=False)
    before = snapshot(inst.state)
    assert "mlistd.db" in before and "master.key" in before
    r = subprocess.run([MLISTD, "-c", inst.conf, "-f"], env=no_random(), capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert SAID in r.stderr
    assert "queue manager exited" not in r.stderr and "listening" not in r.stderr
    assert queue_files(inst.state) == []
    assert snapshot(inst.state) == before


def test_mlistd_losing_randomness_in_libsodium_stops_with_a_sentence(make_instance):
    """getrandom answers the daemon's own look but not libsodium: its abort becomes exit 1"""
    inst = make_instance(members=(), start=False)
    before = snapshot(inst.state)
    r = subprocess.run([MLISTD, "-c", inst.conf, "-f"], env=no_random(late=True),
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "mlistd: libsodium cannot go on (no randomness, or a misuse): stopping" in r.stderr
    assert queue_files(inst.state) == []
    assert snapshot(inst.state) == before


def test_mlistctl_and_mlist_without_randomness(make_instance):
    inst = make_instance(members=(), start=False)
    before = snapshot(inst.root)
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "list", "create", "other"], env=no_random(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "mlistctl: " + SAID in r.stderr
    assert snapshot(inst.root) == before
    r = subprocess.run([MLIST, "verify"], env=no_random(), capture_output=True, text=True,
                       timeout=60, input="")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "mlist: " + SAID in r.stderr
