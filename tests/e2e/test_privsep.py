"""Started as root, mlistd binds its ports and becomes an unprivileged user; mlistctl run as root makes
the instance as that user; no process keeps root, none can dump core."""
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from conftest import FRONT_PORTS, MLISTCTL, MLISTD, Instance, Sink, free_port, wait_port, wait_until

USER = "mlistd-e2e"


def ids(pid):
    status = open(f"/proc/{pid}/status").read()
    uid = [int(x) for x in status.split("\nUid:")[1].split("\n")[0].split()]
    gid = [int(x) for x in status.split("\nGid:")[1].split("\n")[0].split()]
    groups = status.split("\nGroups:")[1].split("\n")[0].split()
    return uid, gid, groups


@pytest.fixture
def system_user():
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs a daemon started as root")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot create a system user: {r.stderr}")
    return pwd.getpwnam(USER)


def root_instance(system_user):
    """An instance made by root for USER: (root dir, config path, SMTP port, sink, mlistctl runner)."""
    root = tempfile.mkdtemp(prefix="mlistd-privsep-")
    os.chmod(root, 0o755)                    # the daemon's user must reach its state below
    sink = Sink()
    sink.start()
    port = free_port()
    conf = os.path.join(root, "mlistd.conf")
    with open(conf, "w") as f:
        # behind the tests' front MTA, as every instance of conftest.py (issue #14)
        f.write(f'hostname = "lists.example";\n'
                f'listen = ( {{ address = "127.0.0.1"; port = {port}; behind_mta = true; }} );\n'
                f'state_dir = "state";\nlists_dir = "lists";\ntemplates_dir = "templates";\n'
                f'user = "{USER}";\nmaster_key = "insecure-file";\n'    # #19: the key in clear, said so
                f'{Instance.auth_settings("")}'
                f'relay = {{ host = "127.0.0.1"; port = {sink.port}; timeout = 10; retry_base = 1; }};\n')
    FRONT_PORTS.add(port)
    shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "..", "conf", "templates"),
                    os.path.join(root, "templates"))
    return root, conf, port, sink, lambda *a: subprocess.run([MLISTCTL, "-c", conf, *a], capture_output=True,
                                                             text=True)


def test_runs_as_the_configured_user(system_user):
    root, conf, port, sink, ctl = root_instance(system_user)
    proc = None
    try:
        for args in (("init",), ("list", "create", "demo")):     # what works before the first start
            r = ctl(*args)
            assert r.returncode == 0, r.stderr
        # everything mlistctl made, it made as the daemon's user
        for path in ("state", "state/master.key", "state/mlistd.db", "lists", "lists/demo.conf"):
            st = os.stat(os.path.join(root, path))
            assert st.st_uid == system_user.pw_uid, path
        assert oct(os.stat(os.path.join(root, "state/master.key")).st_mode & 0o777) == "0o600"
        log = open(os.path.join(root, "mlistd.log"), "wb")
        proc = subprocess.Popen([MLISTD, "-c", conf, "-f"], stdout=log, stderr=log)
        wait_port(port)
        # the control socket is the daemon user's, owner-only; mlistctl as root reaches it as that user
        sock = os.path.join(root, "state", "control")
        assert wait_until(lambda: os.path.exists(sock))
        assert os.stat(sock).st_uid == system_user.pw_uid and oct(os.stat(sock).st_mode & 0o777) == "0o600"
        for addr in ("alice@example.org", "bob@example.org"):
            r = wait_until(lambda addr=addr: (lambda r: r if r.returncode == 0 else None)(
                ctl("member", "add", "demo", addr))) or ctl("member", "add", "demo", addr)
            assert r.returncode == 0, r.stderr
        kids = wait_until(lambda: subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                 text=True).stdout.split())
        assert kids
        for pid in [proc.pid] + [int(k) for k in kids]:
            uid, gid, groups = ids(pid)
            assert uid == [system_user.pw_uid] * 4, (pid, uid)     # real, effective, saved, fs
            assert gid == [system_user.pw_gid] * 4 and groups == [], (pid, gid, groups)
            limits = open(f"/proc/{pid}/limits").read()
            core = [ln for ln in limits.splitlines() if ln.startswith("Max core file size")][0].split()
            assert core[4] == "0" and core[5] == "0", core            # no core dumps
        # and it still does its work: the post reaches both members
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("alice@example.org", ["demo@lists.example"],
                       b"From: alice@example.org\r\nSubject: hi\r\n\r\nAs an unprivileged user.\r\n")
        assert sink.wait_for(2) and len(sink.handler.copies()) == 2
        text = open(os.path.join(root, "mlistd.log")).read()
        assert f"running as {USER}" in text and "running as root" not in text
        # an unwritable spool (the daemon is not root, so permissions hold): 4xx, then it recovers alone
        tmpq = os.path.join(root, "state", "queue", "tmp")
        os.chmod(tmpq, 0o500)
        try:
            with smtplib.SMTP("127.0.0.1", port) as s:
                s.ehlo("x")
                s.mail("alice@example.org")
                s.rcpt("demo@lists.example")
                try:
                    code, msg = s.data(b"From: alice@example.org\r\nSubject: no room\r\n\r\nRefused.\r\n")
                except smtplib.SMTPDataError as e:      # refused at DATA already: no 354
                    code, msg = e.smtp_code, e.smtp_error
            assert 400 <= code < 500, (code, msg)
        finally:
            os.chmod(tmpq, 0o700)
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("alice@example.org", ["demo@lists.example"],
                       b"From: alice@example.org\r\nSubject: again\r\n\r\nTaken again.\r\n")
        assert sink.wait_for(4) and len(sink.handler.copies()) == 4
        assert not any(b"Refused." in raw for _, raw in sink.handler.copies())
        # a state directory the user does not own is refused, with how to fix it
        proc.terminate()
        proc.wait(20)
        proc = None
        os.chown(os.path.join(root, "state"), 0, 0)
        r = subprocess.run([MLISTD, "-c", conf, "-f"], capture_output=True, text=True, timeout=20)
        assert r.returncode != 0 and f"chown -R {USER}:" in r.stderr
    finally:
        if proc:
            proc.kill()
            proc.wait()
        sink.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_state_is_touched_only_as_the_user(system_user):
    """queue/tmp is emptied at start: replaced by a symlink, it once made root delete files elsewhere.
    Now the daemon cleans it only after becoming its user, and never through a symlink."""
    root, conf, port, sink, ctl = root_instance(system_user)
    victim = tempfile.mkdtemp(prefix="mlistd-victim-")
    proc = None
    try:
        assert ctl("init").returncode == 0
        # mlistctl from a shell (no $CREDENTIALS_DIRECTORY): root decrypts the credential itself
        r = ctl("list", "create", "demo")
        assert r.returncode == 0, r.stderr
        names = ["0123456789ABCDEF", "0123456789ABCDEF01234567"]     # queue-id shaped
        for n in names:
            with open(os.path.join(victim, n), "w") as f:
                f.write("precious")
        tmpq = os.path.join(root, "state", "queue", "tmp")
        os.rmdir(tmpq)
        os.symlink(victim, tmpq)
        log = open(os.path.join(root, "mlistd.log"), "wb")
        proc = subprocess.Popen([MLISTD, "-c", conf, "-f"], stdout=log, stderr=log)
        wait_port(port)
        assert wait_until(lambda: "started; queue manager" in open(os.path.join(root, "mlistd.log")).read())
        for n in names:
            assert open(os.path.join(victim, n)).read() == "precious", n
    finally:
        if proc:
            proc.kill()
            proc.wait()
        sink.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(victim, ignore_errors=True)


