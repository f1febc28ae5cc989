"""The master key off the disk (#19): a passphrase-kept instance starts locked, still takes
mail into a spool sealed to its public key, and delivers all of it exactly once when
`mlistctl unlock` gives it the passphrase; a seized copy of the instance reveals nothing, and
with a wrong passphrase the daemon refuses to start; old clear-key instances migrate."""
import base64
import collections
import os
import shutil
import smtplib
import subprocess

import pytest

from conftest import MLISTD, MLISTCTL, Instance, wait_until

PASS = "correct horse battery staple"
ROSA = "rosa.luxemburg@spartakus.example"
MEMBERS = (ROSA, "bob@example.org", "carol@example.org")
NEEDLES = [ROSA, "rosa.luxemburg", "spartakus.example", "Rosa Luxemburg", "Luxemburg",
           "bob@example.org", "carol@example.org", "Spartakusbund", "Night Owl"]


class PassInstance(Instance):
    passphrase = PASS


def make(tmp_path, sink, name="p", members=MEMBERS):
    """A pseudonymous passphrase instance with its members, left running and unlocked."""
    inst = PassInstance(str(tmp_path / name), sink, 'master_key = "passphrase";')
    assert os.path.exists(os.path.join(inst.state, "master.wrapped"))
    assert not os.path.exists(os.path.join(inst.state, "master.key"))
    inst.ctl("list", "create", "demo")
    inst.start()
    assert inst.wait_log("locked: taking mail")
    r = unlock(inst)
    assert r.returncode == 0, r.stderr + inst.logtext()
    # the locked server's socket goes, the queue manager's comes once its store is open (a
    # migration may take a moment): changing verbs wait for it
    assert wait_until(lambda: inst.control_listening() and not inst.ctl(
        "status", check=False, autostart=False).stdout.startswith("locked since"), 30)
    inst.ctl("list", "set", "demo", "identity.mode", "pseudonym")
    for m in members:
        if m == ROSA:
            inst.ctl("member", "add", "demo", m, "--name", "Rosa Luxemburg", "--pseudonym", "Night Owl")
        else:
            inst.ctl("member", "add", "demo", m)
    return inst


def unlock(inst, passphrase=PASS):
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "unlock"], input=passphrase + "\n",
                       capture_output=True, text=True, timeout=60)
    return r


