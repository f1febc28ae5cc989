"""The daemon's layout shows its architecture (issue #13, item 9): the modules include one
another without cycles (tools/include-cycles finds none in mlistd/, and it does find one where
there is one); every file opens with a comment saying what it does; README's Layout section
names every module of mlistd/ and every tool, and lists the post pipeline's stages as post.c
runs them."""
import pathlib
import re
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


def layout_text():
    """README's Layout section"""
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_every_daemon_file_opens_with_what_it_does():
    files = sorted(ROOT.glob("mlistd/**/*.[ch]")) + sorted(ROOT.glob("tools/*.c"))
    assert len(files) > 200
    bare = [str(f.relative_to(ROOT)) for f in files
            if not re.match(r"/\*\s*(\n \*\s*)?" + re.escape(f.name) + r" - \S",
                            f.read_text())]
    assert bare == [], "no header comment saying what the file does: %s" % bare


def folder_blocks():
    """README's Layout entries: {"mlistd/qmgr/": its lines, "tools/": ...}"""
    blocks, cur = {}, None
    for line in layout_text().splitlines():
        m = re.match(r"    ([a-z]+/(?:[a-z]+/)?)\s", line)
        if m:
            cur = m.group(1)
            blocks[cur] = ""
        elif not line.startswith("    "):
            cur = None
        if cur:
            blocks[cur] += line + "\n"
    return blocks


def test_readme_layout_names_every_module_and_tool():
    """each file is named in its own folder's entry ("plain" in delivery/'s words does not name
    qmgr/plain.c)"""
    blocks = folder_blocks()
    files = sorted(ROOT.glob("mlistd/*/*.c")) + sorted(p for p in (ROOT / "tools").iterdir())
    assert len(files) > 120 and "mlistd/qmgr/" in blocks and "tools/" in blocks, list(blocks)
    unnamed = []
    for f in files:
        text = blocks.get(str(f.parent.relative_to(ROOT)) + "/", "")
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9-]*", text))
        prefixes = re.findall(r"([A-Za-z_]+)\*", text)     # "openpgp*": every openpgp_X.c
        if f.name.removesuffix(".c") not in words and \
                not any(f.name.startswith(p) for p in prefixes):
            unnamed.append(str(f.relative_to(ROOT)))
    assert unnamed == [], "README's Layout does not name, in its folder's entry: %s" % unnamed


def test_readme_layout_lists_the_post_stages_as_post_c_runs_them():
    code = (ROOT / "mlistd" / "pipeline" / "post.c").read_text()
    # the stages are one X-macro list (POST_STAGES), expanded into the table
    table = code.split("#define POST_STAGES", 1)[1].split("\n\n", 1)[0]
    stages = re.findall(r'X\("([a-z-]+)",\s*post_', table)
    assert len(stages) >= 9 and stages[0] == "authenticate" and stages[-1] == "distribute"
    said = re.search(r"named stages: ([^)]*)\)", " ".join(layout_text().split()))
    assert said, "README's Layout does not list post.c's stages"
    assert [s.strip() for s in said.group(1).split(",")] == stages
