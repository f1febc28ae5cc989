"""test_authn.py - who sent this (issue #14), end to end: the daemon's authentication stage
with posts signed by an independent signer (dkimpy) against a real DNS server on 127.0.0.1
(unbound, RSA-2048 and Ed25519 keys, DMARC records), the front MTA's Authentication-Results, and
each attack of the issue scripted as the hostile member: what reaches the attacker must not
depend on whether the person they name is a member, a moderator or nobody."""
import base64
import re
import subprocess
import time

import pytest

import smtplib

from conftest import AUTHSERV_ID, MLISTD, send_unauthenticated, wait_until
from dnsserver import UNBOUND, DnsServer

dkim = pytest.importorskip("dkim")
nacl_signing = pytest.importorskip("nacl.signing")

MALLORY = "mallory@example.org"
TARGET = "alice@example.org"
MOD = "m1@example.org"
STRANGER = "nobody@example.org"
LIST = "demo@lists.example"


def to(sink, rcpt):
    return [c for r, c in sink.handler.copies() if r == rcpt]


def forged(frm, subject, rcpt=LIST, extra=b"", body=b"Forged."):
    return (f"From: {frm}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time()}@example.org>\r\n").encode() + extra + b"\r\n" + body + b"\r\n"


def pseudonymous(make_instance, **settings):
    s = {"identity.mode": "pseudonym"}
    s.update(settings)
    inst = make_instance(members=(TARGET, MALLORY, MOD, "bob@example.org"), start=False,
                         list_settings=s)
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    inst.ctl("member", "set", "demo", TARGET, "pseudonym", "Red Fly")
    inst.start()
    return inst


def test_forged_post_under_a_pseudonym_reaches_nobody_and_teaches_nothing(make_instance, sink):
    inst = pseudonymous(make_instance)
    for i, who in enumerate((TARGET, MOD, STRANGER)):
        send_unauthenticated(inst.port, MALLORY, [LIST], forged(who, f"forged {i}"))
        assert inst.wait_log(f"kind=post reason=", 20)
    assert wait_until(lambda: inst.logtext().count("qmgr: list=demo kind=post") >= 3)
    # the member named gets a confirmation in her own mailbox; nothing else goes anywhere
    asks = wait_until(lambda: to(sink, TARGET))
    assert asks and b"received a post in your name" in asks[0]
    assert to(sink, MALLORY) == [] and to(sink, "bob@example.org") == []
    assert all(b"Red Fly" not in c for _, c in sink.handler.copies())


def test_vacation_reply_does_not_confirm_a_forged_post(make_instance, sink):
    inst = pseudonymous(make_instance)
    send_unauthenticated(inst.port, MALLORY, [LIST], forged(TARGET, "forged for a vacation"))
    ask = wait_until(lambda: to(sink, TARGET))
    assert ask, inst.logtext()
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    addr = f"demo-confirm+{token}@lists.example"
    vacation = (f"From: {TARGET}\r\nTo: {addr}\r\nSubject: Out of office\r\n"
                "Auto-Submitted: auto-replied\r\n\r\nI am away.\r\n").encode()
    send_unauthenticated(inst.port, "", [addr], vacation)
    send_unauthenticated(inst.port, TARGET, [addr], vacation.replace(b"Auto-Submitted: auto-replied",
                                                                       b"Precedence: bulk"))
    assert wait_until(lambda: inst.logtext().count("automatic mail to a token; not spent") >= 2)
    assert to(sink, "bob@example.org") == [] and to(sink, MALLORY) == []
    # the token still works for the person: she may release it (or not) herself
    send_unauthenticated(inst.port, TARGET, [addr], forged(TARGET, "Re: confirm", rcpt=addr, body=b"confirm"))
    assert wait_until(lambda: to(sink, "bob@example.org"))


