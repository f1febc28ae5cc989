"""Acceptance tests for issue #13: one owner for every action, one decision for every reader.

They drive the real mlistd and the real mlistctl as an administrator and the members would, and
check what a user sees: exit codes, stderr, the bytes the relay receives, the roster, the audit log.

The contract they hold the implementation to (decided by the lead):

- mlistctl exit codes: 0 done, 1 failed, 2 usage, 3 "request opened, waiting for the moderators'
  quorum". `unmask LIST PSEUDONYM` and `member ban LIST ADDR` on a list with enough moderators for
  a quorum exit 3; with an unknown list, pseudonym or address they exit 1 with one line on stderr.
- Every changing verb acts through the running daemon. With the daemon stopped a changing verb
  (`member add`, `mod approve`, `member ban`, ...) exits 1 with one line on stderr containing
  "not running"; `init`, `check` and `list create` work without a daemon.
- `mlistctl mod approve` of a held post on an `encryption = "required"` list: the member with a key
  receives the post encrypted (OpenPGP), the keyless member a notice, never the post's text.
- A digest on an `encryption = "required"` list: the keyless digest member gets a notice, never the
  digest in clear. With `archive.since_join`, a member who joined after post A and before post B
  gets a digest with B and without A.
- A held post on a list with 100 moderators reaches all 100; a post sent afterwards is delivered.
- A demoted moderator's token does nothing (the post stays held); a current moderator's approves
  (held once, in test_leadership.py::test_demoted_moderator_token_does_nothing, with an expelled
  moderator's and a quorum vote's tokens too).
- A removed member's one-click unsubscribe link cannot remove a member added after the removal.
- On `leadership.visibility = "hidden"` the `audit` answer a member gets by mail names no
  moderator's member number, and a pending unmask request's entry does not name the pseudonym.
- `mod discard` with `leadership.publish_rejections = true` is published to the members, as a
  rejection is.
- With `delivery.jitter_min/jitter_max` (or `delivery.batch`), a copy's `Date:` and its DKIM `t=` are
  the release time.
- `member set LIST ADDR digest on` while the daemon runs is applied once and audited once.

Set-up goes only through what works before the first start and keeps working after issue #13:
the list's settings are written into a list template (`list create --template`), the daemon is
started, and members, roles and keys are set while it runs. Every test asserts that something was
delivered or changed before it asserts what must not have been.
"""
import email
import email.policy
import email.utils
import json
import os
import re
import smtplib
import subprocess
import time

import pytest

from conftest import MLISTCTL, Instance, wait_until
from pgphelp import Member, to_list

MLIST = os.path.join(os.path.dirname(MLISTCTL), "mlist")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TEMPLATE = os.path.join(HERE, "..", "..", "conf", "templates", "default.conf")
EXIT_OPENED = 3          # "request opened, waiting for the moderators' quorum"


# --- set-up ---------------------------------------------------------------------------------

def conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)


def template_text(settings):
    """default.conf with settings ({"group.key" or "key": value}) put in: a list file written by
    hand, the way an administrator may before the first start."""
    with open(DEFAULT_TEMPLATE) as f:
        text = f.read()
    for path, value in settings.items():
        v = conf_value(value)
        if "." in path:
            group, key = path.split(".", 1)
            m = re.search(rf"(?ms)^{group} = \{{\n(.*?)^\}};", text)
            if not m:
                text += f"\n{group} = {{\n\t{key} = {v};\n}};\n"
                continue
            body = m.group(1)
            if re.search(rf"(?m)^\s*{key} = [^;]*;", body):
                body = re.sub(rf"(?m)^(\s*{key} = )[^;]*;", lambda mm: mm.group(1) + v + ";", body)
            else:
                body = f"\t{key} = {v};\n" + body
            text = text[:m.start(1)] + body + text[m.end(1):]
        elif re.search(rf"(?m)^{path} = [^;]*;", text):
            text = re.sub(rf"(?m)^({path} = )[^;]*;", lambda mm: mm.group(1) + v + ";", text)
        else:
            text += f"\n{path} = {v};\n"
    return text


