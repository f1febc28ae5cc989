"""test_attacks11d - round 11d: what round 11c left unprobed, attacked
through the real daemon as a hostile member, informer or stranger.

Each test asserts the SAFE behaviour; a finding not fixed stays
xfail(strict=True, reason=...). Found on 0062960 (severity H/M/L):
  F1 (L) a public warning paired a member's number with her pseudonym:
    the public warning names the pseudonym to every member, and the
    audit entry written at the same moment ("member 521a876c8a: step 1,
    a public warning") names her number; a member reading `audit` after
    the warning paired the two, and through the number her admission
    date, her earlier private warnings, a later suspension or ban - the
    sibling of round 11c's rename. F1b: with the number gone, "step 2"
    still pointed at the one member whose step 1 the log listed. Fixed
    (disclosure.c unpaired: members read "a member: a public warning",
    piece [audit-warning-public-unpaired]; moderators and the operator
    the number and the step, as before).
  F2 (L) bidi and zero-width characters reached the operator's terminal:
    `mlistctl mod show` wrote ESC as ^[ (cat -v) but passed U+202E
    (RIGHT-TO-LEFT OVERRIDE), U+2066 (isolates), U+200B (zero width) from
    an applicant's introduction as they were: the operator read the
    introduction, and the line after it, reordered or with hidden text.
    Fixed (mlistctl.c put_visible: such a character is shown <U+202E>).
  F3 (M) a stranger learned whether an address is a member: a forged
    `unsubscribe` (or `set ...`) naming a member was charged to the
    members' confirmations, one naming nobody to the instance's answers
    (auth.answers_per_instance); after as many forged claims as that
    budget, the stranger's own `help` was answered if and only if the
    address named was a member - on a list with disclosure.roster =
    "none". Fixed (request.c answer_budget: both budgets are spent
    whoever is named; each kind of address still answered from its own).
  F4 (L) NOT FIXED, xfail(strict): the same pairing as F1 by `who` before
    and after: a leaving, an expulsion, a suspension or an admission is
    listed to members with the member's number at the moment a name
    leaves or joins `who`. Hiding it means no member numbers in the
    members' audit at all (what lets them follow one member's steps).
Probed, no finding:
  LIST-owner+HANDLE@ written to by a member (not a moderator) for a
    member's, a demoted moderator's, a former member's and a made-up
    handle: one DATA answer, the same note back (1189 bytes each), medians
    of the time to 250 within 3 ms (load ~4), nothing reaches the handle's
    owner;
  every -request verb (help, who, audit, keys, keys NAME, archive index
    and get, subscribe with an introduction, unsubscribe, set pseudonym/
    identity/digest/nomail, key, confirm) forged unsigned as a member, a
    moderator, a former member and nobody: one SMTP answer, answers only
    to the address named, of the same length (addresses aside);
  bidi, zero-width and C1 characters in a requested pseudonym are refused
    by the name's form check (pseudonym.c); a raw ESC in a Subject or a
    display name makes the post unparseable (quarantined), an encoded one
    reaches `mod show` encoded; `mod ls`, `member ls`, `audit`, `status`
    show none of them.
"""
import os
import random
import re
import smtplib

import pytest

from conftest import wait_until
from test_audit_order import ask, body, to, token

MOD = "m1@example.org"
PROBERS = ("dan@example.org", "eve@example.org", "fay@example.org",
           "gus@example.org")
ROUNDS = int(os.environ.get("ATTACK11D_ROUNDS", "8"))
ORDER = (("zed@example.org", "Zebra Moon"), ("abe@example.org", "Amber Fox"),
         ("mia@example.org", "Misty Owl"), ("bob@example.org", "Blue Heron"))


