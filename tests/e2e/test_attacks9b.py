"""test_attacks9b - this session's merges (bcc0d04..main) as a hostile member would attack them
(round 9b): bounce envelope ids, the DNS look-up shares, [from-author]/[anonymous-name], round
9's fixes, the References chain folding.

Each test asserts the SAFE behaviour; a finding not fixed stays xfail(strict=True, reason=...).
Found on 986ef73 (severity H/M/L):
  F1 (M) round 9's one-click blanking (transform.c own_links) looks for the link's bytes as they
    stand in the post: a forwarded copy attached as a file (application/octet-stream, base64 - a
    saved .eml) or as text in quoted-printable (the long List-Unsubscribe line is soft-broken
    inside the token) still hands the forwarder's one-click link to every member and to the
    archive. Open (strict xfail): blanking an encoded part means decoding, editing and
    re-encoding it in the transform.
"""
import base64
import email
import email.policy
import quopri
import re

import pytest

from attackhelp import moderated, send, to
from conftest import wait_until

LIST = "demo@lists.example"
ALICE, BOB = "alice@example.org", "bob@example.org"


# ---- F1: the one-click blanking sees only the link's literal bytes ---------------------------

TOKEN = re.compile(rb"(?i)(?:unsubscribe/demo/|demo-unsubscribe\+)([0-9a-f]{32})")


def tokens_in(raw):
    """the one-click tokens a reader finds in raw: in its bytes and in every part decoded"""
    found = {t.lower() for t in TOKEN.findall(raw)}
    for part in email.message_from_bytes(raw, policy=email.policy.compat32).walk():
        if part.is_multipart():
            continue
        body = part.get_payload(decode=True) or b""
        found |= {t.lower() for t in TOKEN.findall(body)}
    return found


def attached(copy, form):
    """bob's copy inside his forward, as a client attaches a saved message in form"""
    if form == "base64 .eml":
        enc = base64.encodebytes(copy).replace(b"\n", b"\r\n")
        head = ("Content-Type: application/octet-stream; name=\"news.eml\"\r\n"
                "Content-Transfer-Encoding: base64\r\n")
    else:
        enc = quopri.encodestring(copy.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
        head = ("Content-Type: text/plain; name=\"news.txt\"\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n")
    return (head + "Content-Disposition: attachment\r\n\r\n").encode() + enc


@pytest.mark.xfail(strict=True, reason="F1: own_links blanks the one-click token only where "
                   "the link's bytes stand in the post; in a base64 or quoted-printable part "
                   "it goes to every member and to the archive")
@pytest.mark.parametrize("form", ["base64 .eml", "quoted-printable"])
def test_an_encoded_forward_does_not_hand_its_members_one_click_link_to_the_list(
        make_instance, sink, form):
    """bob forwards the copy he got as a file: its List-Unsubscribe holds his own one-click
    link, which every member and every reader of the archive could POST to remove him."""
    inst = moderated(make_instance, "real", one_click_url="https://lists.example/unsubscribe/")
    send(inst, f"From: <{ALICE}>\r\nTo: <{LIST}>\r\nSubject: news\r\n\r\nOC9B news.\r\n", ALICE)
    mine = wait_until(lambda: to(sink, BOB, b"OC9B news."))
    assert mine, inst.logtext()[-2000:]
    links = tokens_in(mine[0])
    assert links, mine[0][:2000]
    b = "fwd9b"
    raw = (f"From: <{BOB}>\r\nTo: <{LIST}>\r\nSubject: Fwd: news\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n--{b}\r\n"
           "Content-Type: text/plain\r\n\r\nLook at this, FWD9B.\r\n"
           f"--{b}\r\n").encode() + attached(mine[0], form) + f"\r\n--{b}--\r\n".encode()
    send(inst, raw, BOB)
    got = wait_until(lambda: to(sink, ALICE, b"FWD9B"))
    assert got, inst.logtext()[-2000:]
    assert not (tokens_in(got[0]) & links), got[0][:3000]