@pytest.fixture
def make_list(tmp_path, sink):
    """A running instance with one list "demo": settings from a template, members added (one
    `member import`), then roles, pseudonyms and encryption keys set while the daemon runs."""
    made = []

    def make(settings=None, members=(), roles=None, pseudonyms=None, enckeys=None, http=False):
        inst = Instance(str(tmp_path / f"i{len(made)}"), sink, http=http)
        made.append(inst)
        with open(os.path.join(inst.root, "templates", "acctest.conf"), "w") as f:
            f.write(template_text(settings or {}))
        inst.ctl("list", "create", "demo", "--template", "acctest")
        inst.start()
        if members:
            path = os.path.join(inst.root, "members.txt")
            with open(path, "w") as f:
                f.write("".join(m + "\n" for m in members))
            inst.ctl("member", "import", "demo", path)
        for addr, role in (roles or {}).items():
            inst.ctl("member", "set", "demo", addr, "role", role)
        for addr, name in (pseudonyms or {}).items():
            inst.ctl("member", "set", "demo", addr, "pseudonym", name)
        for addr in (enckeys or ()):
            enckeys[addr] = Member(inst, tmp_path, addr)
        return inst

    yield make
    for inst in made:
        inst.stop()
    for inst in made:
        text = inst.logtext()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, f"{marker} in {inst.log}:\n{text[text.find(marker) - 200:][:3000]}"


# --- helpers --------------------------------------------------------------------------------

def send(inst, raw, sender, rcpt="demo@lists.example"):
    """One SMTP transaction; the queue id the daemon gave it."""
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example")
        s.mail(sender)
        code, reply = s.rcpt(rcpt)
        assert code == 250, reply
        code, reply = s.data(raw)
    assert code == 250, reply
    return re.search(rb"queued as ([0-9A-F]{24})", reply).group(1).decode()


def handled(inst, qid, timeout=20.0):
    """The queue manager has finished with the message qid (its result is in the log; the
    receiving side's own "smtpd: ... result=ok" line does not count)."""
    return wait_until(lambda: re.search(rf"(?m)^.*{qid} (?!smtpd:)[a-z-]+: .*result=", inst.logtext()), timeout)


def settled(inst):
    """Everything queued before now has been handled: a command mail to LIST-request@ goes through
    the same queue, one message after the other, so once its result is logged the earlier
    messages' work is committed."""
    qid = send(inst, b"From: barrier@example.net\r\nSubject: help\r\n\r\n", "barrier@example.net",
               rcpt="demo-request@lists.example")
    assert handled(inst, qid), inst.logtext()


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def members(inst):
    return {m.get("address"): m for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)}


def audit(inst):
    return json.loads(inst.ctl("--json", "audit", "demo").stdout)


def held(inst):
    return json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout)


def token(notice):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", notice).group(1).decode()


def one_line_error(r, code=1):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip() and "\n" not in r.stderr.strip(), r.stderr


def seal(inst, raw):
    """A post encrypted to the list's OpenPGP key, as an encryption = required list takes it."""
    return to_list(inst, raw)


def opened(key, raw):
    """What a member with key reads of a copy (None: not encrypted to this key)."""
    return key.open(raw)


