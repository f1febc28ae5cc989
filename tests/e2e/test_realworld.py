"""Real-world mail that nobody here wrote (tests/data/realworld, see its MANIFEST), posted through a
list in each identity mode by the real daemon.

For every message the outcome is one a person can see: delivered, held with a note to the author,
refused with a note, refused at SMTP with a reply that says why, or dropped as automatic mail (only
when the message says it is automatic). Never lost without a word. Every delivered copy:

- is a valid RFC 5322 message (one From, Date, Message-ID; no single field twice), not an empty shell;
- parses with Python's email (policy default) with no defect the original did not have;
- has no NUL in a text part;
- verifies with dkimpy and with OpenDKIM's own verifier (opendkim-testmsg, pointed at a DNS server
  on a loopback address that answers the list's TXT record);
- on pseudonymous and anonymous lists, names neither the From address nor the full From name nor
  the original Message-ID.

One daemon per mode; the messages go one after another (each waits for its log line, not a sleep).
"""
import email
import email.header
import email.policy
import email.utils
import json
import os
import random
import re
import shutil
import smtplib
import socket
import struct
import subprocess
import threading
import time

import dkim
import pytest

from conftest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "data", "realworld")
READER = "bob@example.org"
SINGLE = ("from", "date", "message-id", "sender", "reply-to", "to", "cc", "bcc", "subject",
          "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding")
SHELL = b"Nothing in this post could be passed on"
# posts that may be refused without a note (see test_realworld_corpus)
SILENT_OK = r"reason=(unparseable|openpgp-undecryptable)"


def corpus():
    with open(os.path.join(CORPUS, "MANIFEST")) as f:
        names = [l.split()[0] for l in f if l.strip() and not l.startswith("#")]
    return names


def load(name):
    """The message as a client would send it: an mbox "From " line is not part of it."""
    with open(os.path.join(CORPUS, name), "rb") as f:
        raw = f.read()
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    # on the wire every line ends in CRLF (a client's own line ends are not the list's problem)
    return re.sub(rb"\r?\n", b"\r\n", raw)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def defects(msg):
    """Kinds of defect Python's parser finds anywhere in the message."""
    out = set()
    for part in msg.walk():
        out |= {type(d).__name__ for d in part.defects}
        for _, v in part.items():
            out |= {type(d).__name__ for d in getattr(v, "defects", ())}
    return out


def automatic(msg):
    """What RFC 3834 and RFC 3464 let a list treat as automatic mail (Precedence: list is not)."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    prec = str(msg.get("Precedence", "")).strip().lower()
    return auto != "no" or prec in ("bulk", "junk") or msg.get_content_type() == "multipart/report"


def needles(raw):
    """What would name the original author on a non-real list."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for v in m.get_all("From", []):
        for name, addr in email.utils.getaddresses([str(email.header.make_header(
                email.header.decode_header(str(v))))]):
            if "@" in addr and len(addr) >= 6:
                out.append(addr)
            words = re.findall(r"\w{2,}", name)
            if len(words) >= 2:
                out.append(" ".join(words) if len(words) == len(name.split()) else name)
    mid = str(m.get("Message-ID", "")).strip().strip("<>")
    if len(mid) >= 8:
        out.append(mid)
    return [n for n in out if n.strip()]


class LoopbackDNS:
    """A DNS server on a random 127/8 address, port 53, answering TXT for the list's selectors."""

    def __init__(self, records):
        self.records = records                  # "sel._domainkey.lists.example" -> TXT text
        self.addr = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254), random.randint(2, 254))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.addr, 53))
        self.sock.settimeout(0.2)
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def answer(self, q):
        qid, flags = struct.unpack(">HH", q[:4])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qname = ".".join(labels).lower()
        question = q[12:i + 5]
        txt = self.records.get(qname)
        if txt is None:
            return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        data = txt.encode()
        rdata = b"".join(bytes([len(data[k:k + 255])]) + data[k:k + 255] for k in range(0, len(data), 255))
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, len(rdata)) + rdata
        return struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr

    def run(self):
        while not self.stop_flag:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            try:
                self.sock.sendto(self.answer(q), peer)
            except (IndexError, struct.error, OSError):
                pass

    def stop(self):
        self.stop_flag = True
        self.thread.join(2)
        self.sock.close()


