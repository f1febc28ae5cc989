"""A member's whole life by mail: subscribe, confirm, post, digest, key, sealed posts, unsubscribe."""
import email
import email.policy
import json
import os
import re
import smtplib
import subprocess
import time

import dkim
import pytest

from conftest import MLISTCTL, send_unauthenticated, wait_until
from pgphelp import ENCRYPTED, Member, to_list
from test_openpgp import Gpg

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")
NEW = "newbie@example.net"


def send(inst, raw, sender, rcpt="demo-request@lists.example", forged=False):
    if forged:
        send_unauthenticated(inst.port, sender, [rcpt], raw)
        return
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def answer(inst, sink, sender, body, marker, n=1, envelope=None):
    """Send commands to -request; wait for the n-th answer carrying marker."""
    send(inst, f"From: {sender}\r\nSubject: commands\r\n\r\n{body}\r\n".encode(), envelope or sender)
    got = wait_until(lambda: len(to(sink, sender, marker)) >= n and to(sink, sender, marker))
    assert got, inst.logtext()
    return got[-1]


def confirm_by_reply(inst, sink, who, ans, n_done):
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", ans).group(1).decode()
    send(inst, f"From: {who}\r\nSubject: Re: Your request\r\n\r\nyes\r\n".encode(), who,
         rcpt=f"demo-confirm+{token}@lists.example")
    return wait_until(lambda: len(to(sink, who, b"Your request to the list: done")) >= n_done and
                      to(sink, who, b"Your request to the list: done"))[-1]


def keygen(tmp_path, name):
    key = tmp_path / name
    r = subprocess.run([MLIST, "keygen", "--out", str(key)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ed, x = r.stdout.split()
    assert x.startswith("x25519:")
    return key, ed, x


def dkim_ok(inst, raw):
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: recs.get(name.decode().split(".")[0], "").encode())


def members(inst):
    return [m["address"] for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)]


