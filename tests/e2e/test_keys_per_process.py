"""Keys per process (#19): while an unlocked passphrase instance runs and has delivered a post,
the memory of the internet-facing SMTP process and of the parser's zygote holds none of the
instance's secret keys (the master key, and each key derived from it: field sealing, look-up
hashes, backups, the moderators' role keys, the audit keys, the spool's X25519 secret), while
the queue manager's memory holds them (which shows the scan finds what is there)."""
import hashlib
import os
import re
import struct
import subprocess

import pytest

from conftest import wait_until
from test_masterkey import make, post, wait_all


def kdf(master, sub_id, ctx):
    """libsodium's crypto_kdf_derive_from_key (BLAKE2b, the id as salt, the context as personal)"""
    return hashlib.blake2b(b"", digest_size=32, key=master, salt=struct.pack("<Q", sub_id) + bytes(8),
                           person=ctx + bytes(8)).digest()


def secret_keys(master):
    keys = {"master": master}
    for i, name in enumerate(("spool-legacy", "field", "lookup", "backup", "role", "audit"), 1):
        keys[name] = kdf(master, i, b"mlistd__")
    keys["spool-x25519"] = hashlib.sha512(kdf(master, 1, b"mlspool_")).digest()[:32]
    return keys


def memory(pid):
    """every readable mapping of a process, as one bytes object"""
    out = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 1 << 30:
                continue        # an ASan build's shadow memory: reserved, not the process's data
            try:
                mem.seek(lo)
                out.append(mem.read(hi - lo))
            except (OSError, ValueError, OverflowError):
                pass
    return b"".join(out)


def test_smtp_process_and_zygote_hold_no_secret_key(tmp_path, sink):
    if os.geteuid() != 0:
        pytest.skip("reading another process's memory needs root (CAP_SYS_PTRACE) here")
    inst = make(tmp_path, sink)
    post(inst, 0)
    assert wait_all(sink, 1), inst.logtext()[-2000:]
    smtp = inst.proc.pid
    zygote = int(re.findall(r"worker: zygote pid (\d+)", inst.logtext())[-1])
    kids = subprocess.run(["pgrep", "-P", str(smtp)], capture_output=True, text=True).stdout.split()
    kids = [int(k) for k in kids]
    qmgr = [k for k in kids if k != zygote]
    assert len(qmgr) == 1, (kids, zygote)
    dumps = {"smtp": memory(smtp), "zygote": memory(zygote), "qmgr": memory(qmgr[0])}
    assert all(len(d) > 100000 for d in dumps.values()), {k: len(v) for k, v in dumps.items()}
    inst.stop()
    keyfile = str(tmp_path / "extracted.key")
    assert inst.ctl("rekey", "--to", keyfile).returncode == 0
    with open(keyfile, "rb") as f:
        keys = secret_keys(f.read())
    # the scan finds keys where they are: the queue manager's key block
    assert keys["field"] in dumps["qmgr"] and keys["lookup"] in dumps["qmgr"]
    assert keys["audit"] in dumps["qmgr"] and keys["role"] in dumps["qmgr"]
    for proc in ("smtp", "zygote"):
        found = [name for name, k in keys.items() if k in dumps[proc]]
        assert found == [], f"the {proc} process holds {found}"
