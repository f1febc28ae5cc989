"""attackhelp - what the attack rounds (test_attacks5.py .. test_attacks8.py) share.

Mail in through the front, copies out of the sink, a copy's header, and the
moderated list the rounds attack. Written once here so that the rounds cannot
drift apart in how they send or read; each round keeps its own tests.
"""
import email
import email.policy
import json
import smtplib

from conftest import wait_until

LIST = "demo@lists.example"
ALICE, BOB = "alice@example.org", "bob@example.org"
MODS = ("m1@example.org", "m2@example.org")


def send(inst, raw, sender, rcpt=LIST):
    """Mail through the front: DKIM-signed for its From domain (see conftest)."""
    if isinstance(raw, str):
        raw = raw.encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [rcpt], raw)


def to(sink, rcpt, marker=b""):
    """the copies the sink holds for rcpt that carry marker"""
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def head_of(raw):
    """a copy's header block, bytes"""
    return raw.split(b"\r\n\r\n", 1)[0]


def msg_of(raw):
    """a copy parsed"""
    return email.message_from_bytes(raw, policy=email.policy.default)


def moderated(make_instance, mode="pseudonym", **settings):
    """demo with two moderators (hidden leadership unless said), alice and bob members."""
    s = {"identity.mode": mode, "leadership.visibility": "hidden"}
    s.update(settings)
    inst = make_instance(members=(ALICE, BOB) + MODS, start=False, list_settings=s)
    for m in MODS:
        inst.ctl("member", "set", "demo", m, "role", "moderator")
    inst.start()
    return inst


def idle(inst):
    """nothing left to hand the relay: no message in the queue, no delivery pending (what
    a post made is at the sink by then). A wait for a copy that must not come ends here,
    not at its timeout (5-8 s a test before)"""
    st = json.loads(inst.ctl("--json", "status").stdout)
    return not (st["queue"]["incoming"] or st["queue"]["out"] or
                st["deliveries"]["pending"])


def copies_or_idle(inst, fn, timeout):
    """fn() once it gives something, or once the daemon is idle (see idle): fn() then"""
    wait_until(lambda: fn() or idle(inst), timeout=timeout)
    return fn()

