"""test_ports.py - the suite's port choice (conftest.free_port) cannot race.

Eight engineers' suites choose loopback ports on one machine at once. A port
that was only probed and let go could be taken by another run between the
choice and the daemon's bind ("Address already in use" in test_backup); it is
held now until the test ends, and the daemon binds beside the hold."""
import errno
import socket

from conftest import free_port, wait_port


def foreign_probe(port):
    """what another run's port choice does: a plain bind; the errno it met, 0 none"""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


def test_a_chosen_port_is_not_given_to_another_run_before_the_daemon_binds():
    port = free_port()
    assert foreign_probe(port) == errno.EADDRINUSE


def test_the_daemon_listens_on_a_held_port_and_it_stays_held_across_a_restart(make_instance):
    inst = make_instance(members=())
    wait_port(inst.port, proc=inst.proc)
    inst.stop()
    # stopped: another run still cannot take the port before the restart
    assert foreign_probe(inst.port) == errno.EADDRINUSE
    assert foreign_probe(inst.direct_port) == errno.EADDRINUSE
    inst.start()
    with socket.create_connection(("127.0.0.1", inst.port), timeout=5) as s:
        assert s.recv(512).startswith(b"220 ")


def test_the_sink_binds_beside_its_hold(sink):
    """aiosmtpd sets SO_REUSEADDR as mlistd does: the relay the daemon hands copies to starts
    and answers on its held port"""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as s:
            assert s.recv(512).startswith(b"220 ")
