"""Build hygiene (issue #13, item 10), asked of make without building anything (make -n):
an object depends on the headers it includes and on nothing else (-MMD), and a library that
pkg-config cannot find stops the build with pkg-config's own words, not a compile without its
flags."""
import os
import pathlib
import re
import subprocess

from conftest import BUILD

ROOT = pathlib.Path(__file__).resolve().parents[2]


def compiled_if(*make_args):
    """the sources make -n would compile (the build's second make, packages assumed in place)"""
    r = subprocess.run(["make", "-n", "MLISTD_DEPS_DONE=1", "BUILD=" + os.path.abspath(BUILD),
                        *make_args, "all"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"CC\s+(\S+\.c)", r.stdout))


def test_a_header_rebuilds_only_the_objects_that_include_it():
    header = "mlistd/util/hex.h"
    users = set()
    for d in pathlib.Path(BUILD, "mlistd").glob("*/*.d"):
        if re.search(r"(^|[\s/])" + re.escape(header) + r"\b", d.read_text()):
            users.add(str(d.relative_to(BUILD).with_suffix(".c")))
    assert users and len(users) < 40, users       # a few of ~130 objects
    before = compiled_if()
    after = compiled_if("-W", header)
    assert users - before <= after, (users, after)
    assert after - before <= users, "rebuilt without including %s: %s" % (header, after - before - users)


def test_a_missing_library_is_reported_by_pkg_config():
    r = subprocess.run(["make", "-n", "MLISTD_DEPS_DONE=1", "PKGS=libsodium mlistd-no-such-lib",
                        "all"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "mlistd-no-such-lib" in r.stderr and "pkg-config" in r.stderr, r.stderr
    assert "tools/install-deps" in r.stderr
