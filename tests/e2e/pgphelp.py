"""pgphelp - members with OpenPGP keys for the end-to-end tests: made with gpg, registered with
`mlistctl member set ... openpgp FILE`, and a member's view of a delivered copy (gpg decrypts it)."""
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
