"""Sealed fields bound to their place (#19): a blob copied, with sqlite3 from the outside, from
one column or row into another does not open there - mlistctl says so and shows nothing of it."""
import json
import os
import re
import sqlite3

from conftest import Instance, wait_until

ROSA = "rosa.luxemburg@spartakus.example"


def test_address_copied_into_the_pseudonym_column_is_an_error_not_a_pseudonym(tmp_path, sink):
    inst = Instance(str(tmp_path / "s"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    inst.ctl("member", "add", "demo", ROSA, "--pseudonym", "Night Owl")
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.stop()
    before = inst.ctl("member", "ls", "demo")
    assert "Night Owl" in before.stdout and ROSA not in before.stdout
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    with db:
        n = db.execute("UPDATE members SET pseudonym = addr WHERE pseudonym IS NOT NULL").rowcount
    db.close()
    assert n == 1
    r = inst.ctl("member", "ls", "demo", check=False)
    assert r.returncode == 1, r.stdout
    assert "does not open" in r.stderr and "moved" in r.stderr, r.stderr
    assert ROSA not in r.stdout + r.stderr and "rosa" not in r.stdout.lower()


def test_another_members_address_copied_into_a_row_does_not_open(tmp_path, sink):
    inst = Instance(str(tmp_path / "r"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("member", "add", "demo", ROSA)
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.stop()
    db = sqlite3.connect(f"{inst.state}/mlistd.db")
    with db:
        db.execute("UPDATE members SET addr = (SELECT addr FROM members ORDER BY id LIMIT 1) "
                   "WHERE id = (SELECT max(id) FROM members)")
    db.close()
    r = inst.ctl("member", "ls", "demo", check=False)
    assert r.returncode == 1 and "does not open" in r.stderr, (r.stdout, r.stderr)
    assert r.stdout.count(ROSA) <= 1


def state_bytes(inst):
    out = b""
    for root, _, names in os.walk(inst.state):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                out += f.read()
    return out


def test_unmask_request_keeps_the_pseudonym_sealed_and_members_by_short_id(tmp_path, sink):
    """An unmasking request names its pseudonym nowhere in clear on disk (the audit log and the
    request's detail carry a keyed reference; the name is in the sealed argument), while the
    moderators' mail and the operator's audit view still name it; the audit log names members by
    a keyed short id, not by the sequential numbers that count who joined."""
    inst = Instance(str(tmp_path / "u"), sink)
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    inst.ctl("member", "add", "demo", ROSA, "--pseudonym", "Night Owl")
    inst.ctl("member", "add", "demo", "m1@example.org")
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    r = inst.ctl("unmask", "demo", "Night Owl", check=False)
    assert r.returncode == 3 and "opened" in r.stdout, (r.returncode, r.stdout, r.stderr)
    asked = wait_until(lambda: [m for m in sink.handler.messages if "m1@example.org" in m[1]
                                and b"Night Owl" in m[2]], 30)
    assert asked, inst.logtext()[-2000:]                 # the moderator reads which pseudonym
    audit = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    details = " | ".join(e["detail"] for e in audit)
    assert 'the pseudonym "Night Owl"' in details, details     # the operator reads it by name
    assert "member #" not in details and re.search(r"member [0-9a-f]{10}", details), details
    inst.stop()
    disk = state_bytes(inst)
    assert b"Night Owl".lower() not in disk.lower(), "the pseudonym is in clear in the state dir"
    assert b"the pseudonym" not in disk
    assert b"pseudonym " in disk                          # the reference is what is stored
