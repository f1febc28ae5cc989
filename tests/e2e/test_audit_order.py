"""#13's last leftovers: the quorum's admission and the one-click unsubscription act through actions/
(one audit entry, the same as the operator's and a member's own), `who` lists names in an order
that is not the order of admission, and on a hidden leadership the members' audit view does not
list role changes one by one (the moderators still read them all)."""
import email
import email.policy
import json
import re
import smtplib

from conftest import wait_until

ROSA = "rosa@spartakus.example"


def send(inst, who, rcpt, text):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, [rcpt], f"From: {who}\r\n{text}".encode())


def to(sink, rcpt, marker=b""):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def body(raw):
    return email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()


def token(raw):
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", raw).group(1).decode()


def audit(inst):
    return json.loads(inst.ctl("--json", "audit", "demo").stdout)


def members(inst):
    return {m.get("address") for m in json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)}


def ask(inst, sink, who, text, n):
    """the n-th mail `who` receives, after asking LIST-request"""
    send(inst, who, "demo-request@lists.example", f"Subject: x\r\n\r\n{text}\r\n")
    got = wait_until(lambda: len(to(sink, who)) >= n and to(sink, who))
    assert got, inst.logtext()
    return body(got[n - 1])


def test_one_click_leave_is_audited_once_as_a_members_leaving(make_instance, sink):
    inst = make_instance(http=True, list_settings={"one_click_url": "https://lists.example/unsubscribe/"})
    # the audit log names alice by the id of her admission (make_instance adds alice first)
    ref = [e["detail"] for e in audit(inst) if e["action"] == "admit"][0]
    send(inst, "bob@example.org", "demo@lists.example", "Subject: news\r\n\r\nOne-click news.\r\n")
    got = wait_until(lambda: to(sink, "alice@example.org", b"One-click news."))
    assert got, inst.logtext()
    lu = re.sub(r"\s+", " ", email.message_from_bytes(got[0])["List-Unsubscribe"])
    link = re.search(r"/unsubscribe/demo/([0-9a-f]{32})>", lu).group(1)
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", inst.http_port, timeout=10)
    c.request("POST", f"/unsubscribe/demo/{link}", body=b"List-Unsubscribe=One-Click",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert c.getresponse().status == 200
    c.close()
    assert wait_until(lambda: to(sink, "alice@example.org", b"one-click")), inst.logtext()
    assert "alice@example.org" not in members(inst)
    leaves = [e for e in audit(inst) if e["action"] == "leave"]
    assert [(e["actor"], e["detail"]) for e in leaves] == [("member", ref)], audit(inst)


def test_admission_by_the_quorum_is_audited_once_as_an_admission(make_instance, sink):
    inst = make_instance(list_settings={"subscription": "approve", "leadership.quorum_admit": "1"},
                         members=("m1@example.org", "bob@example.org"), start=False)
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.start()
    send(inst, "applicant@example.net", "demo-request@lists.example",
         "Subject: join\r\n\r\nsubscribe\r\nHello, I would like to join.\r\n")
    ans = wait_until(lambda: to(sink, "applicant@example.net", b"join the list"))
    assert ans, inst.logtext()
    send(inst, "applicant@example.net", f"demo-confirm+{token(ans[0])}@lists.example", "Subject: Re\r\n\r\nyes\r\n")
    app = wait_until(lambda: to(sink, "m1@example.org", b"would like to join"))
    assert app, inst.logtext()
    send(inst, "m1@example.org", f"demo-confirm+{token(app[0])}@lists.example", "Subject: Re\r\n\r\napprove\r\n")
    assert wait_until(lambda: to(sink, "applicant@example.net", b"admitted")
                      or to(sink, "applicant@example.net", b"Welcome")), inst.logtext()
    assert "applicant@example.net" in members(inst), "the applicant was not admitted"
    admits = [e for e in audit(inst) if e["action"] == "admit"]
    # the operator's two admissions, then the moderators': an entry like theirs, once
    assert [e["actor"] for e in admits] == ["operator", "operator", "moderators"], admits
    assert re.fullmatch(r"member [0-9a-f]{10} \(1 moderators agreed\)", admits[2]["detail"]), admits
    assert admits[2]["detail"].split(" (")[0] not in (admits[0]["detail"], admits[1]["detail"])
    assert not any("applicant" in e["detail"] for e in audit(inst)), audit(inst)


def pseudonymous(make_instance, settings=None):
    """admitted in an order that is not the alphabet's"""
    order = (("zed@example.org", "Zebra Moon"), ("abe@example.org", "Amber Fox"),
             ("mia@example.org", "Misty Owl"), ("bob@example.org", "Blue Heron"))
    inst = make_instance(list_settings=dict({"identity.mode": "pseudonym", "disclosure.roster": "members"},
                                            **(settings or {})),
                         members=[a for a, _ in order])
    for a, name in order:
        inst.ctl("member", "set", "demo", a, "pseudonym", name)
    return inst


def test_who_does_not_list_members_in_the_order_they_joined(make_instance, sink):
    inst = pseudonymous(make_instance)
    text = ask(inst, sink, "bob@example.org", "who", 1)
    names = [l.strip() for l in text.splitlines() if l.startswith("  ")]
    assert names == ["Amber Fox", "Blue Heron", "Misty Owl", "Zebra Moon"], text


def test_who_names_the_moderators_in_alphabetical_order(make_instance, sink):
    inst = pseudonymous(make_instance, {"leadership.visibility": "named"})
    for a in ("zed@example.org", "mia@example.org"):
        inst.ctl("member", "set", "demo", a, "role", "moderator")
    text = ask(inst, sink, "bob@example.org", "who", 1)
    assert "The moderators: Misty Owl, Zebra Moon." in text, text


def test_hidden_leadership_members_audit_lists_no_role_change(make_instance, sink):
    inst = pseudonymous(make_instance, {"leadership.visibility": "hidden"})
    inst.ctl("member", "set", "demo", "mia@example.org", "role", "moderator")
    inst.ctl("member", "set", "demo", "abe@example.org", "role", "moderator")
    # a third change waits for the quorum: a request, which members must not count either
    r = inst.ctl("member", "set", "demo", "zed@example.org", "role", "moderator", check=False)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    log = audit(inst)
    assert sum(1 for e in log if e["action"] == "roles") == 2 and \
        any(e["action"] == "request" for e in log), log
    member = ask(inst, sink, "bob@example.org", "audit", 1)
    lines = [l for l in member.splitlines() if re.match(r"\s+\d+\s+\d{4}-", l)]
    assert any(" admit " in l for l in lines), member            # the log is answered
    assert len(lines) == len(log) - 3, member                    # the role changes are not listed
    assert not any(re.search(r"\broles\b|request|list's leadership", l) for l in lines), member
    # numbered among themselves: no gap where an entry was left out
    assert [int(l.split()[0]) for l in lines] == list(range(1, len(lines) + 1)), member
    assert "changes of roles are not listed" in member
    assert re.search(rf"last entry is number {len(lines)},", member), member
    # the moderators read every entry
    assert wait_until(lambda: to(sink, "mia@example.org", b"grave action"))     # asked to approve
    mod = ask(inst, sink, "mia@example.org", "audit", len(to(sink, "mia@example.org")) + 1)
    assert sum(1 for l in mod.splitlines() if re.match(r"\s+\d+\s.*\sroles\s", l)) == 2, mod
    assert "request" in mod and "changes of roles are not listed" not in mod


def test_visible_leadership_audit_is_unchanged(make_instance, sink):
    inst = pseudonymous(make_instance, {"leadership.visibility": "roles"})
    inst.ctl("member", "set", "demo", "mia@example.org", "role", "moderator")
    member = ask(inst, sink, "bob@example.org", "audit", 1)
    lines = [l for l in member.splitlines() if re.match(r"\s+\d+\s+\d{4}-", l)]
    assert len(lines) == len(audit(inst)) and any("roles" in l for l in lines), member
    assert "changes of roles are not listed" not in member
