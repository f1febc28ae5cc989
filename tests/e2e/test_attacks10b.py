"""test_attacks10b - main as a hostile member, a hostile moderator or a local user would attack
it (round 10b): the control socket and mlistctl, the -request verbs, OpenPGP key registration,
archive and digest disclosure, hidden leadership in the answers, answers that must not tell a
member from a moderator from nobody.

Each test asserts the SAFE behaviour; a finding not fixed stays xfail(strict=True, reason=...).
Found on 6cb5caf (severity H/M/L):
  F1 (M) on a hidden leadership (the default) a moderator learned which members moderate:
    `discipline NAME` to LIST-owner+discipline@ answered at once "That is a moderator" for a
    fellow moderator's pseudonym (or address, or #N: every member number swept in minutes),
    and "Confirm a discipline step" for anyone else - silently, nothing audited, nobody told.
    An infiltrated moderator could so list the hidden leadership. Fixed (discipline.c): on a
    hidden leadership a moderator is asked to confirm as for any member, and a warning is
    given to a moderator as to anyone (words, not power); only the suspension, which would
    remove her and her role without the quorum, is refused - after the steps before it, each
    confirmed, spaced, audited, one of them public.
  F2 (M) the ladder checked the target's role only when the step was asked for, never when
    it was confirmed: a member promoted to moderator meanwhile (a quorum of roles, or the
    operator) was then suspended - removed with her role - by one moderator alone. Fixed
    (discipline.c: the role is checked again when the step is applied).
  F3 (H on a host with other users) a listener behind_mta on loopback (Postfix's
    lmtp:inet:127.0.0.1:PORT, as README and the demo set it up) is reached by every user of
    the host, and the Authentication-Results they write were believed: a local user (a web
    application's, a shell account) could post, confirm, vote and register keys as any member
    or moderator. TCP carries no credentials. Fixed (new listen[].mta_user, ingest/peeruid.c:
    the client end's uid in /proc/net/tcp, as identd reads it; another uid is a direct
    client, and held to max_connections_per_client like one); without it the start warns.
    Not on by default: existing instances unchanged.
  F4 (L) `mlistctl list set LIST KEY VALUE` of a guarded setting opened the quorum request
    (exit 3, every moderator asked by mail) for a value the list file refuses (identity.mode
    "bogus"): the moderators voted, and the approved change was "not applied". Fixed
    (config_list_check before act_grave: exit 1 with the file's error, nothing asked).
  F5 (L) a key over the 64 KiB the key finder looks at (gpg --armor --export of a key with a
    photo ID, or with many others' signatures) was answered "The list found no OpenPGP public
    key ... (gpg --armor --export)": the member was sent back to the command that made it.
    Fixed (pgpkeyin.c notes it, pgpin_key.c refuses it: reason pgp-too-big, with the gpg
    command that exports the minimal key).
Probed, no finding (tests elsewhere guard them where named):
  control socket: STATE_DIR/control is made 0600 under umask 0177 (no window) in a 0700
    state_dir; a refused peer is answered before its request is read and never run; frames
    are bounded (16 MiB, 48 arguments, every string NUL-ended: test_attacks6's hostile
    frames); an answer holding a NUL is not built (the client says "no answer"), no bytes of
    it leak. Only root and the daemon's uid are served; with smtp_user the internet-facing
    server is another uid (test_attacks7).
  mlistctl: 26 failing verbs (unknown list, member, held id, setting, value, pseudonym, role,
    path) each exit 1 or 2 with one line on stderr, a request 3; only F4 was wrong.
  -request: `key ed25519:KEY` answers member and nobody alike (a token stored for members
    only); `keys NAME` gives outsiders one text (test_attacks5); `archive get N` of a post
    from before one joined answers as a number that does not exist (test_attacks6); a
    pseudonym asked for is checked for its form only, taken or not is said at confirmation,
    to the mailbox. The archive index numbers posts as the archive does: a newcomer with
    archive.since_join sees from which number her reading starts, so how many posts came
    before her (the list's volume, L, by design: renumbering would break `archive get N`).
  OpenPGP: an Autocrypt header whose addr is another's is not taken (test_attacks5); a key
    already registered by another member is said ("taken") only after its token, which
    travels encrypted to that key: a copier of someone's public key cannot read it, so
    learns nothing; a key with 100 user IDs is cut to its primary one (test_attacks5);
    member keys are sealed in the store, their fingerprints keyed; a renamed pseudonym keeps
    its handle and key (README: handles are permanent, a reputation by design).
  hidden leadership: `who` shows no leaders to anyone by mail, moderators included; the
    audit log is renumbered for members and shows no role change. By reading: the
    grave-action notice's {needed} is min(quorum, moderators) for an unmasking or an
    admission, so a moderator can tell their number when it is under the quorum; moderators
    read the audit log as written (who agreed, how many) anyway: noted, not changed.
  answer timing: answers to an unauthenticated claim leave at arrival + auth.answer_delay +
    jitter whoever the claim names (test_authn); SMTP replies do not depend on membership
    (the server holds public keys only).
  the operator, by reading: on a masked list `member ls` shows each pseudonym beside the
    member's audit ref, and any `member set LIST ADDRESS ...` the operator makes is audited
    under that ref, so two commands tie an address to its pseudonym without `unmask`'s
    quorum. Not fixed: the operator's mlistctl holds the master key and opens the sealed
    link itself; the quorum binds the moderators, not root (noted for the lead).
Not probed: vouching requests' naming; a digest of a list whose identity mode changed.
"""
import json
import os
import re