def opendkim_verify(records, files, tmp):
    """{file: error text or ""}: opendkim-testmsg on each file, in a mount namespace whose
    /etc/resolv.conf names the loopback DNS server."""
    dns = LoopbackDNS({f"{sel}._domainkey.lists.example": txt for sel, txt in records.items()})
    try:
        resolv = os.path.join(tmp, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {dns.addr}\noptions timeout:2 attempts:2\n")
        script = ('mount --bind "$1" /etc/resolv.conf || exit 99; shift; for f; do '
                  'out=$(opendkim-testmsg < "$f" 2>&1); echo "$? $f $out" | tr "\\n" " "; echo; done')
        r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", resolv, *files],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode != 99, "cannot bind-mount resolv.conf: " + r.stderr
        res = {}
        for line in r.stdout.splitlines():
            rc, f, *out = line.split(" ", 2)
            res[f] = "" if rc == "0" else (" ".join(out) or f"exit {rc}")
        return res
    finally:
        dns.stop()


def post_all(inst, sink, names):
    """Post each message; return {name: (outcome, detail, copy bytes or None)}."""
    results = {}
    for i, name in enumerate(names):
        raw = load(name)
        sender = f"rw{i}@example.net"
        before = len([m for m in sink.handler.messages if READER in m[1]])
        nlog = len(inst.logtext())
        try:
            with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
                s.sendmail(sender, ["demo@lists.example"], raw)
        except smtplib.SMTPResponseException as e:
            results[name] = ("smtp-refused", f"{e.smtp_code} {e.smtp_error!r}", None)
            continue
        except smtplib.SMTPRecipientsRefused as e:
            results[name] = ("smtp-refused", repr(e.recipients), None)
            continue
        line = wait_until(lambda: re.search(r"^.*qmgr: list=demo kind=post .*result=\w+.*$",
                                            inst.logtext()[nlog:], re.M), 30)
        assert line, f"{name}: no outcome in the log\n{inst.logtext()[nlog:]}"
        line = line.group(0)
        reason = re.search(r"reason=(\S+)", line).group(1)
        if reason == "accepted":
            got = wait_until(lambda: len([m for m in sink.handler.messages if READER in m[1]]) > before, 30)
            assert got, f"{name}: accepted but no copy reached {READER}\n{line}"
            copy = [m for m in sink.handler.messages if READER in m[1]][before][2]
            results[name] = ("delivered", line, copy)
            continue
        if reason in ("loop", "bounce", "auto-submitted"):
            results[name] = ("dropped", line, None)
            continue
        # a note goes to the authenticated From's mailbox (issue #14), or to nobody; waited
        # for only where one is owed: a post the test lets go untold (SILENT_OK) is not
        # waited on for 5 s (6 such posts were 30 of a mode's 46 s)
        author = email.utils.parseaddr(parse(raw).get("From", ""))[1].lower()
        owed = not re.search(SILENT_OK, line)
        note = wait_until(lambda: [m for m in sink.handler.messages
                                   if [r.lower() for r in m[1]] in ([sender], [author])],
                          5 if owed else 0)
        results[name] = ("noted" if note else "silent", line + "\n" + inst.logtext()[nlog:], None)
    return results


@pytest.mark.parametrize("mode", ["real", "pseudonym", "anonymous"])
def test_realworld_corpus(make_instance, sink, tmp_path, mode):
    names = corpus()
    assert len(names) >= 150
    # the corpus's authors are not members and sign for their own domains, not for this list:
    # an open list takes their posts as they are (issue #14: From, not the envelope, is the poster)
    inst = make_instance(list_settings={"identity.mode": mode, "posting": "open"}, members=(READER,),
                         start=False)
    # one import, not 259 mlistctl runs; their mail off in one statement (set-up only)
    (tmp_path / "rw.txt").write_text("".join(f"rw{i}@example.net\n" for i in range(len(names))))
    inst.ctl("member", "import", "demo", str(tmp_path / "rw.txt"))
    subprocess.run(["sqlite3", os.path.join(inst.state, "mlistd.db"), "PRAGMA busy_timeout = 10000; "
                    "UPDATE members SET nomail = 1 WHERE id > 1"], check=True)
    inst.start()
    results = post_all(inst, sink, names)
    problems = []
    recs = {k["selector"]: k["txt"] for k in json.loads(inst.ctl("--json", "keys", "demo").stdout)}
    dnsfunc = lambda name, timeout=5: recs.get(name.decode().split(".")[0], "").encode()
    outdir = tmp_path / "copies"
    outdir.mkdir()
    files = {}
    for name, (outcome, detail, copy) in results.items():
        raw = load(name)
        orig = parse(raw)
        # issue #14: a notice goes only to the authenticated From's own mailbox, and these
        # envelope senders (rwN@example.net) are not it: an unparseable post tells nobody, nor
        # does one encrypted to a key not the list's (#17: the base64 encrypted.asc of the
        # Exchange shape is opened now, so nm-mangling-mixed-up is refused, not passed on)
        if outcome == "silent" and not re.search(SILENT_OK, detail):
            problems.append(f"{name}: not distributed and the author was not told: {detail}")
        elif outcome == "dropped" and not automatic(orig):
            problems.append(f"{name}: dropped as automatic mail but is not: {detail}")
        elif outcome == "smtp-refused" and not re.search(r"[a-z]{4,} [a-z]{3,}", detail):
            problems.append(f"{name}: refused at SMTP without a reason: {detail}")
        if outcome != "delivered":
            continue
        files[name] = str(outdir / name)
        with open(files[name], "wb") as f:
            f.write(copy)
        problems += [f"{name}: {p}" for p in check_copy(raw, orig, copy, mode, dnsfunc)]
    for name, err in opendkim_verify(recs, list(files.values()), str(tmp_path)).items():
        if err:
            problems.append(f"{os.path.basename(name)}: opendkim-testmsg: {err}")
    delivered = sum(1 for r in results.values() if r[0] == "delivered")
    summary = {o: sum(1 for r in results.values() if r[0] == o) for o in {r[0] for r in results.values()}}
    assert not problems, f"{len(problems)} problems ({summary}):\n" + "\n".join(problems)
    # most real mail is ordinary mail: a list that holds everything would pass the checks above
    assert delivered >= len(names) * (0.8 if mode == "real" else 0.5), summary


def check_copy(raw, orig, copy, mode, dnsfunc):
    out = []
    m = parse(copy)
    hdrs = [k.lower() for k in m.keys()]
    for h in ("from", "date", "message-id"):
        if hdrs.count(h) != 1:
            out.append(f"{hdrs.count(h)} {h} fields")
    for h in SINGLE:
        if hdrs.count(h) > 1:
            out.append(f"{h} appears {hdrs.count(h)} times")
    if SHELL in copy:
        out.append("distributed as an empty shell")
    extra = defects(m) - defects(orig)
    if extra:
        out.append(f"new defects {sorted(extra)}")
    for part in m.walk():
        if part.get_content_maintype() == "text" and not part.is_multipart():
            try:
                if "\x00" in part.get_content():
                    out.append(f"NUL in a {part.get_content_type()} part")
            except (LookupError, ValueError, AssertionError) as e:
                out.append(f"unreadable {part.get_content_type()} part: {e}")
    if not dkim.verify(copy, dnsfunc=dnsfunc):
        out.append("dkimpy does not verify")
    if mode != "real":
        low = copy.lower()
        for n in needles(raw):
            if n.lower().encode() in low:
                out.append(f"names the author: {n!r}")
    return out
