"""Turn uploaded or fetched bytes into plain-text documents that keep their structure.

A source is either a single document (txt, markdown, html, pdf, docx) or a batch (jsonl, zip).
Batches have a stable index space (non-blank lines; supported archive members in directory
order) so that a fan-out can hand each worker a `[start, stop)` slice via `extract_batch`.

Every failure the user can fix is a `PermanentIngestError` with a message written for them;
library exception text never reaches the message (it stays on `__cause__` for logs).
"""

from __future__ import annotations

import codecs
import io
import json
import posixpath
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from minirag.documents.formats import BATCH_KINDS, SUPPORTED_LIST, detect_kind, file_extension, kind_for_filename, media_type
from minirag.errors import PermanentIngestError

__all__ = [
    "BATCH_KINDS",
    "BatchPlan",
    "ExtractedDocument",
    "Section",
    "ZipLimits",
    "count_documents",
    "decode_text",
    "detect_kind",
    "extract",
    "extract_batch",
    "iter_jsonl_documents",
    "kind_for_filename",
    "plan_batch",
]


@dataclass
class Section:
    """A run of text under one heading (breadcrumb like "Guide > Install") and/or on one PDF page."""

    text: str
    heading: str | None = None
    page: int | None = None


@dataclass
class ExtractedDocument:
    external_id: str | None
    title: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True)
class ZipLimits:
    """Caps that stop zip bombs before anything is decompressed (sizes from the central directory;
    zipfile never inflates a member past its declared size)."""

    max_members: int = 10_000
    max_total_bytes: int = 512 * 1024 * 1024
    max_member_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class BatchPlan:
    """What a source holds, computed without parsing documents: used to fan work out."""

    kind: str
    count: int
    warnings: list[str] = field(default_factory=list)


OnError = Callable[[str, PermanentIngestError], None]

_DEFAULT_ZIP_LIMITS = ZipLimits()
_DOCX_LIMITS = ZipLimits(max_members=5_000, max_total_bytes=100 * 1024 * 1024)
# Archive junk skipped silently (everything else unsupported is reported in warnings).
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


# --------------------------------------------------------------------------- text helpers


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_TRAILING_WS = re.compile(r"[ \t]+\n")
_MANY_BLANK = re.compile(r"\n{3,}")


def decode_text(data: bytes, charset: str | None = None) -> str:
    """BOM, then strict UTF-8, then the declared charset, then a guess, then latin-1 (never fails).

    The guess: mostly-ASCII bytes that decode as windows-1252 are taken as such (the web's
    default for undeclared legacy text; charset detectors often pick a Baltic or Central
    European code page for short French or German text); otherwise charset_normalizer decides
    if it is installed (Cyrillic, CJK), else windows-1252."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    sample = data[:65536]
    high = sum(1 for b in sample if b >= 0x80)
    if high <= 0.3 * len(sample):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        from_bytes = None
    if from_bytes is not None:
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(text: str) -> str:
    """Normalise newlines and drop control/zero-width characters; keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    text = _TRAILING_WS.sub("\n", text)
    return _MANY_BLANK.sub("\n\n", text).strip()


def _decode_document_text(data: bytes, charset: str | None) -> str:
    text = decode_text(data, charset)
    if "\x00" in text[:65536]:
        raise PermanentIngestError("the file looks binary, not text")
    return text