from attackhelp import ALICE, BOB, MODS, send, to
from conftest import wait_until

HOST = "lists.example"
DISCIPLINE = "demo-owner+discipline@lists.example"


def token(raw):
    """the confirmation token an answer carries"""
    return re.search(rb"demo-confirm\+([0-9a-f]{40})@lists\.example", raw).group(1).decode()


def leaders(inst):
    """demo's moderators as the operator reads them: their pseudonyms, "" none; and how many
    members there are"""
    rows = json.loads(inst.ctl("--json", "member", "ls", "demo").stdout)
    return sorted(r["pseudonym"] for r in rows if r["role"] in ("moderator", "owner")), len(rows)


def hidden_list(make_instance, ladder="warn, warn, public, suspend:30", **extra):
    """demo, real names (the operator's roster shows addresses), hidden leadership, two
    moderators; bob and m2 hold pseudonyms"""
    s = {"identity.mode": "pseudonym", "leadership.visibility": "hidden",
         "leadership.discipline": ladder, "leadership.discipline_days": "0"}
    s.update(extra)
    inst = make_instance(members=(ALICE, BOB) + MODS, start=False, list_settings=s)
    for m in MODS:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.ctl("member", "set", "demo", BOB, "pseudonym", "Quiet Birch")
    inst.ctl("member", "set", "demo", MODS[1], "pseudonym", "Steady Cedar")
    inst.start()
    return inst


def answers(sink):
    """m1's answers from the discipline address, oldest first"""
    return [m for m in to(sink, MODS[0]) if b"Subject: Discipline" in m or
            b"Subject: Confirm a discipline" in m]


def ask(inst, sink, name):
    """m1's `discipline NAME`, authenticated; the answer she gets"""
    n = len(answers(sink))
    send(inst, f"From: {MODS[0]}\r\nSubject: discipline {name}\r\n\r\nRude.\r\n", MODS[0],
         rcpt=DISCIPLINE)
    got = wait_until(lambda: len(answers(sink)) > n and answers(sink))
    assert got, inst.logtext()[-3000:]
    return got[n]


def done_answers(sink):
    """what m1 is told once she confirmed a step"""
    return [m for m in to(sink, MODS[0]) if b"Subject: Confirm a discipline" not in m and
            b"Subject: Discipline" not in m]