def post_and_hold(inst, sink, sender, subject, body):
    send(inst, f"From: {sender}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode(), sender)
    got = wait_until(lambda: held(inst))
    assert got, inst.logtext()
    return got[-1]["id"]


# --- mlistctl: exit codes, and the daemon owns every change -------------------------------

ROSA = "rosa@spartakus.example"


def test_quorum_gate_exit_codes(make_list, sink):
    """3 when a request is opened for the moderators' quorum, 1 with one line when it fails."""
    inst = make_list({"identity.mode": "pseudonym", "leadership.quorum_roles": 4},
                     members=(ROSA, "bob@example.org", "m1@example.org", "m2@example.org", "m3@example.org"),
                     pseudonyms={ROSA: "Red Fly"})
    # no moderator yet: the unmasking cannot be asked of anyone - a failure, not a success
    r = inst.ctl("unmask", "demo", "Red Fly", check=False)
    one_line_error(r)
    for m in ("m1@example.org", "m2@example.org", "m3@example.org"):
        inst.ctl("member", "set", "demo", m, "role", "moderator")     # set-up: below quorum_roles
    roster = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)     # (numbers: pseudonymous list)
    assert sorted(m["role"] for m in roster) == ["member", "member", "moderator", "moderator", "moderator"]
    r = inst.ctl("unmask", "demo", "Red Fly", check=False)
    assert r.returncode == EXIT_OPENED, (r.returncode, r.stdout, r.stderr)
    assert "opened" in r.stdout and ROSA not in r.stdout + r.stderr
    r = inst.ctl("member", "ban", "demo", "bob@example.org", check=False)
    assert r.returncode == EXIT_OPENED, (r.returncode, r.stdout, r.stderr)
    assert "opened" in r.stdout
    assert len(json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)) == 5   # nothing done yet
    # failures: 1 and one line on stderr
    one_line_error(inst.ctl("unmask", "nolist", "Red Fly", check=False))
    one_line_error(inst.ctl("unmask", "demo", "Nobody Here", check=False))
    one_line_error(inst.ctl("member", "ban", "nolist", "bob@example.org", check=False))
    one_line_error(inst.ctl("member", "ban", "demo", "not-an-address", check=False))
    # usage stays 2
    assert inst.ctl("unmask", "demo", check=False).returncode == 2


@pytest.mark.parametrize("args", [
    ("member", "rm", "demo", "bob@example.org"),
    ("member", "set", "demo", "bob@example.org", "role", "moderator"),
    ("list", "set", "demo", "identity.mode", "anonymous"),
    ("member", "export", "demo"),
])
def test_every_quorum_verb_exits_3_when_it_opens_a_request(make_list, sink, args):
    """the six verbs behind the quorum gate (the issue: "unmask and five other verbs"): 3 and
    "opened", nothing done yet; the same verb on a list that does not exist: 1, one line"""
    inst = make_list({"identity.mode": "pseudonym"},
                     members=(ROSA, "bob@example.org", "m1@example.org", "m2@example.org"),
                     roles={m: "moderator" for m in ("m1@example.org", "m2@example.org")})
    before = inst.ctl("--json", "member", "ls", "demo").stdout
    r = inst.ctl(*args, check=False)
    assert r.returncode == EXIT_OPENED and "opened" in r.stdout, (r.returncode, r.stdout, r.stderr)
    assert "bob@" not in r.stdout and inst.ctl("--json", "member", "ls", "demo").stdout == before
    conf = open(os.path.join(inst.root, "lists", "demo.conf")).read()
    assert re.search(r'\bmode\s*=\s*"pseudonym"', conf), conf
    one_line_error(inst.ctl(*(args[:2] + ("nolist",) + args[3:]), check=False))


