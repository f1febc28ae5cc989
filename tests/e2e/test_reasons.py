"""The reasons inside a notice are codes worded by pieces (#13 item 8): a list that rewords a
reason's piece ([why-sig-...] in templates_dir/notices/LIST/pieces) is what the member reads in
the notice's {why}; the code stays in the log (reason=) for the administrator."""
import email
import email.policy
import os
import smtplib
import subprocess
import time

from conftest import MLISTCTL

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def body(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return m.get_body(("plain",)).get_content()


def to(sink, rcpt):
    return [m[2] for m in sink.handler.messages if rcpt in m[1]]


def send(inst, raw, sender):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, ["demo@lists.example"], raw)


def signed_post(key, lst):
    post = (f"From: alice@example.org\nTo: demo@lists.example\nSubject: signed elsewhere\n"
            f"Date: Sun, 22 Nov 2026 10:00:00 +0000\nMessage-ID: <{time.time()}@example.org>\n\n"
            f"Signed for another list.\n")
    r = subprocess.run([MLIST, "sign", "--list", lst, "--key", str(key)], input=post.encode(),
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_list_rewords_the_signature_reasons(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"post_auth": "signature"}, start=False)
    write(os.path.join(inst.root, "templates", "notices", "demo", "pieces"),
          "[why-sig-unsigned]\nDie Nachricht trägt keine Autorensignatur.\n"
          "[why-sig-other-list]\nSie wurde für eine andere Liste signiert ({other}).\n")
    inst.start()
    send(inst, b"From: bob@example.org\r\nSubject: plain\r\n\r\nunsigned\r\n", "bob@example.org")
    assert inst.wait_log("reason=unsigned")
    got = sink.wait_for(1)
    assert [r for r, _ in sink.handler.copies()] == ["bob@example.org"]
    text = body(to(sink, "bob@example.org")[0])
    assert "only posts signed with a member's own key" in text, text
    assert "Die Nachricht trägt keine Autorensignatur." in text, text
    assert "carries no author signature" not in text
    # a signature made for another list: the code's piece with the list id filled in
    key = tmp_path / "alice.key"
    r = subprocess.run([MLIST, "keygen", "--out", str(key)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    inst.ctl("member", "set", "demo", "alice@example.org", "key", r.stdout.split()[0])
    send(inst, signed_post(key, "other@lists.example"), "alice@example.org")
    assert inst.wait_log("reason=bad-signature")
    got = sink.wait_for(2)
    assert got
    text = body(to(sink, "alice@example.org")[0])
    assert "Sie wurde für eine andere Liste signiert (other.lists.example)." in text, text
    assert "signed for another list" not in text.lower()