def test_unmask_via_private_reply_handle_fails(make_instance, sink):
    inst = pseudonymous(make_instance)
    # mallory posts (authenticated) and takes the private-reply handle of her own post
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(MALLORY, [LIST], forged(MALLORY, "my own post"))
    got = wait_until(lambda: to(sink, MALLORY))
    assert got, inst.logtext()
    handle = re.search(rb"(demo\+p-[A-Za-z0-9]+@lists\.example)", got[0]).group(1).decode()
    before = len(to(sink, MALLORY))
    seen = []
    for i, who in enumerate((TARGET, MOD, STRANGER)):
        send_unauthenticated(inst.port, MALLORY, [handle], forged(who, f"who are you {i}", handle))
        assert wait_until(lambda: inst.logtext().count("kind=private reason=") >= i + 1), inst.logtext()
        seen.append(to(sink, MALLORY)[before:])
    # nothing comes back, whoever the forged From names: no pseudonym is confirmed
    assert seen == [[], [], []]
    assert all(b"Red Fly" not in c for c in to(sink, MALLORY))


def test_forged_announcement_reaches_nobody(make_instance, sink):
    inst = pseudonymous(make_instance)
    for i, who in enumerate((MOD, TARGET, STRANGER)):
        send_unauthenticated(inst.port, MALLORY, ["demo-owner+announce@lists.example"],
                             forged(who, f"announce {i}", "demo-owner+announce@lists.example"))
        assert wait_until(lambda: inst.logtext().count("kind=private reason=") >= i + 1), inst.logtext()
    assert sink.handler.copies() == []


def test_owner_answer_is_no_moderator_oracle(make_instance, sink):
    inst = pseudonymous(make_instance)
    for i, who in enumerate((MOD, TARGET, STRANGER)):
        send_unauthenticated(inst.port, MALLORY, ["demo-owner+abcdefgh@lists.example"],
                             forged(who, f"answer {i}", "demo-owner+abcdefgh@lists.example"))
        assert wait_until(lambda: inst.logtext().count("kind=private reason=") >= i + 1), inst.logtext()
    assert sink.handler.copies() == []


@pytest.mark.parametrize("post_auth", ["auto", "confirm"])
def test_no_membership_oracle(make_instance, sink, post_auth):
    inst = pseudonymous(make_instance, post_auth=post_auth)
    for i, who in enumerate((TARGET, MOD, STRANGER)):
        send_unauthenticated(inst.port, MALLORY, [LIST], forged(who, f"probe {i}"))
    assert wait_until(lambda: inst.logtext().count("qmgr: list=demo kind=post") >= 3)
    # the members named get their confirmation; the attacker gets the same nothing each time
    assert wait_until(lambda: to(sink, TARGET) and to(sink, MOD))
    assert to(sink, MALLORY) == [] and to(sink, STRANGER) == []


def test_sender_is_refused_on_a_pseudonymous_list(make_instance):
    inst = make_instance(members=(), start=False)
    f = f"{inst.root}/lists/demo.conf"
    text = open(f).read()
    text = re.sub(r'(identity\s*=\s*\{[^}]*?mode\s*=\s*)"[a-z]+"', r'\1"pseudonym"', text)
    text = re.sub(r'(?m)^post_auth\s*=.*\n', "", text) + 'post_auth = "sender";\n'
    open(f, "w").write(text)
    r = subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True)
    assert r.returncode != 0
    assert re.search(r"demo\.conf:\d+: post_auth: \"sender\" believes any From", r.stdout + r.stderr)


def test_forged_authres_on_a_direct_listener_is_ignored(make_instance, sink):
    inst = pseudonymous(make_instance)
    ar = (f"Authentication-Results: {AUTHSERV_ID};\r\n\tdmarc=pass header.from=example.org\r\n").encode()
    send_unauthenticated(inst.direct_port, MALLORY, [LIST], ar + forged(TARGET, "forged A-R"))
    ask = wait_until(lambda: to(sink, TARGET))
    assert ask and b"received a post in your name" in ask[0]
    assert "auth=claim" in inst.logtext()
    assert to(sink, "bob@example.org") == [] and to(sink, MALLORY) == []


