"""test_pseudnames - pseudonym names and real-list Froms, as a member and a reader see them.

A name given up is the list's for identity.name_reserve_days (0: free at once); the
munged From of a real list shows the registered name without bidi controls; read-receipt
requests of every form are dropped on every list.
"""
import email
import email.policy
import smtplib

from conftest import wait_until

LIST = "demo@lists.example"
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
TRAP = "receipts@trap.example"


def send(inst, raw, sender):
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, [LIST], raw.encode() if isinstance(raw, str) else raw)


def to(sink, rcpt, marker):
    return [m[2] for m in sink.handler.messages if rcpt in m[1] and marker in m[2]]


def test_name_given_up_is_free_at_once_with_no_reserve(make_instance):
    inst = make_instance(list_settings={"identity.mode": "pseudonym",
                                        "identity.name_reserve_days": "0"}, start=False)
    assert inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Red Heron").returncode == 0
    assert inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Quiet Anvil").returncode == 0
    r = inst.ctl("member", "set", "demo", CAROL, "pseudonym", "Red Heron", check=False)
    assert r.returncode == 0, r.stderr


def test_name_given_up_answers_as_a_name_held(make_instance):
    """Whoever asks cannot tell a name given up from one a member holds."""
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Red Heron")
    inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Quiet Anvil")
    gone = inst.ctl("member", "set", "demo", CAROL, "pseudonym", "Red Heron", check=False)
    held = inst.ctl("member", "set", "demo", CAROL, "pseudonym", "Quiet Anvil", check=False)
    assert gone.returncode == held.returncode == 1
    assert gone.stderr.replace("Red Heron", "N") == held.stderr.replace("Quiet Anvil", "N")
    # the member keeps their own name, set again
    assert inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Quiet Anvil").returncode == 0


def test_list_name_in_a_pseudonym_is_refused(make_instance):
    inst = make_instance(list_settings={"identity.mode": "pseudonym"}, start=False)
    r = inst.ctl("member", "set", "demo", ALICE, "pseudonym", "Demo Team", check=False)
    assert r.returncode == 1 and "reserved" in r.stderr, r.stderr


def test_munged_from_registered_name_loses_its_bidi_controls(make_instance, sink):
    inst = make_instance(members=(), start=False, list_settings={"identity.munge_from": "true"})
    inst.ctl("member", "add", "demo", ALICE, "--name", "Alice \u202eA")
    inst.ctl("member", "add", "demo", BOB)
    inst.start()
    send(inst, f"From: Mallory <{ALICE}>\r\nSubject: bidi\r\n\r\nregistered bidi\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"registered bidi"))
    assert got, inst.logtext()[-2000:]
    frm = email.message_from_bytes(got[0], policy=email.policy.default)["From"]
    assert frm.addresses[0].display_name == "Alice A via demo", str(frm)
    assert "Mallory" not in str(frm)


def test_every_read_receipt_form_is_dropped(make_instance, sink):
    inst = make_instance()
    heads = "".join(f"{h}: <{TRAP}>\r\n" for h in (
        "Disposition-Notification-To", "Return-Receipt-To", "X-Confirm-Reading-To",
        "Read-Receipt-To", "Generate-Delivery-Report"))
    send(inst, f"From: {ALICE}\r\n{heads}Subject: receipts\r\n\r\nAll the receipt forms.\r\n", ALICE)
    got = wait_until(lambda: to(sink, BOB, b"All the receipt forms."))
    assert got, inst.logtext()[-2000:]
    head = got[0].split(b"\r\n\r\n", 1)[0]
    assert TRAP.encode() not in head, head