def send(inst, raw, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def hidden_list(make_instance, settings=None):
    """a pseudonymous list, leadership hidden, m1 its moderator"""
    base = {"identity.mode": "pseudonym", "disclosure.roster": "members",
            "leadership.visibility": "hidden",
            "leadership.discipline_days": "0"}
    inst = make_instance(list_settings=dict(base, **(settings or {})),
                         members=[a for a, _ in ORDER] + [MOD])
    for a, name in ORDER:
        inst.ctl("member", "set", "demo", a, "pseudonym", name)
    inst.ctl("member", "set", "demo", MOD, "role", "moderator")
    return inst


def discipline(inst, sink, name, n):
    """m1 asks for a step on name and confirms it (her n-th request)"""
    ask_mark = b"Confirm a discipline step"
    send(inst, f"From: {MOD}\r\nSubject: discipline {name}\r\n\r\n"
         f"Reason {n}.\r\n".encode(), MOD,
         "demo-owner+discipline@lists.example")
    got = wait_until(lambda: len(to(sink, MOD, ask_mark)) >= n)
    assert got, inst.logtext()[-2000:]
    send(inst, b"From: m1@example.org\r\nSubject: Re\r\n\r\nyes\r\n", MOD,
         f"demo-confirm+{token(to(sink, MOD, ask_mark)[n - 1])}"
         "@lists.example")


def refs(audit_text):
    """the members' numbers an audit answer names"""
    return set(re.findall(r"member [0-9a-f]{10}", audit_text))


# ---- pairings in `who` and `audit` ------------------------------------------

def public_warning_seen(inst, sink, n):
    """bob got the public warning naming Amber Fox; his n-th `audit` answer,
    and its lines about the public warning (at least one)"""
    warned = wait_until(lambda: to(sink, "bob@example.org",
                                   b"A public warning"))
    assert warned and b"Amber Fox" in warned[0], inst.logtext()[-2000:]
    after = ask(inst, sink, "bob@example.org", "audit", n)
    lines = [ln for ln in after.splitlines() if "public warning" in ln]
    assert lines, after
    return after, lines


def test_a_public_warning_does_not_pair_number_and_pseudonym(make_instance,
                                                            sink):
    """F1: the public warning names Amber Fox; bob's `audit` after it must
    not name, in the entry of that step, a number his earlier `audit`
    showed for an admission"""
    inst = hidden_list(make_instance, {"leadership.discipline": "public"})
    before = ask(inst, sink, "bob@example.org", "audit", 1)
    admitted = refs(before)
    assert len(admitted) >= 4, before
    discipline(inst, sink, "Amber Fox", 1)
    after, lines = public_warning_seen(inst, sink, 3)
    assert not [r for r in refs("\n".join(lines)) if r in admitted], lines
    # the moderators and the operator still read the number
    op = inst.ctl("audit", "demo").stdout
    assert [ln for ln in op.splitlines() if "public warning" in ln
            and refs(ln) & admitted], op


# ---- the operator's terminal and the moderators' mail -----------------------

BAD = ("\x1b]0;owned\x07", "\x1b[2J", "\u202e", "\u200b", "\u2066",
       "\x9b")


def bad_in(text):
    """the hostile characters text still holds"""
    return [repr(b) for b in BAD if b in text]


def test_escapes_do_not_reach_the_operators_terminal(make_instance, sink):
    """a Subject, a display name and an introduction carrying ESC, BEL,
    CSI, bidi overrides and zero-width spaces, raw and in encoded words:
    `mod ls`, `member ls`, `audit` and `status` show none of them"""
    import base64
    inst = make_instance(list_settings={"posting": "moderated",
                                        "subscription": "approve"})
    evil = "Hi \x1b]0;owned\x07\x1b[2J\u202eevil\u200b\u2066 \x9b31m"
    word = "=?utf-8?b?" + base64.b64encode(evil.encode()).decode() + "?="
    raw = evil.replace("\u202e", "").replace("\u200b", "")
    raw = raw.replace("\u2066", "").replace("\x9b", "")
    for subj, name in ((word, word), (raw, raw)):
        send(inst, f"From: {name} <bob@example.org>\r\nSubject: {subj}\r\n"
             "\r\nheld\r\n".encode(), "bob@example.org",
             "demo@lists.example")
    send(inst, f"From: {word} <new@example.net>\r\nSubject: {word}\r\n\r\n"
         f"subscribe\r\n{evil}\r\n".encode(), "new@example.net",
         "demo-request@lists.example")
    ans = wait_until(lambda: to(sink, "new@example.net", b"demo-confirm+"))
    assert ans, inst.logtext()[-2000:]
    send(inst, b"From: new@example.net\r\nSubject: Re\r\n\r\nconfirm\r\n",
         "new@example.net", f"demo-confirm+{token(ans[0])}@lists.example")
    assert wait_until(lambda: len(inst.ctl("mod", "ls", "demo").stdout
                                  .splitlines()) >= 2), \
        inst.ctl("mod", "ls", "demo").stdout + inst.logtext()[-3000:]
    # a pseudonym with them is refused by the name's form
    for name in ("Red\u202eFox", "Red\u200bFox", "Red\x1b[2JFox",
                 "Red\u2066Fox", "Red\x9bFox"):
        r = inst.ctl("member", "set", "demo", "bob@example.org",
                     "pseudonym", name, check=False)
        assert r.returncode == 1, (name, r.returncode, r.stdout)
    outs = {v: inst.ctl(*v.split(), "demo").stdout
            for v in ("mod ls", "member ls", "audit")}
    outs["status"] = inst.ctl("status").stdout
    for held in re.findall(r"^([0-9A-F]{24}) ", outs["mod ls"], re.M):
        outs["mod show " + held] = inst.ctl("mod", "show", "demo",
                                            held).stdout
    print(outs)
    found = {k: bad_in(v) for k, v in outs.items() if bad_in(v)}
    assert found == {}, (found, {k: outs[k][:600] for k in found})


# ---- -request from a forged sender ------------------------------------------

def forge(port, sender, text):
    """an unsigned -request mail whose envelope and From: claim sender"""
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail(sender, ["demo-request@lists.example"],
                   f"From: {sender}\r\nSubject: x\r\n\r\n{text}\r\n"
                   .encode())


def budget_probe(make_instance, sink, target, n):
    """a stranger forges three `unsubscribe` claims naming target on an
    instance allowed three answers an hour, then asks `help` herself:
    what reaches her mailbox"""
    from attackhelp import idle
    from conftest import AUTHSERV_ID
    me = f"spy{n}@evil.example"
    inst = make_instance(members=("bob@example.org", "carol@example.org"),
                         extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}";'
                         ' answers_per_instance = 3; };',
                         list_settings={"disclosure.roster": "none"})
    for i in range(3):
        forge(inst.direct_port, target, "unsubscribe")
    assert wait_until(lambda: inst.logtext().count("kind=request") >= 3
                      and idle(inst), 30), inst.logtext()[-2000:]
    forge(inst.direct_port, me, "help")
    assert wait_until(lambda: inst.logtext().count("kind=request") >= 4
                      and idle(inst), 30), inst.logtext()[-2000:]
    # the claims were answered, to the mailbox they named
    assert [m for m in sink.handler.messages if target in m[1]], \
        inst.logtext()[-2000:]
    return [len(m[2]) for m in sink.handler.messages if me in m[1]]