def test_changing_verbs_need_the_daemon(make_list, sink, tmp_path):
    inst = make_list({"posting": "moderated"}, members=("alice@example.org", "bob@example.org"))
    # while it runs, a changing verb does its work
    inst.ctl("member", "add", "demo", "carol@example.org")
    assert "carol@example.org" in members(inst)
    held_id = post_and_hold(inst, sink, "alice@example.org", "wait", "Held while the daemon stops.")
    inst.stop()
    for args in (("member", "add", "demo", "dave@example.org"), ("mod", "approve", "demo", held_id),
                 ("member", "ban", "demo", "bob@example.org"), ("member", "set", "demo", "bob@example.org",
                                                                "digest", "on")):
        r = inst.ctl(*args, check=False, autostart=False)
        one_line_error(r)
        assert "not running" in r.stderr, (args, r.stderr)
    # nothing was changed behind the daemon's back (reading verbs still read the database)
    now = members(inst)
    assert "dave@example.org" not in now and now["bob@example.org"]["digest"] is False
    assert [h["id"] for h in held(inst)] == [held_id]
    # what must work before the first start works without a daemon
    assert inst.ctl("check").returncode == 0
    assert inst.ctl("list", "create", "news").returncode == 0
    assert os.path.exists(os.path.join(inst.root, "lists", "news.conf"))
    fresh = tmp_path / "fresh"
    os.makedirs(fresh / "lists")
    with open(inst.conf) as f, open(fresh / "mlistd.conf", "w") as g:
        g.write(f.read())
    r = subprocess.run([MLISTCTL, "-c", str(fresh / "mlistd.conf"), "init"], capture_output=True, text=True)
    assert r.returncode == 0 and os.path.exists(fresh / "state" / "master.key"), r.stderr
    # and the post held before the stop is still there for the restarted daemon
    inst.start()
    inst.ctl("mod", "approve", "demo", held_id)
    assert wait_until(lambda: to(sink, "bob@example.org", b"Held while the daemon stops."))
    assert to(sink, "dave@example.org") == []


def test_member_set_while_running_applied_once_audited_once(make_list, sink):
    inst = make_list(members=("alice@example.org", "bob@example.org"))
    before = audit(inst)
    r = inst.ctl("member", "set", "demo", "bob@example.org", "digest", "on")
    assert r.returncode == 0, r.stderr
    assert members(inst)["bob@example.org"]["digest"] is True
    # audited once: one new entry, about the digest, naming no address
    new = audit(inst)[len(before):]
    assert len(new) == 1 and "digest" in new[0]["detail"], f"the change was audited {len(new)} times: {new}"
    assert "bob@" not in json.dumps(new)
    # applied: the next post waits for bob's digest, alice gets it at once
    send(inst, b"From: alice@example.org\r\nSubject: p\r\n\r\nFor the digest.\r\n", "alice@example.org")
    assert wait_until(lambda: to(sink, "alice@example.org", b"For the digest."))
    inst.ctl("digest", "send", "demo")
    assert wait_until(lambda: to(sink, "bob@example.org", b"multipart/digest")), inst.logtext()
    assert len(to(sink, "bob@example.org", b"For the digest.")) == 1


# --- one place decides who gets which bytes -------------------------------------------------

def test_mod_approve_on_an_encrypted_list_sends_no_clear_copy(make_list, sink, tmp_path):
    keys = {"carol@example.org": None, "bob@example.org": None}
    inst = make_list({"posting": "moderated", "encryption": "required"},
                     members=("alice@example.org", "bob@example.org", "carol@example.org"), enckeys=keys)
    ckey = keys["carol@example.org"]
    qid = send(inst, seal(inst, b"From: bob@example.org\r\nSubject: strike plans\r\n\r\n"
                                b"The strike starts Monday.\r\n"), "bob@example.org")
    assert inst.wait_log(f"{qid} qmgr: list=demo kind=post reason=moderated"), inst.logtext()
    hid = wait_until(lambda: held(inst))
    assert hid and len(hid) == 1, inst.logtext()
    assert inst.ctl("mod", "approve", "demo", hid[0]["id"]).returncode == 0
    # carol (a key) gets the post, encrypted to her key
    got = wait_until(lambda: [o for o in (opened(ckey, d) for d in to(sink, "carol@example.org"))
                              if o and b"The strike starts Monday." in o])
    assert got, inst.logtext()
    assert all(b"The strike starts Monday." not in d for d in to(sink, "carol@example.org"))
    # alice (no key) gets a notice instead, never the post, nor its subject
    notice = wait_until(lambda: to(sink, "alice@example.org", b"could not receive in clear"))
    assert notice, inst.logtext()
    for d in to(sink, "alice@example.org"):
        assert b"The strike starts Monday." not in d and b"strike plans" not in d, d