def shape(raw, name):
    """what m1 can compare of two answers: Subject and body, the name, ids, tokens, dates out"""
    head, body = raw.split(b"\r\n\r\n", 1)
    subj = re.search(rb"^Subject: (.*)$", head, re.M).group(1)
    body = body.replace(name.encode(), b"NAME")
    body = re.sub(rb"[0-9a-f]{12,}", b"H", body)
    body = re.sub(rb"\(member #[^)]*\)", b"(member #N)", body)
    return subj, body


def confirm(inst, mod, raw):
    send(inst, f"From: {mod}\r\nSubject: Re\r\n\r\nconfirm\r\n".encode(), mod,
         rcpt=f"demo-confirm+{token(raw)}@lists.example")


def test_f1_discipline_answer_does_not_tell_a_moderator_who_else_moderates(make_instance, sink):
    """m1 names bob's pseudonym, then m2's (hidden leadership): the two answers must be alike,
    and both must be the confirmation a member's step gets."""
    inst = hidden_list(make_instance)
    member = ask(inst, sink, "Quiet Birch")
    fellow = ask(inst, sink, "Steady Cedar")
    assert b"Confirm a discipline step" in member, member[:1500]
    assert shape(fellow, "Steady Cedar") == shape(member, "Quiet Birch"), fellow[:1500]
    assert b"moderator:" not in fellow and b"That is a moderator" not in fellow


def test_f1_a_fellow_moderator_is_warned_but_never_suspended_alone(make_instance, sink):
    """The hidden moderator m2 named in a one-step ladder (a suspension): m1 confirms; m2
    stays a member and a moderator; a warning step reaches her as it would a member."""
    inst = hidden_list(make_instance, ladder="warn, suspend:30")
    before = leaders(inst)
    confirm(inst, MODS[0], ask(inst, sink, "Steady Cedar"))
    warned = wait_until(lambda: to(sink, MODS[1], b"A warning from the moderators"))
    assert warned, inst.logtext()[-3000:]
    assert wait_until(lambda: len(done_answers(sink)) >= 1)
    confirm(inst, MODS[0], ask(inst, sink, "Steady Cedar"))
    done = wait_until(lambda: len(done_answers(sink)) >= 2 and done_answers(sink))
    assert done, inst.logtext()[-3000:]
    assert b"not done" in done[1], done[1][:1500]
    assert leaders(inst) == before, inst.logtext()[-3000:]
    assert to(sink, MODS[1], b"Suspended from the list") == []


def test_f2_a_member_promoted_meanwhile_is_not_suspended_by_one_moderator(make_instance, sink):
    """m1 asks to suspend bob (a one-step ladder); before she confirms, bob becomes a moderator
    (the operator, quorum_roles above the moderators' number); her confirmation must not
    remove a moderator."""
    inst = hidden_list(make_instance, ladder="suspend:30", **{"leadership.quorum_roles": "5"})
    raw = ask(inst, sink, "Quiet Birch")
    assert b"Confirm a discipline step" in raw
    inst.ctl("member", "set", "demo", BOB, "role", "moderator")
    promoted = leaders(inst)
    assert "Quiet Birch" in promoted[0]
    confirm(inst, MODS[0], raw)
    done = wait_until(lambda: done_answers(sink))
    assert done, inst.logtext()[-3000:]
    assert b"not done" in done[0], done[0][:1500]
    assert to(sink, BOB, b"Suspended from the list") == []
    assert leaders(inst) == promoted, inst.logtext()[-3000:]


# ---- F3: a local user on the host writes to the listener behind the MTA ---------------------------

AR = ("Authentication-Results: mx.lists.example;\r\n\tdkim=pass header.d=example.org "
      "header.i=@example.org;\r\n\tdmarc=pass header.from=example.org\r\n")