def test_forged_claims_spend_the_same_budget_for_members_and_nobody(
        make_instance, sink):
    """F3: whether the stranger's own `help` is answered after her forged
    claims must not tell whether the address they named is a member"""
    got = {k: budget_probe(make_instance, sink, addr, i)
           for i, (k, addr) in enumerate((("member", "bob@example.org"),
                                          ("nobody", "dan@example.org")))}
    print(got)
    assert len({len(v) for v in got.values()}) == 1, got
    # the spy learns nothing either way: her own answer never comes
    assert got["member"] == [], got


# ---- LIST-owner+HANDLE@ by whose handle -------------------------------------

def owner_handles(inst, sink):
    """the handles m1 reads in the copies of mail to LIST-owner@ by rosa
    (a member), m2 (a moderator, then demoted), carol (then removed); and
    a made-up one"""
    from test_identity import ROSA, copies_to, send as isend
    out = {}
    for who, name in ((ROSA, "member"), ("m2@example.org", "demoted"),
                      ("carol@example.org", "former")):
        mark = f"to the owners from the {name}".encode()
        isend(inst, b"From: " + who.encode() + b"\r\nSubject: q\r\n\r\n"
              + mark + b"\r\n", sender=who, rcpt="demo-owner@lists.example")
        got = wait_until(lambda: [c for c in copies_to(sink, MOD)
                                  if mark in c])
        assert got, inst.logtext()[-2000:]
        out[name] = re.search(rb"demo-owner\+([0-9a-zA-Z_-]+)@",
                              got[0]).group(1).decode()
    # the operator alone (two moderators: else a request for the quorum)
    inst.ctl("--emergency", "member", "set", "demo", "m2@example.org",
             "role", "member")
    inst.ctl("--emergency", "member", "rm", "demo", "carol@example.org")
    h = out["member"]
    out["nobody"] = h[:-4] + "".join("b" if c == "a" else "a"
                                     for c in h[-4:])
    return out