def test_systemd_credential_as_systemd_gives_it(system_user):
    """#19: systemd writes $CREDENTIALS_DIRECTORY/mlistd-master as root, mode 0400, in a directory
    of mode 0500 (the unit has no User=: mlistd starts as root and becomes `user` itself). The queue
    manager runs as that user, so root opens the credential before giving up root and the queue
    manager reads it; the SMTP process never holds its bytes and closes the descriptor."""
    if not shutil.which("systemd-creds"):
        pytest.skip("systemd-creds is not installed")
    root, conf, port, sink, ctl = root_instance(system_user)
    with open(conf) as f:
        text = f.read().replace('master_key = "insecure-file";', 'master_key = "systemd-creds";')
    cred = os.path.join(root, "mlistd-master.cred")
    with open(conf, "w") as f:
        f.write(text + f'master_key_credential = "{cred}";\n')
    proc = None
    try:
        r = ctl("init")
        assert r.returncode == 0, r.stderr
        line = next(ln.strip() for ln in r.stdout.splitlines() if ln.strip().startswith("systemd-creds encrypt"))
        plain = line.split()[3]
        assert line.split()[4] == cred and f"LoadCredentialEncrypted=mlistd-master:{cred}" in r.stdout
        r = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"systemd-creds cannot encrypt here: {r.stderr}")
        assert not os.path.exists(plain)
        # what LoadCredentialEncrypted= makes at start: root's file, 0400, in a 0500 directory
        creds = os.path.join(root, "credentials")
        os.mkdir(creds, 0o700)
        r = subprocess.run(["systemd-creds", "decrypt", "--name=mlistd-master", cred,
                            os.path.join(creds, "mlistd-master")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        os.chmod(os.path.join(creds, "mlistd-master"), 0o400)
        os.chmod(creds, 0o500)
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        with open(os.path.join(root, "mlistd.log"), "ab") as log:
            proc = subprocess.Popen([MLISTD, "-c", conf, "-f"], stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL, env=env)
        wait_port(port)
        assert wait_until(lambda: "qmgr: up to" in open(os.path.join(root, "mlistd.log")).read(), 20), \
            open(os.path.join(root, "mlistd.log")).read()
        # mlistctl from a shell (no $CREDENTIALS_DIRECTORY): root decrypts the credential itself
        r = ctl("list", "create", "demo")
        assert r.returncode == 0, r.stderr
        for m in ("alice@example.org", "bob@example.org"):
            assert ctl("member", "add", "demo", m).returncode == 0
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("alice@example.org", ["demo@lists.example"],
                       b"From: alice@example.org\r\nSubject: hi\r\n\r\nUnlocked by a credential.\r\n")
        assert sink.wait_for(2) and len(sink.handler.copies()) == 2
        log = open(os.path.join(root, "mlistd.log")).read()
        assert f"running as {USER}" in log and "not starting" not in log, log
        # the SMTP process (the daemon's first pid) keeps no descriptor of the credential
        fds = [os.readlink(f"/proc/{proc.pid}/fd/{n}") for n in os.listdir(f"/proc/{proc.pid}/fd")]
        assert not [f for f in fds if "mlistd-master" in f], fds
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
        sink.stop()
        shutil.rmtree(root, ignore_errors=True)