# --- our own verification: dkimpy signs, unbound serves the keys --------------------------------

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    subprocess.run(["openssl", "genrsa", "-out", str(d / "rsa.key"), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(d / "rsa.key"), "-pubout", "-outform",
                          "DER"], check=True, capture_output=True).stdout
    ed = nacl_signing.SigningKey.generate()
    return {"rsa": (d / "rsa.key").read_bytes(),
            "rsa_txt": "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode(),
            "ed": base64.b64encode(bytes(ed)),
            "ed_txt": "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ed.verify_key)).decode()}


@pytest.fixture(scope="module")
def zone(tmp_path_factory, keys):
    import os
    if not os.access(UNBOUND, os.X_OK):
        pytest.skip("unbound is not installed (tools/install-deps installs it)")
    srv = DnsServer(tmp_path_factory.mktemp("zone"), ["mlistd"], {
        "rsa._domainkey.example.mlistd": [keys["rsa_txt"]],
        "ed._domainkey.example.mlistd": [keys["ed_txt"]],
        "rsa._domainkey.other.mlistd": [keys["rsa_txt"]],
        "_dmarc.example.mlistd": ["v=DMARC1; p=none; adkim=r"],
        "_dmarc.strict.mlistd": ["v=DMARC1; p=reject"],
    }, rest="static").start()
    yield srv
    srv.stop()


ROSA = "rosa@example.mlistd"


def signed_instance(make_instance, zone):
    extra = f'dns = {{ resolver = "{zone.address}"; trust_anchor = ""; timeout = 5; }};'
    return make_instance(extra=extra, members=(ROSA, "bob@example.org", "carol@strict.mlistd"),
                         list_settings={"identity.mode": "pseudonym"})


def msg(frm=ROSA, subject="a post", body=b"Hello, list.\r\n"):
    return (f"From: Rosa <{frm}>\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <{time.time()}@example.mlistd>\r\n"
            "\r\n").encode() + body


def sign(keys, m, domain=b"example.mlistd", ed=False, **kw):
    sel = b"ed" if ed else b"rsa"
    alg = b"ed25519-sha256" if ed else b"rsa-sha256"
    return dkim.sign(m, sel, domain, keys["ed"] if ed else keys["rsa"], signature_algorithm=alg,
                     canonicalize=(b"relaxed", b"relaxed"), **kw) + m


@pytest.mark.parametrize("ed", [False, True], ids=["rsa2048", "ed25519"])
def test_aligned_post_flows_without_confirmation(make_instance, sink, zone, keys, ed):
    inst = signed_instance(make_instance, zone)
    send_unauthenticated(inst.direct_port, ROSA, [LIST], sign(keys, msg(subject="signed"), ed=ed))
    got = wait_until(lambda: to(sink, "bob@example.org"))
    assert got and b"signed" in got[0], inst.logtext()
    assert "auth=dkim-aligned" in inst.logtext()
    assert all(b"in your name" not in c for c in to(sink, ROSA))


@pytest.mark.parametrize("case", ["unsigned", "misaligned", "tampered", "length-extended"])
def test_unauthenticated_post_is_held_for_the_mailbox(make_instance, sink, zone, keys, case):
    inst = signed_instance(make_instance, zone)
    m = msg(subject=case)
    raw = {"unsigned": lambda: m,
           "misaligned": lambda: sign(keys, m, domain=b"other.mlistd"),
           "tampered": lambda: sign(keys, m).replace(b"Hello, list.", b"Hello, lost."),
           "length-extended": lambda: sign(keys, m, length=True) + b"Appended by somebody.\r\n"}[case]()
    send_unauthenticated(inst.direct_port, ROSA, [LIST], raw)
    ask = wait_until(lambda: to(sink, ROSA))
    assert ask and b"received a post in your name" in ask[0], inst.logtext()
    assert to(sink, "bob@example.org") == []
    assert "kind=post reason=confirm auth=claim" in inst.logtext()


def test_no_answer_to_a_p_reject_domain_that_failed(make_instance, sink, zone):
    inst = signed_instance(make_instance, zone)
    send_unauthenticated(inst.direct_port, "x@strict.mlistd", [LIST],
                         msg(frm="carol@strict.mlistd", subject="forged strict"))
    assert inst.wait_log("answer withheld (DMARC p=reject failed)")
    send_unauthenticated(inst.direct_port, ROSA, [LIST], msg(subject="after"))
    assert wait_until(lambda: to(sink, ROSA))
    assert to(sink, "carol@strict.mlistd") == [] and to(sink, "bob@example.org") == []


# --- -request and discipline decide on the authenticated sender (#14 leftovers) ----------------

REQUEST = "demo-request@lists.example"
DISCIPLINE = "demo-owner+discipline@lists.example"


def answer_text(copy, rcpt):
    """answer_text - the text of a notice, with what names its recipient or a token made neutral"""
    import email
    from email import policy
    m = email.message_from_bytes(copy, policy=policy.default)
    parts = [p for p in m.walk() if p.get_content_type() == "text/plain"]
    text = m["Subject"] + "\n" + "".join(p.get_content() for p in parts)
    text = text.replace(rcpt, "RCPT")
    return re.sub(r"[0-9a-f]{40}", "TOKEN", text)


def answers_to_each(inst, sink, rcpt, subject, who_all, body=b"Forged.\r\n"):
    """answers_to_each - the answer each claimed sender gets to an unauthenticated mail"""
    got = {}
    for who in who_all:
        m = forged(who, subject, rcpt).replace(b"\r\nForged.\r\n", b"\r\n" + body)
        send_unauthenticated(inst.port, who, [rcpt], m)
        copies = wait_until(lambda: to(sink, who))
        assert copies, inst.logtext()
        got[who] = answer_text(copies[0], who)
    return got


def test_request_answers_to_a_claim_are_the_same_for_member_moderator_nobody(make_instance, sink):
    inst = pseudonymous(make_instance)
    got = answers_to_each(inst, sink, REQUEST, "who", (TARGET, MOD, STRANGER),
                          body=b"audit\r\n")
    # each got an answer, and not one that knows who they are
    assert got[TARGET] == got[MOD] == got[STRANGER], got
    assert "The list has" not in got[TARGET]    # the member count is for members
    assert inst.logtext().count("request: list=demo sender=unauthenticated") == 3
    # confirmed from the mailbox, each is answered as who they are: the member sees the count
    for who, count in ((TARGET, True), (STRANGER, False)):
        token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", to(sink, who)[0]).group(1).decode()
        addr = f"demo-confirm+{token}@lists.example"
        send_unauthenticated(inst.port, who, [addr], forged(who, "Re: confirm", addr, body=b"confirm"))
        again = wait_until(lambda: to(sink, who)[1:])
        assert again, inst.logtext()
        assert (b"The list has 4 members" in again[0]) == count, again[0]
        assert b"not verify" not in again[0] and b"nothing to change" not in again[0]
    # an authenticated member still gets the member's answer
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("bob@example.org", [REQUEST], forged("bob@example.org", "who", REQUEST))
    mine = wait_until(lambda: to(sink, "bob@example.org"))
    assert mine and b"The list has 4 members" in mine[0], inst.logtext()


def test_forged_request_changes_nothing_and_reveals_nothing(make_instance, sink):
    inst = pseudonymous(make_instance)
    # mallory, from her own mailbox, asks in Red Fly's name to leave: the token is mallory's
    send_unauthenticated(inst.port, MALLORY, [REQUEST], forged(TARGET, "unsubscribe", REQUEST))
    ask = wait_until(lambda: to(sink, MALLORY))
    assert ask, inst.logtext()
    assert b"Red Fly" not in ask[0] and TARGET.encode() not in ask[0]
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    addr = f"demo-confirm+{token}@lists.example"
    send_unauthenticated(inst.port, MALLORY, [addr], forged(TARGET, "Re: confirm", addr, body=b"confirm"))
    assert wait_until(lambda: len(to(sink, MALLORY)) >= 2), inst.logtext()
    # what was confirmed is mallory's own leaving; Red Fly is still a member
    roster = inst.ctl("member", "ls", "demo").stdout
    assert "Red Fly" in roster and len(roster.splitlines()) == 3, roster   # mallory (#2) left
    assert not re.search(r"(?m)^#2 ", roster), roster
    assert to(sink, TARGET) == []


def test_discipline_answer_to_a_claim_is_no_moderator_oracle(make_instance, sink):
    inst = pseudonymous(make_instance)
    got = answers_to_each(inst, sink, DISCIPLINE, "discipline Red Fly", (MOD, TARGET, STRANGER),
                          body=b"for being rude\r\n")
    assert got[MOD] == got[TARGET] == got[STRANGER], got
    assert "cannot verify that it comes from this mailbox" in got[MOD]
    assert "Red Fly" not in got[MOD]
    assert "discipline: list=demo sender not authenticated" in inst.logtext()
    assert "awaits the moderator's confirmation" not in inst.logtext()
    # confirmed from the mailbox, the request is decided: the moderator is asked about the step,
    # the stranger told that only moderators may (in their own mailbox, after proving it)
    for who, says in ((MOD, b"Confirm a discipline step"),
                      (STRANGER, b"Only the list's moderators")):
        token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", to(sink, who)[0]).group(1).decode()
        addr = f"demo-confirm+{token}@lists.example"
        send_unauthenticated(inst.port, who, [addr], forged(who, "Re: confirm", addr, body=b"confirm"))
        assert wait_until(lambda: [c for c in to(sink, who)[1:] if says in c]), inst.logtext()
    assert inst.logtext().count("awaits the moderator's confirmation") == 1
    # the moderator, authenticated, is asked to confirm the step at once
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(MOD, [DISCIPLINE], forged(MOD, "discipline Red Fly", DISCIPLINE))
    assert wait_until(lambda: inst.logtext().count("awaits the moderator's confirmation") == 2)
    assert wait_until(lambda: len([c for c in to(sink, MOD) if b"Confirm a discipline step" in c]) == 2)


def confirm_request(inst, sink, who, subject):
    """confirm_request - an authenticated member's command, confirmed from their mailbox"""
    n = len(to(sink, who))
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, [REQUEST], forged(who, subject, REQUEST))
    ask = wait_until(lambda: len(to(sink, who)) > n and to(sink, who)[n:])
    assert ask, inst.logtext()
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    addr = f"demo-confirm+{token}@lists.example"
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(who, [addr], forged(who, "Re: confirm", addr, body=b"confirm"))
    done = wait_until(lambda: [c for c in to(sink, who)[n + 1:] if b"done" in c])
    assert done, inst.logtext()
    return done[0]


