"""Shared helpers for the benchmarks: build, temp instance, free ports, daemon start/stop.

An Instance runs the binaries of one build (default: this tree's build/; bench/fanout --compare
passes another), so that two builds can be measured side by side in one run.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "bin")


def build():
    subprocess.run(["make", "-s", "-C", ROOT, "all"], check=True)


def bin_dir(path):
    """The bin/ of a build: PATH may be a build directory (PATH/bin/mlistd) or a source tree
    (PATH/build/bin/mlistd), e.g. a git worktree of an older commit built with make."""
    for d in (os.path.join(path, "bin"), os.path.join(path, "build", "bin")):
        if os.access(os.path.join(d, "mlistd"), os.X_OK) and os.access(os.path.join(d, "mlistctl"), os.X_OK):
            return os.path.abspath(d)
    raise SystemExit(f"{path}: no bin/mlistd or build/bin/mlistd (build it first: make -C TREE -j2)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def templates_for(bindir):
    """The list templates of the tree a build came from (TREE/build/bin): an older build may not
    know the settings a newer template has"""
    own = os.path.join(bindir, "..", "..", "conf", "templates")
    return own if os.path.isdir(own) else os.path.join(ROOT, "conf", "templates")


# the benches' posts arrive as from a front MTA that checked them (#14): its
# Authentication-Results with this id make the sender authenticated
AUTHSERV_ID = "mx.bench.example"


def front_authres(domain):
    """the front MTA's Authentication-Results header for a post From domain (bytes)"""
    return (f"Authentication-Results: {AUTHSERV_ID}; dkim=pass header.d={domain};\r\n"
            f"\tdmarc=pass header.from={domain}\r\n").encode()


class Instance:
    def __init__(self, relay, members=0, list_settings=None, limits="", bindir=BIN, listen="", extra=""):
        """listen: more settings of the listener (bench/hostile: behind_mta); extra: more top-level
        settings"""
        self.bin = bindir
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="mlistd-bench.")
        self.log = os.path.join(self.dir, "mlistd.log")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mlistd.conf")
        os.makedirs(os.path.join(self.dir, "lists"))
        shutil.copytree(templates_for(bindir), os.path.join(self.dir, "templates"))
        with open(self.conf, "w") as f:
            f.write(f'hostname = "lists.example";\nlisten = ( {{ address = "127.0.0.1"; port = {self.port}; behind_mta = true; {listen} }} );\n'
                    f'auth = {{ authserv_id = "{AUTHSERV_ID}"; }};\n{extra}'
                    f'state_dir = "state";\nmaster_key = "insecure-file";\nrelay = {relay};\nlimits = {{ max_connections = 2000; {limits} }};\n')
        self.older_build_settings()
        self.ctl("init")
        self.setup("list", "create", "bench")
        for k, v in (list_settings or {}).items():
            self.setup("list", "set", "bench", k, v)
        if members:
            addrs = "".join(f"u{i:06d}@rcpt{i % 50}.example.net\n" for i in range(members))
            self.setup("member", "import", "bench", "-", input=addrs)

    def older_build_settings(self):
        """A build from before a setting this file writes (auth and behind_mta came with #14,
        master_key with #19: 3cdbf80, #13's baseline, knows none) refuses it as unknown: drop
        what its `mlistd -t` names, so that old and new builds run the same bench."""
        r = subprocess.run([os.path.join(self.bin, "mlistd"), "-t", "-c", self.conf],
                           capture_output=True, text=True)
        unknown = set(re.findall(r":\d+: (?:listen\.\[\d+\]\.)?([a-z_]+): unknown setting",
                                 r.stdout + r.stderr))
        if not unknown:
            return
        with open(self.conf) as f:
            text = f.read()
        for name in unknown:
            # a top-level line, or a setting inside the listen group's braces
            text = re.sub(rf"(?m)^{name} = (\{{[^\n]*\}}|[^\n]*);\n", "", text)
            text = re.sub(rf"\b{name} = [^;{{}}]*; ?", "", text)
        with open(self.conf, "w") as f:
            f.write(text)

    def ctl(self, *args, input=None, check=True):
        r = subprocess.run([os.path.join(self.bin, "mlistctl"), "-c", self.conf, *args], input=input,
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit(f"mlistctl {' '.join(args)} ({self.bin}): exit {r.returncode}: {r.stderr.strip()}")
        return r

    def setup(self, *args, input=None):
        """A changing verb before the measurement: offline where the build allows it (older
        builds write the database themselves), else through the running daemon (builds whose
        mlistctl is a client of the daemon's control socket refuse changes while it is down)."""
        if self.proc is None and self.ctl(*args, input=input, check=False).returncode == 0:
            return
        self.start()
        # start() waits for the SMTP port; the control socket can come a moment later (seen at a
        # load of 9: "the daemon is not running")
        for _ in range(100):
            r = self.ctl(*args, input=input, check=False)
            if r.returncode == 0 or "not running" not in r.stderr:
                break
            time.sleep(0.05)
        if r.returncode != 0:
            raise SystemExit(f"mlistctl {' '.join(args)} ({self.bin}): exit {r.returncode}: "
                             f"{r.stderr.strip()}")

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return      # started by setup(); a killed daemon (fault-campaign) is started again
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin, "mlistd"), "-c", self.conf, "-f"],
                                     stdout=self.logf, stderr=self.logf)
        wait_port(self.port)
        # the SMTP port opens before the queue manager's control socket: under load a
        # mlistctl right after it found "not running" (a build without the socket: 10 s lost)
        control = os.path.join(self.dir, "state", "control")
        end = time.time() + 10
        while not os.path.exists(control) and time.time() < end and self.proc.poll() is None:
            time.sleep(0.05)

    def pids(self):
        kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return [self.proc.pid] + [int(k) for k in kids]

    def peak_rss_kib(self):
        peak = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    m = re.search(r"VmHWM:\s+(\d+)", f.read())
                    peak = max(peak, int(m.group(1)))
            except OSError:
                pass
        return peak

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            self.logf.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
