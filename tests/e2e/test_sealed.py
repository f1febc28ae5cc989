"""Sealed fields bound to their place (#19): a blob copied, with sqlite3 from the outside, from
one column or row into another does not open there - mlistctl says so and shows nothing of it."""
import sqlite3

from conftest import Instance

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