def test_request_changes_are_the_operators_actions(make_instance, sink):
    """a member's own change goes through actions/: audited as mlistctl's is, checked again when
    it is confirmed (a mode the list stopped offering meanwhile is not set)"""
    inst = make_instance(members=("bob@example.org", "carol@example.org"),
                         list_settings={"identity.choices": "pseudonym"})
    done = confirm_request(inst, sink, "bob@example.org", "set digest on")
    assert b"digest is now on" in done
    audit = inst.ctl("audit", "demo").stdout
    assert re.search(r"member\s+member set\s+member [0-9a-f]{10}: digest on", audit), audit
    # the choice is withdrawn between the request and its confirmation
    n = len(to(sink, "carol@example.org"))
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("carol@example.org", [REQUEST], forged("carol@example.org", "set identity pseudonym",
                                                          REQUEST))
    ask = wait_until(lambda: to(sink, "carol@example.org")[n:])
    assert ask and b"demo-confirm+" in ask[0], inst.logtext()
    assert inst.ctl("list", "set", "demo", "identity.choices", "").returncode == 0
    token = re.search(rb"demo-confirm\+([0-9a-f]{40})@", ask[0]).group(1).decode()
    addr = f"demo-confirm+{token}@lists.example"
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("carol@example.org", [addr], forged("carol@example.org", "Re: confirm", addr, body=b"confirm"))
    done = wait_until(lambda: [c for c in to(sink, "carol@example.org")[n + 1:] if b"done" in c])
    assert done and b"not done" in done[0] and b"go out as" not in done[0], inst.logtext()
    assert "identity changed" not in inst.ctl("audit", "demo").stdout