def test_whole_life_by_mail(make_instance, sink, tmp_path):
    inst = make_instance()
    # subscribe, with an introduction; nothing happens until the mailbox confirms
    ans = answer(inst, sink, NEW, "subscribe\r\nI organise the tenants' union on Elm Street.", b"join the list")
    assert NEW not in members(inst)
    done = confirm_by_reply(inst, sink, NEW, ans, 1)
    assert b"welcome to demo@lists.example" in done
    assert NEW in members(inst)
    # post
    send(inst, f"From: {NEW}\r\nSubject: hello from the union\r\n\r\nFirst post.\r\n".encode(), NEW,
         rcpt="demo@lists.example")
    assert wait_until(lambda: to(sink, "bob@example.org", b"First post."))
    # digest: posts wait, then come as one multipart/digest whose parts still verify
    ans = answer(inst, sink, NEW, "set digest on", b"make these changes")
    confirm_by_reply(inst, sink, NEW, ans, 2)
    for n in range(2):
        # one after the other: two posts in one second may be handled in either order (queue ids
        # order by the second), and the digest below is read in the order they were handled
        send(inst, f"From: bob@example.org\r\nSubject: item {n}\r\n\r\nDigest item {n}.\r\n".encode(),
             "bob@example.org", rcpt="demo@lists.example")
        assert wait_until(lambda: len(to(sink, "carol@example.org", b"Digest item")) == n + 1)
    time.sleep(0.5)
    assert to(sink, NEW, b"Digest item") == []
    inst.ctl("digest", "send", "demo")
    digest = wait_until(lambda: to(sink, NEW, b"multipart/digest"))
    assert digest, inst.logtext()
    assert dkim_ok(inst, digest[0])
    m = email.message_from_bytes(digest[0], policy=email.policy.default)
    # every post since the list's last digest (here: since the first post)
    assert "demo digest, issue 1 (3 posts)" in m["Subject"]
    posts = [p for p in m.walk() if p.get_content_type() == "message/rfc822"]
    assert len(posts) == 3
    # each part, cut from the raw digest, is the post byte for byte as the list sent it
    inner_b = re.search(rb'multipart/digest; boundary="([^"]+)"', digest[0]).group(1)
    parts = digest[0].split(b"\r\n--" + inner_b)
    inner = parts[2][len(b"\r\n\r\n"):]
    assert inner in b"".join(to(sink, "carol@example.org", b"Digest item 0."))
    assert b"Digest item 0." in inner
    (tmp_path / "item.eml").write_bytes(inner)
    rec = tmp_path / "rec"
    rec.write_text(inst.ctl("keys", "demo").stdout)
    r = subprocess.run([MLIST, "verify", str(tmp_path / "item.eml"), "--dns-record", str(rec)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    # an OpenPGP key (registered by the operator here; by mail: the `key` verb, #17 in): from now
    # on every copy to the member is PGP/MIME encrypted to it
    ans = answer(inst, sink, NEW, "set digest off", b"make these changes", n=2)
    confirm_by_reply(inst, sink, NEW, ans, 3)
    key = Member(inst, tmp_path, NEW)
    send(inst, b"From: bob@example.org\r\nSubject: secret plans\r\n\r\nMeet at the depot.\r\n", "bob@example.org",
         rcpt="demo@lists.example")
    sealed = wait_until(lambda: to(sink, NEW, ENCRYPTED))
    assert sealed, inst.logtext()
    assert b"Meet at the depot" not in sealed[0] and b"secret plans" not in sealed[0]
    plain = wait_until(lambda: to(sink, "carol@example.org", b"Meet at the depot."))[0]
    inner = key.open(sealed[0])
    assert inner is not None and b"Meet at the depot." in inner
    assert dkim_ok(inst, sealed[0])                    # the outer message is the list's, signed
    other = Gpg(tmp_path / "other", "Other")           # encrypted to the member alone
    assert other.gpg("--decrypt", "-", inp=sealed[0], check=False).returncode != 0
    # a post encrypted to the list's key: no mail server on the way reads it
    post = f"From: {NEW}\r\nSubject: sealed in\r\n\r\nNobody on the way read this.\r\n".encode()
    enc = to_list(inst, post)
    assert b"Nobody on the way" not in enc
    send(inst, enc, NEW, rcpt="demo@lists.example")
    assert wait_until(lambda: to(sink, "carol@example.org", b"Nobody on the way read this."))
    # leave: the answers come encrypted to the member's key too
    opened = lambda marker: [o for o in (key.open(m) for m in to(sink, NEW, ENCRYPTED)) if o and marker in o]
    send(inst, f"From: {NEW}\r\nSubject: commands\r\n\r\nunsubscribe\r\n".encode(), NEW)
    ans = wait_until(lambda: opened(b"leave the list"))
    assert ans, inst.logtext()
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", ans[-1]).group(1).decode()
    send(inst, f"From: {NEW}\r\nSubject: Re: Your request\r\n\r\nyes\r\n".encode(), NEW,
         rcpt=f"demo-confirm+{token}@lists.example")
    # (no longer a member: the last answer comes in clear)
    assert wait_until(lambda: to(sink, NEW, b"you have left") or opened(b"you have left")), inst.logtext()
    assert NEW not in members(inst)


def test_forged_commands_do_nothing(make_instance, sink):
    inst = make_instance()
    # someone else subscribes the victim, or unsubscribes bob: the mail goes to the victim's box
    # (the attacker forges the envelope sender too; the confirmation goes where it says, not to them)
    # (forgeries: no DKIM signature of the victim's domain, conftest.send_unauthenticated)
    send(inst, b"From: victim@example.net\r\nSubject: subscribe\r\n\r\n", "victim@example.net",
         forged=True)
    send(inst, b"From: bob@example.org\r\nSubject: unsubscribe\r\n\r\n", "bob@example.org",
         forged=True)
    assert wait_until(lambda: to(sink, "bob@example.org", b"leave the list"))
    assert wait_until(lambda: to(sink, "victim@example.net", b"join the list"))
    time.sleep(0.5)
    assert "bob@example.org" in members(inst) and "victim@example.net" not in members(inst)
    # a forged From with the attacker's own envelope only ever concerns the attacker's address
    send(inst, b"From: victim@example.net\r\nSubject: subscribe\r\n\r\n", "attacker@evil.example",
         forged=True)
    ans = wait_until(lambda: to(sink, "attacker@evil.example", b"join the list"))
    assert ans and b"victim" not in ans[0].split(b"\r\n\r\n", 1)[1]
    # a made-up token does nothing either
    send(inst, b"From: x@evil.example\r\nSubject: confirm " + b"0" * 40 + b"\r\n\r\n", "x@evil.example")
    assert inst.wait_log("commands=confirm")
    assert "x@evil.example" not in members(inst)


def test_outsider_learns_nothing(make_instance, sink):
    inst = make_instance()
    ans = answer(inst, sink, "outsider@evil.example", "who", b"not disclosed")
    assert b"bob@example.org" not in ans and b"members." not in ans
    # the same answer to "subscribe" whether or not the address is on the list
    a1 = answer(inst, sink, "bob@example.org", "subscribe", b"join the list")
    a2 = answer(inst, sink, "nobody@example.net", "subscribe", b"join the list")
    strip = lambda a: re.sub(rb"[0-9a-f]{40}|<[^>]*>|Date: .*|b=.*|bh=.*|t=\d+", b"", a.split(b"\r\n\r\n", 1)[1])
    assert strip(a1) == strip(a2)


def test_encryption_required(make_instance, sink, tmp_path):
    inst = make_instance(list_settings={"encryption": "required"})
    key = Member(inst, tmp_path, "carol@example.org")
    send(inst, b"From: bob@example.org\r\nSubject: clear\r\n\r\nIn clear.\r\n", "bob@example.org",
         rcpt="demo@lists.example")
    assert wait_until(lambda: to(sink, "bob@example.org", b"only posts encrypted"))
    send(inst, to_list(inst, b"From: bob@example.org\r\nSubject: s\r\n\r\nSealed words.\r\n"),
         "bob@example.org", rcpt="demo@lists.example")
    sealed = wait_until(lambda: to(sink, "carol@example.org", ENCRYPTED))
    assert sealed, inst.logtext()
    assert b"Sealed words." not in sealed[0] and b"Sealed words." in key.open(sealed[0])
    notes = wait_until(lambda: to(sink, "alice@example.org", b"could not receive in clear"))
    assert notes and b"Sealed words" not in notes[0]
    assert all(b"Sealed words" not in d for d in to(sink, "alice@example.org"))


def test_subscription_approve_needs_the_moderators_quorum(make_instance, sink):
    inst = make_instance(list_settings={"subscription": "approve"}, start=False)
    inst.ctl("member", "set", "demo", "carol@example.org", "role", "owner")
    inst.ctl("member", "set", "demo", "bob@example.org", "role", "moderator")
    inst.start()
    ans = answer(inst, sink, NEW, "subscribe\r\nI was at the March meeting; Bob knows me.", b"join the list")
    done = confirm_by_reply(inst, sink, NEW, ans, 1)
    assert b"gone to the list's moderators" in done
    asks = {m: wait_until(lambda m=m: to(sink, m, b"has applied to join demo")) for m in
            ("carol@example.org", "bob@example.org")}
    for m, got in asks.items():
        assert got and b"Bob knows me" in got[0] and NEW.encode() in got[0], inst.logtext()
    assert to(sink, "alice@example.org", b"has applied") == []
    # one moderator alone does not admit (leadership.quorum_admit = 2)
    tok = {m: re.search(rb"demo-confirm\+([0-9a-f]{40})@", got[0]).group(1).decode() for m, got in asks.items()}
    send(inst, b"From: carol@example.org\r\nSubject: Re\r\n\r\napprove\r\n", "carol@example.org",
         rcpt=f"demo-confirm+{tok['carol@example.org']}@lists.example")
    assert inst.wait_log("approvals=1 of 2")
    send(inst, b"From: carol@example.org\r\nSubject: Re\r\n\r\napprove\r\n", "carol@example.org",
         rcpt=f"demo-confirm+{tok['carol@example.org']}@lists.example")   # the same moderator twice: no second vote
    time.sleep(1)
    assert NEW not in members(inst)
    send(inst, b"From: bob@example.org\r\nSubject: Re\r\n\r\napprove\r\n", "bob@example.org",
         rcpt=f"demo-confirm+{tok['bob@example.org']}@lists.example")
    assert wait_until(lambda: NEW in members(inst)), inst.logtext()
    assert wait_until(lambda: to(sink, NEW, b"The moderators of demo@lists.example admitted you"))
    log = inst.ctl("audit", "demo").stdout
    assert "admit" in log and "2 moderators agreed" in log and NEW not in log
    # closing the list is a change of policy: with moderators it needs their quorum, or an emergency
    assert inst.ctl("list", "set", "demo", "subscription", "closed", check=False).returncode == 3
    inst.ctl("--emergency", "list", "set", "demo", "subscription", "closed")
    answer(inst, sink, "late@example.net", "subscribe", b"takes no new members")


def test_approve_on_a_pseudonymous_list_hides_the_applicant(make_instance, sink):
    inst = make_instance(list_settings={"subscription": "approve", "identity.mode": "pseudonym"}, start=False)
    inst.ctl("member", "set", "demo", "bob@example.org", "role", "moderator")
    inst.start()
    ans = answer(inst, sink, NEW, "subscribe Blue Heron\r\nA tenant organiser from the east side.",
                 b"join the list")
    confirm_by_reply(inst, sink, NEW, ans, 1)
    got = wait_until(lambda: to(sink, "bob@example.org", b"has applied to join demo"))
    assert got and b"east side" in got[0] and b"newbie" not in got[0]
    # one moderator: the quorum is all of them (1)
    t = re.search(rb"demo-confirm\+([0-9a-f]{40})@", got[0]).group(1).decode()
    send(inst, b"From: bob@example.org\r\nSubject: Re\r\n\r\napprove\r\n", "bob@example.org",
         rcpt=f"demo-confirm+{t}@lists.example")
    assert wait_until(lambda: to(sink, NEW, b"The moderators of demo@lists.example admitted you"))
    # admitted under the pseudonym they asked for in their application
    assert "Blue Heron" in [m.get("pseudonym") for m in
                            json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)]


def test_key_expiry_reminds_then_stops_using_the_key(make_instance, sink, tmp_path):
    import sqlite3
    inst = make_instance()
    who = "carol@example.org"
    g = Gpg(tmp_path / "carol", "Carol", expire="10d")
    r = inst.ctl("member", "set", "demo", who, "openpgp", g.export(tmp_path / "carol.asc"))
    assert r.returncode == 0, r.stderr
    # what carol reads: her copies decrypted (notices to a member with a key are encrypted too)
    dec = lambda m: g.gpg("--decrypt", "-", inp=m, check=False).stdout if ENCRYPTED in m else m
    seen = lambda marker: [d for d in (dec(m) for m in to(sink, who)) if marker in d]
    day = re.search(r"expires: (\d{4}-\d\d-\d\d)", r.stdout).group(1)
    # ten days ahead is inside the 14-day window: the reminder comes at once, once
    remind = wait_until(lambda: seen(b"Your encryption key expires soon"))
    assert remind and day.encode() in remind[0] and b"OpenPGP" in remind[0]
    send(inst, b"From: bob@example.org\r\nSubject: p1\r\n\r\nStill sealed.\r\n", "bob@example.org",
         rcpt="demo@lists.example")
    assert wait_until(lambda: seen(b"Still sealed.")), inst.logtext()
    assert not to(sink, who, b"Still sealed")
    assert len(seen(b"Your encryption key expires soon")) == 1
    # the day passes (the test moves the stated expiry instead of the clock)
    db = sqlite3.connect(os.path.join(inst.state, "mlistd.db"))
    db.execute("UPDATE members SET enc_expires = strftime('%s','now') - 1 WHERE enc_expires IS NOT NULL")
    db.commit()
    db.close()
    gone = wait_until(lambda: seen(b"Your encryption key has expired"))
    assert gone and b"posts reach you unencrypted" in gone[0]
    send(inst, b"From: bob@example.org\r\nSubject: p2\r\n\r\nNow in clear.\r\n", "bob@example.org",
         rcpt="demo@lists.example")
    assert wait_until(lambda: to(sink, who, b"Now in clear."))
    assert len(seen(b"Still sealed.")) == 1 and to(sink, who, b"Now in clear.")
    assert len(seen(b"Your encryption key has expired")) == 1
    # the operator's path: an expired key is refused with the reason; the retired X25519 path is gone
    old = Gpg(tmp_path / "old", "Old", expire="seconds=1")
    path = old.export(tmp_path / "old.asc")
    time.sleep(2)       # gpg cannot make a key that has already expired
    r = inst.ctl("member", "set", "demo", who, "openpgp", path, check=False)
    assert r.returncode == 1 and "expired" in r.stderr
    r = inst.ctl("member", "set", "demo", who, "enckey", "x25519:AAAA", check=False)
    assert r.returncode == 1 and "openpgp" in r.stderr
    r = inst.ctl("member", "set", "demo", who, "name", "Carol", "expires", "2030-01-01", check=False)
    assert r.returncode == 2


def http(port, method, path, body=b""):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body or None,
              headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {})
    r = c.getresponse()
    out = r.status, r.read().decode()
    c.close()
    return out


