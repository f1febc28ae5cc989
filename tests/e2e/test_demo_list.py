"""The shipped demo lists are what README's "Try it" shows (issue #13, item 11): `make run`'s
demo list, conf/lists/demo.conf as it is in the tree, is pseudonymous with hidden leadership, so a
newcomer's first post arrives as "NAME via demo" naming nobody's address, and `who` answers with
pseudonyms only, nothing marking the moderator; its neighbour conf/lists/classic.conf stays a
real-name list. The members are those tools/demo-instance adds."""
import email
import email.policy
import os
import shutil

from conftest import Instance, wait_until
from test_architecture import send, to

CONF_LISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "lists")
PEOPLE = {"alice@example.org": "Old Mole", "bob@example.org": "Red Kite",
          "carol@example.org": "Night Owl"}


def shipped(tmp_path, sink):
    """a running instance with the two shipped lists, their files copied as templates, and the
    demo's three members (carol its hidden moderator)"""
    inst = Instance(str(tmp_path / "i"), sink)
    for name in ("demo", "classic"):
        shutil.copy(os.path.join(CONF_LISTS, name + ".conf"),
                    os.path.join(inst.root, "templates", "shipped-" + name + ".conf"))
        inst.ctl("list", "create", name, "--template", "shipped-" + name)
    inst.start()
    for addr, name in PEOPLE.items():
        inst.ctl("member", "add", "demo", addr, "--pseudonym", name)
        inst.ctl("member", "add", "classic", addr)
    inst.ctl("member", "set", "demo", "carol@example.org", "role", "moderator")
    return inst


def text_of(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(("plain",))
    return part.get_content() if part else ""


def test_the_shipped_demo_list_is_pseudonymous_with_hidden_leadership(tmp_path, sink):
    inst = shipped(tmp_path, sink)
    try:
        send(inst, b"From: alice@example.org\r\nSubject: hello\r\n\r\nFirst post.\r\n",
             "alice@example.org")
        got = wait_until(lambda: to(sink, "bob@example.org", b"First post."))
        assert got, inst.logtext()
        frm = email.message_from_bytes(got[0])["From"]
        assert '"Old Mole via demo"' in frm, frm
        assert b"alice" not in got[0], got[0][:2000]
        # who: pseudonyms only, and nothing says which of them moderates
        send(inst, b"From: bob@example.org\r\nSubject: who\r\n\r\nwho\r\n", "bob@example.org",
             rcpt="demo-request@lists.example")
        ans = wait_until(lambda: [d for d in to(sink, "bob@example.org") if b"Old Mole" in d
                                  and b"First post." not in d])
        assert ans, inst.logtext()
        body = text_of(ans[0])
        assert "The list has 3 members." in body and "Old Mole" in body, body
        assert "@example.org" not in body, body
        for line in body.splitlines():
            assert not ("Night Owl" in line and "moderat" in line.lower()), body
        # the neighbour is the real-name list: the same post shows its author
        send(inst, b"From: alice@example.org\r\nSubject: hi\r\n\r\nClassic post.\r\n",
             "alice@example.org", rcpt="classic@lists.example")
        got = wait_until(lambda: to(sink, "bob@example.org", b"Classic post."))
        assert got, inst.logtext()
        assert "alice@example.org" in email.message_from_bytes(got[0])["From"]
    finally:
        inst.stop()