@pytest.mark.parametrize("why", ["moderated", "probation"])
def test_held_post_tells_the_moderators_how_sure_the_list_is(make_instance, sink, why):
    """a forged post held for the moderators must not look like the member's own: the moderators'
    notice says the sender is not verified; the member's real (authenticated) post says verified"""
    settings = {"posting": "moderated"} if why == "moderated" else {"leadership.probation_posts": "5"}
    inst = pseudonymous(make_instance, **settings)
    send_unauthenticated(inst.port, MALLORY, [LIST], forged(TARGET, "forged, held"))
    held = wait_until(lambda: [c for c in to(sink, MOD) if b"waits for moderation" in c])
    assert held, inst.logtext()
    assert f"reason={why}" in inst.logtext(), inst.logtext()
    assert b"Sender not verified: the From: address is only a claim" in held[0]
    assert b"Sender verified" not in held[0]
    # the same member, authenticated (the front MTA vouches for her domain)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(TARGET, [LIST], forged(TARGET, "really hers"))
    held = wait_until(lambda: [c for c in to(sink, MOD) if b"waits for moderation" in c][1:])
    assert held, inst.logtext()
    assert b"Sender verified: DKIM-signed by the domain of its From: address" in held[0]
    assert b"not verified" not in held[0]
    # nothing went to the attacker, nor to the members
    assert to(sink, MALLORY) == [] and to(sink, "bob@example.org") == []


