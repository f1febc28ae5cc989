"""tools/check-conflicts, which `make test` runs before the tests: the tree holds no merge-conflict
marker, and markers are found (file and line) where a merge left them, in any text file; the build
directory and git's own are not read."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "check-conflicts"


def run(tree):
    return subprocess.run(["sh", str(TOOL), str(tree)], capture_output=True, text=True)


def test_the_tree_has_no_conflict_markers():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout
    assert r.stdout == "conflicts: no markers\n"


def test_markers_are_found(tmp_path):
    (tmp_path / "mlistd").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "README.md").write_text("a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> text13b\n")
    (tmp_path / "mlistd/x.c").write_text("int x;\n>>>>>>>\n")
    (tmp_path / "build/y.c").write_text("<<<<<<< HEAD\n")          # not read
    (tmp_path / "mlistd/z.c").write_text('/* "<<<<<<<" in a comment */\n')  # not at a line's start
    r = run(tmp_path)
    assert r.returncode == 1, r.stdout
    found = sorted(ln.split(":", 2)[:2] for ln in r.stdout.splitlines()[:-1])
    assert found == [["./README.md", "2"], ["./README.md", "6"], ["./mlistd/x.c", "2"]], r.stdout
    assert r.stdout.splitlines()[-1] == "conflicts: 3 marker line(s): finish the merge"