def test_digest_on_an_encrypted_list_is_never_in_clear(make_list, sink, tmp_path):
    keys = {"carol@example.org": None, "bob@example.org": None}
    inst = make_list({"encryption": "required"},
                     members=("alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"),
                     enckeys=keys)
    ckey = keys["carol@example.org"]
    for m in ("alice@example.org", "carol@example.org"):
        inst.ctl("member", "set", "demo", m, "digest", "on")
    send(inst, seal(inst, b"From: bob@example.org\r\nSubject: d\r\n\r\nDigest words, sealed.\r\n"),
         "bob@example.org")
    # dave (no key, no digest) is told at once: the post went out
    assert wait_until(lambda: to(sink, "dave@example.org")), inst.logtext()
    n_alice, n_carol = len(to(sink, "alice@example.org")), len(to(sink, "carol@example.org"))
    inst.ctl("digest", "send", "demo")
    # carol's digest arrives encrypted to her key
    dig = wait_until(lambda: [o for o in (opened(ckey, d) for d in to(sink, "carol@example.org")[n_carol:])
                              if o and b"Digest words, sealed." in o])
    assert dig, "carol's digest did not come encrypted to her key\n" + inst.logtext()
    assert b"multipart/digest" in dig[0] and inst.wait_log("digest posts=1")
    assert all(b"Digest words, sealed." not in d for d in to(sink, "carol@example.org"))
    # alice (no key) gets a notice for the digest, never the digest in clear
    notice = wait_until(lambda: [d for d in to(sink, "alice@example.org")[n_alice:]
                                 if b"A digest you could not receive in clear" in d])
    assert notice, inst.logtext()
    for d in to(sink, "alice@example.org"):
        assert b"Digest words, sealed." not in d and b"multipart/digest" not in d, d


def test_digest_holds_nothing_from_before_the_member_joined(make_list, sink):
    inst = make_list({"archive.since_join": True}, members=("alice@example.org", "bob@example.org"))
    inst.ctl("member", "set", "demo", "alice@example.org", "digest", "on")
    send(inst, b"From: bob@example.org\r\nSubject: minutes before\r\n\r\nPost A, before.\r\n",
         "bob@example.org")
    assert wait_until(lambda: to(sink, "bob@example.org", b"Post A, before."))
    time.sleep(1.1)                   # join times are in seconds: join strictly after A ...
    inst.ctl("member", "add", "demo", "newcomer@example.net")
    inst.ctl("member", "set", "demo", "newcomer@example.net", "digest", "on")
    time.sleep(1.1)                   # ... and B strictly after the join
    send(inst, b"From: bob@example.org\r\nSubject: B\r\n\r\nPost B, after.\r\n", "bob@example.org")
    assert wait_until(lambda: to(sink, "bob@example.org", b"Post B, after."))
    inst.ctl("digest", "send", "demo")
    old = wait_until(lambda: to(sink, "alice@example.org", b"multipart/digest"))
    assert old and b"Post A, before." in old[0] and b"Post B, after." in old[0], inst.logtext()
    new = wait_until(lambda: to(sink, "newcomer@example.net", b"multipart/digest"))
    assert new, inst.logtext()
    assert b"Post B, after." in new[0] and b"(1 post)" in new[0]
    for d in to(sink, "newcomer@example.net"):
        assert b"Post A, before." not in d and b"minutes before" not in d


