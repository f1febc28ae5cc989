"""dnsserver.py - a real DNS server on 127.0.0.1 for the tests: Debian's unbound, serving
local-data only (no recursion, no network), TXT records given by the test."""
import os
import subprocess
import time

from conftest import free_port

UNBOUND = "/usr/sbin/unbound"


def txt_strings(value):
    """One TXT value as DNS character-strings of at most 255 bytes, quoted for unbound."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"%s"' % p.replace('"', '\\"') for p in parts)


class DnsServer:
    """unbound -d on a free port; records: {name: [txt, ...]}; zones: local zones to serve."""

    def __init__(self, tmp_path, zones, records, rest="refuse"):
        self.dir = tmp_path / "dns"
        self.dir.mkdir()
        self.port = free_port()
        self.log = self.dir / "unbound.log"
        lines = ["server:",
                 "  interface: 127.0.0.1", "  port: %d" % self.port,
                 "  do-daemonize: no", "  username: \"\"", "  chroot: \"\"",
                 "  directory: \"%s\"" % self.dir, "  pidfile: \"%s/pid\"" % self.dir,
                 "  use-syslog: no", "  logfile: \"%s\"" % self.log, "  verbosity: 1",
                 "  module-config: \"iterator\"", "  do-ip6: no",
                 "  access-control: 127.0.0.0/8 allow",
                 # nothing outside the test zones is ever looked up ("static": NXDOMAIN)
                 "  local-zone: \".\" %s" % rest]
        for z in zones:
            lines.append("  local-zone: \"%s.\" static" % z)
        for name, values in records.items():
            for v in values:
                lines.append("  local-data: '%s. 300 IN TXT %s'" % (name, txt_strings(v)))
        lines += ["remote-control:", "  control-enable: no"]
        self.conf = self.dir / "unbound.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        check = subprocess.run(["/usr/sbin/unbound-checkconf", str(self.conf)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.time() + 15
        while time.time() < end:
            if self.log.exists() and "start of service" in self.log.read_text():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        raise RuntimeError("unbound did not start: " + self.log.read_text())

    @property
    def address(self):
        return "127.0.0.1@%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
