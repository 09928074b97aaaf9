"""The supported formats, written once: file extension -> kind -> content types.

Upload creation (which extensions may be uploaded, and the content type the upload is sent with),
extraction (which converter reads the bytes) and the URL fetcher (which content types it accepts)
all read this table, so they cannot drift apart.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

from minirag.errors import PermanentIngestError

__all__ = [
    "BATCH_KINDS",
    "CONTENT_TYPE_KINDS",
    "EXTENSION_KINDS",
    "FORMATS",
    "KIND_CONTENT_TYPES",
    "SUPPORTED_LIST",
    "Format",
    "detect_kind",
    "file_extension",
    "kind_for_filename",
    "media_type",
    "upload_content_type",
]

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Format:
    """One kind of source. An upload is sent with the first content type."""

    kind: str
    extensions: tuple[str, ...]
    content_types: tuple[str, ...]


FORMATS: tuple[Format, ...] = (
    Format("text", (".txt", ".text"), ("text/plain",)),
    Format("markdown", (".md", ".markdown"), ("text/markdown", "text/x-markdown")),
    Format("html", (".html", ".htm", ".xhtml"), ("text/html", "application/xhtml+xml")),
    Format("pdf", (".pdf",), ("application/pdf", "application/x-pdf")),
    Format("docx", (".docx",), (DOCX_CONTENT_TYPE,)),
    Format("jsonl", (".jsonl", ".ndjson"), ("application/jsonl", "application/x-ndjson", "application/x-jsonlines")),
    Format("zip", (".zip",), ("application/zip", "application/x-zip-compressed")),
)
BATCH_KINDS = frozenset({"jsonl", "zip"})

EXTENSION_KINDS: dict[str, str] = {ext: f.kind for f in FORMATS for ext in f.extensions}
CONTENT_TYPE_KINDS: dict[str, str] = {ct: f.kind for f in FORMATS for ct in f.content_types}
KIND_CONTENT_TYPES: dict[str, tuple[str, ...]] = {f.kind: f.content_types for f in FORMATS}
SUPPORTED_LIST = ", ".join(EXTENSION_KINDS)


def media_type(content_type: str | None) -> tuple[str | None, str | None]:
    """('text/html', 'utf-8') from 'text/html; charset=UTF-8'."""
    if not content_type:
        return None, None
    main, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return main.strip().lower() or None, charset


def file_extension(filename: str | None) -> str:
    """'.md' from 'docs/Guide.MD'; '' for no extension. A dotfile ('.md', '.bashrc') has none."""
    if not filename:
        return ""
    base = posixpath.basename(filename.replace("\\", "/"))
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def kind_for_filename(filename: str | None) -> str | None:
    """Kind implied by the file extension alone, or None."""
    return EXTENSION_KINDS.get(file_extension(filename))


def upload_content_type(filename: str) -> str | None:
    """The content type an upload of this file is sent with, or None if it cannot be ingested."""
    kind = kind_for_filename(filename)
    return KIND_CONTENT_TYPES[kind][0] if kind else None


def detect_kind(data: bytes, *, filename: str | None, content_type: str | None) -> str:
    """Extension first (users name files deliberately), then content type, then magic bytes."""
    kind = kind_for_filename(filename)
    if kind:
        return kind
    media, _ = media_type(content_type)
    if media in CONTENT_TYPE_KINDS:
        return CONTENT_TYPE_KINDS[media]
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "docx" if "word/document.xml" in zf.namelist() else "zip"
        except (zipfile.BadZipFile, ValueError):
            pass
    elif b"%PDF-" in data[:1024]:
        return "pdf"
    ext = file_extension(filename)
    if ext:
        what = f"'{ext}'"
    elif media:
        what = f"(content type '{media}')"
    else:
        what = "(no file extension or content type)"
    raise PermanentIngestError(f"unsupported file type {what}; supported: {SUPPORTED_LIST}")