def test_resolver_is_reopened_on_sighup(make_instance, sink, zone, keys):
    """a changed dns.resolver takes effect on SIGHUP: the post that waited for DNS then flows"""
    import signal
    dead = 'dns = { resolver = "127.0.0.1@9"; trust_anchor = ""; timeout = 1; };'
    inst = make_instance(extra=dead, members=(ROSA, "bob@example.org"),
                         list_settings={"identity.mode": "pseudonym"})
    send_unauthenticated(inst.direct_port, ROSA, [LIST], sign(keys, msg(subject="after the hup")))
    assert inst.wait_log("a DNS look-up failed for now (retried)", 30), inst.logtext()
    assert to(sink, "bob@example.org") == []
    text = open(inst.conf).read().replace(dead, f'dns = {{ resolver = "{zone.address}"; '
                                                'trust_anchor = ""; timeout = 5; };')
    open(inst.conf, "w").write(text)
    inst.proc.send_signal(signal.SIGHUP)
    assert inst.wait_log("mlistd: reloaded", 20), inst.logtext()
    got = wait_until(lambda: to(sink, "bob@example.org"), 60)
    assert got and b"after the hup" in got[0], inst.logtext()
    assert "auth=dkim-aligned" in inst.logtext()


def test_answer_budget_survives_a_restart(make_instance, sink):
    """the confirmations' budget (auth.confirms_per_instance: confirmations to members' own
    addresses, apart from the answers to strangers) counts across a restart: a crash or a restart
    the attacker waits for does not give them a fresh hour of confirmations to send to anyone"""
    members = (TARGET, MOD, "bob@example.org", "carol@example.org")
    inst = make_instance(members=members, extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; '
                         'confirms_per_instance = 2; };', list_settings={"identity.mode": "pseudonym"})
    for who in (TARGET, MOD):
        send_unauthenticated(inst.port, MALLORY, [LIST], forged(who, f"forged for {who}"))
        assert wait_until(lambda: to(sink, who)), inst.logtext()
    inst.stop()
    inst.start()
    send_unauthenticated(inst.port, MALLORY, [LIST], forged("bob@example.org", "after the restart"))
    assert inst.wait_log("confirmation withheld (auth.confirms_per_instance reached)"), inst.logtext()
    assert to(sink, "bob@example.org") == [] and to(sink, MALLORY) == []


def test_help_to_an_unverified_sender_is_within_the_budget(make_instance, sink):
    """a mail without commands to -request is answered with the help: to senders the list cannot
    verify, within auth.answers_per_instance (backscatter to forged addresses)"""
    inst = make_instance(members=(TARGET, MOD), extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; '
                         'answers_per_instance = 1; };', list_settings={"identity.mode": "pseudonym"})
    # one after the other: two arrivals in one second are handled in either order (order.c)
    send_unauthenticated(inst.port, STRANGER, [REQUEST], forged(STRANGER, "hello", REQUEST))
    assert wait_until(lambda: to(sink, STRANGER)), inst.logtext()
    who = "other@example.org"
    send_unauthenticated(inst.port, who, [REQUEST], forged(who, "hello", REQUEST))
    assert inst.wait_log("answer withheld (auth.answers_per_instance reached)"), inst.logtext()
    assert to(sink, "other@example.org") == []