def test_held_post_reaches_100_moderators_and_the_queue_moves_on(make_list, sink):
    """(Set-up: one `member import` of 102 members, 100 role sets with quorum_roles at its
    maximum so the operator sets the list up without the moderators' quorum.)"""
    mods = [f"mod{i:03d}@example.org" for i in range(100)]
    inst = make_list({"leadership.quorum_roles": 100, "leadership.probation_posts": 1},
                     members=["alice@example.org", "bob@example.org"] + mods,
                     roles={m: "moderator" for m in mods})
    first = send(inst, b"From: alice@example.org\r\nSubject: first\r\n\r\nA first post, held.\r\n",
                 "alice@example.org")
    assert inst.wait_log(f"{first} qmgr: list=demo kind=post reason="), inst.logtext()
    notified = wait_until(lambda: {r for r, d in sink.handler.copies()
                                   if b"A first post, held." in d and r in mods} == set(mods), timeout=30)
    got = {r for r, d in sink.handler.copies() if b"A first post, held." in d}
    assert notified, f"{len(got & set(mods))} of 100 moderators notified\n" + inst.logtext()[-3000:]
    assert "bob@example.org" not in got
    # the queue moves on: the next post (a moderator's: no probation) goes out
    second = send(inst, b"From: mod000@example.org\r\nSubject: next\r\n\r\nThe next post.\r\n",
                  "mod000@example.org")
    assert wait_until(lambda: to(sink, "bob@example.org", b"The next post."), timeout=30), inst.logtext()[-3000:]
    assert wait_until(lambda: {r for r, d in sink.handler.copies() if b"The next post." in d} >= set(mods),
                      timeout=30), inst.logtext()[-3000:]
    assert "not an error" not in inst.logtext()
    # neither was retried: the hundred notices went in one pass
    assert f"{first} qmgr: will retry" not in inst.logtext()
    assert f"{second} qmgr: will retry" not in inst.logtext()


# --- leadership and tokens ------------------------------------------------------------------

def http_post(port, path, body):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    out = r.status, r.read().decode()
    c.close()
    return out


def test_removed_members_one_click_link_removes_nobody_else(make_list, sink):
    inst = make_list({"one_click_url": "https://lists.example/unsubscribe/"}, http=True,
                     members=("alice@example.org", "bob@example.org", "carol@example.org"))
    send(inst, b"From: bob@example.org\r\nSubject: news\r\n\r\nOne-click news.\r\n", "bob@example.org")
    links = {}
    for who in ("alice@example.org", "carol@example.org"):
        got = wait_until(lambda w=who: to(sink, w, b"One-click news."))
        assert got, inst.logtext()
        lu = re.sub(r"\s+", " ", email.message_from_bytes(got[0])["List-Unsubscribe"])
        links[who] = re.search(r"/unsubscribe/demo/([0-9a-f]{32})>", lu).group(1)
    # a link works: alice's removes alice
    assert http_post(inst.http_port, f"/unsubscribe/demo/{links['alice@example.org']}",
                     b"List-Unsubscribe=One-Click")[0] == 200
    assert wait_until(lambda: "alice@example.org" not in members(inst))
    # carol leaves; someone joins after her; carol's old link must not touch the newcomer
    inst.ctl("member", "rm", "demo", "carol@example.org")
    inst.ctl("member", "add", "demo", "newcomer@example.net")
    assert "newcomer@example.net" in members(inst)
    assert http_post(inst.http_port, f"/unsubscribe/demo/{links['carol@example.org']}",
                     b"List-Unsubscribe=One-Click")[0] == 200
    wait_until(lambda: "newcomer@example.net" not in members(inst) or
               inst.wait_log("token that names no member", timeout=0.1), timeout=5)
    settled(inst)
    assert "newcomer@example.net" in members(inst), "a removed member's link unsubscribed a newcomer"
    assert to(sink, "newcomer@example.net", b"one-click") == []


