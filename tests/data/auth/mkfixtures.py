#!/usr/bin/python3
# mkfixtures.py - make the RSA fixtures of tests/unit/test_auth.c with an independent signer
# (dkimpy and openssl, not our code). Run once; the outputs are committed. Test keys only.
import base64, os, subprocess, dkim

MSG = (b"From: Alice Example <alice@example.org>\r\n"
       b"To: demo@lists.example\r\n"
       b"Subject: RSA fixture\r\n"
       b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
       b"Message-ID: <rsa-fixture@example.org>\r\n"
       b"\r\n"
       b"Hello,  list.\r\n"
       b"\r\n"
       b"Signed by dkimpy.\r\n")

def key(bits, name):
    subprocess.run(["openssl", "genrsa", "-out", name + ".key", str(bits)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", name + ".key", "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(name + ".txt", "w") as f:
        f.write("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode() + "\n")
    data = open(name + ".key", "rb").read()
    os.unlink(name + ".key")    # not committed: the fixtures are made again, never re-signed
    return data

def sign(priv, sel, out, domain=b"example.org", **kw):
    sig = dkim.sign(MSG, sel, domain, priv, **kw)
    open(out, "wb").write(sig + MSG)

k2048 = key(2048, "rsa2048")
sign(k2048, b"rsa", "rsa2048.eml", canonicalize=(b"relaxed", b"relaxed"))
sign(k2048, b"rsa", "rsa2048-other.eml", domain=b"other.example")
sign(k2048, b"rsa", "rsa2048-simple-l.eml", canonicalize=(b"simple", b"simple"), length=True)
k512 = key(512, "rsa512")
sign(k512, b"short", "rsa512.eml")
