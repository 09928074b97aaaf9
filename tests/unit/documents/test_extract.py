"""extract_batch() and plan_batch(): every supported type built in memory, structure kept, user-readable failures,
batch counting and slicing for jsonl/zip, zip-bomb and path-traversal refusals."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from minirag.documents.archives import ZipLimits
from minirag.documents.batches import iter_jsonl_documents
from minirag.documents.decoding import decode_text
from minirag.documents.extract import extract_batch, plan_batch
from minirag.documents.formats import detect_kind
from minirag.documents.sections import ExtractedDocument, Section
from minirag.errors import PermanentIngestError

try:
    from . import samples
except ImportError:  # collected without a package (no __init__.py): the folder is on sys.path
    import samples  # type: ignore[no-redef]


def one(data: bytes, filename: str | None = None, content_type: str | None = None) -> ExtractedDocument:
    docs = list(extract_batch(data, filename=filename, content_type=content_type))
    assert len(docs) == 1
    return docs[0]


def assert_sections_in_text(doc: ExtractedDocument) -> None:
    """The chunker relies on each section being a verbatim, in-order substring of doc.text."""
    cursor = 0
    for section in doc.sections:
        pos = doc.text.find(section.text, cursor)
        assert pos >= 0, section
        cursor = pos + len(section.text)


# --------------------------------------------------------------------------- text and decoding


def test_plain_text_keeps_paragraphs_and_keeps_the_file_name_apart_from_the_title() -> None:
    doc = one(b"First paragraph.\r\nSame paragraph.\r\n\r\n\r\n\r\nSecond paragraph.\n", "notes/readme.txt")
    assert doc.text == "First paragraph.\nSame paragraph.\n\nSecond paragraph."
    # a plain text file has no title of its own: ingestion names it after the source (tests/functions)
    assert doc.title is None and doc.filename == "readme.txt"
    assert doc.sections == [Section(text=doc.text, heading=None, page=None)]
    assert doc.metadata["source_type"] == "text"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfcaf\xc3\xa9", "café"),
        ("café".encode("utf-16"), "café"),
        (b"\xfe\xff" + "café".encode("utf-16-be"), "café"),
        (b"caf\xc3\xa9", "café"),
    ],
)
def test_decode_text_boms_and_utf8(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_decode_text_falls_back_for_legacy_encodings() -> None:
    text = "Le café est très bon, déjà vu à Noël. " * 5
    assert decode_text(text.encode("cp1252")) == text
    assert decode_text("naïve".encode("latin-1"), "iso-8859-1") == "naïve"
    assert decode_text("Grüße aus München".encode("cp1252")) == "Grüße aus München"


def test_binary_masquerading_as_text_is_refused() -> None:
    with pytest.raises(PermanentIngestError, match="binary"):
        one(b"\x00\x01\x02\x03" * 100, "data.txt")


@pytest.mark.parametrize("data", [b"", b"   \n\n\t  "])
def test_empty_text_is_refused(data: bytes) -> None:
    with pytest.raises(PermanentIngestError, match="no extractable text"):
        one(data, "empty.txt")


# --------------------------------------------------------------------------- markdown


MARKDOWN = b"""---
title: Front Matter Title
tags: [a]
---
# Guide

