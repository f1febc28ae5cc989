"""dnsserver.py - a real DNS server on 127.0.0.1 for the tests: Debian's unbound, serving
local-data only (no recursion, no network), TXT records given by the test, and more added while it
runs (`add`, through unbound-control on a local socket: how the session's server learns the DKIM
key of each member domain the tests post from, see conftest.py)."""
import os
import subprocess
import time

from conftest import free_port, key_records

UNBOUND = "/usr/sbin/unbound"
UNBOUND_CONTROL = "/usr/sbin/unbound-control"


def txt_strings(value):
    """One TXT value as DNS character-strings of at most 255 bytes, quoted for unbound."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"%s"' % p.replace('"', '\\"') for p in parts)


class DnsServer:
    """unbound -d on a free port; records: {name: [txt, ...]}; zones: local zones to serve.
    Every server also serves the member domains' DKIM keys of conftest (key_records), those
    published while it runs too, so a test's own DNS does not unsign its members' posts."""

    running = []            # servers started and not stopped: conftest.dkim_key adds to each

    def __init__(self, tmp_path, zones, records, rest="refuse"):
        records = {**key_records(), **records}
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
        # a unix socket, no certificates: only this user on this machine can add records
        self.ctl_sock = self.dir / "ctl.sock"
        lines += ["remote-control:", "  control-enable: yes",
                  "  control-interface: \"%s\"" % self.ctl_sock, "  control-use-cert: no"]
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
                DnsServer.running.append(self)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        raise RuntimeError("unbound did not start: " + self.log.read_text())

    def add(self, name, values):
        """Serve TXT values for name from now on (unbound-control local_datas, one call)."""
        data = "".join("%s. 300 IN TXT %s\n" % (name, txt_strings(v)) for v in values)
        r = subprocess.run([UNBOUND_CONTROL, "-c", str(self.conf), "local_datas"], input=data,
                           capture_output=True, text=True, timeout=15)
        assert r.returncode == 0 and "error" not in r.stdout, r.stdout + r.stderr

    @property
    def address(self):
        return "127.0.0.1@%d" % self.port

    def stop(self):
        if self in DnsServer.running:
            DnsServer.running.remove(self)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
