"""Shared helpers for the benchmarks: build, temp instance, free ports, daemon start/stop."""
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


class Instance:
    def __init__(self, relay, members=0, list_settings=None, limits=""):
        self.dir = tempfile.mkdtemp(prefix="mlistd-bench.")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mlistd.conf")
        os.makedirs(os.path.join(self.dir, "lists"))
        shutil.copytree(os.path.join(ROOT, "conf", "templates"), os.path.join(self.dir, "templates"))
        with open(self.conf, "w") as f:
            f.write(f'hostname = "lists.example";\nlisten = ( {{ address = "127.0.0.1"; port = {self.port}; }} );\n'
                    f'state_dir = "state";\nrelay = {relay};\nlimits = {{ max_connections = 2000; {limits} }};\n')
        self.ctl("init")
        self.ctl("list", "create", "bench")
        for k, v in (list_settings or {}).items():
            self.ctl("list", "set", "bench", k, v)
        if members:
            addrs = "".join(f"u{i:06d}@rcpt{i % 50}.example.net\n" for i in range(members))
            subprocess.run([os.path.join(BIN, "mlistctl"), "-c", self.conf, "member", "import", "bench", "-"],
                           input=addrs, text=True, check=True, capture_output=True)
        self.log = os.path.join(self.dir, "mlistd.log")
        self.proc = None

    def ctl(self, *args):
        return subprocess.run([os.path.join(BIN, "mlistctl"), "-c", self.conf, *args], check=True,
                              capture_output=True, text=True)

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "mlistd"), "-c", self.conf, "-f"],
                                     stdout=self.logf, stderr=self.logf)
        wait_port(self.port)

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
        shutil.rmtree(self.dir, ignore_errors=True)
