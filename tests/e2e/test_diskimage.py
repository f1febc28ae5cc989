"""What a stolen disk or backup and a hostile member get from the operator's tools (attack6: 5,
13): a weak passphrase is refused by init and rekey (the old wrapped key stays), `mod show`
shows a held post's control characters as cat -v does unless --raw, and `list set` refuses a
footer line a relay would refuse."""
import json
import os
import smtplib
import subprocess

import pytest

from conftest import MLISTCTL, Instance, wait_until

ALICE = "alice@example.org"
GOOD = "correct horse battery staple"


def send(inst, raw, sender):
    """Mail through the front MTA (DMARC-aligned for the From domain: see conftest)."""
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(sender, ["demo@lists.example"], raw)


class PassInstance(Instance):
    passphrase = GOOD


@pytest.mark.parametrize("weak", ["a", "eleven char", "abababababababab"])
def test_init_refuses_a_weak_passphrase(tmp_path, sink, weak):
    class Weak(Instance):
        passphrase = weak
    with pytest.raises(AssertionError) as e:
        Weak(str(tmp_path / "w"), sink, 'master_key = "passphrase";')
    assert "too weak" in str(e.value) and "12 characters" in str(e.value), str(e.value)
    assert not os.path.exists(str(tmp_path / "w" / "state" / "master.wrapped"))


def test_rekey_refuses_a_weak_passphrase_and_keeps_the_old_one(tmp_path, sink):
    inst = PassInstance(str(tmp_path / "p"), sink, 'master_key = "passphrase";')
    wrapped = os.path.join(inst.state, "master.wrapped")
    before = open(wrapped, "rb").read()
    # Argon2id parameters of the new wrapping: opslimit 4, 256 MiB
    assert int.from_bytes(before[8:16], "little") == 4
    assert int.from_bytes(before[16:24], "little") == 256 << 20
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "rekey"], input=GOOD + "\nshort one\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "too weak" in r.stderr, r.stderr
    assert open(wrapped, "rb").read() == before
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "rekey"],
                       input=GOOD + "\na longer passphrase now\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert open(wrapped, "rb").read() != before


ESC = "\x1b]0;owned\x07\x1b[2J"


def test_mod_show_escapes_control_characters_unless_raw(make_instance, sink):
    inst = make_instance(list_settings={"posting": "moderated"})
    raw = (f"From: {ALICE}\r\nSubject: {ESC}held\r\nContent-Type: text/plain; charset=utf-8\r\n"
           f"Content-Transfer-Encoding: 8bit\r\n\r\nBody {ESC} caf\u00e9 end.\r\n").encode()
    send(inst, raw, ALICE)
    assert inst.wait_log("reason=moderated"), inst.logtext()[-2000:]
    held = wait_until(lambda: json.loads(inst.ctl("--json", "mod", "ls", "demo").stdout))
    qid = held[0]["id"]
    shown = inst.ctl("mod", "show", "demo", qid).stdout
    assert "held" in shown and "end." in shown, shown[-500:]
    assert "\x1b" not in shown and "\x07" not in shown
    assert "^[]0;owned^G^[[2J" in shown, shown[-500:]
    assert "caf\u00e9" in shown                     # UTF-8 text is left as it is
    raw_out = inst.ctl("mod", "show", "demo", qid, "--raw").stdout
    assert ESC in raw_out
    r = inst.ctl("mod", "show", "demo", qid, "--bogus", check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)


def test_list_set_refuses_a_footer_line_over_998_octets(make_instance, sink):
    inst = make_instance()
    r = inst.ctl("list", "set", "demo", "footer", "y" * 999, check=False)
    assert r.returncode == 1, (r.returncode, r.stdout)
    assert "998" in r.stderr and "footer" in r.stderr, r.stderr
    show = json.loads(inst.ctl("--json", "list", "show", "demo").stdout)["settings"]
    assert show["footer"] == "", show["footer"][:40]
    assert inst.ctl("list", "set", "demo", "footer", "z" * 998).returncode == 0
    show = json.loads(inst.ctl("--json", "list", "show", "demo").stdout)["settings"]
    assert show["footer"] == "z" * 998
