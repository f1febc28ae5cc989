"""The daemon's modules include one another without cycles (issue #13): tools/include-cycles
finds none in mlistd/, and it does find one where there is one."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "include-cycles"


def run(tree):
    return subprocess.run(["/usr/bin/python3", str(TOOL), str(tree)], capture_output=True, text=True)


def test_tool_finds_a_cycle(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.c").write_text('#include "a/x.h"\n#include "a/y.h"\n')
    (tmp_path / "a" / "x.h").write_text("")
    (tmp_path / "a" / "y.c").write_text('#include "a/x.h"\n')
    (tmp_path / "a" / "y.h").write_text("")
    r = run(tmp_path)
    assert r.returncode == 1
    assert "a/x -> a/y -> a/x" in r.stdout


def test_daemon_has_no_include_cycle():
    r = run(ROOT / "mlistd")
    assert r.returncode == 0, r.stdout
    assert r.stdout == ""