def test_hidden_leadership_audit_names_no_moderator_and_no_pseudonym(make_list, sink):
    mods = ("m1@example.org", "m2@example.org", "m3@example.org")
    inst = make_list({"identity.mode": "pseudonym", "leadership.visibility": "hidden",
                      "leadership.quorum_roles": 4},
                     members=(ROSA, "bob@example.org") + mods, roles={m: "moderator" for m in mods},
                     pseudonyms={ROSA: "Red Fly"})
    # the operator's roster of a pseudonymous list: member numbers and roles, no addresses
    roster = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
    numbers = {m["ref"] for m in roster if m["role"] == "moderator"}
    assert len(numbers) == 3, roster
    r = inst.ctl("unmask", "demo", "Red Fly", check=False)     # (its exit code: the test above)
    assert "opened" in r.stdout, (r.returncode, r.stdout, r.stderr)
    send(inst, b"From: bob@example.org\r\nSubject: audit\r\n\r\n", "bob@example.org",
         rcpt="demo-request@lists.example")
    ans = wait_until(lambda: to(sink, "bob@example.org", b"What the leadership"))
    assert ans, inst.logtext()
    body = email.message_from_bytes(ans[0], policy=email.policy.default).get_body(("plain",)).get_content()
    lines = body.splitlines()
    assert [l for l in lines if re.search(r"request|unmask", l)], body          # the request is there
    for l in lines:
        for n in numbers:
            if n in l:
                assert not re.search(r"moderator|owner", l), f"a member learns who moderates: {l!r}"
    # nor in other words: the three role changes name no one (they are not listed one by one)
    assert not [n for n in numbers if n in body], "a moderator's number in the members' audit:\n" + body
    assert "red fly" not in body.lower(), "a member learns whom the moderators investigate:\n" + body


def test_discard_is_published_under_publish_rejections(make_list, sink):
    inst = make_list({"posting": "moderated", "leadership.publish_rejections": True},
                     members=("alice@example.org", "dave@example.org"))
    hid = post_and_hold(inst, sink, "alice@example.org", "dissent", "The leadership is wrong.")
    assert inst.ctl("mod", "discard", "demo", hid).returncode == 0
    assert wait_until(lambda: held(inst) == [])
    pub = wait_until(lambda: to(sink, "dave@example.org", b"The moderators discarded a post"), timeout=10)
    assert pub, "the discard was not published\n" + inst.logtext()
    assert b"dissent" in pub[0]
    assert all(b"The leadership is wrong." not in d for d in to(sink, "dave@example.org"))


# --- release time ---------------------------------------------------------------------------

JITTER = {"delivery.jitter_min": 4, "delivery.jitter_max": 4}


@pytest.mark.parametrize("mode,settings", [("real", JITTER), ("anonymous", JITTER),
                                           ("pseudonym", JITTER), ("pseudonym", {"delivery.batch": 5})])
def test_jittered_copy_carries_the_release_time(make_list, sink, mode, settings):
    inst = make_list({"identity.mode": mode, **settings},
                     members=("alice@example.org", "bob@example.org"))
    if "delivery.batch" in settings:
        # just after a boundary, so that the next one is seconds away, never a fraction
        assert wait_until(lambda: time.time() % 5 < 1.0, timeout=6)
    t0 = time.time()
    send(inst, b"From: alice@example.org\r\nSubject: later\r\n\r\nReleased later.\r\n", "alice@example.org")
    got = wait_until(lambda: to(sink, "bob@example.org", b"Released later."))
    arrived = time.time()
    assert got, inst.logtext()
    assert arrived - t0 >= 3.0                              # the jitter did delay it
    m = email.message_from_bytes(got[0])
    date = email.utils.parsedate_to_datetime(m["Date"]).timestamp()
    t = int(re.search(r"\bt=(\d+)", re.sub(r"\s+", "", m["DKIM-Signature"])).group(1))
    assert abs(date - arrived) <= 2, f"Date: is {arrived - date:.1f} s before the relay got the copy"
    assert abs(t - arrived) <= 2, f"DKIM t= is {arrived - t:.1f} s before the relay got the copy"
    assert t == int(date), (m["DKIM-Signature"], m["Date"])
    if "delivery.batch" in settings:
        assert int(date) % 5 == 0, m["Date"]
    # the archive dates it when it went out too: its time tells no more than Date: does
    kept = json.loads(inst.ctl("--json", "archive", "ls", "demo").stdout)
    assert kept and "later" in kept[-1]["subject"], kept
    assert kept[-1]["date"] == int(date), f"archived at {kept[-1]['date']}, dated {date}"