def post(inst, i):
    raw = (f"From: Rosa <{ROSA}>\r\nSubject: post {i}\r\nMessage-ID: <m{i}@spartakus.example>\r\n\r\n"
           f"Spartakusbund meets at dawn, number {i}.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(ROSA, ["demo@lists.example"], raw)


def delivered(sink):
    """(recipient, subject) -> copies"""
    c = collections.Counter()
    for _, rcpts, data in sink.handler.messages:
        # the outer header only: a pseudonym's signed part repeats Subject inside (#18)
        for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
            if line.startswith(b"Subject:") and b"post " in line:
                for r in rcpts:
                    c[(r, line.split(b"post ")[1].strip().decode())] += 1
    return c


def wait_all(sink, n, rcpts=("bob@example.org", "carol@example.org")):
    want = {(r, str(i)) for r in rcpts for i in range(n)}
    return wait_until(lambda: want <= set(delivered(sink)), 120)


def test_locked_daemon_takes_100_posts_and_delivers_each_once_after_unlock(tmp_path, sink):
    inst = make(tmp_path, sink)
    inst.stop()
    sink.handler.messages.clear()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    for i in range(100):
        post(inst, i)                      # every one answered 250 (smtplib raises otherwise)
    st = inst.ctl("status")
    assert st.stdout.startswith("locked since ") and "100 messages waiting" in st.stdout, st.stdout
    # locked: nothing goes out, and a changing verb says why
    assert not delivered(sink)
    r = inst.ctl("member", "add", "demo", "dave@example.org", check=False)
    assert r.returncode == 1 and "locked" in r.stderr
    bad = unlock(inst, "not the passphrase")
    assert bad.returncode == 1 and "wrong passphrase" in bad.stderr
    assert PASS not in inst.logtext() and "not the passphrase" not in inst.logtext()
    ok = unlock(inst)
    assert ok.returncode == 0, ok.stderr
    assert wait_all(sink, 100), inst.logtext()[-3000:]
    got = delivered(sink)
    assert all(v == 1 for v in got.values()), [k for k, v in got.items() if v != 1]
    inst.stop()


def test_kill9_while_locked_loses_nothing(tmp_path, sink):
    inst = make(tmp_path, sink)
    inst.stop()
    sink.handler.messages.clear()
    inst.start()
    assert inst.wait_log("locked: taking mail")
    for i in range(20):
        post(inst, i)
    inst.kill9()
    inst.start()
    assert inst.wait_log("20 messages waiting")
    assert unlock(inst).returncode == 0
    assert wait_all(sink, 20), inst.logtext()[-3000:]
    assert all(v == 1 for v in delivered(sink).values())
    inst.stop()


def scan(blob, where):
    low = blob.lower()
    for n in NEEDLES:
        assert n.lower().encode() not in low, f"{n!r} found in {where}"


def test_seized_copy_reveals_nothing_and_a_wrong_passphrase_does_not_start(tmp_path, sink):
    inst = make(tmp_path, sink)
    for i in range(5):
        post(inst, i)
    assert wait_all(sink, 5)
    inst.stop()
    seized = tmp_path / "seized"
    shutil.copytree(inst.root, seized)     # state, configuration, list files, templates, log
    # the clear key, to look for it: the real instance writes it to a file outside the copy
    keyfile = str(tmp_path / "extracted.key")
    r = inst.ctl("rekey", "--to", keyfile)
    assert r.returncode == 0, r.stderr
    with open(keyfile, "rb") as f:
        key = f.read()
    assert len(key) == 32
    forms = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)]
    files = 0
    for root, _, names in os.walk(seized):
        for n in names:
            with open(os.path.join(root, n), "rb") as fp:
                blob = fp.read()
            scan(blob, os.path.join(root, n))
            for k in forms:
                assert k not in blob, f"the clear master key in {n}"
            files += 1
    assert files > 5
    # the copy with a wrong passphrase: the daemon refuses, with one clear line
    conf = str(seized / "mlistd.conf")
    p = subprocess.run([MLISTD, "-c", conf, "-f", "-p"], input="guess\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if "passphrase" in ln]
    assert len(lines) == 1 and "does not open" in lines[0] and "not starting" in lines[0], p.stderr
    # nor does mlistctl read anything with it
    r = subprocess.run([MLISTCTL, "-c", conf, "member", "ls", "demo"], input="guess\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "does not open" in r.stderr and "example.org" not in r.stdout


def test_passphrase_on_stdin_with_p_starts_unlocked(tmp_path, sink):
    inst = make(tmp_path, sink)
    inst.stop()
    sink.handler.messages.clear()
    logf = open(inst.log, "ab")
    proc = subprocess.Popen([MLISTD, "-c", inst.conf, "-f", "-p"], stdin=subprocess.PIPE,
                            stdout=logf, stderr=logf)
    try:
        proc.stdin.write((PASS + "\n").encode())
        proc.stdin.close()
        assert wait_until(inst.control_listening, 30)
        post(inst, 0)
        assert wait_all(sink, 1), inst.logtext()[-2000:]
        assert "locked: taking mail" not in inst.logtext().split("started; queue manager")[-1]
    finally:
        proc.terminate()
        proc.wait(30)
        logf.close()


def test_old_clear_key_instance_warns_then_rekey_migrates(tmp_path, sink):
    """An instance made before #19: master.key in clear, no master_key setting, no spool.pub."""
    inst = Instance(str(tmp_path / "old"), sink)
    inst.ctl("list", "create", "demo")
    with open(inst.conf) as f:
        text = f.read().replace('master_key = "insecure-file";\n', "")
    with open(inst.conf, "w") as f:
        f.write(text)
    os.unlink(os.path.join(inst.state, "spool.pub"))
    inst.start()
    assert inst.wait_log("run 'mlistctl rekey'"), inst.logtext()
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.ctl("member", "add", "demo", ROSA)
    post(inst, 0)
    assert wait_all(sink, 1, ("bob@example.org",))
    inst.stop()
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "rekey"], input=PASS + "\n", capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(inst.state, "master.key"))
    assert os.path.exists(os.path.join(inst.state, "master.wrapped"))
    inst.passphrase = PASS
    assert "bob@example.org" in inst.ctl("member", "ls", "demo").stdout      # the data is untouched
    inst.start()
    assert inst.wait_log("locked: taking mail")
    post(inst, 1)
    assert unlock(inst).returncode == 0
    assert wait_all(sink, 2, ("bob@example.org",))
    # and a changed passphrase: the old one no longer opens it
    r = subprocess.run([MLISTCTL, "-c", inst.conf, "rekey"], input=PASS + "\nsecond one, longer\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    inst.stop()
    inst.start()
    assert unlock(inst).returncode == 1
    assert unlock(inst, "second one, longer").returncode == 0
    inst.stop()


def test_key_file_elsewhere_and_systemd_credentials(tmp_path, sink):
    """master_key = "/path" and "systemd-creds" read the key where the operator put it; the
    credential is read from $CREDENTIALS_DIRECTORY as systemd's LoadCredentialEncrypted= gives it."""
    keydir = tmp_path / "run"
    keydir.mkdir()
    key = str(keydir / "mlistd.key")
    inst = Instance(str(tmp_path / "kf"), sink, f'master_key = "{key}";')
    assert os.path.getsize(key) == 32 and not os.path.exists(os.path.join(inst.state, "master.key"))
    inst.ctl("list", "create", "demo")
    inst.start()
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.ctl("member", "add", "demo", ROSA)
    post(inst, 0)
    assert wait_all(sink, 1, ("bob@example.org",))
    inst.stop()
    os.rename(key, key + ".away")        # the medium removed: the daemon says so and stops
    p = subprocess.run([MLISTD, "-c", inst.conf, "-f"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1 and "mlistd.key" in p.stderr and "not starting" in p.stderr, p.stderr
    # the same key as a credential
    creds = tmp_path / "creds"
    creds.mkdir()
    os.rename(key + ".away", creds / "mlistd-master")
    with open(inst.conf) as f:
        text = f.read().replace(f'master_key = "{key}";', 'master_key = "systemd-creds";')
    with open(inst.conf, "w") as f:
        f.write(text)
    os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
    try:
        inst.start()
        post(inst, 1)
        assert wait_all(sink, 2, ("bob@example.org",))
        inst.stop()
    finally:
        del os.environ["CREDENTIALS_DIRECTORY"]


def test_systemd_creds_encrypt_line(tmp_path, sink):
    """init --systemd-creds prints the `systemd-creds encrypt` line (the key waits on a tmpfs);
    the installed unit's LoadCredentialEncrypted= path runs only where systemd-creds works."""
    root = tmp_path / "sc"
    root.mkdir()
    conf = root / "mlistd.conf"
    conf.write_text(f'hostname = "lists.example";\nlisten = ( {{ address = "127.0.0.1"; port = 1; }} );\n'
                    f'state_dir = "state";\nlists_dir = "lists";\nrelay = {{ host = "127.0.0.1"; }};\n'
                    f'master_key = "systemd-creds";\n')
    r = subprocess.run([MLISTCTL, "-c", str(conf), "init", "--systemd-creds"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "systemd-creds encrypt" in ln)
    tmp = line.split()[3]
    assert tmp.startswith("/dev/shm/") and os.path.getsize(tmp) == 32
    assert os.stat(tmp).st_mode & 0o077 == 0
    assert "LoadCredentialEncrypted=mlistd-master:" in r.stdout
    assert not os.path.exists(root / "state" / "master.key")
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf", "mlistd.service")) as f:
        assert "LoadCredentialEncrypted=mlistd-master" in f.read()
    works = os.path.isdir("/run/systemd/system") and shutil.which("systemd-run") and subprocess.run(
        ["systemd-creds", "encrypt", "--name=mlistd-master", tmp, str(tmp_path / "m.cred")],
        capture_output=True).returncode == 0
    os.unlink(tmp)
    if not works:
        pytest.skip("systemd-creds does not work in this environment (no systemd, no host key): "
                    "the unit's LoadCredentialEncrypted= path is untested here")
    r = subprocess.run(["systemd-run", "--wait", "--pipe", f"--property=LoadCredentialEncrypted="
                        f"mlistd-master:{tmp_path / 'm.cred'}", "sh", "-c",
                        "test -s $CREDENTIALS_DIRECTORY/mlistd-master"], capture_output=True)
    assert r.returncode == 0, r.stderr


def systemd_creds_works(tmp_path):
    """Whether systemd-creds can encrypt here (it needs no running systemd: the host key in
    /var/lib/systemd/credential.secret, or a TPM2, is enough)."""
    if not shutil.which("systemd-creds"):
        return False
    probe = tmp_path / "probe"
    probe.write_bytes(b"x" * 32)
    return subprocess.run(["systemd-creds", "encrypt", "--name=probe", str(probe), str(tmp_path / "probe.cred")],
                          capture_output=True).returncode == 0


def test_systemd_credential_made_by_the_printed_line_starts_the_daemon(tmp_path, sink, monkeypatch):
    """#19: the whole LoadCredentialEncrypted= path but systemd itself. The operator runs the line
    `init` prints (systemd-creds encrypt ... && shred -u ...), systemd decrypts the credential into
    $CREDENTIALS_DIRECTORY at start (done here with `systemd-creds decrypt`, which is what the
    unit's LoadCredentialEncrypted= runs), and the daemon unlocks with it and delivers."""
    if not systemd_creds_works(tmp_path):
        pytest.skip("systemd-creds cannot encrypt here (no host key and no TPM2)")
    said = {}
    orig = Instance.ctl

    def keep(self, *args, **kw):
        r = orig(self, *args, **kw)
        said.setdefault(args[0], r)
        return r
    monkeypatch.setattr(Instance, "ctl", keep)
    inst = Instance(str(tmp_path / "sc"), sink, 'master_key = "systemd-creds";')
    out = said["init"].stdout
    line = next(ln.strip() for ln in out.splitlines() if ln.strip().startswith("systemd-creds encrypt"))
    words = line.split()
    plain, dest = words[3], words[4]
    assert dest == "/etc/credstore.encrypted/mlistd-master", line
    assert "LoadCredentialEncrypted=mlistd-master:" + dest in out
    assert not os.path.exists(os.path.join(inst.state, "master.key"))
    cred = str(tmp_path / "mlistd-master.cred")
    r = subprocess.run(["sh", "-c", line.replace(dest, cred)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(plain), "the clear key was left in /dev/shm"
    with open(cred, "rb") as f:
        sealed = f.read()
    # as systemd does at start: decrypt into a private directory, name the directory
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    r = subprocess.run(["systemd-creds", "decrypt", "--name=mlistd-master", cred, str(creds / "mlistd-master")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    os.chmod(creds / "mlistd-master", 0o400)       # as systemd leaves it
    assert os.path.getsize(creds / "mlistd-master") == 32 and sealed.find(open(creds / "mlistd-master",
                                                                              "rb").read()) < 0
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    inst.start()
    inst.ctl("list", "create", "demo")
    inst.ctl("member", "add", "demo", "bob@example.org")
    inst.ctl("member", "add", "demo", ROSA)
    post(inst, 0)
    assert wait_all(sink, 1, ("bob@example.org",)), inst.logtext()[-2000:]
    inst.stop()
    # a credential sealed for another name does not unlock it (systemd checks the name too)
    os.unlink(creds / "mlistd-master")
    r = subprocess.run(["systemd-creds", "decrypt", "--name=other", cred, str(creds / "mlistd-master")],
                       capture_output=True, text=True)
    assert r.returncode != 0
    p = subprocess.run([MLISTD, "-c", inst.conf, "-f"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, CREDENTIALS_DIRECTORY=str(creds)))
    assert p.returncode == 1 and "not starting" in p.stderr, p.stderr


def test_installed_unit_file_is_valid_for_systemd(tmp_path):
    """conf/mlistd.service as `make install` writes it passes systemd-analyze verify with no
    warning (an unknown or misspelt key is only a warning to systemd, so the output must be empty)."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf", "mlistd.service")) as f:
        unit = f.read().replace("@SBINDIR@", os.path.dirname(MLISTD))
    path = tmp_path / "mlistd.service"
    path.write_text(unit)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr
    assert "LoadCredentialEncrypted=mlistd-master:/etc/credstore.encrypted/mlistd-master" in unit


def image(paths):
    """(path, bytes) of every file under the paths, and the files themselves given"""
    for top in paths:
        if os.path.isfile(top):
            with open(top, "rb") as f:
                yield top, f.read()
            continue
        for root, _, names in os.walk(top):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    yield os.path.join(root, n), f.read()


def test_state_dir_image_holds_no_address_pseudonym_owner_body_or_key(tmp_path, sink):
    """#19 item 5: a passphrase instance that has delivered and archived posts, holds a post for
    its moderators, has an unmasking request open and a backup written; the image of everything
    under state_dir, its log and the backup holds no member address, no name, no pseudonym, no
    word of a post body or subject, and neither the master key nor any key derived from it."""
    from test_keys_per_process import secret_keys
    inst = make(tmp_path, sink, members=MEMBERS + ("m1@example.org",))
    inst.ctl("member", "set", "demo", "m1@example.org", "role", "moderator")
    inst.ctl("list", "create", "mod")
    inst.ctl("list", "set", "mod", "posting", "moderated")
    inst.ctl("member", "add", "mod", ROSA, "--name", "Rosa Luxemburg")
    inst.ctl("member", "add", "mod", "m1@example.org")
    for i in range(3):
        post(inst, i)
    assert wait_all(sink, 3), inst.logtext()[-3000:]
    raw = (f"From: Rosa Luxemburg <{ROSA}>\r\nSubject: Zimmerwald manifesto\r\n\r\n"
           "Kienthal drafts for the Zimmerwald left.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.sendmail(ROSA, ["mod@lists.example"], raw)
    assert wait_until(lambda: inst.ctl("mod", "ls", "mod").stdout.strip(), 30), inst.logtext()[-2000:]
    r = inst.ctl("unmask", "demo", "Night Owl", check=False)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert wait_until(lambda: any("m1@example.org" in m[1] and b"Night Owl" in m[2]
                                  for m in sink.handler.messages), 30)
    backup = str(tmp_path / "instance.backup")
    assert inst.ctl("backup", backup).returncode == 0
    inst.stop()
    keyfile = str(tmp_path / "extracted.key")
    files = list(image([inst.state, inst.log, backup]))
    assert inst.ctl("rekey", "--to", keyfile).returncode == 0
    with open(keyfile, "rb") as f:
        keys = secret_keys(f.read())
    needles = NEEDLES + ["m1@example.org", "Zimmerwald", "manifesto", "Kienthal", "drafts for"]
    assert len(files) >= 8 and any(p.endswith("mlistd.db") for p, _ in files)
    assert any("/queue/out/" in p for p, _ in files)                      # the held post
    assert any(b"Spartakusbund" in m[2] for m in sink.handler.messages)   # it was delivered, in clear
    for path, blob in files:
        scan(blob, path)
        for name, k in keys.items():
            for form in (k, k.hex().encode(), base64.b64encode(k)):
                assert form not in blob, f"the {name} key in {path}"
