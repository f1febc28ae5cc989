"""Fixtures for end-to-end tests: a real mlistd on 127.0.0.1, a real SMTP sink as relay.

Every test gets its own temp dir, its own free ports, its own instance.

Who sent this (issue #14): mail the tests send with smtplib to an instance's `port` is sent as a
member whose domain signs would send it: the smtplib hook below DKIM-signs it with dkimpy (the
independent signer) for its From domain, and the session's unbound on 127.0.0.1
(tests/e2e/dnsserver.py) publishes that domain's key (Ed25519; RSA-2048 for RSA_DOMAINS), added
the first time the domain is seen. mlistd's own verifier (mail/dkimverify.c, dns.c, dmarc.c)
decides; no listener of the default instance is `behind_mta` but LMTP's (an LMTP client is the
MTA in front), so no Authentication-Results from a client is believed. Tests of what an
unauthenticated sender sees use `send_unauthenticated` (unsigned), or the instance's
`direct_port`, which smtplib never signs for. The A-R path is tested where an MTA really is in
front: test_postfix.py, test_postfix_dkim.py, test_auth_dns.py, test_authn.py.
"""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import email.utils
import re
import smtplib

import dkim

import pytest
from aiosmtpd.controller import Controller

BUILD = os.environ.get("MLISTD_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
MLISTD = os.path.join(BUILD, "bin", "mlistd")
MLISTCTL = os.path.join(BUILD, "bin", "mlistctl")


def wait_until(fn, timeout=20.0):
    """fn() until it gives something true (or the time is up): what it gave last."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def _port_range():
    """Ports below the kernel's ephemeral range: a port bind(0) hands out is one the kernel may give
    any outgoing connection next (a relay's, a client's) before the daemon binds it; seen as a daemon
    that never listened ("nothing listening on 46493") in a full run."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        eph = 32768
    return 10000, max(10000 + 4096, min(eph, 65536))


_PORTS_GIVEN = set()
# port -> the socket that holds it: bound, never listening, SO_REUSEADDR set after the bind
_PORTS_HELD = {}


def free_port():
    """A free loopback port, never one another pytest-xdist worker of this run can be given (each
    worker has its own residue modulo the number of workers) nor one given before in this process.

    Held until the test ends (hold_ports), so that nothing can take it between this choice and the
    daemon's bind, nor while a test restarts its daemon: the probe binds without SO_REUSEADDR (any
    socket bound there, listening or not, refuses it), then sets SO_REUSEADDR on the bound socket.
    Linux lets a server that sets SO_REUSEADDR itself (mlistd, aiosmtpd, asyncio, unbound, Postfix)
    bind and listen beside a socket that is only bound, and refuses every other run's probe: no
    "Address already in use" when eight engineers' suites choose ports at the same time."""
    import random
    lo, hi = _port_range()
    w = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    mod = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    mine = int(w) % mod if w.isdigit() else 0
    for _ in range(10000):
        port = random.randrange(lo, hi)
        if port % mod != mine or port in _PORTS_GIVEN:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        except OSError:
            s.close()
            continue
        _PORTS_GIVEN.add(port)
        _PORTS_HELD[port] = s
        return port
    raise RuntimeError("no free port below the ephemeral range")


@pytest.fixture(autouse=True)
def hold_ports():
    """the ports a test chose stay held until it ends (after its daemons stopped: an autouse
    fixture is torn down last); those of session or module fixtures, made before, stay held"""
    before = set(_PORTS_HELD)
    yield
    for port in set(_PORTS_HELD) - before:
        _PORTS_HELD.pop(port).close()


def wait_port(port, timeout=10.0, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"mlistd exited before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.recv(512)
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


class SinkHandler:
    """Records every message the relay receives: (envelope sender, recipients, bytes)."""

    def __init__(self):
        self.messages = []
        self.transactions = 0
        self.lock = threading.Lock()
        self.reject = None          # e.g. "451 4.3.0 try later" to refuse every RCPT
        self.reject_rcpt = {}       # address -> reply, to refuse one recipient
        self.rcpt_delay = 0.0       # seconds to stall each RCPT (to kill the daemon mid-run)
        self.tls = []               # per message: did it come inside TLS?

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if self.reject:
            return self.reject
        if address in self.reject_rcpt:
            return self.reject_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.transactions += 1
            self.tls.append(session.ssl is not None)
        return "250 OK"

    def for_rcpt(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]

    def copies(self):
        """(recipient, bytes) for each delivered copy."""
        with self.lock:
            return [(r, m[2]) for m in self.messages for r in m[1]]


class Sink:
    def __init__(self, **server_kwargs):
        self.port = free_port()
        self.handler = SinkHandler()
        self.controller = None
        self.server_kwargs = server_kwargs     # e.g. tls_context=..., require_starttls=True

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_kwargs=dict(self.server_kwargs))
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def wait_for(self, n, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end:
            if len(self.handler.copies()) >= n:
                return self.handler.copies()
            time.sleep(0.05)
        return self.handler.copies()


AUTHSERV_ID = "mx.lists.example"
FRONT_PORTS = set()         # listeners whose smtplib mail is signed as by the sender's domain
DNS = {"address": None, "server": None}     # the session's resolver, set by the dns fixture
_ORIG_DATA = smtplib.SMTP.data
_ORIG_CONNECT = smtplib.SMTP.connect

# answers to unauthenticated senders leave at once in the suite (auth.answer_delay, #14: ten
# to fifteen seconds by default); test_authn.py tests the delay itself
ANSWER_NOW = "answer_delay = 0; answer_jitter = 0;"

# the test domains' DKIM keys: made once per session, published on first use
DKIM_SELECTOR = b"e2e"
RSA_DOMAINS = ("example.net", "spartakus.example")
# domains whose mail goes unsigned: one that publishes no key, and the instances' own host (only
# mlistd signs for it: a member's mail From a list address, e.g. a pseudonym's, is a forgery)
NO_KEY_DOMAINS = ("nokey.example", "lists.example")
_KEYS = {}                  # domain -> (algorithm, private key as dkimpy takes it)
_KEY_LOCK = threading.Lock()
_RSA = {}                   # the one RSA-2048 key pair, made when first needed


def _rsa_pair():
    """(PEM private key, TXT p= value) of the session's RSA-2048 key (one generation: 0.3 s)."""
    if not _RSA:
        import base64
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _RSA["pem"] = k.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())
        pub = k.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        _RSA["p"] = base64.b64encode(pub).decode()
    return _RSA["pem"], _RSA["p"]


def _new_key(domain):
    """(algorithm, private key, TXT record) for domain: Ed25519, RSA-2048 for RSA_DOMAINS."""
    import base64
    if domain in RSA_DOMAINS:
        pem, p = _rsa_pair()
        return b"rsa-sha256", pem, f"v=DKIM1; k=rsa; p={p}"
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    pub = base64.b64encode(bytes(sk.verify_key)).decode()
    return b"ed25519-sha256", base64.b64encode(bytes(sk)), f"v=DKIM1; k=ed25519; p={pub}"


def key_records():
    """{name: [TXT]} of every key published so far: a test's own DnsServer serves them too."""
    with _KEY_LOCK:
        return {f"{DKIM_SELECTOR.decode()}._domainkey.{d}": [k[2]] for d, k in _KEYS.items()}


def dkim_key(domain):
    """(algorithm, private key) for domain, its public key published first; None if it has none."""
    with _KEY_LOCK:
        if domain not in _KEYS:
            if domain in NO_KEY_DOMAINS or DNS["server"] is None:
                return None
            from dnsserver import DnsServer
            key = _new_key(domain)
            for srv in DnsServer.running:       # the session's, and any a test runs now
                srv.add(f"{DKIM_SELECTOR.decode()}._domainkey.{domain}", [key[2]])
            _KEYS[domain] = key
        return _KEYS[domain][:2]


def _from_domain(msg):
    """The domain of msg's (bytes) From: address, lower case, or None."""
    head = re.split(rb"\r?\n\r?\n", msg, 1)[0]
    m = re.search(rb"(?im)^From:(.*(?:\r?\n[ \t].*)*)", head)
    if not m:
        return None
    addr = email.utils.parseaddr(re.sub(r"\r?\n", "", m.group(1).decode("utf-8", "replace")))[1]
    if "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1].lower()


def dkim_signed(msg):
    """msg (bytes) with a DKIM-Signature by its From domain (dkimpy), or as it was if that domain
    has no key: what a member's own domain does to their mail before it reaches the list."""
    dom = _from_domain(msg)
    key = dkim_key(dom) if dom else None
    if key is None:
        return msg
    alg, priv = key
    # RSA as many providers sign (simple body), Ed25519 relaxed/relaxed: both canonicalizations
    canon = (b"relaxed", b"simple") if alg == b"rsa-sha256" else (b"relaxed", b"relaxed")
    try:
        sig = dkim.sign(msg, DKIM_SELECTOR, dom.encode(), priv, signature_algorithm=alg,
                        canonicalize=canon)
    except (dkim.DKIMException, UnicodeError, ValueError):
        return msg          # a message dkimpy cannot sign goes as it is, as an MTA would pass it
    return sig + msg


# the name before mail was signed (tests that write their own SMTP dialogue call it)
front_authres = dkim_signed


def _connect_noting_greeting(self, *args, **kwargs):
    """smtplib's connect, the server's greeting kept: see _data_through_front."""
    code, msg = _ORIG_CONNECT(self, *args, **kwargs)
    self.mlistd_greeting = code == 220 and b"mlistd ready" in msg
    return code, msg


def _data_through_front(self, msg):
    """smtplib's DATA to an instance's port: signed by the From domain (see the header). Only
    when mlistd greeted: a port an instance has freed may be another server's now (a test's
    Postfix), whose mail must not be signed for its senders."""
    try:
        port = self.sock.getpeername()[1] if self.sock else None
    except OSError:
        port = None
    if port in FRONT_PORTS and getattr(self, "mlistd_greeting", False) and \
            not getattr(self, "unauthenticated", False):
        if isinstance(msg, str):
            # as smtplib would send it: CRLF line ends, then ASCII
            msg = dkim_signed(smtplib._fix_eols(msg).encode("ascii"))
        else:
            msg = dkim_signed(bytes(msg))
    return _ORIG_DATA(self, msg)


smtplib.SMTP.data = _data_through_front
smtplib.SMTP.connect = _connect_noting_greeting


def send_unauthenticated(port, sender, rcpts, msg):
    """Mail as a stranger sends it: no front MTA vouches for it. Returns smtplib's refusals."""
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.unauthenticated = True
        return s.sendmail(sender, rcpts, msg)


class Instance:
    passphrase = None       # masterkey (#19): a passphrase instance's, given to mlistctl on stdin

    def __init__(self, root, sink, extra="", relay=None, lmtp=False, http=False, listen_tls="",
                 front=True, behind_mta=False):
        self.root = root
        self.port = free_port()
        self.direct_port = free_port()      # SMTP straight to mlistd: never signed by smtplib
        # front: smtplib mail to `port` is signed by its From domain (as a member's domain does);
        # behind_mta: `port` believes the A-R of AUTHSERV_ID (only a test with a real MTA in
        # front wants that); the LMTP listener always does: its clients are that MTA
        if front:
            FRONT_PORTS.add(self.port)
        self.lmtp_port = free_port() if lmtp else None
        self.http_port = free_port() if http else None
        self.conf = os.path.join(root, "mlistd.conf")
        self.state = os.path.join(root, "state")
        self.log = os.path.join(root, "mlistd.log")
        self.proc = None
        os.makedirs(os.path.join(root, "lists"))
        extra = self.answers_now(extra)
        behind = "behind_mta = true;" if behind_mta else ""
        listen = f'{{ address = "127.0.0.1"; port = {self.port}; {behind} {listen_tls} }}'
        listen += f', {{ address = "127.0.0.1"; port = {self.direct_port}; }}'
        if lmtp:
            listen += (f', {{ address = "127.0.0.1"; port = {self.lmtp_port}; protocol = "lmtp"; '
                       f'behind_mta = true; }}')
        if http:
            listen += f', {{ address = "127.0.0.1"; port = {self.http_port}; protocol = "http"; }}'
        if relay is None:
            relay = f"{{ host = \"127.0.0.1\"; port = {sink.port}; connections = 2; timeout = 10; retry_base = 1; }}"
        with open(self.conf, "w") as f:
            f.write(f'hostname = "lists.example";\nlisten = ( {listen} );\n'
                    f'state_dir = "state";\nlists_dir = "lists";\ntemplates_dir = "templates";\n'
                    f'relay = {relay};\n{self.auth_settings(extra)}{extra}\n'
                    # masterkey (#19): the suite's instances keep their key in clear, said so;
                    # test_masterkey.py makes passphrase, key-file and credential instances
                    + ('' if 'master_key' in extra else 'master_key = "insecure-file";\n'))
        here = os.path.dirname(os.path.abspath(__file__))
        tdir = os.path.join(here, "..", "..", "conf", "templates")
        shutil.copytree(tdir, os.path.join(root, "templates"))
        self.ctl("init")

    @staticmethod
    def answers_now(extra):
        """extra with the suite's answer timing in a test's own auth group (see ANSWER_NOW)"""
        if "answer_delay" in extra:
            return extra
        return re.sub(r"\bauth\s*=\s*\{", lambda m: m.group(0) + " " + ANSWER_NOW, extra, count=1)

    @staticmethod
    def auth_settings(extra):
        """The front MTA's id and the session's resolver, unless the test sets its own."""
        out = ""
        if "authserv_id" not in extra:
            out += f'auth = {{ authserv_id = "{AUTHSERV_ID}"; {ANSWER_NOW} }};\n'
        if "dns" not in extra and DNS["address"]:
            out += f'dns = {{ resolver = "{DNS["address"]}"; trust_anchor = ""; timeout = 5; }};\n'
        return out

    def ctl(self, *args, check=True, autostart=True):
        stdin = (self.passphrase + "\n") if self.passphrase else None
        r = subprocess.run([MLISTCTL, "-c", self.conf, *args], capture_output=True, text=True, timeout=60,
                           input=stdin)
        if autostart and self.proc is None and r.returncode == 1 and "the daemon is not running" in r.stderr:
            # a changing verb is the daemon's work: start it, as an operator would, and ask again
            self.start()
            r = subprocess.run([MLISTCTL, "-c", self.conf, *args], capture_output=True, text=True, timeout=60,
                               input=stdin)
        if check and r.returncode != 0:
            raise AssertionError(f"mlistctl {args} failed ({r.returncode}): {r.stderr}")
        return r

    def start(self):
        if self.proc and self.proc.poll() is None:
            return self                 # already started by a changing verb (see ctl)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([MLISTD, "-c", self.conf, "-f"], stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)     # never a terminal asking (#19)
        try:
            wait_port(self.port, proc=self.proc)
        except RuntimeError as e:
            self.logf.flush()
            with open(self.log, "rb") as f:
                tail = f.read()[-3000:].decode("utf-8", "replace")
            raise RuntimeError(f"{e}; mlistd exit {self.proc.poll()}, its log ends:\n{tail}") from None
        # changing verbs go to the queue manager's control socket: wait until it listens
        assert wait_until(lambda: self.control_listening(), 20), "no control socket"
        return self

    def control_listening(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cwd = os.getcwd()
        try:
            os.chdir(self.state)        # the path may be longer than sun_path allows
            s.connect("control")
            return True
        except OSError:
            return False
        finally:
            os.chdir(cwd)
            s.close()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        self.proc = None

    def kill9(self):
        """SIGKILL the daemon and its queue manager (the whole process group would be the shell's)."""
        pid = self.proc.pid
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        os.kill(pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(int(k), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.logf.close()
        self.proc = None

    def logtext(self):
        if not os.path.exists(self.log):
            return ""
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, needle, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end:
            if needle in self.logtext():
                return True
            time.sleep(0.05)
        return False


@pytest.fixture(scope="session", autouse=True)
def session_dns(tmp_path_factory):
    """One unbound for the session (tests/e2e/dnsserver.py): it knows no name but the DKIM keys
    of the domains the tests post from, added as they are first used (see dkim_key); every other
    key and DMARC record is NXDOMAIN at once. A test that needs zones starts its own."""
    from dnsserver import UNBOUND, DnsServer
    if not os.access(UNBOUND, os.X_OK):
        yield None
        return
    srv = DnsServer(tmp_path_factory.mktemp("session-dns"), [], {}, rest="static").start()
    DNS["address"], DNS["server"] = srv.address, srv
    yield srv
    DNS["address"], DNS["server"] = None, None
    srv.stop()


@pytest.fixture
def sink():
    s = Sink()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def make_instance(tmp_path, sink):
    made = []

    def make(extra="", members=("alice@example.org", "bob@example.org", "carol@example.org"),
             list_settings=None, start=True, **kw):
        inst = Instance(str(tmp_path / f"i{len(made)}"), sink, extra, **kw)
        made.append(inst)
        inst.ctl("list", "create", "demo")
        # list set and member add are the daemon's work: it runs while they are done
        if list_settings or members or start:
            inst.start()
        for k, v in (list_settings or {}).items():
            inst.ctl("list", "set", "demo", k, v)
        for m in members:
            inst.ctl("member", "add", "demo", m)
        if not start and inst.proc:
            inst.stop()
        return inst

    yield make
    for inst in made:
        inst.stop()
    # under `make asan-test` the daemon's sanitizer reports land in its log: any is a failure
    for inst in made:
        text = inst.logtext()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, f"{marker} in {inst.log}:\n{text[text.find(marker) - 200:][:3000]}"


def raw_dialogue(port, chunks, timeout=5.0):
    """Send raw byte chunks (waiting for a reply after each) and return all replies as text."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = s.recv(4096)
    try:
        for c in chunks:
            s.sendall(c)
            time.sleep(0.05)
            s.settimeout(timeout)
            try:
                data = s.recv(65536)
            except socket.timeout:
                data = b""
            out += data
            if not data:
                break
    except OSError:
        pass
    finally:
        s.close()
    return out.decode("ascii", "replace")


class PipeliningSink:
    """A minimal SMTP sink that offers PIPELINING (aiosmtpd does not), so the client's pipelined
    path is tested too. Records (mail_from, rcpts, data) like Sink; can refuse chosen recipients.
    dsn: offer DSN (RFC 3461) too; envids then holds each message's ENVID (None: none), and
    orcpts each message's {rcpt: ORCPT value after "rfc822;"} (where one was given)."""

    def __init__(self, dsn=False):
        self.port = free_port()
        self.handler = SinkHandler()
        self.dsn = dsn
        self.envids = []
        self.orcpts = []
        self.loop = None
        self.thread = None

    async def session(self, reader, writer):
        mail_from, rcpts, orcpts = None, [], {}
        writer.write(b"220 pipesink ESMTP\r\n")
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                writer.write(b"250-pipesink\r\n250-PIPELINING\r\n" + (b"250-DSN\r\n" if self.dsn else b"")
                             + b"250 8BITMIME\r\n")
            elif cmd.startswith(b"MAIL FROM:"):
                addr, _, params = line.strip()[10:].partition(b" ")
                mail_from, rcpts, orcpts = addr.strip(b"<>").decode(), [], {}
                envid = re.search(rb"(?i)\bENVID=(\S+)", params)
                envid = envid.group(1).decode() if envid else None
                writer.write(b"250 2.1.0 ok\r\n")
            elif cmd.startswith(b"RCPT TO:"):
                addr, _, params = line.strip()[8:].partition(b" ")
                addr = addr.strip(b"<>").decode()
                orcpt = re.search(rb"(?i)\bORCPT=rfc822;(\S+)", params)
                if orcpt:
                    orcpts[addr] = orcpt.group(1).decode()
                if addr in self.handler.reject_rcpt:
                    writer.write(self.handler.reject_rcpt[addr].encode() + b"\r\n")
                else:
                    rcpts.append(addr)
                    writer.write(b"250 2.1.5 ok\r\n")
            elif cmd == b"DATA":
                if not rcpts:
                    writer.write(b"554 5.5.1 no valid recipients\r\n")
                    continue
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                data = b""
                while True:
                    l = await reader.readline()
                    if l == b".\r\n" or not l:
                        break
                    data += l[1:] if l.startswith(b"..") else l
                with self.handler.lock:
                    self.handler.messages.append((mail_from, list(rcpts), data))
                    self.envids.append(envid)
                    self.orcpts.append(dict(orcpts))
                    self.handler.transactions += 1
                writer.write(b"250 2.0.0 queued\r\n")
            elif cmd == b"RSET":
                mail_from, rcpts = None, []
                writer.write(b"250 2.0.0 ok\r\n")
            elif cmd == b"QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 5.5.2 unknown\r\n")
            await writer.drain()
        writer.close()

    def start(self):
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            server = self.loop.run_until_complete(asyncio.start_server(self.session, "127.0.0.1", self.port))
            ready.set()
            self.loop.run_forever()
            server.close()
            self.loop.run_until_complete(server.wait_closed())
            self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(5)

    def stop(self):
        if self.loop:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop = None

    wait_for = Sink.wait_for


@pytest.fixture
def pipesink():
    s = PipeliningSink()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def dsnsink():
    """a relay that offers DSN: the list's copies carry their envelope id (ENVID)"""
    s = PipeliningSink(dsn=True)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def tmpfs():
    """An 8 MiB tmpfs to fill (a full disk, and freed again); skipped visibly where it cannot be had."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    d = tempfile.mkdtemp(prefix="mlistd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", d], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", d])
    shutil.rmtree(d, ignore_errors=True)
