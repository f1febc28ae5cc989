"""SMTP ingest against the real daemon: acceptance, refusals, smuggling, limits, durability."""
import asyncio
import glob
import os
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import MLISTD, MLISTCTL, raw_dialogue, wait_port

POST = (b"From: alice@example.org\r\nTo: demo@lists.example\r\nSubject: ingest test\r\n"
        b"Message-ID: <ingest-1@example.org>\r\n\r\nThe body text XYZZY-SECRET-BODY.\r\n")


def queued_id(reply):
    m = re.search(r"queued as ([0-9A-F]{24})", reply)
    assert m, reply
    return m.group(1)


def test_smtplib_post_accepted_with_queue_id(make_instance):
    inst = make_instance(start=True)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        code, msg = s.ehlo("client.example")
        assert code == 250 and b"PIPELINING" in msg and b"8BITMIME" in msg and b"ENHANCEDSTATUSCODES" in msg
        s.mail("alice@example.org")
        s.rcpt("demo@lists.example")
        code, msg = s.data(POST)
    assert code == 250
    qid = queued_id(msg.decode())
    assert inst.wait_log(f"{qid} smtpd: client=127.0.0.1 nrcpt=1")


def test_swaks_post_accepted(make_instance):
    inst = make_instance()
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--from", "alice@example.org",
                        "--to", "demo@lists.example", "--header", "Subject: swaks", "--body", "hello"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"<-  250 2\.0\.0 Ok: queued as [0-9A-F]{24}", r.stdout)


@pytest.mark.parametrize("rcpt", ["nobody@lists.example", "demo@other.example", "alice@example.org",
                                  "demo+x@lists.example", "postmaster@127.0.0.1"])
def test_unknown_recipient_refused(make_instance, rcpt):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("alice@example.org")
        code, msg = s.rcpt(rcpt)
    assert code == 550 and msg.startswith(b"5.1.1"), (code, msg)