def test_one_click_unsubscribe(make_instance, sink):
    inst = make_instance(http=True, list_settings={"one_click_url": "https://lists.example/unsubscribe/"})
    send(inst, b"From: bob@example.org\r\nSubject: news\r\n\r\nOne-click news.\r\n", "bob@example.org",
         rcpt="demo@lists.example")
    copies = {w: wait_until(lambda w=w: to(sink, w, b"One-click news.")) for w in ("alice@example.org",
                                                                                  "carol@example.org")}
    tokens = {}
    for who, got in copies.items():
        assert got, inst.logtext()
        m = email.message_from_bytes(got[0], policy=email.policy.compat32)
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        lu = re.sub(r"\s+", " ", m["List-Unsubscribe"])
        link = re.fullmatch(r"<https://lists\.example/unsubscribe/demo/([0-9a-f]{32})>, "
                            r"<mailto:demo-unsubscribe\+([0-9a-f]{32})@lists\.example>", lu)
        assert link and link.group(1) == link.group(2), lu
        tokens[who] = link.group(1)
        # RFC 8058: both headers under a valid DKIM signature of the list's domain
        assert len(m.get_all("List-Unsubscribe")) == 1 and len(m.get_all("DKIM-Signature")) == 1
        h = re.search(r"h=([^;]+);", re.sub(r"\s+", "", m["DKIM-Signature"])).group(1).split(":")
        assert "list-unsubscribe" in h and "list-unsubscribe-post" in h
        assert dkim_ok(inst, got[0])
    assert tokens["alice@example.org"] != tokens["carol@example.org"]
    # the member's address is nowhere in the link
    assert b"carol" not in tokens["carol@example.org"].encode()
    port, carol = inst.http_port, tokens["carol@example.org"]
    # GET (what link scanners do) shows a button and changes nothing
    status, page = http(port, "GET", f"/unsubscribe/demo/{carol}")
    assert status == 200 and 'method="post"' in page
    assert http(port, "POST", f"/unsubscribe/demo/{carol}")[0] == 400          # no One-Click body
    assert http(port, "POST", "/unsubscribe/nolist/" + carol, b"List-Unsubscribe=One-Click")[0] == 404
    assert http(port, "PUT", f"/unsubscribe/demo/{carol}", b"x")[0] == 405
    forged = carol[:-1] + ("0" if carol[-1] != "0" else "1")
    status, text = http(port, "POST", f"/unsubscribe/demo/{forged}", b"List-Unsubscribe=One-Click")
    assert status == 200                                       # the same answer: no oracle for tokens
    assert inst.wait_log("one-click unsubscription with a token that names no member")
    assert "carol@example.org" in members(inst)
    # the real one: no confirmation, the member is gone and told
    status, text = http(port, "POST", f"/unsubscribe/demo/{carol}", b"List-Unsubscribe=One-Click")
    assert status == 200 and "you have left demo@lists.example" in text
    assert wait_until(lambda: "carol@example.org" not in members(inst))
    assert wait_until(lambda: to(sink, "carol@example.org", b"one-click unsubscribe link"))
    # the mailto: form of the same link works for clients that mail instead
    send(inst, b"From: alice@example.org\r\nSubject: unsubscribe\r\n\r\n\r\n", "alice@example.org",
         rcpt=f"demo-unsubscribe+{tokens['alice@example.org']}@lists.example")
    assert wait_until(lambda: "alice@example.org" not in members(inst))
    assert "bob@example.org" in members(inst)
    assert "carol" not in inst.logtext() and "alice@" not in inst.logtext()
