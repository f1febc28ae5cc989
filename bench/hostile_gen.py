"""Hostile posts for bench/hostile and the tests: each shape at a chosen size in bytes.

    python3 bench/hostile_gen.py SHAPE SIZE > post.eml      (SHAPE: see SHAPES)

Every shape is a well-formed message (CRLF lines, a From line) whose body makes one pass of
the transform work hard: deep HTML nesting (strip-remote), a clear-signed text with every
line dash-escaped, many pasted key blocks, many Content-IDs under html = "keep", MIME bombs
(deep nesting, many parts), a huge header section, long quoted-printable lines, base64.
"""
import sys

HEAD = ("From: Hostile <hostile@example.net>\r\nTo: hostile@lists.example\r\n"
        "Subject: shape {shape}\r\nMessage-ID: <{shape}.{size}@example.net>\r\nMIME-Version: 1.0\r\n")


def _msg(shape, size, ctype, body, extra=""):
    return (HEAD.format(shape=shape, size=size) + extra + f"Content-Type: {ctype}\r\n\r\n").encode() + body


def _fill(unit, size):
    return unit * max(1, size // len(unit))


def _lines(unit, n, per=30):
    """unit n times, a line break after every per (SMTP lines stop at 998 octets)"""
    return "".join(unit * min(per, n - i) + "\r\n" for i in range(0, n, per))


def nested_html(size):
    """<div><table><tr><td> nested as deep as the size allows (the 214 KB post of #15)"""
    n = max(1, size // 45)
    opened = "<html><body>" + _lines("<div><table><tr><td>", n)
    body = opened + "x" + _lines("</td></tr></table></div>", n) + "</body></html>\r\n"
    return _msg("nested-html", size, "text/html; charset=utf-8", body.encode())


def wide_html(size):
    """many sibling elements, each with attributes (the ordinary shape of a big newsletter)"""
    body = _fill('<p style="color:red"><a href="https://e.example/x">link</a> <img src="https://t.example/p.gif"></p>\r\n', size)
    return _msg("wide-html", size, "text/html; charset=utf-8", body.encode())


def clearsigned(size):
    """a clear-signed text, every line dash-escaped (the 3 MB post of #15)"""
    lines = _fill("- -- dash-escaped line of a clear-signed text\r\n", size)
    body = ("-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\n" + lines +
            "-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE\r\n-----END PGP SIGNATURE-----\r\n")
    return _msg("clearsigned", size, "text/plain; charset=utf-8", body.encode())


def keyblocks(size):
    """key blocks pasted into the text, one after another"""
    blk = "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmDMEZ\r\n-----END PGP PUBLIC KEY BLOCK-----\r\ntext\r\n"
    return _msg("keyblocks", size, "text/plain; charset=utf-8", _fill(blk, size).encode())


def sigdashes(size):
    """signature separators on every other line (strip_signature looks for the last)"""
    return _msg("sigdashes", size, "text/plain; charset=utf-8", _fill("-- \r\nline\r\n", size).encode())


def cid_keep(size):
    """multipart/related: HTML full of cid: references to 64 parts (html = "keep")"""
    ids = [f"{i:x}" for i in range(64)]
    parts = "".join(f"--b\r\nContent-Type: image/png\r\nContent-ID: <{i}>\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" for i in ids)
    refs = "".join(f'<img src="cid:{i}">' + ("\r\n" if k % 8 == 7 else "") for k, i in enumerate(ids))
    html = _fill(refs, max(len(refs), size - len(parts)))
    body = f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n{parts}--b--\r\n"
    return _msg("cid-keep", size, 'multipart/related; boundary="b"', body.encode())


def mime_deep(size):
    """multipart inside multipart as deep as the parser's limit, then a big text leaf"""
    depth = 17
    head = "".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n" for i in range(depth))
    leaf = f"--b{depth}\r\nContent-Type: text/plain\r\n\r\n" + _fill("text of the deepest part\r\n", size)
    tail = "".join(f"\r\n--b{i}--\r\n" for i in range(depth, -1, -1))
    return _msg("mime-deep", size, 'multipart/mixed; boundary="b0"', (head + leaf + tail).encode())


def mime_many(size):
    """as many parts as the parser allows (1000), the size spread over them"""
    n = 900
    each = _fill("x" * 75 + "\r\n", max(77, size // n - 40))
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\n{each}\r\n" for _ in range(n)) + "--b--\r\n"
    return _msg("mime-many", size, 'multipart/mixed; boundary="b"', body.encode())


def huge_header(size):
    """one header field folded over many lines (under the field-count limit)"""
    fold = _fill("\t folded continuation of one very long header field\r\n", size)
    return _msg("huge-header", size, "text/plain", b"short body\r\n", extra="X-Long: start\r\n" + fold)


def huge_from(size):
    """a From line of many mailboxes, folded (display names and comments for the parsers)"""
    boxes = _fill('\r\n "Name, (x) =?utf-8?q?=C3=A9?=" <a@example.net>,', size)
    head = HEAD.replace("From: Hostile <hostile@example.net>\r\n", "")
    return (("From: h@example.net," + boxes + "\r\n b@example.net\r\n" + head).format(shape="huge-from", size=size)
            + "Content-Type: text/plain\r\n\r\nbody\r\n").encode()


def many_fields(size):
    """as many header fields as the limit allows (1000), To and Cc among them, each long"""
    n = 990
    val = _fill("x" * 70 + "\r\n ", max(73, size // n - 12))
    fields = "".join(f"{'To' if i % 3 == 0 else 'Cc' if i % 3 == 1 else f'X-F{i}'}: {val}\r\n" for i in range(n))
    return _msg("many-fields", size, "text/plain", b"body\r\n", extra=fields)


def qp_long(size):
    """quoted-printable: logical lines of 60 KB of escapes, cut by soft breaks"""
    line = _fill("=C3=A9t=C3=A9 =\r\n", min(size, 60000))
    body = _fill(line + "\r\n", size)
    return _msg("qp-long", size, "text/plain; charset=utf-8", body.encode(),
                extra="Content-Transfer-Encoding: quoted-printable\r\n")


def base64_text(size):
    """base64-encoded text"""
    body = _fill("VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZyAuLi4u\r\n", size)
    return _msg("base64", size, "text/plain; charset=utf-8", body.encode(),
                extra="Content-Transfer-Encoding: base64\r\n")


SHAPES = {
    "nested-html": (nested_html, "strip-remote"), "wide-html": (wide_html, "strip-remote"),
    "clearsigned": (clearsigned, "strip-remote"), "keyblocks": (keyblocks, "strip-remote"),
    "sigdashes": (sigdashes, "strip-remote"), "cid-keep": (cid_keep, "keep"),
    "mime-deep": (mime_deep, "strip-remote"), "mime-many": (mime_many, "strip-remote"),
    "huge-header": (huge_header, "strip-remote"), "huge-from": (huge_from, "strip-remote"),
    "many-fields": (many_fields, "strip-remote"), "qp-long": (qp_long, "strip-remote"),
    "base64": (base64_text, "strip-remote"),
}


def make(shape, size):
    return SHAPES[shape][0](size)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit("usage: hostile_gen.py SHAPE SIZE\nshapes: " + " ".join(SHAPES))
    sys.stdout.buffer.write(make(sys.argv[1], int(sys.argv[2])))