SMUGGLING = {
    "bare LF line": b"Subject: a\r\n\r\nbody\n.\n",
    "lf dot lf": b"Subject: a\r\n\r\nbody\r\n\n.\n",
    "cr dot cr": b"Subject: a\r\n\r\nbody\r\r.\r\r",
    "lf dot crlf": b"Subject: a\r\n\r\nbody\r\n\n.\r\n",
    "bare lf before dot crlf": b"Subject: a\r\n\r\nbody\n.\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_refused(make_instance, name):
    inst = make_instance()
    smuggled = (b"MAIL FROM:<eve@example.org>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
    out = raw_dialogue(inst.port, [b"EHLO x\r\n", b"MAIL FROM:<a@example.org>\r\n",
                                   b"RCPT TO:<demo@lists.example>\r\n", b"DATA\r\n",
                                   SMUGGLING[name] + smuggled])
    assert re.search(r"554 5\.5\.2 Bare <(LF|CR)> received", out), out
    assert "queued as" not in out
    assert inst.wait_log("reason=bare-")
    assert os.listdir(os.path.join(inst.state, "queue", "incoming")) == []


def test_bare_lf_in_command_refused(make_instance):
    inst = make_instance()
    out = raw_dialogue(inst.port, [b"EHLO x\n"])
    assert "554 5.5.2 Bare <LF>" in out


def test_oversize_refused_during_data(make_instance):
    inst = make_instance(extra="limits = { max_message_size = 100000; };")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        assert b"SIZE 100000" in s.ehlo_resp
        code, _ = s.mail("alice@example.org", ["SIZE=200000"])
        assert code == 552
        s.rset()
        s.mail("alice@example.org")
        s.rcpt("demo@lists.example")
        code, msg = s.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 3000)
    assert code == 552 and msg.startswith(b"5.3.4"), (code, msg)
    assert os.listdir(os.path.join(inst.state, "queue", "incoming")) == []
    assert os.listdir(os.path.join(inst.state, "queue", "tmp")) == []


def test_long_line_refused(make_instance):
    inst = make_instance()
    out = raw_dialogue(inst.port, [b"EHLO x\r\n" + b"A" * 1500 + b"\r\n"])
    assert "500 5.5.2 Line too long" in out


def test_vrfy_never_confirms(make_instance):
    inst = make_instance()
    out = raw_dialogue(inst.port, [b"EHLO x\r\n", b"VRFY alice@example.org\r\n", b"VRFY demo\r\n"])
    assert out.count("252 2.5.2") == 2


def test_500_concurrent_sessions(make_instance):
    inst = make_instance(extra="limits = { max_connections_per_client = 1000; };")
    n = 500

    async def one(i):
        r, w = await asyncio.open_connection("127.0.0.1", inst.port)
        greet = await r.readline()
        assert greet.startswith(b"220"), greet
        return r, w

    async def finish(r, w, i):
        w.write(b"HELO c%d\r\nMAIL FROM:<a%d@example.org>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n" % (i, i))
        lines = [await r.readline() for _ in range(4)]
        assert lines[-1].startswith(b"354"), lines
        w.write(b"Subject: c%d\r\n\r\nhi\r\n.\r\nQUIT\r\n" % i)
        done = await r.readline()
        await r.readline()
        w.close()
        return done

    async def main():
        conns = await asyncio.gather(*[one(i) for i in range(n)])   # all 500 open at once
        return await asyncio.gather(*[finish(r, w, i) for i, (r, w) in enumerate(conns)])

    replies = asyncio.run(asyncio.wait_for(main(), 120))
    assert all(x.startswith(b"250 2.0.0 Ok: queued as") for x in replies), [x for x in replies if not x.startswith(b"250")][:3]
    assert len(set(replies)) == n   # n distinct queue ids


def test_max_connections_gets_421(make_instance):
    inst = make_instance(extra="limits = { max_connections = 2; };")
    a = socket.create_connection(("127.0.0.1", inst.port))
    b = socket.create_connection(("127.0.0.1", inst.port))
    assert a.recv(100).startswith(b"220") and b.recv(100).startswith(b"220")
    c = socket.create_connection(("127.0.0.1", inst.port))
    assert c.recv(200).startswith(b"421 4.7.0 Too many connections")
    for s in (a, b, c):
        s.close()


def test_idle_client_times_out(make_instance):
    inst = make_instance(extra="limits = { command_timeout = 1; };")
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    s.recv(100)
    t = time.time()
    data = s.recv(200)
    assert data.startswith(b"421 4.4.2") and time.time() - t < 5
    s.close()


def test_slowloris_line_is_cut_at_the_record_deadline(make_instance):
    """A byte now and then keeps a connection from being idle, not a command line from being late."""
    inst = make_instance(extra="limits = { command_timeout = 2; };")
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    s.recv(100)
    t = time.time()
    got = b""
    try:
        for b in b"EHLO " + b"o" * 40:
            s.sendall(bytes([b]))
            time.sleep(0.3)          # never idle for 2 s, but the line is 13 s long
            s.setblocking(False)
            try:
                got += s.recv(200)
            except BlockingIOError:
                pass
            s.setblocking(True)
            if got:
                break
    except OSError:
        pass
    assert got.startswith(b"421 4.4.2"), got
    assert time.time() - t < 5
    assert inst.wait_log("reason=timeout")
    s.close()


def test_slow_client_does_not_block_others(make_instance):
    inst = make_instance()
    slow = socket.create_connection(("127.0.0.1", inst.port))
    slow.recv(100)
    slow.sendall(b"EH")   # half a command, then nothing
    t = time.time()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=5) as s:
        s.ehlo("x")
        s.mail("a@example.org")
        s.rcpt("demo@lists.example")
        code, _ = s.data(b"Subject: x\r\n\r\nhi\r\n")
    assert code == 250 and time.time() - t < 2
    slow.close()


