#!/usr/bin/python3
"""make-doc-fixtures.py - writes tests/unit/doc_fixtures.h: small real ODF and OOXML documents made
with Python's zipfile (deflated, as office programs write them), with and without an author."""
import io
import zipfile

CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Minutes</dc:title>%s'
        '<cp:revision>1</cp:revision></cp:coreProperties>')
APP = ('<?xml version="1.0" encoding="UTF-8"?>\n<Properties xmlns="http://schemas.openxmlformats.org/'
       'officeDocument/2006/extended-properties"><Application>Microsoft Office Word</Application>%s'
       '</Properties>')
META = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office="urn:oasis:names:tc:'
        'opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><meta:generator>LibreOffice/7.4'
        '</meta:generator>%s</office:meta></office:document-meta>')


def doc(entries, method=zipfile.ZIP_DEFLATED):
    import warnings
    warnings.simplefilter("ignore")        # the same name twice is what one fixture is about
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in entries:
            # a fixed time: the header is the same each time it is written
            z.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), text, method)
    return b.getvalue()


def docx(core, app=""):
    return doc([("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document>Hello</w:document>"),
                ("docProps/core.xml", CORE % core), ("docProps/app.xml", APP % app)])


def odt(meta):
    return doc([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<x>Hello</x>"),
                ("meta.xml", META % meta)])


FIXTURES = [
    ("DOCX_AUTHOR", docx("<dc:creator>Quill Ardenwick</dc:creator>")),
    ("DOCX_SAVED_BY", docx("<dc:creator></dc:creator><cp:lastModifiedBy>Quill</cp:lastModifiedBy>")),
    ("DOCX_CDATA", docx("<dc:creator><![CDATA[Quill Ardenwick]]></dc:creator>")),
    ("DOCX_COMPANY", docx("<dc:creator/>", "<Company>Ardenwick Ltd</Company>")),
    ("DOCX_CLEAN", docx("<dc:creator></dc:creator><cp:lastModifiedBy>python-docx</cp:lastModifiedBy>",
                        "<Company></Company>")),
    ("ODT_AUTHOR", odt("<meta:initial-creator>Quill Ardenwick</meta:initial-creator>")),
    # a bomb: 2 MiB of spaces around the author deflate to about 2 KiB (past the 100:1 cap)
    ("ODT_BOMB", odt("<dc:creator>" + " " * (2 << 20) + "</dc:creator>")),
    ("ODT_CLEAN", odt("<dc:creator> </dc:creator><meta:initial-creator>Unknown</meta:initial-creator>")),
]

with open(__file__.replace("make-doc-fixtures.py", "doc_fixtures.h"), "w") as out:
    out.write("/* doc_fixtures.h - written by make-doc-fixtures.py: real small ODF/OOXML documents */\n")
    for name, data in FIXTURES:
        out.write("#define %s_LEN\t%d\n#define %s\t\\\n" % (name, len(data), name))
        for k in range(0, len(data), 18):
            out.write('\t"%s"%s\n' % ("".join("\\x%02x" % c for c in data[k:k + 18]),
                                      " \\" if k + 18 < len(data) else ""))