def lmtp_instance(make_instance, mta_user):
    """demo on an instance whose LMTP listener (behind_mta, loopback) takes only mta_user's
    connections as the MTA's"""
    from conftest import AUTHSERV_ID
    inst = make_instance(members=(ALICE, BOB), start=False, lmtp=True,
                         extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; }};')
    text = open(inst.conf).read()
    text, n = re.subn(r'(protocol = "lmtp"; behind_mta = true;)',
                      rf'\1 mta_user = "{mta_user}";', text)
    assert n == 1, text
    open(inst.conf, "w").write(text)
    inst.start()
    return inst


def lmtp_post(inst, marker):
    """bob's post with the front MTA's dkim=pass, written by whoever reaches the port"""
    import smtplib
    raw = (AR + f"From: {BOB}\r\nTo: demo@lists.example\r\nSubject: {marker}\r\n"
           f"Message-ID: <{marker}@example.org>\r\n\r\nForged {marker}.\r\n").encode()
    with smtplib.LMTP("127.0.0.1", inst.lmtp_port) as s:
        s.sendmail(BOB, ["demo@lists.example"], raw)


def test_f3_a_local_user_is_not_the_mta_in_front(make_instance, sink):
    """The LMTP listener is on loopback, as Postfix's lmtp:inet:127.0.0.1 wants it: any user of
    the host reaches it, and without a check its Authentication-Results made them any member.
    With mta_user naming the MTA's user, a connection from another uid (this test's, not
    nobody's) is believed no more than a direct client: bob is asked, nobody gets the post."""
    inst = lmtp_instance(make_instance, "nobody")
    lmtp_post(inst, "f3-local")
    ask = wait_until(lambda: [c for c in to(sink, BOB) if b"received a post in your name" in c])
    assert ask, inst.logtext()[-3000:]
    assert [c for c in to(sink, ALICE) if b"Forged f3-local" in c] == []
    assert "not mta_user" in inst.logtext()


def test_f3_the_mta_users_connection_is_believed(make_instance, sink):
    """the control: mta_user is this test's own user (the MTA here), its A-R is believed"""
    import pwd
    inst = lmtp_instance(make_instance, pwd.getpwuid(os.getuid()).pw_name)
    lmtp_post(inst, "f3-mta")
    got = wait_until(lambda: [c for c in to(sink, ALICE) if b"Forged f3-mta" in c])
    assert got, inst.logtext()[-3000:]
    assert "not mta_user" not in inst.logtext()


def test_f3_another_local_user_cannot_take_every_lmtp_slot(make_instance, sink):
    """LMTP listeners are exempt from max_connections_per_client (their client is the MTA):
    with mta_user set, another user's connections are held to it, the MTA's are not"""
    import socket
    from conftest import AUTHSERV_ID
    inst = make_instance(members=(ALICE, BOB), start=False, lmtp=True,
                         extra=f'auth = {{ authserv_id = "{AUTHSERV_ID}"; }};\n'
                               'limits = { max_connections_per_client = 3; };')
    text = open(inst.conf).read().replace('protocol = "lmtp"; behind_mta = true;',
                                          'protocol = "lmtp"; behind_mta = true; '
                                          'mta_user = "nobody";')
    open(inst.conf, "w").write(text)
    inst.start()
    conns = [socket.create_connection(("127.0.0.1", inst.lmtp_port), timeout=5)
             for _ in range(3)]
    for c in conns:
        assert c.recv(4096).startswith(b"220")
    extra = socket.create_connection(("127.0.0.1", inst.lmtp_port), timeout=5)
    assert extra.recv(4096).startswith(b"421 4.7.0 Too many connections from your address")
    for c in conns + [extra]:
        c.close()


