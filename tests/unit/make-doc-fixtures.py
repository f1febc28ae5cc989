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


PML = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
P188 = 'xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/main"'
SLIDE = ('<?xml version="1.0"?><p:sld %s><p:cSld><p:spTree><p:nvSpPr><p:cNvPr id="2" '
         'name="Title 1"/></p:nvSpPr></p:spTree></p:cSld></p:sld>' % PML)
SML = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
XCOMMENTS = ('<?xml version="1.0"?><comments %s><authors><author>%s</author></authors>'
             '<commentList><comment ref="A1" authorId="0"><text><r><t>check</t></r></text>'
             '</comment></commentList></comments>')
PERSONS = ('<?xml version="1.0"?><personList xmlns="http://schemas.microsoft.com/office/'
           'spreadsheetml/2018/threadedcomments"><person displayName="%s" '
           'id="{6A1F0E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B}" userId="%s" providerId="%s"/>'
           '</personList>')
TC = "tc={6A1F0E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B}"
WML = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
ODF_CONTENT = ('<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
               'xmlns:draw="d" xmlns:text="t"><office:body><office:presentation><draw:page '
               'draw:name="page1">%s</draw:page></office:presentation></office:body>'
               '</office:document-content>')


def pptx(*entries):
    return doc([("[Content_Types].xml", "<Types/>"), ("ppt/slides/slide1.xml", SLIDE),
                ("docProps/core.xml", CORE % "<dc:creator></dc:creator>")] + list(entries))


def xlsx(*entries):
    return doc([("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<workbook/>"),
                ("docProps/core.xml", CORE % "<dc:creator></dc:creator>")] + list(entries))


def odp(content):
    return doc([("mimetype", "application/vnd.oasis.opendocument.presentation"),
                ("content.xml", ODF_CONTENT % content), ("meta.xml", META % "")])


FIXTURES = [
    # PowerPoint's comment authors, old (commentAuthors.xml) and new (authors.xml)
    ("PPTX_CM_AUTHOR", pptx(("ppt/commentAuthors.xml", '<?xml version="1.0"?><p:cmAuthorLst %s>'
                             '<p:cmAuthor id="1" name="Quill Ardenwick" initials="QA" lastIdx="1" '
                             'clrIdx="0"/></p:cmAuthorLst>' % PML))),
    ("PPTX_AUTHORS", pptx(("ppt/authors.xml", '<?xml version="1.0"?><p188:authorLst %s>'
                           '<p188:author id="{1B2C3D4E-5F60-4718-9A0B-1C2D3E4F5A6B}" name="Quill '
                           'Ardenwick" initials="QA" userId="quill@ardenwick.example" '
                           'providerId="AD"/></p188:authorLst>' % P188))),
    # a slide's shapes have names too: they name no one
    ("PPTX_CLEAN", pptx(("ppt/commentAuthors.xml", '<?xml version="1.0"?><p:cmAuthorLst %s>'
                         '<p:cmAuthor id="1" name="Author" initials="" lastIdx="1" clrIdx="0"/>'
                         '</p:cmAuthorLst>' % PML))),
    # Excel: a second sheet's comments, and the people of threaded comments
    ("XLSX_COMMENTS2", xlsx(("xl/comments1.xml", XCOMMENTS % (SML, "Author")),
                            ("xl/comments2.xml", XCOMMENTS % (SML, "Quill Ardenwick")))),
    ("XLSX_PERSON", xlsx(("xl/persons/person.xml", PERSONS % ("Quill Ardenwick",
                                                             "quill@ardenwick.example", "AD")))),
    ("XLSX_PERSON_ID", xlsx(("xl/persons/person.xml", PERSONS % ("Author",
                                                                "S::quill@ardenwick.example::1",
                                                                "AD")))),
    ("XLSX_CLEAN", xlsx(("xl/comments1.xml", XCOMMENTS % (SML, "Author")),
                        ("xl/comments12.xml", XCOMMENTS % (SML, "")),
                        # a threaded comment's stand-in: its person is in person.xml
                        ("xl/comments3.xml", XCOMMENTS % (SML, TC)))),
    ("XLSX_TC_NAME", xlsx(("xl/comments1.xml", XCOMMENTS % (SML, "tc={Quill Ardenwick}")))),
    # Word: a tracked change in a header
    ("DOCX_HEADER_TRACKED", doc([("[Content_Types].xml", "<Types/>"),
                                 ("word/document.xml", '<w:document %s><w:body><w:p><w:bookmarkStart '
                                  'w:id="0" w:name="_GoBack"/></w:p></w:body></w:document>' % WML),
                                 ("word/header2.xml", '<w:hdr %s><w:p><w:ins w:id="1" w:author="Quill'
                                  ' Ardenwick" w:date="2026-12-01T10:00:00Z"><w:r><w:t>x</w:t></w:r>'
                                  '</w:ins></w:p></w:hdr>' % WML),
                                 ("docProps/core.xml", CORE % "<dc:creator></dc:creator>")])),
    # LibreOffice Impress: a comment on a slide (content.xml)
    ("ODP_ANNOTATION", odp('<office:annotation><dc:creator>Quill Ardenwick</dc:creator><dc:date>'
                           '2026-12-01T10:00:00</dc:date><text:p>check</text:p></office:annotation>')),
    # Impress writing only the initials; a comment in a text's header (styles.xml)
    ("ODP_INITIALS", odp('<office:annotation><dc:creator></dc:creator><meta:creator-initials>'
                         'QA</meta:creator-initials><text:p>check</text:p></office:annotation>')),
    ("ODT_STYLES", doc([("mimetype", "application/vnd.oasis.opendocument.text"),
                        ("content.xml", "<x>Hello</x>"), ("meta.xml", META % ""),
                        ("styles.xml", '<office:document-styles><office:master-styles>'
                         '<style:master-page style:name="Standard"><style:header><text:p>'
                         '<office:annotation><dc:creator>Quill Ardenwick</dc:creator>'
                         '</office:annotation></text:p></style:header></style:master-page>'
                         '</office:master-styles></office:document-styles>')])),
    ("ODP_CLEAN", odp('<office:annotation><dc:creator></dc:creator><text:p>check</text:p>'
                      '</office:annotation>')),

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
