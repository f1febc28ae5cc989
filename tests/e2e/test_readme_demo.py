"""README's first example (issue #13, item 11) works on a real copy: the shell line that reads
the private-reply handle out of bob's copy of a pseudonymous post, taken from the README as it
is, gives the one address the copy names. (A pseudonymous copy is signed PGP/MIME and repeats
its header inside the signed part: without `head -1` the line gave that address twice, and the
README's next command, swaks, sent a bare LF and was refused.)"""
import os
import re
import subprocess

from conftest import wait_until
from test_architecture import make_list, send, to  # noqa: F401 (make_list: a fixture)

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def readme_line(start):
    """the README's shell line that begins with start"""
    lines = [ln.strip() for ln in open(README) if ln.strip().startswith(start)]
    assert len(lines) == 1, (start, lines)
    return lines[0]


def test_readme_reads_one_private_reply_handle_from_a_pseudonymous_copy(make_list, sink,
                                                                       tmp_path):
    inst = make_list({"identity.mode": "pseudonym"},
                     members=("alice@example.org", "bob@example.org"))
    send(inst, b"From: alice@example.org\r\nSubject: hello\r\n\r\nFirst post.\r\n",
         "alice@example.org")
    got = wait_until(lambda: to(sink, "bob@example.org", b"First post."))
    assert got, inst.logtext()
    named = set(re.findall(rb"(?m)^Mlist-Private-Reply: <mailto:([^>]+)>", got[0]))
    assert len(named) == 1, got[0][:3000]
    copy = tmp_path / "copy.eml"
    copy.write_bytes(got[0])
    line = readme_line("H=$(last bob@example.org")
    script = 'last() { cat "$COPY"; }\n%s\nprintf "%%s" "$H"\n' % line
    r = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                       env=dict(os.environ, COPY=str(copy)), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == named.pop().decode(), repr(r.stdout)