def test_f3_mta_user_only_where_it_can_be_checked(make_instance, sink, tmp_path):
    """mta_user on a listener not behind the MTA, or naming nobody of this host: `mlistd -t`
    names the setting (a check that cannot run must not look like one)"""
    import subprocess
    from conftest import MLISTD
    inst = make_instance(members=(ALICE,), start=False, lmtp=True)
    base = open(inst.conf).read()
    for sub, words in ((r'\1 mta_user = "nobody";', "only on a behind_mta listener"),):
        text = re.sub(r'(port = %d;)' % inst.direct_port, sub, base)
        open(inst.conf, "w").write(text)
        r = subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True)
        assert r.returncode == 1 and "mta_user" in r.stdout + r.stderr, r.stdout + r.stderr
        assert words in r.stdout + r.stderr
    text = base.replace('protocol = "lmtp"; behind_mta = true;',
                        'protocol = "lmtp"; behind_mta = true; mta_user = "no-such-user-10b";')
    open(inst.conf, "w").write(text)
    r = subprocess.run([MLISTD, "-c", inst.conf, "-t"], capture_output=True, text=True)
    assert r.returncode == 1 and "no such user on this host" in r.stdout + r.stderr


def test_f4_a_guarded_setting_is_checked_before_the_moderators_are_asked(make_instance, sink):
    """`list set demo identity.mode bogus` (a guarded setting, two moderators): refused at once,
    exit 1 naming the setting; no request opened, no moderator asked"""
    from attackhelp import moderated
    inst = moderated(make_instance)
    r = inst.ctl("list", "set", "demo", "identity.mode", "bogus", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "identity.mode" in r.stderr and "request" not in r.stdout
    audit = json.loads(inst.ctl("--json", "audit", "demo").stdout)
    assert [e for e in audit if e["action"] == "request"] == []
    # a good value still waits for the quorum: the check takes nothing else away
    r = inst.ctl("list", "set", "demo", "identity.mode", "anonymous", check=False)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert wait_until(lambda: to(sink, MODS[0], b"grave action") or
                      to(sink, MODS[0], b"Grave action")), inst.logtext()[-2000:]


# ---- F5: a key the list does not look at is not "no key" -----------------------------------------

def photo_key(home, addr, size=70000):
    """gpg's armoured export of a key with a photo ID of size bytes (as Enigmail added them):
    over 64 KiB, as a key with many others' signatures is"""
    import subprocess
    os.makedirs(home, mode=0o700, exist_ok=True)
    g = ["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback",
         "--passphrase", ""]
    run = lambda *a, **k: subprocess.run(g + list(a), capture_output=True, check=True, **k)
    run("--quick-gen-key", f"Alice <{addr}>", "ed25519", "cert,sign", "never")
    fpr = re.search(r"^fpr:+([0-9A-F]{40}):", run("--list-keys", "--with-colons").stdout.decode(),
                    re.M).group(1)
    run("--quick-add-key", fpr, "cv25519", "encr", "never")
    with open(os.path.join(home, "p.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size) + b"\xff\xd9")
    run("--command-fd", "0", "--edit-key", fpr, input=f"addphoto\n{home}/p.jpg\ny\nsave\n".encode())
    key = run("--armor", "--export", fpr).stdout
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    return key


def test_f5_a_key_over_the_size_looked_at_is_named_as_such(make_instance, sink):
    """alice pastes `gpg --armor --export` (95 KB with a photo ID) after "key": the answer must
    say that the key is too large and how to send it, not that no key was found (which sends
    her back to the same command)"""
    import tempfile
    key = photo_key(tempfile.mkdtemp(dir="/tmp", prefix="a10b-"), ALICE)
    assert len(key) > 64 * 1024
    inst = make_instance(members=(ALICE, BOB))
    raw = (f"From: {ALICE}\r\nTo: demo-request@lists.example\r\nSubject: key\r\n\r\nkey\r\n\r\n"
           ).encode() + key.replace(b"\n", b"\r\n")
    send(inst, raw, ALICE, rcpt="demo-request@lists.example")
    got = wait_until(lambda: to(sink, ALICE, b"Your request to the list") or
                     to(sink, ALICE, b"OpenPGP"))
    assert got, inst.logtext()[-3000:]
    text = got[0].replace(b"\r\n", b"\n")
    assert b"found no OpenPGP public key" not in text, text[-1500:]
    assert b"larger than 64 KiB" in text and b"export-minimal" in text, text[-1500:]
