"""What every converter produces: a document as text plus the sections (heading, page) it keeps."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from minirag.documents.decoding import clean_text
from minirag.errors import PermanentIngestError
from minirag.storable import storable_json, storable_text

__all__ = ["ExtractedDocument", "Section", "SectionBuilder"]


@dataclass
class Section:
    """A run of text under one heading (breadcrumb like "Guide > Install") and/or on one PDF page."""

    text: str
    heading: str | None = None
    page: int | None = None


@dataclass
class ExtractedDocument:
    external_id: str | None
    title: str | None  # the document's own title (PDF/DOCX metadata, HTML <title>, first heading), if any
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    filename: str | None = None  # the file's base name (an upload, or a member of a zip)

    def storable(self) -> "ExtractedDocument":
        """Drop NULs (PostgreSQL refuses them in text and JSON) and replace unpaired surrogates
        everywhere, alike in the text and its sections, so each section stays a substring of it."""
        self.text = storable_text(self.text)
        self.title = storable_text(self.title) if self.title else self.title
        self.external_id = storable_text(self.external_id) if self.external_id else self.external_id
        self.filename = storable_text(self.filename) if self.filename else self.filename
        self.metadata = storable_json(self.metadata)
        for section in self.sections:
            section.text = storable_text(section.text)
            section.heading = storable_text(section.heading) if section.heading else section.heading
        return self


class SectionBuilder:
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
        body = clean_text("".join(self._body))
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
            title=_clean_title(title),
            text="\n\n".join(self.parts),
            metadata=metadata,
            sections=self.sections,
            filename=_basename(filename),
        )


def _clean_title(title: str | None) -> str | None:
    return (" ".join(title.split())[:500] or None) if title else None


def _basename(filename: str | None) -> str | None:
    if not filename:
        return None
    return posixpath.basename(filename.replace("\\", "/")) or None