def test_owner_handles_answer_alike_to_a_member(make_instance, sink):
    """bob (a member, not a moderator) writes to LIST-owner+HANDLE@ for a
    member's, a demoted moderator's, a former member's and a made-up
    handle: one RCPT and DATA answer, the same notes back (sizes), medians
    of the time to the answer close"""
    import statistics
    from attackhelp import idle
    from test_attacks11c import record_data
    from test_identity import ROSA, ident_instance, copies_to
    inst = ident_instance(make_instance, "pseudonym",
                          {"leadership.visibility": "hidden"},
                          members=(ROSA, "bob@example.org",
                                   "carol@example.org", MOD,
                                   "m2@example.org") + PROBERS)
    for m in (MOD, "m2@example.org"):
        inst.ctl("member", "set", "demo", m, "role", "moderator",
                 check=False)
    hs = owner_handles(inst, sink)
    print(hs)
    assert len(set(hs.values())) == 4, hs
    assert wait_until(lambda: idle(inst), 20)
    answers, times, notes = {}, {}, {}

    def probe(who, k, h, rnd):
        rcpt = f"demo-owner+{h}@lists.example"
        raw = (f"From: {who}\r\nTo: {rcpt}\r\nSubject: r {rnd}\r\n\r\n"
               f"an answer, {rnd}.\r\n").encode()
        record_data(inst.port, who, rcpt, raw, k, answers, times)
        assert wait_until(lambda: idle(inst), 20)
    # the notes back: one an hour per writer, so each kind its own writer
    for who, (k, h) in zip(PROBERS, sorted(hs.items())):
        probe(who, k, h, 0)
        notes[k] = [len(c) for c in copies_to(sink, who)]
    for rnd in range(1, ROUNDS):
        for k, h in sorted(hs.items(), key=lambda kv: random.random()):
            probe("bob@example.org", k, h, rnd)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(answers, med, notes)
    assert answers["nobody"] and 250 in {c for c, _ in answers["nobody"]}
    assert len({frozenset(v) for v in answers.values()}) == 1, answers
    assert notes["nobody"], notes
    assert len({repr(v) for v in notes.values()}) == 1, notes
    assert max(med.values()) - min(med.values()) < 0.01, med
    # nothing of bob's reached rosa, the demoted or the former member
    for w in (ROSA, "m2@example.org", "carol@example.org"):
        assert not [c for c in copies_to(sink, w) if b"an answer," in c]


@pytest.mark.xfail(strict=True, reason="F4 (L, not fixed): a member's "
                   "number in the members' audit (admission, leaving, "
                   "suspension, ban) is paired with the name `who` stops "
                   "or starts showing at that moment; hiding it would take "
                   "the numbers out of the members' audit altogether")