# --- how the suite's members authenticate (conftest.py), and when answers leave -----------------

def test_suite_members_post_signed_by_their_domain(make_instance, sink):
    """conftest's smtplib hook signs with dkimpy for the From domain and the session's unbound
    serves the key: mlistd's own verifier decides (Ed25519 for example.org, RSA-2048 for
    example.net), and no listener but LMTP believes an Authentication-Results"""
    dave = "dave@example.net"
    inst = make_instance(members=(TARGET, dave, "bob@example.org"))
    for who in (TARGET, dave):
        with smtplib.SMTP("127.0.0.1", inst.port) as s:
            s.sendmail(who, [LIST], forged(who, f"signed by {who}"))
    got = wait_until(lambda: len(to(sink, "bob@example.org")) >= 2)
    assert got, inst.logtext()
    assert all(b"Forged." in c for c in to(sink, "bob@example.org"))
    log = inst.logtext()
    assert log.count("authn level=dkim-aligned source=own") == 2, log
    assert "listener=behind-mta" not in log.split("authn level=dkim-aligned")[1]
    # unsigned, and with the suite's A-R id written by the client: a claim, held for the mailbox
    ar = (f"Authentication-Results: {AUTHSERV_ID};\r\n\tdmarc=pass header.from=example.org\r\n"
          ).encode()
    send_unauthenticated(inst.port, MALLORY, [LIST], ar + forged(TARGET, "forged A-R"))
    ask = wait_until(lambda: [c for c in to(sink, TARGET) if b"received a post in your name" in c])
    assert ask, inst.logtext()
    assert len(to(sink, "bob@example.org")) == 2


def date_of(copy):
    import email.utils
    m = re.search(rb"(?m)^Date: (.*)\r$", copy.split(b"\r\n\r\n", 1)[0])
    return email.utils.parsedate_to_datetime(m.group(1).decode()).timestamp()


def test_answers_to_a_claim_leave_after_the_answer_delay(make_instance, sink):
    """an answer to a sender the list could not authenticate leaves at arrival + auth.answer_delay
    + jitter, whoever the claim names (member, moderator, nobody) and whatever path it took: never
    sooner, by its Date and by when it reaches the relay; bench/answer-timing measures the rest"""
    delay = 3
    members = (TARGET, MOD, "bob@example.org")
    inst = make_instance(members=members, start=False, list_settings={
        "identity.mode": "pseudonym"},
        extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; answer_delay = {delay}; '
              'answer_jitter = 1; answers_per_address = 1000; };')
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    inst.start()
    sent, seen = {}, {}

    def arrived(n):
        for who in (TARGET, MOD, STRANGER):
            for c in to(sink, who):
                kind = "post" if b"received a post in your name" in c else "request"
                seen.setdefault((who, kind), (time.time(), c))
        return len(seen) >= n
    # a -request command from each claimed address, then (the per-address spacing past) a post
    # in each one's name
    for who in (TARGET, MOD, STRANGER):
        sent[(who, "request")] = time.time()
        send_unauthenticated(inst.port, who, [REQUEST], forged(who, "who", REQUEST))
    assert wait_until(lambda: arrived(3), 40), (seen.keys(), inst.logtext())
    time.sleep(1)
    for i, who in enumerate((TARGET, MOD, STRANGER)):
        sent[(who, "post")] = time.time()
        send_unauthenticated(inst.port, MALLORY, [LIST], forged(who, f"claim {i}"))
    assert wait_until(lambda: arrived(5), 40), (seen.keys(), inst.logtext())
    # each claim got its answer: the request's to all three, the post's to the two members
    assert set(seen) == set(sent) - {(STRANGER, "post")}, seen.keys()
    for k, (at, copy) in seen.items():
        assert at >= sent[k] + delay, (k, at - sent[k])
        assert date_of(copy) > sent[k] + delay - 1, (k, date_of(copy) - sent[k])
    assert to(sink, MALLORY) == []
    assert "over auth.answer_delay" not in inst.logtext()
