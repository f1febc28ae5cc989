"""tools/check-sql (#13: "no SQL outside the store"), which `make test` runs before the tests: it
finds none in the tree, and it does find SQL where there is some (a statement in a string, or
split over two, a sqlite3 call or include, the store's store_int.h included), with the file and the
line, outside mlistd/mail/store*.[ch] only."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "check-sql"


def run(tree):
    return subprocess.run(["sh", str(TOOL), str(tree)], capture_output=True, text=True)


def test_the_tree_has_no_sql_outside_the_store():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout
    assert r.stdout == "sql: none outside mlistd/mail/store*.c\n"


def test_sql_outside_the_store_is_found(tmp_path):
    for d in ("mlistd/pipeline", "mlistd/mail", "tools"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "mlistd/pipeline/post.c").write_text(
        'int x;\nstatic const char *q = "SELECT addr FROM members WHERE list = ?1";\n')
    (tmp_path / "tools/mlistctl.c").write_text('#include <sqlite3.h>\n')
    (tmp_path / "mlistd/mail/audit.c").write_text('f("UPDATE audit SET seq = 1");\n')
    # a statement split over two literals, and the store's helpers used from outside
    (tmp_path / "mlistd/pipeline/relay.c").write_text('q = "SELECT addr "\n    "FROM members";\n')
    (tmp_path / "mlistd/mail/digest.c").write_text('#include "mail/store_int.h"\nst_prep(st, q);\n')
    # the store's own files may; PGP armour and prose are no SQL
    (tmp_path / "mlistd/mail/store_members.c").write_text('sqlite3_step(s); "DELETE FROM members"\n')
    (tmp_path / "mlistd/mail/armor.c").write_text('puts("-----BEGIN PGP MESSAGE-----"); /* select */\n')
    r = run(tmp_path)
    assert r.returncode == 1, r.stdout
    found = [ln.split(":", 2)[:2] for ln in r.stdout.splitlines()[:-1]]
    assert found == [["mlistd/mail/audit.c", "1"], ["mlistd/mail/digest.c", "1"],
                     ["mlistd/pipeline/post.c", "2"], ["mlistd/pipeline/relay.c", "1"],
                     ["tools/mlistctl.c", "1"]], r.stdout
    assert r.stdout.splitlines()[-1].startswith("sql: 5 line(s) of SQL outside mlistd/mail/store*.c")