def test_lmtp_listener(make_instance):
    inst = make_instance(lmtp=True)
    with smtplib.LMTP("127.0.0.1", inst.lmtp_port) as s:
        s.ehlo_or_helo_if_needed()
        s.mail("a@example.org")
        s.rcpt("demo@lists.example")
        s.rcpt("demo-request@lists.example")
        s.putcmd("data")
        code, _ = s.getreply()
        assert code == 354
        s.send(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        replies = [s.getreply() for _ in range(2)]
    assert all(c == 250 and b"queued as" in m for c, m in replies), replies


def test_no_plaintext_under_state_dir(make_instance):
    inst = make_instance(start=True)
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail("alice@example.org", ["demo@lists.example"], POST)
    time.sleep(0.5)
    inst.stop()
    found = []
    for path in glob.glob(os.path.join(inst.state, "**"), recursive=True):
        if os.path.isfile(path):
            data = open(path, "rb").read()
            for needle in (b"XYZZY-SECRET-BODY", b"alice@example.org", b"bob@example.org", b"ingest test"):
                if needle in data:
                    found.append((path, needle))
    assert found == []


def test_kill9_after_250_loses_nothing(make_instance, sink):
    sink.stop()   # relay down: the message must wait in the queue, not vanish
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("alice@example.org")
        s.rcpt("demo@lists.example")
        code, msg = s.data(POST)
    assert code == 250
    inst.kill9()
    sink.start()
    inst.start()
    copies = sink.wait_for(3)
    assert sorted(r for r, _ in copies) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert all(b"XYZZY-SECRET-BODY" in m for _, m in copies)


def test_broken_config_names_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('hostname = "x.example";\nlisten = ( { port = 70000; } );\nstate_dir = "s";\n'
                    'relay = { host = "h"; };\nlimits = { max_conections = 5; };\n')
    (tmp_path / "lists").mkdir()
    r = subprocess.run([MLISTD, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{conf}:2: listen.[0].port: out of range" in r.stderr
    assert f"{conf}:5: limits.max_conections: unknown setting" in r.stderr
    templates = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "templates")
    conf.write_text('hostname = "x.example";\nlisten = ( { port = 2525; } );\nstate_dir = "s";\n'
                    f'templates_dir = "{templates}";\nrelay = {{ host = "h"; }};\n')
    r = subprocess.run([MLISTD, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "configuration OK\n"
    conf.write_text('hostname = "x.example";\nlisten = ( { port = ; } );\n')
    r = subprocess.run([MLISTD, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1 and f"{conf}:2: syntax error" in r.stderr


def test_shipped_config_checks(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([MLISTD, "-t", "-c", os.path.join(here, "..", "..", "conf", "mlistd.conf")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr


def test_sighup_reload_serves_new_list(make_instance):
    inst = make_instance()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("a@example.org")
        assert s.rcpt("news@lists.example")[0] == 550
        r = inst.ctl("list", "create", "news")     # by the daemon: it reloads
        assert "created list news@lists.example" in r.stdout, r.stderr
        assert inst.wait_log("reloaded; 2 list(s)")
        # the open session keeps working
        assert s.rcpt("demo@lists.example")[0] == 250
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("a@example.org")
        assert s.rcpt("news@lists.example")[0] == 250


def test_bad_reload_keeps_old_config(make_instance):
    inst = make_instance()
    with open(os.path.join(inst.root, "lists", "demo.conf"), "a") as f:
        f.write("posting = 12;\n")
    inst.proc.send_signal(signal.SIGHUP)
    assert inst.wait_log("reload failed, keeping the old configuration")
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("x")
        s.mail("a@example.org")
        assert s.rcpt("demo@lists.example")[0] == 250


def test_sigterm_finishes_transaction_in_data(make_instance):
    inst = make_instance()
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n")
    for _ in range(4):
        line = f.readline()
    assert line.startswith(b"354")
    s.sendall(b"Subject: in flight\r\n\r\nfirst half\r\n")
    inst.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert inst.proc.poll() is None            # still running: a message is in flight
    s.sendall(b"second half\r\n.\r\n")
    assert f.readline().startswith(b"250 2.0.0 Ok: queued as")
    assert f.readline().startswith(b"421 4.3.2")
    inst.proc.wait(10)
    assert inst.proc.returncode == 0
    s.close()
