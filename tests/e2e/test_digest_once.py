"""A big post's bytes go through the database once, not twice (#15).

Every distributed post is archived (sealed into its archive row) and queued for the
digest. The digest's queue held a second sealed copy of the same bytes, and the queue
manager's loop paid for both in the pass's commit: a 2-6 MB post wrote 4-12 MB to
SQLite's WAL while a normal post to another list waited behind it. An archived post now
waits for the digest as its archive row. What a digest member receives is unchanged.
"""
import re
import signal


from conftest import wait_until
from test_distribution import post
from test_loop_costs import qmgr_pid, traced


MARK = "Strike fund ledger, page %d"


def big_body(kb):
    """a body of about kb KB, each line distinct (nothing to compress away)"""
    lines = [(MARK % i).ljust(76, ".") for i in range(kb * 1024 // 78)]
    return "\r\n".join(lines) + "\r\n"


def wal_bytes(trace):
    """bytes the traced process wrote to the database's write-ahead log"""
    total = 0
    for ln in open(trace).read().splitlines():
        m = re.search(r"pwrite64\(\d+<[^>]*-wal>, .*\) = (\d+)$", ln)
        if m:
            total += int(m.group(1))
    return total


def test_a_big_post_is_committed_once(make_instance, sink, tmp_path):
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    inst.ctl("member", "set", "demo", "bob@example.org", "digest", "on")
    post(inst, subject="warm up", body="First, small.\r\n")
    assert sink.wait_for(1), "the first post was not delivered"
    out = str(tmp_path / "strace.out")
    tr = traced(inst, out, "pwrite64")     # its threads, before the post
    body = big_body(1024)
    size = len(body)
    post(inst, subject="the ledger", body=body)
    assert sink.wait_for(2, timeout=40) and len(sink.handler.copies()) >= 2, \
        "the big post was not delivered"
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    wal = wal_bytes(out)
    # the archive row is in the WAL once: the trace saw the commit
    assert wal > 0.9 * size, f"{wal} bytes to the WAL for a {size}-byte post"
    # and only once: before, the digest's own sealed copy doubled it
    assert wal < 1.5 * size, f"{wal} bytes to the WAL for a {size}-byte post"
    # the digest member still gets the post, whole (the big post alone makes the digest due:
    # it may have gone before this asks for it)
    inst.ctl("digest", "send", "demo")
    assert inst.wait_log("digest posts=2 rcpts=1")

    def digests():
        return [d for _, r, d in sink.handler.messages
                if "bob@example.org" in r and b"multipart/digest" in d]
    assert wait_until(digests, 20), "no digest was delivered to the digest member"
    text = digests()[-1].decode("utf-8", "replace")
    assert (MARK % 0) in text and (MARK % (size // 78 - 1)) in text
    assert "the ledger" in text and "First, small." in text


def test_the_checkpoint_is_not_made_in_the_loop(make_instance, sink, tmp_path):
    """The loop checkpointed the write-ahead log itself when idle: a big post's frames copied
    into the database and the database fsync'ed (up to 290 ms at load 13-15), while the next
    message waited. A thread of its own does it now; the loop's thread only asks."""
    inst = make_instance(members=("alice@example.org", "bob@example.org"))
    post(inst, subject="warm up", body="First, small.\r\n")
    assert sink.wait_for(1), "the first post was not delivered"
    pid = qmgr_pid(inst)
    out = str(tmp_path / "strace.out")
    tr = traced(inst, out, "fsync,fdatasync")
    post(inst, subject="the ledger", body=big_body(2048))
    assert sink.wait_for(2, timeout=40) and len(sink.handler.copies()) >= 2, \
        "the big post was not delivered"
    db = re.compile(r"^(\d+) +f(?:data)?sync\(\d+<[^>]*/mlistd\.db>\)")

    def synced():
        return [int(m.group(1)) for m in map(db.match, open(out).read().splitlines()) if m]
    # the 2 MB post's frames are more than the idle threshold: copied once the loop is idle
    assert wait_until(lambda: synced(), 20), "the database was never checkpointed"
    tr.send_signal(signal.SIGINT)
    tr.wait(10)
    assert pid not in synced(), "the queue manager's loop checkpointed the database itself"