Intro with a [link](https://example.com) and ![an image](x.png) and **bold** text.

## Install

Run the installer.

```bash
# this is a comment, not a heading
pip install minirag
```

Setext Heading
--------------

Under setext.

### Deep

Deep text.

## Usage

Use it.
"""


def test_markdown_sections_follow_headings() -> None:
    doc = one(MARKDOWN, "guide.md")
    assert doc.title == "Front Matter Title"
    assert [(s.heading, s.text.split("\n")[0]) for s in doc.sections] == [
        ("Guide", "Intro with a link and an image and bold text."),
        ("Guide > Install", "Run the installer."),
        ("Guide > Setext Heading", "Under setext."),
        ("Guide > Setext Heading > Deep", "Deep text."),
        ("Guide > Usage", "Use it."),
    ]
    assert "# this is a comment, not a heading\npip install minirag" in doc.sections[1].text
    assert "tags:" not in doc.text and "```" not in doc.text
    assert doc.text.startswith("Guide\n\nIntro")
    assert_sections_in_text(doc)


def test_markdown_title_from_first_h1_and_content_type_detection() -> None:
    doc = one(b"Preamble.\n\n# Real Title\n\nBody.", None, "text/markdown; charset=utf-8")
    assert doc.title == "Real Title"
    assert doc.sections[0].heading is None and doc.sections[1].heading == "Real Title"


# --------------------------------------------------------------------------- html


HTML = b"""<!DOCTYPE html>
<html><head><title> The  Page </title><style>p { color: red }</style>
<script>var secret = 1;</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<header><h1>Main Heading</h1></header>
<p>First <b>bold</b> paragraph<br>with a line break.</p>
<!-- a comment -->
<ul><li>one</li><li>two</li></ul>
<h2>Data</h2>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>alpha</td><td>1</td></tr></table>
<pre>line 1
    indented line 2</pre>
<h3>Deeper</h3><div>Deep <span>content</span>.</div>
<h2>Second</h2><p>Second section.</p>
<script>document.write("nope")</script>
<footer>Copyright footer</footer>
</body></html>"""


def test_html_structure_and_boilerplate_removal() -> None:
    doc = one(HTML, "page.html")
    assert doc.title == "The Page"
    for junk in ("secret", "color", "Home", "About", "Copyright", "nope", "a comment"):
        assert junk not in doc.text
    by_heading = {s.heading: s.text for s in doc.sections}
    assert by_heading["Main Heading"] == "First bold paragraph\nwith a line break.\n\none\ntwo"
    assert by_heading["Main Heading > Data"] == "Name | Value\nalpha | 1\n\nline 1\n    indented line 2"
    assert by_heading["Main Heading > Data > Deeper"] == "Deep content."
    assert by_heading["Main Heading > Second"] == "Second section."
    assert_sections_in_text(doc)


def test_html_prefers_main_and_honours_declared_charset() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body>'
        "<div>sidebar junk</div><main><p>Cr\xe8me br\xfbl\xe9e recipe.</p></main></body></html>"
    ).encode("cp1252")
    doc = one(html, "recipe.htm")
    assert doc.title == "Café"
    assert doc.text == "Crème brûlée recipe."


def test_html_without_title_uses_h1_and_keeps_the_file_name_apart() -> None:
    assert one(b"<h1>Heading One</h1><p>x</p>", "a.html").title == "Heading One"
    untitled = one(b"<p>just text</p>", "b.html")
    assert untitled.title is None and untitled.filename == "b.html"


def test_html_deeply_nested_does_not_overflow() -> None:
    html = b"<div>" * 3000 + b"deep text" + b"</div>" * 3000
    assert one(html, "deep.html").text == "deep text"


# --------------------------------------------------------------------------- pdf


def test_pdf_pages_become_sections() -> None:
    pdf = samples.make_pdf(["Hello page one.\nSecond line (parens).", "Page two text."], title="Doc Title")
    doc = one(pdf, "report.pdf")
    assert doc.title == "Doc Title"
    assert doc.metadata == {"source_type": "pdf", "page_count": 2}
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "Hello page one.\nSecond line (parens)."),
        (2, "Page two text."),
    ]
    assert_sections_in_text(doc)


def test_pdf_blank_page_is_skipped_and_sniffed_without_name() -> None:
    pdf = samples.make_pdf(["", "Only the second page has text."])
    doc = one(pdf, None, None)
    assert [s.page for s in doc.sections] == [2] and doc.title is None


def test_pdf_without_text_may_be_scanned() -> None:
    with pytest.raises(PermanentIngestError, match="scanned"):
        one(samples.make_pdf(["", ""]), "scan.pdf")


def test_pdf_with_user_password_is_refused() -> None:
    pdf = samples.encrypt_pdf(samples.make_pdf(["Secret text."]), user_password="hunter2")
    with pytest.raises(PermanentIngestError, match="password"):
        one(pdf, "locked.pdf")


def test_pdf_with_owner_password_only_opens() -> None:
    pdf = samples.encrypt_pdf(samples.make_pdf(["Readable text."]), user_password="")
    assert one(pdf, "owner-only.pdf").text == "Readable text."


@pytest.mark.parametrize("data", [b"%PDF-1.4 not really a pdf", b"hello", b""])
def test_corrupt_pdf(data: bytes) -> None:
    with pytest.raises(PermanentIngestError, match="corrupt|unreadable|no pages"):
        one(data, "broken.pdf")


def test_truncated_pdf_fails_cleanly() -> None:
    pdf = samples.make_pdf(["Some text here."])
    try:
        doc = one(pdf[: len(pdf) // 2], "truncated.pdf")
    except PermanentIngestError:
        return
    assert doc.text  # pypdf may recover a truncated file; then the text must be there


# --------------------------------------------------------------------------- docx


def test_docx_headings_tables_and_title() -> None:
    doc = one(samples.make_docx(), "report.docx")
    assert doc.title == "Quarterly Report"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Summary", "Revenue grew by ten percent."),
        ("Summary > Details", "Costs were flat.\n\nRegion | Q1 | Q2\nEMEA | 42\n\nClosing remark."),
    ]
    assert doc.text.startswith("Quarterly Report\n\nSummary\n\n")
    assert_sections_in_text(doc)


def test_docx_is_sniffed_without_extension() -> None:
    data = samples.make_docx()
    assert detect_kind(data, filename=None, content_type="application/octet-stream") == "docx"


def test_corrupt_docx() -> None:
    with pytest.raises(PermanentIngestError, match="DOCX"):
        one(b"PK\x03\x04 definitely not a docx", "bad.docx")
    with pytest.raises(PermanentIngestError, match="DOCX"):
        one(samples.make_zip({"a.txt": b"x"}), "renamed.docx")


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("filename", "content_type", "kind"),
    [
        ("a.TXT", None, "text"),
        ("a.markdown", "text/html", "markdown"),
        ("index.php", "text/html; charset=utf-8", "html"),
        (None, "application/pdf", "pdf"),
        ("page", "application/xhtml+xml", "html"),
        ("dump.ndjson", None, "jsonl"),
    ],
)
def test_detect_kind(filename: str | None, content_type: str | None, kind: str) -> None:
    assert detect_kind(b"whatever", filename=filename, content_type=content_type) == kind


def test_unsupported_type_lists_supported() -> None:
    with pytest.raises(PermanentIngestError) as info:
        list(extract_batch(b"MZ\x90\x00", filename="setup.xyz", content_type=None))
    assert info.value.message == (
        "unsupported file type '.xyz'; supported: "
        ".txt, .text, .md, .markdown, .html, .htm, .xhtml, .pdf, .docx, .jsonl, .ndjson, .zip"
    )
    with pytest.raises(PermanentIngestError, match="content type 'image/png'"):
        extract_batch(b"\x89PNG", filename=None, content_type="image/png")


# --------------------------------------------------------------------------- jsonl


JSONL = b"\n".join(
    [
        json.dumps({"id": "a", "title": "Alpha", "text": "First doc.", "metadata": {"lang": "en"}}).encode(),
        b"",
        json.dumps({"_id": 42, "title": "", "text": "BEIR style.", "metadata": {}}).encode(),
        json.dumps({"text": "No id, no title."}).encode(),
        json.dumps({"_id": "t", "title": "Title only", "text": ""}).encode(),
        b"   ",
    ]
)


def test_jsonl_documents() -> None:
    docs = list(extract_batch(b"\xef\xbb\xbf" + JSONL, filename="corpus.jsonl"))
    assert [(d.external_id, d.title, d.text, d.metadata) for d in docs] == [
        ("a", "Alpha", "First doc.", {"lang": "en"}),
        ("42", None, "BEIR style.", {}),
        (None, None, "No id, no title.", {}),
        ("t", "Title only", "Title only", {}),
    ]
    assert docs[0].sections == [Section(text="First doc.")]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"id": "x"}', "'text' is missing or empty"),
        (b'{"text": 5}', "'text' must be a string"),
        (b'{"text": "t", "metadata": [1]}', "'metadata' must be a JSON object"),
        (b'{"text": "t", "title": 3}', "'title' must be a string"),
        (b'{"text": "t", "id": {"a": 1}}', "'id' must be a string or an integer"),
        (b'{"text": "caf\xe9"}', "not valid UTF-8"),
    ],
)
def test_jsonl_bad_line_is_skipped_and_reported_with_its_number(line: bytes, reason: str) -> None:
    data = b'{"text": "ok"}\n\n' + line + b"\n" + b'{"text": "also ok"}\n'
    # The good lines are the documents (the bad one is not in the index space)...
    assert [d.text for d in extract_batch(data, filename="x.jsonl")] == ["ok", "also ok"]
    assert [d.text for d in extract_batch(data, filename="x.jsonl", start=1, stop=2)] == ["also ok"]
    # ...and the plan counts them and reports the bad line by number and reason
    plan = plan_batch(data, filename="x.jsonl")
    assert plan.count == 2
    assert [s["line"] for s in plan.skipped] == [3] and reason in plan.skipped[0]["reason"]
    assert plan.warnings == [f"skipped line 3: {plan.skipped[0]['reason']}"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b"{not json", "invalid JSON"), (b'{"id": "x"}', "'text' is missing or empty")],
)
def test_jsonl_without_any_valid_line_fails_naming_the_first_bad_line(line: bytes, reason: str) -> None:
    data = b"\n" + line + b"\n" + b"[1]\n"
    with pytest.raises(PermanentIngestError) as info:
        plan_batch(data, filename="x.jsonl")
    assert info.value.message.startswith("line 2: ") and reason in info.value.message
    assert info.value.message.endswith("(and 1 more bad lines)")
    assert [d["line"] for d in info.value.details] == [2, 3]


def test_jsonl_reports_at_most_the_first_hundred_bad_lines() -> None:
    data = b"".join(b"{bad\n" for _ in range(150)) + b'{"text": "ok"}\n'
    plan = plan_batch(data, filename="x.jsonl")
    assert plan.count == 1 and len(plan.skipped) == 100 and plan.skipped[-1]["line"] == 100


def test_jsonl_streaming_from_a_file_object_and_slices() -> None:
    lines = [json.dumps({"id": str(i), "text": f"doc {i}"}).encode() for i in range(10)]
    stream = io.BytesIO(b"\n".join(lines[:5]) + b"\n\n" + b"\n".join(lines[5:]))
    assert [d.external_id for d in iter_jsonl_documents(stream, start=3, stop=7)] == ["3", "4", "5", "6"]


def test_jsonl_count_and_extract_batch() -> None:
    data = b"\n".join(json.dumps({"id": str(i), "text": f"doc {i}"}).encode() for i in range(25)) + b"\n\n"
    assert plan_batch(data, filename="c.jsonl", content_type=None).count == 25
    assert plan_batch(data, filename=None, content_type="application/x-ndjson").count == 25
    slices = [extract_batch(data, filename="c.jsonl", content_type=None, start=s, stop=s + 10) for s in (0, 10, 20)]
    assert [len(s) for s in slices] == [10, 10, 5]
    assert [d.external_id for s in slices for d in s] == [str(i) for i in range(25)]


def test_jsonl_slice_indexes_valid_lines_only() -> None:
    """A bad line elsewhere does not fail a slice, and slices count valid lines (as the plan does)."""
    data = b'{"text": "a"}\nBROKEN\n{"text": "c"}\n'
    assert [d.text for d in extract_batch(data, filename="x.jsonl", start=1, stop=2)] == ["c"]


# --------------------------------------------------------------------------- zip


def _archive() -> bytes:
    return samples.make_zip(
        {
            "docs/guide.md": b"# Guide\n\nRead me.",
            "docs/page.html": b"<title>P</title><p>Html body.</p>",
            "report.pdf": samples.make_pdf(["Pdf text."]),
            "word/report.docx": samples.make_docx(),
            "notes.txt": b"Plain notes.",
            "bin/tool.exe": b"MZ",
            "README": b"no extension",
            "inner.zip": samples.make_zip({"x.txt": b"x"}),
            "__MACOSX/docs/._guide.md": b"junk",
            "docs/.DS_Store": b"junk",
        },
        directories=("docs/", "empty/"),
    )


def test_zip_members_become_documents() -> None:
    docs = list(extract_batch(_archive(), filename="bundle.zip"))
    assert [(d.external_id, d.title, d.metadata["source_type"]) for d in docs] == [
        ("docs/guide.md", "guide.md", "markdown"),
        ("docs/page.html", "page.html", "html"),
        ("report.pdf", "report.pdf", "pdf"),
        ("word/report.docx", "report.docx", "docx"),
        ("notes.txt", "notes.txt", "text"),
    ]
    assert docs[0].sections[0].heading == "Guide" and docs[0].metadata["archive_member"] == "docs/guide.md"
    assert docs[2].sections[0].page == 1


def test_zip_plan_counts_and_warns_about_skipped_members() -> None:
    plan = plan_batch(_archive(), filename="bundle.zip")
    assert plan.kind == "zip" and plan.count == 5
    assert plan.warnings == [
        "skipped 'bin/tool.exe': unsupported file type '.exe'",
        "skipped 'README': unsupported file type (no extension)",
        "skipped 'inner.zip': nested zip batches are not supported inside an archive",
    ]
    assert plan_batch(_archive(), filename=None, content_type="application/zip").count == 5


def test_zip_extract_batch_slices() -> None:
    data = _archive()
    got = [d.external_id for s in (0, 2, 4) for d in extract_batch(data, filename="b.zip", start=s, stop=s + 2)]
    assert got == ["docs/guide.md", "docs/page.html", "report.pdf", "word/report.docx", "notes.txt"]
    assert extract_batch(data, filename="b.zip", start=5, stop=9) == []


def test_zip_sniffed_without_name() -> None:
    assert plan_batch(_archive(), filename=None, content_type=None).kind == "zip"


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/passwd.txt", "C:/win.txt", "a\\..\\b.txt"])
def test_zip_path_traversal_is_refused(name: str) -> None:
    data = samples.make_zip({"ok.txt": b"fine", name: b"evil"})
    with pytest.raises(PermanentIngestError, match="unsafe path"):
        _ = plan_batch(data, filename="x.zip", content_type=None).count
    with pytest.raises(PermanentIngestError, match="unsafe path"):
        list(extract_batch(data, filename="x.zip"))


def test_zip_bomb_limits() -> None:
    big = samples.make_zip({"a.txt": b"a" * 200_000, "b.txt": b"b" * 200_000})
    assert len(big) < 5_000  # compresses very well...
    with pytest.raises(PermanentIngestError, match="expands to more than 300000 bytes"):
        plan_batch(big, filename="x.zip", zip_limits=ZipLimits(max_total_bytes=300_000))
    many = samples.make_zip({f"f{i}.txt": b"x" for i in range(20)})
    with pytest.raises(PermanentIngestError, match="more than 10 entries"):
        list(extract_batch(many, filename="x.zip", zip_limits=ZipLimits(max_members=10)))


def test_zip_oversized_member_is_skipped_with_warning() -> None:
    data = samples.make_zip({"small.txt": b"ok", "huge.txt": b"h" * 200_000})
    plan = plan_batch(data, filename="x.zip", zip_limits=ZipLimits(max_member_bytes=100_000))
    assert plan.count == 1 and plan.warnings == ["skipped 'huge.txt': larger than 100000 bytes"]
    assert plan.skipped == [{"member": "huge.txt", "reason": "larger than 100000 bytes"}]


def test_zip_without_supported_members_fails() -> None:
    data = samples.make_zip({"a.exe": b"MZ", "b.png": b"\x89PNG"}, directories=("dir/",))
    with pytest.raises(PermanentIngestError, match="no supported files"):
        _ = plan_batch(data, filename="x.zip", content_type=None).count
    with pytest.raises(PermanentIngestError, match="no supported files"):
        list(extract_batch(data, filename="x.zip"))


def test_zip_corrupt_member_names_the_member() -> None:
    data = samples.make_zip({"good.md": b"# Fine\n\ntext", "bad.pdf": b"%PDF-garbage", "empty.txt": b""})
    with pytest.raises(PermanentIngestError, match="^'bad.pdf': the PDF is corrupt"):
        list(extract_batch(data, filename="x.zip"))
    assert [d.external_id for d in extract_batch(data, filename="x.zip", start=0, stop=1)] == ["good.md"]
    with pytest.raises(PermanentIngestError, match="^'empty.txt': no extractable text"):
        extract_batch(data, filename="x.zip", start=2, stop=3)


def test_zip_encrypted_and_symlink_members_are_skipped() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, b"/etc/passwd")
        zf.writestr("secret.txt", b"ciphertext")
    plan = plan_batch(samples.set_encrypted_flag(out.getvalue(), "secret.txt"), filename="x.zip")
    assert plan.count == 1
    assert plan.warnings == [
        "skipped 'link.txt': symbolic links are not supported",
        "skipped 'secret.txt': encrypted archive members are not supported",
    ]


def test_corrupt_zip() -> None:
    with pytest.raises(PermanentIngestError, match="corrupt or not a zip"):
        _ = plan_batch(b"PK\x03\x04garbage", filename="x.zip", content_type=None).count


def test_single_document_batch_semantics() -> None:
    assert plan_batch(b"hello", filename="a.txt", content_type=None).count == 1
    assert [d.text for d in extract_batch(b"hello", filename="a.txt", start=0, stop=5)] == ["hello"]
    assert extract_batch(b"hello", filename="a.txt", start=1, stop=2) == []
    with pytest.raises(ValueError):
        extract_batch(b"hello", filename="a.txt", start=3, stop=1)


def test_docx_expanding_past_the_ratio_is_refused() -> None:
    # Given a DOCX whose one paragraph is 5 MB of one letter (a few KB zipped)
    import io

    import docx

    from minirag.documents.archives import ZipLimits
    from minirag.documents.extract import extract_batch
    from minirag.errors import PermanentIngestError

    document = docx.Document()
    document.add_paragraph("a" * 5_000_000)
    out = io.BytesIO()
    document.save(out)

    # When it is extracted with a ratio limit of 100, alone and inside a zip
    for data, name in ((out.getvalue(), "big.docx"), (samples.make_zip({"big.docx": out.getvalue()}), "batch.zip")):
        with pytest.raises(PermanentIngestError) as caught:
            extract_batch(data, filename=name, zip_limits=ZipLimits(max_ratio=100))

        # Then it is refused naming the limit
        assert "the DOCX file expands to" in caught.value.message
        assert caught.value.message.endswith("the limit is 100 times (INGEST_MAX_EXPANSION_RATIO)")