def test_a_leaving_does_not_pair_number_and_name(make_instance, sink):
    """bob asks `who` and `audit`, Misty Owl leaves, bob asks again: the
    name gone from `who` must not be tied to a number the audit named"""
    inst = hidden_list(make_instance)
    who0 = ask(inst, sink, "bob@example.org", "who", 1)
    audit0 = ask(inst, sink, "bob@example.org", "audit", 2)
    assert "Misty Owl" in who0, who0
    inst.ctl("member", "rm", "demo", "mia@example.org")
    who1 = ask(inst, sink, "bob@example.org", "who", 3)
    audit1 = ask(inst, sink, "bob@example.org", "audit", 4)
    assert "Misty Owl" not in who1 and "Blue Heron" in who1, who1
    new = [ln for ln in audit1.splitlines() if ln not in audit0]
    assert new, audit1
    assert not refs("\n".join(new)) & refs(audit0), new


VERBS = ("help\nwho\naudit\nkeys\nkeys Amber Fox\narchive index\n"
         "archive get 1",
         "subscribe\nHello, it is me.",
         "unsubscribe",
         "set pseudonym Quiet Lark\nset identity pseudonym\n"
         "set digest on\nset nomail on",
         "key ed25519:" + "A" * 43 + "=",
         "confirm " + "0" * 40)


def test_forged_request_verbs_answer_alike_for_whoever_is_named(
        make_instance, sink):
    """every -request verb, forged (unsigned) as a member, a moderator, a
    former member and nobody: one SMTP answer each; what comes back goes
    only to the address named, and is as long whoever that is"""
    from attackhelp import idle
    from test_attacks11c import forged
    inst = hidden_list(make_instance, {"leadership.discipline": "warn"})
    inst.ctl("member", "add", "demo", "old@example.org")
    inst.ctl("member", "rm", "demo", "old@example.org")
    who = {"member": "bob@example.org", "moderator": MOD,
           "former": "old@example.org", "nobody": "dan@example.org"}
    answers, sizes = {}, {}
    for i, text in enumerate(VERBS):
        for k, addr in who.items():
            n0 = len(sink.handler.messages)
            raw = (f"From: {addr}\r\nTo: demo-request@lists.example\r\n"
                   "Subject: x\r\n\r\n" + text.replace("\n", "\r\n")
                   + "\r\n").encode()
            rc, dc, _ = forged(inst.direct_port, addr,
                               "demo-request@lists.example", raw)
            answers.setdefault(k, []).append((rc, dc))
            assert wait_until(lambda: idle(inst), 30), inst.logtext()[-2000:]
            got = sink.handler.messages[n0:]
            assert all(m[1] == [addr] for m in got), (k, text, got)
            sizes.setdefault(k, []).append(
                [len(m[2]) - m[2].count(addr.encode()) * len(addr)
                 for m in got])
    print(answers["nobody"], sizes)
    assert any(s for s in sizes["nobody"]), sizes
    assert len({repr(v) for v in answers.values()}) == 1, answers
    assert len({repr(v) for v in sizes.values()}) == 1, sizes


def test_a_public_warning_step_does_not_pair_with_earlier_steps(
        make_instance, sink):
    """F1b: Amber Fox has a private warning (step 1, listed with her
    number), then a public one: the members' entry of the public warning
    must not say which step it was, or "step 2" points at the one member
    whose step 1 the log shows"""
    inst = hidden_list(make_instance,
                       {"leadership.discipline": "warn, public"})
    discipline(inst, sink, "Amber Fox", 1)
    assert wait_until(lambda: to(sink, "abe@example.org",
                                 b"A warning from the moderators"))
    discipline(inst, sink, "Amber Fox", 2)
    after, lines = public_warning_seen(inst, sink, 2)
    assert [ln for ln in after.splitlines() if "private warning" in ln]
    assert not [ln for ln in lines if "step" in ln], lines
