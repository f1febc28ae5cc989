"""pgphelp - members with OpenPGP keys for the end-to-end tests: made with gpg, registered with
`mlistctl member set ... openpgp FILE`, and a member's view of a delivered copy (gpg decrypts it)."""
import atexit
import os
import re
import shutil
import tempfile

from test_openpgp import Gpg

ENCRYPTED = b"multipart/encrypted"      # what marks a delivered OpenPGP copy


class Member:
    """One member's gpg home with their key pair, registered on list demo."""

    def __init__(self, inst, tmp_path, addr):
        name = addr.split("@")[0].capitalize()
        self.addr = addr
        self.g = Gpg(tmp_path / ("gpg-" + name), name)
        r = inst.ctl("member", "set", "demo", addr, "openpgp", self.g.export(tmp_path / (name + ".asc")))
        assert r.returncode == 0 and "OpenPGP key registered" in r.stdout, r.stdout + r.stderr

    def open(self, raw):
        """The decrypted copy, or None if it is not encrypted to this member."""
        if ENCRYPTED not in raw:
            return None
        r = self.g.gpg("--status-fd", "2", "--decrypt", "-", inp=raw, check=False)
        return r.stdout if b"[GNUPG:] DECRYPTION_OKAY" in r.stderr else None


def to_list(inst, raw, list_name="demo"):
    """raw (a post in clear) as a mail client sends it encrypted to the list's OpenPGP key: RFC 3156
    PGP/MIME, unsigned, the real Subject inside as a protected header, "..." outside. It replaces
    the retired `mlist seal`."""
    # a short home: gpg-agent's socket must fit sun_path (pytest-xdist's temp paths are long)
    home = tempfile.mkdtemp(prefix="gpg-to-")
    atexit.register(shutil.rmtree, home, True)
    r = inst.ctl("keys", list_name, "--export")
    assert r.returncode == 0, r.stderr
    g = Gpg.__new__(Gpg)          # a sender with no key of their own: just the list's
    g.home = str(home)
    g.gpg("--import", "-", inp=r.stdout.encode())
    head, body = raw.split(b"\r\n\r\n", 1)
    fields = [f for f in re.split(rb"\r\n(?![ \t])", head) if f]
    outer = [f for f in fields if f.lower().startswith((b"from:", b"to:", b"date:", b"message-id:"))]
    inner = b"\r\n".join(fields) + b'\r\nContent-Type: text/plain; charset=utf-8; protected-headers="v1"' \
        + b"\r\n\r\n" + body
    enc = g.gpg("--armor", "--trust-model", "always", "--encrypt", "-r", f"{list_name}@lists.example",
                "--output", "-", "-", inp=inner).stdout
    b = "=_enc_" + os.urandom(8).hex()
    return b"\r\n".join(outer) + (
        "\r\nSubject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
        f"protocol=\"application/pgp-encrypted\"; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
        f"--{b}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n").encode() \
        + enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + f"\r\n--{b}--\r\n".encode()
