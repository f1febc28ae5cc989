"""dnsrelay.py - a slow or dead DNS server for the tests: a UDP relay on 127.0.0.1 in front of
the session's unbound (conftest.DNS), with one domain treated apart.

mode "delay": names under the domain are answered `delay` seconds after they were first asked
(every copy asked meanwhile is held and answered then, so the late answer is taken, as from a slow
server); mode "drop": they are never answered (a sender whose DNS is dead, or who makes it so).
Every other name is relayed at once. Used by test_slow_dns.py and test_attacks8b.py."""
import socket
import threading
import time

import pytest
from conftest import DNS, free_port


def qname(packet):
    """The question's name of a DNS query, lower case ('' if it does not parse)."""
    labels, i = [], 12
    try:
        while packet[i]:
            n = packet[i]
            labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
    except IndexError:
        return ""
    return ".".join(labels).lower()


class DnsRelay:
    """UDP relay to upstream ("127.0.0.1@PORT"); names under domain delayed or dropped."""

    def __init__(self, upstream, domain, mode="delay", delay=0.0):
        assert mode in ("delay", "drop"), mode
        host, port = upstream.split("@")
        self.upstream = (host, int(port))
        self.domain, self.mode, self.delay = domain, mode, delay
        self.first = {}             # delayed name -> when first asked
        self.released = None        # when the first delayed answer was sent
        self.asked = []             # every name asked, in order
        self.dropped = 0            # queries never answered (mode "drop")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.port = free_port()
        self.sock.bind(("127.0.0.1", self.port))
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def address(self):
        """What dns.resolver names: ADDR@PORT."""
        return "127.0.0.1@%d" % self.port

    def apart(self, name):
        return name == self.domain or name.endswith("." + self.domain)

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                pkt, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            name = qname(pkt)
            with self.lock:
                self.asked.append(name)
                if self.mode == "drop" and self.apart(name):
                    self.dropped += 1
                    continue
            threading.Thread(target=self.relay, args=(pkt, peer, name),
                             daemon=True).start()

    def relay(self, pkt, peer, name):
        slow = self.apart(name)
        if slow:
            with self.lock:
                at = self.first.setdefault(name, time.time()) + self.delay
            if at > time.time():
                time.sleep(at - time.time())
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(3)
        try:
            up.sendto(pkt, self.upstream)
            answer = up.recv(4096)
        except OSError:
            return
        finally:
            up.close()
        with self.lock:
            if slow and self.released is None:
                self.released = time.time()
        try:
            self.sock.sendto(answer, peer)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        self.sock.close()


def dns_relay(domain, mode="delay", delay=0.0):
    """A relay in front of the session's unbound; the test skipped without unbound."""
    if DNS["address"] is None:
        pytest.skip("unbound is not installed (tools/install-deps installs it)")
    return DnsRelay(DNS["address"], domain, mode, delay)