class _Builder:
    """Accumulates sections; `text` interleaves each heading's own title with the bodies so that
    every section's text is a verbatim substring of the document text (chunk offsets rely on it)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.sections: list[Section] = []
        self._stack: list[tuple[int, str]] = []
        self._body: list[str] = []
        self._page: int | None = None

    @property
    def heading(self) -> str | None:
        return " > ".join(t for _, t in self._stack) or None

    def heading_at(self, level: int, title: str) -> None:
        self.flush()
        title = " ".join(title.split())
        if not title:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        self.parts.append(title)

    def line(self, text: str) -> None:
        """A standalone line (a document title) that opens no heading scope."""
        self.flush()
        self.parts.append(" ".join(text.split()))

    def paragraph(self, text: str, joiner: str = "\n\n") -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        if self._body:
            self._body.append(joiner)
        self._body.append(text)

    def page(self, number: int) -> None:
        self.flush()
        self._page = number

    def flush(self) -> None:
        body = _clean("".join(self._body))
        self._body = []
        if body:
            self.sections.append(Section(text=body, heading=self.heading, page=self._page))
            self.parts.append(body)

    def build(self, *, title: str | None, metadata: dict[str, Any], filename: str | None) -> ExtractedDocument:
        self.flush()
        if not self.sections:
            raise PermanentIngestError("no extractable text found in the file")
        return ExtractedDocument(
            external_id=None,
            title=_clean_title(title) or _basename(filename),
            text="\n\n".join(self.parts),
            metadata=metadata,
            sections=self.sections,
        )


def _clean_title(title: str | None) -> str | None:
    return (" ".join(title.split())[:500] or None) if title else None


def _basename(filename: str | None) -> str | None:
    if not filename:
        return None
    return posixpath.basename(filename.replace("\\", "/")) or None


# --------------------------------------------------------------------------- single documents


def _extract_text(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    builder = _Builder()
    builder.paragraph(_clean(_decode_document_text(data, charset)))
    return builder.build(title=None, metadata={"source_type": "text"}, filename=filename)


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _md_inline(line: str) -> str:
    line = _MD_IMAGE.sub(r"\1", line)
    line = _MD_LINK.sub(r"\1", line)
    return _MD_EMPHASIS.sub(r"\2", line)


def _extract_markdown(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    text = _decode_document_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    title = None
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).split("\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        text = text[front.end():]
    text = _HTML_COMMENT.sub("", text)
    lines = text.split("\n")
    builder = _Builder()
    paragraph: list[str] = []
    fence: str | None = None

    def flush_paragraph() -> None:
        if paragraph:
            builder.paragraph("\n".join(paragraph))
            paragraph.clear()

    for i, line in enumerate(lines):
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                fence = None
                flush_paragraph()
            else:
                paragraph.append(line)
            continue
        if fence_match:
            flush_paragraph()
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            flush_paragraph()
            heading = _md_inline(atx.group(2) or "").strip()
            if heading:
                level = len(atx.group(1))
                builder.heading_at(level, heading)
                if level == 1 and title is None:
                    title = heading
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        setext = _SETEXT.match(nxt)
        if line.strip() and not paragraph and setext and (setext.group(1)[0] == "=" or len(setext.group(1)) >= 2):
            heading = _md_inline(line).strip()
            level = 1 if setext.group(1)[0] == "=" else 2
            builder.heading_at(level, heading)
            if level == 1 and title is None:
                title = heading
            lines[i + 1] = ""  # consume the underline
            continue
        if not line.strip() or _THEMATIC_BREAK.match(line):
            flush_paragraph()
        else:
            paragraph.append(_md_inline(line))
    flush_paragraph()
    return builder.build(title=title, metadata={"source_type": "markdown"}, filename=filename)


_HTML_DROP = ("script", "style", "noscript", "template", "nav", "footer", "svg", "iframe", "object", "embed", "canvas")
_HTML_BLOCK = frozenset(
    "p div section article main header aside blockquote pre ul ol li dl dt dd table thead tbody tfoot "
    "tr caption figure figcaption form fieldset address details summary hr center body html".split()
)
_HTML_LINE_ITEMS = frozenset({"li", "tr", "dt", "dd"})
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_WS = re.compile(r"\s+")
_BR = "\ue000"  # private-use sentinel: a <br> survives whitespace collapsing as a newline
_BR_SPACES = re.compile(" ?\ue000 ?")


def _extract_html(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import CData, Comment, Declaration, Doctype, ProcessingInstruction

    try:
        markup: str | bytes = decode_text(data) if _is_utf8_or_bom(data) else data
        soup = (
            BeautifulSoup(markup, "html.parser")
            if isinstance(markup, str)
            else BeautifulSoup(markup, "html.parser", from_encoding=charset)
        )
    except Exception as exc:  # html.parser is lenient; anything raised here means garbage input
        raise PermanentIngestError("the HTML file could not be parsed") from exc

    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"})
    if root is None or not root.get_text(strip=True):
        root = soup.body or soup

    builder = _Builder()
    buffer: list[str] = []
    state = {"pre": 0, "last_block": "", "raw": False}
    skip_strings = (Comment, Declaration, Doctype, CData, ProcessingInstruction)

    def flush(block: str) -> None:
        text = "".join(buffer)
        buffer.clear()
        if not state["raw"]:
            text = _BR_SPACES.sub("\n", _WS.sub(" ", text)).replace(_BR, "\n").strip()
        state["raw"] = False
        if text.strip(" |"):
            text = text.strip(" |") if not state["pre"] else text
            joiner = "\n" if block in _HTML_LINE_ITEMS and state["last_block"] in _HTML_LINE_ITEMS else "\n\n"
            builder.paragraph(text, joiner)
            state["last_block"] = block

    # Iterative walk: deeply nested real-world HTML would overflow a recursive one.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            if node.name == "pre":
                flush("pre")
                state["pre"] -= 1
            elif node.name in _HTML_BLOCK:
                flush(node.name)
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, skip_strings):
                buffer.append(str(node))
                if state["pre"]:
                    state["raw"] = True
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name in _HTML_HEADINGS:
            flush("")
            state["last_block"] = ""
            heading = node.get_text(" ", strip=True)
            builder.heading_at(_HTML_HEADINGS[name], heading)
            if title is None and name == "h1":
                title = heading
            continue
        if name == "br":
            buffer.append("\n" if state["pre"] else _BR)
            continue
        if name in ("td", "th") and "".join(buffer).strip():
            buffer.append(" | ")
        if name == "pre":
            flush("")
            state["pre"] += 1
        elif name in _HTML_BLOCK:
            flush(name if name in _HTML_LINE_ITEMS else "")
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    flush("")
    return builder.build(title=title, metadata={"source_type": "html"}, filename=filename)


def _is_utf8_or_bom(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_HYPHEN_BREAK = re.compile(r"([a-z])-\n([a-z])")


def _extract_pdf(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise PermanentIngestError("the PDF is corrupt or unreadable") from exc
    if encrypted:
        try:
            decrypted = bool(reader.decrypt(""))  # owner-password-only PDFs open with an empty password
        except Exception:
            decrypted = False
        if not decrypted:
            raise PermanentIngestError("the PDF is password-protected; upload a copy without a password")
    try:
        pages = list(reader.pages)
    except Exception as exc:
        raise PermanentIngestError("the PDF is corrupt or unreadable") from exc
    if not pages:
        raise PermanentIngestError("the PDF has no pages")

    builder = _Builder()
    unreadable: list[int] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:
            unreadable.append(number)
            continue
        builder.page(number)
        builder.paragraph(_HYPHEN_BREAK.sub(r"\1\2", _clean(text)))
    builder.flush()
    if not builder.sections:
        if len(unreadable) == len(pages):
            raise PermanentIngestError("the PDF is corrupt or unreadable")
        raise PermanentIngestError(
            "the PDF has no extractable text; it may be a scanned document (OCR is not supported)"
        )
    title = None
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:
        title = None
    metadata: dict[str, Any] = {"source_type": "pdf", "page_count": len(pages)}
    if unreadable:
        metadata["warnings"] = [f"text of page {n} could not be extracted" for n in unreadable]
    return builder.build(title=title if isinstance(title, str) else None, metadata=metadata, filename=filename)


_DOCX_HEADING = re.compile(r"^heading\s*(\d)$", re.I)


def _extract_docx(data: bytes, filename: str | None, charset: str | None) -> ExtractedDocument:
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip_container(data, "DOCX", _DOCX_LIMITS)
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:
        raise PermanentIngestError("the DOCX file is corrupt or not a Word document") from exc

    builder = _Builder()
    title: str | None = None

    def table_rows(table: Table) -> Iterator[str]:
        for row in table.rows:
            cells: list[str] = []
            seen: set[int] = set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # merged cells repeat the same element
                    continue
                seen.add(id(cell._tc))
                text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
                if text:
                    cells.append(text)
                for nested in cell.tables:
                    yield from table_rows(nested)
            if cells:
                yield " | ".join(cells)

    try:
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                text = block.text.strip()
                if not text:
                    continue
                style = (block.style.name or "") if block.style is not None else ""
                match = _DOCX_HEADING.match(style.strip())
                if style.strip().lower() == "title":
                    title = title or text
                    builder.line(text)
                elif match:
                    builder.heading_at(int(match.group(1)), text)
                else:
                    builder.paragraph(text)
            elif isinstance(block, Table):
                rows = list(table_rows(block))
                if rows:
                    builder.paragraph("\n".join(rows))
        core_title = document.core_properties.title
    except PermanentIngestError:
        raise
    except Exception as exc:
        raise PermanentIngestError("the DOCX file is corrupt or not a Word document") from exc
    return builder.build(title=core_title or title, metadata={"source_type": "docx"}, filename=filename)


_SINGLE_EXTRACTORS: dict[str, Callable[[bytes, str | None, str | None], ExtractedDocument]] = {
    "text": _extract_text,
    "markdown": _extract_markdown,
    "html": _extract_html,
    "pdf": _extract_pdf,
    "docx": _extract_docx,
}


# --------------------------------------------------------------------------- jsonl


def _iter_lines(data: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line) without splitting the whole buffer into a list at once."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        buf = bytes(data)
        pos, number, size = 0, 0, len(buf)
        while pos < size:
            end = buf.find(b"\n", pos)
            if end < 0:
                end = size
            number += 1
            yield number, buf[pos:end]
            pos = end + 1
    else:
        for number, line in enumerate(data, start=1):
            yield number, line.rstrip(b"\n")


def _parse_jsonl_line(number: int, raw: bytes) -> ExtractedDocument:
    def bad(reason: str) -> PermanentIngestError:
        return PermanentIngestError(f"line {number}: {reason}", details=[{"line": number, "reason": reason}])

    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise bad("expected a JSON object")
    doc_id = record.get("id", record.get("_id"))
    if doc_id is not None:
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise bad("'id' must be a string or an integer")
        doc_id = str(doc_id).strip() or None
    title = record.get("title")
    if title is not None and not isinstance(title, str):
        raise bad("'title' must be a string")
    title = (title.strip() or None) if title else None
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise bad("'text' must be a string")
    text = _clean(text or "")
    if not text:
        if not title:
            raise bad("'text' is missing or empty")
        text = title  # BEIR corpora carry a few title-only documents
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise bad("'metadata' must be a JSON object")
    return ExtractedDocument(
        external_id=doc_id,
        title=title,
        text=text,
        metadata=dict(metadata),
        sections=[Section(text=text)],
    )


def iter_jsonl_documents(
    data: bytes | bytearray | memoryview | Iterable[bytes],
    *,
    start: int = 0,
    stop: int | None = None,
    on_error: OnError | None = None,
) -> Iterator[ExtractedDocument]:
    """One document per non-blank line (`id` or BEIR `_id`, `title`, `text`, optional `metadata`).

    `data` may be the whole file or any iterable of byte lines (a file object, an S3 body's
    `iter_lines()`), so a large batch never needs to be parsed at once. Lines outside
    `[start, stop)` (counted over non-blank lines) are skipped without JSON parsing. A bad line
    raises, naming its line number, unless `on_error(where, error)` is given to collect and skip.
    """
    index = -1
    for number, raw in _iter_lines(data):
        if not raw.strip():
            continue
        index += 1
        if index < start:
            continue
        if stop is not None and index >= stop:
            return
        try:
            yield _parse_jsonl_line(number, raw)
        except PermanentIngestError as exc:
            if on_error is None:
                raise
            on_error(f"line {number}", exc)


def _count_jsonl(data: bytes) -> int:
    return sum(1 for _, raw in _iter_lines(data) if raw.strip())


# --------------------------------------------------------------------------- zip


def _open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PermanentIngestError(f"the {what} file is corrupt or not a zip archive") from exc


def _check_zip_container(data: bytes, what: str, limits: ZipLimits = _DEFAULT_ZIP_LIMITS) -> None:
    """DOCX is a zip too: refuse bombs before python-docx inflates its parts."""
    with _open_zip(data, what) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members or sum(i.file_size for i in infos) > limits.max_total_bytes:
            raise PermanentIngestError(f"the {what} file expands to more data than allowed")


def _unsafe_name(name: str) -> bool:
    norm = name.replace("\\", "/")
    return (
        norm.startswith("/")
        or bool(re.match(r"^[A-Za-z]:", norm))
        or any(part == ".." for part in norm.split("/"))
        or "\x00" in norm
    )


def _zip_plan(zf: zipfile.ZipFile, limits: ZipLimits) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[str]]:
    """Supported members (the batch index space) and warnings about the skipped ones."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise PermanentIngestError(f"the archive has more than {limits.max_members} entries")
    if sum(i.file_size for i in infos) > limits.max_total_bytes:
        raise PermanentIngestError(
            f"the archive expands to more than {limits.max_total_bytes} bytes (possible zip bomb)"
        )
    members: list[tuple[zipfile.ZipInfo, str]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise PermanentIngestError(f"the archive contains an unsafe path '{name[:200]}'")
        path = name.replace("\\", "/")
        base = posixpath.basename(path)
        if info.is_dir() or path.startswith("__MACOSX/") or "/__MACOSX/" in path:
            continue
        if base.lower() in _JUNK_NAMES or base.startswith("._"):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            warnings.append(f"skipped '{path}': symbolic links are not supported")
            continue
        if info.flag_bits & 0x1:
            warnings.append(f"skipped '{path}': encrypted archive members are not supported")
            continue
        kind = kind_for_filename(base)
        if kind is None:
            ext = file_extension(base)
            what = f"'{ext}'" if ext else "(no extension)"
            warnings.append(f"skipped '{path}': unsupported file type {what}")
            continue
        if kind in BATCH_KINDS:
            warnings.append(f"skipped '{path}': nested {kind} batches are not supported inside an archive")
            continue
        if info.file_size > limits.max_member_bytes:
            warnings.append(f"skipped '{path}': larger than {limits.max_member_bytes} bytes")
            continue
        if path in seen:
            warnings.append(f"skipped '{path}': duplicate name in the archive")
            continue
        seen.add(path)
        members.append((info, kind))
    return members, warnings


def _extract_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, limits: ZipLimits) -> ExtractedDocument:
    path = info.filename.replace("\\", "/")
    try:
        with zf.open(info) as handle:
            payload = handle.read(limits.max_member_bytes + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise PermanentIngestError(f"'{path}': the archive member is corrupt or uses an unsupported compression") from exc
    if len(payload) > limits.max_member_bytes:
        raise PermanentIngestError(f"'{path}': larger than {limits.max_member_bytes} bytes")
    try:
        doc = _SINGLE_EXTRACTORS[kind](payload, path, None)
    except PermanentIngestError as exc:
        raise PermanentIngestError(f"'{path}': {exc.message}", details=exc.details) from exc
    doc.external_id = path
    doc.title = posixpath.basename(path)
    doc.metadata["archive_member"] = path
    return doc


def _iter_zip_documents(
    data: bytes, *, start: int, stop: int | None, on_error: OnError | None, limits: ZipLimits
) -> Iterator[ExtractedDocument]:
    with _open_zip(data, "zip") as zf:
        members, _ = _zip_plan(zf, limits)
        if not members:
            raise PermanentIngestError(f"the archive contains no supported files; supported: {SUPPORTED_LIST}")
        for info, kind in members[start:stop]:
            try:
                yield _extract_zip_member(zf, info, kind, limits)
            except PermanentIngestError as exc:
                if on_error is None:
                    raise
                on_error(info.filename.replace("\\", "/"), exc)


# --------------------------------------------------------------------------- public entry points


def plan_batch(
    data: bytes, *, filename: str | None = None, content_type: str | None = None, zip_limits: ZipLimits = _DEFAULT_ZIP_LIMITS
) -> BatchPlan:
    """Kind, document count and skipped-member warnings, cheaply (no document is parsed).

    Also the place where zip bombs, unsafe paths and archives without supported files are
    refused, so a fan-out fails fast before any worker runs."""
    kind = detect_kind(data, filename=filename, content_type=content_type)
    if kind == "jsonl":
        return BatchPlan(kind, _count_jsonl(data))
    if kind == "zip":
        with _open_zip(data, "zip") as zf:
            members, warnings = _zip_plan(zf, zip_limits)
        if not members:
            raise PermanentIngestError(f"the archive contains no supported files; supported: {SUPPORTED_LIST}")
        return BatchPlan(kind, len(members), warnings)
    return BatchPlan(kind, 1)


def count_documents(data: bytes, filename: str | None = None, content_type: str | None = None) -> int:
    """Number of documents in the source (1 for single-document kinds); cheap for jsonl/zip."""
    return plan_batch(data, filename=filename, content_type=content_type).count


def extract(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    on_error: OnError | None = None,
    zip_limits: ZipLimits = _DEFAULT_ZIP_LIMITS,
) -> Iterator[ExtractedDocument]:
    """All documents of a source, lazily.

    The type is detected eagerly (an unsupported type raises here); parse errors surface while
    iterating. For batches, `on_error(where, error)` turns a bad line/member into a skip."""
    kind = detect_kind(data, filename=filename, content_type=content_type)
    return _iter_documents(data, kind, filename, content_type, 0, None, on_error, zip_limits)


def extract_batch(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    start: int,
    stop: int | None,
    on_error: OnError | None = None,
    zip_limits: ZipLimits = _DEFAULT_ZIP_LIMITS,
) -> list[ExtractedDocument]:
    """Documents `[start, stop)` of the source's index space (see `plan_batch`), so each worker
    parses only its slice. A single-document source has one index (0)."""
    if start < 0 or (stop is not None and stop < start):
        raise ValueError("expected 0 <= start <= stop")
    kind = detect_kind(data, filename=filename, content_type=content_type)
    return list(_iter_documents(data, kind, filename, content_type, start, stop, on_error, zip_limits))


def _iter_documents(
    data: bytes,
    kind: str,
    filename: str | None,
    content_type: str | None,
    start: int,
    stop: int | None,
    on_error: OnError | None,
    zip_limits: ZipLimits,
) -> Iterator[ExtractedDocument]:
    if kind == "jsonl":
        yield from iter_jsonl_documents(data, start=start, stop=stop, on_error=on_error)
    elif kind == "zip":
        yield from _iter_zip_documents(data, start=start, stop=stop, on_error=on_error, limits=zip_limits)
    elif start == 0 and (stop is None or stop > 0):
        _, charset = media_type(content_type)
        yield _SINGLE_EXTRACTORS[kind](data, filename, charset)
