"""One converter per single-document format: bytes -> ExtractedDocument with sections.

Each converter imports its parser (BeautifulSoup, pypdf, python-docx) when first called, so
importing this package stays cheap."""

from __future__ import annotations

from collections.abc import Callable

from minirag.documents.convert.docx import convert_docx
from minirag.documents.convert.html import convert_html
from minirag.documents.convert.markdown import convert_markdown
from minirag.documents.convert.pdf import convert_pdf
from minirag.documents.convert.text import convert_text
from minirag.documents.sections import ExtractedDocument

__all__ = ["CONVERTERS", "convert_document"]

Converter = Callable[[bytes, "str | None", "str | None"], ExtractedDocument]

CONVERTERS: dict[str, Converter] = {
    "text": convert_text,
    "markdown": convert_markdown,
    "html": convert_html,
    "pdf": convert_pdf,
    "docx": convert_docx,
}


def convert_document(kind: str, data: bytes, *, filename: str | None, charset: str | None) -> ExtractedDocument:
    """The one document of a single-document source (`kind` from formats.detect_kind)."""
    return CONVERTERS[kind](data, filename, charset)
